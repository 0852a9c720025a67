"""Measure the service, and the usual Flask + Keras approach beside it: `make bench`.

Everything is measured in one run on this machine, on loopback, so the ratios hold
even where the absolute figures move with the machine's load:
  - the model alone in onnxruntime: batch 1 and batch 256;
  - drawn test digits read with MNIST-style preprocessing vs the whole canvas resized,
    and photographed on paper, in a room's light, with a flash and under a hard-edged
    shadow, and written small on a whole page;
  - numbers of several test digits read, and drawings sent as strokes against PNGs
    (bench/numbers.py);
  - each stack as it is run: latency and throughput of /api/predict with bench/canvas.png
    and of /healthz (the framework's ceiling) under wrk at 1, 4, 16 (and 64) connections
    (predictions: the middle of three runs at each, the concurrencies taking turns),
    cold start, peak worker memory, installed size;
  - the service behind nginx (`make stack`) against the service alone: throughput at
    1/4/16/64 connections, and a visitor's answers while 300 slow clients hold connections;
  - what the costliest requests cost: CPU-seconds of each hostile input, and the workers'
    memory after hundreds of the largest pictures accepted;
  - a 60 s soak of the service: 16 clients, valid and bad requests mixed.
Writes bench/results.json and the README's benchmark table (readme.py).
"""

import itertools
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import onnxruntime
import requests
from PIL import Image

import contract
import mnist
import readme
from bench import slow_clients
from bench.hostile import bad_inputs, costly_batch, costly_numbers
from bench.soak import mixed_requests, process_stat, read_right, resident_kib, soak, worker_pids
from drawings import LIGHTS, PAPERS, as_photo, canvases, on_a_page, png_bytes
from serve import preprocess

ROOT = Path(__file__).resolve().parent.parent
VENVS = ROOT / ".venv"
RESULTS = ROOT / "bench" / "results.json"
CANVAS = ROOT / "bench" / "canvas.png"  # a 7 drawn on the page in Chromium: the bytes the page sends
CONCURRENCY = (1, 4, 16)  # for both stacks; ours also at MANY
MANY = 64
PAGE_SHARE = 0.03  # of a page photo's height: a digit (or a number) written small on it
FAINTEST = 0.2  # of its ink a fading pen leaves at the far end of a digit (drawings.as_photo)
SECONDS = 10
OPEN_LIMITS = ["--rate", "1000000", "--burst", "1000000", "--connections", "10000"]  # all from one address
REOPEN = 100  # requests a wrk thread sends before one asks to close its connection, as nginx does upstream
# (deploy/nginx.conf.template: keepalive_requests): a kept connection stays with the gunicorn
# worker that accepted it, and without re-opening one worker may hold them all for the whole run
WRK_SCRIPT = """local body = os.getenv("WRK_BODY")
if body then
  wrk.method = "POST"
  wrk.headers["Content-Type"] = os.getenv("WRK_TYPE")
  local f = assert(io.open(body, "rb"))
  wrk.body = f:read("*a")
  f:close()
end
local reopen, sent, keep, close = tonumber(os.getenv("WRK_REOPEN")), 0, nil, nil
function init(args)
  local closing = {Connection = "close"}
  for name, value in pairs(wrk.headers) do closing[name] = value end
  keep, close = wrk.format(), wrk.format(nil, nil, closing)
end
function request()
  sent = sent + 1
  return sent % reopen == 0 and close or keep
end
"""


def machine() -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    memory_kib = int(Path("/proc/meminfo").read_text().split()[1])
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": round(memory_kib / 2**20, 1),
            "os": platform.platform(), "python": platform.python_version(),
            "onnxruntime": onnxruntime.__version__}


def model_speed(onnx_path: Path) -> dict:
    """Median time of one onnxruntime call, single-threaded as a serve worker runs it."""
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    session = onnxruntime.InferenceSession(onnx_path, options, providers=["CPUExecutionProvider"])
    result = {}
    for batch, repeats in ((1, 2000), (256, 40)):
        images = np.random.default_rng(0).random((batch, *contract.DIGITS.input_shape), dtype=np.float32)
        session.run([contract.DIGITS.output_name], {contract.DIGITS.input_name: images})
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            session.run([contract.DIGITS.output_name], {contract.DIGITS.input_name: images})
            times.append(time.perf_counter() - started)
        median = float(np.median(times))
        result[f"batch_{batch}"] = {"ms": round(median * 1000, 3), "images_per_second": round(batch / median)}
    return result


