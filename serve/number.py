"""Read a written number: its digits left to right, each with its box and 28x28 input.

  the drawing's ink (a picture's, found as for one digit, or the strokes') ->
  segments.py: the line, and every stretch of it that could be one digit ->
  the segment model on all of them, one call -> the likeliest run of stretches end
  to end across the line (dynamic programming) -> those of its digits that stand
  alone read by the digit model twice, as cut from the line and from the ink as
  drawn, one call -> each digit the one the models together find likeliest, and
  its box in the picture's pixels -> the next likeliest readings: one digit read
  otherwise -> the verdict: "not a number" if the digit
  model finds most marks standing alone are not digits (letters, doodles), "unsure"
  if the reading's confidence is under contract.UNSURE_BELOW, else "number".

The segment model says whether a stretch is one whole digit and which; the digit
model, trained on all of MNIST, reads a lone digit better, so for a digit with blank
columns on both sides the two agree on which digit it is (their probabilities
multiplied). The digit model reads such a digit both as cut from the line and as
cut from the ink as drawn, finer, as MNIST's strokes are, and the three readings
are multiplied: on 500 apart numbers of validation digits, 97.4% were read right
with the line's cut alone, 98.8% with the finer one alone, 99.0% with both. A
digit cut from touching ink has its neighbours' strokes in its box, which the digit
model never saw: there the segment model alone decides (on touching numbers of
validation digits, 83.7% were read right so, 81.0% with both models).
A digit's confidence is the probability that its stretch is one digit times that of
the digit; a number's is the product of its digits': the probability that all of
them are right.
"""

import math
from typing import NamedTuple

import numpy as np

import contract
import pen
import segments
from serve import preprocess, strokes
from serve.model import OnnxModel

MAX_DIGITS = 20
WORK_SIDE = 768  # px: a picture's longer side once reduced; a number's digits are a fraction of it
OVERSAMPLED = 4  # strokes are drawn with their ink this many times segments.LINE tall
ALTERNATIVES = 3  # readings offered besides the best
UNLIKELY = 1e-3  # a stretch whose likeliest digit is less likely than this is not tried, unless nothing else reads
TOO_MANY = f"There are too many marks to be one number; at most {MAX_DIGITS} digits are read."


class TooManyMarks(preprocess.ImageError):
    """More marks than a number of MAX_DIGITS digits would make."""


class NoDigits(preprocess.ImageError):
    """Marks in which no run of digits can be found."""


class Digit(NamedTuple):
    """One digit of the number read."""
    digit: int
    confidence: float
    probabilities: np.ndarray  # the ten digits', summing to 1
    box: list[float]  # x, y, w, h in the picture's pixels
    field: np.ndarray  # the 28x28 input the digit model saw


class Number(NamedTuple):
    verdict: str  # "number"; "unsure" if its confidence is under contract.UNSURE_BELOW; or "not a number"
    text: str
    confidence: float
    digits: list[Digit]
    alternatives: list[tuple[str, float]]  # the next likeliest readings and their confidence, best first


def picture_ink(image) -> tuple[np.ndarray, float]:
    """A decoded picture's ink, and the size of its pixels in the picture as sent."""
    ink = preprocess.clear_ink(preprocess.ink_intensity(preprocess.grey_levels(image, WORK_SIDE)))
    return ink, max(image.info.get("sent_size", image.size)) / max(ink.shape[::-1])


def strokes_ink(drawn: pen.Strokes) -> tuple[np.ndarray, float]:
    """Strokes drawn as ink, and the size of its pixels in the pad's units.

    The line is read LINE px tall, so the strokes are drawn just big enough for
    their ink to be OVERSAMPLED times that (scaling down is what smooths the
    brush's hard edges), never bigger than a picture is read: drawing a wide pad
    at WORK_SIDE and scaling it down again was a quarter of a number's time.
    """
    longer = max(drawn.width, drawn.height)
    ys = np.concatenate([xy[:, 1] for xy in drawn.paths])
    tall = min(ys.max() + drawn.brush / 2, drawn.height) - max(ys.min() - drawn.brush / 2, 0)
    ink = pen.draw(drawn, min(WORK_SIDE, longer * OVERSAMPLED * segments.LINE / max(tall, drawn.brush)))
    return ink, longer / max(ink.shape)


def read(ink: np.ndarray, pixel: float, segment_model: OnnxModel, digit_model: OnnxModel) -> Number:
    """The number written in `ink`, whose pixels are `pixel` units of the picture sent."""
    if not (ink > segments.INKED).any():
        raise preprocess.EmptyDrawing("The drawing is empty: no ink was found.")
    number = segments.line(ink)
    inked = (number.ink > segments.INKED).any(axis=0)  # the line's columns with ink
    marks = np.diff(np.r_[False, inked].astype(np.int8)).clip(0).sum()
    if marks > MAX_DIGITS or number.ink.shape[1] > MAX_DIGITS * segments.MAX_WIDTH:  # each mark is a digit at least
        raise TooManyMarks(TOO_MANY)
    found, stretches = segments.candidates(number)
    if not found:
        raise NoDigits("Nothing in the drawing is the size of a digit beside the rest.")
    probabilities = segment_model.predict(segments.fields(number, found))
    plausible = (probabilities[:, :contract.NOT_ONE_DIGIT].max(axis=1) >= UNLIKELY).tolist()
    likely = {stretch: k for stretch, k in stretches.items() if k < 0 or plausible[k]}
    run = likeliest_run(probabilities, likely) or likeliest_run(probabilities, stretches)
    if not run:
        raise NoDigits("No run of digits can be read across the drawing.")
    if len(run) > MAX_DIGITS:
        raise TooManyMarks(TOO_MANY)
    chosen = [found[k] for k in run]
    fields = [digit_field(number, box) for box in chosen]
    alone = standing_alone(inked, chosen)
    read_alone = np.ones((0, *contract.DIGITS.output_shape))
    if alone:  # each digit standing alone twice, in one call: as cut from the line, and from the ink as drawn
        twice = [fields[i] for i in alone] + [sharp_field(ink, number, chosen[i]) for i in alone]
        read_alone = digit_model.predict(np.stack(twice))
    from_line, from_ink = read_alone[:len(alone)], read_alone[len(alone):]
    both = agreed(probabilities[run, :contract.NOT_ONE_DIGIT], alone,
                  from_line[:, :contract.NOT_A_DIGIT] * from_ink[:, :contract.NOT_A_DIGIT])
    one_digit = 1 - probabilities[run, contract.NOT_ONE_DIGIT]
    digits = [Digit(int(p.argmax()), float(whole * p.max()), p, picture_box(number, box, pixel), field)
              for p, whole, box, field in zip(both, one_digit, chosen, fields)]
    confidence = float(np.prod([digit.confidence for digit in digits]))
    refused = [contract.verdict(p) == "not a digit" for p in from_line]
    if refused and sum(refused) > len(refused) / 2:
        verdict = "not a number"
    else:
        verdict = "number" if confidence >= contract.UNSURE_BELOW else "unsure"
    return Number(verdict, "".join(str(digit.digit) for digit in digits), confidence, digits,
                  alternatives(digits, confidence))


