"""Handwritten numbers made from MNIST digits, each digit's place known.

A number written on a wide canvas is not a row of MNIST fields side by side:
people write digits of somewhat different sizes, not quite on a line, some far
apart, some so close that neighbours touch. Reading such a number starts with
finding its digits, so each picture comes with every digit's ink box: the truth
that finding is measured against, and what a reader is trained on.

Spacing is measured between neighbouring digits' ink boxes (not their 28x28
fields, whose blank sides vary from digit to digit), as a fraction of the pair's
mean ink height, so it can be checked on the picture alone:

  apart     a gap of 20-60%;
  close     a gap of 0-15%;
  touching  the digit is slid in from the right until its ink meets the ink
            already written, then 0-12% further so the strokes cross. Slanted
            and rounded digits meet only once their boxes overlap, typically by
            15% (a quarter of pairs need over 23%), so the overlap may be 0-35%,
            and at most half the narrower digit so neither hides the other. About
            one pair in seven would need more (two parallel slanted 1s, a 7's bar
            over a 4) and stops there, its ink not quite touching.

Pass MNIST training digits to make training data and test digits to make
evaluation data, never a mix: a reader scored on numbers built from digits it
was trained on would look better than it is.
"""

import math

import numpy as np
from PIL import Image

import pen
from drawings import STYLES, in_style, on_a_page, photographed, png_bytes, scaled

SPACINGS = ("apart", "close", "touching")
SIGNS = {".": "a decimal point", ",": "a comma", "-": "a minus"}
GAPS = {"apart": (0.20, 0.60), "close": (0.0, 0.15)}  # of the pair's mean ink height
MOST_OVERLAP = 0.35  # of the pair's mean ink height, for "touching"
PUSH = 0.12  # how much further than first contact a touching digit goes, at most
INK = 128  # a pixel at least half inked counts when digits meet
DIGIT_HEIGHT = (48, 160)  # px: the number's digit height
SIZE = 0.15  # each digit's ink is that height, give or take this fraction
WOBBLE = 0.05  # of the digit height: how far a digit's foot strays from the baseline
MARGIN = (0.3, 1.0)  # of the digit height, on each side
ASPECT = 3  # a number is written on a wide canvas: at least this many times its height
PEN = (0.04, 0.07)  # of the digit height: half the width of a sign's stroke, about an MNIST stroke's


def number_picture(digits: list[np.ndarray], rng: np.random.Generator, spacing: str,
                   style: str) -> tuple[Image.Image, list[tuple[int, int, int, int]]]:
    """`digits` (28x28 uint8, white on black) written left to right on a wide canvas in
    `style`, and each digit's ink box (x, y, w, h) in the picture's pixels."""
    ink, _, boxes = written_number(digits, rng, spacing)
    return in_style(ink, style), boxes


def written_number(digits: list[np.ndarray], rng: np.random.Generator,
                   spacing: str) -> tuple[np.ndarray, np.ndarray, list[tuple[int, int, int, int]]]:
    """The ink (uint8, white on black) of `digits` written left to right, which digit
    each pixel's ink comes from (its index, -1 where there is none; where strokes
    cross, the darker one's), and each digit's ink box (x, y, w, h). A reader learns
    from the owners which parts of a drawing make one digit."""
    height = rng.uniform(*DIGIT_HEIGHT)
    inks = [written(digit, height * rng.uniform(1 - SIZE, 1 + SIZE)) for digit in digits]
    baseline = max(ink.shape[0] for ink in inks) + math.ceil(WOBBLE * height)
    shape = (baseline + math.ceil(WOBBLE * height), sum(ink.shape[1] + math.ceil(height) for ink in inks))
    canvas, owners = np.zeros(shape, dtype=np.uint8), np.full(shape, -1, dtype=np.int8)
    boxes = []
    for index, ink in enumerate(inks):
        h, w = ink.shape
        top = baseline - h + round(rng.uniform(-WOBBLE, WOBBLE) * height)
        left = next_left(canvas[top:top + h], boxes[-1], ink, spacing, rng) if boxes else 0
        region = canvas[top:top + h, left:left + w]
        owners[top:top + h, left:left + w][ink > region] = index
        np.maximum(region, ink, out=region)  # overlapping strokes merge as ink does
        boxes.append((left, top, w, h))
    tops = [y for _, y, _, _ in boxes]
    rows, cols = slice(min(tops), max(y + h for _, y, _, h in boxes)), slice(0, max(x + w for x, _, w, _ in boxes))
    number_height = rows.stop - rows.start
    above, below, left, right = (round(rng.uniform(*MARGIN) * height) for _ in range(4))
    widen = max(0, ASPECT * (number_height + above + below) - (cols.stop + left + right))
    extra_left = int(rng.integers(0, widen + 1))
    left, right = left + extra_left, right + widen - extra_left
    margins = ((above, below), (left, right))
    return (np.pad(canvas[rows, cols], margins), np.pad(owners[rows, cols], margins, constant_values=-1),
            [(x + left, y - min(tops) + above, w, h) for x, y, w, h in boxes])


