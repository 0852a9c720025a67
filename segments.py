"""How a written number is cut into candidate digits: shared by training and serving.

Neighbouring digits written quickly touch, and slanted ones overlap in x, so a number
cannot be read by cutting it at its blank columns. Instead, every stretch of the line
that could hold one digit is a candidate, drawn as the segment model sees it: a 28x28
field like MNIST's, the line's ink 20 px tall, the candidate's columns centred and
bright, whatever of its neighbours reaches into them left in, and the line beyond
them dim, so the model sees whether the candidate's strokes carry on. The
segment model (trained on candidates of synthetic numbers) says of each one which
digit it is, or that it is not one whole digit; a reader then picks the run of
candidates, end to end, that makes the likeliest number. Training and serving must
cut and draw alike, so both import this:

  the number's ink -> cropped, scaled to LINE px tall -> boundaries: every STEP px
  through the ink, and both edges of every blank gap -> candidates: pairs of
  boundaries at most MAX_WIDTH apart, and whole marks between gaps up to WIDEST,
  one per distinct ink box -> each drawn in SIDE².

Pure numpy and Pillow: the serve image carries this file.
"""

from typing import NamedTuple

import numpy as np
from PIL import Image

LINE = 20  # px: the number's ink height once scaled, as MNIST digits are 20 px in their 28 px field
SIDE = 28  # px: the segment model's input is SIDE x SIDE
TOP = (SIDE - LINE) // 2
INKED = 0.2  # of full ink: a pixel that belongs to a stroke
STEP = 3  # px between boundaries inside ink
MAX_WIDTH = SIDE  # px: the widest candidate cut from the ink, 1.4 times the line's height
WIDEST = 2 * LINE  # px: the widest whole mark that is a candidate: a 2 or 5 drawn with a long stroke
MIN_HEIGHT = LINE // 2  # px: digits in one number differ in size, but not by half
DIM = 0.35  # how bright the line beside a candidate is drawn in its field


class Line(NamedTuple):
    """A number's ink scaled to LINE px tall; line x = (picture x - left) * scale."""
    ink: np.ndarray
    left: int
    top: int
    scale: float


Box = tuple[int, int, int, int]  # x, y, w, h on the line: a candidate is the ink box of a stretch


def line(ink: np.ndarray) -> Line:
    """`ink` (float in [0, 1], white on black) cropped to what is inked, LINE px tall."""
    mask = ink > INKED
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    crop = ink[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    scale = LINE / crop.shape[0]
    size = (max(1, round(crop.shape[1] * scale)), LINE)
    scaled = Image.fromarray(crop.astype(np.float32)).resize(size, Image.Resampling.LANCZOS)
    return Line(np.clip(np.asarray(scaled), 0, 1), int(cols[0]), int(rows[0]), scale)


def boundaries(number: Line) -> np.ndarray:
    """Columns where one digit may end and the next begin."""
    inked = number.ink.max(axis=0) > INKED
    edges = np.flatnonzero(np.diff(np.r_[False, inked, False]))  # where ink starts and stops
    inside = [np.arange(start, stop, STEP) for start, stop in zip(edges[::2], edges[1::2])]
    return np.unique(np.concatenate([edges, *inside]))


def candidates(number: Line) -> tuple[list[Box], dict[tuple[int, int], int]]:
    """Every stretch between two boundaries whose ink is at most MAX_WIDTH wide (WIDEST
    if it has a gap on either side) and at least MIN_HEIGHT tall, each distinct ink
    box once; and for each stretch (start, stop), its candidate's index, or -1 if it
    is blank (a gap a reading passes over). A stretch across a gap ends at the ink's
    edges: a sliver of the digit beyond a gap reads as nothing and would stretch the
    digit's box over the gap.
    Plain Python over per-column lists: a few hundred stretches of a few columns each."""
    inked = number.ink > INKED
    has_ink = inked.any(axis=0).tolist()
    tops = np.where(has_ink, inked.argmax(axis=0), LINE).tolist()
    bottoms = np.where(has_ink, LINE - inked[::-1].argmax(axis=0), 0).tolist()
    width = len(has_ink)
    blanks_before = np.r_[0, np.cumsum(np.logical_not(has_ink))].tolist()
    cuts_ink = [0 < column < width and has_ink[column - 1] and has_ink[column] for column in range(width + 1)]
    next_inked, following = [width] * (width + 1), width  # the first inked column at or after each
    for column in range(width - 1, -1, -1):
        following = column if has_ink[column] else following
        next_inked[column] = following
    last_inked, preceding = [-1] * width, -1  # the last inked column at or before each
    for column in range(width):
        preceding = column if has_ink[column] else preceding
        last_inked[column] = preceding
    found, index, stretches = [], {}, {}
    cuts = boundaries(number).tolist()
    for i, start in enumerate(cuts):
        for stop in cuts[i + 1:]:
            if stop - start > WIDEST:
                break
            if stop - start > MAX_WIDTH and (cuts_ink[start] or cuts_ink[stop] or not has_ink[start]):
                continue
            first = next_inked[start]
            if first >= stop:
                stretches[start, stop] = -1
                continue
            last = last_inked[stop - 1]
            top, bottom = min(tops[first:last + 1]), max(bottoms[first:last + 1])
            if bottom - top < MIN_HEIGHT or (blanks_before[stop] > blanks_before[start] and (cuts_ink[start] or cuts_ink[stop])):
                continue
            box = (first, top, last + 1 - first, bottom - top)
            if box not in index:
                index[box] = len(found)
                found.append(box)
            stretches[start, stop] = index[box]
    return found, stretches


def fields(number: Line, found: list[Box]) -> np.ndarray:
    """float32 (N, SIDE, SIDE): each candidate's ink in the line's full height, its box
    centred across the field, and the line beyond its columns drawn DIM: without them
    a thin piece cut from a digit would look just like a 1. A candidate wider than
    the field is squeezed into it, alone."""
    out = np.zeros((len(found), SIDE, SIDE), dtype=np.float32)
    dim = number.ink * DIM
    width = number.ink.shape[1]
    for field, (x, _, w, _) in zip(out, found):
        if w > SIDE:
            squeezed = Image.fromarray(number.ink[:, x:x + w]).resize((SIDE, LINE), Image.Resampling.LANCZOS)
            field[TOP:TOP + LINE] = np.clip(np.asarray(squeezed), 0, 1)
            continue
        left = x - (SIDE - w) // 2  # the line's column at the field's left edge
        shown = slice(max(left, 0), min(left + SIDE, width))
        field[TOP:TOP + LINE, shown.start - left:shown.stop - left] = dim[:, shown]
        field[TOP:TOP + LINE, x - left:x - left + w] = number.ink[:, x:x + w]
    return out
