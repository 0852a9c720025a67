"""A soak of a running server: many clients, valid and bad requests mixed, for a while.

Used by `make bench` (16 clients, 60 s) and by the tests (a shorter run). Loopback
only: the server is one this process or its caller started on 127.0.0.1.
"""

import base64
import random
import threading
import time
from pathlib import Path

import requests


def worker_pids(master_pid: int) -> list[int]:
    """gunicorn's worker processes: the children of its master."""
    children = Path(f"/proc/{master_pid}/task/{master_pid}/children").read_text().split()
    return [int(pid) for pid in children]


def resident_kib(pid: int, field: str = "VmRSS") -> int:
    """A process's resident memory (VmRSS) or its peak (VmHWM), in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise ValueError(f"no {field} for process {pid}")


def process_stat(pid: int) -> list[str]:
    """A process's /proc/PID/stat fields after its name (the state, field 3, first): the
    name is in parentheses and may hold spaces, so the fields are split after it."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def read_right(url: str, drawings) -> list[tuple[bytes, int]]:
    """The (png, label) drawings the served model reads right: a soak's valid inputs,
    so that any wrong answer under load is the load's doing, not the model's."""
    return [(png, label) for png, label in drawings
            if requests.post(url + "/api/predict", data=png,
                             headers={"Content-Type": "image/png"}, timeout=30).json()["digit"] == label]


def mixed_requests(drawings: list[tuple[bytes, int]], bad: list[tuple[dict, int]]):
    """(kind, request keyword arguments, expected status, expected digit) to pick from."""
    mix = []
    for png, digit in drawings:
        mix.append(("drawing", dict(data=png, headers={"Content-Type": "image/png"}), 200, digit))
        mix.append(("upload", dict(files={"image": ("digit.png", png, "image/png")}), 200, digit))
        mix.append(("data URL", dict(json={"image": "data:image/png;base64," + base64.b64encode(png).decode()}),
                    200, digit))
    mix += [("bad input", request, status, None) for request, status in bad]
    return mix


def soak(url: str, master_pid: int, mix: list, clients: int = 16, seconds: float = 60) -> dict:
    """Runs `clients` threads sending random picks of `mix` for `seconds`; counts what went wrong."""
    counts = {"requests": 0, "server_errors": 0, "wrong_status": 0, "wrong_digit": 0, "connection_errors": 0}
    problems = []
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def client(seed):
        pick = random.Random(seed).choice
        with requests.Session() as http:
            while time.monotonic() < deadline:
                kind, request, status, digit = pick(mix)
                try:
                    answer = http.post(url + "/api/predict", timeout=30, **request)
                except requests.RequestException as error:
                    outcome = ("connection_errors", f"{kind}: {error}")
                else:
                    if answer.status_code >= 500:
                        outcome = ("server_errors", f"{kind}: {answer.status_code} {answer.text[:200]}")
                    elif answer.status_code != status:
                        outcome = ("wrong_status", f"{kind}: {answer.status_code}, expected {status}")
                    elif digit is not None and answer.json()["digit"] != digit:
                        outcome = ("wrong_digit", f"{kind}: {answer.json()['digit']}, expected {digit}")
                    else:
                        outcome = None
                with lock:
                    counts["requests"] += 1
                    if outcome:
                        counts[outcome[0]] += 1
                        problems.append(outcome[1])

    memory_before = {pid: resident_kib(pid) for pid in worker_pids(master_pid)}
    threads = [threading.Thread(target=client, args=(seed,)) for seed in range(clients)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    memory_after = {pid: resident_kib(pid) for pid in worker_pids(master_pid)}
    growth = [memory_after[pid] - memory_before[pid] for pid in memory_before if pid in memory_after]
    return {**counts, "clients": clients, "seconds": round(elapsed, 1),
            "requests_per_second": round(counts["requests"] / elapsed, 1),
            "worker_rss_kib_before": list(memory_before.values()),
            "worker_rss_kib_after": list(memory_after.values()),
            "max_worker_rss_growth_kib": max(growth) if growth else None,
            "first_problems": problems[:5]}
