"""The HTTP API, through a real gunicorn server on loopback running from .venv/serve."""

import base64
import concurrent.futures
import hashlib
import io
import json

import numpy as np
import pytest
import requests
from PIL import Image

import contract
from bench.hostile import bad_inputs, costly_batch
from drawings import as_photo, canvases, encoded, png_bytes
from tests.conftest import ROOT, RunningServer

PREDICT, BATCH = "/api/predict", "/api/predict/batch"


@pytest.fixture(scope="module")
def samples(data):
    """(png bytes, label) of the first 20 test digits drawn as canvases."""
    return list(zip(canvases(data.test_images[:20], seed=1), data.test_labels[:20].tolist()))


def post_png(server, png, headers=None):
    return requests.post(server.url + PREDICT, data=png, headers={"Content-Type": "image/png", **(headers or {})},
                         timeout=30)


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
    policy = dict(directive.strip().partition(" ")[::2] for directive in page.headers["Content-Security-Policy"].split(";"))
    assert policy == {"default-src": "'self'", "img-src": "'self' data:", "frame-ancestors": "'none'",
                      "base-uri": "'none'", "form-action": "'self'"}
    assert page.headers["Referrer-Policy"] == "no-referrer"


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
    good = base64.b64encode(png_bytes(Image.fromarray(data.test_images[0]))).decode()
    too_many = requests.post(server.url + BATCH, json={"images": [good] * 65})
    assert too_many.status_code == 400 and "1 to 64" in too_many.json()["error"]
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


def test_default_limit_is_2_mib_and_the_error_says_what_to_do(server):
    answer = post_png(server, b"\0" * (2 * 1024 * 1024 + 1))
    assert answer.status_code == 413 and "Shrink a photo" in json.loads(answer.text)["error"]


def test_a_batch_is_refused_from_its_headers_when_it_would_cost_too_much(server):
    """64 blank 4-megapixel PNGs: 590 KB of JSON, 256 megapixels once decoded."""
    big = base64.b64encode(png_bytes(Image.new("L", (2000, 2000), 255))).decode()
    answer = requests.post(server.url + BATCH, json={"images": [big] * 64}, timeout=30)
    assert answer.status_code == 413 and "megapixels together" in answer.json()["error"]


def test_the_costliest_batch_is_answered(server):
    """The batch `make bench` measures the CPU-seconds of (bench/hostile.py): read whole."""
    (_, request, status), = costly_batch()
    answer = requests.post(server.url + BATCH, timeout=60, **request)
    assert answer.status_code == status and len(answer.json()["predictions"]) == 64


def test_a_phone_photo_stored_sideways_is_read_upright(server, data):
    """Phones store the sensor's pixels and an EXIF tag saying how to turn them."""
    photo = Image.open(io.BytesIO(as_photo(data.test_images[18], np.random.default_rng(3))))  # a 3
    exif = Image.Exif()
    exif[0x0112] = 6  # shown turned 90 degrees clockwise
    sideways = encoded(photo.transpose(Image.Transpose.ROTATE_90), format="JPEG", exif=exif.tobytes())
    answer = requests.post(server.url + PREDICT, data=sideways, headers={"Content-Type": "image/jpeg"}, timeout=30)
    assert answer.status_code == 200 and answer.json()["digit"] == data.test_labels[18] == 3


def test_the_page_and_programs_may_post_but_other_sites_may_not(server, samples):
    png, label = samples[0]
    for headers in ({}, {"Sec-Fetch-Site": "same-origin"}, {"Sec-Fetch-Site": "none"},
                    {"Origin": server.url}):
        assert post_png(server, png, headers).json()["digit"] == label
    for headers in ({"Sec-Fetch-Site": "cross-site"}, {"Sec-Fetch-Site": "same-site"},
                    {"Origin": "http://127.0.0.1:1"}, {"Origin": "null"}):
        refused = post_png(server, png, headers)
        assert refused.status_code == 403 and "Cross-site" in refused.json()["error"], headers


