"""The model card page (web/model.html) and the plots it shows (GET /api/model/<plot>.png),
against the real server, in Debian's Chromium.

The page shows whatever the served card has, every field the export writes."""

import http.client
import json
import re
from urllib.parse import urlsplit

import pytest
import requests
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from tests.conftest import ROOT
from tests.webpage import browser, problems_of, screenshots  # noqa: F401 (fixtures)

ARTIFACTS = ROOT / "artifacts"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
TEST_SETS = ("test digits", "non-digits (kinds trained on)", "non-digits (kinds held out)", "several digits")
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1100, "height": 800}}


@pytest.fixture(scope="module")
def served_card(server) -> dict:
    return requests.get(server.url + "/api/model", timeout=30).json()


def open_card(browser, server, scheme="light", device=DESKTOP):
    """A new page on /model.html, and the problems it met: console errors, script
    errors, failed requests."""
    context = browser.new_context(color_scheme=scheme, **device)
    page = context.new_page()
    problems = problems_of(page)
    page.goto(server.url + "/model.html")
    expect(page.locator("#status")).to_be_hidden()  # the card is shown
    page.wait_for_load_state("networkidle")  # and the plots are loaded, or left out
    return page, problems


def no_broken_images(page) -> bool:
    return page.evaluate("() => [...document.images].every(image => image.closest('[hidden]')"
                         " || (image.complete && image.naturalWidth > 0))")


# ---- the plots' route ---------------------------------------------------------

@pytest.mark.parametrize("plot", ["confusion-matrix", "training-curves", "reliability"])
def test_plots_are_served_as_png(server, plot):
    answer = requests.get(f"{server.url}/api/model/{plot}.png", timeout=30)
    assert answer.status_code == 200 and answer.headers["Content-Type"] == "image/png"
    assert answer.content == (ARTIFACTS / f"{plot}.png").read_bytes()


@pytest.mark.parametrize("path", [
    "/api/model/secret.txt", "/api/model/../model.json", "/api/model/%2e%2e/model.json", "/api/model/model.json",
    "/api/model/mnist.onnx", "/api/model/metrics.json", "/api/model/confusion-matrix.PNG", "/api/model/.png",
    "/api/model/confusion-matrix.png/../../model.json", "/api/model/../../contract.py", "/api/model/x/confusion-matrix.png",
])
def test_nothing_else_beside_the_model_is_served(server, path):
    """Sent as written, "..", "%2e%2e" and all: http.client leaves the path alone."""
    connection = http.client.HTTPConnection(urlsplit(server.url).netloc, timeout=30)
    connection.request("GET", path)
    answer = connection.getresponse()
    body = answer.read()
    connection.close()
    assert answer.status == 404 and answer.getheader("Content-Type") == "application/json"
    assert list(json.loads(body)) == ["error"]


# ---- the page -----------------------------------------------------------------

def test_page_shows_every_field_of_the_served_card(browser, server, served_card):
    card = served_card
    page, problems = open_card(browser, server)
    expect(page.locator("h1")).to_have_text("Model card")
    expect(page.locator("#facts")).to_contain_text(card["sha256"])
    expect(page.locator("#what")).to_contain_text("not a digit, or is several digits")
    expect(page.locator("#test-accuracy")).to_have_text(f"{card['test_accuracy']:.2%}")

    digits = page.locator("#per-digit tbody tr")
    expect(digits).to_have_count(10)
    confusion, accuracy = card["training"]["confusion_matrix"], card["training"]["per_class_accuracy"]
    for digit in (0, 9):
        expect(digits.nth(digit).locator("th, td")).to_have_text(
            [str(digit), f"{sum(confusion[digit]):,}", f"{accuracy[digit]:.2%}", re.compile(r"^(never|\d \(\d+×\).*)$")])

    verdicts = page.locator("#verdicts tbody tr")
    expect(verdicts).to_have_count(4)
    expect(page.locator("#verdicts thead th")).to_have_text(["Test set", "A digit", "Unsure", "Not a digit", "Several digits"])
    shares = card["verdicts"]["non-digits (kinds held out)"]
    expect(verdicts.nth(2).locator("td")).to_have_text([f"{shares[v]:.1%}" for v in shares])
    for row, right in enumerate(["digit", "not a digit", "not a digit", "several digits"]):  # the right answer in bold
        expect(verdicts.nth(row).locator("strong")).to_have_text(f"{card['verdicts'][TEST_SETS[row]][right]:.1%}")

    expect(page.locator("#calibration-facts")).to_contain_text(str(card["training"]["temperature"]))
    expect(page.locator("#calibration-facts")).to_contain_text(f"{card['training']['test_calibration_error']:.2%}")
    expect(page.locator("#validation")).to_contain_text(f"{card['training']['val_accuracy']['several digits']:.2%}")
    expect(page.locator("#training-facts")).to_contain_text(", ".join(card["training"]["augment"]))
    expect(page.locator("#facts")).to_contain_text(f"{card['training']['parameters']:,}")
    expect(page.locator("#parity")).to_contain_text(f"{card['parity']['argmax_agreement']:.2%}")
    for plot in ("confusion-matrix", "training-curves"):
        assert page.locator(f"#{plot}").evaluate("image => image.naturalWidth") > 0
    assert page.locator("#reliability").evaluate("image => image.naturalWidth") > 0
    assert no_broken_images(page)
    expect(page.locator("main")).not_to_contain_text(re.compile(r"undefined|NaN|null|\[object"))
    page.context.close()
    assert problems == []


def test_drawing_page_links_to_the_card_and_back(browser, server):
    context = browser.new_context()
    page = context.new_page()
    page.goto(server.url)
    page.get_by_role("link", name="Model details").click()
    expect(page).to_have_url(server.url + "/model.html")
    expect(page.get_by_role("heading", level=1)).to_have_text("Model card")
    page.get_by_role("link", name=re.compile("Back to the drawing pad")).click()
    expect(page).to_have_url(server.url + "/")
    context.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_axe_finds_no_accessibility_violation(browser, server, scheme):
    page, _ = open_card(browser, server, scheme)
    report = Axe().run(page)
    page.context.close()
    assert report.violations_count == 0, report.generate_report()


def test_screenshots_desktop_and_phone(browser, server, screenshots):
    """The card, light and dark, on a desktop and a phone: nothing wider than the screen."""
    for device_name, device in (("desktop", DESKTOP), ("phone", PHONE)):
        for scheme in ("light", "dark"):
            page, _ = open_card(browser, server, scheme, device)
            assert page.evaluate("() => document.documentElement.scrollWidth") <= device["viewport"]["width"]
            page.screenshot(path=screenshots / f"model-card-{device_name}-{scheme}.png", full_page=True)
            page.context.close()
