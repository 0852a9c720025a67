"""The pen and MNIST's frame: how a drawing becomes what the digit model reads,
shared by serving and the synthetic drawings (drawings/), so a model is trained on
pictures drawn and framed exactly as the ones it is served:

  draw:  strokes (the pad's points, each stroke one pointer-down..up) drawn with the
         page's round brush -> ink, float32 in [0, 1], white on black (for the
         digit model, only the ink's box, just big enough: ink_to_frame);
  field: ink cut to its box -> longer side to 20 px -> centre of mass to the centre
         of 28x28, as MNIST digits are framed.

Pure numpy and Pillow: the serve image carries this file.
"""

import math
from typing import NamedTuple

import numpy as np
from PIL import Image, ImageDraw

SIDE, BOX = 28, 20  # px: MNIST's field, and the box its digits are scaled into
FRAMED = 4 * BOX  # px: the longer side strokes' ink is drawn at, to be scaled down to BOX
LARGEST = 256  # px: nor drawn larger than this, however thin the brush
TURN = math.radians(15)  # a wide line's corner leaves a notch 1% of its width deep


class Strokes(NamedTuple):
    paths: list[np.ndarray]  # one float64 (n, 2) array of (x, y) per stroke, in the pad's CSS px
    width: float
    height: float
    brush: float  # the pen's width, in the same units


def draw(strokes: Strokes, side: float) -> np.ndarray:
    """The drawing as the page shows it, the pad's longer side `side` px: float32 in
    [0, 1], 1 where there is ink. The round brush is a line as wide between each two
    points and a disc at each end and each turn (so a one-point stroke is a dot).
    Pillow's joint="curve" with discs at the ends leaves 5% of a thick stroke's edge
    out and takes three times as long over 10,000 points of zigzag. The brush is kept
    at least 1 px wide so a drawing shown small does not vanish. The image is the
    pad: ink beyond it is cut off.
    """
    longer = max(strokes.width, strokes.height)
    scale = side / longer
    pixels = (math.ceil(strokes.width * side / longer), math.ceil(strokes.height * side / longer))
    brush = max(1.0, strokes.brush * scale)
    radius = max(brush - 1, 1) / 2  # Pillow's ellipse box holds both edge pixels; under 1 px it may draw nothing
    drawing = Image.new("L", pixels)
    pen = ImageDraw.Draw(drawing)
    for xy in strokes.paths:
        xy = xy * scale - 0.5  # Pillow centres pixel (0, 0) on 0, the pad on 0.5
        pen.line(xy.ravel().tolist(), fill=1, width=round(brush))
        for x, y in joints(xy).tolist():
            pen.ellipse([x - radius, y - radius, x + radius, y + radius], fill=1)
    return np.asarray(drawing, dtype=np.float32)


def ink_to_frame(strokes: Strokes) -> np.ndarray:
    """The strokes' ink alone (the box of the pad it covers), drawn just big enough
    to be framed: about FRAMED px on its longer side, four times what field() scales
    it to, so the scaling smooths the brush's hard edges; and at a scale that makes
    the brush a whole number of pixels wide, as Pillow draws lines. The page's 7
    (bench/strokes.json) is drawn and framed this way in 0.26 ms, against 0.42 ms
    drawing the whole pad 256 px wide as before; the model reads styled digits and
    non-digits drawn either way alike (4,500 of each, from seeds training does not use).
    """
    low, (width, height) = ink_box(strokes)
    longer = max(width, height)
    if longer == 0:  # no ink on the pad
        return np.zeros((0, 0), dtype=np.float32)
    scale = min(max(1, round(strokes.brush * FRAMED / longer)) / strokes.brush, LARGEST / longer)
    return draw(Strokes([xy - low for xy in strokes.paths], width, height, strokes.brush), longer * scale)


def ink_box(strokes: Strokes) -> tuple[np.ndarray, np.ndarray]:
    """The top-left corner and the size of the box the strokes' ink covers on the pad
    (the brush's radius around their points, cut off at the pad's edges)."""
    points = np.concatenate(strokes.paths)
    low = np.maximum(points.min(axis=0) - strokes.brush / 2, 0)
    high = np.minimum(points.max(axis=0) + strokes.brush / 2, (strokes.width, strokes.height))
    return low, np.maximum(high - low, 0)


def joints(xy: np.ndarray) -> np.ndarray:
    """The points of a stroke that need a disc: its ends, and turns sharper than TURN,
    where two wide lines leave a notch; along a smooth curve they meet flush, and a
    pointer reports a point every few pixels of one."""
    if len(xy) < 3:
        return xy
    before, after = np.diff(xy[:-1], axis=0), np.diff(xy[1:], axis=0)
    lengths = np.linalg.norm(before, axis=1) * np.linalg.norm(after, axis=1)
    sharp = (before * after).sum(axis=1) < math.cos(TURN) * lengths  # a repeated point counts as a turn
    return np.concatenate([xy[:1], xy[1:-1][sharp | (lengths == 0)], xy[-1:]])


def field(ink: np.ndarray) -> np.ndarray:
    """float32 (28, 28): `ink` cut to its box and framed as MNIST frames a digit."""
    return centre_by_mass(fit_box(cut(ink)))


def cut(ink: np.ndarray, over: float = 0) -> np.ndarray:
    """`ink` cut to the box of its pixels over `over`; all of it where none is. An MNIST
    digit sits in its 28x28 field with blank margins of its own, which would otherwise
    count as part of its size."""
    inked = ink > over
    if not inked.any():
        return ink
    rows, cols = np.flatnonzero(inked.any(axis=1)), np.flatnonzero(inked.any(axis=0))
    return ink[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]


def fit_box(ink: np.ndarray) -> np.ndarray:
    """Scaled with antialiasing so the longer side is 20 px, aspect kept."""
    height, width = ink.shape
    scale = BOX / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    resized = Image.fromarray(ink.astype(np.float32)).resize(size, Image.Resampling.LANCZOS)
    return np.clip(np.asarray(resized), 0, 1)


def centre_by_mass(digit: np.ndarray) -> np.ndarray:
    """Placed in 28x28 with its centre of mass at the centre, as MNIST digits are."""
    height, width = digit.shape
    total = digit.sum()
    rows, cols = np.indices(digit.shape)
    mass_row = (rows * digit).sum() / total if total else height / 2
    mass_col = (cols * digit).sum() / total if total else width / 2
    top = int(np.clip(round(SIDE / 2 - mass_row), 0, SIDE - height))
    left = int(np.clip(round(SIDE / 2 - mass_col), 0, SIDE - width))
    framed = np.zeros((SIDE, SIDE), dtype=np.float32)
    framed[top:top + height, left:left + width] = digit
    return framed
