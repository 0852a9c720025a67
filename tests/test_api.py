"""The HTTP API, through a real gunicorn server on loopback running from .venv/serve."""

import base64
import concurrent.futures
import hashlib
import io
import json

import pytest
import requests
from PIL import Image

from bench.hostile import bad_inputs
from drawings import canvases, png_bytes
from tests.conftest import ROOT, RunningServer

PREDICT, BATCH = "/api/predict", "/api/predict/batch"


@pytest.fixture(scope="module")
def samples(data):
    """(png bytes, label) of the first 20 test digits drawn as canvases."""
    return list(zip(canvases(data.test_images[:20], seed=1), data.test_labels[:20].tolist()))


def post_png(server, png, **kwargs):
    return requests.post(server.url + PREDICT, data=png, headers={"Content-Type": "image/png"}, timeout=30, **kwargs)


def assert_prediction(answer: dict, digit: int):
    assert answer["digit"] == digit
    assert len(answer["probabilities"]) == 10 and abs(sum(answer["probabilities"]) - 1) < 1e-3
    assert answer["confidence"] == max(answer["probabilities"])
    assert answer["model"] == hashlib.sha256((ROOT / "artifacts" / "mnist.onnx").read_bytes()).hexdigest()[:12]
    assert answer["elapsed_ms"] > 0
    header, _, payload = answer["input"].partition(",")
    assert header == "data:image/png;base64"
    seen = Image.open(io.BytesIO(base64.b64decode(payload)))
    assert seen.size == (28, 28) and seen.mode == "L"


def test_health_model_card_and_page(server):
    health = requests.get(server.url + "/healthz").json()
    assert health["status"] == "ok" and len(health["model"]) == 12
    card = requests.get(server.url + "/api/model").json()
    assert card["sha256"].startswith(health["model"]) and card["inputs"][0]["name"] == "image"
    page = requests.get(server.url + "/")
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["Content-Security-Policy"].startswith("default-src 'self'")


@pytest.mark.parametrize("path", ["/../requirements-serve.txt", "/%2e%2e/serve/app.py", "/nothing-here.js"])
def test_static_files_come_from_web_only(server, path):
    answer = requests.get(server.url + path)
    assert answer.status_code in (403, 404) and "error" in answer.json()
    assert "bottle" not in answer.text


def test_predict_accepts_data_url_base64_raw_and_multipart(server, samples):
    png, label = samples[0]
    encoded = base64.b64encode(png).decode()
    answers = [
        requests.post(server.url + PREDICT, json={"image": "data:image/png;base64," + encoded}),
        requests.post(server.url + PREDICT, json={"image": encoded}),
        post_png(server, png),
        requests.post(server.url + PREDICT, files={"image": ("seven.png", png, "image/png")}),
    ]
    for answer in answers:
        assert answer.status_code == 200, answer.text
        assert_prediction(answer.json(), label)


def test_batch_answers_each_image_from_one_model_call(server, samples):
    images = [base64.b64encode(png).decode() for png, _ in samples]
    answer = requests.post(server.url + BATCH, json={"images": images})
    assert answer.status_code == 200, answer.text
    predictions = answer.json()["predictions"]
    assert [p["digit"] for p in predictions] == [label for _, label in samples]
    assert len({p["elapsed_ms"] for p in predictions}) == 1  # one call, one time for all


def test_batch_limits_and_names_the_bad_image(server, data):
    good = base64.b64encode(png_bytes(Image.fromarray(data.test_images[0]))).decode()  # small: 257 fit in 2 MiB
    too_many = requests.post(server.url + BATCH, json={"images": [good] * 257})
    assert too_many.status_code == 400 and "1 to 256" in too_many.json()["error"]
    blank = base64.b64encode(png_bytes(Image.new("L", (50, 50), 255))).decode()
    one_bad = requests.post(server.url + BATCH, json={"images": [good, blank]})
    assert one_bad.status_code == 422 and one_bad.json()["error"].startswith("images[1]: ")


def test_concurrent_users_get_their_own_digits(server, samples):
    """The original service wrote each upload to one shared file; ours shares nothing."""
    jobs = samples * 5
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        digits = list(pool.map(lambda job: post_png(server, job[0]).json()["digit"], jobs))
    assert digits == [label for _, label in jobs]


def test_bad_inputs_get_clear_errors_and_the_server_keeps_serving(server, samples):
    valid_png, label = samples[0]
    for name, request, status in bad_inputs(valid_png):
        answer = requests.post(server.url + PREDICT, timeout=30, **request)
        assert answer.status_code == status, f"{name}: {answer.status_code} {answer.text}"
        assert answer.headers["Content-Type"] == "application/json", name
        body = answer.json()
        if status == 200:
            assert body["digit"] == label, name
        else:
            assert len(body["error"]) > 10 and "Traceback" not in body["error"], name
        assert post_png(server, valid_png).json()["digit"] == label, f"after {name}"


def test_wrong_method_and_unknown_route_are_json(server):
    assert requests.get(server.url + PREDICT).status_code == 405
    assert requests.post(server.url + "/api/nothing", json={}).json()["error"]


def test_body_over_the_limit_is_413():
    limited = RunningServer("--workers", "1", "--max-body-bytes", "5000").wait_healthy()
    try:
        answer = post_png(limited, b"\x89PNG" + b"\0" * 20_000)
        assert answer.status_code == 413 and "limit is 5000 bytes" in answer.json()["error"]
        assert requests.get(limited.url + "/healthz").status_code == 200
    finally:
        limited.stop()


def test_default_limit_is_2_mib(server):
    answer = post_png(server, b"\0" * (2 * 1024 * 1024 + 1))
    assert answer.status_code == 413 and json.loads(answer.text)["error"]
