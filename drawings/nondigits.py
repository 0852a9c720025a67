"""Drawings that are not one digit: what the digit model learns to call "not a
digit", and numbers of two or three digits, what it learns to call "several digits".

A model trained on digits alone calls everything a digit: a letter, a star, a
scribble, half a digit. People draw such things on the pad, to try it or by
mistake, so the model must have seen them. Each kind is a few strokes in a unit
box (x right, y down), varied as hands vary them: turned, sheared, stretched,
wobbled, each stroke a little off where it belongs; put at some size somewhere on
a 280 px pad, drawn with some brush, its points a few px apart as a pointer
reports them. The strokes are then drawn and framed exactly as the server draws
and frames strokes: pen.ink_to_frame, cut to the ink, pen.field.

Never drawn as a negative: a circle or ellipse (a 0), a lone near-upright line
(a 1), a figure of eight lying down (two 0s written together: trained on, it made
the model refuse more pairs and triples of digits), nor letters and symbols a
person could read as a digit (see LETTERS and SYMBOLS). HELD_OUT kinds never go
into training, so evaluation can tell how the model does on kinds it never saw;
letters are split the same way.

"fragment" is a picture, not strokes: part of an MNIST digit cut off by a straight
line, too little of it to still be that digit, neither a bar (a 1) nor a loop (a 0),
nor as like some whole digit as digits are to each other. Pass MNIST training digits to make training data and test digits to make
evaluation data, never a mix: a model scored on pieces of digits it was trained
on would look better than it is. The same holds for several_digits.
"""

import math
from typing import Callable, NamedTuple

import numpy as np

import pen
from drawings.numbers import SPACINGS, written_number

PAD = 280  # px: the page's pad; brush widths below are for a pad this wide
ARC_STEP = 6  # degrees between the points that make a template's curve
BAR = 2.5  # a drawing this many times longer than wide, within BAR_TILT of upright, is a 1
BAR_TILT = 35  # degrees


class Variation(NamedTuple):
    """How far one drawing strays from its template, and how it sits on the pad."""
    rotation: float  # degrees, either way
    shear: float  # x shifted by this much of y, either way
    scale: tuple[float, float]  # x and y stretched independently, within this range
    wobble: float  # of the unit box: a smooth warp's amplitude, a hand's unsteadiness
    offset: float  # of the unit box: how far each stroke strays on its own (sd)
    size: tuple[float, float]  # the drawing's longer side, of the pad's
    brush: tuple[float, float]  # px on a PAD px pad: the page's own is 15 (web/app.js), other pens thinner or bolder
    thickest: float  # of the drawing's longer side: a brush any wider blots the shape out
    step: tuple[float, float]  # px on a PAD px pad between the points a pointer reports


FREE = Variation(rotation=15, shear=0.2, scale=(0.6, 1.4), wobble=0.03, offset=0.015,
                 size=(0.3, 0.9), brush=(6, 36), thickest=0.15, step=(2, 6))


# --- templates: strokes in the unit box ---------------------------------------------

def line(*points: tuple[float, float]) -> np.ndarray:
    """A polyline through `points`, its corners kept."""
    return np.array(points, dtype=np.float64)


def arc(cx: float, cy: float, rx: float, ry: float, start: float, end: float) -> np.ndarray:
    """Points along an ellipse from angle `start` to `end` (degrees; y is down, so
    0 is right, 90 the bottom, and growing angles go clockwise on the pad)."""
    angles = np.radians(np.linspace(start, end, max(2, math.ceil(abs(end - start) / ARC_STEP) + 1)))
    return np.column_stack([cx + rx * np.cos(angles), cy + ry * np.sin(angles)])


def joined(*pieces: np.ndarray) -> np.ndarray:
    """One stroke through `pieces` in turn, the pen kept down between them."""
    return np.concatenate(pieces)


def dot(x: float, y: float) -> np.ndarray:
    """A tap: a stroke of one point, which the brush draws as a disc."""
    return line((x, y))


