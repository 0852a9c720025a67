"""Numbers read from handwriting, and drawings sent as strokes: `python -m bench.numbers`.

  - reading: numbers of 2 to 6 MNIST *test* digits (drawings.numbers), written apart,
    close and touching, read in this process exactly as /api/number reads a picture
    (serve/number.py): whole numbers right by spacing and length, digits right, time
    per number; written apart with a decimal point, a comma or a minus: right
    whole, and their signs right; and photographed on plain, ruled and squared paper,
    in a room's light, with a flash and under a hard-edged shadow, and written small
    on a whole page;
  - speed: the page's two ways of sending a drawing, its strokes as JSON or a PNG,
    under wrk against `python -m serve`: /api/predict with a 7 both ways at 1, 4 and
    16 connections, and /api/number's latency with a 4-digit number both ways; and
    what both ways pay: a request that does nothing (/livez) and the digit model alone.

`make bench` measures this with the rest. Run alone, it prints its results, puts them
into bench/results.json under "numbers" and rewrites the README.
"""

import itertools
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import requests
from PIL import Image

import contract
import pen
import mnist
import readme
from bench.bench import CANVAS, CONCURRENCY, PAGE_SHARE, RESULTS, VENVS, median_wrk, start, stop
from drawings import LIGHTS, PAPERS
from drawings.numbers import SIGNS, SPACINGS, numbers, photographed_numbers, signed_numbers, signs_of
from serve import number, preprocess, strokes
from serve.model import OnnxModel

STROKES = Path(__file__).resolve().parent / "strokes.json"  # the 7 of CANVAS as the page sends its strokes
PER_SPACING = 2000  # numbers read of each spacing, lengths 2 to 6 in turn: 400 of each; near 98% right,
# a share of 2,000 is known to about ±0.6 points (95% of the time), of 500 only to ±1.2
LENGTHS = (2, 3, 4, 5, 6)
SIGNED = 600  # numbers written apart with a sign, a third each with a point, a comma and a minus
PHOTOGRAPHED = 300  # numbers photographed on each paper, the spacings taken in turn
BARS = {"apart": 0.985, "close": 0.98, "touching": 0.90}  # whole numbers read right
STROKES_OVER_PNG_BAR = 3  # /api/predict throughput, strokes against the PNG of the same drawing
NUMBER_P50_BAR_MS = 15  # /api/number at 1 connection
PORT = 8108
PEN = 0.055  # of the pad's height: the page's brush (web/app.js STROKE_WIDTH)
STEP = 2  # CSS px between the points the page keeps of a stroke (web/app.js MIN_STEP)
SEVEN = [(85, 58), (247, 58), (199.5, 119.5), (147, 255)]  # CANVAS's one stroke, along the middle of its ink
PAD_NUMBER = "2026"  # written as strokes on the number pad
JSON, PNG = "application/json", "image/png"


def reading(data: mnist.Mnist, per_spacing: int = PER_SPACING) -> dict:
    """Numbers of test digits read as the service reads a picture, by spacing and length.

    A number the reader refuses (a 4xx from the service) counts as read wrong. Digits
    are right in place among numbers read at their true length; a reading of the
    wrong length gets none of its digits right.
    """
    models = served_models()
    result = {"number_model": models[0].sha256[:12], "spacings": {}}
    for seed, spacing in enumerate(SPACINGS, start=21):
        by_length = {length: {"numbers": 0, "right": 0} for length in LENGTHS}
        digits = digits_right = 0
        times, misread, verdicts = [], [], []
        for png, truth, _ in numbers(data.test_images, data.test_labels, per_spacing, seed, spacing, LENGTHS):
            started = time.perf_counter()
            read, verdict = read_number(png, models)
            times.append(time.perf_counter() - started)
            verdicts.append(verdict)
            by_length[len(truth)]["numbers"] += 1
            by_length[len(truth)]["right"] += read == truth
            digits += len(truth)
            digits_right += sum(map(str.__eq__, read, truth)) if len(read) == len(truth) else 0
            if read != truth:
                misread.append([truth, read])
        right = sum(tally["right"] for tally in by_length.values())
        result["spacings"][spacing] = {
            "numbers": per_spacing, "right": right, "accuracy": right / per_spacing, "bar": BARS[spacing],
            "by_length": by_length, "digits": digits, "digits_right": digits_right,
            "p50_ms": milliseconds(np.median(times)), "p99_ms": milliseconds(np.percentile(times, 99)),
            "misread": misread[:10],  # [truth, reading], the first few: what to look at
            "verdicts": {verdict: verdicts.count(verdict) for verdict in sorted(set(verdicts))},
        }
        print(f"   {spacing}: {result['spacings'][spacing]}", flush=True)
    return result


