"""The HTTP service: the drawing page, and digits predicted from images.

    GET  /                         the page (web/index.html) and its static files
    POST /api/predict              one drawing: JSON {"image": data URL or base64}, raw image
                                   bytes, multipart form field "image", or JSON strokes
                                   (serve/strokes.py: the pen's path, nothing to decode);
                                   the answer's verdict says whether it is one digit
    POST /api/predict/batch        JSON {"images": [...]}, up to 64, one model call
    POST /api/number               a written number (the same bodies as /api/predict): its
                                   digits, each with its box and input (serve/number.py)
    POST /api/feedback             a correction: a drawing (JSON image or strokes) and what it
                                   really is; kept with what the models read in it (serve/feedback.py)
    DELETE /api/feedback/<id>      the correction taken back, with its delete token
    GET  /api/feedback/stats       how many corrections are kept, by status
    GET  /admin                    the review page (web/admin.html), when ADMIN_TOKEN is set
    GET  /api/admin/corrections    pending corrections, newest first, with their pictures
    POST /api/admin/review         {"ids": [...], "status": "accepted"}: corrections reviewed
    GET  /api/model                model.json of the served model
    GET  /api/model/<plot>.png     its plots beside it (contract.PLOTS), for the model card page (web/model.html)
    GET  /api/openapi.json         the OpenAPI 3 document of all of this
    GET  /livez /readyz /healthz   the process answers / the model is warmed up / both
    GET  /metrics                  Prometheus metrics of every worker

Every error is JSON {"error": "..."}: helpers abort() with the status and words for a
person, and one handler writes them. Request bodies are read into memory within a
size limit and never written to disk, so concurrent users never share anything; what
a picture will cost to decode is checked from its header first (serve/preprocess.py).
"""

import base64
import binascii
import hmac
import io
import json
import logging
import math
import re
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlsplit

import bottle
import numpy as np
from bottle import abort, request, response

import contract
import pen
from serve import MAX_BODY_BYTES, feedback, metrics, number, preprocess, strokes
from serve.model import OnnxModel
from serve.store import Unavailable

ADMIN_PAGE = 20  # pending corrections listed at a time, unless asked for fewer or more
MAX_ADMIN_PAGE = 100
MAX_REVIEWED = 1000  # ids in one review call
SERVE_DIR = Path(__file__).resolve().parent
WEB_DIR = SERVE_DIR.parent / "web"
# A picture costs about 30 ns a pixel to read, and however small, 0.5 ms (a clean drawing)
# to 4 ms (one read as a photo, whose light is fitted): 256 small photos took a CPU-second,
# 64 take a fifth to a quarter of one (make bench, the costliest batch: 0.18 to 0.25 CPU-s).
MAX_BATCH = 64
MAX_BATCH_PIXELS = 16_000_000  # decoded pixels of a whole batch
IMAGE_TYPES = {"image/png", "image/jpeg", "image/webp", "image/gif", "image/bmp", "image/x-ms-bmp"}
STATUS_OF = {preprocess.UnsupportedImage: 415, preprocess.ImageTooLarge: 413, preprocess.EmptyDrawing: 422,
             strokes.TooSmall: 422, number.TooManyMarks: 422, number.NoDigits: 422}
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
COUNTED_METHODS = SAFE_METHODS | {"POST", "DELETE"}  # any other method is counted as "other": one series, not one each
REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
# What a correction may say was drawn: a number as written (number.MAX_DIGITS digits at most), or no digit.
LABEL = re.compile(r"-?[0-9]+(?:[.,][0-9]+)*|not a digit")
CLIENT_KEY = re.compile(r"[A-Za-z0-9_-]{1,64}")
CORRECTION_ID = re.compile(r"[0-9a-f]{32}")
MAX_CLAIM = 64  # characters of what the page says the model read, and which model
PNG_MODES = {"1", "L", "LA", "I;16", "P", "RGB", "RGBA"}  # Pillow writes these as PNG as they are
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    # The page loads nothing from elsewhere and shows its pictures as data URLs: refuse anything else.
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; "
                               "base-uri 'none'; form-action 'self'",
    "Referrer-Policy": "no-referrer",  # nothing the page asks for needs to know where it was asked from
}
access_log = logging.getLogger("serve.access")
error_log = logging.getLogger("serve.error")