# Letters a person would not read as a digit. Left out, as a digit's look-alike:
# O o D Q (0); I l i j J (1); L (a 1 with a foot); r (a 1 whose flag points the
# other way); T (7); Z z (2); S s $ (5); b G (6); B & (8); A y u (4: u with its
# stem is an open 4); a g q d (9 or 6, a loop with a stem); p is P; c v w x are
# C V W X drawn smaller, and framing makes every drawing the same size.
LETTERS = {
    "C": (arc(0.55, 0.5, 0.45, 0.5, -45, -315),),
    "E": (line((0.85, 0), (0.1, 0), (0.1, 1), (0.85, 1)), line((0.1, 0.5), (0.65, 0.5))),
    "F": (line((0.85, 0), (0.15, 0), (0.15, 1)), line((0.15, 0.5), (0.65, 0.5))),
    "H": (line((0.1, 0), (0.1, 1)), line((0.9, 0), (0.9, 1)), line((0.1, 0.5), (0.9, 0.5))),
    "K": (line((0.15, 0), (0.15, 1)), line((0.85, 0), (0.15, 0.55), (0.85, 1))),
    "M": (line((0.05, 1), (0.15, 0), (0.5, 0.65), (0.85, 0), (0.95, 1)),),
    "N": (line((0.15, 1), (0.15, 0), (0.85, 1), (0.85, 0)),),
    "P": (joined(line((0.15, 1), (0.15, 0), (0.5, 0)), arc(0.5, 0.27, 0.35, 0.27, -90, 90), line((0.15, 0.54))),),
    "R": (joined(line((0.15, 1), (0.15, 0), (0.5, 0)), arc(0.5, 0.27, 0.35, 0.27, -90, 90),
                 line((0.15, 0.54), (0.85, 1))),),
    "U": (joined(line((0.1, 0), (0.1, 0.6)), arc(0.5, 0.6, 0.4, 0.4, 180, 0), line((0.9, 0))),),
    "V": (line((0.05, 0), (0.5, 1), (0.95, 0)),),
    "W": (line((0, 0), (0.25, 1), (0.5, 0.3), (0.75, 1), (1, 0)),),
    "X": (line((0.1, 0), (0.9, 1)), line((0.9, 0), (0.1, 1))),
    "Y": (line((0.1, 0), (0.5, 0.5)), line((0.9, 0), (0.5, 0.5), (0.5, 1))),
    "e": (joined(line((0.1, 0.55), (0.9, 0.55)), arc(0.5, 0.55, 0.4, 0.45, 0, -310)),),
    "f": (joined(arc(0.65, 0.25, 0.25, 0.25, -20, -180), line((0.4, 1))), line((0.15, 0.45), (0.75, 0.45))),
    "h": (joined(line((0.15, 0), (0.15, 1), (0.15, 0.7)), arc(0.5, 0.7, 0.35, 0.3, 180, 360), line((0.85, 1))),),
    "k": (line((0.15, 0), (0.15, 1)), line((0.75, 0.4), (0.15, 0.75), (0.8, 1))),
    "m": (joined(line((0.05, 0.3), (0.05, 1), (0.05, 0.55)), arc(0.275, 0.55, 0.225, 0.25, 180, 360),
                 line((0.5, 1), (0.5, 0.55)), arc(0.725, 0.55, 0.225, 0.25, 180, 360), line((0.95, 1))),),
    "n": (joined(line((0.1, 0.2), (0.1, 1), (0.1, 0.5)), arc(0.5, 0.5, 0.4, 0.3, 180, 360), line((0.9, 1))),),
    "t": (joined(line((0.45, 0), (0.45, 0.8)), arc(0.65, 0.8, 0.2, 0.2, 180, 90)), line((0.15, 0.3), (0.8, 0.3))),
}
# Held out of training: shapes the model meets first in evaluation, some near
# trained ones (R is P with a leg), some not.
HELD_OUT_LETTERS = ("R", "K", "k", "f", "h")

