"""Measure the service, and the usual Flask + Keras approach beside it: `make bench`.

Everything is measured in one run on this machine, on loopback, so the ratios hold
even where the absolute figures move with the machine's load:
  - the model alone in onnxruntime: batch 1 and batch 256;
  - drawn test digits read with MNIST-style preprocessing vs the whole canvas resized,
    and photographed on paper;
  - each stack as it is run: latency and throughput of /api/predict with bench/canvas.png
    and of /healthz (the framework's ceiling) under wrk at 1, 4 and 16 connections,
    cold start, peak worker memory, installed size;
  - a 60 s soak of the service: 16 clients, valid and bad requests mixed.
Writes bench/results.json and the README's benchmark table (readme.py).
"""

import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnxruntime
import requests
from PIL import Image

import mnist
import readme
from bench.soak import mixed_requests, read_right, resident_kib, soak, worker_pids
from serve import preprocess
from bench.hostile import bad_inputs
from drawings import as_photo, canvases

ROOT = Path(__file__).resolve().parent.parent
VENVS = ROOT / ".venv"
RESULTS = ROOT / "bench" / "results.json"
CANVAS = ROOT / "bench" / "canvas.png"  # a 7 drawn on the page in Chromium: the bytes the page sends
CONCURRENCY = (1, 4, 16)
SECONDS = 10
WRK_POST = """wrk.method = "POST"
wrk.headers["Content-Type"] = "image/png"
local f = assert(io.open(os.getenv("WRK_BODY"), "rb"))
wrk.body = f:read("*a")
f:close()
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
        images = np.random.default_rng(0).random((batch, 28, 28, 1), dtype=np.float32)
        session.run(["probs"], {"image": images})
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            session.run(["probs"], {"image": images})
            times.append(time.perf_counter() - started)
        median = float(np.median(times))
        result[f"batch_{batch}"] = {"ms": round(median * 1000, 3), "images_per_second": round(batch / median)}
    return result


def drawn_accuracy(data: mnist.Mnist, onnx_path: Path, count: int = 2000) -> dict:
    """Drawn test digits read after MNIST-style preprocessing vs the whole canvas resized,
    and the same digits photographed on unevenly lit paper (drawings.as_photo).

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
    rng = np.random.default_rng(11)
    photos = [preprocess.from_bytes(as_photo(digit, rng)) for digit in data.test_images[:count]]

    def accuracy(fields):
        images = np.stack(fields)[..., None].astype(np.float32)
        return float((session.run(["probs"], {"image": images})[0].argmax(1) == labels).mean())

    return {"images": count, "mnist_test_images_as_they_are": accuracy(list(data.test_images[:count] / 255)),
            "mnist_style_preprocessing": accuracy(ours), "whole_canvas_resized": accuracy(resized),
            "photos_on_paper": accuracy(photos)}


def wrk(url: str, connections: int, body: Path | None) -> dict:
    """Latency percentiles and throughput from wrk, the C load generator."""
    command = ["wrk", "--latency", "-d", f"{SECONDS}s", "-t", str(min(connections, 2)), "-c", str(connections)]
    env = dict(os.environ)
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as script:
        if body:
            script.write(WRK_POST)
            script.flush()
            command += ["-s", script.name]
            env["WRK_BODY"] = str(body)
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


def measure_stack(name: str, command: list[str], url: str, png_path: Path, venv: Path, worker_pids_of) -> dict:
    """Cold start, wrk at each concurrency, and peak worker memory of one serving stack."""
    print(f"== {name}", flush=True)
    process, cold_start = start(command, url, png_path.read_bytes())
    try:
        result = {"name": name, "cold_start_s": cold_start, "predict": {}, "healthz": {}}
        for connections in CONCURRENCY:
            result["predict"][connections] = wrk(url + "/api/predict", connections, png_path)
            result["healthz"][connections] = wrk(url + "/healthz", connections, None)
            print(f"   c={connections}: predict {result['predict'][connections]}", flush=True)
        result["peak_worker_rss_mib"] = round(max(resident_kib(pid, "VmHWM") for pid in worker_pids_of(process))
                                              / 1024, 1)
    finally:
        process.terminate()
        process.wait(timeout=30)
    result["environment_mib"] = directory_mib(venv)
    return result


def directory_mib(path: Path) -> float:
    total = sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())
    return round(total / 2**20, 1)


def soak_service(url_port: int, data: mnist.Mnist, seconds: float) -> dict:
    """16 clients for `seconds` against a fresh service, drawings it reads right, bad inputs mixed in."""
    url = f"http://127.0.0.1:{url_port}"
    pairs = list(zip(canvases(data.test_images[:16], seed=9), data.test_labels[:16].tolist()))
    process, _ = start([str(VENVS / "serve/bin/python"), "-m", "serve", "--port", str(url_port)], url, pairs[0][0])
    try:
        right = read_right(url, pairs)
        mix = mixed_requests(right, [(request, status) for _, request, status in bad_inputs(right[0][0])])
        soak(url, process.pid, mix, clients=8, seconds=3)  # warm-up
        return soak(url, process.pid, mix, clients=16, seconds=seconds)
    finally:
        process.terminate()
        process.wait(timeout=30)


def main():
    data = mnist.load()
    onnx_path = ROOT / "artifacts" / "mnist.onnx"
    results = {"machine": machine(), "seconds_per_load": SECONDS}
    print("== model", flush=True)
    results["model"] = model_speed(onnx_path)
    print("== drawn accuracy", flush=True)
    results["drawn_accuracy"] = drawn_accuracy(data, onnx_path)

    results["service"] = measure_stack(
        "Bottle + gunicorn + onnxruntime (this project)",
        [str(VENVS / "serve/bin/python"), "-m", "serve", "--port", "8101"], "http://127.0.0.1:8101",
        CANVAS, VENVS / "serve", lambda process: worker_pids(process.pid))
    results["flask_keras"] = measure_stack(
        "Flask + Keras model.predict (the usual approach)",
        [sys.executable, "-m", "bench.flask_keras", "8102"], "http://127.0.0.1:8102",
        CANVAS, VENVS / "bench", lambda process: [process.pid])
    results["training_environment_mib"] = directory_mib(VENVS / "train")

    ours, theirs = results["service"], results["flask_keras"]
    results["ratios"] = {
        **{f"throughput_x_c{c}": round(ours["predict"][c]["requests_per_second"]
                                       / theirs["predict"][c]["requests_per_second"], 1) for c in CONCURRENCY},
        **{f"p99_fraction_c{c}": round(ours["predict"][c]["p99_ms"] / theirs["predict"][c]["p99_ms"], 3)
           for c in CONCURRENCY},
        **{f"predict_over_healthz_c{c}": round(ours["predict"][c]["requests_per_second"]
                                               / ours["healthz"][c]["requests_per_second"], 3) for c in CONCURRENCY},
    }
    print("== soak", flush=True)
    results["soak"] = soak_service(8103, data, seconds=60)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    readme.main()
    print(json.dumps(results["ratios"], indent=2))
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
