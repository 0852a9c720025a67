"""Run the service under gunicorn: `python -m serve` (or `make serve`).

Settings come from flags, else environment variables, else defaults:
  --host  HOST     (127.0.0.1)     --workers  WORKERS  (one per core)
  --port  PORT     (8000)          --threads  THREADS  (4 per worker)
  --model MODEL_PATH (artifacts/mnist.onnx)
  --max-body-bytes MAX_BODY_BYTES (2 MiB)

The model is checked once before any worker starts, so a missing or broken file
stops start-up with one line; then each worker loads its own copy, and gunicorn
replaces any worker that dies. The master never imports onnxruntime, not even to
check the model (`python -m serve.model` does that in a process of its own): a worker forked from a process
that has imported it aborts when it exits.
"""

import argparse
import os
import subprocess
import sys
from pathlib import Path

from gunicorn.app.base import BaseApplication

from serve import MAX_BODY_BYTES

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MODEL = PROJECT_ROOT / "artifacts" / "mnist.onnx"


class Server(BaseApplication):
    """gunicorn configured from code rather than a config file."""

    def __init__(self, settings: argparse.Namespace):
        self.settings = settings
        super().__init__()

    def load_config(self):
        self.cfg.set("bind", f"{self.settings.host}:{self.settings.port}")
        self.cfg.set("workers", self.settings.workers)
        self.cfg.set("threads", self.settings.threads)
        self.cfg.set("worker_class", "gthread")
        self.cfg.set("accesslog", "-" if self.settings.access_log else None)
        self.cfg.set("timeout", 30)
        self.cfg.set("control_socket_disable", True)  # no socket file on disk; signals suffice

    def load(self):
        from serve.app import create_app  # in the worker, after the fork: see the module doc

        return create_app(self.settings.model, max_body_bytes=self.settings.max_body_bytes)


def parse_settings(argv=None) -> argparse.Namespace:
    """Flags, else environment variables; argparse checks both (string defaults go
    through `type` too), so PORT=eighty is one clear error, not a traceback."""
    env = os.environ.get
    parser = argparse.ArgumentParser(prog="python -m serve", description="Serve the digit recogniser.")
    parser.add_argument("--host", default=env("HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=env("PORT", "8000"))
    parser.add_argument("--workers", type=int, default=env("WORKERS", str(os.cpu_count() or 1)))
    parser.add_argument("--threads", type=int, default=env("THREADS", "4"))
    parser.add_argument("--model", type=Path, default=env("MODEL_PATH", str(DEFAULT_MODEL)))
    parser.add_argument("--max-body-bytes", type=int, default=env("MAX_BODY_BYTES", str(MAX_BODY_BYTES)))
    parser.add_argument("--access-log", action="store_true", help="log every request to stdout")
    settings = parser.parse_args(argv)
    settings.model = settings.model.resolve()  # the check below runs from the project root
    return settings


def main(argv=None):
    settings = parse_settings(argv)
    check = subprocess.run([sys.executable, "-m", "serve.model", str(settings.model)],
                           cwd=PROJECT_ROOT, capture_output=True, text=True)
    if check.returncode:
        sys.exit(check.stdout.strip() or check.stderr.strip())
    Server(settings).run()


if __name__ == "__main__":
    main()
