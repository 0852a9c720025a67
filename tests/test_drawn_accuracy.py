"""The bar that matters to users: digits drawn on a canvas, or photographed on paper,
are read as well as MNIST itself.

All 10,000 test digits are re-drawn as canvases (280-500 px, the digit 30-90% of the
height, at a random place; black on white, white on black, black on transparent)
and sent one by one through the HTTP API of a real server.
"""

import concurrent.futures

import numpy as np
import onnxruntime
import requests

from tests.conftest import ROOT
from drawings import STYLES, as_photo, canvases


def test_drawn_test_set_scores_within_0_3_points_of_raw_accuracy(server, data):
    session = onnxruntime.InferenceSession(ROOT / "artifacts" / "mnist.onnx", providers=["CPUExecutionProvider"])
    raw = session.run(["probs"], {"image": data.test_images[..., None].astype(np.float32) / 255})[0]
    raw_accuracy = (raw.argmax(1) == data.test_labels).mean()

    http = requests.Session()
    http.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=8))

    def predict(png):
        answer = http.post(server.url + "/api/predict", data=png, headers={"Content-Type": "image/png"}, timeout=60)
        assert answer.status_code == 200, answer.text
        return answer.json()["digit"]

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        digits = np.array(list(pool.map(predict, canvases(data.test_images, seed=0))))
    right = digits == data.test_labels
    by_style = {style: f"{right[i::len(STYLES)].mean():.4f}" for i, style in enumerate(STYLES)}
    print(f"raw {raw_accuracy:.4f}, drawn {right.mean():.4f}, by style {by_style}")
    assert right.mean() >= 0.993 and right.mean() >= raw_accuracy - 0.003, (raw_accuracy, right.mean(), by_style)


def test_photos_of_digits_on_paper_are_read(server, data):
    """Uneven light, a grey pen on grey paper, noise and JPEG: uploaded as the page does."""
    rng = np.random.default_rng(11)
    photos = [as_photo(digit, rng) for digit in data.test_images[:500]]

    def predict(photo):
        answer = requests.post(server.url + "/api/predict", files={"image": ("photo.jpg", photo, "image/jpeg")},
                               timeout=60)
        assert answer.status_code == 200, answer.text
        return answer.json()["digit"]

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        digits = np.array(list(pool.map(predict, photos)))
    accuracy = (digits == data.test_labels[:500]).mean()
    print(f"photos: {accuracy:.4f}")
    assert accuracy >= 0.985
