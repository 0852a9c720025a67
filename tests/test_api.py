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

from tests.conftest import ROOT, RunningServer
from tests.drawings import canvases, png_bytes

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


def encoded(image: Image.Image, **save_options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, **save_options)
    return buffer.getvalue()


def bad_inputs(valid_png: bytes):
    """(name, request keyword arguments, expected status) of inputs a service meets."""
    digit = Image.open(io.BytesIO(valid_png)).convert("L")
    sixteen = Image.fromarray(np.asarray(digit, dtype=np.uint16) * 257)
    animated = encoded(digit, format="GIF", save_all=True, append_images=[Image.new("L", digit.size, 0)])
    png = {"Content-Type": "image/png"}
    return [
        ("not an image", dict(data=b"GIF89a but not really", headers=png), 400),
        ("zero-byte body", dict(data=b"", headers=png), 400),
        ("truncated PNG", dict(data=valid_png[: len(valid_png) // 2], headers=png), 400),
        ("invalid JSON", dict(data=b'{"image": ', headers={"Content-Type": "application/json"}), 400),
        ("JSON not an object", dict(json=["data:image/png;base64,AAAA"]), 400),
        ("JSON without image", dict(json={"picture": "AAAA"}), 400),
        ("image not a string", dict(json={"image": 7}), 400),
        ("bad base64", dict(json={"image": "data:image/png;base64,@@not base64@@"}), 400),
        ("base64 of text", dict(json={"image": base64.b64encode(b"hello").decode()}), 400),
        ("form without image field", dict(files={"picture": ("a.png", valid_png, "image/png")}), 400),
        ("broken multipart", dict(data=b"--x\r\nnonsense", headers={"Content-Type": "multipart/form-data; boundary=x"}), 400),
        ("wrong content type", dict(data=valid_png, headers={"Content-Type": "text/plain"}), 415),
        ("TIFF content type", dict(data=valid_png, headers={"Content-Type": "image/tiff"}), 415),
        ("TIFF image", dict(data=encoded(digit, format="TIFF"), headers=png), 415),
        ("chunked body", dict(data=iter([valid_png]), headers=png), 411),
        ("blank canvas", dict(data=png_bytes(Image.new("RGBA", (400, 400), (0, 0, 0, 0))), headers=png), 422),
        ("1x1 image", dict(data=png_bytes(Image.new("L", (1, 1), 0)), headers=png), 422),
        ("10000x10000 blank PNG", dict(data=png_bytes(Image.new("1", (10_000, 10_000), 1)), headers=png), 413),
        ("16-bit PNG", dict(data=png_bytes(sixteen), headers=png), 200),
        ("CMYK JPEG", dict(data=encoded(digit.convert("CMYK"), format="JPEG"), headers={"Content-Type": "image/jpeg"}), 200),
        ("palette PNG", dict(data=png_bytes(digit.convert("P")), headers=png), 200),
        ("animated GIF", dict(data=animated, headers={"Content-Type": "image/gif"}), 200),
    ]


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
