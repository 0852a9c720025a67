"""Reviewing corrections: the admin routes of real gunicorn servers, and `python -m
serve.review` on the same database, in SQLite and in a real PostgreSQL server alike;
what changed is read from the database itself."""

import base64
import hashlib
import io
import json
import os
import subprocess

import numpy as np
import pytest
import requests
from PIL import Image

from drawings import canvases
from serve import feedback
from tests.conftest import ROOT, SERVE_PYTHON, RunningServer
from tests.test_feedback import NO_LIMIT, ONE, SEVENTEEN, data_url, kept, send, store  # noqa: F401 (fixture)

TOKEN = "a-review-token-of-the-tests-0123456789"
CORRECTIONS, REVIEW = "/api/admin/corrections", "/api/admin/review"
AS_ADMIN = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def admin(store):
    running = store.serve(*NO_LIMIT, env={"ADMIN_TOKEN": TOKEN})
    yield running
    running.stop()


def pending(service, **query) -> dict:
    answer = requests.get(service.url + CORRECTIONS, params=query, headers=AS_ADMIN, timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.json()


def review(service, ids, status, headers=None) -> requests.Response:
    return requests.post(service.url + REVIEW, json={"ids": ids, "status": status},
                         headers={**AS_ADMIN, **(headers or {})}, timeout=30)


def picture_of(url: str) -> Image.Image:
    header, _, data = url.partition(",")
    assert header == "data:image/png;base64"
    return Image.open(io.BytesIO(base64.b64decode(data)))


def statuses(store, ids) -> list[str]:
    return [store.row(id)["status"] for id in ids]


def review_cli(store, *args) -> subprocess.CompletedProcess:
    return subprocess.run([str(SERVE_PYTHON), "-m", "serve.review", "--data-dir", str(store.data_dir), *args],
                          cwd=ROOT, env={**os.environ, "DATABASE_URL": store.database_url},
                          capture_output=True, text=True, timeout=60)


def test_without_the_token_reviewing_is_not_there():
    """A server without ADMIN_TOKEN: the page and its routes are 404, whatever is sent."""
    off = RunningServer("--workers", "1", env={"ADMIN_TOKEN": ""}).wait_healthy()
    try:
        assert requests.get(off.url + "/admin.html").status_code == 404  # nor is the page's file served
        for answer in (requests.get(off.url + "/admin"), requests.get(off.url + CORRECTIONS, headers=AS_ADMIN),
                       requests.get(off.url + CORRECTIONS), requests.post(
                           off.url + REVIEW, json={"ids": ["0" * 32], "status": "accepted"}, headers=AS_ADMIN)):
            assert answer.status_code == 404 and "ADMIN_TOKEN" in answer.json()["error"], answer.text
    finally:
        off.stop()


@pytest.mark.parametrize("authorization", [None, "Bearer", f"Basic {TOKEN}", "Bearer wrong", f"Bearer {TOKEN}x",
                                           f"Bearer {TOKEN[:-1]}", "Bearer é"])
def test_without_the_right_token_401(admin, authorization):
    headers = {"Authorization": authorization} if authorization else {}
    for answer in (requests.get(admin.url + CORRECTIONS, headers=headers),
                   requests.post(admin.url + REVIEW, json={"ids": ["0" * 32], "status": "accepted"},
                                 headers=headers)):
        assert answer.status_code == 401 and answer.headers["WWW-Authenticate"] == "Bearer", answer.text
        assert answer.json()["error"]
    assert requests.get(admin.url + "/admin").status_code == 200  # the page itself holds nothing: it asks


def test_the_list_shows_the_pending_ones_newest_first_with_their_pictures(admin, store, data):
    photo = next(canvases(data.test_images[:1], seed=1))  # a 7
    ids = [kept(send(admin, body))["id"] for body in (
        {"image": data_url(photo), "label": "7", "predicted": "1", "model": "claimed"},
        {"strokes": ONE, "label": "1"},
        {"strokes": SEVENTEEN, "label": "17"})]
    listed = pending(admin, limit=3)
    assert [c["id"] for c in listed["corrections"]] == ids[::-1] and listed["pending"] >= 3
    number, one, seven = listed["corrections"]
    assert (seven["label"], seven["prediction"], seven["claimed_prediction"], seven["claimed_model"]) == \
           ("7", "7", "1", "claimed")
    assert seven["picture"] == data_url(bytes(store.row(ids[0])["picture"]))  # the picture as kept
    drawn = np.asarray(picture_of(one["picture"]).convert("L"))
    assert drawn.max() == 255 and drawn.min() == 0 and drawn.mean() > 200  # dark ink on light, as the page shows
    assert [len(c["inputs"]) for c in listed["corrections"]] == [2, 1, 1]  # one per digit read
    assert all(picture_of(url).size == (28, 28) for c in listed["corrections"] for url in c["inputs"])
    assert number["verdict"] == "number" and number["model"] != seven["model"]  # the number model read it
    assert [c["id"] for c in pending(admin, limit=1, offset=1)["corrections"]] == [ids[1]]

    for query in ({"limit": 0}, {"limit": 101}, {"limit": "ten"}, {"offset": -1}):
        answer = requests.get(admin.url + CORRECTIONS, params=query, headers=AS_ADMIN)
        assert answer.status_code == 400 and answer.json()["error"], query


def test_a_tap_kept_before_taps_were_refused_is_still_shown():
    """A correction is drawn again as it was kept: a tap, refused now as too small to
    read, may have been kept before."""
    tap = {"picture": None, "strokes": json.dumps({"strokes": [[[50, 50]]], "width": 100, "height": 100, "brush": 5})}
    drawn = np.asarray(Image.open(io.BytesIO(feedback.picture(tap))))
    assert drawn.min() == 0 and drawn.mean() > 200  # a dark dot on light


def test_accepted_and_rejected_ones_leave_the_list_and_the_stats_count_them(admin, store):
    ids = [kept(send(admin, {"strokes": ONE, "label": "1"}))["id"] for _ in range(3)]
    before = requests.get(admin.url + "/api/feedback/stats").json()
    assert review(admin, ids[:2], "accepted").json() == {"changed": 2}
    assert review(admin, [ids[2], "f" * 32], "rejected").json() == {"changed": 1}  # an unknown id is passed over
    assert statuses(store, ids) == ["accepted", "accepted", "rejected"]
    after = requests.get(admin.url + "/api/feedback/stats").json()
    assert after == {**before, "pending": before["pending"] - 3, "accepted": before["accepted"] + 2,
                     "rejected": before["rejected"] + 1}
    assert not set(ids) & {c["id"] for c in pending(admin, limit=100)["corrections"]}
    assert review(admin, ids[2:], "pending").json() == {"changed": 1}  # a change of mind
    assert ids[2] == pending(admin, limit=1)["corrections"][0]["id"]

    for body in ({"ids": ids}, {"ids": [], "status": "accepted"}, {"ids": ["nope"], "status": "accepted"},
                 {"ids": ids[0], "status": "accepted"}, {"ids": ids, "status": "approved"}):
        answer = requests.post(admin.url + REVIEW, json=body, headers=AS_ADMIN)
        assert answer.status_code == 400 and answer.json()["error"], body
    assert requests.post(admin.url + REVIEW, data="ids", headers=AS_ADMIN).status_code == 415


def test_a_cross_site_review_is_refused(admin, store):
    id = kept(send(admin, {"strokes": ONE, "label": "1"}))["id"]
    for headers in ({"Sec-Fetch-Site": "cross-site"}, {"Origin": "http://elsewhere.example"}):
        answer = review(admin, [id], "accepted", headers)
        assert answer.status_code == 403 and answer.json()["error"], answer.text
    assert statuses(store, [id]) == ["pending"]
    assert review(admin, [id], "rejected", {"Sec-Fetch-Site": "same-origin"}).json() == {"changed": 1}


def test_the_token_is_never_in_the_access_log(admin):
    """Sent in the header, even in a query string it has no business in: the log holds paths only."""
    requests.get(admin.url + CORRECTIONS, params={"limit": 1, "token": TOKEN}, headers=AS_ADMIN)
    requests.get(admin.url + CORRECTIONS, headers={"Authorization": f"Bearer {TOKEN}x"})
    review(admin, ["0" * 32], "accepted")
    log = admin.output()
    assert f'"path": "{CORRECTIONS}"' in log and f'"path": "{REVIEW}"' in log
    assert TOKEN not in log and "Bearer" not in log


def test_the_command_line_lists_accepts_rejects_counts_and_exports(admin, store, tmp_path):
    ids = [kept(send(admin, body))["id"] for body in ({"strokes": ONE, "label": "1", "predicted": "7"},
                                                      {"strokes": SEVENTEEN, "label": "17"},
                                                      {"strokes": ONE, "label": "not a digit"})]
    listed = review_cli(store, "list")
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert [line.split()[0] for line in lines[:3]] == ids[::-1]  # newest first, one line each
    assert "label '1'" in lines[2] and "read '1'" in lines[2] and "the page said 7" in lines[2]

    # Everything reviewed before this test is set aside: the snapshot is compared with what this one accepts.
    earlier = [row["id"] for row in store.rows("SELECT id FROM corrections WHERE status = 'accepted'")]
    if earlier:
        assert review_cli(store, "reject", *earlier).returncode == 0
    accepted = review_cli(store, "accept", ids[0], ids[1])
    assert (accepted.returncode, accepted.stdout.strip()) == (0, "2 of 2 marked accepted"), accepted.stderr
    assert review_cli(store, "reject", ids[2]).returncode == 0
    assert statuses(store, ids) == ["accepted", "accepted", "rejected"]
    counts = requests.get(admin.url + "/api/feedback/stats").json()
    assert review_cli(store, "stats").stdout.split() == [word for status, count in counts.items()
                                                         for word in (status, str(count))]
    unknown = review_cli(store, "accept", "f" * 32)
    assert unknown.returncode == 1 and unknown.stderr.strip() == "error: ids that name no correction: 1"

    out = tmp_path / "corrections.npz"
    exported = review_cli(store, "export", "--out", str(out))
    assert exported.returncode == 0, exported.stderr
    digest = hashlib.sha256(out.read_bytes()).hexdigest()
    assert exported.stdout.strip() == f"wrote 2 accepted corrections to {out}, sha256 {digest}"
    assert (tmp_path / "corrections.npz.sha256").read_text() == f"{digest}  corrections.npz\n"
    assert subprocess.run(["sha256sum", "-c", "corrections.npz.sha256"], cwd=tmp_path, capture_output=True).returncode == 0

    snapshot = np.load(out)  # numpy alone: no pickle
    assert list(snapshot["ids"]) == ids[:2]  # oldest first
    assert list(snapshot["labels"]) == ["1", "17"]
    rows = [store.row(id) for id in ids[:2]]
    assert list(snapshot["predictions"]) == [row["prediction"] for row in rows]
    assert list(snapshot["models"]) == [row["model"] for row in rows]
    assert list(snapshot["created"]) == [row["created"] for row in rows]
    assert list(snapshot["offsets"]) == [0, 1, 3] and snapshot["inputs"].dtype == np.uint8
    kept_inputs = np.hstack([np.asarray(Image.open(io.BytesIO(bytes(row["inputs"])))) for row in rows])
    assert np.array_equal(np.hstack(list(snapshot["inputs"])), kept_inputs)  # each 28x28, as kept


def test_the_command_line_says_in_one_line_what_is_wrong(tmp_path):
    unreachable = subprocess.run([str(SERVE_PYTHON), "-m", "serve.review", "--database-url",
                                  "postgresql://nobody@127.0.0.1:1/none", "stats"],
                                 cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert unreachable.returncode == 1 and len(unreachable.stderr.strip().splitlines()) == 1
    assert unreachable.stderr.startswith("error: cannot open the corrections: ") and "Connection refused" in unreachable.stderr
    unwritable = subprocess.run([str(SERVE_PYTHON), "-m", "serve.review", "--data-dir", str(tmp_path), "export",
                                 "--out", str(tmp_path / "missing" / "corrections.npz")],
                                cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert unwritable.returncode == 1 and unwritable.stderr.startswith("error: cannot write the snapshot: "), \
        unwritable.stderr
    assert len(unwritable.stderr.strip().splitlines()) == 1