def create_app(model_path, corrections: feedback.Feedback, web_dir=WEB_DIR, max_body_bytes=MAX_BODY_BYTES,
               feedback_rate=feedback.RATE, trusted_proxies=frozenset(), admin_token=None) -> bottle.Bottle:
    """A WSGI application serving the digit model at `model_path` and the number model
    beside it, and keeping corrections in `corrections`, at most `feedback_rate` a minute
    from one client; the address of a client is the one a proxy in `trusted_proxies`
    ("*": any peer) says in X-Forwarded-For. Whoever sends `admin_token` may review the
    corrections; without one, nobody can. The models are loaded and warmed up here, once."""
    model = OnnxModel(model_path)
    number_model = OnnxModel(Path(model_path).with_name(contract.NUMBERS.onnx_file), contract.NUMBERS)
    for warming in (model, number_model):  # the first call allocates; /readyz answers after it
        warming.predict(np.zeros((1, 28, 28), np.float32))
    app = bottle.Bottle()
    app.config.update({"reader.model": model, "reader.model_id": model.sha256[:12],
                       "reader.number_model": number_model, "reader.number_model_id": number_model.sha256[:12],
                       "reader.web_dir": str(web_dir), "reader.max_body_bytes": max_body_bytes,
                       "reader.feedback": corrections, "reader.feedback_rate": feedback_rate,
                       "reader.trusted_proxies": frozenset(trusted_proxies), "reader.admin_token": admin_token or ""})
    bottle.BaseRequest.MEMFILE_MAX = max_body_bytes  # Bottle's own (process-wide) knob: bodies this size stay in memory
    metrics.MODEL_INFO.labels(model=model.sha256[:12]).set(1)
    app.default_error_handler = json_error
    app.add_hook("before_request", begin)
    app.add_hook("after_request", finish)
    app.install(no_tracebacks)

    app.post("/api/predict", callback=lambda: predict(drawing()))
    app.post("/api/predict/batch", callback=lambda: {"predictions": answers(model_inputs(batch_images()))})
    app.post("/api/number", callback=lambda: number_answer(drawing()))
    app.post("/api/feedback", callback=lambda: keep(correction()))
    app.delete(f"/api/feedback/<id:re:{CORRECTION_ID.pattern}>", callback=take_back)  # not /api/feedback/stats
    app.get("/api/feedback/stats", callback=corrections.counts)
    app.get("/admin", callback=lambda: admin_is_on() and bottle.static_file("admin.html", root=str(web_dir)))
    app.get("/api/admin/corrections", callback=lambda: pending_corrections(reviewer()))
    app.post("/api/admin/review", callback=lambda: reviewed(reviewer()))
    app.get("/api/model", callback=lambda: model.card)
    app.get(f"/api/model/<plot:re:{'|'.join(contract.PLOTS)}>.png",
            callback=lambda plot: bottle.static_file(f"{plot}.png", root=str(Path(model_path).parent)))
    app.get("/api/openapi.json", callback=lambda: bottle.static_file("openapi.json", root=str(SERVE_DIR)))
    app.get("/livez", callback=lambda: {"status": "ok"})
    app.get("/readyz", callback=lambda: {"status": "ready", "model": app.config["reader.model_id"]})
    app.get("/healthz", callback=lambda: {"status": "ok", "model": app.config["reader.model_id"]})
    app.get("/metrics", callback=prometheus_metrics)
    app.get("/", callback=lambda: bottle.static_file("index.html", root=str(web_dir)))
    # The review page is served at /admin alone, and only when reviewing is on.
    app.get("/<path:re:(?!api/|admin\\.html$).+>", callback=lambda path: bottle.static_file(path, root=str(web_dir)))
    return app


def json_error(error: bottle.HTTPError) -> str:
    """The one error handler: every 4xx and 5xx is {"error": "<words for a person>"}."""
    response.content_type = "application/json"
    message = error.body if isinstance(error.body, str) and error.body else error.status_line
    return json.dumps({"error": message})


