"""Serve the model files as they are now, without stopping: `python -m serve.reload` (or `make reload`).

Sends SIGHUP to the service's master, whose process id `make serve` and `make stack`
write to run/serve.pid (`--pid-file` of `python -m serve`). The master checks the
files again before any new worker loads them (serve/__main__.py says how); what it
found is in the service's log, and /healthz names the model served.
"""

import argparse
import os
import signal
import sys
from pathlib import Path

DEFAULT_PID_FILE = Path(__file__).resolve().parent.parent / "run" / "serve.pid"


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m serve.reload", description=__doc__.splitlines()[0])
    parser.add_argument("--pid-file", type=Path, default=os.environ.get("PID_FILE", DEFAULT_PID_FILE),
                        help=f"the pid file the service writes ({DEFAULT_PID_FILE})")
    args = parser.parse_args(argv)
    try:
        pid = int(args.pid_file.read_text())
    except FileNotFoundError:
        sys.exit(f"error: {args.pid_file} not found: is the service running (`make serve` or `make stack`)?")
    except ValueError:
        sys.exit(f"error: {args.pid_file} does not hold a process id")
    try:
        os.kill(pid, signal.SIGHUP)
    except ProcessLookupError:
        sys.exit(f"error: no process {pid}: {args.pid_file} is left from a service that has stopped")
    print(f"sent SIGHUP to the service (pid {pid}): new workers serve the model files as they are now, "
          "if they pass the check (see the service's log)")


if __name__ == "__main__":
    main()
