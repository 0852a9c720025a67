"""MNIST digits re-drawn the way people hand them to the service.

A person's drawing is not a 28x28 MNIST image: it is a canvas of a few hundred
pixels, the digit somewhere on it at some size, black on white, white on black,
or black on a transparent background (what a canvas exports). These helpers turn
test digits into such canvases so the service can be measured on inputs that
look like real use, with the true labels known; and `bad_inputs` makes the
awkward requests a public service receives.
"""

import base64
import io

import numpy as np
from PIL import Image

STYLES = ("black-on-white", "white-on-black", "black-on-transparent")


def as_canvas(digit: np.ndarray, rng: np.random.Generator, style: str) -> Image.Image:
    """`digit` (28x28 uint8, white on black) upscaled onto a 280-500 px canvas, at a
    random place, its ink 30-90% of the canvas' height."""
    side = int(rng.integers(280, 501))
    rows, cols = np.flatnonzero(digit.max(axis=1)), np.flatnonzero(digit.max(axis=0))
    ink = np.pad(digit[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1], 1)
    scale = min(rng.uniform(0.3, 0.9) * side / (ink.shape[0] - 2), (side - 1) / ink.shape[1])
    height, width = round(ink.shape[0] * scale), round(ink.shape[1] * scale)
    big = np.asarray(Image.fromarray(ink).resize((width, height), Image.Resampling.BICUBIC))
    canvas = np.zeros((side, side), dtype=np.uint8)
    top, left = rng.integers(0, side - height + 1), rng.integers(0, side - width + 1)
    canvas[top:top + height, left:left + width] = big
    ink = canvas
    if style == "white-on-black":
        return Image.fromarray(ink)
    if style == "black-on-white":
        return Image.fromarray(255 - ink)
    rgba = np.zeros((side, side, 4), dtype=np.uint8)
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


class Chunked:
    """A body requests sends with chunked transfer encoding, as often as it is sent."""

    def __init__(self, data: bytes):
        self.data = data

    def __iter__(self):
        yield self.data


def bad_inputs(valid_png: bytes):
    """(name, request keyword arguments, expected status) of awkward inputs a service
    meets, made from one valid drawing: broken, disguised, huge, empty or exotic."""
    digit = Image.open(io.BytesIO(valid_png)).convert("L")
    sixteen = Image.fromarray(np.asarray(digit, dtype=np.uint16) * 257)
    animated = encoded(digit, format="GIF", save_all=True, append_images=[Image.new("L", digit.size, 0)])
    png = {"Content-Type": "image/png"}
    return [
        ("not an image", dict(data=b"GIF89a but not really", headers=png), 400),
        ("zero-byte body", dict(data=b"", headers=png), 400),
        ("truncated PNG", dict(data=valid_png[: len(valid_png) // 2], headers=png), 400),
        ("invalid JSON", dict(data=b'{"image": ', headers={"Content-Type": "application/json"}), 400),
        ("JSON not an object", dict(json=["data:image/png;base64,AAAA"]), 400),
        ("JSON without image", dict(json={"picture": "AAAA"}), 400),
        ("image not a string", dict(json={"image": 7}), 400),
        ("bad base64", dict(json={"image": "data:image/png;base64,@@not base64@@"}), 400),
        ("base64 of text", dict(json={"image": base64.b64encode(b"hello").decode()}), 400),
        ("form without image field", dict(files={"picture": ("a.png", valid_png, "image/png")}), 400),
        ("broken multipart", dict(data=b"--x\r\nnonsense", headers={"Content-Type": "multipart/form-data; boundary=x"}), 400),
        ("wrong content type", dict(data=valid_png, headers={"Content-Type": "text/plain"}), 415),
        ("TIFF content type", dict(data=valid_png, headers={"Content-Type": "image/tiff"}), 415),
        ("TIFF image", dict(data=encoded(digit, format="TIFF"), headers=png), 415),
        ("chunked body", dict(data=Chunked(valid_png), headers=png), 411),
        ("blank canvas", dict(data=png_bytes(Image.new("RGBA", (400, 400), (0, 0, 0, 0))), headers=png), 422),
        ("1x1 image", dict(data=png_bytes(Image.new("L", (1, 1), 0)), headers=png), 422),
        ("10000x10000 blank PNG", dict(data=png_bytes(Image.new("1", (10_000, 10_000), 1)), headers=png), 413),
        ("16-bit PNG", dict(data=png_bytes(sixteen), headers=png), 200),
        ("CMYK JPEG", dict(data=encoded(digit.convert("CMYK"), format="JPEG"), headers={"Content-Type": "image/jpeg"}), 200),
        ("palette PNG", dict(data=png_bytes(digit.convert("P")), headers=png), 200),
        ("animated GIF", dict(data=animated, headers={"Content-Type": "image/gif"}), 200),
    ]