def drawn_accuracy(data: mnist.Mnist, onnx_path: Path, count: int = 2000, on_pages: int = 500) -> dict:
    """Drawn test digits read after MNIST-style preprocessing vs the whole canvas resized,
    and the same digits photographed on unevenly lit paper (drawings.as_photo): plain,
    ruled and squared, in each of drawings.LIGHTS (a room's, a flash, a hard-edged
    shadow); in a room's light with the pen fading across the digit to FAINTEST of
    its ink, the papers in turn; and the first `on_pages` written PAGE_SHARE of a
    whole page photo's height (drawings.on_a_page), in each light. A photo the
    service would refuse counts as read wrong.

    The resized baseline is given the same grey levels and polarity handling, so the
    difference is the cropping, scaling to 20 px and centring by mass alone.
    """
    session = onnxruntime.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
    ours, resized = [], []
    for png in canvases(data.test_images[:count], seed=7):
        image = preprocess.decode(png)
        ours.append(preprocess.to_mnist(image))
        ink = preprocess.ink_intensity(preprocess.grey_levels(image))
        resized.append(np.asarray(Image.fromarray(ink).resize((28, 28), Image.Resampling.LANCZOS)))
    labels = data.test_labels[:count]
    photos = {light: {} for light in LIGHTS}
    for light, paper in itertools.product(LIGHTS, PAPERS):
        rng = np.random.default_rng(11)
        photos[light][paper] = [read_or_blank(as_photo(digit, rng, paper, light)) for digit in data.test_images[:count]]
    rng = np.random.default_rng(13)
    fading = [read_or_blank(as_photo(digit, rng, PAPERS[i % len(PAPERS)], faintest=FAINTEST))
              for i, digit in enumerate(data.test_images[:count])]
    pages = {}
    for light in LIGHTS:
        rng = np.random.default_rng(12)
        pages[light] = [read_or_blank(on_a_page(digit, rng, PAGE_SHARE, light)) for digit in data.test_images[:on_pages]]

    def accuracy(fields):
        images = np.stack(fields)[..., None].astype(np.float32)
        read = session.run([contract.DIGITS.output_name], {contract.DIGITS.input_name: images})[0]
        return float((read[:, :contract.NOT_A_DIGIT].argmax(1) == labels[:len(fields)]).mean())

    return {"images": count, "mnist_test_images_as_they_are": accuracy(list(data.test_images[:count] / 255)),
            "mnist_style_preprocessing": accuracy(ours), "whole_canvas_resized": accuracy(resized),
            "photos": {light: {paper: accuracy(fields) for paper, fields in by_paper.items()}
                       for light, by_paper in photos.items()},
            "fading_pen": {"faintest": FAINTEST, "accuracy": accuracy(fading)},
            "on_a_page": {"share": PAGE_SHARE, "images": on_pages,
                          **{light: accuracy(fields) for light, fields in pages.items()}}}


def read_or_blank(picture: bytes) -> np.ndarray:
    """The model input of a picture, or a blank one (read as no digit) if the service refuses it."""
    try:
        return preprocess.from_bytes(picture)
    except preprocess.ImageError:
        return np.zeros((28, 28), np.float32)


def wrk(url: str, connections: int, body: Path | None, content_type: str = "image/png") -> dict:
    """Latency percentiles and throughput from wrk, the C load generator; `body` is POSTed as
    `content_type`, and one request in REOPEN asks for the connection to be closed."""
    command = ["wrk", "--latency", "-d", f"{SECONDS}s", "-t", str(min(connections, 2)), "-c", str(connections)]
    env = {**os.environ, "WRK_REOPEN": str(REOPEN)}
    if body:
        env["WRK_BODY"], env["WRK_TYPE"] = str(body), content_type
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as script:
        script.write(WRK_SCRIPT)
        script.flush()
        command += ["-s", script.name]
        output = subprocess.run(command + [url], capture_output=True, text=True, env=env, check=True).stdout

    def milliseconds(percentile):
        value, unit = re.search(rf"^\s+{percentile}%\s+([\d.]+)(us|ms|s)\s*$", output, re.M).groups()
        return round(float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit], 2)

    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(r"Socket errors: (.*)", output)
    return {"requests_per_second": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
            "p50_ms": milliseconds(50), "p99_ms": milliseconds(99),
            "non_2xx": int(non_2xx.group(1)) if non_2xx else 0,
            "socket_errors": socket_errors.group(1) if socket_errors else "none"}


