"""Shared fixtures: the MNIST data, a real server on loopback, and the databases
corrections are kept in.

The server under test always runs from .venv/serve, the environment built from
requirements-serve.txt alone, exactly as `make serve` and the serve image run it.
Each keeps its corrections in a data directory of its own, removed when it stops.
"""

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parent.parent
SERVE_PYTHON = ROOT / ".venv" / "serve" / "bin" / "python"
ADMIN_TOKEN = "a-token-of-the-session-server-0123456789"  # the session server's, which reviews with it
sys.path.insert(0, str(ROOT))

import mnist  # noqa: E402
from tests.postgres import PostgresServer  # noqa: E402


@pytest.fixture(scope="session")
def data() -> mnist.Mnist:
    return mnist.load()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RunningServer:
    """`python -m serve` in its own process, started and stopped by a test."""

    def __init__(self, *args, env=None):
        assert SERVE_PYTHON.exists(), f"{SERVE_PYTHON} is missing: run `make test`"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # Its output (access logs included) goes to a file: a pipe nobody reads would fill and stall it.
        self.log = tempfile.TemporaryFile("w+")
        self.data = tempfile.TemporaryDirectory(prefix="digit-reader-data-")
        self.process = subprocess.Popen(
            [str(SERVE_PYTHON), "-m", "serve", "--port", str(self.port), *args],
            cwd=ROOT, env={**os.environ, "DATA_DIR": self.data.name, **(env or {})},
            stdout=self.log, stderr=subprocess.STDOUT, text=True)

    def output(self) -> str:
        """All it has printed so far."""
        self.log.seek(0)
        return self.log.read()

    def wait_healthy(self, timeout=60) -> "RunningServer":
        """Returns once /healthz answers; a server that never does is stopped, not left running."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                if requests.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return self
            except (requests.ConnectionError, requests.Timeout):  # not listening yet, or a worker still loading
                time.sleep(0.2)
        exited = self.process.poll()
        output = self.stop()
        raise RuntimeError(f"server on {self.url} not healthy within {timeout} s (exit status {exited}): {output}")

    def stop(self) -> str:
        """Stops it (if it still runs) and returns all it printed."""
        self.process.terminate()
        self.process.wait(timeout=30)
        output = self.output()
        self.log.close()
        self.data.cleanup()
        return output


@pytest.fixture(scope="session")
def server():
    """Two workers; corrections a minute without a limit that generated requests would reach;
    reviewing on, with a token no generated request guesses."""
    running = RunningServer("--workers", "2", "--feedback-rate", "1000000",
                            env={"ADMIN_TOKEN": ADMIN_TOKEN}).wait_healthy()
    yield running
    running.stop()


@pytest.fixture(scope="session")
def postgres():
    """A PostgreSQL server of the tests' own (tests/postgres.py), with an empty database."""
    server = PostgresServer(free_port())
    yield server
    server.stop()
