"""MNIST digits re-drawn the way people hand them to the service.

A person's drawing is not a 28x28 MNIST image: it is a canvas of a few hundred
pixels, the digit somewhere on it at some size, black on white, white on black,
or black on a transparent background (what a canvas exports). These helpers turn
test digits into such canvases so the service can be measured on inputs that
look like real use, with the true labels known. Shared by train, tests and
bench: training data is made from MNIST training digits, evaluation data from test digits.
"""

import io

import numpy as np
from PIL import Image

import pen

STYLES = ("black-on-white", "white-on-black", "black-on-transparent")
# Pictures drawn without MNIST digits (letters, doodles, styled digits) are the same for
# the same seed, whichever digits go with them. Training draws its own with its seed and
# the next, both in TRAINING_SEEDS; the sets figures are measured on use seed 0 (export's
# card) and seeds from 1000 up (the benchmarks, the tests), so no picture is in both.
TRAINING_SEEDS = range(1, 1000)


def as_canvas(digit: np.ndarray, rng: np.random.Generator, style: str) -> Image.Image:
    """`digit` (28x28 uint8, white on black) upscaled onto a 280-500 px canvas, at a
    random place, its ink 30-90% of the canvas' height."""
    side = int(rng.integers(280, 501))
    ink = np.pad(pen.cut(digit), 1)
    scale = min(rng.uniform(0.3, 0.9) * side / (ink.shape[0] - 2), (side - 1) / ink.shape[1])
    big = scaled(ink, scale)
    height, width = big.shape
    canvas = np.zeros((side, side), dtype=np.uint8)
    top, left = rng.integers(0, side - height + 1), rng.integers(0, side - width + 1)
    canvas[top:top + height, left:left + width] = big
    return in_style(canvas, style)


def scaled(ink: np.ndarray, scale: float) -> np.ndarray:
    """`ink` resized by `scale`; bicubic, so enlarged strokes keep smooth edges, as drawn ones have."""
    height, width = round(ink.shape[0] * scale), round(ink.shape[1] * scale)
    return np.asarray(Image.fromarray(ink).resize((width, height), Image.Resampling.BICUBIC))


def in_style(ink: np.ndarray, style: str) -> Image.Image:
    """`ink` (uint8, white on black) as a canvas in `style` exports it."""
    if style == "white-on-black":
        return Image.fromarray(ink)
    if style == "black-on-white":
        return Image.fromarray(255 - ink)
    rgba = np.zeros((*ink.shape, 4), dtype=np.uint8)
    rgba[..., 3] = ink
    return Image.fromarray(rgba)


PAPERS = ("plain", "ruled", "squared")
LIGHTS = ("room", "flash", "shadow")


def as_photo(digit: np.ndarray, rng: np.random.Generator, paper: str = "plain", light: str = "room",
             faintest: float = 1) -> bytes:
    """`digit` as a phone photo of ink on `paper` in `light` (photographed()); where
    `faintest` is under 1, the pen fades across the digit to that share of its ink."""
    ink = np.asarray(as_canvas(digit, rng, "white-on-black"))
    if faintest < 1:
        ink = fading(ink, rng, faintest)
    return photographed(ink, rng, paper, light)


def fading(ink: np.ndarray, rng: np.random.Generator, faintest: float) -> np.ndarray:
    """`ink` (uint8) fading evenly from all of it to `faintest` of it across the
    picture, in any direction: a pen running dry, or pressed ever more lightly."""
    y, x = np.mgrid[0:ink.shape[0], 0:ink.shape[1]] / max(ink.shape)
    angle = rng.uniform(0, 2 * np.pi)
    along = x * np.cos(angle) + y * np.sin(angle)
    along = (along - along.min()) / np.ptp(along)
    return (ink * (1 - (1 - faintest) * along)).astype(np.uint8)


def on_a_page(ink: np.ndarray, rng: np.random.Generator, share: float, light: str = "room") -> bytes:
    """`ink` (uint8, white on black: a digit, a number) written small somewhere on a
    whole page, photographed (photographed()): a 2400 x 1800 px phone photo, the ink
    `share` of its height."""
    crop = np.pad(pen.cut(ink), 1)
    small = scaled(crop, share * 1800 / (crop.shape[0] - 2))
    page = np.zeros((1800, 2400), dtype=np.uint8)
    top, left = rng.integers(0, 1800 - small.shape[0]), rng.integers(0, 2400 - small.shape[1])
    page[top:top + small.shape[0], left:left + small.shape[1]] = small
    return photographed(page, rng, "plain", light)