def written(digit: np.ndarray, height: float) -> np.ndarray:
    """`digit`'s ink scaled to about `height` px tall, cut to its ink box. The blank
    border added before scaling lets the strokes' edges fade out as drawn ones do."""
    ink = pen.cut(digit)
    return pen.cut(scaled(np.pad(ink, 1), height / ink.shape[0]))


def next_left(rows: np.ndarray, previous: tuple, ink: np.ndarray, spacing: str,
              rng: np.random.Generator) -> int:
    """Where the next digit's ink box starts: `spacing` after the `previous` box.
    `rows` are the canvas rows the digit will cover, with the ink written so far."""
    x, _, w, h = previous
    size = (h + ink.shape[0]) / 2
    if spacing != "touching":
        return x + w + round(rng.uniform(*GAPS[spacing]) * size)
    overlap = x + w - first_contact(rows, ink) + round(rng.uniform(0, PUSH) * size)
    most = int(min(MOST_OVERLAP * size, w / 2, ink.shape[1] / 2))
    return x + w - min(max(overlap, 0), most)


def first_contact(rows: np.ndarray, ink: np.ndarray) -> int:
    """The column where `ink`, slid in from the right along `rows`, first meets the ink
    in them: in some row its leftmost inked pixel is then next to their rightmost."""
    placed, coming = rows >= INK, ink >= INK
    both = placed.any(axis=1) & coming.any(axis=1)
    if not both.any():
        return rows.shape[1]
    rightmost = rows.shape[1] - 1 - np.argmax(placed[:, ::-1], axis=1)
    leftmost = np.argmax(coming, axis=1)
    return int((rightmost - leftmost)[both].max()) + 1


def numbers(images: np.ndarray, labels: np.ndarray, count: int, seed: int, spacing: str,
            lengths=(2, 3, 4, 5, 6)):
    """`count` numbers as (PNG bytes, the number as a string, ink boxes), their digits
    drawn at random from `images`/`labels`; lengths and STYLES taken in turn."""
    rng = np.random.default_rng(seed)
    for i in range(count):
        picks = rng.integers(0, len(images), lengths[i % len(lengths)])
        picture, boxes = number_picture(list(images[picks]), rng, spacing, STYLES[i % len(STYLES)])
        yield png_bytes(picture), "".join(str(label) for label in labels[picks]), boxes


def signed_numbers(images: np.ndarray, labels: np.ndarray, count: int, seed: int, lengths=(2, 3, 4, 5, 6)):
    """`count` numbers written apart with a sign, as (PNG bytes, the number as written):
    SIGNS, lengths and STYLES taken in turn, the digits drawn at random from `images`/`labels`."""
    rng = np.random.default_rng(seed)
    for i in range(count):
        picks = rng.integers(0, len(images), lengths[i % len(lengths)])
        ink, _, boxes = written_number(list(images[picks]), rng, "apart")
        sign = list(SIGNS)[i % len(SIGNS)]
        signed, place = with_sign(ink, boxes, sign, rng)
        digits = "".join(str(label) for label in labels[picks])
        yield png_bytes(in_style(signed, STYLES[i % len(STYLES)])), digits[:place] + sign + digits[place:]


