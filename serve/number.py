"""Read a written number: its digits left to right, each with its box and 28x28 input.

  the drawing's ink (a picture's, found as for one digit, or the strokes') ->
  lines.py: the line, LINE px tall -> the number model on it, one call: every FRAME
  px, which digit is there or none -> the likeliest output of each frame, repeats
  merged and blanks dropped (CTC's greedy reading): the digits, each where the model
  is surest of it -> the line cut between neighbouring digits, at the widest blank
  between them, or where their ink touches at its thinnest -> the digits that stand
  alone read by the digit model twice, as cut from the line and from the ink as
  drawn, and each mark of two or three touching digits whole, one call -> each digit
  the one the models together find likeliest, and its box in the picture's pixels ->
  the next likeliest readings: one digit read otherwise -> the verdict: "not a
  number" if the digit model, its two readings of each mark averaged, finds most
  marks standing alone are not digits (letters, doodles), "unsure" if the
  reading's confidence is under contract.UNSURE_BELOW, else "number".

The number model reads touching and crossing digits, which no cut at blank columns
can part. The digit model, trained on all of MNIST and more, reads a lone digit
better, so for a digit with blank columns on both sides the two agree on which digit
it is (their probabilities multiplied). The digit model reads such a digit both as
cut from the line and as cut from the ink as drawn, finer, as MNIST's strokes are.
A digit cut from touching ink has its neighbours' strokes in its box, which the
digit model never saw: there the number model alone decides.
A digit's confidence is the number model's probability of that digit in the frame
where it is surest of it, its share of the ten digits multiplied by the digit model's
where that reads it too; a number's is the product of its digits', times the digit
model's probability that each mark of a few touching digits is not a doodle: the
probability that all of them are right, and that they are digits at all (a star
read as a confident "88" is unsure instead).
"""

import itertools
import math
from typing import NamedTuple

import numpy as np

import contract
import lines
import pen
from serve import preprocess, strokes
from serve.model import OnnxModel

MAX_DIGITS = 20
WORK_SIDE = 768  # px: a picture's longer side once reduced; a number's digits are a fraction of it
OVERSAMPLED = 4  # strokes are drawn with their ink this many times lines.LINE tall
ALTERNATIVES = 3  # readings offered besides the best
SEVERAL_DIGITS = 3  # the most digits written together that the digit model was trained to call several
TOO_MANY = f"There are too many marks to be one number; at most {MAX_DIGITS} digits are read."


class TooManyMarks(preprocess.ImageError):
    """More marks, or more digits read, than a number of MAX_DIGITS digits has."""


class NoDigits(preprocess.ImageError):
    """Marks in which the number model reads no digit."""


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
    ink = pen.draw(drawn, min(WORK_SIDE, longer * OVERSAMPLED * lines.LINE / max(tall, drawn.brush)))
    return ink, longer / max(ink.shape)


