"""Run the service under gunicorn: `python -m serve` (or `make serve`).

Settings come from flags, else environment variables, else defaults:
  --host  HOST     (127.0.0.1)     --workers  WORKERS  (one per core)
  --port  PORT     (8000)          --threads  THREADS  (2 per worker)
  --model MODEL_PATH (artifacts/mnist.onnx)
  --max-body-bytes MAX_BODY_BYTES (2 MiB)
  --max-requests MAX_REQUESTS (5000: a worker is replaced after about this many requests)
  --access-log / --no-access-log  ACCESS_LOG (1): one JSON line per request on stdout
  --pid-file PID_FILE (none): where the master writes its process id (`make reload` reads it)
  --data-dir DATA_DIR (data): where corrections are kept (SQLite), and the salt of
                              client addresses' hashes; made if missing
  --database-url DATABASE_URL (none): keep corrections in this PostgreSQL database instead
  --feedback-rate FEEDBACK_RATE (60): corrections a minute one client address may send
  --feedback-retention-days FEEDBACK_RETENTION_DAYS (365): corrections older are deleted
  --trusted-proxy TRUSTED_PROXY (none): the proxy's address (several: a comma between;
                              "*": any peer), whose X-Forwarded-For names the client
  FEEDBACK_SALT (made once, kept in the data directory): the salt, given; the same on
                every machine that shares one PostgreSQL database
  ADMIN_TOKEN (none): the secret that opens the review page /admin and /api/admin/...;
                without it they are off (404). Only an environment variable, like the
                salt: a flag would show it to anyone who lists the machine's processes

The models are checked before any worker starts, so a missing or broken file stops
start-up with one line, and copied, as checked, into a directory of the master's
own: every worker loads that copy, and gunicorn replaces any worker that dies. The
master never imports onnxruntime, not even to check the model (`python -m
serve.model` does that in a process of its own): a worker forked from a process that
has imported it aborts when it exits.

SIGHUP (`make reload`) serves the model files as they are now: the master checks and
copies them again, then gunicorn starts new workers, which load the new copy, and
stops the old ones once they have answered the requests they hold. If the new files
fail the check, the error is logged and the new workers load the copy the old ones
did: a worker that cannot load its model would stop gunicorn altogether (it halts
when a worker fails to boot). The same directory holds every worker's Prometheus
metrics; the master removes it when it stops. The master also opens the
corrections' database once, migrating it, so that a database it cannot reach stops
start-up with one line too.
"""

import argparse
import ctypes
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from gunicorn.app.base import BaseApplication

import contract
from serve import MAX_BODY_BYTES, feedback
from serve.store import Unavailable

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MODEL = contract.ARTIFACTS / contract.DIGITS.onnx_file
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters
error_log = logging.getLogger("gunicorn.error")  # the master's log, as gunicorn sets it up


class ModelRefused(Exception):
    """The model files failed `python -m serve.model`; the message is its one line."""


