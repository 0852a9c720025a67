"""The drawing page in Debian's Chromium, and a hand that writes digits on it.

Fixtures and helpers shared by the browser tests. Digits are simple polylines in a
unit square (x to the right, y down, the ink about 0.6 wide and 1 tall), written
stroke by stroke as a person would: one stroke per pen lift, each cut into many
small moves, with a mouse or a finger."""

import math
import os
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"]
STEP = 3  # px between the moves of a stroke
GAP = 0.2  # of the digits' height, between one digit's ink and the next's: close, not touching
SHARE = r"(\d+\.\d|>99\.9|<0\.1)%"  # a probability as the page shows it: never a rounded 100.0% or 0.0%


def shown(p: float) -> str:
    """A probability as the page shows it (SHARE)."""
    return ">99.9%" if p >= 0.9995 else "<0.1%" if p < 0.0005 else f"{p * 100:.1f}%"


@pytest.fixture(scope="module")
def browser():
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: `make test` installs Debian's chromium"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, server):
    context = browser.new_context(viewport={"width": 1100, "height": 800})
    page = context.new_page()
    page.goto(server.url)
    yield page
    context.close()


@pytest.fixture
def screenshots(tmp_path) -> Path:
    folder = Path(os.environ.get("SCREENSHOTS_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def arc(cx, cy, rx, ry, start, end):
    """Points along an ellipse from angle `start` to `end` in degrees: 0 is its top, 90 its right."""
    count = max(2, round(abs(end - start) / 15))
    angles = [math.radians(start + (end - start) * i / count) for i in range(count + 1)]
    return [(cx + rx * math.sin(a), cy - ry * math.cos(a)) for a in angles]


def figure_eight():
    """One stroke: from the top, down the right of the upper loop, across, round the lower loop and back up."""
    angles = [2 * math.pi * i / 48 for i in range(49)]
    return [(0.5 + 0.28 * math.sin(2 * a), 0.5 - 0.5 * math.cos(a)) for a in angles]


DIGITS = {
    0: [arc(0.5, 0.5, 0.3, 0.5, -10, 370)],
    1: [[(0.58, 0.0), (0.44, 1.0)]],
    2: [arc(0.5, 0.3, 0.3, 0.3, -70, 120) + [(0.2, 1.0), (0.84, 0.98)]],
    3: [arc(0.48, 0.26, 0.28, 0.26, -60, 160) + arc(0.48, 0.74, 0.32, 0.26, -20, 240)],
    4: [[(0.26, 0.0), (0.2, 0.6), (0.84, 0.6)], [(0.7, 0.05), (0.68, 1.0)]],
    5: [[(0.3, 0.02), (0.25, 0.45)] + arc(0.5, 0.68, 0.3, 0.27, -45, 230), [(0.3, 0.02), (0.8, 0.0)]],
    6: [[(0.7, 0.0), (0.42, 0.2), (0.25, 0.5)] + arc(0.5, 0.72, 0.28, 0.27, 270, -80)],
    7: [[(0.18, 0.04), (0.82, 0.04), (0.42, 1.0)]],
    8: [figure_eight()],
    9: [arc(0.5, 0.27, 0.28, 0.27, 80, -280) + [(0.78, 0.3), (0.72, 1.0)]],
}


def placed(stroke, x, y, width, height):
    """A unit-square stroke moved to (x, y) and scaled to width x height, cut into moves STEP px apart."""
    points = [(x + u * width, y + v * height) for u, v in stroke]
    moves = points[:1]
    for (x0, y0), (x1, y1) in zip(points, points[1:]):
        count = max(1, math.ceil(math.dist((x0, y0), (x1, y1)) / STEP))
        moves += [(x0 + (x1 - x0) * i / count, y0 + (y1 - y0) * i / count) for i in range(1, count + 1)]
    return moves


def number_strokes(page, text, height=0.7):
    """Each digit's strokes of `text` written across the middle of the pad, in page px:
    digits `height` of the pad's height tall (less if that would not fit), GAP apart."""
    box = page.locator("#pad").bounding_box()
    extents = [(min(u for stroke in DIGITS[int(c)] for u, _ in stroke),
                max(u for stroke in DIGITS[int(c)] for u, _ in stroke)) for c in text]
    width = sum(right - left for left, right in extents) + GAP * (len(text) - 1)  # in digit heights
    size = min(height * box["height"], 0.9 * box["width"] / width)
    x, y = box["x"] + (box["width"] - width * size) / 2, box["y"] + (box["height"] - size) / 2
    digits = []
    for c, (left, right) in zip(text, extents):
        digits.append([placed(stroke, x - left * size, y, size, size) for stroke in DIGITS[int(c)]])
        x += (right - left + GAP) * size
    return digits


def with_a_point(page, digits):
    """Strokes of two `digits` as number_strokes writes them, the second moved right to
    leave room for a point, and the point between them: a tap of the pen at their feet."""
    first, second = number_strokes(page, digits)
    feet = max(y for stroke in first for _, y in stroke)
    height = feet - min(y for stroke in first for _, y in stroke)
    second = [[(x + 0.3 * height, y) for x, y in stroke] for stroke in second]
    point = (max(x for stroke in first for x, _ in stroke) + min(x for stroke in second for x, _ in stroke)) / 2
    return first + [[(point, feet - 4), (point + 1, feet - 4)]] + second


def mouse_stroke(page, points):
    page.mouse.move(*points[0])
    page.mouse.down()
    for point in points[1:]:
        page.mouse.move(*point)
    page.mouse.up()


def touch_stroke(cdp, points):
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": points[0][0], "y": points[0][1]}]})
    for x, y in points[1:]:
        cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [{"x": x, "y": y}]})
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})


def write_number(page, text, cdp=None):
    """Writes `text` on the pad with the mouse, or with a finger through `cdp` (a CDP session
    of a touch page); returns each digit's strokes."""
    digits = number_strokes(page, text)
    for stroke in (stroke for strokes in digits for stroke in strokes):
        if cdp:
            touch_stroke(cdp, stroke)
        else:
            mouse_stroke(page, stroke)
    return digits


def draw(page, strokes, left, top, size):
    """Mouse strokes on the pad, in a square whose `left`, `top` and `size` are fractions of the pad."""
    box = page.locator("#pad").bounding_box()
    for stroke in strokes:
        mouse_stroke(page, placed(stroke, box["x"] + left * box["width"], box["y"] + top * box["height"],
                                  size * box["width"], size * box["height"]))


def problems_of(page) -> list[str]:
    """A list that fills with what goes wrong on `page` from now on: console errors,
    script errors, failed requests and answers of 400 or more."""
    problems = []
    page.on("console", lambda message: message.type == "error" and problems.append(message.text))
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("requestfailed", lambda request: problems.append(f"{request.url}: {request.failure}"))
    page.on("response", lambda response: response.status >= 400 and problems.append(f"{response.url}: {response.status}"))
    return problems
