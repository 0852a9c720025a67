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

STYLES = ("black-on-white", "white-on-black", "black-on-transparent")


def as_canvas(digit: np.ndarray, rng: np.random.Generator, style: str) -> Image.Image:
    """`digit` (28x28 uint8, white on black) upscaled onto a 280-500 px canvas, at a
    random place, its ink 30-90% of the canvas' height."""
    side = int(rng.integers(280, 501))
    ink = np.pad(ink_crop(digit), 1)
    scale = min(rng.uniform(0.3, 0.9) * side / (ink.shape[0] - 2), (side - 1) / ink.shape[1])
    big = scaled(ink, scale)
    height, width = big.shape
    canvas = np.zeros((side, side), dtype=np.uint8)
    top, left = rng.integers(0, side - height + 1), rng.integers(0, side - width + 1)
    canvas[top:top + height, left:left + width] = big
    return in_style(canvas, style)


def ink_crop(image: np.ndarray) -> np.ndarray:
    """`image` cut to its ink's bounding box: an MNIST digit sits in its 28x28 field
    with blank margins of its own, which would otherwise count as part of its size."""
    rows, cols = np.flatnonzero(image.max(axis=1)), np.flatnonzero(image.max(axis=0))
    return image[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]


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


def as_photo(digit: np.ndarray, rng: np.random.Generator) -> bytes:
    """`digit` as a phone photo of ink on paper: grey paper lit unevenly across the
    frame, a dark but not black pen, sensor noise, JPEG compression."""
    ink = np.asarray(as_canvas(digit, rng, "white-on-black"), dtype=np.float32) / 255
    y, x = np.mgrid[0:ink.shape[0], 0:ink.shape[1]] / max(ink.shape)
    light = 0.6 + 0.4 * (rng.uniform(0.3, 1) * x + rng.uniform(0, 0.5) * y) / 1.5
    paper, pen = rng.uniform(0.75, 0.95), rng.uniform(0.05, 0.3)
    photo = (paper - (paper - pen) * ink) * light + rng.normal(0, 0.03, ink.shape)
    return encoded(Image.fromarray((np.clip(photo, 0, 1) * 255).astype(np.uint8)).convert("RGB"),
                   format="JPEG", quality=85)


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
