"""Honest answers through the API: a letter, a doodle or a scribble is "not a digit",
two digits on the digit pad are "several digits" (and read as a number), the
digits people write outside the US are read right, and /api/number says when a
drawing is not a number. The bars themselves are measured on larger sets by
`make bench` and export (model.json's "verdicts"); these are looser guards.

Every drawing here is made from test digits or with seeds of its own, never the
ones training used.
"""

import base64
import concurrent.futures

import numpy as np
import pytest
import requests
from PIL import Image

import contract
from drawings import nondigits, png_bytes, styles
from drawings.numbers import number_picture

REFUSED = ("not a digit", "several digits")


def strokes_body(drawn) -> dict:
    return {"strokes": [xy.round(1).tolist() for xy in drawn.paths], "width": drawn.width,
            "height": drawn.height, "brush": drawn.brush}


def answers_to(url: str, bodies: list[dict | bytes]) -> list[dict]:
    """Each body sent to `url` (JSON, or PNG bytes), eight at a time, every answer a 200."""
    def send(body):
        if isinstance(body, bytes):
            answer = requests.post(url, data=body, headers={"Content-Type": "image/png"}, timeout=60)
        else:
            answer = requests.post(url, json=body, timeout=60)
        assert answer.status_code == 200, answer.text
        return answer.json()

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        return list(pool.map(send, bodies))


def written_numbers(data, which: np.ndarray, rng: np.random.Generator, count: int, lengths: tuple[int, ...],
                    spacings: tuple[str, ...]) -> tuple[list[bytes], list[str]]:
    """`count` PNGs of numbers of the test digits at indices `which`, black on white,
    lengths and spacings taken in turn, and each number as text."""
    pictures, texts = [], []
    for i in range(count):
        picks = rng.choice(which, lengths[i % len(lengths)])
        picture, _ = number_picture(list(data.test_images[picks]), rng, spacings[i % len(spacings)], "black-on-white")
        pictures.append(png_bytes(picture))
        texts.append("".join(map(str, data.test_labels[picks])))
    return pictures, texts


def test_an_answer_separates_which_digit_from_whether_it_is_one(server):
    drawn = styles.sketch_digit(7, "plain", np.random.default_rng(0))
    answer = answers_to(server.url + "/api/predict", [strokes_body(drawn)])[0]
    assert answer["verdict"] == "digit" and answer["digit"] == 7
    assert len(answer["probabilities"]) == 10 and sum(answer["probabilities"]) == pytest.approx(1, abs=1e-4)
    assert answer["confidence"] == max(answer["probabilities"])
    assert answer["not_a_digit"] < 0.1 and answer["several_digits"] < 0.1
    assert "number" not in answer


@pytest.mark.parametrize(("kinds", "least"), [(nondigits.TRAINED, 0.9), (nondigits.HELD_OUT, 0.8)],
                         ids=["kinds trained on", "kinds held out"])
def test_drawings_that_are_not_digits_are_not_read_as_digits(server, kinds, least):
    """Kinds never trained on are the hard part: `make bench` measures them against
    the 90% aimed at, on 1,000 drawings rather than 8 of each kind."""
    rng = np.random.default_rng(2026)
    drawn_kinds = [kind for kind in kinds if kind in nondigits.SHAPES] * 8
    answers = answers_to(server.url + "/api/predict", [strokes_body(nondigits.sketch(kind, rng)) for kind in drawn_kinds])
    verdicts = [answer["verdict"] for answer in answers]
    not_digits = np.array([verdict in ("not a digit", "unsure") for verdict in verdicts])
    by_kind = {kind: f"{not_digits[[k == kind for k in drawn_kinds]].mean():.2f}" for kind in set(drawn_kinds)}
    print(f"not read as a digit: {not_digits.mean():.3f}; by kind {by_kind}")
    assert not_digits.mean() >= least, by_kind


def test_two_or_three_digits_on_the_digit_pad_are_several_digits_and_read(server, data):
    every = np.arange(len(data.test_images))
    pictures, texts = written_numbers(data, every, np.random.default_rng(7), 60, (2, 3), ("apart", "close"))
    answers = answers_to(server.url + "/api/predict", pictures)
    several = [answer for answer in answers if answer["verdict"] == "several digits"]
    read = sum(answer.get("number") == text for answer, text in zip(answers, texts))
    print(f"several digits: {len(several)} of {len(answers)}, read right: {read}")
    assert len(several) >= 0.85 * len(answers)
    assert all("number" in answer for answer in several)
    assert read >= 0.75 * len(answers)


