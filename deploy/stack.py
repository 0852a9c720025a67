"""nginx in front of `python -m serve`, on this machine: `python -m deploy.stack` (or `make stack`).

The same arrangement as compose.yaml, without Docker: the service listens on a
loopback port of its own, and nginx (Debian's package) listens on --host:--port,
buffering every request and response, so gunicorn's workers only see whole
requests however slowly a client sends them. The service trusts the X-Forwarded-For
of loopback, where nginx connects from, to name the client.

  --host, --port       where nginx listens (127.0.0.1:8080)
  --serve-port         the service's loopback port (a free one)
  --rate, --burst      requests per second allowed per client address (10), and the burst (20)
  --connections        requests in progress at once per client address (20)
  --max-body-bytes     the largest request body, for nginx and the service alike (2 MiB)
  --access-log         log every request to stdout, as JSON lines
Any other flag goes to `python -m serve` (e.g. --workers 4).

nginx runs from a temporary directory that holds its config, pid file and
temporary files. Ctrl-C or SIGTERM stops nginx, then the service, and removes it.
"""

import argparse
import os
import shutil
import signal
import socket
import string
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from serve import MAX_BODY_BYTES

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "deploy" / "nginx.conf.template"
STOP_SECONDS = 15


def render(values: dict) -> str:
    """The template with our ${NAMES} filled in; nginx's own $variables are left alone."""
    return string.Template(TEMPLATE.read_text()).safe_substitute(values)


def find_nginx() -> str:
    """Debian installs nginx in /usr/sbin, which is not on every user's PATH."""
    nginx = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/sbin")
    if nginx is None:
        sys.exit("nginx is not installed: run `make stack`, or `apt-get install nginx` as root.")
    return nginx


def check_free(host: str, port: int, flag: str):
    with socket.socket() as probe:
        try:
            probe.bind((host, port))
        except OSError as error:
            sys.exit(f"Cannot listen on {host}:{port} ({error.strerror}): choose another port with {flag}.")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until(ready, process: subprocess.Popen, what: str, timeout: float = 60):
    """Waits for `ready()`; a process that exits meanwhile, or a timeout, ends the stack."""
    deadline = time.monotonic() + timeout
    while not ready():
        if process.poll() is not None:
            raise SystemExit(f"{what} exited with status {process.returncode} while starting.")
        if time.monotonic() > deadline:
            raise SystemExit(f"{what} did not start within {timeout:.0f} s.")
        time.sleep(0.2)


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as answer:
            return answer.status == 200
    except OSError:
        return False


def listening(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), timeout=1).close()
        return True
    except OSError:
        return False


def stop(process: subprocess.Popen):
    """SIGTERM (nginx shuts down at once, gunicorn finishes the requests in hand; each
    master waits for its workers); if that takes too long, SIGKILL to its process group."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def parse_settings(argv=None) -> tuple[argparse.Namespace, list[str]]:
    parser = argparse.ArgumentParser(prog="python -m deploy.stack",
                                     description="Serve the digit recogniser behind nginx.",
                                     epilog="Other flags go to `python -m serve`.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--serve-port", type=int)
    parser.add_argument("--rate", type=int, default=10)
    parser.add_argument("--burst", type=int, default=20)
    parser.add_argument("--connections", type=int, default=20)
    parser.add_argument("--max-body-bytes", type=int, default=MAX_BODY_BYTES)
    parser.add_argument("--access-log", action="store_true", help="log every request to stdout")
    return parser.parse_known_args(argv)


def write_config(state_dir: Path, settings: argparse.Namespace, upstreams: list[str]):
    """nginx's config in `state_dir`, in front of the services at `upstreams` (host:port each)."""
    (state_dir / "nginx.conf").write_text(render({
        "LISTEN": f"{settings.host}:{settings.port}",
        "UPSTREAM_SERVERS": upstream_servers(upstreams),
        "MAX_BODY_BYTES": settings.max_body_bytes,
        "RATE": settings.rate,
        "BURST": settings.burst,
        "CONNECTIONS": settings.connections,
        "ACCESS_LOG": "/dev/stdout json" if settings.access_log else "off",
        "STATE_DIR": state_dir,
    }))


def upstream_servers(upstreams: list[str]) -> str:
    """The upstream block's `server` lines, as the template's UPSTREAM_SERVERS."""
    return "\n        ".join(f"server {upstream};" for upstream in upstreams)


def start_nginx(nginx: str, state_dir: Path) -> subprocess.Popen:
    """nginx on the config in `state_dir`, in the foreground, in a process group of its own."""
    return subprocess.Popen([nginx, "-p", str(state_dir), "-c", str(state_dir / "nginx.conf"),
                             "-e", "stderr", "-g", "daemon off;"], start_new_session=True)


def make_state_dir() -> Path:
    state_dir = Path(tempfile.mkdtemp(prefix="digit-reader-stack-"))
    # nginx started as root runs its workers as nobody, and they must reach their
    # temporary files in here (nginx creates those and hands them to the workers).
    state_dir.chmod(0o711)
    return state_dir


def main(argv=None):
    settings, serve_args = parse_settings(argv)
    nginx = find_nginx()
    check_free(settings.host, settings.port, "--port")
    serve_port = settings.serve_port or free_port()
    check_free("127.0.0.1", serve_port, "--serve-port")

    # Signals become KeyboardInterrupt, so Ctrl-C and SIGTERM take the same way out;
    # Ctrl-C too when started as a script's background job, which ignores it.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    state_dir = make_state_dir()
    write_config(state_dir, settings, [f"127.0.0.1:{serve_port}"])
    # nginx and the service each run in a process group of their own: Ctrl-C
    # reaches this process only, which stops them in order, nginx first.
    processes = []
    try:
        service = subprocess.Popen(
            [sys.executable, "-m", "serve", "--host", "127.0.0.1", "--port", str(serve_port),
             "--max-body-bytes", str(settings.max_body_bytes), "--trusted-proxy", "127.0.0.1", *serve_args],
            cwd=ROOT, start_new_session=True)
        processes.append(service)
        wait_until(lambda: healthy(f"http://127.0.0.1:{serve_port}/healthz"), service, "The service")
        proxy = start_nginx(nginx, state_dir)
        processes.insert(0, proxy)
        reachable = "127.0.0.1" if settings.host == "0.0.0.0" else settings.host
        wait_until(lambda: listening(reachable, settings.port), proxy, "nginx")
        print(f"Serving on http://{settings.host}:{settings.port} (nginx), "
              f"the service on 127.0.0.1:{serve_port}. Ctrl-C stops both.", flush=True)
        while all(process.poll() is None for process in processes):
            time.sleep(0.5)
        ended = next(process for process in processes if process.poll() is not None)
        raise SystemExit(f"{'nginx' if ended is proxy else 'The service'} exited with status "
                         f"{ended.returncode}; stopping the stack.")
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the clean-up short
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        for process in processes:
            stop(process)
        shutil.rmtree(state_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