# Symbols; left out: & (an 8 with a tail), $ (a struck-through 5), a vertical
# arrow (a 1 with a flag each side), x (drawn as X).
SYMBOLS = {
    "+": (line((0.5, 0), (0.5, 1)), line((0, 0.5), (1, 0.5))),
    "=": (line((0, 0.3), (1, 0.3)), line((0, 0.7), (1, 0.7))),
    "-": (line((0, 0.5), (1, 0.5)),),
    "?": (joined(arc(0.5, 0.3, 0.35, 0.3, -160, 80), line((0.5, 0.65))), dot(0.5, 1)),
    "!": (line((0.5, 0), (0.5, 0.62)), dot(0.5, 1)),
    "#": (line((0.35, 0), (0.25, 1)), line((0.75, 0), (0.65, 1)), line((0, 0.33), (1, 0.33)), line((0, 0.67), (1, 0.67))),
    "@": (joined(arc(0.5, 0.52, 0.17, 0.2, 0, -360), line((0.67, 0.35), (0.67, 0.65), (0.8, 0.68)),
                 arc(0.5, 0.5, 0.5, 0.5, 20, -300)),),
    "%": (line((0.85, 0), (0.15, 1)), arc(0.2, 0.2, 0.15, 0.17, -90, -450), arc(0.8, 0.8, 0.15, 0.17, -90, -450)),
    "*": (line((0.5, 0), (0.5, 1)), line((0.07, 0.25), (0.93, 0.75)), line((0.93, 0.25), (0.07, 0.75))),
    "<": (line((0.9, 0), (0.1, 0.5), (0.9, 1)),),
    ">": (line((0.1, 0), (0.9, 0.5), (0.1, 1)),),
    "→": (line((0, 0.5), (1, 0.5)), line((0.7, 0.25), (1, 0.5), (0.7, 0.75))),
    "←": (line((1, 0.5), (0, 0.5)), line((0.3, 0.25), (0, 0.5), (0.3, 0.75))),
    "÷": (line((0, 0.5), (1, 0.5)), dot(0.5, 0.15), dot(0.5, 0.85)),
    "~": (joined(arc(0.25, 0.5, 0.25, 0.25, 180, 360), arc(0.75, 0.5, 0.25, 0.25, 180, 0)),),
}


# --- kinds: each a function of the random generator, giving a template ---------------

