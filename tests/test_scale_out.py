"""Two services behind one nginx, sharing one PostgreSQL database: the deployment's
template (deploy/nginx.conf.template) rendered with both as its upstream servers,
all on loopback. Every correction sent through the proxy is kept exactly once, both
services take their share, and each answers the same counts; the review page and
its routes are reached through the proxy."""

import concurrent.futures
import json
import shutil
import uuid

import psycopg
import pytest
import requests

from deploy import stack
from tests.conftest import RunningServer, free_port
from tests.test_feedback import ONE

SENT = 60
TOKEN = "a-review-token-of-the-scale-out-test"
SHARED = {"FEEDBACK_SALT": "one-salt-for-every-service-of-the-database", "ADMIN_TOKEN": TOKEN}


@pytest.fixture(scope="module")
def services(postgres):
    with psycopg.connect(postgres.url) as connection:
        connection.execute("DROP TABLE IF EXISTS corrections, attempts, schema_version")
    running = [RunningServer("--workers", "1", "--feedback-rate", "1000000", "--trusted-proxy", "127.0.0.1",
                             env={"DATABASE_URL": postgres.url, **SHARED}) for _ in range(2)]
    yield [service.wait_healthy() for service in running]
    for service in running:
        service.stop()


@pytest.fixture(scope="module")
def proxy(services):
    """nginx on a free port, as `make stack` configures it but for both services and a
    rate no test reaches."""
    settings, _ = stack.parse_settings(["--port", str(free_port()), "--rate", "10000", "--burst", "10000",
                                        "--connections", "10000"])
    state_dir = stack.make_state_dir()
    stack.write_config(state_dir, settings, [service.url.removeprefix("http://") for service in services])
    nginx = stack.start_nginx(stack.find_nginx(), state_dir)
    stack.wait_until(lambda: stack.listening(settings.host, settings.port), nginx, "nginx")
    yield f"http://{settings.host}:{settings.port}"
    stack.stop(nginx)
    shutil.rmtree(state_dir, ignore_errors=True)


def feedback_answers(service: RunningServer) -> list[int]:
    """The statuses this service's access log gives POST /api/feedback."""
    lines = (json.loads(line) for line in service.output().splitlines() if line.startswith('{"time"'))
    return [line["status"] for line in lines if (line["method"], line["route"]) == ("POST", "/api/feedback")]


def test_corrections_through_the_proxy_land_once_in_the_shared_database(services, proxy, postgres):
    keys = [uuid.uuid4().hex for _ in range(SENT)]

    def send(key):
        return requests.post(proxy + "/api/feedback", json={"strokes": ONE, "label": "1", "key": key}, timeout=60)

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        first = list(pool.map(send, keys))
        again = list(pool.map(send, keys[:10]))  # retried: to whichever service nginx picks this time
    assert [answer.status_code for answer in first] == [201] * SENT, {a.status_code: a.text for a in first}
    assert [answer.status_code for answer in again] == [200] * 10
    assert [answer.json() for answer in again] == [answer.json() for answer in first[:10]]

    with psycopg.connect(postgres.url) as connection:
        kept = connection.execute("SELECT client_key, COUNT(*) FROM corrections GROUP BY client_key").fetchall()
    assert sorted(kept) == sorted((key, 1) for key in keys)  # each exactly once

    answered = [feedback_answers(service) for service in services]
    assert sum(statuses.count(201) for statuses in answered) == SENT
    assert all(statuses.count(201) >= SENT // 4 for statuses in answered), [len(s) for s in answered]  # both took turns

    counts = {"total": SENT, "pending": SENT, "accepted": 0, "rejected": 0}
    assert requests.get(proxy + "/api/feedback/stats").json() == counts
    assert [requests.get(service.url + "/api/feedback/stats").json() for service in services] == [counts] * 2


def test_the_review_page_and_its_routes_are_reached_through_the_proxy(proxy):
    page = requests.get(proxy + "/admin")
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert requests.get(proxy + "/api/admin/corrections").status_code == 401
    listed = requests.get(proxy + "/api/admin/corrections", headers={"Authorization": f"Bearer {TOKEN}"})
    assert listed.status_code == 200 and listed.json()["pending"] == SENT  # the header is passed on
