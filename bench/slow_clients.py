"""Slow clients: many connections that send a request a byte a second, or nothing at all.

A gunicorn thread that has begun reading a request reads until the request is
whole, so a few hundred slow senders take every thread, and real visitors wait.
nginx in front (deploy/) holds them at the cost of a little memory each and hands
gunicorn only whole requests. `attack` shows the difference: while the slow clients
hold their connections, visitors keep arriving and ask for /healthz and a
prediction; it records how many were answered and how fast.

Used by the stack's tests and the benchmark. Loopback only, bounded in count and
time: every connection is closed when `attack` returns.
"""

import ipaddress
import resource
import socket
import statistics
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import requests

KINDS = ("trickled headers", "trickled body", "silent")
BODY_BYTES = 10_000  # the body a trickled-body client announces: it never gets that far


class SlowConnection:
    """One slow client: connects, then sends what it still owes a byte at a time.

    A trickled-headers client owes its whole request; a trickled-body client sends
    its headers at once and owes the body; a silent one owes nothing and just waits."""

    def __init__(self, address: tuple[str, int], kind: str):
        self.address, self.kind = address, kind
        head = (f"POST /api/predict HTTP/1.1\r\nHost: {address[0]}:{address[1]}\r\n"
                f"Content-Type: image/png\r\nContent-Length: {BODY_BYTES}\r\n\r\n").encode()
        self.first, self.owed = {"trickled headers": (b"", head),
                                 "trickled body": (head, b"\0" * BODY_BYTES),
                                 "silent": (b"", b"")}[kind]
        self.socket = None

    def open(self):
        self.socket = socket.create_connection(self.address, timeout=5)
        self.socket.sendall(self.first)
        self.socket.setblocking(False)
        self.sent = 0

    def closed_by_server(self) -> bool:
        """True once the server has closed the connection or answered it (with an error, say)."""
        try:
            self.socket.recv(1, socket.MSG_PEEK)  # b"" once closed, a byte if answered
        except BlockingIOError:
            return False
        except OSError:
            pass
        return True

    def trickle(self) -> bool:
        """Sends the next byte it owes; False if the server has let the connection go."""
        if self.closed_by_server():
            return False
        try:
            self.sent += self.socket.send(self.owed[self.sent:self.sent + 1])
        except OSError:
            return False
        return True

    def close(self):
        if self.socket is not None:
            self.socket.close()
            self.socket = None


def raise_open_files_limit(needed: int):
    """Each connection is a file descriptor; the usual soft limit is 1024."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        ceiling = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (ceiling, hard))


def hold(connections: list[SlowConnection], stop: threading.Event, held: threading.Event, counts: Counter):
    """Opens every connection, then once a second sends each its next byte; a
    connection the server drops is opened again, as an attacker would."""
    def reopen(connection):
        connection.close()
        try:
            connection.open()
            counts["opened"] += 1
        except OSError:
            counts["connect_errors"] += 1

    for connection in connections:
        if stop.is_set():
            return
        reopen(connection)
    held.set()
    while not stop.wait(1.0):
        for connection in connections:
            if connection.socket is None:  # its last connect failed
                reopen(connection)
            elif not connection.trickle():
                counts["closed_by_server"] += 1
                reopen(connection)


def probe(url: str, drawing: tuple[bytes, int], timeout: float) -> list[tuple[str, float | None]]:
    """A new visitor: /healthz, then the drawing's prediction, each on a new connection.
    Returns (outcome, seconds) for each; outcome is "answered", a status, or an error."""
    png, digit = drawing
    results = []
    for method, path, body in (("GET", "/healthz", None), ("POST", "/api/predict", png)):
        started = time.perf_counter()
        try:
            answer = requests.request(method, url + path, data=body, timeout=timeout,
                                      headers={"Content-Type": "image/png"})
        except requests.RequestException as error:
            results.append((type(error).__name__, None))
            continue
        seconds = time.perf_counter() - started
        right = answer.status_code == 200 and (path == "/healthz" or answer.json()["digit"] == digit)
        results.append(("answered" if right else str(answer.status_code), seconds))
    return results


def attack(url: str, drawing: tuple[bytes, int], clients: int = 300, seconds: float = 20,
           probe_timeout: float = 10, visitor_interval: float = 0.5) -> dict:
    """`clients` slow connections to `url` (a third of each kind) and, for `seconds`
    while they hold, a new visitor every `visitor_interval` probing with `drawing`
    (png bytes, its digit); what the visitors got.

    Visitors arrive on schedule whether or not earlier ones were answered, so a
    stalled server meets as many as a healthy one; the slow clients hold until the
    last visitor is done. Latency percentiles are of the answered probes."""
    parts = urlsplit(url)
    address = (parts.hostname, parts.port or 80)
    if not ipaddress.ip_address(socket.gethostbyname(address[0])).is_loopback:
        raise ValueError(f"slow clients only ever go to this machine, not to {address[0]}")
    raise_open_files_limit(clients + 256)
    connections = [SlowConnection(address, KINDS[i % len(KINDS)]) for i in range(clients)]
    counts, outcomes, latencies = Counter(), Counter(), []
    stop, held = threading.Event(), threading.Event()
    holder = threading.Thread(target=hold, args=(connections, stop, held, counts))
    started = time.monotonic()
    holder.start()
    try:
        held.wait(seconds)
        with ThreadPoolExecutor(max_workers=int(seconds / visitor_interval) + 1) as pool:
            visitors = []
            while time.monotonic() - started < seconds:
                visitors.append(pool.submit(probe, url, drawing, probe_timeout))
                time.sleep(visitor_interval)
        for outcome, latency in (result for visitor in visitors for result in visitor.result()):
            outcomes[outcome] += 1
            if outcome == "answered":
                latencies.append(latency)
    finally:
        stop.set()
        holder.join()
        for connection in connections:
            connection.close()
    probes = sum(outcomes.values())
    cuts = statistics.quantiles(latencies, n=100, method="inclusive") if len(latencies) > 1 else None
    return {"clients": clients, "kinds": dict(Counter(c.kind for c in connections)),
            "seconds": round(time.monotonic() - started, 1),
            **{name: counts[name] for name in ("opened", "closed_by_server", "connect_errors")},
            "probes": probes, "answered": outcomes["answered"],
            "answered_fraction": round(outcomes["answered"] / probes, 3) if probes else 0.0,
            "p50_ms": round(cuts[49] * 1000, 1) if cuts else None,
            "p99_ms": round(cuts[98] * 1000, 1) if cuts else None,
            "server_errors": sum(n for outcome, n in outcomes.items() if outcome.startswith("5")),
            "outcomes": dict(outcomes)}