def letter(rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """A letter that trains."""
    return LETTERS[str(rng.choice([name for name in LETTERS if name not in HELD_OUT_LETTERS]))]


def held_out_letter(rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """A letter that never trains."""
    return LETTERS[str(rng.choice(HELD_OUT_LETTERS))]


def symbol(rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    return SYMBOLS[str(rng.choice(list(SYMBOLS)))]


def star(rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """A five-pointed star in one stroke, or a star's outline with five or six points."""
    if rng.random() < 0.5:
        angles = np.radians(-90 + 144 * np.arange(6))
        radii = np.ones(6)
    else:
        points = int(rng.choice([5, 6]))
        angles = np.radians(-90 + 180 / points * np.arange(2 * points + 1))
        radii = np.where(np.arange(2 * points + 1) % 2, rng.uniform(0.38, 0.5), 1.0)
    return (np.column_stack([0.5 + 0.5 * radii * np.cos(angles), 0.5 + 0.5 * radii * np.sin(angles)]),)


def heart(rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """Two lobes meeting at a point below: in one stroke, or a stroke for each half."""
    left = joined(arc(0.28, 0.3, 0.22, 0.2, 0, -200), line((0.5, 1)))
    right = joined(arc(0.72, 0.3, 0.22, 0.2, 180, 380), line((0.5, 1)))
    return (joined(left, right[::-1]),) if rng.random() < 0.5 else (left, right)


def spiral(rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """Two to three and a half turns out from the middle, either way round."""
    turns = rng.uniform(2, 3.5)
    angles = np.linspace(0, 2 * math.pi * turns, math.ceil(40 * turns))
    radii = 0.5 * (0.05 + 0.95 * angles / angles[-1])
    way = rng.choice([-1, 1])
    return (np.column_stack([0.5 + radii * np.cos(way * angles), 0.5 + radii * np.sin(way * angles)]),)


def tick(rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """A check mark: a short stroke down, a long one up to the right."""
    return (line((0, rng.uniform(0.4, 0.7)), (rng.uniform(0.25, 0.4), 1), (1, rng.uniform(0, 0.1))),)


def hatch(rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """Three to five parallel lines, at most 60 degrees off level (upright ones would be
    a row of 1s), sometimes crossed by a second set."""
    strokes = parallel_lines(rng, rng.uniform(-60, 60))
    if rng.random() < 0.5:
        strokes += parallel_lines(rng, rng.uniform(-60, 60) + 90 * rng.choice([-1, 1]) * rng.uniform(0.6, 1))
    return tuple(strokes)


def parallel_lines(rng: np.random.Generator, degrees: float) -> list[np.ndarray]:
    """Three to five lines across the unit box at `degrees` from level, each drawn the same way."""
    count = int(rng.integers(3, 6))
    turn = np.radians(degrees)
    across, along = np.array([-math.sin(turn), math.cos(turn)]), np.array([math.cos(turn), math.sin(turn)])
    lines = []
    for offset in np.linspace(-0.4, 0.4, count):
        ends = rng.uniform(-0.5, -0.35), rng.uniform(0.35, 0.5)
        lines.append(0.5 + offset * across + np.outer(ends, along))
    return lines


def smiley(rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """A face: its outline, two eyes (dots or short strokes) and a smile."""
    start = rng.uniform(-150, -30)
    face = arc(0.5, 0.5, 0.5, 0.5, start, start + rng.choice([-1, 1]) * rng.uniform(360, 390))
    if rng.random() < 0.5:
        eyes = [dot(0.33, 0.35), dot(0.67, 0.35)]
    else:
        eyes = [line((0.33, 0.28), (0.33, 0.42)), line((0.67, 0.28), (0.67, 0.42))]
    return (face, *eyes, arc(0.5, 0.5, 0.3, 0.3, rng.uniform(15, 35), rng.uniform(145, 165)))


def house(rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """Walls, a roof, and perhaps a door."""
    walls = line((0.15, 0.45), (0.15, 1), (0.85, 1), (0.85, 0.45), (0.15, 0.45))
    roof = line((0.05, 0.5), (0.5, 0.05), (0.95, 0.5))
    door = line((0.4, 1), (0.4, 0.7), (0.6, 0.7), (0.6, 1))
    return (walls, roof, door) if rng.random() < 0.5 else (walls, roof)


def triangle(rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """A closed triangle in one stroke, from any corner, ending a little past where it began."""
    angles = np.radians(-90 + 120 * np.arange(3) + rng.normal(0, 12, 3))
    corners = np.column_stack([np.cos(angles), np.sin(angles)]) * rng.uniform(0.85, 1.15, (3, 1))
    corners = np.roll(corners, int(rng.integers(3)), axis=0)
    overshoot = corners[0] + rng.uniform(0, 0.15) * (corners[1] - corners[0])
    return (np.vstack([corners, corners[:1], overshoot]),)


def cross_out(rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """A zigzag back and forth, as a person crosses something out: six to ten sweeps
    (fewer make a 3 or a Z), moving on far enough that they stay apart."""
    sweeps = int(rng.integers(6, 11))
    along = np.arange(sweeps + 1) % 2 + rng.normal(0, 0.05, sweeps + 1)
    onward = np.linspace(0, rng.uniform(0.5, 1), sweeps + 1) + rng.normal(0, 0.02, sweeps + 1)
    xy = np.column_stack([along, onward])
    return (xy[:, ::-1] if rng.random() < 0.5 else xy,)


def scribble(rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """The pen wandering: a sum of three waves across and three down, none slow enough
    to close a single loop (which would be a 0)."""
    t = np.linspace(0, 2 * math.pi * rng.uniform(1, 2), 400)
    waves = rng.uniform(1.5, 4, (2, 3))
    amplitudes = rng.uniform(0.3, 1, (2, 3)) / waves
    phases = rng.uniform(0, 2 * math.pi, (2, 3))
    xy = (amplitudes[..., None] * np.sin(waves[..., None] * t + phases[..., None])).sum(axis=1)
    return (xy.T,)


def dots(rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """Four to twelve taps anywhere."""
    return tuple(dot(x, y) for x, y in rng.uniform(0, 1, (int(rng.integers(4, 13)), 2)))


def flower(rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """A small round middle and five to eight petals round it, each a loop of its own."""
    petals = int(rng.integers(5, 9))
    start = rng.uniform(0, 360)
    strokes = [arc(0.5, 0.5, 0.12, 0.12, 0, 360)]
    loop = arc(0, 0, 0.19, 0.09, 0, 360)  # a petal lying along x, turned into place
    for k in range(petals):
        angle = math.radians(start + 360 * k / petals)
        middle = 0.5 + 0.31 * np.array([math.cos(angle), math.sin(angle)])
        turn = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
        strokes.append(loop @ turn.T + middle)
    return tuple(strokes)


def sun(rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """A disc's outline and six to ten rays standing out from it."""
    rays = int(rng.integers(6, 11))
    start = rng.uniform(0, 360)
    strokes = [arc(0.5, 0.5, 0.25, 0.25, start, start + 360)]
    for k in range(rays):
        angle = math.radians(start + 360 * k / rays)
        direction = np.array([math.cos(angle), math.sin(angle)])
        strokes.append(line(tuple(0.5 + 0.33 * direction), tuple(0.5 + 0.5 * direction)))
    return tuple(strokes)


def cat(rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """A face with two pointed ears in one outline, two eyes and whiskers or a nose."""
    face = joined(line((0.14, 0.42), (0.18, 0.02), (0.38, 0.24)), arc(0.5, 0.6, 0.4, 0.4, -108, -72),
                  line((0.62, 0.24), (0.82, 0.02), (0.86, 0.42)), arc(0.5, 0.6, 0.4, 0.4, -25, 205))
    eyes = (dot(0.36, 0.55), dot(0.64, 0.55))
    if rng.random() < 0.5:
        return (face, *eyes, line((0.45, 0.72), (0.55, 0.72), (0.5, 0.78), (0.45, 0.72)))
    return (face, *eyes, line((0.05, 0.68), (0.38, 0.72)), line((0.95, 0.68), (0.62, 0.72)))


def eye(rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """An almond, two arcs meeting at its corners, and a round pupil inside."""
    upper, lower = arc(0.5, 0.95, 0.6, 0.65, 213, 327), arc(0.5, 0.05, 0.6, 0.65, 33, 147)
    pupil = arc(0.5, 0.5, 0.15, 0.15, 0, 360) if rng.random() < 0.5 else dot(0.5, 0.5)
    return (joined(upper, lower), pupil)


def checkbox(rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """A square with a tick (or a cross) in it."""
    square = line((0, 0), (1, 0), (1, 1), (0, 1), (0, 0))
    if rng.random() < 0.5:
        return square, line((0.2, 0.5), (0.42, 0.8), (0.85, 0.2))
    return square, line((0.2, 0.2), (0.8, 0.8)), line((0.8, 0.2), (0.2, 0.8))


def coil(rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """Loop after loop along a line, as a pen doodles in a margin: three to six turns."""
    turns = int(rng.integers(3, 7))
    t = np.linspace(0, 2 * math.pi * turns, 36 * turns)
    way = rng.choice([-1, 1])
    return (np.column_stack([t / (2 * math.pi) + 0.6 * np.cos(way * t + math.pi), 0.5 + 0.5 * np.sin(way * t)]),)


def tree(rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """A fir: three tiers of branches in one zigzag outline, on a trunk."""
    crown = line((0.5, 0), (0.2, 0.3), (0.38, 0.3), (0.1, 0.55), (0.32, 0.55), (0, 0.8), (1, 0.8), (0.68, 0.55),
                 (0.9, 0.55), (0.62, 0.3), (0.8, 0.3), (0.5, 0))
    return crown, line((0.42, 0.8), (0.42, 1), (0.58, 1), (0.58, 0.8))


def moon(rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """A crescent: an outer arc and a flatter inner one, joined at the horns, facing either way."""
    crescent = joined(arc(0.5, 0.5, 0.5, 0.5, 60, 300), arc(0.85, 0.5, 0.45, 0.5, 240, 120))
    return (crescent if rng.random() < 0.5 else np.column_stack([1 - crescent[:, 0], crescent[:, 1]]),)


def envelope(rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """A wide rectangle and its flap, a V from the top corners."""
    return line((0, 0.15), (1, 0.15), (1, 0.85), (0, 0.85), (0, 0.15)), line((0, 0.15), (0.5, 0.55), (1, 0.15))


def cloud(rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """A closed outline of five to eight round bumps."""
    bumps = int(rng.integers(5, 9))
    centres = np.radians(np.linspace(0, 360, bumps, endpoint=False) + rng.uniform(0, 360))
    pieces = []
    for angle in centres:
        cx, cy = 0.5 + 0.32 * math.cos(angle), 0.5 + 0.26 * math.sin(angle)
        facing = math.degrees(angle)
        pieces.append(arc(cx, cy, 0.2, 0.17, facing - 100, facing + 100))
    return (joined(*pieces, pieces[0][:1]),)


def cone(rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """An ice cream: a scoop on a cone, the cone crossed by a line or two."""
    scoop = joined(arc(0.5, 0.38, 0.4, 0.36, 160, 380), line((0.5, 1), (0.12, 0.5)))
    lines = [line((0.25, 0.55), (0.6, 0.85)), line((0.75, 0.55), (0.4, 0.85))][:int(rng.integers(1, 3))]
    return (scoop, *lines)


def leaf(rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """Two arcs meeting in points, a vein along the middle and a stalk out of one end."""
    outline = joined(arc(0.55, 0.9, 0.45, 0.75, 232, 308), arc(0.55, 0.1, 0.45, 0.75, 52, 128))
    return outline, line((0.28, 0.5), (0.82, 0.5)), line((0.28, 0.5), (0.05, 0.6))


def fish(rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """A body whose outline crosses itself into a tail, and an eye."""
    body = joined(arc(0.4, 0.5, 0.38, 0.3, 40, 320), line((1, 0.75), (1, 0.25), (0.69, 0.69)))
    return body, dot(0.22, 0.45)


SHAPES: dict[str, Callable[[np.random.Generator], tuple[np.ndarray, ...]]] = {
    "letter": letter, "letter (held out)": held_out_letter, "symbol": symbol, "star": star,
    "heart": heart, "spiral": spiral, "tick": tick, "hatch": hatch, "smiley": smiley,
    "house": house, "triangle": triangle, "cross-out": cross_out, "scribble": scribble, "dots": dots,
    "flower": flower, "sun": sun, "cat": cat, "eye": eye, "checkbox": checkbox, "coil": coil, "tree": tree,
    "moon": moon, "envelope": envelope, "cloud": cloud, "cone": cone, "leaf": leaf, "fish": fish,
}
# Kinds whose lines run close together, and the widest brush (of the drawing's longer
# side) that leaves them apart; a wider one fills them in, a blob of no kind.
FINE = {"spiral": 0.07, "hatch": 0.08, "cross-out": 0.06, "scribble": 0.06, "flower": 0.06, "coil": 0.06}
KINDS: tuple[str, ...] = (*SHAPES, "fragment")
HELD_OUT: tuple[str, ...] = ("heart", "house", "fish", "letter (held out)")
TRAINED: tuple[str, ...] = tuple(kind for kind in KINDS if kind not in HELD_OUT)


# --- a template drawn as a hand draws it -----------------------------------------------

def sketch(kind: str, rng: np.random.Generator, pad: int = PAD) -> pen.Strokes:
    """One drawing of `kind` as the page would send it from a `pad` px square pad; drawn
    again while it comes out as an upright bar (a 1), as a scribble now and then does."""
    if kind not in SHAPES:
        raise ValueError(f"{kind!r} is not drawn in strokes; kinds in strokes are {', '.join(SHAPES)}")
    variation = FREE._replace(thickest=FINE.get(kind, FREE.thickest))
    while True:
        strokes = drawn(SHAPES[kind](rng), rng, pad, variation)
        points = np.concatenate(strokes.paths)
        if not upright_bar(np.cov(points.T) + np.eye(2) * strokes.brush ** 2 / 12):  # a brush's width adds w²/12 across
            return strokes


def drawn(template: tuple[np.ndarray, ...], rng: np.random.Generator, pad: int,
          variation: Variation) -> pen.Strokes:
    """`template` (strokes in the unit box) varied by `variation`, placed on the pad,
    its points as far apart as a pointer reports them."""
    paths = wobbled(template, rng, variation.wobble)
    paths = [xy + rng.normal(0, variation.offset, 2) for xy in paths]
    matrix = affine(rng, variation)
    paths, brush = placed([xy @ matrix.T for xy in paths], rng, pad, variation)
    step = rng.uniform(*variation.step) * pad / PAD
    return pen.Strokes([resampled(xy, step) for xy in paths], float(pad), float(pad), brush)


def wobbled(paths: tuple[np.ndarray, ...], rng: np.random.Generator, amount: float) -> list[np.ndarray]:
    """`paths` through a smooth random warp: a slow wave for each of x and y, in a
    random direction, `amount` of the unit box at most."""
    directions = rng.normal(0, 4, (2, 2))
    phases = rng.uniform(0, 2 * math.pi, 2)
    return [xy + amount * np.sin(xy @ directions + phases) for xy in paths]


def affine(rng: np.random.Generator, variation: Variation) -> np.ndarray:
    """A 2x2 matrix: x and y stretched apart, then sheared, then turned."""
    turn = math.radians(rng.uniform(-variation.rotation, variation.rotation))
    rotation = np.array([[math.cos(turn), -math.sin(turn)], [math.sin(turn), math.cos(turn)]])
    shear = np.array([[1, rng.uniform(-variation.shear, variation.shear)], [0, 1]])
    return rotation @ shear @ np.diag(rng.uniform(*variation.scale, 2))


def placed(paths: list[np.ndarray], rng: np.random.Generator, pad: int,
           variation: Variation) -> tuple[list[np.ndarray], float]:
    """`paths` scaled so the drawing's longer side is `variation.size` of the pad, put
    anywhere it fits whole, brush and all; and the brush."""
    points = np.concatenate(paths)
    low, extent = points.min(axis=0), np.ptp(points, axis=0)
    size = rng.uniform(*variation.size) * pad
    thinnest, thickest = (width * pad / PAD for width in variation.brush)
    brush = min(rng.uniform(thinnest, thickest), max(thinnest, variation.thickest * size))
    scale = min(size, pad - brush - 2) / max(extent.max(), 1e-9)
    room = pad - extent * scale - brush
    corner = brush / 2 + rng.uniform(0, 1, 2) * np.maximum(room, 0)
    return [(xy - low) * scale + corner for xy in paths], float(brush)


def resampled(xy: np.ndarray, step: float) -> np.ndarray:
    """The stroke's points `step` px apart along it, its ends kept."""
    lengths = np.concatenate([[0], np.cumsum(np.linalg.norm(np.diff(xy, axis=0), axis=1))])
    if lengths[-1] == 0:
        return xy[:1]
    at = np.append(np.arange(0, lengths[-1], step), lengths[-1])
    return np.column_stack([np.interp(at, lengths, xy[:, 0]), np.interp(at, lengths, xy[:, 1])])


# --- model inputs ----------------------------------------------------------------------

def field_of(strokes: pen.Strokes) -> np.ndarray:
    """The 28x28 model input the server makes of `strokes`."""
    return pen.field(pen.ink_to_frame(strokes))


def fields(count: int, seed: int, kinds: tuple[str, ...],
           digits: np.ndarray | None = None) -> tuple[np.ndarray, list[str]]:
    """`count` model inputs (float32, 28x28, in [0, 1]) of drawings that are not one
    digit, and each one's kind, `kinds` taken in turn. "fragment" cuts pieces from
    `digits` (28x28 uint8 MNIST digits): training digits for training data, test
    digits for evaluation, never a mix."""
    if "fragment" in kinds and digits is None:
        raise ValueError('"fragment" needs digits to cut pieces from')
    rng = np.random.default_rng(seed)
    bank = digit_bank(digits) if "fragment" in kinds else None
    made, names = np.zeros((count, pen.SIDE, pen.SIDE), dtype=np.float32), []
    for i in range(count):
        kind = kinds[i % len(kinds)]
        made[i] = fragment(digits, rng, bank) if kind == "fragment" else field_of(sketch(kind, rng))
        names.append(kind)
    return made, names


# --- pieces of digits ---------------------------------------------------------------------

FRAGMENT_SHARE = (0.2, 0.4)  # of the digit's ink, kept: more, and a 7's bar and half its stem is still a 7
HOLE = 3  # px: blank enclosed by ink, at least this much, makes a loop (a 0)
BANK = 1000  # whole digits a fragment is compared with
LIKE = 0.89  # cosine, coarse: about half of MNIST training digits are this like one of BANK others; 12% of fragments are


def fragment(digits: np.ndarray, rng: np.random.Generator, bank: np.ndarray) -> np.ndarray:
    """The model input of part of a digit drawn at random from `digits`: the ink on one
    side of a random straight cut near its middle, FRAGMENT_SHARE of it, framed. Not
    kept if it is a bar or a loop, or as like a whole digit in `bank` (digit_bank) as
    whole digits typically are to each other: a 9 less the left of its loop is a 7, a
    piece of stem a slanted 1. Tries digit after digit until one gives such a piece."""
    rows, cols = np.indices(digits.shape[1:])
    while True:
        ink = digits[rng.integers(len(digits))].astype(np.float32) / 255
        total = ink.sum()
        centre = np.array([(cols * ink).sum(), (rows * ink).sum()]) / total
        turn = rng.uniform(0, 2 * math.pi)
        normal = np.array([math.cos(turn), math.sin(turn)])
        through = centre + normal * rng.uniform(0, 5)
        piece = ink * (((cols - through[0]) * normal[0] + (rows - through[1]) * normal[1]) > 0)
        share = piece.sum() / total
        if FRAGMENT_SHARE[0] <= share <= FRAGMENT_SHARE[1] and not is_bar(piece) and not has_hole(piece):
            framed = pen.field(piece)
            if not digit_like(framed, bank):
                return framed


def digit_bank(digits: np.ndarray) -> np.ndarray:
    """The first BANK of `digits` framed as the model sees them, each as a coarse unit vector."""
    vectors = coarse(np.stack([pen.field(digit.astype(np.float32) / 255) for digit in digits[:BANK]]))
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def coarse(framed: np.ndarray) -> np.ndarray:
    """(n, 28, 28) fields as (n, 196) vectors, 2x2 pixels averaged: a comparison of
    shapes that a stroke a pixel off does not upset, and four times quicker."""
    return framed.reshape(len(framed), 14, 2, 14, 2).mean(axis=(2, 4)).reshape(len(framed), -1)


def digit_like(field: np.ndarray, bank: np.ndarray) -> bool:
    """Whether `field` is LIKE or more (cosine) to some whole digit in `bank`."""
    vector = coarse(field[None])[0]
    return bool((bank @ vector).max() >= LIKE * np.linalg.norm(vector))


def is_bar(ink: np.ndarray) -> bool:
    """Whether `ink` is one straight near-upright stroke, a 1."""
    rows, cols = np.indices(ink.shape)
    return upright_bar(np.cov(np.stack([cols.ravel(), rows.ravel()]), aweights=ink.ravel()))


def upright_bar(spread: np.ndarray) -> bool:
    """Whether ink spread as `spread` (the 2x2 covariance of its x and y) is a bar:
    BAR times longer than wide, along an axis within BAR_TILT of vertical."""
    variances, axes = np.linalg.eigh(spread)
    thin = variances[1] > BAR ** 2 * max(variances[0], 1e-9)
    return bool(thin and abs(axes[1, 1]) > math.cos(math.radians(BAR_TILT)))


def has_hole(ink: np.ndarray) -> bool:
    """Whether blank pixels, HOLE of them or more, are enclosed by ink: the blank
    reachable from the border is grown a pixel at a time, to 4 neighbours."""
    blank = np.pad(ink < 0.3, 1, constant_values=True)
    outside = np.zeros_like(blank)
    outside[[0, -1]] = outside[:, [0, -1]] = True
    while True:
        grown = outside.copy()  # the border row and column stay reached: they are all blank
        grown[1:-1, 1:-1] |= outside[:-2, 1:-1] | outside[2:, 1:-1] | outside[1:-1, :-2] | outside[1:-1, 2:]
        grown &= blank
        if (grown == outside).all():
            return int((blank & ~grown).sum()) >= HOLE
        outside = grown


# --- several digits ------------------------------------------------------------------------

def several_digits(images: np.ndarray, labels: np.ndarray, count: int,
                   seed: int) -> tuple[np.ndarray, list[str]]:
    """`count` model inputs of numbers of two or three digits drawn at random from
    `images`/`labels` (MNIST training digits for training, test digits for
    evaluation), written as drawings.numbers writes them, the whole number framed
    as one drawing; and each number as text. Lengths and SPACINGS are taken in turn."""
    rng = np.random.default_rng(seed)
    made, texts = np.zeros((count, pen.SIDE, pen.SIDE), dtype=np.float32), []
    for i in range(count):
        picks = rng.integers(0, len(images), 2 + i % 2)
        ink, _, _ = written_number(list(images[picks]), rng, SPACINGS[i % len(SPACINGS)])
        made[i] = pen.field(ink / 255)
        texts.append("".join(str(label) for label in labels[picks]))
    return made, texts
