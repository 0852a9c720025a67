"""The production stack: nginx (deploy/nginx.conf.template) in front of the service.

deploy/stack.py runs it here from .venv/serve, as `make stack` does. compose.yaml
runs it in Docker, which these machines lack: its parts are checked against each
other, and its rendering of the template is checked by nginx itself.
"""

import base64
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
import requests
import yaml

from bench.slow_clients import SlowConnection, attack
from deploy import stack
from drawings import canvases
from serve import MAX_BODY_BYTES
from tests.conftest import ROOT, SERVE_PYTHON, RunningServer, free_port

TEMPLATE = ROOT / "deploy" / "nginx.conf.template"
COMPOSE = yaml.safe_load((ROOT / "compose.yaml").read_text())
GENEROUS = ("--rate", "10000", "--burst", "10000", "--connections", "10000")


class RunningStack(RunningServer):
    """`python -m deploy.stack` on a free port; the rest as for `python -m serve`."""

    def __init__(self, *args):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # Appended to by this process's children alike (nginx, gunicorn, the stack).
        self.log = tempfile.TemporaryFile("a+")
        self.data = tempfile.TemporaryDirectory(prefix="digit-reader-data-")
        self.process = subprocess.Popen(
            [str(SERVE_PYTHON), "-m", "deploy.stack", "--port", str(self.port), *args],
            cwd=ROOT, env={**os.environ, "DATA_DIR": self.data.name},
            stdout=self.log, stderr=subprocess.STDOUT, text=True)


@pytest.fixture(scope="module")
def running_stack():
    running = RunningStack(*GENEROUS, "--workers", "2").wait_healthy()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def drawing(data):
    """(png bytes, label) of the first MNIST test digit drawn on a canvas."""
    return next(zip(canvases(data.test_images[:1], seed=1), data.test_labels[:1].tolist()))


def post_png(url, png, headers=None):
    return requests.post(url + "/api/predict", data=png, headers={"Content-Type": "image/png", **(headers or {})},
                         timeout=30)


def assert_json_error(answer, status):
    assert answer.status_code == status, answer.text
    assert answer.headers["Content-Type"] == "application/json"
    assert answer.json()["error"]


def nginx_accepts(config: str, state_dir: Path) -> subprocess.CompletedProcess:
    (state_dir / "nginx.conf").write_text(config)
    return subprocess.run([stack.find_nginx(), "-t", "-p", str(state_dir), "-c", str(state_dir / "nginx.conf"),
                           "-e", "stderr"], capture_output=True, text=True)


def test_compose_runs_the_template_in_front_of_the_service():
    serve, nginx = COMPOSE["services"]["serve"], COMPOSE["services"]["nginx"]
    environment = nginx["environment"]
    source, target, _ = next(v.split(":") for v in nginx["volumes"] if v.endswith(".template:ro"))
    assert (ROOT / source).resolve() == TEMPLATE
    # The image renders templates/NAME.template into its output directory as NAME:
    # here, nginx's main config.
    assert Path(target).parent == Path("/etc/nginx/templates")
    assert Path(environment["NGINX_ENVSUBST_OUTPUT_DIR"]) / Path(target).stem == Path("/etc/nginx/nginx.conf")
    host, port = re.fullmatch(r"server (\w+):(\d+);", environment["UPSTREAM_SERVERS"]).groups()
    assert host == "serve" and port == serve["environment"]["PORT"] and port in serve["expose"]
    assert "ports" not in serve  # only nginx is reachable from outside
    assert [p.split(":")[1] for p in nginx["ports"]] == [environment["LISTEN"], "443"]
    assert environment["MAX_BODY_BYTES"] == serve["environment"]["MAX_BODY_BYTES"] == str(MAX_BODY_BYTES)
    defaults, _ = stack.parse_settings([])  # `make stack` limits clients as production does
    assert [environment[name] for name in ("RATE", "BURST", "CONNECTIONS")] == \
           [str(defaults.rate), str(defaults.burst), str(defaults.connections)]
    assert nginx["depends_on"]["serve"]["condition"] == "service_healthy"
    # The service counts corrections by the client nginx names (deploy/nginx.conf.template).
    assert serve["environment"]["TRUSTED_PROXY"] == "*"
    assert int(serve["environment"]["WORKERS"]) == serve["cpus"]  # not the host's cores
    assert "proxy_set_header X-Forwarded-For   $remote_addr;" in TEMPLATE.read_text()


