"""serve/openapi.json: a valid OpenAPI document, the one the service serves, naming
every route the app has, stating the server's limits, and true of the live service
under generated requests."""

import json
import re
import subprocess

import requests
import schemathesis
from hypothesis import strategies as st
from openapi_spec_validator import OpenAPIV31SpecValidator, validate
from PIL import Image

from drawings import encoded
from serve import number, strokes
from tests.conftest import ROOT, SERVE_PYTHON

DOCUMENT = ROOT / "serve" / "openapi.json"

# Routes as the serve environment builds them; the test environment need not have Bottle.
LIST_ROUTES = """
import json, tempfile
from pathlib import Path
from serve.__main__ import DEFAULT_MODEL
from serve.app import create_app
from serve.feedback import open_feedback
with tempfile.TemporaryDirectory() as data:
    app = create_app(DEFAULT_MODEL, open_feedback(Path(data)))
    print(json.dumps([[route.method, route.rule] for route in app.routes]))
"""


@st.composite
def pictures(draw, format: str) -> bytes:
    """Small grey pictures of random pixels: some with ink to read, some blank."""
    width, height = draw(st.integers(1, 64)), draw(st.integers(1, 64))
    pixels = draw(st.binary(min_size=width * height, max_size=width * height))
    return encoded(Image.frombytes("L", (width, height), pixels), format=format)


# Raw image bodies and form uploads: real pictures, read or refused, and bytes that are no picture.
for media_type, format in {"image/png": "PNG", "image/jpeg": "JPEG", "image/webp": "WEBP",
                           "image/gif": "GIF", "image/bmp": "BMP"}.items():
    schemathesis.openapi.media_type(media_type, pictures(format) | st.binary())

# Every request schemathesis makes is checked against the document: no 5xx, a documented
# status, content type, body and headers, and a 4xx for what the document rules out.
# Schema-valid requests are not required to succeed: a random string is rarely an image.
# A fixed seed: the same requests on every run.
schema = schemathesis.openapi.from_path(DOCUMENT, config=schemathesis.Config.from_dict({
    "seed": 2024,
    "generation": {"mode": "all", "max-examples": 100, "deterministic": True, "database": "none"},
    "checks": {
        "positive_data_acceptance": {"enabled": False},
        "negative_data_rejection": {"expected-statuses": ["4XX"]},
    },
}))


def document() -> dict:
    return json.loads(DOCUMENT.read_text())


def test_document_is_valid_openapi_3_1():
    validate(document(), cls=OpenAPIV31SpecValidator)  # raises on any departure from OpenAPI 3.1


def test_service_serves_this_document(server):
    answer = requests.get(server.url + "/api/openapi.json", timeout=30)
    assert answer.status_code == 200 and answer.headers["Content-Type"].startswith("application/json")
    assert answer.content == DOCUMENT.read_bytes()


def test_document_states_the_servers_limits():
    """Schemathesis notices a bound tighter than the server's (a request beyond it is
    answered 200), not a looser one (requests within it may be refused), so the
    bounds are compared with the server's own."""
    schemas = document()["components"]["schemas"]
    drawn = schemas["Strokes"]["properties"]
    assert drawn["strokes"]["maxItems"] == strokes.MAX_STROKES
    assert drawn["strokes"]["items"]["maxItems"] == strokes.MAX_POINTS
    coordinate = drawn["strokes"]["items"]["items"]["items"]
    assert (coordinate["minimum"], coordinate["maximum"]) == (-strokes.MAX_SIDE, 2 * strokes.MAX_SIDE)
    for side in ("width", "height"):
        assert (drawn[side]["exclusiveMinimum"], drawn[side]["maximum"]) == (0, strokes.MAX_SIDE)
    assert (drawn["brush"]["exclusiveMinimum"], drawn["brush"]["maximum"]) == (0, strokes.MAX_SIDE / 2)
    answer = schemas["Number"]["properties"]
    assert answer["digits"]["maxItems"] == number.MAX_DIGITS
    assert answer["number"]["maxLength"] == 2 * number.MAX_DIGITS  # its digits, a sign between each two, a minus
    assert answer["alternatives"]["maxItems"] == number.ALTERNATIVES


def without_parameter_names(path: str) -> str:
    """/{path} and Bottle's /<path:re:...> alike become /{}."""
    return re.sub(r"\{[^}]*\}|<[^>]*>", "{}", path)


def test_document_names_every_route_and_no_other():
    listed = subprocess.run([str(SERVE_PYTHON), "-c", LIST_ROUTES], cwd=ROOT, capture_output=True, text=True)
    assert listed.returncode == 0, listed.stderr
    in_app = {(method.upper(), without_parameter_names(rule)) for method, rule in json.loads(listed.stdout)}
    in_document = {(method.upper(), without_parameter_names(path))
                   for path, operations in document()["paths"].items() for method in operations}
    assert in_app == in_document


@schema.parametrize()
def test_live_service_keeps_to_the_document(server, case):
    case.call_and_validate(base_url=server.url, timeout=30)
