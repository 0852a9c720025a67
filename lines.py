"""How a written number becomes what the number model reads: shared by training,
export and serving.

Neighbouring digits written quickly touch, and slanted ones overlap in x, so a number
cannot be read by cutting it at its blank columns. The number model reads the whole
line instead, as handwriting recognisers do: a row of convolutions slides along it
and says, every FRAME px, which digit it sees there or that it sees none (a blank,
CTC's way of marking where one digit ends and the next begins). Training and serving
must draw the line alike, so both import this:

  the number's ink -> cropped to its ink, scaled to LINE px tall (as MNIST digits are
  20 px in their 28 px field) -> PAD px of blank on every side, its width rounded up
  to whole frames: the model's input, HEIGHT px tall.

Pure numpy and Pillow: the serve image carries this file.
"""

from typing import NamedTuple

import numpy as np
from PIL import Image

import contract

LINE = 20  # px: the number's ink height once scaled
PAD = 4  # px of blank around the line's ink in the model's input
HEIGHT = LINE + 2 * PAD  # px: the model's input is this tall, and as wide as the line
FRAME = 4  # px of input per output frame: the model halves the width twice
INKED = 0.2  # of full ink: a pixel that belongs to a stroke
MAX_WIDTH = 28  # px: no digit on the line is wider than this (1.4 times its height)


class Line(NamedTuple):
    """A number's ink scaled to LINE px tall; line x = (picture x - left) * scale."""
    ink: np.ndarray
    left: int
    top: int
    scale: float


Box = tuple[int, int, int, int]  # x, y, w, h on the line


def line(ink: np.ndarray) -> Line:
    """`ink` (float in [0, 1], white on black) cropped to what is inked, LINE px tall."""
    mask = ink > INKED
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    crop = ink[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    scale = LINE / crop.shape[0]
    size = (max(1, round(crop.shape[1] * scale)), LINE)
    scaled = Image.fromarray(crop.astype(np.float32)).resize(size, Image.Resampling.LANCZOS)
    return Line(np.clip(np.asarray(scaled), 0, 1), int(cols[0]), int(rows[0]), scale)


def framed(ink: np.ndarray) -> np.ndarray:
    """A line's ink (LINE px tall) as the model's input, float32 (HEIGHT, width): PAD px
    of blank around it, as many whole frames wide as that takes. Output frame t then
    looks at the line's columns FRAME * t - PAD to FRAME * (t + 1) - PAD."""
    width = -(-(ink.shape[1] + 2 * PAD) // FRAME) * FRAME
    out = np.zeros((HEIGHT, width), dtype=np.float32)
    out[PAD:PAD + LINE, PAD:PAD + ink.shape[1]] = ink
    return out


def frame_centre(frame: float) -> float:
    """The line's column at the middle of an output frame."""
    return FRAME * frame + FRAME / 2 - PAD


def spikes(frames: np.ndarray) -> list[tuple[int, int]]:
    """The digits the number model reads along a line, from its (frames, 11)
    probabilities, left to right, each with the frame where it is surest of it: each
    frame's likeliest output, a run of the same merged into one, blanks dropped (CTC's
    greedy reading)."""
    best = frames.argmax(axis=1)
    starts = np.flatnonzero(np.r_[True, best[1:] != best[:-1]])
    stops = np.r_[starts[1:], len(best)]
    return [(int(best[start]), int(start + frames[start:stop, best[start]].argmax()))
            for start, stop in zip(starts, stops) if best[start] != contract.BLANK]
