"""Read a written number: its digits left to right, each with its box and 28x28 input.

  the drawing's ink (a picture's, found as for one digit, again from the picture's
  own pixels where the number is small in it; or the strokes') ->
  lines.py: the line, LINE px tall -> the number model on it: every FRAME px, which
  digit is there or none; again half a frame further on (the second phase) where
  the first phase is unsure of its reading (lines.SURE) -> at each phase, the
  likeliest output of each frame, repeats merged and blanks dropped (CTC's greedy
  reading), and of two readings the one both phases find likeliest
  (lines.likeliest): the digits, each where the model is surest of it
  -> the line cut between neighbouring digits, at the widest blank between them, or
  where their ink touches at its thinnest -> the marks in which no
  digit is read told apart: a decimal point, a comma or a minus by its size and
  place, kept out of the digits' boxes (`punctuation`) -> the digits that stand
  alone read by the digit model twice, as cut from the line and from the ink as
  drawn, and each mark of two or three touching digits whole, one call -> each digit
  the one the models together find likeliest, and its box in the picture's pixels;
  the signs written in their places -> the next likeliest readings: one digit read
  otherwise -> the verdict: "not a number" if the digit model, its two readings of
  each mark averaged, finds most marks standing alone are not digits (letters,
  doodles), "unsure" if the reading's confidence is under contract.UNSURE_BELOW,
  else "number".

The number model reads touching and crossing digits, which no cut at blank columns
can part. The digit model, trained on all of MNIST and more, reads a lone digit
better, so for a digit with blank columns on both sides the two agree on which digit
it is (their probabilities multiplied). The digit model reads such a digit both as
cut from the line and as cut from the ink as drawn, finer, as MNIST's strokes are.
A digit cut from touching ink has its neighbours' strokes in its box, which the
digit model never saw: there the number model alone decides.
A cut the digit model finds no digit in (a 7 whose short bar the cut left faint) says
little of which digit it holds: what it gives to no digit, or to several, is spread
evenly over the ten (`hedged`), so that such a reading weighs in only as far as the
model finds a digit there.
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
from serve import preprocess
from serve.model import OnnxModel

MAX_DIGITS = 20
WORK_SIDE = 768  # px: a picture's longer side once reduced; a number's digits are a fraction of it
SMALL_LINE = 2 * lines.LINE  # px at WORK_SIDE: a number less tall is read again in the picture's own pixels
OVERSAMPLED = 4  # strokes are drawn with their ink this many times lines.LINE tall
ALTERNATIVES = 3  # readings offered besides the best
SEVERAL_DIGITS = 3  # the most digits written together that the digit model was trained to call several
# Punctuation (`punctuation`), in the digits' median height: a point is at most POINT wide and
# tall, inked over POINT_FILL of its box (a disc fills 0.79), its foot at most POINT_RISE above
# the digits' and its darkest pixel POINT_INK of full ink; a comma is as wide, at most COMMA
# tall, its foot over COMMA_BELOW under theirs; a minus is at most MINUS_HEIGHT tall and at
# least MINUS_WIDTH wide.
POINT, POINT_FILL, POINT_RISE, POINT_INK, COMMA, COMMA_BELOW = 0.3, 0.6, 0.2, 0.8, 0.7, 0.1
MINUS_HEIGHT, MINUS_WIDTH = 0.25, 0.3
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


class Sign(NamedTuple):
    """A decimal point, a comma or a minus written with the digits."""
    text: str  # ".", "," or "-"
    place: int  # how many digits come before it
    columns: tuple[int, int]  # the line's columns it takes, [start, stop)


class Place(NamedTuple):
    """Where a drawing's ink lies in the picture sent (or on the pad): the size of one
    of its pixels, and where its top-left corner is."""
    pixel: float
    left: float = 0
    top: float = 0


class Number(NamedTuple):
    verdict: str  # "number"; "unsure" if its confidence is under contract.UNSURE_BELOW; or "not a number"
    text: str
    confidence: float
    digits: list[Digit]
    alternatives: list[tuple[str, float]]  # the next likeliest readings and their confidence, best first


def picture_ink(image) -> tuple[np.ndarray, Place]:
    """A decoded picture's ink, and where it lies in the picture as sent.

    A number written small on a whole page is a few px tall once the page is reduced
    to WORK_SIDE, and its line (LINE px) would be made by enlarging it. Where it is
    under SMALL_LINE px tall in a picture at least twice as large, its box, widened by
    its height on each side, is cut from the decoded picture and read again (as
    preprocess.closer_look does for one digit).
    """
    ink = preprocess.ink_of(image, WORK_SIDE)
    around = preprocess.around_small_ink(image, ink, lambda box: box[3], SMALL_LINE)
    if around is not None:
        ink = preprocess.ink_of(image.crop(around), WORK_SIDE)
    left, top, right, bottom = around or (0, 0, *image.size)
    sent = max(image.info.get("sent_size", image.size)) / max(image.size)  # a JPEG's px as sent, in decoded ones
    return ink, Place(sent * max(right - left, bottom - top) / max(ink.shape), sent * left, sent * top)


def strokes_ink(drawn: pen.Strokes) -> tuple[np.ndarray, Place]:
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
    return ink, Place(longer / max(ink.shape))


def read(ink: np.ndarray, place: Place, number_model: OnnxModel, digit_model: OnnxModel) -> Number:
    """The number written in `ink`, which lies at `place` in the picture sent."""
    if not (ink > lines.INKED).any():
        raise preprocess.EmptyDrawing("The drawing is empty: no ink was found.")
    number = lines.line(ink)
    inked = (number.ink > lines.INKED).any(axis=0)  # the line's columns with ink
    runs = marks(inked)
    if not runs:  # ink spread thin over much of the picture (a photo's specks) fades as the line is scaled
        raise NoDigits("No digits can be read in the drawing.")
    # Each mark is a digit at least (or a sign), and no digit is wider than MAX_WIDTH.
    if len(runs) > MAX_DIGITS or number.ink.shape[1] > MAX_DIGITS * lines.MAX_WIDTH:
        raise TooManyMarks(TOO_MANY)
    framed = lines.phased(number.ink)
    readings = number_model.predict(framed[:1])
    if lines.path_probability(readings[0]) < lines.SURE:  # unsure at the first phase: read at the second too
        readings = np.concatenate([readings, number_model.predict(framed[1:])])
    phase = lines.likeliest(readings)
    frames = readings[phase]
    found = lines.spikes(frames)
    if not found:
        raise NoDigits("No digits can be read in the drawing.")
    if len(found) > MAX_DIGITS:
        raise TooManyMarks(TOO_MANY)
    surest = [frame for _, frame in found]
    peaks = frames[surest]
    centres = [lines.frame_centre(frame, lines.PHASES[phase]) for frame in surest]
    spans = digit_spans(number.ink, centres)
    signs = punctuation(ink, number, runs, spans, centres)
    number = number._replace(ink=blanked(number.ink, [sign.columns for sign in signs]))  # the digits' ink alone
    inked = (number.ink > lines.INKED).any(axis=0)
    chosen = [span_box(number.ink, span) for span in spans]
    fields = [digit_field(number, box) for box in chosen]
    alone, joined = standing_alone(inked, chosen), joined_marks(inked, chosen)
    by_digit_model = np.ones((0, *contract.DIGITS.output_shape))
    if alone or joined:  # in one call: each digit standing alone as cut from the line and from the ink as drawn,
        by_digit_model = digit_model.predict(np.stack(  # and each mark of a few touching digits whole
            [fields[i] for i in alone] + [sharp_field(ink, number, chosen[i]) for i in alone]
            + [digit_field(number, box) for box in joined]))
    from_line, from_ink, whole_marks = np.split(by_digit_model, [len(alone), 2 * len(alone)])
    both = agreed(peaks[:, :contract.BLANK], alone,
                  hedged(from_line) * hedged(from_ink))
    a_digit = 1 - peaks[:, contract.BLANK]
    digits = [Digit(int(p.argmax()), float(whole * p.max()), p, picture_box(number, box, place), field)
              for p, whole, box, field in zip(both, a_digit, chosen, fields)]
    confidence = float(np.prod([digit.confidence for digit in digits])
                       * np.prod(1 - whole_marks[:, contract.NOT_A_DIGIT]))
    refused = [contract.verdict(p) == "not a digit" for p in (from_line + from_ink) / 2]
    if refused and sum(refused) > len(refused) / 2:
        verdict = "not a number"
    else:
        verdict = "number" if confidence >= contract.UNSURE_BELOW else "unsure"
    return Number(verdict, spelled([digit.digit for digit in digits], signs), confidence, digits,
                  alternatives(digits, signs, confidence))


def digit_spans(ink: np.ndarray, read_at: list[float]) -> list[tuple[int, int]]:
    """Each digit's columns of the line, [start, stop), from the columns where the model
    reads them (the middle of its surest frame): neighbours are parted in the middle of
    the widest run of blank columns between where they are read, or, where their ink
    runs on, at its thinnest column in the middle half between them."""
    centres = [min(max(centre, 0), ink.shape[1] - 1) for centre in read_at]
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


def marks(inked: np.ndarray) -> list[tuple[int, int]]:
    """The line's marks, ink between blank columns, as runs of columns [start, stop);
    `inked` says which of the line's columns hold ink."""
    edges = np.flatnonzero(np.diff(np.r_[False, inked, False].astype(np.int8))).tolist()
    return list(zip(edges[::2], edges[1::2]))


