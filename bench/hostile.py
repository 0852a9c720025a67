"""The awkward requests a public service receives, made from one valid drawing.

Used by the tests (each must get its clear JSON answer) and by the soak in `make bench`.
"""

import base64
import io

import numpy as np
from PIL import Image

from drawings import encoded, png_bytes


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