def no_tracebacks(callback):
    """A failure nobody foresaw is logged and answered like any other error: a JSON 500;
    a database that cannot be reached, a 503."""
    def guarded(*args, **kwargs):
        try:
            return callback(*args, **kwargs)
        except bottle.HTTPResponse:
            raise
        except Exception as error:
            error_log.exception("request %s failed", request.environ.get("reader.request_id"))
            failure = ((503, "Corrections cannot be kept or read right now. Try again in a moment.")
                       if isinstance(error, Unavailable) else (500, "The server failed to answer; the failure is logged."))
        abort(*failure)
    return guarded


def begin():
    """Times the request, names it, and refuses cross-site calls."""
    request.environ["reader.started"] = time.perf_counter()
    given = header("X-Request-ID", "")
    request.environ["reader.request_id"] = given if REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
    if request.method not in SAFE_METHODS and is_cross_site():
        abort(403, "Cross-site requests are refused: use the page on this site, or call the API from a program.")


def header(name: str, default: str | None = None) -> str | None:
    """A request header as WSGI gives it, each byte one character: Bottle's get_header
    decodes it as UTF-8 and fails (a 500, from any route) on bytes that are not."""
    return request.environ.get("HTTP_" + name.upper().replace("-", "_"), default)


def is_cross_site() -> bool:
    """A request another web page made a visitor's browser send.

    A multipart POST needs no CORS preflight, so any page could make its visitors
    send costly requests here. Browsers say where a request comes from in
    Sec-Fetch-Site; over plain HTTP they send no Sec-Fetch headers, but a cross-origin
    POST still carries Origin. Programs (curl) send neither and are let through.
    """
    site = header("Sec-Fetch-Site")
    if site is not None:
        return site not in ("same-origin", "none")
    origin = header("Origin")
    return origin is not None and urlsplit(origin).netloc != header("Host")


def finish():
    """Every answer, errors included: its headers, its metrics and its access-log line."""
    request_id = request.environ["reader.request_id"]
    response.set_header("X-Request-ID", request_id)
    for name, value in SECURITY_HEADERS.items():
        response.set_header(name, value)
    seconds = time.perf_counter() - request.environ["reader.started"]
    route = request.environ["bottle.route"].rule if "bottle.route" in request.environ else "(none)"
    method = request.method if request.method in COUNTED_METHODS else "other"
    labels = {"route": route, "method": method, "status": str(response.status_code)}
    metrics.REQUESTS.labels(**labels).inc()
    metrics.REQUEST_SECONDS.labels(**labels).observe(seconds)
    if access_log.isEnabledFor(logging.INFO):
        access_log.info(json.dumps({
            "time": datetime.now(timezone.utc).isoformat(timespec="milliseconds"), "id": request_id,
            "method": request.method, "route": route, "path": request.path, "status": response.status_code,
            "ms": round(seconds * 1000, 2), "model": request.app.config["reader.model_id"]}))


def prometheus_metrics() -> bytes:
    response.content_type = metrics.CONTENT_TYPE
    return metrics.exposition()


def predict(drawn: bytes | pen.Strokes) -> dict:
    """One drawing's answer; when it is several digits, the number they make, read as
    /api/number reads it (a reading that finds no digits makes it "not a digit")."""
    answer = answers([digit_input(drawn)])[0]
    if answer["verdict"] == "several digits":
        try:
            answer["number"] = read_number(drawn).text
        except preprocess.ImageError:
            answer["verdict"] = "not a digit"
    return answer


