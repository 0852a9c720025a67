"""POST /api/number through a real server: numbers written with MNIST test digits, read
digit by digit whichever way the picture is sent, each digit boxed over its ink in the
pixels of the picture sent; numbers sent as strokes; errors in words."""

import base64
import hashlib
import io
import json
import math

import numpy as np
import pytest
import requests
from PIL import Image

import contract
from bench.hostile import costly_numbers
from drawings import encoded, on_a_page, png_bytes
from drawings.numbers import number_picture, numbers, photographed_numbers, signed_numbers, signs_of, written_number

NUMBER, PREDICT = "/api/number", "/api/predict"
COUNT = 30
WAYS = ("data URL", "raw bytes", "multipart")
PAD = {"width": 600, "height": 200, "brush": 12}


def post(server, png: bytes, way: str, content_type="image/png") -> requests.Response:
    if way == "data URL":
        data_url = "data:image/png;base64," + base64.b64encode(png).decode()
        return requests.post(server.url + NUMBER, json={"image": data_url}, timeout=30)
    if way == "multipart":
        return requests.post(server.url + NUMBER, files={"image": ("number.png", png, "image/png")}, timeout=30)
    return requests.post(server.url + NUMBER, data=png, headers={"Content-Type": content_type}, timeout=30)


def iou(a, b) -> float:
    """Intersection over union of two (x, y, w, h) boxes."""
    across = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    down = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    overlap = across * down
    return overlap / (a[2] * a[3] + b[2] * b[3] - overlap)