def test_template_rendered_by_the_nginx_image_and_by_the_stack_passes_nginx_check(tmp_path):
    """The image's envsubst fills in only the variables its environment defines;
    string.Template leaves what it does not know. Given the same values both give
    the same config, and nginx accepts it, with compose's values and the stack's."""
    # `serve` resolves only on Compose's network, and the image's state directory
    # is its own: both point at this machine here, all else is as in the container.
    container = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/root", "HOSTNAME": "nginx",
                 **COMPOSE["services"]["nginx"]["environment"],
                 "UPSTREAM_SERVERS": stack.upstream_servers([f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"]),
                 "STATE_DIR": str(tmp_path)}
    rendered = subprocess.run(["envsubst", " ".join(f"${{{name}}}" for name in container)],
                              input=TEMPLATE.read_text(), env=container, capture_output=True, text=True,
                              check=True).stdout
    assert rendered == stack.render(container)
    assert "$remote_addr" in rendered and "${" not in rendered
    check = nginx_accepts(rendered, tmp_path)
    assert check.returncode == 0, check.stderr

    settings, _ = stack.parse_settings([])
    stack.write_config(tmp_path, settings, [f"127.0.0.1:{free_port()}"])
    ours = (tmp_path / "nginx.conf").read_text()
    assert f"client_max_body_size    {MAX_BODY_BYTES};" in ours and "${" not in ours
    check = nginx_accepts(ours, tmp_path)
    assert check.returncode == 0, check.stderr


def test_through_the_stack_the_service_answers_as_it_does_directly(running_stack, server, drawing):
    png, digit = drawing
    assert requests.get(running_stack.url + "/healthz").json() == requests.get(server.url + "/healthz").json()
    proxied, direct = post_png(running_stack.url, png).json(), post_png(server.url, png).json()
    assert proxied["digit"] == digit
    assert {**proxied, "elapsed_ms": None} == {**direct, "elapsed_ms": None}

    answer = post_png(running_stack.url, png, {"X-Request-ID": "a-given-id"})
    assert answer.headers["X-Request-ID"] == "a-given-id"  # passed on to the service, which answers with it
    assert answer.headers["Server"] == "nginx"  # no version
    # The service refuses cross-site calls by comparing Origin with Host, which nginx passes as sent.
    assert post_png(running_stack.url, png, {"Origin": running_stack.url}).status_code == 200
    assert_json_error(post_png(running_stack.url, png, {"Origin": "http://elsewhere.example"}), 403)


def test_slow_clients_hold_300_connections_and_visitors_are_still_answered(running_stack, drawing):
    result = attack(running_stack.url, drawing, clients=300, seconds=20)
    assert result["opened"] >= 300 and result["probes"] >= 10, result
    assert result["answered_fraction"] >= 0.95, result
    assert result["server_errors"] == 0, result


def test_nginx_answers_its_own_errors_in_json(running_stack):
    too_large = requests.post(running_stack.url + "/api/predict", data=b"\0" * (MAX_BODY_BYTES + 1),
                              headers={"Content-Type": "image/png"}, timeout=30)
    assert_json_error(too_large, 413)
    assert str(MAX_BODY_BYTES) in too_large.json()["error"]
    # A body at the limit passes nginx: the service itself says what is wrong with it.
    at_limit = requests.post(running_stack.url + "/api/predict", data=b"\0" * MAX_BODY_BYTES,
                             headers={"Content-Type": "image/png"}, timeout=30)
    assert_json_error(at_limit, 400)

    with socket.create_connection(("127.0.0.1", running_stack.port), timeout=10) as raw:
        raw.sendall(b"NOT HTTP AT ALL\r\n\r\n")
        head, _, body = raw.makefile("rb").read().partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400") and b"Content-Type: application/json" in head
    assert json.loads(body)["error"]

    assert_json_error(requests.get(running_stack.url + "/metrics", timeout=30), 404)  # the operator's, not the public's


def test_nginx_answers_502_in_json_when_the_service_is_down():
    settings, _ = stack.parse_settings(["--port", str(free_port())])
    state_dir = stack.make_state_dir()
    try:
        stack.write_config(state_dir, settings, [f"127.0.0.1:{free_port()}"])  # nothing listens there
        proxy = stack.start_nginx(stack.find_nginx(), state_dir)
        try:
            stack.wait_until(lambda: stack.listening("127.0.0.1", settings.port), proxy, "nginx")
            assert_json_error(requests.get(f"http://127.0.0.1:{settings.port}/healthz", timeout=30), 502)
        finally:
            stack.stop(proxy)
    finally:
        shutil.rmtree(state_dir)


def test_a_burst_past_the_rate_limit_is_answered_429_in_json():
    limited = RunningStack("--rate", "1", "--burst", "5").wait_healthy()
    try:
        answers = [requests.get(limited.url + "/healthz", timeout=30) for _ in range(20)]
    finally:
        output = limited.stop()
    statuses = [answer.status_code for answer in answers]
    assert set(statuses) == {200, 429} and statuses.count(429) >= 10, statuses  # the first few pass
    assert_json_error(answers[-1], 429)
    assert answers[-1].headers["Retry-After"] == "1"
    assert 'limiting requests, excess' in output


def test_batches_have_a_tighter_limit_than_other_requests(running_stack, drawing):
    """However generous the limit on requests, a client's batches pass one a second
    (three at once): each may cost the service a quarter of a CPU-second."""
    one = {"images": [base64.b64encode(drawing[0]).decode()]}
    answers = [requests.post(running_stack.url + "/api/predict/batch", json=one, timeout=30) for _ in range(6)]
    statuses = [answer.status_code for answer in answers]
    assert statuses[:3] == [200] * 3 and statuses.count(429) >= 2, statuses
    assert_json_error(answers[-1], 429)
    assert post_png(running_stack.url, drawing[0]).status_code == 200  # a single drawing still passes


def test_a_forged_x_forwarded_for_does_not_escape_the_services_limit_of_corrections():
    """nginx replaces whatever X-Forwarded-For a client sends with the address it sees,
    and the service takes the client's address from nginx alone."""
    limited = RunningStack(*GENEROUS, "--workers", "1", "--feedback-rate", "3").wait_healthy()
    try:
        answers = [requests.post(limited.url + "/api/feedback", json={"label": "1"}, timeout=30,
                                 headers={"X-Forwarded-For": f"198.51.100.{i}"}) for i in range(4)]
    finally:
        limited.stop()
    assert [answer.status_code for answer in answers] == [400, 400, 400, 429]
    assert_json_error(answers[-1], 429)
    assert "Too many corrections" in answers[-1].json()["error"] and int(answers[-1].headers["Retry-After"]) >= 1


def test_requests_past_the_connection_limit_are_answered_429_in_json():
    limited = RunningStack("--rate", "10000", "--burst", "10000", "--connections", "1").wait_healthy()
    slow = SlowConnection(("127.0.0.1", limited.port), "trickled body")
    try:
        # A request in progress, its body still arriving: the address may have no other
        # once nginx has read its headers.
        slow.open()
        deadline = time.monotonic() + 30
        while (answer := requests.get(limited.url + "/healthz", timeout=30)).status_code == 200:
            assert time.monotonic() < deadline, "the slow request never counted"
            if slow.closed_by_server():  # turned away itself: a /healthz held the one connection when it came
                slow.close()
                slow.open()
            time.sleep(0.1)
        assert_json_error(answer, 429)
    finally:
        slow.close()
        output = limited.stop()
    assert 'limiting connections by zone "connections_per_client"' in output


def test_ctrl_c_stops_nginx_and_the_service_and_frees_the_port():
    running = RunningStack().wait_healthy()

    def descendants(pid):
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        return [int(c) for child in children for c in (child, *descendants(int(child)))]

    def command(pid) -> str:
        """What `pid` runs: empty once it has ended, even if not yet reaped."""
        try:
            return Path(f"/proc/{pid}/cmdline").read_bytes().decode()
        except FileNotFoundError:
            return ""

    processes = {pid: command(pid) for pid in descendants(running.process.pid)}
    nginx = [cmd for cmd in processes.values() if cmd.startswith("nginx")]
    assert len(nginx) >= 2 and len([cmd for cmd in processes.values() if "-m\0serve" in cmd]) >= 2
    state_dir = Path(next(re.search(r" -p (\S+)", cmd)[1] for cmd in nginx if "master" in cmd))
    assert (state_dir / "nginx.conf").exists()

    running.process.send_signal(signal.SIGINT)
    assert running.process.wait(timeout=60) == 0, running.output()
    running.stop()
    assert not {pid: cmd for pid, cmd in processes.items() if command(pid) == cmd}
    assert not state_dir.exists()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", running.port))


def test_a_taken_port_is_one_clear_line():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        started = subprocess.run([str(SERVE_PYTHON), "-m", "deploy.stack", "--port", str(port)],
                                 cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert started.returncode == 1
    assert started.stderr.strip() == f"Cannot listen on 127.0.0.1:{port} (Address already in use): " \
                                     "choose another port with --port."