def median_wrk(loads: dict, rounds: int = 3) -> dict:
    """Each load's middle run of `rounds` by throughput; `loads` maps a name to wrk()'s
    arguments. The loads take turns, one run each per round, so that the shared
    machine's load drifting over the minutes this takes moves them all alike rather
    than whichever ran last."""
    runs = {name: [] for name in loads}
    for _ in range(rounds):
        for name, arguments in loads.items():
            runs[name].append(wrk(*arguments))
    middle = {}
    for name, its_runs in runs.items():
        its_runs.sort(key=lambda run: run["requests_per_second"])
        middle[name] = {**its_runs[len(its_runs) // 2],
                        "runs_requests_per_second": [run["requests_per_second"] for run in its_runs]}
    return middle


def start(command: list[str], url: str, png: bytes) -> tuple[subprocess.Popen, float]:
    """Starts a server; returns it and the seconds until it answered its first prediction."""
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    while time.perf_counter() - started < 120:
        try:
            if requests.post(url + "/api/predict", data=png, headers={"Content-Type": "image/png"},
                             timeout=30).status_code == 200:
                return process, round(time.perf_counter() - started, 2)
        except requests.ConnectionError:
            time.sleep(0.05)
    process.kill()
    raise SystemExit(f"error: {' '.join(command)} did not answer within 120 s")


def measure_stack(name: str, command: list[str], url: str, png_path: Path, venv: Path, worker_pids_of,
                  concurrency=CONCURRENCY) -> dict:
    """Cold start, wrk at each concurrency, and peak worker memory of one serving stack."""
    print(f"== {name}", flush=True)
    process, cold_start = start(command, url, png_path.read_bytes())
    try:
        predict = median_wrk({connections: (url + "/api/predict", connections, png_path) for connections in concurrency})
        print(f"   predict {predict}", flush=True)
        result = {"name": name, "cold_start_s": cold_start, "predict": predict,
                  "healthz": {connections: wrk(url + "/healthz", connections, None) for connections in concurrency}}
        result["peak_worker_rss_mib"] = round(max(resident_kib(pid, "VmHWM") for pid in worker_pids_of(process))
                                              / 1024, 1)
    finally:
        stop(process)
    result["environment_mib"] = directory_mib(venv)
    return result


def stop(process: subprocess.Popen):
    process.terminate()
    process.wait(timeout=60)


def behind_nginx(port: int, png_path: Path) -> dict:
    """`/api/predict` throughput through `make stack` (nginx in front of the same service)."""
    print("== behind nginx", flush=True)
    url = f"http://127.0.0.1:{port}"
    process, _ = start([str(VENVS / "serve/bin/python"), "-m", "deploy.stack", "--port", str(port), *OPEN_LIMITS],
                       url, png_path.read_bytes())
    try:
        predict = median_wrk({connections: (url + "/api/predict", connections, png_path)
                              for connections in (*CONCURRENCY, MANY)})
        print(f"   predict {predict}", flush=True)
        return {"predict": predict}
    finally:
        stop(process)


def under_slow_clients(direct_port: int, stack_port: int, drawing: tuple[bytes, int]) -> dict:
    """A visitor's answers while 300 slow clients hold connections for 20 s, to the
    service alone and through nginx."""
    print("== slow clients", flush=True)
    result = {}
    for name, command, url in (
            ("direct", ["-m", "serve", "--port", str(direct_port), "--no-access-log"],
             f"http://127.0.0.1:{direct_port}"),
            ("stack", ["-m", "deploy.stack", "--port", str(stack_port), *OPEN_LIMITS],
             f"http://127.0.0.1:{stack_port}")):
        process, _ = start([str(VENVS / "serve/bin/python"), *command], url, drawing[0])
        try:
            result[name] = slow_clients.attack(url, drawing, clients=300, seconds=20)
        finally:
            stop(process)
        print(f"   {name}: {result[name]}", flush=True)
    return result


def cpu_seconds(pids: list[int]) -> float:
    """User and system CPU time the processes have used so far."""
    ticks = os.sysconf("SC_CLK_TCK")
    return sum(sum(map(int, process_stat(pid)[11:13])) for pid in pids) / ticks  # utime, stime


def costly_requests(port: int, valid_png: bytes) -> dict:
    """CPU-seconds the workers spend on each hostile input, sent alone to an idle service
    (to /api/predict, to /api/number with the drawings that cost its reader most, and
    the batch that costs the most);
    then the workers' memory after 200 of the largest pictures accepted and 200 of the
    1x16,777,216 PNG strip, 8 at a time."""
    print("== costly requests", flush=True)
    url = f"http://127.0.0.1:{port}"
    process, _ = start([str(VENVS / "serve/bin/python"), "-m", "serve", "--port", str(port), "--no-access-log"],
                       url, valid_png)
    try:
        workers = worker_pids(process.pid)
        costs = {}
        for route, inputs in (("/api/predict", bad_inputs(valid_png)),
                              ("/api/number", bad_inputs(valid_png) + costly_numbers()),
                              ("/api/predict/batch", costly_batch())):
            for name, request, status in inputs:
                before = cpu_seconds(workers)
                answer = requests.post(url + route, timeout=60, **request)
                assert answer.status_code == status, (route, name, answer.status_code, answer.text)
                costs[f"{route}: {name}"] = round(cpu_seconds(workers) - before, 3)
        largest = [png_bytes(Image.new("RGBA", (2000, 2000)))] * 200 + [png_bytes(Image.new("L", (1, 1 << 24)))] * 200
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda png: requests.post(url + "/api/predict", data=png, timeout=60,
                                                    headers={"Content-Type": "image/png"}), largest))
        rss = [round(resident_kib(pid) / 1024, 1) for pid in worker_pids(process.pid)]
    finally:
        stop(process)
    costliest = max(costs, key=costs.get)
    return {"cpu_seconds": costs, "costliest": costliest, "costliest_cpu_seconds": costs[costliest],
            "worker_rss_mib_after_largest": rss}