class Server(BaseApplication):
    """gunicorn configured from code rather than a config file."""

    def __init__(self, settings: argparse.Namespace, run_dir: Path):
        self.settings, self.run_dir = settings, run_dir
        self.copies = []  # directories of checked model files, the one workers load last
        super().__init__()

    def copy_models(self) -> None:
        """Checks the model files and copies them for the workers to load; ModelRefused if they fail."""
        into = Path(tempfile.mkdtemp(prefix="models-", dir=self.run_dir))
        check = subprocess.run([sys.executable, "-m", "serve.model", str(self.settings.model), "--into", str(into)],
                               cwd=PROJECT_ROOT, capture_output=True, text=True)
        if check.returncode:
            shutil.rmtree(into)
            raise ModelRefused(check.stdout.strip() or check.stderr.strip())
        error_log.info("%s", check.stdout.strip())
        self.copies.append(into)
        while len(self.copies) > 2:  # old workers answering their last requests may still read the one before
            shutil.rmtree(self.copies.pop(0))

    def reload(self):
        """On SIGHUP, in the master, before gunicorn starts the new workers."""
        try:
            self.copy_models()
        except ModelRefused as refused:
            error_log.error("%s: new workers load the model checked before, %s", refused, self.copies[-1])
        super().reload()

    def load_config(self):
        settings = self.settings
        self.cfg.set("bind", f"{settings.host}:{settings.port}")
        self.cfg.set("workers", settings.workers)
        # A worker computes on one core at a time (the GIL): a second thread reads the next
        # request while the first computes; more only lengthen the queue inside the worker.
        self.cfg.set("threads", settings.threads)
        self.cfg.set("worker_class", "gthread")
        self.cfg.set("timeout", 30)
        # Longer than the proxy keeps an idle upstream connection (deploy/nginx.conf.template),
        # so nginx never reuses a connection the worker is just closing.
        self.cfg.set("keepalive", 10)
        # A worker is replaced after a while, at a random point so that they do not all restart
        # at once: whatever memory a worker's allocator holds on to is given back.
        self.cfg.set("max_requests", settings.max_requests)
        self.cfg.set("max_requests_jitter", settings.max_requests // 10)
        self.cfg.set("post_fork", return_big_buffers_to_the_system)
        self.cfg.set("child_exit", forget_worker_metrics)
        self.cfg.set("pidfile", self.settings.pid_file and str(self.settings.pid_file))
        self.cfg.set("control_socket_disable", True)  # no socket file on disk; signals suffice

    def load(self):
        from serve.app import create_app  # in the worker, after the fork: see the module doc

        if self.settings.access_log:
            log = logging.getLogger("serve.access")
            log.addHandler(logging.StreamHandler(sys.stdout))
            log.setLevel(logging.INFO)
            log.propagate = False
        settings = self.settings
        return create_app(self.copies[-1] / settings.model.name, open_store(settings),
                          max_body_bytes=settings.max_body_bytes, feedback_rate=settings.feedback_rate,
                          trusted_proxies=settings.trusted_proxy, admin_token=os.environ.get("ADMIN_TOKEN"))


def store_arguments(parser: argparse.ArgumentParser):
    """Where corrections are kept: the service's settings, which `python -m serve.review` shares."""
    env = os.environ.get
    parser.add_argument("--data-dir", type=Path, default=env("DATA_DIR", "data"))
    parser.add_argument("--database-url", default=env("DATABASE_URL") or None, help="PostgreSQL, instead of SQLite")
    parser.add_argument("--feedback-retention-days", type=positive(float),
                        default=env("FEEDBACK_RETENTION_DAYS", str(feedback.RETENTION_DAYS)))


def open_store(settings: argparse.Namespace) -> feedback.Feedback:
    return feedback.open_feedback(settings.data_dir.resolve(), settings.database_url,
                                  settings.feedback_retention_days, os.environ.get("FEEDBACK_SALT"))


def return_big_buffers_to_the_system(server, worker):
    """Buffers of 4 MiB and more (a large picture's pixels) are mapped and unmapped on their own.

    glibc otherwise raises that threshold each time such a buffer is freed, so later
    pictures come from its heaps, which it rarely gives back: after a few hundred
    large pictures a worker held about 270 MB instead of 87 MB. Fixing it also fixes
    the free memory glibc keeps at the top of its heap at 128 KiB, so the arrays of one
    picture's reading were given back at its end and faulted in again by the next
    (794 page faults a /api/number request, 559 a /api/predict PNG; now 10 and 5):
    the heap keeps up to twice the threshold, as glibc itself sets it when it raises
    the threshold. Elsewhere than glibc there is no mallopt, and nothing to do.
    """
    mallopt = getattr(ctypes.CDLL(None), "mallopt", None)
    if mallopt:
        mallopt(M_MMAP_THRESHOLD, 4 << 20)
        mallopt(M_TRIM_THRESHOLD, 8 << 20)


def forget_worker_metrics(server, worker):
    """A worker that has exited no longer counts in the gauges of /metrics (its counters stay)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def parse_settings(argv=None) -> argparse.Namespace:
    """Flags, else environment variables; argparse checks both (string defaults go
    through `type` too), so PORT=eighty is one clear error, not a traceback."""
    env = os.environ.get
    parser = argparse.ArgumentParser(prog="python -m serve", description="Serve the digit recogniser.")
    parser.add_argument("--host", default=env("HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=env("PORT", "8000"))
    parser.add_argument("--workers", type=int, default=env("WORKERS", str(os.cpu_count() or 1)))
    parser.add_argument("--threads", type=int, default=env("THREADS", "2"))
    parser.add_argument("--model", type=Path, default=env("MODEL_PATH", str(DEFAULT_MODEL)))
    parser.add_argument("--max-body-bytes", type=int, default=env("MAX_BODY_BYTES", str(MAX_BODY_BYTES)))
    parser.add_argument("--max-requests", type=int, default=env("MAX_REQUESTS", "5000"))
    parser.add_argument("--access-log", action=argparse.BooleanOptionalAction,
                        default=env("ACCESS_LOG", "1") != "0", help="one JSON line per request on stdout")
    parser.add_argument("--pid-file", type=Path, default=env("PID_FILE"), help="where the master writes its pid")
    store_arguments(parser)
    parser.add_argument("--feedback-rate", type=positive(int), default=env("FEEDBACK_RATE", str(feedback.RATE)),
                        help="corrections a minute from one client address")
    parser.add_argument("--trusted-proxy", type=lambda text: frozenset(filter(None, text.split(","))),
                        default=env("TRUSTED_PROXY", ""), help='addresses, or "*" for any peer')
    settings = parser.parse_args(argv)
    settings.model = settings.model.resolve()  # the check below runs from the project root
    if settings.pid_file:
        settings.pid_file = settings.pid_file.resolve()
    return settings


def positive(kind):
    """An argparse type: a number of `kind` greater than 0."""
    def parse(text: str):
        value = kind(text)
        if not value > 0:
            raise ValueError(text)
        return value
    parse.__name__ = f"positive {kind.__name__}"  # what argparse's error calls it
    return parse


def main(argv=None):
    settings = parse_settings(argv)
    try:
        open_store(settings).close()
    except (Unavailable, OSError) as error:
        sys.exit(f"Cannot keep corrections: {error}")
    run_dir = Path(tempfile.mkdtemp(prefix="digit-reader-"))
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(run_dir / "metrics")
    (run_dir / "metrics").mkdir()
    server, master = Server(settings, run_dir), os.getpid()
    try:
        server.copy_models()
        server.run()
    except ModelRefused as refused:
        sys.exit(str(refused))
    finally:  # workers leave through here too, and so does gunicorn when it cannot start (a live pid file)
        if os.getpid() == master:
            shutil.rmtree(run_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
