"""Read a written number: its digits left to right, each with its box and 28x28 input.

  the drawing's ink (a picture's, found as for one digit, or the strokes') ->
  segments.py: the line, and every stretch of it that could be one digit ->
  the segment model on all of them, one call -> the readings: runs of stretches end
  to end across the line, the likeliest first (dynamic programming, keeping the
  ALTERNATIVES best at each boundary) -> the best one's digits as the digit model
  sees them, one call -> each digit the one both models find likeliest, and its box
  in the picture's pixels.

The segment model says whether a stretch is one whole digit and which; the digit
model, trained on all of MNIST, reads a lone digit better, so the two agree on which
digit it is (their probabilities multiplied). A digit's confidence is the probability
that its stretch is one digit times that of the digit; a number's is the product of
its digits': the probability that all of them are right.
"""

from typing import NamedTuple

import numpy as np

import contract
import segments
from serve import preprocess, strokes
from serve.model import OnnxModel

MAX_DIGITS = 20
ALTERNATIVES = 4  # readings kept at each boundary, and at most offered besides the best
TOP_DIGITS = 2  # readings of each stretch tried
UNLIKELY = 1e-3  # a stretch whose likeliest digit is less likely than this is not tried, unless nothing else reads
TOO_MANY = f"There are too many marks to be one number; at most {MAX_DIGITS} digits are read."


class TooManyMarks(preprocess.ImageError):
    """More marks than a number of MAX_DIGITS digits would make."""


class Reading(NamedTuple):
    log_probability: float
    stretches: tuple[int, ...]  # candidate index of each digit
    digits: tuple[int, ...]


class Digit(NamedTuple):
    """One digit of the number read."""
    digit: int
    confidence: float
    probabilities: np.ndarray  # the ten digits', summing to 1
    box: list[float]  # x, y, w, h in the picture's pixels
    field: np.ndarray  # the 28x28 input the digit model saw


class Number(NamedTuple):
    text: str
    confidence: float
    digits: list[Digit]
    alternatives: list[tuple[str, float]]  # the next likeliest readings and their confidence, best first


def picture_ink(image) -> tuple[np.ndarray, float]:
    """A decoded picture's ink, and the size of its pixels in the picture as sent."""
    ink = preprocess.clear_ink(preprocess.ink_intensity(preprocess.grey_levels(image)))
    return ink, max(image.info.get("sent_size", image.size)) / max(ink.shape[::-1])


def strokes_ink(drawn: strokes.Strokes) -> tuple[np.ndarray, float]:
    """Strokes drawn as ink, and the size of its pixels in the pad's units."""
    ink = strokes.rasterise(drawn, preprocess.WORK_SIDE)
    return ink, max(drawn.width, drawn.height) / max(ink.shape)


def read(ink: np.ndarray, pixel: float, segment_model: OnnxModel, digit_model: OnnxModel) -> Number:
    """The number written in `ink`, whose pixels are `pixel` units of the picture sent."""
    if not (ink > segments.INKED).any():
        raise preprocess.EmptyDrawing("The drawing is empty: no ink was found.")
    number = segments.line(ink)
    if number.ink.shape[1] > MAX_DIGITS * segments.MAX_WIDTH:
        raise TooManyMarks(TOO_MANY)
    found, stretches = segments.candidates(number)
    probabilities = segment_model.predict(segments.fields(number, found))
    plausible = (probabilities[:, :contract.NOT_ONE_DIGIT].max(axis=1) >= UNLIKELY).tolist()
    likely = {stretch: k for stretch, k in stretches.items() if k < 0 or plausible[k]}
    readings = best_readings(probabilities, likely) or best_readings(probabilities, stretches)
    if not readings or len(readings[0].digits) > MAX_DIGITS:
        raise TooManyMarks(TOO_MANY)
    chosen = [found[k] for k in readings[0].stretches]
    fields = [digit_field(number, candidate) for candidate in chosen]
    segment = probabilities[list(readings[0].stretches)]
    both = segment[:, :contract.NOT_ONE_DIGIT] * digit_model.predict(np.stack(fields))
    both /= both.sum(axis=1, keepdims=True)
    one_digit = 1 - segment[:, contract.NOT_ONE_DIGIT]
    digits = [Digit(int(p.argmax()), float(whole * p.max()), p, picture_box(number, candidate.box, pixel), field)
              for p, whole, candidate, field in zip(both, one_digit, chosen, fields)]
    text = "".join(str(digit.digit) for digit in digits)
    others = [("".join(map(str, r.digits)), float(np.exp(r.log_probability))) for r in readings]
    return Number(text, float(np.prod([digit.confidence for digit in digits])), digits,
                  [(other, confidence) for other, confidence in others if other != text][:ALTERNATIVES - 1])


def best_readings(probabilities: np.ndarray, stretches: dict[tuple[int, int], int]) -> list[Reading]:
    """The likeliest readings, best first: each a run of stretches from the line's left
    end to its right end (a blank stretch adds nothing) and a digit for each. Plain
    Python floats: a few thousand small steps, where numpy's per-call cost dominates."""
    logs = np.log(np.maximum(probabilities[:, :contract.NOT_ONE_DIGIT], 1e-12))
    tops = np.argsort(-logs, axis=1)[:, :TOP_DIGITS]
    choices = list(zip(logs[np.arange(len(logs))[:, None], tops].tolist(), tops.tolist()))
    ending: dict[int, list[tuple[int, int]]] = {}
    for (first, stop), k in stretches.items():
        ending.setdefault(stop, []).append((first, k))
    start = min(first for first, _ in stretches)
    at: dict[int, list[Reading]] = {start: [Reading(0.0, (), ())]}
    for stop in sorted(ending):
        extended = []
        for first, k in ending[stop]:
            for reading in at.get(first, ()):
                if k < 0:
                    extended.append(reading)
                    continue
                for log_probability, digit in zip(*choices[k]):
                    extended.append(Reading(reading.log_probability + log_probability,
                                            reading.stretches + (k,), reading.digits + (digit,)))
        if extended:
            at[stop] = distinct_best(extended)
    return at.get(max(ending), [])


def distinct_best(readings: list[Reading]) -> list[Reading]:
    """The ALTERNATIVES likeliest readings, one per digit string."""
    kept, seen = [], set()
    for reading in sorted(readings, key=lambda r: -r.log_probability):
        if reading.digits not in seen:
            seen.add(reading.digits)
            kept.append(reading)
            if len(kept) == ALTERNATIVES:
                break
    return kept


def digit_field(number: segments.Line, candidate: segments.Candidate) -> np.ndarray:
    """The stretch's ink as the digit model wants a digit: 20 px box, centred by mass."""
    x, y, w, h = candidate.box
    return preprocess.centre_by_mass(preprocess.fit_box(number.ink[y:y + h, x:x + w]))


def picture_box(number: segments.Line, box: tuple[int, int, int, int], pixel: float) -> list[float]:
    """A box on the line, in the pixels (or units) of the picture sent."""
    x, y, w, h = box
    return [round(pixel * (number.left + x / number.scale), 1), round(pixel * (number.top + y / number.scale), 1),
            round(pixel * w / number.scale, 1), round(pixel * h / number.scale, 1)]