def agreed(by_segments: np.ndarray, alone: list[int], by_digits: np.ndarray) -> np.ndarray:
    """Each digit's ten probabilities, summing to 1: the segment model's, times the digit
    model's for the digits standing alone (rows `alone`). Where the two share nothing
    (each sure of another digit, so that every product is 0 in float32) the segment
    model's reading stands; where even that is 0 everywhere, every digit is as likely."""
    both = by_segments.astype(np.float64)
    both[alone] *= by_digits
    lost = both.sum(axis=1) == 0
    both[lost] = by_segments[lost]
    both += 1e-30  # keeps a row of zeros from dividing 0 by 0
    return both / both.sum(axis=1, keepdims=True)


def standing_alone(inked: np.ndarray, boxes: list[segments.Box]) -> list[int]:
    """The indices of the boxes with no ink in the columns just beside them; `inked`
    says which of the line's columns hold ink."""
    beside = np.r_[False, inked, False]  # column x is beside[x + 1]
    return [i for i, (x, _, w, _) in enumerate(boxes) if not beside[x] and not beside[x + w + 1]]


def likeliest_run(probabilities: np.ndarray, stretches: dict[tuple[int, int], int]) -> list[int]:
    """The candidates of the likeliest run of stretches from the line's left end to its
    right end (a blank stretch adds nothing): dynamic programming over the boundaries,
    in plain Python floats (a few thousand small steps, where numpy's cost per call
    would dominate). Empty if no run reaches across."""
    if not stretches:
        return []
    logs = np.log(np.maximum(probabilities[:, :contract.NOT_ONE_DIGIT].max(axis=1), 1e-12)).tolist()
    ending: dict[int, list[tuple[int, int]]] = {}
    for (first, stop), k in stretches.items():
        ending.setdefault(stop, []).append((first, k))
    best = {min(first for first, _ in stretches): (0.0, ())}
    for stop in sorted(ending):
        runs = [(best[first][0], best[first][1]) if k < 0 else (best[first][0] + logs[k], best[first][1] + (k,))
                for first, k in ending[stop] if first in best]
        if runs:
            best[stop] = max(runs)
    return list(best.get(max(ending), (0.0, ()))[1])


def alternatives(digits: list[Digit], confidence: float) -> list[tuple[str, float]]:
    """The next likeliest readings: one digit read as its second likeliest, best first."""
    text = [str(digit.digit) for digit in digits]
    swaps = []
    for i, digit in enumerate(digits):
        second = int(np.argsort(-digit.probabilities)[1])
        swapped = "".join(text[:i] + [str(second)] + text[i + 1:])
        swaps.append((swapped, confidence * float(digit.probabilities[second] / digit.probabilities[digit.digit])))
    return sorted(swaps, key=lambda swap: -swap[1])[:ALTERNATIVES]


def digit_field(number: segments.Line, box: segments.Box) -> np.ndarray:
    """The stretch's ink as the digit model wants a digit: 20 px box, centred by mass."""
    x, y, w, h = box
    return pen.field(number.ink[y:y + h, x:x + w])


def sharp_field(ink: np.ndarray, number: segments.Line, box: segments.Box) -> np.ndarray:
    """The stretch's ink cut from the drawing as it was drawn, not from the LINE px line,
    framed as the digit model wants a digit: the finer strokes it was trained on."""
    left, top, width, height = ink_box(number, box)
    cut = ink[math.floor(top):math.ceil(top + height), math.floor(left):math.ceil(left + width)]
    inked = cut > segments.INKED
    if not inked.any():  # faint ink the line's resampling made bolder: the line's field is all there is
        return digit_field(number, box)
    rows, cols = np.flatnonzero(inked.any(axis=1)), np.flatnonzero(inked.any(axis=0))
    return pen.field(cut[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1])


def ink_box(number: segments.Line, box: segments.Box) -> tuple[float, float, float, float]:
    """A box on the line, in the pixels of the ink the line was made from."""
    x, y, w, h = box
    return number.left + x / number.scale, number.top + y / number.scale, w / number.scale, h / number.scale


def picture_box(number: segments.Line, box: segments.Box, pixel: float) -> list[float]:
    """A box on the line, in the pixels (or units) of the picture sent."""
    return [round(pixel * value, 1) for value in ink_box(number, box)]