def signed_reading(data: mnist.Mnist, count: int = SIGNED) -> dict:
    """Numbers of test digits written apart with a point, a comma or a minus
    (drawings.numbers.signed_numbers), read as `reading` reads them: whole numbers
    right, and numbers whose signs alone are right (each where it was written)."""
    models = served_models()
    tally = {sign: {"numbers": 0, "right": 0, "signs_right": 0} for sign in SIGNS}
    for png, truth in signed_numbers(data.test_images, data.test_labels, count, seed=24, lengths=LENGTHS):
        read, _ = read_number(png, models)
        counts = tally[next(character for character in truth if not character.isdigit())]
        counts["numbers"] += 1
        counts["right"] += read == truth
        counts["signs_right"] += signs_of(read) == signs_of(truth)
    print(f"   signs: {tally}", flush=True)
    return tally


def photographed_reading(data: mnist.Mnist, count: int = PHOTOGRAPHED) -> dict:
    """Numbers of test digits as phone photos on each of PAPERS in each of LIGHTS
    (drawings.numbers.photographed_numbers), read as `reading` reads them: how many
    are right whole."""
    models = served_models()
    tally = {light: {} for light in LIGHTS}
    for light, paper in itertools.product(LIGHTS, PAPERS):
        photos = photographed_numbers(data.test_images, data.test_labels, count, seed=25, paper=paper,
                                      lengths=LENGTHS, light=light)
        tally[light][paper] = {"numbers": count,
                               "right": sum(read_number(jpeg, models)[0] == truth for jpeg, truth in photos)}
    print(f"   photographed: {tally}", flush=True)
    return tally


def on_a_page_reading(data: mnist.Mnist, count: int = PHOTOGRAPHED) -> dict:
    """Numbers of test digits written PAGE_SHARE of a whole page photo's height, in each
    of LIGHTS (drawings.numbers.photographed_numbers), read as `reading` reads them:
    how many are right whole."""
    models = served_models()
    tally = {"share": PAGE_SHARE}
    for light in LIGHTS:
        photos = photographed_numbers(data.test_images, data.test_labels, count, seed=26, paper="plain",
                                      lengths=LENGTHS, light=light, share=PAGE_SHARE)
        tally[light] = {"numbers": count, "right": sum(read_number(jpeg, models)[0] == truth for jpeg, truth in photos)}
    print(f"   on a page: {tally}", flush=True)
    return tally


def served_models() -> tuple[OnnxModel, OnnxModel]:
    """The number and digit models as the server loads them, warmed up as it warms them."""
    models = (OnnxModel(contract.ARTIFACTS / contract.NUMBERS.onnx_file, contract.NUMBERS),
              OnnxModel(contract.ARTIFACTS / contract.DIGITS.onnx_file))
    for model in models:
        model.predict(np.zeros((1, 28, 28), np.float32))
    return models


def read_number(png: bytes, models: tuple[OnnxModel, OnnxModel]) -> tuple[str, str]:
    """A picture's number as serve/app.py's number_answer reads it (number model, digit
    model), and its verdict; "" and "refused" if it is refused."""
    try:
        with preprocess.decode(png) as image:
            found = number.read(*number.picture_ink(image), *models)
            return found.text, found.verdict
    except preprocess.ImageError:
        return "", "refused"


