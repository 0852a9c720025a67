"""The bar that matters to users: digits drawn on a canvas, or photographed on paper,
are read as well as MNIST itself.

All 10,000 test digits are re-drawn as canvases (280-500 px, the digit 30-90% of the
height, at a random place; black on white, white on black, black on transparent)
and sent one by one through the HTTP API of a real server.
"""

import concurrent.futures
import json

import numpy as np
import pytest
import requests

import contract
from drawings import LIGHTS, PAPERS, STYLES, as_photo, canvases, on_a_page
from tests.conftest import ROOT


def test_drawn_test_set_scores_within_0_3_points_of_raw_accuracy_and_is_not_refused(server, data):
    """The issue's bars on drawn test digits: right >= 99.3%, refused (verdict "not a
    digit" or "several digits") <= 0.5%, "unsure" <= 2%, calibration error <= 1%."""
    raw_accuracy = json.loads((ROOT / "artifacts" / contract.DIGITS.card_file).read_text())["test_accuracy"]

    http = requests.Session()
    http.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=8))

    def predict(png):
        answer = http.post(server.url + "/api/predict", data=png, headers={"Content-Type": "image/png"}, timeout=60)
        assert answer.status_code == 200, answer.text
        return answer.json()

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(predict, canvases(data.test_images, seed=0)))
    right = np.array([answer["digit"] for answer in answers]) == data.test_labels
    verdicts = [answer["verdict"] for answer in answers]
    refused = (verdicts.count("not a digit") + verdicts.count("several digits")) / len(verdicts)
    unsure = verdicts.count("unsure") / len(verdicts)
    error = contract.calibration_error(np.array([answer["confidence"] for answer in answers]), right)
    by_style = {style: f"{right[i::len(STYLES)].mean():.4f}" for i, style in enumerate(STYLES)}
    print(f"raw {raw_accuracy:.4f}, drawn {right.mean():.4f}, by style {by_style}; "
          f"refused {refused:.4f}, unsure {unsure:.4f}, calibration error {error:.4f}")
    assert right.mean() >= 0.993 and right.mean() >= raw_accuracy - 0.003, (raw_accuracy, right.mean(), by_style)
    assert refused <= 0.005 and unsure <= 0.02 and error <= 0.01


READ_IN = {"room": 0.985, "flash": 0.985, "shadow": 0.97}  # photos read right, at least, in each of LIGHTS


@pytest.mark.parametrize("light", LIGHTS)
@pytest.mark.parametrize("paper", PAPERS)
def test_photos_of_digits_on_paper_are_read(server, data, paper, light):
    """Uneven light (a room's, a flash's, or a hard-edged shadow across the page), a grey
    pen on grey paper, noise and JPEG, and on ruled or squared paper its printed lines:
    uploaded as the page does."""
    rng = np.random.default_rng(11)
    photos = [as_photo(digit, rng, paper, light) for digit in data.test_images[:500]]
    accuracy = (uploaded(server, photos) == data.test_labels[:500]).mean()
    print(f"photos on {paper} paper in {light} light: {accuracy:.4f}")
    assert accuracy >= READ_IN[light]


def test_a_fading_pen_keeps_its_faint_strokes(server, data):
    """The pen fades across the digit to a fifth of its ink: its faint strokes are
    joined to strong ones, so they are not cleared as a shadow's faint marks are."""
    rng = np.random.default_rng(12)
    photos = [as_photo(digit, rng, PAPERS[i % len(PAPERS)], faintest=0.2)
              for i, digit in enumerate(data.test_images[:300])]
    accuracy = (uploaded(server, photos) == data.test_labels[:300]).mean()
    print(f"photos with a fading pen: {accuracy:.4f}")
    assert accuracy >= 0.98


def test_a_digit_written_small_on_a_photographed_page_is_read(server, data):
    """A digit 3% of a 2400 x 1800 phone photo's height, somewhere on the page: a few
    px tall once the photo is reduced, it is read again from the photo's own pixels."""
    rng = np.random.default_rng(12)
    photos = [on_a_page(digit, rng, 0.03) for digit in data.test_images[:100]]
    accuracy = (uploaded(server, photos) == data.test_labels[:100]).mean()
    print(f"digits written small on a photographed page: {accuracy:.2f}")
    assert accuracy >= 0.95


def uploaded(server, photos: list[bytes]) -> np.ndarray:
    """The digit read in each JPEG photo, uploaded as the page uploads a file, 8 at a time;
    -1 where the service found no digit in it (a 422)."""
    def predict(photo):
        answer = requests.post(server.url + "/api/predict", files={"image": ("photo.jpg", photo, "image/jpeg")},
                               timeout=60)
        assert answer.status_code in (200, 422), answer.text
        return answer.json()["digit"] if answer.status_code == 200 else -1

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        return np.array(list(pool.map(predict, photos)))
