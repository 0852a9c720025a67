"""The HTTP service: the drawing page, and digits predicted from images.

    GET  /                     the page (web/index.html) and its static files
    POST /api/predict          one image: JSON {"image": data URL or base64},
                               raw image bytes, or multipart form field "image"
    POST /api/predict/batch    JSON {"images": [...]}, up to 256, one model call
    GET  /api/model            model.json of the served model
    GET  /healthz              {"status": "ok"} once the model is loaded

Every error is JSON {"error": "..."} with a 4xx status. Request bodies are read
into memory within a size limit and never written to disk, so concurrent users
never share anything.
"""

import base64
import binascii
import json
import time
from pathlib import Path

import bottle
import numpy as np

from serve import MAX_BODY_BYTES, preprocess
from serve.model import DigitModel

WEB_DIR = Path(__file__).resolve().parent.parent / "web"
MAX_BATCH = 256
IMAGE_TYPES = {"image/png", "image/jpeg", "image/webp", "image/gif", "image/bmp", "image/x-ms-bmp"}


class BadRequest(Exception):
    """A request the client must change; carries the HTTP status and the words to show."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def create_app(model_path, web_dir=WEB_DIR, max_body_bytes=MAX_BODY_BYTES) -> bottle.Bottle:
    """A WSGI application serving `model_path`; the model is loaded here, once."""
    model = DigitModel(model_path)
    model_id = model.sha256[:12]
    app = bottle.Bottle()
    # Bottle spools bodies above MEMFILE_MAX to a temporary file; ours stay in memory.
    bottle.BaseRequest.MEMFILE_MAX = max_body_bytes

    def json_error(error: bottle.HTTPError) -> str:
        bottle.response.content_type = "application/json"
        message = error.body if isinstance(error.body, str) and error.body else error.status_line
        return json.dumps({"error": message})

    app.default_error_handler = json_error

    @app.hook("after_request")
    def security_headers():
        """The page loads nothing from elsewhere, so the browser may refuse anything else."""
        bottle.response.set_header("X-Content-Type-Options", "nosniff")
        bottle.response.set_header("Content-Security-Policy",
                                   "default-src 'self'; img-src 'self' data: blob:; frame-ancestors 'none'")

    def answer(fields: list[np.ndarray], started: float) -> list[dict]:
        probabilities = model.predict(np.stack(fields))
        elapsed_ms = round((time.perf_counter() - started) * 1000, 2)
        return [{
            "digit": int(p.argmax()),
            "confidence": round(float(p.max()), 6),
            "probabilities": [round(float(v), 6) for v in p],
            "input": "data:image/png;base64," + base64.b64encode(preprocess.to_png(f)).decode(),
            "model": model_id,
            "elapsed_ms": elapsed_ms,
        } for p, f in zip(probabilities, fields)]

    def handle(read_images, batch: bool):
        """Runs one API call, turning every client mistake into its JSON error."""
        started = time.perf_counter()
        try:
            fields = [to_model_input(data, f"images[{i}]: " if batch else "")
                      for i, data in enumerate(read_images())]
        except BadRequest as error:
            raise bottle.HTTPError(error.status, str(error)) from None
        return answer(fields, started)

    @app.post("/api/predict")
    def predict():
        return handle(lambda: [read_single_image(max_body_bytes)], batch=False)[0]

    @app.post("/api/predict/batch")
    def predict_batch():
        return {"predictions": handle(lambda: read_batch(max_body_bytes), batch=True)}

    @app.get("/api/model")
    def model_card():
        return model.card

    @app.get("/healthz")
    def healthz():
        return {"status": "ok", "model": model_id}

    @app.get("/")
    def index():
        return bottle.static_file("index.html", root=str(web_dir))

    @app.get("/<path:re:(?!api/).+>")
    def static(path):
        return bottle.static_file(path, root=str(web_dir))  # refuses paths outside web_dir

    return app


def read_body(limit: int) -> bytes:
    """The request body, refused with 413 past `limit` before it is read."""
    request = bottle.request
    if request.chunked:
        raise BadRequest(411, "Send the body with a Content-Length header, not chunked.")
    if request.content_length > limit:
        raise BadRequest(413, f"The request is {request.content_length} bytes; the limit is {limit} bytes.")
    return request.body.read()


def media_type() -> str:
    return bottle.request.content_type.split(";")[0].strip().lower()


def read_single_image(limit: int) -> bytes:
    """The image of a predict call, from JSON, raw bytes or a multipart form."""
    kind = media_type()
    body = read_body(limit)
    if kind == "application/json":
        return decode_base64(parse_json(body).get("image"), "image")
    if kind in IMAGE_TYPES:
        return body
    if kind == "multipart/form-data":
        try:
            upload = bottle.request.files.get("image")
        except Exception:  # Bottle's multipart parser raises several kinds on a broken form
            raise BadRequest(400, "The multipart form is malformed.") from None
        if upload is None:
            raise BadRequest(400, 'The form has no file field named "image".')
        return upload.file.read()
    raise BadRequest(415, f"Unsupported Content-Type {kind or '(none)'}: send JSON, "
                          "an image (PNG, JPEG, WebP, GIF, BMP) or a multipart form.")


def read_batch(limit: int) -> list[bytes]:
    """The images of a batch call: JSON {"images": [...]}, 1 to 256 of them."""
    if media_type() != "application/json":
        raise BadRequest(415, 'Send the batch as JSON: {"images": [...]}.')
    images = parse_json(read_body(limit)).get("images")
    if not isinstance(images, list) or not 1 <= len(images) <= MAX_BATCH:
        raise BadRequest(400, f'"images" must be a list of 1 to {MAX_BATCH} images.')
    return [decode_base64(image, f"images[{i}]") for i, image in enumerate(images)]


def parse_json(body: bytes) -> dict:
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest(400, "The body is not valid JSON.") from None
    if not isinstance(document, dict):
        raise BadRequest(400, "The JSON body must be an object.")
    return document


def decode_base64(value, field: str) -> bytes:
    """Bytes of a data URL ("data:image/png;base64,...") or of bare base64."""
    if not isinstance(value, str) or not value:
        raise BadRequest(400, f'"{field}" must be a data URL or a base64 string of an image.')
    if value.startswith("data:"):
        header, _, value = value.partition(",")
        if not header.endswith(";base64"):
            raise BadRequest(400, f'"{field}" must be a base64 data URL.')
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise BadRequest(400, f'"{field}" is not valid base64.') from None


def to_model_input(data: bytes, where: str) -> np.ndarray:
    """The 28x28 model input of one image; `where` names it in errors of a batch."""
    try:
        return preprocess.from_bytes(data)
    except preprocess.ImageError as error:
        raise BadRequest(error.status, where + str(error)) from None