@pytest.mark.parametrize("name", ["X-Request-ID", "Origin", "Sec-Fetch-Site", "X-Forwarded-For", "Host"])
def test_header_bytes_that_are_not_utf_8_are_no_failure(server, samples, name):
    """HTTP headers are bytes; a client may send ones that are no UTF-8 text."""
    png, label = samples[0]
    answer = post_png(server, png, {name: b"\xff\xfe"})
    if name in ("Origin", "Sec-Fetch-Site"):  # not this site, not the page: refused, in words
        assert answer.status_code == 403 and "Cross-site" in answer.json()["error"]
    else:
        assert answer.status_code == 200 and answer.json()["digit"] == label
    assert requests.get(server.url + "/healthz", headers={name: b"\xff"}, timeout=10).status_code == 200


def test_liveness_readiness_and_request_ids(server):
    assert requests.get(server.url + "/livez").json() == {"status": "ok"}
    ready = requests.get(server.url + "/readyz").json()
    assert ready["status"] == "ready" and len(ready["model"]) == 12
    given = requests.get(server.url + "/healthz", headers={"X-Request-ID": "trace-42"})
    assert given.headers["X-Request-ID"] == "trace-42"
    made = [requests.get(server.url + "/nothing", headers={"X-Request-ID": "<script>"}).headers["X-Request-ID"]
            for _ in range(2)]
    assert made[0] != made[1] and all(len(i) == 32 and i.isalnum() for i in made)  # a bad one is replaced


def test_access_log_is_one_json_line_per_request():
    logged = RunningServer("--workers", "1").wait_healthy()
    try:
        requests.post(logged.url + PREDICT, data=b"nonsense", headers={"Content-Type": "image/png",
                                                                        "X-Request-ID": "req-1"})
    finally:
        output = logged.stop()
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    entry = next(line for line in lines if line["id"] == "req-1")
    assert entry["route"] == "/api/predict" and entry["status"] == 400 and entry["ms"] > 0
    assert set(entry) == {"time", "id", "method", "route", "path", "status", "ms", "model"}


def metric(text: str, name: str, **labels) -> float:
    """One sample's value from Prometheus' text format (0 if absent)."""
    wanted = {f'{key}="{value}"' for key, value in labels.items()}
    for line in text.splitlines():
        series, _, value = line.rpartition(" ")
        if series.split("{")[0] == name and wanted <= set(series.partition("{")[2].rstrip("}").split(",")):
            return float(value)
    return 0.0


def test_metrics_count_every_worker(samples):
    """Two workers answer; /metrics, whichever answers it, counts the requests of both."""
    observed = RunningServer("--workers", "2").wait_healthy()
    try:
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda sample: post_png(observed, sample[0]), samples * 3))
        post_png(observed, b"not a picture")
        for method in ("AAAAA", "AAAAB"):  # made-up methods: counted as one "other", not a series each
            assert requests.request(method, observed.url + "/api/predict").status_code == 405
        text = requests.get(observed.url + "/metrics").text
        pids = {line for line in observed.output().splitlines() if "Booting worker" in line}
    finally:
        observed.stop()
    assert len(pids) == 2
    predict = {"route": "/api/predict", "method": "POST"}
    assert metric(text, "digit_reader_http_requests_total", status="200", **predict) == 60
    assert metric(text, "digit_reader_http_requests_total", status="400", **predict) == 1
    assert metric(text, "digit_reader_http_requests_total", method="other", status="405") == 2 and "AAAA" not in text
    assert metric(text, "digit_reader_http_request_duration_seconds_count", status="200", **predict) == 60
    assert metric(text, "digit_reader_model_inference_seconds_count") == 60
    per_digit = [metric(text, "digit_reader_predictions_total", digit=str(d)) for d in range(10)]
    assert sum(per_digit) == 60 and per_digit[7] == 3 * [label for _, label in samples].count(7)
    assert metric(text, "digit_reader_prediction_confidence_count") == 60
    assert sum(metric(text, "digit_reader_verdicts_total", verdict=v) for v in contract.VERDICTS) == 60
    model = hashlib.sha256((ROOT / "artifacts" / "mnist.onnx").read_bytes()).hexdigest()[:12]
    assert metric(text, "digit_reader_model_info", model=model) == 1