def directory_mib(path: Path) -> float:
    total = sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())
    return round(total / 2**20, 1)


def soak_service(url_port: int, pairs: list[tuple[bytes, int]], seconds: float) -> dict:
    """16 clients for `seconds` against a fresh service, drawings it reads right, bad inputs mixed in."""
    url = f"http://127.0.0.1:{url_port}"
    process, _ = start([str(VENVS / "serve/bin/python"), "-m", "serve", "--port", str(url_port), "--no-access-log"],
                       url, pairs[0][0])
    try:
        right = read_right(url, pairs)
        mix = mixed_requests(right, [(request, status) for _, request, status in bad_inputs(right[0][0])])
        soak(url, process.pid, mix, clients=8, seconds=3)  # warm-up
        return soak(url, process.pid, mix, clients=16, seconds=seconds)
    finally:
        stop(process)


def main():
    data = mnist.load()
    onnx_path = contract.ARTIFACTS / contract.DIGITS.onnx_file
    drawings = list(zip(canvases(data.test_images[:16], seed=9), data.test_labels[:16].tolist()))
    results = {"machine": machine(), "seconds_per_load": SECONDS, "requests_per_connection": REOPEN}
    print("== model", flush=True)
    results["model"] = model_speed(onnx_path)
    print("== drawn accuracy", flush=True)
    results["drawn_accuracy"] = drawn_accuracy(data, onnx_path)
    from bench import numbers, verdicts  # they use this module's helpers: imported here, so each runs as main
    print("== verdicts", flush=True)
    results["verdicts"] = verdicts.measure(data)
    results["numbers"] = numbers.measure(data)

    results["service"] = measure_stack(
        "Bottle + gunicorn + onnxruntime (this project)",
        [str(VENVS / "serve/bin/python"), "-m", "serve", "--port", "8101", "--no-access-log"],
        "http://127.0.0.1:8101", CANVAS, VENVS / "serve", lambda process: worker_pids(process.pid),
        concurrency=(*CONCURRENCY, MANY))
    results["stack"] = behind_nginx(8104, CANVAS)
    results["flask_keras"] = measure_stack(
        "Flask + Keras model.predict (the usual approach)",
        [sys.executable, "-m", "bench.flask_keras", "8102"], "http://127.0.0.1:8102",
        CANVAS, VENVS / "bench", lambda process: [process.pid])
    results["training_environment_mib"] = directory_mib(VENVS / "train")

    ours, theirs, stack = results["service"], results["flask_keras"], results["stack"]
    throughput = lambda s, c: s["predict"][c]["requests_per_second"]  # noqa: E731
    results["ratios"] = {
        **{f"throughput_x_c{c}": round(throughput(ours, c) / throughput(theirs, c), 1) for c in CONCURRENCY},
        **{f"p99_fraction_c{c}": round(ours["predict"][c]["p99_ms"] / theirs["predict"][c]["p99_ms"], 3)
           for c in CONCURRENCY},
        **{f"predict_over_healthz_c{c}": round(throughput(ours, c) / ours["healthz"][c]["requests_per_second"], 3)
           for c in CONCURRENCY},
        **{f"stack_over_direct_c{c}": round(throughput(stack, c) / throughput(ours, c), 2)
           for c in (*CONCURRENCY, MANY)},
        **{f"{name}_c{MANY}_over_best": round(throughput(s, MANY) / max(throughput(s, c) for c in CONCURRENCY), 2)
           for name, s in (("direct", ours), ("stack", stack))},
    }
    results["slow_clients"] = under_slow_clients(8105, 8106, drawings[0])
    results["costly_requests"] = costly_requests(8107, drawings[0][0])
    print("== soak", flush=True)
    results["soak"] = soak_service(8103, drawings, seconds=60)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    readme.main()
    print(json.dumps(results["ratios"], indent=2))
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