def answers(fields: list[np.ndarray]) -> list[dict]:
    """The model's reading of each 28x28 input, from one onnxruntime call: the verdict
    (contract.verdict), the likeliest digit and the ten digits' probabilities (summing
    to 1, as if it were a digit), and the probabilities that it is not a digit at all
    or several digits."""
    model_id = request.app.config["reader.model_id"]
    with metrics.INFERENCE_SECONDS.time():
        probabilities = request.app.config["reader.model"].predict(np.stack(fields))
    elapsed_ms = round((time.perf_counter() - request.environ["reader.started"]) * 1000, 2)
    results = []
    for p, field in zip(probabilities, fields):
        digits = p[:contract.NOT_A_DIGIT] / p[:contract.NOT_A_DIGIT].sum()
        verdict = contract.verdict(p)
        metrics.PREDICTIONS.labels(digit=str(digits.argmax())).inc()
        metrics.VERDICTS.labels(verdict=verdict).inc()
        metrics.CONFIDENCE.observe(float(digits.max()))
        results.append({
            "verdict": verdict,
            "digit": int(digits.argmax()),
            "confidence": round(float(digits.max()), 6),
            "probabilities": [round(float(v), 6) for v in digits],
            "not_a_digit": round(float(p[contract.NOT_A_DIGIT]), 6),
            "several_digits": round(float(p[contract.SEVERAL_DIGITS]), 6),
            "input": "data:image/png;base64," + base64.b64encode(preprocess.to_png(field)).decode(),
            "model": model_id,
            "elapsed_ms": elapsed_ms,
        })
    return results


def read_number(drawn: bytes | pen.Strokes) -> number.Number:
    """The number written in a drawing, by the number and digit models; an ImageError
    if it cannot be read."""
    models = request.app.config["reader.number_model"], request.app.config["reader.model"]
    with metrics.INFERENCE_SECONDS.time():
        if isinstance(drawn, pen.Strokes):
            return number.read(*number.strokes_ink(drawn), *models)
        with preprocess.decode(drawn) as image:
            return number.read(*number.picture_ink(image), *models)


def number_answer(drawn: bytes | pen.Strokes) -> dict:
    """The number written in a drawing, its digits, and the next likeliest readings."""
    found = refusing_bad_drawings(lambda: read_number(drawn))
    return {
        "verdict": found.verdict,
        "number": found.text,
        "confidence": round(found.confidence, 6),
        "digits": [{"digit": digit.digit, "confidence": round(digit.confidence, 6),
                    "probabilities": [round(float(p), 6) for p in digit.probabilities], "box": digit.box,
                    "input": "data:image/png;base64," + base64.b64encode(preprocess.to_png(digit.field)).decode()}
                   for digit in found.digits],
        "alternatives": [{"number": text, "confidence": round(confidence, 6)} for text, confidence in found.alternatives],
        "model": request.app.config["reader.number_model_id"],
        "elapsed_ms": round((time.perf_counter() - request.environ["reader.started"]) * 1000, 2),
    }


def digit_input(drawn: bytes | pen.Strokes) -> np.ndarray:
    """The 28x28 model input of one drawing, sent as a picture or as strokes."""
    if isinstance(drawn, bytes):
        return model_inputs([drawn])[0]
    return refusing_bad_drawings(lambda: preprocess.from_ink(pen.ink_to_frame(drawn)))


def refusing_bad_drawings(work):
    """`work()`, a drawing it cannot read answered with the error's 4xx; the abort is
    outside the `except` block for the reason model_inputs() gives."""
    try:
        return work()
    except preprocess.ImageError as error:
        failure = STATUS_OF.get(type(error), 400), str(error)
    abort(*failure)


def model_inputs(pictures: list[bytes]) -> list[np.ndarray]:
    """The 28x28 model input of each picture; errors name the picture in a batch.

    Every header is read, and the batch's total cost checked, before any picture
    is decoded. The error is raised outside the `except` block: chained to the
    preprocessing error, it would keep that error's frames, and the decoded
    picture in them, alive for as long as the error lives.
    """
    names = [f"images[{i}]: " for i in range(len(pictures))] if len(pictures) > 1 else [""]
    opened, where, failure = [], "", None
    try:
        for where, data in zip(names, pictures):
            opened.append(preprocess.open_image(data))
        where = ""
        total = sum(map(preprocess.pixels, opened))
        if total > MAX_BATCH_PIXELS:
            raise preprocess.ImageTooLarge(f"The images hold {total / 1e6:.1f} megapixels together; a batch may hold "
                                           f"{MAX_BATCH_PIXELS / 1e6:g}. Send fewer or smaller images.")
        fields = []
        for where, image in zip(names, opened):
            fields.append(preprocess.to_mnist(preprocess.load(image)))
        return fields
    except preprocess.ImageError as error:
        failure = STATUS_OF.get(type(error), 400), where + str(error)
    finally:
        for image in opened:
            image.close()
    abort(*failure)


