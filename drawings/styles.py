"""Digits drawn with the pad's pen as people write them, in the US and elsewhere:
for tests that the service reads a drawn digit right whichever way it was taught.

MNIST was written by Americans: its 1s are bare bars, its 7s uncrossed, its 4s
mostly closed at the top. Much of the world writes a 1 with a flag (and perhaps a
foot), crosses its 7s, leaves the 4 open, and some loop the foot of their 2. Each
(digit, style) in STYLED is a few strokes in a unit box, varied on the pad by the
machinery of drawings.nondigits, but gently (MODEST): a digit that leans or
stretches too far stops being clearly that digit.
"""

import math

import numpy as np

import pen
from drawings.nondigits import FREE, PAD, arc, drawn, field_of, joined, line

MODEST = FREE._replace(rotation=8, shear=0.1, scale=(0.85, 1.15), wobble=0.015, offset=0.008)


def figure_eight() -> np.ndarray:
    """An 8 in one stroke from the top, its upper loop the smaller, ending past where it began."""
    t = np.linspace(0, 2 * math.pi + 0.3, 80)
    height = (1 - np.cos(t)) / 2
    return np.column_stack([0.5 - 0.75 * np.sin(t) * np.cos(t), height ** 1.25])


SEVEN = line((0.1, 0), (0.9, 0), (0.4, 1))
FLAGGED_ONE = line((0.2, 0.3), (0.6, 0), (0.6, 1))
LOOPED_BASE = joined(arc(0.5, 0.3, 0.38, 0.3, -160, 20), line((0.15, 0.98)),
                     arc(0.15, 0.86, 0.12, 0.12, 90, 360), line((0.35, 0.98), (0.95, 0.98)))
DIGITS = {
    (0, "plain"): (arc(0.5, 0.5, 0.32, 0.5, -80, -450),),
    (1, "plain"): (line((0.5, 0), (0.5, 1)),),
    (2, "plain"): (joined(arc(0.5, 0.3, 0.38, 0.3, -160, 20), line((0.1, 1), (0.92, 1))),),
    (3, "plain"): (joined(arc(0.5, 0.27, 0.33, 0.25, -160, 90), arc(0.5, 0.77, 0.37, 0.25, -90, 160)),),
    (4, "plain"): (line((0.65, 0), (0.08, 0.68), (0.95, 0.68)), line((0.68, 0.1), (0.68, 1))),
    (5, "plain"): (joined(line((0.25, 0), (0.2, 0.45)), arc(0.48, 0.7, 0.35, 0.3, -140, 150)),
                   line((0.25, 0), (0.85, 0))),
    (6, "plain"): (joined(arc(0.6, 0.65, 0.45, 0.62, -100, -180), arc(0.5, 0.72, 0.35, 0.28, 180, -190)),),
    (7, "plain"): (SEVEN,),
    (8, "plain"): (figure_eight(),),
    (9, "plain"): (joined(arc(0.45, 0.3, 0.33, 0.28, -10, -370), line((0.72, 1))),),
    (1, "flagged"): (FLAGGED_ONE,),
    (1, "flagged with a foot"): (FLAGGED_ONE, line((0.3, 1), (0.9, 1))),
    (7, "crossed"): (SEVEN, line((0.35, 0.5), (0.9, 0.5))),
    (4, "open"): (line((0.15, 0), (0.1, 0.65), (0.92, 0.65)), line((0.7, 0), (0.7, 1))),
    (2, "looped"): (LOOPED_BASE,),
}
STYLED: tuple[tuple[int, str], ...] = tuple(DIGITS)


def sketch_digit(digit: int, style: str, rng: np.random.Generator, pad: int = PAD) -> pen.Strokes:
    """`digit` written in `style` as the page would send it from a `pad` px square pad."""
    return drawn(DIGITS[digit, style], rng, pad, MODEST)


def fields(count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """`count` model inputs (float32, 28x28) of styled digits, STYLED taken in turn, as
    the server frames strokes, and their digits. Training and evaluation use different
    seeds: the templates are the same, the hands that vary them are not."""
    rng = np.random.default_rng(seed)
    styled = [STYLED[i % len(STYLED)] for i in range(count)]
    made = np.zeros((count, pen.SIDE, pen.SIDE), dtype=np.float32)
    for i, (digit, style) in enumerate(styled):
        made[i] = field_of(sketch_digit(digit, style, rng))
    return made, np.array([digit for digit, _ in styled], dtype=np.int64)