def joined_marks(inked: np.ndarray, boxes: list[lines.Box]) -> list[lines.Box]:
    """The boxes of the marks (ink between blank columns) in which two or three digits
    are read (as many as the digit model has seen written together; a longer mark
    squeezed into its field looks like no digit at all to it): all their digits' boxes
    together. `inked` says which of the line's columns hold ink."""
    joined = []
    for start, stop in marks(inked):
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


def hedged(readings: np.ndarray) -> np.ndarray:
    """The digit model's readings (rows of its outputs) as ten digits' probabilities,
    what each gives to no digit or several spread evenly over the ten: a reading sure
    of no digit is then every digit as likely, and leaves the choice to the others."""
    digits = readings[:, :contract.NOT_A_DIGIT]
    return digits + readings[:, contract.NOT_A_DIGIT:].sum(axis=1, keepdims=True) / digits.shape[1]


def standing_alone(inked: np.ndarray, boxes: list[lines.Box]) -> list[int]:
    """The indices of the boxes with no ink in the columns just beside them; `inked`
    says which of the line's columns hold ink."""
    beside = np.r_[False, inked, False]  # column x is beside[x + 1]
    return [i for i, (x, _, w, _) in enumerate(boxes) if not beside[x] and not beside[x + w + 1]]


def alternatives(digits: list[Digit], signs: list[Sign], confidence: float) -> list[tuple[str, float]]:
    """The next likeliest readings: one digit read as its second likeliest, best first."""
    read = [digit.digit for digit in digits]
    swaps = []
    for i, digit in enumerate(digits):
        second = int(np.argsort(-digit.probabilities)[1])
        swapped = spelled(read[:i] + [second] + read[i + 1:], signs)
        swaps.append((swapped, confidence * float(digit.probabilities[second] / digit.probabilities[digit.digit])))
    return sorted(swaps, key=lambda swap: -swap[1])[:ALTERNATIVES]


