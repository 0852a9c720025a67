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

A server reads each line at two phases of the frames (PHASES), the second only where
the first is unsure of it (SURE), and keeps the reading both find likeliest (`likeliest`).

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
PHASES = (0, FRAME // 2)  # px of blank added before the line: read twice, half a frame apart
SURE = 0.8  # a line whose first phase's greedy path is at least this likely is not read at the second (README: Numbers)


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


def framed(ink: np.ndarray, shift: int = 0, width: int | None = None) -> np.ndarray:
    """A line's ink (LINE px tall) as the model's input, float32 (HEIGHT, width): PAD px
    of blank around it and `shift` px more on its left, `width` px wide or else as many
    whole frames as that takes. Output frame t then looks at the line's columns
    FRAME * t - PAD - shift to FRAME * (t + 1) - PAD - shift."""
    width = width or whole_frames(ink.shape[1] + 2 * PAD + shift)
    out = np.zeros((HEIGHT, width), dtype=np.float32)
    out[PAD:PAD + LINE, PAD + shift:PAD + shift + ink.shape[1]] = ink
    return out


def phased(ink: np.ndarray) -> np.ndarray:
    """A line's ink framed once for each of PHASES, all as wide: (len(PHASES), HEIGHT, width),
    for the model to read in one call."""
    width = whole_frames(ink.shape[1] + 2 * PAD + max(PHASES))
    return np.stack([framed(ink, shift, width) for shift in PHASES])


def whole_frames(width: int) -> int:
    """`width` px rounded up to whole frames."""
    return -(-width // FRAME) * FRAME


def frame_centre(frame: float, shift: int = 0) -> float:
    """The line's column at the middle of an output frame of the line framed `shift` px
    further right."""
    return FRAME * frame + FRAME / 2 - PAD - shift


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


def path_probability(frames: np.ndarray) -> float:
    """The probability of a line's greedy path, from its (frames, 11) probabilities:
    each frame's likeliest output, all of them."""
    return float(np.prod(frames.max(axis=1), dtype=np.float64))


def likeliest(readings: np.ndarray) -> int:
    """Which of a line's readings, (phases, frames, 11) probabilities, to trust: the one
    whose greedy reading (`spikes`) all of them together find likeliest, its CTC
    log-likelihood summed over them. Frames fall across each digit differently at each
    phase, so a digit that one phase's frames split awkwardly, and read as two or
    as none, is read whole at the other, which finds that reading unlikely."""
    spelled = [tuple(digit for digit, _ in spikes(frames)) for frames in readings]
    if len(set(spelled)) == 1:
        return 0
    return int(np.argmax(log_likelihoods(readings, spelled)))


def log_likelihoods(readings: np.ndarray, spellings: list[tuple[int, ...]]) -> np.ndarray:
    """Each spelling's log P(digits | frames), summed over the readings, (phases, frames,
    11) probabilities: CTC's forward algorithm, over every way of spelling the digits
    with one output a frame (each digit's frames in a run, blanks before, between and
    after, and a blank between two of the same digit), all spellings and phases at once."""
    lengths = np.array([len(digits) for digits in spellings])
    states = np.full((len(spellings), 2 * lengths.max() + 1), contract.BLANK)  # blank, digit, blank, ..., blank
    for row, digits in zip(states, spellings):
        row[1:2 * len(digits):2] = digits
    spelled = np.arange(states.shape[1]) <= 2 * lengths[:, None]  # a shorter spelling's states end early
    # A digit's state may be reached from two states back, past a blank, unless it repeats the digit there.
    skips = np.zeros_like(spelled)
    skips[:, 2:] = (states[:, 2:] != states[:, :-2]) & (states[:, 2:] != contract.BLANK)
    log_p = np.log(np.maximum(readings.astype(np.float64), 1e-300))
    emitted = np.where(spelled, log_p[:, :, states], -np.inf)  # (phases, frames, spellings, states)
    alpha = np.full(emitted[:, 0].shape, -np.inf)  # log P(the frames so far, ending in each state)
    alpha[..., :2] = emitted[:, 0, :, :2]
    before, two_before = np.full_like(alpha, -np.inf), np.full_like(alpha, -np.inf)
    for frame in emitted[:, 1:].swapaxes(0, 1):
        before[..., 1:], two_before[..., 2:] = alpha[..., :-1], alpha[..., :-2]
        alpha = np.logaddexp(np.logaddexp(alpha, before), np.where(skips, two_before, -np.inf)) + frame
    rows, ends = np.arange(len(spellings)), 2 * lengths  # a spelling ends on its last digit or the blank after it
    ended = np.logaddexp(alpha[:, rows, ends], np.where(ends > 0, alpha[:, rows, ends - 1], -np.inf))
    return ended.sum(axis=0)