def read(ink: np.ndarray, pixel: float, number_model: OnnxModel, digit_model: OnnxModel) -> Number:
    """The number written in `ink`, whose pixels are `pixel` units of the picture sent."""
    if not (ink > lines.INKED).any():
        raise preprocess.EmptyDrawing("The drawing is empty: no ink was found.")
    number = lines.line(ink)
    inked = (number.ink > lines.INKED).any(axis=0)  # the line's columns with ink
    marks = np.diff(np.r_[False, inked].astype(np.int8)).clip(0).sum()
    if marks > MAX_DIGITS or number.ink.shape[1] > MAX_DIGITS * lines.MAX_WIDTH:  # each mark is a digit at least
        raise TooManyMarks(TOO_MANY)
    frames = number_model.predict(lines.framed(number.ink)[None])[0]
    found = lines.spikes(frames)
    if not found:
        raise NoDigits("No digits can be read in the drawing.")
    if len(found) > MAX_DIGITS:
        raise TooManyMarks(TOO_MANY)
    surest = [frame for _, frame in found]
    peaks = frames[surest]
    chosen = [span_box(number.ink, span) for span in digit_spans(number.ink, surest)]
    fields = [digit_field(number, box) for box in chosen]
    alone, joined = standing_alone(inked, chosen), joined_marks(inked, chosen)
    by_digit_model = np.ones((0, *contract.DIGITS.output_shape))
    if alone or joined:  # in one call: each digit standing alone as cut from the line and from the ink as drawn,
        by_digit_model = digit_model.predict(np.stack(  # and each mark of a few touching digits whole
            [fields[i] for i in alone] + [sharp_field(ink, number, chosen[i]) for i in alone]
            + [digit_field(number, box) for box in joined]))
    from_line, from_ink, whole_marks = np.split(by_digit_model, [len(alone), 2 * len(alone)])
    both = agreed(peaks[:, :contract.BLANK], alone,
                  from_line[:, :contract.NOT_A_DIGIT] * from_ink[:, :contract.NOT_A_DIGIT])
    a_digit = 1 - peaks[:, contract.BLANK]
    digits = [Digit(int(p.argmax()), float(whole * p.max()), p, picture_box(number, box, pixel), field)
              for p, whole, box, field in zip(both, a_digit, chosen, fields)]
    confidence = float(np.prod([digit.confidence for digit in digits])
                       * np.prod(1 - whole_marks[:, contract.NOT_A_DIGIT]))
    refused = [contract.verdict(p) == "not a digit" for p in (from_line + from_ink) / 2]
    if refused and sum(refused) > len(refused) / 2:
        verdict = "not a number"
    else:
        verdict = "number" if confidence >= contract.UNSURE_BELOW else "unsure"
    return Number(verdict, "".join(str(digit.digit) for digit in digits), confidence, digits,
                  alternatives(digits, confidence))