def photographed_numbers(images: np.ndarray, labels: np.ndarray, count: int, seed: int, paper: str,
                         lengths=(2, 3, 4, 5, 6), light: str = "room", share: float | None = None):
    """`count` numbers as phone photos on `paper` in `light` (drawings.photographed), or,
    given a `share`, written that share of a whole plain page's height (drawings.on_a_page),
    as (JPEG bytes, the number): lengths and SPACINGS taken in turn, the digits drawn at
    random from `images`/`labels`."""
    rng = np.random.default_rng(seed)
    for i in range(count):
        picks = rng.integers(0, len(images), lengths[i % len(lengths)])
        ink, _, _ = written_number(list(images[picks]), rng, SPACINGS[i % len(SPACINGS)])
        photo = on_a_page(ink, rng, share, light) if share else photographed(ink, rng, paper, light)
        yield photo, "".join(str(label) for label in labels[picks])


def signs_of(number: str) -> list[tuple[int, str]]:
    """A number's signs as written, each with its place in the text."""
    return [(place, character) for place, character in enumerate(number) if not character.isdigit()]


def with_sign(ink: np.ndarray, boxes: list[tuple[int, int, int, int]], sign: str,
              rng: np.random.Generator) -> tuple[np.ndarray, int]:
    """A number's `ink` with `sign` written in as people write one, and how many digits
    come before it: a point (a dot of the pen on the digits' feet) or a comma (a short
    tail from their feet down and to the left) between two digits, with room left for
    it, or a minus (a short flat stroke at mid-height) before the first."""
    size = float(np.mean([h for *_, h in boxes]))
    pen = rng.uniform(*PEN) * size
    if sign == "-":
        left, top, _, height = boxes[0]
        length, gap = rng.uniform(0.35, 0.7) * size, rng.uniform(0.25, 0.5) * size
        pad = max(0, math.ceil(length + gap + 2 * pen - left))
        end, y = left + pad - gap - pen, top + height * rng.uniform(0.4, 0.6)
        return stroke(np.pad(ink, ((0, 0), (pad, 0))), [(end - length, y), (end, y)], pen), 0
    place = int(rng.integers(1, len(boxes)))
    (left, top, width, height), (right, right_top, _, right_height) = boxes[place - 1], boxes[place]
    room = math.ceil(2 * pen + 2 * rng.uniform(0.15, 0.35) * size)
    cut = (left + width + right) // 2
    ink = np.concatenate([ink[:, :cut], np.zeros((ink.shape[0], room), ink.dtype), ink[:, cut:]], axis=1)
    middle, feet = cut + room / 2, (top + height + right_top + right_height) / 2
    tail = [(middle, feet - pen)] if sign == "." else [(middle + 0.05 * size, feet - 0.1 * size),
                                                         (middle - 0.05 * size, feet + 0.2 * size)]
    below = math.ceil(max(y for _, y in tail) + pen) + 1 - ink.shape[0]
    return stroke(np.pad(ink, ((0, max(0, below)), (0, 0))), tail, pen), place


def stroke(ink: np.ndarray, points: list[tuple[float, float]], pen: float) -> np.ndarray:
    """`ink` with a round pen of radius `pen` drawn along `points` (one point: a dot)."""
    rows, cols = np.mgrid[:ink.shape[0], :ink.shape[1]]
    drawn = np.zeros(ink.shape, dtype=bool)
    for (x0, y0), (x1, y1) in zip(points, points[1:] or points):
        for t in np.linspace(0, 1, 20):
            drawn |= (cols - (x0 + (x1 - x0) * t)) ** 2 + (rows - (y0 + (y1 - y0) * t)) ** 2 <= pen ** 2
    return np.where(drawn, 255, ink).astype(ink.dtype)

