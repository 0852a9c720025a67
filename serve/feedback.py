"""Corrections people send, kept so that the models can learn from them.

A correction holds what was drawn (the picture re-encoded as a plain PNG, or the
strokes), the 28x28 inputs the server computed from it, the label the person gave,
what the served models read in it and what the page said they read, and its status
(pending until someone reviews it: accepted or rejected). Nothing names the person:
their address is kept only as a salted hash, which is enough to limit how often one
address may send; the salt is made once and kept in the data directory (or given as
FEEDBACK_SALT, the same on every machine sharing one PostgreSQL database).

The sender gets a delete token with which to take the correction back; only its
hash is kept. The token is an HMAC of the correction's id under the salt, so a
retried request (the same client key) is answered with the same token again.
Corrections older than the retention period are deleted at start-up and with every
new one. A kept correction is shown to a reviewer (/admin, `python -m serve.review`)
by picture(), inputs() and as_json() at the end of this module.
"""

import base64
import hashlib
import hmac
import io
import json
import os
import secrets
import time
import uuid
from pathlib import Path

import numpy as np
from PIL import Image

import pen
from serve import preprocess, strokes
from serve.store import Postgres, Sqlite, migrate

RATE = 60  # corrections a minute one client address may send, by default
RETENTION_DAYS = 365
STATUSES = ("pending", "accepted", "rejected")
SHOWN_SIDE = 256  # px, the longer side of strokes drawn for a reviewer
WINDOW_SECONDS = 60  # the rate limit counts a client's corrections over this long
COLUMNS = ("id", "client_key", "created", "client_hash", "delete_token_hash", "label", "claimed_prediction",
           "claimed_model", "picture", "strokes", "inputs", "verdict", "prediction", "probabilities", "model")
# What a reviewer sees of a correction, and what a snapshot of the accepted ones holds.
REVIEWED = ("id", "created", "status", "label", "verdict", "prediction", "model", "claimed_prediction",
            "claimed_model", "picture", "strokes", "inputs")
MIGRATIONS = [
    ("""CREATE TABLE corrections (
            id TEXT PRIMARY KEY,
            client_key TEXT UNIQUE,
            created DOUBLE PRECISION NOT NULL,
            client_hash TEXT NOT NULL,
            delete_token_hash TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'accepted', 'rejected')),
            label TEXT NOT NULL,
            claimed_prediction TEXT,
            claimed_model TEXT,
            picture {blob},
            strokes TEXT,
            inputs {blob} NOT NULL,
            verdict TEXT NOT NULL,
            prediction TEXT NOT NULL,
            probabilities TEXT NOT NULL,
            model TEXT NOT NULL,
            CHECK ((picture IS NULL) <> (strokes IS NULL)))""",
     "CREATE INDEX corrections_by_time ON corrections (created)",
     # Every correction admitted, by whom and when, for the rate limit; kept WINDOW_SECONDS.
     "CREATE TABLE attempts (client_hash TEXT NOT NULL, at DOUBLE PRECISION NOT NULL)",
     "CREATE INDEX attempts_by_client ON attempts (client_hash, at)"),
    # Corrections counted by status for anyone who asks, and listed by status for review.
    ("CREATE INDEX corrections_by_status ON corrections (status, created)",),
]