def read_body() -> bytes:
    """The request body, refused with 413 past the limit before it is read."""
    limit = request.app.config["reader.max_body_bytes"]
    if request.chunked:
        abort(411, "Send the body with a Content-Length header, not chunked.")
    if request.content_length > limit:
        abort(413, f"The request is {request.content_length} bytes; the limit is {limit} bytes. "
                   "Shrink a photo to about 1000 px a side, or send it as JPEG.")
    return request.body.read()


def media_type() -> str:
    return request.content_type.split(";")[0].strip().lower()


def drawing() -> bytes | pen.Strokes:
    """What a predict call sends: a picture from JSON, raw bytes or a multipart form, or
    the strokes themselves."""
    kind = media_type()
    body = read_body()
    if kind == "application/json":
        document = parse_json(body)
        if "strokes" in document:
            return refusing_bad_drawings(lambda: strokes.parse(document))
        return decode_base64(document.get("image"), "image")
    if kind in IMAGE_TYPES:
        return body
    if kind == "multipart/form-data":
        return uploaded_file("image")
    abort(415, f"Unsupported Content-Type {kind or '(none)'}: send JSON, "
               "an image (PNG, JPEG, WebP, GIF, BMP) or a multipart form.")


def uploaded_file(field: str) -> bytes:
    try:
        upload = request.files.get(field)
    except Exception:  # Bottle's multipart parser raises several kinds on a broken form
        upload = False
    if upload is False:
        abort(400, "The multipart form is malformed.")
    if upload is None:
        abort(400, f'The form has no file field named "{field}".')
    return upload.file.read()


def batch_images() -> list[bytes]:
    """The images of a batch call: JSON {"images": [...]}, 1 to MAX_BATCH of them."""
    if media_type() != "application/json":
        abort(415, 'Send the batch as JSON: {"images": [...]}.')
    images = parse_json(read_body()).get("images")
    if not isinstance(images, list) or not 1 <= len(images) <= MAX_BATCH:
        abort(400, f'"images" must be a list of 1 to {MAX_BATCH} images.')
    return [decode_base64(image, f"images[{i}]") for i, image in enumerate(images)]


def parse_json(body: bytes) -> dict:
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        abort(400, "The body is not valid JSON.")
    except RecursionError:  # nested thousands deep: the parser runs out of stack
        abort(400, "The JSON body is nested too deeply.")
    if not isinstance(document, dict):
        abort(400, "The JSON body must be an object.")
    return document


def decode_base64(value, field: str) -> bytes:
    """Bytes of a data URL ("data:image/png;base64,...") or of bare base64."""
    if not isinstance(value, str) or not value:
        abort(400, f'"{field}" must be a data URL or a base64 string of an image.')
    if value.startswith("data:"):
        header, _, value = value.partition(",")
        if not header.endswith(";base64"):
            abort(400, f'"{field}" must be a base64 data URL.')
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        abort(400, f'"{field}" is not valid base64.')


def client_address() -> str:
    """Who sent the request: the peer's address, or, when the peer is a trusted proxy,
    the last address in X-Forwarded-For, the one the proxy added (whatever comes
    before it, the client wrote)."""
    peer = request.environ.get("REMOTE_ADDR", "")
    trusted = request.app.config["reader.trusted_proxies"]
    forwarded = header("X-Forwarded-For", "").rpartition(",")[2].strip()
    return forwarded if forwarded and (peer in trusted or "*" in trusted) else peer


