"""The awkward requests a public service receives, made from one valid drawing.

Broken, disguised, empty or exotic files; files a few kilobytes long that would cost
seconds or gigabytes to decode; hostile JSON; calls another site makes a visitor's
browser send; and for /api/number, drawings made to cost its reader the most. Used by
the tests (each must get its clear JSON answer) and by `make bench` (the soak, and
the CPU-seconds each costs).
"""

import base64
import io
import math
import struct

import numpy as np
from PIL import Image, ImageDraw

from drawings import encoded, png_bytes


class Chunked:
    """A body requests sends with chunked transfer encoding, as often as it is sent."""

    def __init__(self, data: bytes):
        self.data = data

    def __iter__(self):
        yield self.data


def bad_inputs(valid_png: bytes):
    """(name, request keyword arguments, expected status) of awkward inputs a service
    meets, made from one valid drawing."""
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
        ("JPEG with 2,000 scans", dict(data=many_scans(digit, 2000), headers={"Content-Type": "image/jpeg"}), 413),
        ("lossless WebP of 16.7 megapixels", dict(data=encoded(Image.new("RGBA", (4096, 4096)), format="WEBP",
                                                                lossless=True), headers=png), 413),
        ("1x100000 PNG strip", dict(data=png_bytes(Image.new("L", (1, 100_000), 255)), headers=png), 413),
        ("run-length compressed BMP", dict(data=rle_bmp(2000, 2000), headers={"Content-Type": "image/bmp"}), 415),
        ("4-megapixel blank RGBA PNG", dict(data=png_bytes(Image.new("RGBA", (2000, 2000))), headers=png), 422),
        ("JSON nested 5,000 deep", dict(data=b'{"image": ' + b"[" * 5000 + b"]" * 5000 + b"}",
                                        headers={"Content-Type": "application/json"}), 400),
        ("cross-site form post", dict(files={"image": ("a.png", valid_png, "image/png")},
                                      headers={"Sec-Fetch-Site": "cross-site"}), 403),
        ("post from another origin", dict(data=valid_png, headers={**png, "Origin": "http://elsewhere.example"}), 403),
    ]


def costly_numbers() -> list:
    """(name, request keyword arguments, expected status) of drawings that cost
    /api/number's reader the most: every stroke and point the strokes form allows, and
    ink as wide as a number may be (serve/number.py refuses lines of more than 20
    digits' width before the number model sees them)."""
    wide, tall = 9000, 300
    posts = [[[wide * s / 100 + 40 * (i % 2), 20 + 2.6 * (i * 37 % 100)] for i in range(100)] for s in range(100)]
    scribble = [[x, 150 + 120 * math.sin(i)] for i, x in enumerate(np.linspace(0, 900, 10_000).tolist())]
    rings, band = Image.new("L", (2000, 300), 255), Image.new("L", (2000, 100), 255)
    for i in range(20):
        ImageDraw.Draw(rings).ellipse([i * 100 + 5, 20, i * 100 + 95, 280], outline=0, width=10)
    along = np.linspace(0, 1990, 3000)
    ImageDraw.Draw(band).line(list(zip(along, 50 + 45 * np.sin(along / 3))), fill=0, width=3)
    png = {"Content-Type": "image/png"}
    return [
        ("100 strokes of 100 points across a wide pad", dict(json={"strokes": posts, "width": wide, "height": tall,
                                                                   "brush": 6}), 422),
        ("one stroke of 10,000 points zigzagging across the pad", dict(json={"strokes": [scribble], "width": 900,
                                                                              "height": 300, "brush": 8}), 200),
        ("20 rings side by side", dict(data=png_bytes(rings), headers=png), 200),  # 20 digits, the most read
        ("a band of touching loops 28 digits long", dict(data=png_bytes(band), headers=png), 200),
    ]


def costly_batch() -> list:
    """(name, request keyword arguments, expected status) of the batch that costs the
    most to read: as many pictures as a batch holds, each small and noisy, so each is
    read as a photo (its light fitted), whose cost does not shrink with its size."""
    rng = np.random.default_rng(0)
    pictures = []
    for _ in range(64):
        grey = rng.integers(0, 30, (64, 64))
        grey[16:48, 21:32] += 225  # a stroke, on noise
        pictures.append(base64.b64encode(png_bytes(Image.fromarray(grey.astype(np.uint8)))).decode())
    return [("a batch of 64 small noisy photos", dict(json={"images": pictures}), 200)]


def many_scans(picture: Image.Image, scans: int) -> bytes:
    """A progressive JPEG followed by `scans` tiny extra scans: each a few bytes, each
    one more walk over every block of the picture for a decoder that reads them all."""
    jpeg = encoded(picture.convert("RGB"), format="JPEG", progressive=True)
    dc_refinement = b"\xff\xda" + struct.pack(">HBBBBBB", 8, 1, 1, 0x00, 0, 0, 0x10) + b"\x00"
    return jpeg[:-2] + dc_refinement * scans + b"\xff\xd9"


def rle_bmp(width: int, height: int) -> bytes:
    """A blank 8-bit BMP in run-length encoding, which Pillow decodes in pure Python."""
    runs = b"".join(bytes([min(255, width - x), 0]) for x in range(0, width, 255))
    pixels = (runs + b"\0\0") * height + b"\0\1"  # each row ends with 0 0, the picture with 0 1
    palette = b"".join(bytes([v, v, v, 0]) for v in range(256))
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 8, 1, len(pixels), 2835, 2835, 256, 0)
    offset = 14 + len(info) + len(palette)
    return b"BM" + struct.pack("<IHHI", offset + len(pixels), 0, 0, offset) + info + palette + pixels