def milliseconds(seconds: float) -> float:
    return round(float(seconds) * 1000, 2)


def page_stroke(path) -> list[list[float]]:
    """A path as the page keeps a stroke: a point every STEP CSS px along it, in tenths."""
    xy = np.asarray(path, dtype=float)
    along = np.r_[0, np.cumsum(np.hypot(*np.diff(xy, axis=0).T))]
    at = np.r_[np.arange(0, along[-1], STEP), along[-1]]
    return np.round(np.c_[np.interp(at, along, xy[:, 0]), np.interp(at, along, xy[:, 1])], 1).tolist()


def seven() -> dict:
    """The 7 of CANVAS (drawn on the page's 320 px pad) as the page sends it as strokes."""
    return {"strokes": [page_stroke(SEVEN)], "width": 320, "height": 320, "brush": PEN * 320}


def arc(cx: float, cy: float, rx: float, ry: float, start: float, stop: float) -> np.ndarray:
    """Points along an ellipse from angle `start` to `stop` (in turns; y grows downwards)."""
    turns = np.linspace(start, stop, 100) * 2 * np.pi
    return np.c_[cx + rx * np.cos(turns), cy + ry * np.sin(turns)]


def curve(a, control, b) -> np.ndarray:
    """A quadratic Bezier curve from `a` to `b`."""
    t = np.linspace(0, 1, 50)[:, None]
    return (1 - t) ** 2 * np.asarray(a) + 2 * t * (1 - t) * np.asarray(control) + t ** 2 * np.asarray(b)


# Each digit's strokes in a unit box, x to the right and y down.
DIGIT_PATHS = {
    "0": [arc(0.5, 0.5, 0.5, 0.5, -0.25, 0.78)],
    "2": [np.vstack([arc(0.5, 0.28, 0.45, 0.28, 0.55, 1.125), [(0, 1), (1, 1)]])],
    "6": [np.vstack([curve((0.85, 0), (0.1, 0.1), (0.05, 0.72)), arc(0.5, 0.72, 0.45, 0.28, 0.5, -0.5)])],
}


def pad_number() -> dict:
    """PAD_NUMBER written on the page's 900x300 number pad, as the page sends its
    strokes: digits 200 px tall and 120 px wide, 60 px apart."""
    paths = [box * (120, 200) + (120 + 180 * i, 50)
             for i, digit in enumerate(PAD_NUMBER) for box in DIGIT_PATHS[digit]]
    return {"strokes": [page_stroke(path) for path in paths], "width": 900, "height": 300, "brush": PEN * 300}


def ink_overlap(drawn: dict, picture: Path) -> float:
    """How alike strokes and a picture of the same size (dark ink on light) are:
    intersection over union of their inked pixels."""
    parsed = strokes.parse(drawn)
    ink = pen.draw(parsed, max(parsed.width, parsed.height)) > 0
    dark = np.asarray(Image.open(picture).convert("L")) < 128
    return round(float((ink & dark).sum() / (ink | dark).sum()), 3)