@pytest.fixture(scope="module")
def written(server, data):
    """COUNT numbers of 2-6 test digits written apart, a third sent each way:
    (PNG bytes, the number, its digits' ink boxes, the answer)."""
    made = numbers(data.test_images, data.test_labels, COUNT, seed=11, spacing="apart")
    results = []
    for i, (png, number, boxes) in enumerate(made):
        answer = post(server, png, WAYS[i * len(WAYS) // COUNT])
        assert answer.status_code == 200, answer.text
        results.append((png, number, boxes, answer.json()))
    return results


def ink_of(png: bytes) -> np.ndarray:
    """A picture's ink, uint8 white on black, whichever of the drawings' styles it is in."""
    picture = Image.open(io.BytesIO(png))
    if picture.mode == "RGBA":
        return np.asarray(picture)[..., 3]
    grey = np.asarray(picture.convert("L"))
    return 255 - grey if grey[0, 0] > 127 else grey  # the corner is paper


def inked_box(ink: np.ndarray, box) -> tuple[int, int, int, int]:
    """Where a digit's ink is at least half dark, within its `box`: numbers() boxes every
    inked pixel, faint specks beside a digit too, which a reader rightly leaves out."""
    x, y, w, h = box
    rows, cols = np.nonzero(ink[y:y + h, x:x + w] >= 128)
    return int(x + cols.min()), int(y + rows.min()), int(cols.max() + 1 - cols.min()), int(rows.max() + 1 - rows.min())


def read_right(written):
    return [(png, number, boxes, answer) for png, number, boxes, answer in written if answer["number"] == number]


def test_most_numbers_are_read_exactly(written):
    right = len(read_right(written))
    print(f"{right} of {len(written)} numbers read exactly")
    assert right >= 0.9 * len(written)


def test_each_digit_is_boxed_over_its_ink_left_to_right(written):
    for _, number, _, answer in written:
        assert len(answer["digits"]) == len(answer["number"])
        assert "".join(str(d["digit"]) for d in answer["digits"]) == answer["number"]
        lefts = [d["box"][0] for d in answer["digits"]]
        assert lefts == sorted(lefts) and len(set(lefts)) == len(lefts), (number, answer["number"], lefts)
    overlaps = {}
    for png, number, boxes, answer in read_right(written):
        ink = ink_of(png)
        overlaps[number] = [round(iou(d["box"], inked_box(ink, box)), 2) for d, box in zip(answer["digits"], boxes)]
    astray = {number: found for number, found in overlaps.items() if min(found) < 0.5}
    assert not astray, f"{len(astray)} of {len(overlaps)} numbers read right have a box off its digit's ink: {astray}"


def test_an_answer_is_consistent(written):
    number_model = hashlib.sha256((contract.ARTIFACTS / contract.NUMBERS.onnx_file).read_bytes()).hexdigest()[:12]
    for _, number, _, answer in written:
        assert answer["model"] == number_model and answer["elapsed_ms"] > 0
        for digit in answer["digits"]:
            probabilities = digit["probabilities"]
            assert len(probabilities) == 10 and sum(probabilities) == pytest.approx(1, abs=1e-4)
            assert digit["digit"] == int(np.argmax(probabilities))
            header, _, payload = digit["input"].partition(",")
            seen = Image.open(io.BytesIO(base64.b64decode(payload)))
            assert header == "data:image/png;base64" and seen.size == (28, 28) and seen.mode == "L"
        product = math.prod(digit["confidence"] for digit in answer["digits"])
        assert answer["confidence"] == pytest.approx(product, abs=1e-4)
        others = [other["number"] for other in answer["alternatives"]]
        assert len(set(others)) == len(others) and answer["number"] not in others, (number, answer)
        confidences = [answer["confidence"]] + [other["confidence"] for other in answer["alternatives"]]
        assert confidences == sorted(confidences, reverse=True), (number, answer)


def test_leading_zeros_are_kept(server, data):
    zeros, sevens = (np.flatnonzero(data.test_labels == digit) for digit in (0, 7))
    picture, _ = number_picture(list(data.test_images[[zeros[0], zeros[1], sevens[0]]]),
                                np.random.default_rng(5), "apart", "black-on-white")
    answer = post(server, png_bytes(picture), "raw bytes")
    assert answer.status_code == 200 and answer.json()["number"] == "007", answer.text


def opaque(written):
    """Numbers read right whose pictures have no transparency, as JPEG and BMP have none:
    (the picture, the number, the answer to its PNG)."""
    pictures = [(Image.open(io.BytesIO(png)), number, answer) for png, number, _, answer in read_right(written)]
    return [(picture, number, answer) for picture, number, answer in pictures if picture.mode == "L"]


def assert_same_boxes(boxes, others, scale=1):
    """`others` are `boxes` of a picture `scale` times as large: the same ink, boxed alike."""
    for box, other in zip(boxes, others):
        assert iou(box, [v / scale for v in other]) >= 0.6, (box, other)


@pytest.mark.parametrize("paper, light, bar", [("ruled", "room", 0.9), ("squared", "room", 0.9), ("plain", "flash", 0.9),
                                               ("plain", "shadow", 0.9)])
def test_a_number_photographed_on_ruled_or_squared_paper_with_a_flash_or_a_shadow_is_read(server, data, paper,
                                                                                          light, bar):
    """The paper's printed lines run through and under the digits, a flash lights the
    middle of the page brighter than its edges, and a hard-edged shadow falls across
    it; none is ink. A refusal (422) counts as read wrong."""
    photos = list(photographed_numbers(data.test_images, data.test_labels, 2 * COUNT, seed=13, paper=paper,
                                       light=light))
    right = 0
    for jpeg, number in photos:
        answer = post(server, jpeg, "raw bytes", "image/jpeg")
        assert answer.status_code in (200, 422), answer.text
        right += answer.status_code == 200 and answer.json()["number"] == number
    print(f"{right} of {len(photos)} numbers photographed on {paper} paper in {light} light read exactly")
    assert right >= bar * len(photos)


def test_a_number_written_small_on_a_photographed_page_is_answered(server, data):
    """"7210" 3% of a 2400 x 1800 phone photo's height. In the whole page, a few of the
    photo's specks lie far from the digits and set the line's height; scaled to it,
    the line's ink fades to nothing (this page's failed with a 500)."""
    rng = np.random.default_rng(2)
    ink, _, _ = written_number(list(data.test_images[:4]), rng, "apart")
    answer = post(server, on_a_page(ink, rng, 0.03), "raw bytes", "image/jpeg")
    assert answer.status_code in (200, 422), answer.text
    assert ("number" if answer.status_code == 200 else "error") in answer.json()


@pytest.mark.parametrize("format, content_type", [("JPEG", "image/jpeg"), ("BMP", "image/bmp")])
def test_a_jpeg_or_a_bmp_of_a_number_is_read(server, written, format, content_type):
    picture, number, png_answer = opaque(written)[0]
    answer = post(server, encoded(picture, format=format), "raw bytes", content_type)
    assert answer.status_code == 200 and answer.json()["number"] == number, answer.text
    assert_same_boxes([d["box"] for d in png_answer["digits"]], [d["box"] for d in answer.json()["digits"]])


def test_boxes_are_in_the_pixels_of_the_picture_sent(server, written):
    """The same number three times larger: every box three times larger, on the same ink."""
    picture, number, png_answer = next((picture, number, answer) for picture, number, answer in opaque(written)
                                       if 9 * picture.width * picture.height <= 4_000_000)
    large = picture.resize((3 * picture.width, 3 * picture.height), Image.Resampling.BICUBIC)
    answer = post(server, png_bytes(large), "raw bytes").json()
    assert answer["number"] == number
    assert_same_boxes([d["box"] for d in png_answer["digits"]], [d["box"] for d in answer["digits"]], scale=3)


def test_a_number_small_on_a_large_photo_is_read_and_boxed_where_it_is(server, written):
    """The same number pasted onto a 4000 x 3000 JPEG, far from its top-left corner: a
    few px tall once the photo is decoded at half size and reduced, it is read again
    from the photo's own pixels around it; its boxes are still in the photo's pixels."""
    picture, number, png_answer = opaque(written)[0]
    page = Image.new("L", (4000, 3000), color=picture.getpixel((0, 0)))
    page.paste(picture, (2100, 1800))
    answer = post(server, encoded(page, format="JPEG", quality=90), "raw bytes", "image/jpeg").json()
    assert answer["number"] == number
    assert_same_boxes([[x + 2100, y + 1800, w, h] for x, y, w, h in (d["box"] for d in png_answer["digits"])],
                      [d["box"] for d in answer["digits"]])


def test_numbers_written_small_on_a_photographed_page_are_read(server, data):
    """Numbers of 2-6 test digits, 3% of a 2400 x 1800 phone photo's height."""
    photos = list(photographed_numbers(data.test_images, data.test_labels, 2 * COUNT, seed=14, paper="plain",
                                       share=0.03))
    right = 0
    for jpeg, number in photos:
        answer = post(server, jpeg, "raw bytes", "image/jpeg")
        assert answer.status_code in (200, 422), answer.text
        right += answer.status_code == 200 and answer.json()["number"] == number
    print(f"{right} of {len(photos)} numbers written small on a photographed page read exactly")
    assert right >= 0.95 * len(photos)


def traced(*corners) -> list[list[float]]:
    """A stroke along the lines between `corners`, 20 points to a line, as a pointer reports them."""
    return [point for start, end in zip(corners, corners[1:])
            for point in np.linspace(start, end, 20).round(1).tolist()]


ONE = [traced((180, 40), (180, 160))]
SEVEN = [traced((260, 45), (350, 45)), traced((350, 45), (290, 160))]


def ink_box(strokes, brush=PAD["brush"]):
    """Where the pen left ink: the points' box widened by the brush's radius."""
    xy = np.array([point for stroke in strokes for point in stroke])
    (left, top), (right, bottom) = xy.min(axis=0) - brush / 2, xy.max(axis=0) + brush / 2
    return [left, top, right - left, bottom - top]


def test_a_number_sent_as_strokes_is_read_and_boxed_in_the_pads_units(server):
    answer = requests.post(server.url + NUMBER, json={"strokes": ONE + SEVEN, **PAD}, timeout=30)
    assert answer.status_code == 200 and answer.json()["number"] == "17", answer.text
    for digit, strokes in zip(answer.json()["digits"], (ONE, SEVEN)):
        x, y, w, h = digit["box"]
        assert 0 <= x and 0 <= y and x + w <= PAD["width"] and y + h <= PAD["height"]
        assert iou(digit["box"], ink_box(strokes)) >= 0.5, (digit["box"], ink_box(strokes))


@pytest.mark.parametrize("strokes, digit", [(ONE, 1), (SEVEN, 7)])
def test_one_digit_sent_as_strokes_is_predicted(server, strokes, digit):
    answer = requests.post(server.url + PREDICT, json={"strokes": strokes, **PAD}, timeout=30)
    assert answer.status_code == 200 and answer.json()["digit"] == digit, answer.text


DOT = [traced((220, 154), (221, 155))]  # a tap of the pen on the digits' feet, between them
COMMA = [traced((220, 152), (212, 178))]  # a short tail reaching under their feet
MINUS = [traced((70, 100), (125, 100))]  # flat, at mid-height, before the first digit (closer to a 1 it is a 4)


@pytest.mark.parametrize("strokes, number", [(ONE + DOT + SEVEN, "1.7"), (ONE + COMMA + SEVEN, "1,7"),
                                             (MINUS + ONE + SEVEN, "-17"), (MINUS + ONE + DOT + SEVEN, "-1.7")])
def test_a_point_a_comma_and_a_minus_are_read_where_they_are_written(server, strokes, number):
    answer = requests.post(server.url + NUMBER, json={"strokes": strokes, **PAD}, timeout=30).json()
    assert answer["number"] == number, answer
    assert [digit["digit"] for digit in answer["digits"]] == [1, 7]  # the digits alone
    for digit, strokes in zip(answer["digits"], (ONE, SEVEN)):
        assert iou(digit["box"], ink_box(strokes)) >= 0.5, (digit["box"], ink_box(strokes))
    signs = [ink_box(sign) for sign in (MINUS, DOT, COMMA) if sign[0] in strokes]
    boxes = [digit["box"] for digit in answer["digits"]]
    assert not any(iou(box, sign) for box in boxes for sign in signs)  # no sign inside a digit's box
    assert all(other["number"].replace("1", "").replace("7", "") == number.replace("1", "").replace("7", "")
               for other in answer["alternatives"])  # each alternative keeps the signs in their places


def test_a_sign_written_with_test_digits_in_a_picture_is_read(server, data):
    """Numbers of test digits written apart with a point, a comma or a minus (drawings.numbers)."""
    made = list(signed_numbers(data.test_images, data.test_labels, 12, seed=5))
    read = [post(server, png, "raw bytes").json()["number"] for png, _ in made]
    assert [signs_of(text) for text in read] == [signs_of(number) for _, number in made], read


JSON = {"Content-Type": "application/json"}
ERRORS = {
    "a blank canvas": (dict(data=png_bytes(Image.new("L", (600, 200), 255)), headers={"Content-Type": "image/png"}),
                       422, "empty"),
    "strokes beside the pad": (dict(json={"strokes": [traced((-150, 100), (-50, 100))], **PAD}), 422, "empty"),
    "a NaN in the strokes": (dict(data='{"strokes": [[[10, 10], [NaN, 20]]], "width": 600, "height": 200, "brush": 12}',
                                  headers=JSON), 400, "strokes[0][1]"),
    "too many points": (dict(json={"strokes": [[[10, 10]] * 5_001] * 2, **PAD}), 400, '"strokes" holds 10002 points'),
    "a bool for a coordinate": (dict(json={"strokes": [[[True, 10]]], **PAD}), 400, "strokes[0][0]"),
    "a text body": (dict(data=b"2026", headers={"Content-Type": "text/plain"}), 415, "Unsupported Content-Type"),
}


def assert_refused(answer: requests.Response, status: int, words: str):
    assert answer.status_code == status, answer.text[:300]
    assert answer.headers["Content-Type"] == "application/json"
    body = json.loads(answer.text)
    assert list(body) == ["error"] and words in body["error"], body


@pytest.mark.parametrize("name", ERRORS)
def test_what_cannot_be_read_is_refused_in_words(server, name):
    request, status, words = ERRORS[name]
    assert_refused(requests.post(server.url + NUMBER, timeout=30, **request), status, words)


@pytest.mark.parametrize("name, request_arguments, status", costly_numbers(), ids=lambda value: str(value)[:40])
def test_the_costliest_drawings_are_answered(server, name, request_arguments, status):
    answer = requests.post(server.url + NUMBER, timeout=30, **request_arguments)
    assert answer.status_code == status, answer.text[:300]
    assert ("number" if status == 200 else "error") in answer.json()


def test_twenty_five_digits_are_too_many_marks(server, data):
    picture, _ = number_picture(list(data.test_images[:25]), np.random.default_rng(3), "apart", "black-on-white")
    assert_refused(post(server, png_bytes(picture), "raw bytes"), 422, "too many marks")


def test_the_server_keeps_serving(server):
    assert requests.get(server.url + "/healthz", timeout=30).status_code == 200