def photographed(ink: np.ndarray, rng: np.random.Generator, paper: str = "plain", light: str = "room") -> bytes:
    """`ink` (uint8, white on black) as a phone photo of ink on paper, a JPEG: grey
    paper lit unevenly (lit()), a dark but not black pen, sensor noise. On "ruled" or
    "squared" paper, its printed lines cross the page (rulings())."""
    ink = ink.astype(np.float32) / 255
    light = lit(ink.shape, rng, light)
    paper_luma, pen = rng.uniform(0.75, 0.95), rng.uniform(0.05, 0.3)
    if paper != "plain":
        paper_luma = paper_luma * (1 - rulings(ink, rng, paper))
    photo = (paper_luma - (paper_luma - pen) * ink) * light + rng.normal(0, 0.03, ink.shape)
    return encoded(Image.fromarray((np.clip(photo, 0, 1) * 255).astype(np.uint8)).convert("RGB"),
                   format="JPEG", quality=85)


def lit(shape: tuple[int, int], rng: np.random.Generator, light: str) -> np.ndarray:
    """How much light falls on each pixel of a page photographed in `light`, 1 at the
    brightest: in a "room", it grows across the page from 60% in one corner; a phone's
    "flash" lights the middle, and the corners get 30-60% less; a "shadow" (the phone's,
    a hand's) falls across a room-lit page, its straight edge anywhere and at any angle,
    blurred over 1-4% of the page, taking 30-55% of the light."""
    y, x = np.mgrid[0:shape[0], 0:shape[1]] / max(shape)
    if light == "room":
        return 0.6 + 0.4 * (rng.uniform(0.3, 1) * x + rng.uniform(0, 0.5) * y) / 1.5
    if light == "shadow":
        room = lit(shape, rng, "room")
        angle, across, down = rng.uniform(0, 2 * np.pi), rng.uniform(0.1, 0.9), rng.uniform(0.1, 0.9)
        past_the_edge = (x - across * x.max()) * np.cos(angle) + (y - down * y.max()) * np.sin(angle)
        blur, taken = rng.uniform(0.01, 0.04), rng.uniform(0.3, 0.55)
        return room * (1 - taken / (1 + np.exp(-past_the_edge / blur)))
    off_centre = (x - x.mean()) ** 2 + (y - y.mean()) ** 2
    return 1 - rng.uniform(0.3, 0.6) * off_centre / off_centre.max()


def rulings(ink: np.ndarray, rng: np.random.Generator, paper: str) -> np.ndarray:
    """How much darker than the paper its printed lines are, at each pixel of `ink`'s
    canvas: a school exercise book's, the page turned up to 4 degrees in the photo.
    The digit is written between the lines of ruled paper (60-90% of their spacing)
    and over one or two squares of squared paper; lines are 10-35% darker than the
    paper, 1-3% of the digit's height wide."""
    rows = np.flatnonzero(ink.max(axis=1) > 0.3)
    height = rows[-1] - rows[0] + 1
    spacing = height / (rng.uniform(0.6, 0.9) if paper == "ruled" else rng.uniform(1, 2))
    half_width = max(0.5, rng.uniform(0.01, 0.03) * height / 2)
    darker = rng.uniform(0.1, 0.35)
    turn = np.radians(rng.uniform(-4, 4))
    y, x = np.mgrid[0:ink.shape[0], 0:ink.shape[1]].astype(np.float32)
    across = y * np.cos(turn) - x * np.sin(turn)  # distance down the page, perpendicular to its lines
    along = x * np.cos(turn) + y * np.sin(turn)
    directions = [across] if paper == "ruled" else [across, along]
    lines = np.zeros(ink.shape, dtype=np.float32)
    for distance in directions:
        past_a_line = (distance - rng.uniform(0, spacing)) % spacing
        to_the_nearest = np.minimum(past_a_line, spacing - past_a_line)
        lines = np.maximum(lines, np.clip(half_width + 0.5 - to_the_nearest, 0, 1))  # antialiased edges
    return darker * lines


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def canvases(digits: np.ndarray, seed: int = 0):
    """PNG bytes of each digit as a canvas, the styles taken in turn."""
    rng = np.random.default_rng(seed)
    for i, digit in enumerate(digits):
        yield png_bytes(as_canvas(digit, rng, STYLES[i % len(STYLES)]))


def encoded(image: Image.Image, **save_options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, **save_options)
    return buffer.getvalue()
