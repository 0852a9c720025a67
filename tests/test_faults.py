"""The service under load and faults: a short soak, memory after large pictures and from
one reading to the next, and a worker killed mid-load."""

import concurrent.futures
import os
import signal
import threading
import time

import requests
from PIL import Image

from bench.hostile import bad_inputs
from bench.soak import mixed_requests, process_stat, read_right, resident_kib, soak, worker_pids
from drawings import canvases, png_bytes
from drawings.numbers import numbers
from tests.conftest import RunningServer


def drawn_digits(data, count):
    """(png, label) of the first `count` test digits drawn as canvases."""
    return zip(canvases(data.test_images[:count], seed=5), data.test_labels[:count].tolist())


def test_short_soak_has_no_server_errors_no_wrong_answers_and_flat_memory(data):
    server = RunningServer("--workers", "2", "--max-requests", "1000000").wait_healthy()  # the same workers throughout
    try:
        valid = read_right(server.url, drawn_digits(data, 12))
        mix = mixed_requests(valid, [(request, status) for _, request, status in bad_inputs(valid[0][0])])
        soak(server.url, server.process.pid, mix, clients=8, seconds=3)  # warm-up: allocator pools fill
        result = soak(server.url, server.process.pid, mix, clients=16, seconds=15)
    finally:
        server.stop()
    assert result["requests"] > 100
    for problem in ("server_errors", "wrong_status", "wrong_digit", "connection_errors"):
        assert result[problem] == 0, (problem, result["first_problems"])
    assert result["max_worker_rss_growth_kib"] < 10 * 1024, result


def test_large_pictures_leave_no_memory_behind():
    """Blank 4-megapixel RGBA PNGs (the costliest pictures accepted, each a 422) and the
    1x16,777,216 PNG strip (refused from its header), 8 at a time: each worker's memory
    afterwards stays near where it started (`make bench` measures the same, with a tighter bound)."""
    server = RunningServer("--workers", "2").wait_healthy()
    pictures = [png_bytes(Image.new("RGBA", (2000, 2000)))] * 120 + [png_bytes(Image.new("L", (1, 1 << 24)))] * 40
    try:
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            statuses = set(pool.map(lambda png: requests.post(
                server.url + "/api/predict", data=png, headers={"Content-Type": "image/png"}, timeout=60).status_code,
                pictures))
        resident_mib = [resident_kib(pid) / 1024 for pid in worker_pids(server.process.pid)]
    finally:
        server.stop()
    assert statuses == {413, 422}
    assert len(resident_mib) == 2 and max(resident_mib) < 600, resident_mib


def test_a_worker_keeps_its_heap_from_one_reading_to_the_next(data):
    """A worker whose allocator gave the memory of one number's reading back at its end
    faulted it in again at the next: about 800 pages (3 MB) a request
    (serve/__main__.py: return_big_buffers_to_the_system)."""
    server = RunningServer("--workers", "1").wait_healthy()
    png, _, _ = next(numbers(data.test_images, data.test_labels, 1, seed=31, spacing="apart", lengths=(4,)))

    def read(times):
        for _ in range(times):
            answer = requests.post(server.url + "/api/number", data=png, headers={"Content-Type": "image/png"}, timeout=30)
            assert answer.status_code == 200, answer.text

    try:
        read(10)  # warm-up: the first readings size the heap
        [worker] = worker_pids(server.process.pid)
        before = int(process_stat(worker)[7])  # minflt: pages touched anew (first, or since the kernel took them back)
        read(40)
        faults = (int(process_stat(worker)[7]) - before) / 40
    finally:
        server.stop()
    assert faults < 100, faults


def test_a_killed_worker_is_replaced_and_the_service_keeps_answering(data):
    server = RunningServer("--workers", "2").wait_healthy()
    try:
        png, label = read_right(server.url, drawn_digits(data, 1))[0]
        outcomes, stop = [], threading.Event()

        def client():
            with requests.Session() as http:
                while not stop.is_set():
                    try:
                        answer = http.post(server.url + "/api/predict", data=png,
                                           headers={"Content-Type": "image/png"}, timeout=10)
                        outcomes.append((time.monotonic(), answer.status_code == 200 and answer.json()["digit"] == label))
                    except requests.RequestException:
                        outcomes.append((time.monotonic(), False))

        clients = [threading.Thread(target=client) for _ in range(4)]
        for thread in clients:
            thread.start()
        time.sleep(2)
        victim = worker_pids(server.process.pid)[0]
        os.kill(victim, signal.SIGKILL)
        killed_at = time.monotonic()
        time.sleep(6)
        stop.set()
        for thread in clients:
            thread.join()
        workers = worker_pids(server.process.pid)
    finally:
        server.stop()
    assert victim not in workers and len(workers) == 2  # gunicorn started a replacement
    after = [ok for at, ok in outcomes if at > killed_at + 3]
    assert len(after) > 20 and all(after)  # seconds later, every request is answered right
    assert sum(ok for at, ok in outcomes if at < killed_at) > 20