def digit_spans(ink: np.ndarray, peaks: list[int]) -> list[tuple[int, int]]:
    """Each digit's columns of the line, [start, stop), from the frames where the model
    reads them: neighbours are parted in the middle of the widest run of blank columns
    between where they are read, or, where their ink runs on, at its thinnest column
    in the middle half between them."""
    centres = [min(max(lines.frame_centre(frame), 0), ink.shape[1] - 1) for frame in peaks]
    column_ink = ink.sum(axis=0)
    blank = ~(ink > lines.INKED).any(axis=0)
    cuts = [0]
    for left, right in zip(centres, centres[1:]):
        between = range(math.ceil(left), math.floor(right) + 1)
        gaps = [list(run) for is_blank, run in itertools.groupby(between, key=blank.__getitem__) if is_blank]
        if gaps:
            widest = max(gaps, key=len)
            cuts.append(widest[len(widest) // 2])
        else:
            quarter = (right - left) / 4
            middle = np.arange(math.floor(left + quarter), math.ceil(right - quarter) + 1)
            cuts.append(int(middle[column_ink[middle].argmin()]))
    cuts.append(ink.shape[1])
    return list(zip(cuts, cuts[1:]))


def span_box(ink: np.ndarray, span: tuple[int, int]) -> lines.Box:
    """The box of the ink in the line's columns `span`; the whole span if it has none."""
    start, stop = span
    inked = ink[:, start:stop] > lines.INKED
    if not inked.any():
        return start, 0, max(stop - start, 1), ink.shape[0]
    rows, cols = np.flatnonzero(inked.any(axis=1)), np.flatnonzero(inked.any(axis=0))
    return start + int(cols[0]), int(rows[0]), int(cols[-1] - cols[0] + 1), int(rows[-1] - rows[0] + 1)


def joined_marks(inked: np.ndarray, boxes: list[lines.Box]) -> list[lines.Box]:
    """The boxes of the marks (ink between blank columns) in which two or three digits
    are read (as many as the digit model has seen written together; a longer mark
    squeezed into its field looks like no digit at all to it): all their digits' boxes
    together. `inked` says which of the line's columns hold ink."""
    edges = np.flatnonzero(np.diff(np.r_[False, inked, False].astype(np.int8)))  # where marks start and stop
    joined = []
    for start, stop in zip(edges[::2], edges[1::2]):
        inside = [(x, y, x + w, y + h) for x, y, w, h in boxes if start <= x + w / 2 < stop]
        if 1 < len(inside) <= SEVERAL_DIGITS:
            left, top = min(box[0] for box in inside), min(box[1] for box in inside)
            right, bottom = max(box[2] for box in inside), max(box[3] for box in inside)
            joined.append((left, top, right - left, bottom - top))
    return joined


def agreed(by_numbers: np.ndarray, alone: list[int], by_digits: np.ndarray) -> np.ndarray:
    """Each digit's ten probabilities, summing to 1: the number model's, times the digit
    model's for the digits standing alone (rows `alone`). Where the two share nothing
    (each sure of another digit, so that every product is 0 in float32) the number
    model's reading stands; where even that is 0 everywhere, every digit is as likely."""
    both = by_numbers.astype(np.float64)
    both[alone] *= by_digits
    lost = both.sum(axis=1) == 0
    both[lost] = by_numbers[lost]
    both += 1e-30  # keeps a row of zeros from dividing 0 by 0
    return both / both.sum(axis=1, keepdims=True)


def standing_alone(inked: np.ndarray, boxes: list[lines.Box]) -> list[int]:
    """The indices of the boxes with no ink in the columns just beside them; `inked`
    says which of the line's columns hold ink."""
    beside = np.r_[False, inked, False]  # column x is beside[x + 1]
    return [i for i, (x, _, w, _) in enumerate(boxes) if not beside[x] and not beside[x + w + 1]]


def alternatives(digits: list[Digit], confidence: float) -> list[tuple[str, float]]:
    """The next likeliest readings: one digit read as its second likeliest, best first."""
    text = [str(digit.digit) for digit in digits]
    swaps = []
    for i, digit in enumerate(digits):
        second = int(np.argsort(-digit.probabilities)[1])
        swapped = "".join(text[:i] + [str(second)] + text[i + 1:])
        swaps.append((swapped, confidence * float(digit.probabilities[second] / digit.probabilities[digit.digit])))
    return sorted(swaps, key=lambda swap: -swap[1])[:ALTERNATIVES]


def digit_field(number: lines.Line, box: lines.Box) -> np.ndarray:
    """The stretch's ink as the digit model wants a digit: 20 px box, centred by mass."""
    x, y, w, h = box
    return pen.field(number.ink[y:y + h, x:x + w])


def sharp_field(ink: np.ndarray, number: lines.Line, box: lines.Box) -> np.ndarray:
    """The stretch's ink cut from the drawing as it was drawn, not from the LINE px line,
    framed as the digit model wants a digit: the finer strokes it was trained on."""
    left, top, width, height = ink_box(number, box)
    cut = ink[math.floor(top):math.ceil(top + height), math.floor(left):math.ceil(left + width)]
    inked = cut > lines.INKED
    if not inked.any():  # faint ink the line's resampling made bolder: the line's field is all there is
        return digit_field(number, box)
    rows, cols = np.flatnonzero(inked.any(axis=1)), np.flatnonzero(inked.any(axis=0))
    return pen.field(cut[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1])


def ink_box(number: lines.Line, box: lines.Box) -> tuple[float, float, float, float]:
    """A box on the line, in the pixels of the ink the line was made from."""
    x, y, w, h = box
    return number.left + x / number.scale, number.top + y / number.scale, w / number.scale, h / number.scale


def picture_box(number: lines.Line, box: lines.Box, pixel: float) -> list[float]:
    """A box on the line, in the pixels (or units) of the picture sent."""
    return [round(pixel * value, 1) for value in ink_box(number, box)]