def test_zeros_and_eights_written_together_are_several_digits_not_doodles(server, data):
    """Loops side by side ("00", "808") are what doodles of loops look like: a model
    taught that a figure of eight lying down is no digit refused 12 of these 60."""
    loops = np.flatnonzero(np.isin(data.test_labels, (0, 8)))
    pictures, _ = written_numbers(data, loops, np.random.default_rng(11), 60, (2, 3), ("close", "touching"))
    verdicts = [answer["verdict"] for answer in answers_to(server.url + "/api/predict", pictures)]
    assert verdicts.count("several digits") >= 54 and verdicts.count("not a digit") <= 5, verdicts


@pytest.mark.parametrize(("digit", "style"), styles.STYLED)
def test_digits_as_people_write_them_everywhere_are_read(server, digit, style):
    rng = np.random.default_rng(1000 + digit)  # not one of drawings.TRAINING_SEEDS
    answers = answers_to(server.url + "/api/predict",
                         [strokes_body(styles.sketch_digit(digit, style, rng)) for _ in range(10)])
    right = [answer["digit"] == digit and answer["verdict"] not in REFUSED for answer in answers]
    assert sum(right) >= 9, [(answer["verdict"], answer["digit"], answer["confidence"]) for answer in answers]


def test_a_number_pad_of_doodles_is_not_a_number(server):
    """A star, a heart and a letter side by side on the number pad: hardly ever read
    as a number with confidence (a heart is never trained on), and at least half the
    time refused outright."""
    rng = np.random.default_rng(5)
    answers = []
    for _ in range(10):
        paths = []
        for place, kind in enumerate(("star", "heart", "letter")):
            drawn = nondigits.sketch(kind, rng, pad=200)
            paths += [xy * [0.9, 0.9] + [place * 220 + 20, 10] for xy in drawn.paths]
        body = {"strokes": [xy.round(1).tolist() for xy in paths], "width": 680, "height": 200, "brush": 12}
        answers.append(answers_to(server.url + "/api/number", [body])[0])
    verdicts = [answer["verdict"] for answer in answers]
    assert verdicts.count("number") <= 2 and verdicts.count("not a number") >= 5, verdicts


def test_a_written_number_is_a_number(server, data):
    every = np.arange(len(data.test_images))
    pictures, texts = written_numbers(data, every, np.random.default_rng(8), 20, (4,), ("apart",))
    answers = answers_to(server.url + "/api/number", pictures)
    assert all(answer["verdict"] in ("number", "unsure") for answer in answers)
    confident = [answer for answer in answers if answer["verdict"] == "number"]
    assert len(confident) >= 16
    assert sum(answer["number"] == text for answer, text in zip(answers, texts) if answer["verdict"] == "number") \
        >= len(confident) - 1


def test_numbers_of_plain_zeros_and_ones_are_numbers(server, data):
    """Cut from the 20 px line alone, plain 0s and 1s were taken for doodles by the digit
    model (3 of these 120 numbers were "not a number"): whether a number's marks are
    digits is judged from both its cuts."""
    zeros_and_ones = np.flatnonzero(data.test_labels <= 1)
    pictures, _ = written_numbers(data, zeros_and_ones, np.random.default_rng(9), 120, (2, 3, 4), ("apart", "close"))
    verdicts = [answer["verdict"] for answer in answers_to(server.url + "/api/number", pictures)]
    assert verdicts.count("not a number") <= 1, verdicts


def test_the_verdict_follows_the_contract(server, data):
    """A batch's verdicts are contract.verdict of the model's twelve outputs, which the
    answer gives as the ten digits' (summing to 1) and the other two."""
    images = [base64.b64encode(png_bytes(Image.fromarray(digit))).decode() for digit in data.test_images[:50]]
    predictions = requests.post(server.url + "/api/predict/batch", json={"images": images}, timeout=60).json()["predictions"]
    for prediction in predictions:
        together = 1 - prediction["not_a_digit"] - prediction["several_digits"]
        twelve = [p * together for p in prediction["probabilities"]] + [prediction["not_a_digit"], prediction["several_digits"]]
        assert prediction["verdict"] == contract.verdict(twelve)
        assert "number" not in prediction
