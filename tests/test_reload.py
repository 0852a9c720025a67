"""A new model served without stopping: SIGHUP (`make reload`) under load, and a broken
model refused at reload while the service goes on answering with the one it has."""

import hashlib
import json
import os
import signal
import subprocess
import threading
import time

import onnx
import requests

import contract
from bench.soak import worker_pids
from tests.conftest import ROOT, SERVE_PYTHON, RunningServer
from tests.test_api import metric

SERVED = [name for spec in (contract.DIGITS, contract.NUMBERS) for name in (spec.onnx_file, spec.card_file)]
CANVAS = (ROOT / "bench" / "canvas.png").read_bytes()  # a 7 drawn on the page
ROUTES = {"/api/predict": 3, "/api/number": 1}  # clients of each
MODEL_OF = {"/api/predict": contract.DIGITS, "/api/number": contract.NUMBERS}  # the model each answer names


def model_id(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def served_copy(folder) -> RunningServer:
    """The service on a copy of the committed model files in `folder`, 2 workers, its pid in folder/serve.pid."""
    for name in SERVED:
        (folder / name).write_bytes((contract.ARTIFACTS / name).read_bytes())
    return RunningServer("--workers", "2", "--pid-file", str(folder / "serve.pid"), "--no-access-log",
                         env={"MODEL_PATH": str(folder / contract.DIGITS.onnx_file)}).wait_healthy()


def renamed_into_place(path, content: bytes) -> None:
    """Replaces a file as an operator should: written beside it, then renamed over it."""
    path.with_suffix(".new").write_bytes(content)
    path.with_suffix(".new").replace(path)


def new_version(folder, spec: contract.Model) -> str:
    """The model re-saved with another doc_string (the same weights, another file), and its card
    naming it; returns its id."""
    model = onnx.load(folder / spec.onnx_file)
    model.doc_string = "the same model, saved again"
    renamed_into_place(folder / spec.onnx_file, model.SerializeToString())
    card = json.loads((folder / spec.card_file).read_text())
    card["sha256"] = hashlib.sha256((folder / spec.onnx_file).read_bytes()).hexdigest()
    renamed_into_place(folder / spec.card_file, json.dumps(card).encode())
    return model_id(folder / spec.onnx_file)


def reload(folder) -> float:
    """`make reload` for the service in `folder`; returns when it was sent."""
    sent = subprocess.run([str(SERVE_PYTHON), "-m", "serve.reload", "--pid-file", str(folder / "serve.pid")],
                          cwd=ROOT, capture_output=True, text=True)
    assert sent.returncode == 0 and sent.stdout.startswith("sent SIGHUP to the service"), sent
    return time.monotonic()


class Load:
    """Clients posting the drawn 7 over kept-alive connections, each answer recorded as
    (time, route, status or the error's name, the answer's model)."""

    def __init__(self, url: str):
        self.url, self.answers, self.stopping = url, [], threading.Event()
        self.clients = [threading.Thread(target=self.client, args=(route,))
                        for route, count in ROUTES.items() for _ in range(count)]

    def client(self, route: str):
        with requests.Session() as http:
            while not self.stopping.is_set():
                try:
                    answer = http.post(self.url + route, data=CANVAS, headers={"Content-Type": "image/png"}, timeout=10)
                    self.answers.append((time.monotonic(), route, answer.status_code, answer.json().get("model")))
                except (requests.RequestException, ValueError) as error:
                    self.answers.append((time.monotonic(), route, type(error).__name__, None))

    def __enter__(self) -> "Load":
        for client in self.clients:
            client.start()
        return self

    def __exit__(self, *exc_info):
        self.stopping.set()
        for client in self.clients:
            client.join()

    def models(self, route: str, since: float = 0, until: float = float("inf")) -> list[str]:
        return [model for at, answered, _, model in self.answers if answered == route and since <= at < until]


def test_sighup_serves_the_new_models_without_dropping_a_request(tmp_path):
    server = served_copy(tmp_path)
    old = {route: model_id(tmp_path / spec.onnx_file) for route, spec in MODEL_OF.items()}
    try:
        assert int((tmp_path / "serve.pid").read_text()) == server.process.pid
        workers = worker_pids(server.process.pid)
        with Load(server.url) as load:
            time.sleep(2)
            new = {route: new_version(tmp_path, spec) for route, spec in MODEL_OF.items()}
            reloaded_at = reload(tmp_path)
            time.sleep(6)
        card = requests.get(server.url + "/api/model", timeout=10).json()
        metrics = requests.get(server.url + "/metrics", timeout=10).text
        replacements = worker_pids(server.process.pid)
    finally:
        output = server.stop()
    assert {status for _, _, status, _ in load.answers} == {200}, output  # not one request failed
    assert len(replacements) == 2 and not set(workers) & set(replacements)
    assert card["sha256"].startswith(new["/api/predict"])  # the card beside the new model is served with it
    assert metric(metrics, "digit_reader_model_info", model=new["/api/predict"]) == 1
    assert metric(metrics, "digit_reader_model_info", model=old["/api/predict"]) == 0  # no live worker serves it
    for route in ROUTES:
        assert old[route] != new[route]
        assert set(load.models(route, until=reloaded_at)) == {old[route]}
        assert set(load.models(route, reloaded_at)) <= {old[route], new[route]}
        assert set(load.models(route, reloaded_at + 4)) == {new[route]}, route  # every worker has been replaced
    assert len(load.models("/api/predict", reloaded_at, reloaded_at + 4)) > 20  # answering throughout the reload
    assert f"ok: {tmp_path / contract.DIGITS.onnx_file} (sha256 {new['/api/predict']})" in output


def test_a_broken_model_is_refused_at_reload_and_the_old_one_still_served(tmp_path):
    server = served_copy(tmp_path)
    served = model_id(tmp_path / contract.DIGITS.onnx_file)
    model = tmp_path / contract.DIGITS.onnx_file
    good = model.read_bytes()
    try:
        with Load(server.url) as load:
            time.sleep(1)
            renamed_into_place(model, good[:5000])
            reloaded_at = reload(tmp_path)
            time.sleep(4)
        # A worker started later (one dies, or reaches --max-requests) loads the copy
        # that was checked, not the broken file: gunicorn would stop if it could not boot.
        os.kill(worker_pids(server.process.pid)[0], signal.SIGKILL)
        time.sleep(3)
        after_the_kill = [requests.get(server.url + "/healthz", timeout=10).json()["model"] for _ in range(8)]
        renamed_into_place(model, good)
        new = new_version(tmp_path, contract.DIGITS)
        reload(tmp_path)
        time.sleep(4)
        recovered = requests.get(server.url + "/healthz", timeout=10).json()["model"]
        assert server.process.poll() is None
    finally:
        output = server.stop()
    assert {status for _, _, status, _ in load.answers} == {200}, output
    assert set(load.models("/api/predict")) == {served} and len(load.models("/api/predict", reloaded_at + 1)) > 20
    assert after_the_kill == [served] * 8
    assert "is not a loadable ONNX model" in output and "new workers load the model checked before" in output
    assert recovered == new  # a good file then is served at the next reload

