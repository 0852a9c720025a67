"""Corrections (POST /api/feedback and the rest), through real gunicorn servers, kept in
SQLite and in a real PostgreSQL server alike; what was kept is read from the database
itself."""

import base64
import concurrent.futures
import contextlib
import hashlib
import io
import json
import os
import signal
import sqlite3
import subprocess
import threading
import time
import uuid
from pathlib import Path

import numpy as np
import psycopg
import pytest
import requests
from PIL import Image

from drawings import as_photo, canvases, encoded
from serve.feedback import MIGRATIONS, open_feedback
from serve.store import Sqlite, migrate
from tests.conftest import ROOT, SERVE_PYTHON, RunningServer

FEEDBACK, STATS = "/api/feedback", "/api/feedback/stats"
ONE = {"strokes": [[[100, 40], [100, 160]]], "width": 200, "height": 200, "brush": 12}
SEVENTEEN = {"strokes": [[[100, 40], [100, 160]], [[200, 40], [280, 40], [230, 160]]],
             "width": 600, "height": 200, "brush": 12}
NO_LIMIT = ("--feedback-rate", "1000000")


class Store:
    """Where the servers of one test module keep corrections: a data directory (SQLite)
    or an emptied PostgreSQL database; and the rows kept there, read directly."""

    def __init__(self, data_dir: Path, database_url: str):
        self.data_dir, self.database_url = data_dir, database_url

    def serve(self, *args, env=None) -> RunningServer:
        return RunningServer("--workers", "2", "--data-dir", str(self.data_dir), *args,
                             env={"DATABASE_URL": self.database_url, **(env or {})}).wait_healthy()

    def rows(self, query: str, *values) -> list[dict]:
        if self.database_url:
            with psycopg.connect(self.database_url) as connection:
                cursor = connection.execute(query.replace("?", "%s"), values)
                return [dict(zip([column.name for column in cursor.description], row)) for row in cursor] \
                    if cursor.description else []
        with contextlib.closing(sqlite3.connect(self.data_dir / "feedback.sqlite3")) as connection, connection:
            cursor = connection.execute(query, values)
            return [dict(zip([column[0] for column in cursor.description], row)) for row in cursor] \
                if cursor.description else []

    def row(self, id: str) -> dict:
        [found] = self.rows("SELECT * FROM corrections WHERE id = ?", id)
        return found


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def store(request, tmp_path_factory) -> Store:
    """A new data directory; PostgreSQL's database emptied."""
    url = request.getfixturevalue("postgres").url if request.param == "postgres" else ""
    if url:
        with psycopg.connect(url) as connection:
            connection.execute("DROP TABLE IF EXISTS corrections, attempts, schema_version")
    return Store(tmp_path_factory.mktemp(f"data-{request.param}"), url)


@pytest.fixture(scope="module")
def service(store):
    running = store.serve(*NO_LIMIT)
    yield running
    running.stop()


@pytest.mark.parametrize("setting, words", [
    (("--database-url", "postgresql://nobody@127.0.0.1:1/none"), "Connection refused"),
    (("--database-url", "no-such-option=1"), "invalid connection option"),
    (("--data-dir", "/dev/null/data"), "Not a directory"),
])
def test_a_store_that_cannot_be_opened_stops_start_up_with_one_line(setting, words):
    server = RunningServer(*setting)
    assert server.process.wait(timeout=60) != 0
    output = server.stop().strip()
    assert output.startswith("Cannot keep corrections: ") and words in output and len(output.splitlines()) == 1, output


MIGRATE = """
import sys
from pathlib import Path
from serve.feedback import open_feedback
open_feedback(Path(sys.argv[1]), sys.argv[2] or None).close()
"""


def test_processes_starting_at_once_migrate_a_new_database_once(postgres, tmp_path):
    """Eight processes open each new database at the same moment, as workers may."""
    for database_url in ("", postgres.url.replace("/feedback", "/postgres")):
        processes = [subprocess.Popen([str(SERVE_PYTHON), "-c", MIGRATE, str(tmp_path), database_url], cwd=ROOT,
                                      stderr=subprocess.PIPE, text=True) for _ in range(8)]
        assert [process.wait(timeout=60) for process in processes] == [0] * 8, [p.stderr.read() for p in processes]
        read = Store(tmp_path, database_url)
        assert read.rows("SELECT version FROM schema_version") == [{"version": len(MIGRATIONS)}]
        assert read.rows("SELECT COUNT(*) AS n FROM corrections") == [{"n": 0}]