def speed(data: mnist.Mnist, port: int = PORT) -> dict:
    """/api/predict and /api/number under wrk, each drawing sent as strokes and as a PNG."""
    STROKES.write_text(json.dumps(seven(), separators=(",", ":")))  # compact, as the page's JSON.stringify
    number_png, truth, _ = next(numbers(data.test_images, data.test_labels, 1, 31, "apart", (4,)))
    url = f"http://127.0.0.1:{port}"
    process, _ = start([str(VENVS / "serve/bin/python"), "-m", "serve", "--port", str(port), "--no-access-log"],
                       url, CANVAS.read_bytes())
    try:
        with tempfile.TemporaryDirectory() as folder:
            bodies = {("predict", "strokes"): (STROKES, JSON), ("predict", "png"): (CANVAS, PNG),
                      ("number", "strokes"): (Path(folder) / "number.json", JSON),
                      ("number", "png"): (Path(folder) / "number.png", PNG)}
            bodies["number", "strokes"][0].write_text(json.dumps(pad_number(), separators=(",", ":")))
            bodies["number", "png"][0].write_bytes(number_png)
            sent = {f"{route}_{form}": answer(url, route, *body) for (route, form), body in bodies.items()}
            runs = median_wrk({(connections, form): (f"{url}/api/predict", connections, *bodies["predict", form])
                               for connections in CONCURRENCY for form in ("strokes", "png")})
            predict = {}
            for connections in CONCURRENCY:
                both = {form: runs[connections, form] for form in ("strokes", "png")}
                ratio = both["strokes"]["requests_per_second"] / both["png"]["requests_per_second"]
                predict[connections] = {**both, "strokes_over_png": round(ratio, 2)}
                print(f"   c={connections}: predict {predict[connections]}", flush=True)
            latency = median_wrk({form: (f"{url}/api/number", 1, *bodies["number", form]) for form in ("strokes", "png")})
            print(f"   c=1: number {latency}", flush=True)
            nothing = median_wrk({"livez": (f"{url}/livez", 1, None)})["livez"]
    finally:
        stop(process)
    runs = [*latency.values(), nothing, *(run for c in predict.values() for run in (c["strokes"], c["png"]))]
    if any(run["non_2xx"] or run["socket_errors"] != "none" for run in runs):
        raise SystemExit(f"error: requests failed under load: {predict} {latency} {nothing}")
    sent["number_strokes"]["truth"], sent["number_png"]["truth"] = PAD_NUMBER, truth
    return {"predict": predict, "number": latency, "sent": sent,
            "fixed_costs": {"livez_p50_ms": nothing["p50_ms"], "digit_model_ms": digit_model_ms()},
            "seven_ink_overlap": ink_overlap(seven(), CANVAS),
            "number_png_size": list(preprocess.open_image(number_png).size),
            "bars": {"strokes_over_png": STROKES_OVER_PNG_BAR, "number_p50_ms": NUMBER_P50_BAR_MS}}


def digit_model_ms(calls: int = 1000) -> float:
    """The digit model alone on the seven's 28x28 input, in this process, one onnxruntime
    thread as a worker has: the median of `calls`. Every prediction pays it, whatever the form."""
    _, digit_model = served_models()
    field = preprocess.from_ink(pen.ink_to_frame(strokes.parse(seven())))[None]
    times = []
    for _ in range(calls):
        started = time.perf_counter()
        digit_model.predict(field)
        times.append(time.perf_counter() - started)
    return milliseconds(np.median(times))


def answer(url: str, route: str, body: Path, content_type: str) -> dict:
    """One request's body size and what the service read, checked to succeed before it is timed."""
    reply = requests.post(f"{url}/api/{route}", data=body.read_bytes(), headers={"Content-Type": content_type},
                          timeout=30)
    if reply.status_code != 200:
        raise SystemExit(f"error: /api/{route} answered {body.name} with {reply.status_code}: {reply.text}")
    return {"bytes": body.stat().st_size, "read": str(reply.json()["digit" if route == "predict" else "number"])}


def measure(data: mnist.Mnist, port: int = PORT) -> dict:
    """Both parts, and the machine's 1-minute load average as they began: other work may share its cores."""
    result = {"load_average": round(os.getloadavg()[0], 2)}
    print("== numbers: reading", flush=True)
    result["reading"] = reading(data)
    result["signs"] = signed_reading(data)
    result["photographed"] = photographed_reading(data)
    result["on_a_page"] = on_a_page_reading(data)
    print("== numbers: strokes and pictures over HTTP", flush=True)
    result["speed"] = speed(data, port)
    return result


def main():
    result = measure(mnist.load())
    print(json.dumps(result, indent=2))
    results = json.loads(RESULTS.read_text())
    results["numbers"] = result
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    readme.main()
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