class Feedback:
    """The corrections in one database, shared by every worker and every machine using it."""

    def __init__(self, database: Sqlite | Postgres, salt: bytes, retention_days: float):
        self.database, self.salt, self.retention_days = database, salt, retention_days
        migrate(database, MIGRATIONS)
        self.sweep()

    def client_hash(self, address: str) -> str:
        return hmac.new(self.salt, b"client " + address.encode(), hashlib.sha256).hexdigest()

    def delete_token(self, id: str) -> str:
        return hmac.new(self.salt, b"delete " + id.encode(), hashlib.sha256).hexdigest()

    def admit(self, client_hash: str, rate: int) -> float:
        """0 if the client may send another correction now (which is counted), else the
        seconds until it may. Counted in the database, so all workers share the count;
        each client's count is taken and raised by one transaction at a time."""
        now = time.time()
        with self.database.transaction(lock=int(client_hash[:15], 16)) as sql:
            sql("DELETE FROM attempts WHERE client_hash = ? AND at <= ?", (client_hash, now - WINDOW_SECONDS))
            count, oldest = sql("SELECT COUNT(*), MIN(at) FROM attempts WHERE client_hash = ?",
                                (client_hash,)).fetchone()
            if count >= rate:
                return max(oldest + WINDOW_SECONDS - now, 0.001)
            sql("INSERT INTO attempts (client_hash, at) VALUES (?, ?)", (client_hash, now))
        return 0

    def add(self, correction: dict) -> tuple[str, str, bool]:
        """Keeps a correction (its COLUMNS but the first five, and its client_key and
        client_hash): its id, delete token and whether it is new. A client key already
        used returns the first correction's id and token, and keeps nothing: the UNIQUE
        constraint decides, however many send it at once."""
        id = uuid.uuid4().hex
        row = {**correction, "id": id, "created": time.time(),
               "delete_token_hash": hashlib.sha256(self.delete_token(id).encode()).hexdigest()}
        with self.database.transaction() as sql:
            added = sql(f"INSERT INTO corrections ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))}) "
                        "ON CONFLICT (client_key) DO NOTHING", [row[column] for column in COLUMNS]).rowcount
            if not added:
                id = sql("SELECT id FROM corrections WHERE client_key = ?", (correction["client_key"],)).fetchone()[0]
        self.sweep()
        return id, self.delete_token(id), bool(added)

    def delete(self, id: str, token: str) -> bool:
        """Deletes a correction if the token is its delete token; False for an unknown id
        and for a wrong token alike. Hashes are compared in constant time."""
        given = hashlib.sha256(token.encode()).hexdigest()
        with self.database.transaction() as sql:
            row = sql("SELECT delete_token_hash FROM corrections WHERE id = ?", (id,)).fetchone()
            if row is None or not hmac.compare_digest(given, row[0]):
                return False
            sql("DELETE FROM corrections WHERE id = ?", (id,))
        return True

    def listed(self, status: str, limit: int, offset: int = 0) -> list[dict]:
        """Corrections of one status, newest first, `limit` of them after the first
        `offset`: their REVIEWED columns (pictures as bytes)."""
        with self.database.transaction(reading=True) as sql:
            cursor = sql(f"SELECT {', '.join(REVIEWED)} FROM corrections WHERE status = ? "
                         "ORDER BY created DESC, id LIMIT ? OFFSET ?", (status, limit, offset))
            return [dict(zip(REVIEWED, row)) for row in cursor.fetchall()]

    def review(self, ids: list[str], status: str) -> int:
        """Gives the corrections of `ids` a status: how many of them there were."""
        with self.database.transaction() as sql:
            return sum(sql("UPDATE corrections SET status = ? WHERE id = ?", (status, id)).rowcount for id in ids)

    def counts(self) -> dict:
        """How many corrections there are, in all and by status."""
        with self.database.transaction(reading=True) as sql:
            counted = dict(sql("SELECT status, COUNT(*) FROM corrections GROUP BY status").fetchall())
        return {"total": sum(counted.values()), **{status: counted.get(status, 0) for status in STATUSES}}

    def sweep(self):
        """Deletes corrections past the retention period, and attempts past the window."""
        now = time.time()
        with self.database.transaction() as sql:
            sql("DELETE FROM corrections WHERE created < ?", (now - self.retention_days * 86400,))
            sql("DELETE FROM attempts WHERE at <= ?", (now - WINDOW_SECONDS,))

    def close(self):
        self.database.close()


def open_feedback(data_dir: Path, database_url: str | None = None, retention_days: float = 365,
                  salt: str | None = None) -> Feedback:
    """The corrections in PostgreSQL if `database_url` is given, else in SQLite in
    `data_dir` (made if missing), migrated and swept."""
    data_dir.mkdir(parents=True, exist_ok=True)
    database = Postgres(database_url) if database_url else Sqlite(data_dir / "feedback.sqlite3")
    return Feedback(database, salt.encode() if salt else kept_salt(data_dir / "salt"), retention_days)


def kept_salt(path: Path) -> bytes:
    """The salt in `path`, made there if missing. It is written to a file of its own
    and linked into place, which fails if another process got there first: every
    process reads the same whole salt."""
    if not path.exists():
        made = path.with_name(f".salt-{os.getpid()}-{secrets.token_hex(4)}")
        made.write_bytes(secrets.token_hex(32).encode())
        made.chmod(0o600)
        try:
            os.link(made, path)
        except FileExistsError:
            pass
        finally:
            made.unlink()
    return path.read_bytes()


def picture(correction: dict) -> bytes:
    """What was drawn, as a PNG: the picture kept, or the strokes drawn again, dark on
    light as the page showed them."""
    if correction["picture"] is not None:
        return bytes(correction["picture"])
    drawn = pen.draw(strokes.parse(json.loads(correction["strokes"]), smallest=0), SHOWN_SIDE)
    return preprocess.to_png(1 - drawn)


def inputs(correction: dict) -> np.ndarray:
    """The 28x28 inputs, kept side by side in one PNG, as an array of them (k, 28, 28)."""
    side_by_side = np.asarray(Image.open(io.BytesIO(bytes(correction["inputs"]))).convert("L"))
    return side_by_side.reshape(28, -1, 28).transpose(1, 0, 2)


def as_json(correction: dict) -> dict:
    """A correction as the review page shows it: its fields, the pictures as PNG data URLs."""
    def data_url(png: bytes) -> str:
        return "data:image/png;base64," + base64.b64encode(png).decode()
    return {**{field: correction[field] for field in ("id", "created", "label", "verdict", "prediction", "model",
                                                       "claimed_prediction", "claimed_model")},
            "picture": data_url(picture(correction)),
            "inputs": [data_url(preprocess.to_png(field / 255)) for field in inputs(correction)]}