def punctuation(ink: np.ndarray, number: lines.Line, runs: list[tuple[int, int]], spans: list[tuple[int, int]],
                centres: list[float]) -> list[Sign]:
    """The signs among a number's marks (`runs`: ink between blank columns, as `marks`
    gives them): the marks in which the number model reads no digit, told by their
    size and place beside the digits.

    The number model learned digits alone and reads such a mark as blank, so "4.99"
    would be "499". A point is a small round blot between two digits that sits on
    their feet, inked through as a pen's dot is (a scan's speck is faint; a broken
    digit's piece is a stroke, not a blot, or floats above the feet); one reaching
    well under the feet is a comma. A minus is a short flat stroke at mid-height
    before the first digit. A mark that is none of these stays in its neighbouring
    digit's box.
    """
    read = {min(range(len(runs)), key=lambda i: max(runs[i][0] - centre, centre - runs[i][1] + 1, 0))
            for centre in centres}  # the mark each digit is read in: the one at its frame, or the nearest (a thin 1)
    unread = [run for i, run in enumerate(runs) if i not in read]
    boxes = [span_box(blanked(number.ink, unread), span) for span in spans]
    size = float(np.median([h for *_, h in boxes]))
    signs = []
    for start, stop in unread:
        place = sum(centre < start for centre in centres)
        if any(sign.place == place for sign in signs):  # one sign between two digits, one before the first
            continue
        _, top, width, height = span_box(number.ink, (start, stop))
        left, up, wide, tall = ink_box(number, (start, top, width, height))
        drawn = ink[math.floor(up):math.ceil(up + tall), math.floor(left):math.ceil(left + wide)]  # as drawn, finer
        dark = drawn.size > 0 and drawn.max() >= POINT_INK
        if 0 < place < len(boxes) and width <= POINT * size and dark:
            (_, left_top, _, left_height), (_, right_top, _, right_height) = boxes[place - 1], boxes[place]
            below_feet = top + height - (left_top + left_height + right_top + right_height) / 2
            if below_feet > COMMA_BELOW * size and height <= COMMA * size:
                signs.append(Sign(",", place, (start, stop)))
            elif (below_feet >= -POINT_RISE * size and height <= POINT * size
                  and (pen.cut(drawn, lines.INKED) > lines.INKED).mean() >= POINT_FILL):
                signs.append(Sign(".", place, (start, stop)))
        elif place == 0 and height <= MINUS_HEIGHT * size and width >= max(MINUS_WIDTH * size, 2 * height):
            _, first_top, _, first_height = boxes[0]
            if first_top + first_height / 4 <= top + height / 2 <= first_top + 3 * first_height / 4:
                signs.append(Sign("-", place, (start, stop)))
    return signs


