"""The strokes form of a drawing: the pen's path itself instead of a picture of it.

A page that records its pointer can send what was drawn rather than a PNG of it:

    {"strokes": [[[x, y], [x, y], ...], ...],  # each stroke one pointer-down..up, in the pad's CSS px
     "width": W, "height": H,                   # the pad's size in CSS px
     "brush": B}                                # the pen's width in CSS px

The server draws it again with the page's round brush (pen.draw), white ink on
black: nothing to decode, and pen lifts exactly where they were.
Limits: at most MAX_STROKES strokes and MAX_POINTS points in all; W and H in
(0, MAX_SIDE]; B in (0, min(W, H) / 2]; every point two finite numbers within
[-W, 2W] x [-H, 2H] (a captured pointer may leave the pad; ink there is cut off).
Ink less than SMALLEST pen widths across on its longer side (a tap, a digit written
smaller than the pen can draw it) is refused as too small to read.
"""

from itertools import chain

import numpy as np

from pen import Strokes, ink_box
from serve.preprocess import EmptyDrawing, ImageError

MAX_STROKES = 100  # a long number written stroke by stroke needs a few dozen
MAX_POINTS = 10_000  # in all: a pointer reports about 60 a second, so minutes of drawing
MAX_SIDE = 10_000  # CSS px, a pad's width or height
NUMBER = (int, float)  # what json.loads makes of a JSON number; a bool is neither
# Pen widths: drawn smaller, a digit's strokes run into a blot. Of 400 digits drawn in
# strokes and read as /api/predict reads them, 17% to 25% were read right at 1.2 to 2.5
# pen widths across, and 13% to 25% answered confidently as another digit (a tap was a
# confident "0"); 52% were read right at 3, 98% at 4.
SMALLEST = 2.5


class TooSmall(ImageError):
    """Ink too small against the pen for any digit to be told in it."""


def parse(document: dict, smallest: float = SMALLEST) -> Strokes:
    """The strokes of a JSON document, checked field by field; ImageError says which field
    is wrong. Ink under `smallest` pen widths across is TooSmall (0: a drawing kept when
    the service took it, drawn again whatever it takes now).

    The counts are checked before any point is looked at, so a body of millions
    of points costs one len() per stroke, not a loop over the points.
    """
    strokes = document.get("strokes")
    if type(strokes) is not list:
        raise ImageError('"strokes" must be a list of strokes, each a list of [x, y] points.')
    if len(strokes) > MAX_STROKES:
        raise ImageError(f'"strokes" holds {len(strokes)} strokes; at most {MAX_STROKES} are allowed.')
    for s, stroke in enumerate(strokes):
        if type(stroke) is not list or not stroke:
            raise ImageError(f"strokes[{s}] must be a list of [x, y] points, at least one.")
    points = sum(map(len, strokes))
    if points > MAX_POINTS:
        raise ImageError(f'"strokes" holds {points} points in all; at most {MAX_POINTS} are allowed.')
    width, height = positive(document, "width", MAX_SIDE), positive(document, "height", MAX_SIDE)
    brush = positive(document, "brush", min(width, height) / 2)
    paths = [path(stroke, s, width, height) for s, stroke in enumerate(strokes)]
    if not any(reaches_pad(xy, brush / 2, width, height) for xy in paths):
        raise EmptyDrawing("The drawing is empty: no ink was found.")
    drawn = Strokes(paths, float(width), float(height), float(brush))
    across = ink_box(drawn)[1].max() / brush
    if across < smallest:
        raise TooSmall(f"The drawing is too small to read: draw it bigger. Its ink is {across:.1f} pen widths "
                       f"across; a digit needs at least {smallest:g}.")
    return drawn


def positive(document: dict, field: str, most: float) -> float:
    """A positive number no greater than `most`; NaN and Infinity fail the comparison."""
    value = document.get(field)
    if type(value) not in NUMBER or not 0 < value <= most:
        raise ImageError(f'"{field}" must be a number greater than 0 and at most {most:g}.')
    return value


def path(stroke: list, s: int, width: float, height: float) -> np.ndarray:
    """One stroke's points as a float64 (n, 2) array.

    Checked in bulk first (the types of all its numbers in one pass, the array's
    shape and range); a stroke that fails is gone through point by point, in Python
    before any conversion, to name the point, so an integer too big for a float is
    refused as out of reach rather than overflowing.
    """
    try:
        if set(map(type, chain.from_iterable(stroke))) <= set(NUMBER):
            xy = np.array(stroke, dtype=np.float64)
            within = (xy >= (-width, -height)) & (xy <= (2 * width, 2 * height))
            if xy.ndim == 2 and xy.shape[1] == 2 and within.all():
                return xy
    except (TypeError, ValueError, OverflowError):  # a point that is not a list, ragged rows, a huge integer
        pass
    for p, point in enumerate(stroke):
        if type(point) is not list or len(point) != 2 or type(point[0]) not in NUMBER or type(point[1]) not in NUMBER:
            raise ImageError(f"strokes[{s}][{p}] must be [x, y], two finite numbers.")
        x, y = point
        if not (-width <= x <= 2 * width and -height <= y <= 2 * height):
            raise ImageError(f"strokes[{s}][{p}] must be finite and within the pad's reach: "
                             f"x in [{-width:g}, {2 * width:g}], y in [{-height:g}, {2 * height:g}].")
    return np.array(stroke, dtype=np.float64)


def reaches_pad(xy: np.ndarray, reach: float, width: float, height: float) -> bool:
    """Whether a stroke's box, widened by the brush's radius, overlaps the pad.

    A stroke can leave ink on the pad with no point on it (a brush's edge, or a
    segment between two points outside), so its box is tested, not its points.
    """
    (left, top), (right, bottom) = xy.min(axis=0), xy.max(axis=0)
    return right >= -reach and bottom >= -reach and left <= width + reach and top <= height + reach