def correction() -> dict:
    """A correction's fields, checked, with what the served models read in its drawing.

    The client is counted against the rate limit first, before its body is read: a
    client over it costs one database transaction a request, and no decoding.
    """
    corrections = request.app.config["reader.feedback"]
    client_hash = corrections.client_hash(client_address())
    wait = math.ceil(corrections.admit(client_hash, request.app.config["reader.feedback_rate"]))
    if wait:
        raise bottle.HTTPError(429, f"Too many corrections from your address: try again in {wait} s.",
                               **{"Retry-After": str(wait)})
    if media_type() != "application/json":
        abort(415, 'Send the correction as JSON: {"image": ... or "strokes": {...}, "label": "7"}.')
    document = parse_json(read_body())
    label, key = document.get("label"), document.get("key")
    if type(label) is not str or not LABEL.fullmatch(label) or sum(map(str.isdigit, label)) > number.MAX_DIGITS:
        abort(400, '"label" must be what was drawn: a digit or a number as a string ("7", "2026", "-4.99"; '
                   f'1 to {number.MAX_DIGITS} digits) or "not a digit".')
    if "key" in document and (type(key) is not str or not CLIENT_KEY.fullmatch(key)):
        abort(400, '"key" must be 1 to 64 letters, digits, "_" or "-".')
    claims = {field: document.get(field) for field in ("predicted", "model")}
    for field, claim in claims.items():
        if field in document and (type(claim) is not str or not 1 <= len(claim) <= MAX_CLAIM):
            abort(400, f'"{field}" must be a string of 1 to {MAX_CLAIM} characters.')
    if ("image" in document) == ("strokes" in document):
        abort(400, 'Send the drawing as "image" or as "strokes": one of the two.')
    if "strokes" in document:
        if type(document["strokes"]) is not dict:
            abort(400, '"strokes" must be the object /api/number takes: {"strokes": [...], "width": W, '
                       '"height": H, "brush": B}.')
        drawn = refusing_bad_drawings(lambda: strokes.parse(document["strokes"]))
    else:
        drawn = decode_base64(document["image"], "image")
    fields = {"client_key": key, "client_hash": client_hash, "label": label, "claimed_prediction": claims["predicted"],
              "claimed_model": claims["model"], **reading(drawn, label)}
    if isinstance(drawn, bytes):
        return {**fields, "picture": plain_png(drawn), "strokes": None}
    return {**fields, "picture": None, "strokes": json.dumps({"strokes": [path.tolist() for path in drawn.paths],
                                                             "width": drawn.width, "height": drawn.height,
                                                             "brush": drawn.brush})}


def reading(drawn: bytes | pen.Strokes, label: str) -> dict:
    """What the served models read in a correction's drawing, as the page was answered:
    as /api/predict reads it for a label of one digit or "not a digit", as /api/number
    for a number (more than one digit, or a sign); the 28x28 inputs side by side in one
    PNG, 28 px tall."""
    if label != "not a digit" and len(label) > 1:
        found = refusing_bad_drawings(lambda: read_number(drawn))
        probabilities = {"confidence": round(found.confidence, 6),
                         "digits": [[round(float(p), 6) for p in digit.probabilities] for digit in found.digits]}
        return {"verdict": found.verdict, "prediction": found.text, "probabilities": json.dumps(probabilities),
                "inputs": preprocess.to_png(np.hstack([digit.field for digit in found.digits])),
                "model": request.app.config["reader.number_model_id"]}
    answer = predict(drawn)
    probabilities = {field: answer[field] for field in ("probabilities", "not_a_digit", "several_digits")}
    refused = answer["verdict"] == "not a digit"
    return {"verdict": answer["verdict"], "prediction": "not a digit" if refused else answer.get("number", str(answer["digit"])),
            "probabilities": json.dumps(probabilities), "inputs": base64.b64decode(answer["input"].partition(",")[2]),
            "model": answer["model"]}


def plain_png(picture: bytes) -> bytes:
    """The picture as the server decoded it (upright; a large JPEG at the reduced scale
    it is read at, preprocess.DETAIL_SIDE px on its longer side or more) as a PNG of its
    pixels alone: the EXIF of a phone (where, when, which phone), colour profiles and
    text are left behind."""
    def encode():
        with preprocess.decode(picture) as image:
            plain = image if image.mode in PNG_MODES else image.convert("RGBA" if image.has_transparency_data else "RGB")
            buffer = io.BytesIO()
            plain.save(buffer, format="PNG", icc_profile=None)
            return buffer.getvalue()
    return refusing_bad_drawings(encode)