def blanked(ink: np.ndarray, columns: list[tuple[int, int]]) -> np.ndarray:
    """`ink` with the given runs of columns cleared."""
    cleared = ink.copy()
    for start, stop in columns:
        cleared[:, start:stop] = 0
    return cleared


def spelled(digits: list[int], signs: list[Sign]) -> str:
    """The number as written: its digits, and its signs in their places."""
    text = [str(digit) for digit in digits]
    for sign in sorted(signs, key=lambda sign: -sign.place):
        text.insert(sign.place, sign.text)
    return "".join(text)


def digit_field(number: lines.Line, box: lines.Box) -> np.ndarray:
    """The stretch's ink as the digit model wants a digit: 20 px box, centred by mass."""
    x, y, w, h = box
    return pen.field(number.ink[y:y + h, x:x + w])


def sharp_field(ink: np.ndarray, number: lines.Line, box: lines.Box) -> np.ndarray:
    """The stretch's ink cut from the drawing as it was drawn, not from the LINE px line,
    framed as the digit model wants a digit: the finer strokes it was trained on."""
    left, top, width, height = ink_box(number, box)
    cut = ink[math.floor(top):math.ceil(top + height), math.floor(left):math.ceil(left + width)]
    if not (cut > lines.INKED).any():  # faint ink the line's resampling made bolder: the line's field is all there is
        return digit_field(number, box)
    return pen.field(pen.cut(cut, lines.INKED))


def ink_box(number: lines.Line, box: lines.Box) -> tuple[float, float, float, float]:
    """A box on the line, in the pixels of the ink the line was made from."""
    x, y, w, h = box
    return number.left + x / number.scale, number.top + y / number.scale, w / number.scale, h / number.scale


def picture_box(number: lines.Line, box: lines.Box, place: Place) -> list[float]:
    """A box on the line, in the pixels (or units) of the picture sent."""
    x, y, w, h = (place.pixel * value for value in ink_box(number, box))
    return [round(value, 1) for value in (place.left + x, place.top + y, w, h)]