def test_a_reader_holds_no_writer_back(tmp_path):
    """Counting and listing corrections take no lock: a correction is kept while they
    read (were they to take the write lock, it would wait for the busy timeout, 10 s)."""
    corrections = open_feedback(tmp_path)
    with concurrent.futures.ThreadPoolExecutor(1) as writer:  # its own connection, as another worker's
        with corrections.database.transaction(reading=True) as sql:
            assert sql("SELECT COUNT(*) FROM corrections").fetchone() == (0,)
            assert writer.submit(corrections.admit, corrections.client_hash("a"), 5).result(timeout=3) == 0
    corrections.close()
    with contextlib.closing(sqlite3.connect(tmp_path / "feedback.sqlite3")) as connection:
        indexes = {name for name, in connection.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert "corrections_by_status" in indexes


def test_connections_opening_a_new_sqlite_file_at_once_all_get_in(tmp_path):
    """Sixteen threads open each of 200 new files at the same moment. The switch to WAL
    does not wait for another connection's, so it once made about one open in 400 fail."""
    failures = []

    def open_and_migrate(path: Path):
        database = Sqlite(path)
        try:
            migrate(database, [("CREATE TABLE kept (value INTEGER)",)])
        except Exception as error:
            failures.append(error)
        finally:
            database.close()

    for file in range(200):
        threads = [threading.Thread(target=open_and_migrate, args=(tmp_path / f"{file}.sqlite3",))
                   for _ in range(16)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert failures == []
    journal_modes = set()
    for path in tmp_path.glob("*.sqlite3"):
        with contextlib.closing(sqlite3.connect(path)) as connection:
            journal_modes.add(connection.execute("PRAGMA journal_mode").fetchone()[0])
    assert journal_modes == {"wal"}

def send(server, body, headers=None, **options) -> requests.Response:
    return requests.post(server.url + FEEDBACK, json=body, headers=headers, timeout=60, **options)


def kept(answer: requests.Response) -> dict:
    assert answer.status_code == 201, answer.text
    receipt = answer.json()
    assert set(receipt) == {"id", "delete_token"} and len(receipt["id"]) == 32 and len(receipt["delete_token"]) == 64
    return receipt


def data_url(picture: bytes, kind="png") -> str:
    return f"data:image/{kind};base64," + base64.b64encode(picture).decode()


def test_a_photo_is_kept_without_its_metadata_beside_what_the_model_read(service, store, data):
    """A phone photo stored sideways, its EXIF naming the phone: kept upright, as a PNG
    of its pixels alone; the server's own reading kept, and the page's claim apart."""
    photo = Image.open(io.BytesIO(as_photo(data.test_images[18], np.random.default_rng(3))))  # a 3
    exif = Image.Exif()
    exif[0x0112] = 6  # shown turned 90 degrees clockwise
    exif[0x010F] = "PhoneMakerInc"  # the camera's make
    sideways = encoded(photo.transpose(Image.Transpose.ROTATE_90), format="JPEG", exif=exif.tobytes())
    assert b"PhoneMakerInc" in sideways
    receipt = kept(send(service, {"image": data_url(sideways, "jpeg"), "label": "3", "predicted": "8",
                                  "model": "claimed-model"}))
    predicted = requests.post(service.url + "/api/predict", data=sideways, headers={"Content-Type": "image/jpeg"}).json()

    row = store.row(receipt["id"])
    picture = bytes(row["picture"])
    assert picture.startswith(b"\x89PNG") and b"PhoneMakerInc" not in picture and b"Exif" not in picture
    stored = Image.open(io.BytesIO(picture))
    assert "exif" not in stored.info and "icc_profile" not in stored.info
    seen, upright = (np.asarray(image.convert("L"), dtype=np.float32) for image in (stored, photo))
    assert seen.shape == upright.shape  # a JPEG this small is read at full scale
    assert np.abs(seen - upright).mean() < np.abs(seen - np.rot90(upright)).mean() / 2  # turned upright
    assert row["strokes"] is None
    assert (row["label"], row["claimed_prediction"], row["claimed_model"]) == ("3", "8", "claimed-model")
    assert (row["verdict"], row["prediction"], row["model"]) == (predicted["verdict"], "3", predicted["model"])
    assert json.loads(row["probabilities"]) == {field: predicted[field]
                                                for field in ("probabilities", "not_a_digit", "several_digits")}
    assert data_url(bytes(row["inputs"])) == predicted["input"]
    assert row["status"] == "pending" and abs(row["created"] - time.time()) < 60
    assert row["delete_token_hash"] == hashlib.sha256(receipt["delete_token"].encode()).hexdigest()
    assert len(row["client_hash"]) == 64 and "127.0.0.1" not in json.dumps({k: str(v) for k, v in row.items()})
    assert row["client_key"] is None


def test_strokes_are_kept_as_strokes_and_a_number_as_its_digits(service, store):
    one = store.row(kept(send(service, {"strokes": ONE, "label": "1"}))["id"])
    assert json.loads(one["strokes"]) == ONE and one["picture"] is None
    assert Image.open(io.BytesIO(bytes(one["inputs"]))).size == (28, 28)
    assert one["prediction"] == "1" and one["claimed_prediction"] is None

    number = requests.post(service.url + "/api/number", json=SEVENTEEN).json()
    row = store.row(kept(send(service, {"strokes": SEVENTEEN, "label": "17", "predicted": number["number"]}))["id"])
    assert (row["verdict"], row["prediction"], row["model"]) == (number["verdict"], number["number"], number["model"])
    written_as = store.row(kept(send(service, {"strokes": SEVENTEEN, "label": "-1.7"}))["id"])  # read as a number too
    assert (written_as["label"], written_as["prediction"]) == ("-1.7", number["number"])
    inputs = Image.open(io.BytesIO(bytes(row["inputs"])))
    assert inputs.size == (28 * len(number["digits"]), 28)  # the digits' inputs side by side
    assert json.loads(row["probabilities"])["digits"] == [digit["probabilities"] for digit in number["digits"]]


BAD = [
    ("no label", {"strokes": ONE}, 400, '"label"'),
    ("a label in words", {"strokes": ONE, "label": "seven"}, 400, '"label"'),
    ("a label as a number", {"strokes": ONE, "label": 7}, 400, '"label"'),
    ("a label of 21 digits", {"strokes": ONE, "label": "1" * 21}, 400, '"label"'),
    ("a label of 22 digits and points", {"strokes": ONE, "label": "1.1" * 11}, 400, '"label"'),
    ("a label with two points together", {"strokes": ONE, "label": "4..99"}, 400, '"label"'),
    ("a label with a minus inside", {"strokes": ONE, "label": "4-99"}, 400, '"label"'),
    ("no drawing", {"label": "1"}, 400, "one of the two"),
    ("a picture and strokes", {"image": "iVBORw0KGgo=", "strokes": ONE, "label": "1"}, 400, "one of the two"),
    ("strokes not an object", {"strokes": [[[1, 2]]], "label": "1"}, 400, '"strokes"'),
    ("strokes out of reach", {"strokes": {**ONE, "strokes": [[[1e9, 0]]]}, "label": "1"}, 400, "strokes[0][0]"),
    ("empty strokes", {"strokes": {**ONE, "strokes": []}, "label": "1"}, 422, "empty"),
    ("not base64", {"image": "!!!", "label": "1"}, 400, "base64"),
    ("not an image", {"image": base64.b64encode(b"hello").decode(), "label": "1"}, 400, "not an image"),
    ("a null image", {"image": None, "label": "1"}, 400, '"image"'),
    ("a bad key", {"strokes": ONE, "label": "1", "key": "no spaces"}, 400, '"key"'),
    ("a null key", {"strokes": ONE, "label": "1", "key": None}, 400, '"key"'),
    ("a claim too long", {"strokes": ONE, "label": "1", "predicted": "7" * 65}, 400, '"predicted"'),
    ("a model not a string", {"strokes": ONE, "label": "1", "model": 12}, 400, '"model"'),
]


def test_bad_corrections_get_clear_json_errors_and_nothing_is_kept(service, store):
    before = store.rows("SELECT COUNT(*) AS n FROM corrections")[0]["n"]
    blank = encoded(Image.new("L", (2000, 2000), 255), format="PNG")
    raw = [("not JSON", {"data": b"{label", "headers": {"Content-Type": "application/json"}}, 400, "JSON"),
           ("a JSON list", {"json": [1]}, 400, "object"),
           ("not JSON at all", {"data": b"label=1", "headers": {"Content-Type": "text/plain"}}, 415, "JSON"),
           ("over 2 MiB", {"json": {"image": "A" * (2 << 20), "label": "1"}}, 413, "limit"),
           ("a picture too costly to decode", {"json": {"image": data_url(encoded(Image.new("L", (4096, 1100)), format="PNG")),
                                                        "label": "1"}}, 413, "megapixels"),
           ("a blank picture", {"json": {"image": data_url(blank), "label": "1"}}, 422, "empty")]
    for name, options, status, words in [(name, {"json": body}, status, words) for name, body, status, words in BAD] + raw:
        answer = requests.post(service.url + FEEDBACK, timeout=60, **options)
        assert answer.status_code == status, f"{name}: {answer.status_code} {answer.text}"
        assert answer.headers["Content-Type"] == "application/json", name
        assert words in answer.json()["error"] and "Traceback" not in answer.text, name
    assert store.rows("SELECT COUNT(*) AS n FROM corrections")[0]["n"] == before


def test_a_key_sent_again_keeps_one_correction_and_gets_the_first_answer(service, store):
    body = {"strokes": ONE, "label": "1", "key": "retry-" + uuid.uuid4().hex}
    first = kept(send(service, body))
    again = send(service, body)
    assert again.status_code == 200 and again.json() == first

    at_once = {**body, "key": "at-once-" + uuid.uuid4().hex}
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(lambda _: send(service, at_once), range(16)))
    assert sorted(answer.status_code for answer in answers) == [200] * 15 + [201]
    assert len({json.dumps(answer.json()) for answer in answers}) == 1
    for key in (body["key"], at_once["key"]):
        assert len(store.rows("SELECT id FROM corrections WHERE client_key = ?", key)) == 1


def test_only_the_delete_token_takes_a_correction_back(service, store):
    receipt = kept(send(service, {"strokes": ONE, "label": "1"}))
    other = kept(send(service, {"strokes": ONE, "label": "1"}))
    url = f"{service.url}{FEEDBACK}/{receipt['id']}"

    def delete(url, token=None):
        return requests.delete(url, headers={"Authorization": f"Bearer {token}"} if token else {}, timeout=30)

    unknown = delete(f"{service.url}{FEEDBACK}/{uuid.uuid4().hex}", receipt["delete_token"])
    wrong = delete(url, other["delete_token"])
    assert unknown.status_code == wrong.status_code == 404 and unknown.json() == wrong.json()
    missing = delete(url)
    assert missing.status_code == 401 and missing.headers["WWW-Authenticate"] == "Bearer"
    assert delete(f"{service.url}{FEEDBACK}/not-an-id", receipt["delete_token"]).status_code == 404
    refused = requests.delete(url, headers={"Authorization": f"Bearer {receipt['delete_token']}",
                                            "Sec-Fetch-Site": "cross-site"})
    assert refused.status_code == 403 and "Cross-site" in refused.json()["error"]
    assert store.rows("SELECT id FROM corrections WHERE id = ?", receipt["id"])

    deleted = delete(url, receipt["delete_token"])
    assert deleted.status_code == 204 and deleted.content == b""
    assert not store.rows("SELECT id FROM corrections WHERE id = ?", receipt["id"])
    assert delete(url, receipt["delete_token"]).status_code == 404
    assert store.rows("SELECT id FROM corrections WHERE id = ?", other["id"])  # the other one stays


def test_stats_count_the_corrections_by_status(service, store):
    ids = [kept(send(service, {"strokes": ONE, "label": "1"}))["id"] for _ in range(3)]
    store.rows("UPDATE corrections SET status = 'accepted' WHERE id = ?", ids[0])
    store.rows("UPDATE corrections SET status = 'rejected' WHERE id = ?", ids[1])
    counted = {row["status"]: row["n"] for row in store.rows("SELECT status, COUNT(*) AS n FROM corrections GROUP BY status")}
    stats = requests.get(service.url + STATS).json()
    assert stats == {"total": sum(counted.values()), **{s: counted.get(s, 0) for s in ("pending", "accepted", "rejected")}}
    assert stats["accepted"] >= 1 and stats["rejected"] >= 1


def test_the_rate_limit_is_shared_by_the_workers_and_trusts_only_the_proxy(store, tmp_path):
    """Five a minute. Behind the trusted proxy (here, loopback), the client is the last
    X-Forwarded-For entry; from anyone else the header is the client's to forge, and
    ignored. Bad requests count too: each costs the server the same reading."""
    cheap = {"label": "1"}  # refused 400, after being counted
    store = Store(tmp_path, store.database_url)  # a salt of its own: loopback's earlier requests are not counted
    behind = store.serve("--feedback-rate", "5", "--trusted-proxy", "192.0.2.1,127.0.0.1")
    try:
        client = {"X-Forwarded-For": "198.51.100.7"}
        statuses = [send(behind, cheap, {"X-Forwarded-For": f"10.0.0.{i}, 198.51.100.7"}).status_code for i in range(5)]
        over = send(behind, cheap, client)
        other_client = send(behind, cheap, {"X-Forwarded-For": "198.51.100.8"})
    finally:
        behind.stop()
    assert statuses == [400] * 5 and other_client.status_code == 400
    assert over.status_code == 429 and "Too many corrections" in over.json()["error"]
    assert 1 <= int(over.headers["Retry-After"]) <= 60

    untrusted = store.serve("--feedback-rate", "5", "--trusted-proxy", "192.0.2.1")
    try:
        statuses = [send(untrusted, cheap, {"X-Forwarded-For": f"198.51.100.{i}"}).status_code for i in range(20, 26)]
    finally:
        untrusted.stop()
    assert statuses == [400] * 5 + [429]  # all from 127.0.0.1, whatever the header says


def send_all(server, bodies, workers=16) -> list:
    """Each body sent once from one of `workers` clients: the answer, or the error that
    ended the request."""
    def attempt(body):
        try:
            return send(server, body)
        except requests.RequestException as error:
            return error
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        return list(pool.map(attempt, bodies))


def test_nothing_lost_nothing_doubled_and_kept_across_a_restart_but_not_past_retention(store):
    bodies = [{"strokes": ONE, "label": str(i % 10), "key": f"load-{i}-{uuid.uuid4().hex[:8]}"} for i in range(300)]
    loaded = store.serve(*NO_LIMIT)
    try:
        answers = send_all(loaded, bodies)
    finally:
        loaded.stop()
    ids = [answer.json()["id"] for answer in answers if getattr(answer, "status_code", None) == 201]
    assert len(ids) == len(set(ids)) == 300
    placeholders = ", ".join("?" * len(bodies))
    rows = store.rows(f"SELECT id, client_key, label FROM corrections WHERE client_key IN ({placeholders})",
                      *[body["key"] for body in bodies])
    assert sorted(row["id"] for row in rows) == sorted(ids)
    assert {row["client_key"]: row["label"] for row in rows} == {body["key"]: body["label"] for body in bodies}

    store.rows("UPDATE corrections SET created = created - 366 * 86400 WHERE id = ?", ids[0])  # past the 365 days
    restarted = store.serve(*NO_LIMIT)
    try:
        total = requests.get(restarted.url + STATS).json()["total"]
        again = send(restarted, bodies[1])
    finally:
        restarted.stop()
    assert again.status_code == 200 and again.json()["id"] == ids[1]
    assert total == store.rows("SELECT COUNT(*) AS n FROM corrections")[0]["n"]
    left = {row["id"] for row in store.rows(f"SELECT id FROM corrections WHERE id IN ({placeholders})", *ids)}
    assert left == set(ids[1:])


def worker_pids(server) -> list[int]:
    children = Path(f"/proc/{server.process.pid}/task/{server.process.pid}/children").read_text()
    return [int(pid) for pid in children.split()]


def test_a_worker_killed_mid_load_loses_no_acknowledged_correction(store, data):
    """SIGKILL, so the worker has no chance to finish anything: what it had answered 201
    is in the database all the same. The requests it was holding fail; sent again with
    their keys, each is kept once."""
    pictures = [data_url(png) for png in canvases(data.test_images[:20], seed=2)]
    bodies = [{"image": pictures[i % 20], "label": "1", "key": f"kill-{i}-{uuid.uuid4().hex[:8]}"} for i in range(240)]
    loaded = store.serve(*NO_LIMIT)
    try:
        with concurrent.futures.ThreadPoolExecutor(1) as killer:
            def kill_when_busy():  # once some of the load is kept, however fast this machine answers
                deadline = time.monotonic() + 30
                while time.monotonic() < deadline and store.rows(
                        "SELECT count(*) AS kept FROM corrections WHERE client_key LIKE ?", "kill-%")[0]["kept"] < 10:
                    time.sleep(0.01)
                os.kill(worker_pids(loaded)[0], signal.SIGKILL)
            killed = killer.submit(kill_when_busy)
            answers = send_all(loaded, bodies)
            killed.result()
        acknowledged = {body["key"]: answer.json()["id"] for body, answer in zip(bodies, answers)
                        if getattr(answer, "status_code", None) == 201}
        kept_ids = {row["client_key"]: row["id"] for row in store.rows("SELECT client_key, id FROM corrections")}
        assert {key: kept_ids.get(key) for key in acknowledged} == acknowledged
        assert 0 < len(acknowledged) < len(bodies)  # the worker was killed with requests in hand
        unanswered = [body for body, answer in zip(bodies, answers) if getattr(answer, "status_code", None) != 201]
        retried = send_all(loaded, unanswered)
    finally:
        loaded.stop()
    assert all(answer.status_code in (200, 201) for answer in retried), [str(a) for a in retried]
    keys = [body["key"] for body in bodies]
    rows = store.rows(f"SELECT client_key FROM corrections WHERE client_key IN ({', '.join('?' * len(keys))})", *keys)
    assert sorted(row["client_key"] for row in rows) == sorted(keys)