def keep(fields: dict) -> dict:
    """Keeps a correction: 201 with its id and delete token, or, for a client key already
    used, 200 with the first correction's, and nothing kept again."""
    id, token, added = request.app.config["reader.feedback"].add(fields)
    response.status = 201 if added else 200
    return {"id": id, "delete_token": token}


def take_back(id: str) -> str:
    """Deletes a correction for whoever holds its delete token (Authorization: Bearer);
    an unknown id and a wrong token are answered alike."""
    if not request.app.config["reader.feedback"].delete(id, bearer_token("delete token")):
        abort(404, "There is no correction with this id and delete token.")
    response.status = 204
    return ""


def admin_is_on() -> bool:
    """True if an admin token is set; else the review page and its routes are not there (404)."""
    if not request.app.config["reader.admin_token"]:
        abort(404, "Not found: reviewing is off (the service has no ADMIN_TOKEN).")
    return True


def reviewer() -> feedback.Feedback:
    """The corrections, for whoever sends the admin token (Authorization: Bearer),
    compared in constant time. A cross-site page cannot make a browser send that
    header without a CORS preflight, which this service never answers, so the GET
    routes need no more protection than the header."""
    admin_is_on()
    given = bearer_token("admin token").encode("latin-1")  # the header's bytes as sent
    if not hmac.compare_digest(given, request.app.config["reader.admin_token"].encode()):
        unauthorized("The admin token is wrong.")
    return request.app.config["reader.feedback"]


def bearer_token(what: str) -> str:
    """The token of the Authorization header; 401 without one."""
    scheme, _, token = header("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        unauthorized(f'Send the {what} as the header "Authorization: Bearer <token>".')
    return token.strip()


def unauthorized(message: str):
    raise bottle.HTTPError(401, message, **{"WWW-Authenticate": "Bearer"})


def pending_corrections(corrections: feedback.Feedback) -> dict:
    """A page of the pending corrections, newest first: ?limit= (20; 1 to 100) of them
    after the first ?offset= (0), each with what was drawn and the 28x28 inputs."""
    limit, offset = (query_number(name, default, most) for name, default, most in
                     (("limit", ADMIN_PAGE, MAX_ADMIN_PAGE), ("offset", 0, None)))
    listed = corrections.listed("pending", limit, offset)
    return {"corrections": [feedback.as_json(correction) for correction in listed],
            "pending": corrections.counts()["pending"], "limit": limit, "offset": offset}


def query_number(name: str, default: int, most: int | None) -> int:
    """A whole number of the query string, from 0 (1 for a limit) to `most`."""
    text, least = request.query.get(name), 1 if most else 0
    if text is None:
        return default
    if not re.fullmatch("[0-9]{1,18}", text) or not least <= int(text) <= (most or 2**62):
        abort(400, f'"{name}" must be a whole number from {least} to {most or 2**62}.')
    return int(text)


def reviewed(corrections: feedback.Feedback) -> dict:
    """Gives corrections a status: JSON {"ids": [...], "status": "accepted"} (or
    "rejected", or "pending" again); answers how many there were."""
    if media_type() != "application/json":
        abort(415, 'Send the review as JSON: {"ids": [...], "status": "accepted"}.')
    document = parse_json(read_body())
    ids, status = document.get("ids"), document.get("status")
    if (type(ids) is not list or not 1 <= len(ids) <= MAX_REVIEWED
            or not all(type(id) is str and CORRECTION_ID.fullmatch(id) for id in ids)):
        abort(400, f'"ids" must be a list of 1 to {MAX_REVIEWED} correction ids.')
    if status not in feedback.STATUSES:
        abort(400, f'"status" must be one of {", ".join(feedback.STATUSES)}.')
    return {"changed": corrections.review(ids, status)}
