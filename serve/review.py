"""Review corrections from a terminal: `python -m serve.review` (or `make review ARGS=...`).

    list                 the pending ones, newest first, a line each
    accept ID...         mark them accepted: to learn from
    reject ID...         mark them rejected: not to learn from
    stats                how many there are, in all and by status
    export --out FILE    a snapshot of the accepted ones, for training

It reads the same settings as the service (DATA_DIR or --data-dir, DATABASE_URL or
--database-url), so it works on the database a running service uses; the page
/admin does the same in a browser (serve/app.py).

The snapshot is one .npz file that numpy alone reads (np.load, no pickle), one
entry per accepted correction, oldest first, in these arrays:

    ids          str (N,)          the correction's id
    created      float64 (N,)      when it was sent, in seconds since 1970 (UTC)
    labels       str (N,)          what the person said it is: a digit or a number as written, or "not a digit"
    predictions  str (N,)          what the served models read in it
    models       str (N,)          the id of the model that read it
    offsets      int64 (N + 1,)    correction i's inputs are inputs[offsets[i]:offsets[i + 1]]
    inputs       uint8 (M, 28, 28) the model inputs the server computed (one per digit
                                   read; white ink on black, as MNIST), 255 for full ink

Its sha256 is printed and written beside it, as FILE.sha256 in sha256sum's form
(`sha256sum -c FILE.sha256` checks it).
"""

import argparse
import hashlib
import sys
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from serve import feedback
from serve.__main__ import open_store, store_arguments
from serve.feedback import Feedback
from serve.store import Unavailable

PAGE = 500  # corrections read from the database at a time


def every(corrections: Feedback, status: str) -> list[dict]:
    """All the corrections of one status, newest first, read a page at a time."""
    found = []
    while page := corrections.listed(status, PAGE, len(found)):
        found += page
        if len(page) < PAGE:
            break
    return found


def export(corrections: Feedback, out: Path) -> tuple[int, str]:
    """Writes the snapshot of the accepted corrections to `out` and its sha256 beside it:
    how many it holds, and the sha256."""
    accepted = every(corrections, "accepted")[::-1]
    fields = [feedback.inputs(correction) for correction in accepted]
    with out.open("wb") as file:
        np.savez_compressed(
            file,
            ids=np.array([c["id"] for c in accepted], dtype=str),
            created=np.array([c["created"] for c in accepted], dtype=np.float64),
            labels=np.array([c["label"] for c in accepted], dtype=str),
            predictions=np.array([c["prediction"] for c in accepted], dtype=str),
            models=np.array([c["model"] for c in accepted], dtype=str),
            offsets=np.cumsum([0] + [len(f) for f in fields], dtype=np.int64),
            inputs=np.concatenate(fields) if fields else np.zeros((0, 28, 28), np.uint8))
    digest = hashlib.sha256(out.read_bytes()).hexdigest()
    out.with_name(out.name + ".sha256").write_text(f"{digest}  {out.name}\n")
    return len(accepted), digest


def line(correction: dict) -> str:
    when = datetime.fromtimestamp(correction["created"], timezone.utc).isoformat(timespec="seconds")
    claimed = f", the page said {correction['claimed_prediction']}" if correction["claimed_prediction"] else ""
    return (f"{correction['id']}  {when}  label {correction['label']!r}  read {correction['prediction']!r} "
            f"({correction['verdict']}, model {correction['model']}{claimed})")


def run(corrections: Feedback, args: argparse.Namespace):
    if args.command == "list":
        for correction in every(corrections, "pending"):
            print(line(correction))
    elif args.command in ("accept", "reject"):
        status = f"{args.command}ed"
        changed = corrections.review(args.ids, status)
        print(f"{changed} of {len(args.ids)} marked {status}")
        if changed < len(args.ids):
            sys.exit(f"error: ids that name no correction: {len(args.ids) - changed}")
    elif args.command == "stats":
        print(" ".join(f"{status} {count}" for status, count in corrections.counts().items()))
    else:
        count, digest = export(corrections, args.out)
        print(f"wrote {count} accepted corrections to {args.out}, sha256 {digest}")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m serve.review", description=__doc__.splitlines()[0])
    store_arguments(parser)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="the pending corrections, newest first")
    for command in ("accept", "reject"):
        commands.add_parser(command, help=f"{command} corrections").add_argument("ids", nargs="+", metavar="ID")
    commands.add_parser("stats", help="how many corrections there are, by status")
    commands.add_parser("export", help="a snapshot of the accepted ones").add_argument(
        "--out", type=Path, required=True, help="the .npz file to write")
    args = parser.parse_args(argv)
    try:
        corrections = open_store(args)
    except (Unavailable, OSError) as error:
        sys.exit(f"error: cannot open the corrections: {error}")
    try:
        run(corrections, args)
    except Unavailable as error:
        sys.exit(f"error: {error}")
    except OSError as error:
        sys.exit(f"error: cannot write the snapshot: {error}")
    finally:
        corrections.close()


if __name__ == "__main__":
    main()
