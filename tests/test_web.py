"""The drawing page in a real browser (Debian's Chromium driven by Playwright),
against the real server on loopback. Digits are drawn with pointer strokes.

Screenshots go to SCREENSHOTS_DIR when it is set (`make screenshots` sets it to
tests/screenshots, which the README shows), else to each test's temporary folder:
a plain test run still draws and renders them but leaves the tree as it was."""

import io
import re
from pathlib import Path

import numpy as np
import pytest
from axe_playwright_python.sync_playwright import Axe
from PIL import Image
from playwright.sync_api import expect

from tests.conftest import RunningServer
from tests.webpage import DIGITS, browser, draw, page, problems_of, screenshots, touch_stroke  # noqa: F401 (fixtures)
from drawings import as_canvas, encoded, png_bytes

MAX_BODY_BYTES = 2 * 2**20  # the server's default limit


@pytest.mark.parametrize("digit, left, top, size", [
    (1, 0.35, 0.2, 0.6),
    (0, 0.1, 0.1, 0.45),
    (7, 0.45, 0.5, 0.4),
    (7, 0.15, 0.1, 0.75),
    (0, 0.3, 0.25, 0.5),
    (1, 0.05, 0.6, 0.3),
])
def test_drawn_digit_is_read(page, digit, left, top, size):
    draw(page, DIGITS[digit], left, top, size)
    expect(page.locator("#reading")).to_have_text(str(digit))  # predicted by itself after the stroke
    expect(page.locator("#confidence")).to_contain_text("% sure")
    expect(page.locator("#probabilities li")).to_have_count(10)
    expect(page.locator("#probabilities li.top .label")).to_have_text(str(digit))
    expect(page.locator("#copy")).to_be_hidden()  # Copy is for numbers
    lit = page.evaluate("() => document.querySelector('#preview').getContext('2d')"
                        ".getImageData(0, 0, 28, 28).data.filter((v, i) => i % 4 === 0 && v > 128).length")
    assert 20 < lit < 400  # the 28x28 input is shown, ink on black


@pytest.mark.parametrize("digit, words", [(8, "It's an 8."), (3, "It's a 3.")])
def test_the_answer_is_said_in_words(page, digit, words):
    draw(page, DIGITS[digit], 0.2, 0.15, 0.65)
    expect(page.locator("#reading")).to_have_text(str(digit))
    expect(page.get_by_role("status")).to_have_text(words)


def test_undo_and_clear_with_buttons_and_keys(page):
    draw(page, DIGITS[1], 0.35, 0.2, 0.6)
    expect(page.locator("#reading")).to_have_text("1")
    draw(page, DIGITS[0], 0.0, 0.0, 0.3)  # a stray loop in the corner
    page.click("#undo")
    expect(page.locator("#reading")).to_have_text("1")
    draw(page, DIGITS[0], 0.0, 0.0, 0.3)
    page.keyboard.press("Control+z")
    expect(page.locator("#reading")).to_have_text("1")
    page.click("#clear")
    expect(page.locator("#reading")).to_have_text("?")
    expect(page.locator("#message")).to_have_text("Draw a digit from 0 to 9.")
    draw(page, DIGITS[7], 0.2, 0.2, 0.6)
    expect(page.locator("#reading")).to_have_text("7")
    page.keyboard.press("Escape")
    expect(page.locator("#reading")).to_have_text("?")


def test_a_drawing_is_sent_as_strokes(page):
    """The strokes in the pad's CSS pixels, not a picture: the server draws them again with the same pen."""
    box = page.locator("#pad").bounding_box()
    with page.expect_request("**/api/predict") as request:
        draw(page, DIGITS[7], 0.2, 0.15, 0.65)
    assert request.value.headers["content-type"] == "application/json"
    sent = request.value.post_data_json
    assert set(sent) == {"strokes", "width", "height", "brush"}
    assert sent["width"] == pytest.approx(box["width"]) and sent["height"] == pytest.approx(box["height"])
    assert sent["brush"] == pytest.approx(0.055 * box["height"])
    (stroke,) = sent["strokes"]  # a 7 is one stroke
    drawn = [(box["width"] * (0.2 + 0.65 * x), box["height"] * (0.15 + 0.65 * y)) for x, y in DIGITS[7][0]]
    assert stroke[0] == pytest.approx(drawn[0], abs=1) and stroke[-1] == pytest.approx(drawn[-1], abs=3)
    assert 30 < len(stroke) < 300  # every few px along its path, not every sample
    expect(page.locator("#reading")).to_have_text("7")


def test_predict_button_asks_again(page):
    draw(page, DIGITS[0], 0.2, 0.2, 0.6)
    expect(page.locator("#reading")).to_have_text("0")
    with page.expect_response("**/api/predict") as answer:
        page.click("#predict")
    assert answer.value.json()["digit"] == 0
    expect(page.locator("#reading")).to_have_text("0")


def test_a_newer_question_aborts_the_one_in_flight(page):
    held, failed = [], []
    page.on("requestfailed", lambda request: failed.append(request.failure))
    page.route("**/api/predict", lambda route: held.append(route) if not held else route.continue_())
    with page.expect_request("**/api/predict"):  # the first question, held unanswered
        draw(page, DIGITS[0], 0.2, 0.2, 0.6)
    page.click("#predict")
    expect(page.locator("#reading")).to_have_text("0")
    assert len(held) == 1 and failed == ["net::ERR_ABORTED"]


WATCH_NEXT_UPLOAD = """() => {
    const send = window.fetch;
    window.uploaded = new Promise(resolve => {
        window.fetch = (url, options) => {
            resolve(options.body.get("image").arrayBuffer().then(bytes => Array.from(new Uint8Array(bytes))));
            return send(url, options);
        };
    });
}"""


def upload(page, path: Path) -> bytes:
    """Chooses `path` in the page's file input and returns the file the page sent for it.
    Chromium leaves a form's file parts out of the request Playwright sees, so the page's
    fetch is watched instead; the request still goes to the server."""
    page.evaluate(WATCH_NEXT_UPLOAD)
    page.set_input_files("#upload", str(path))
    return bytes(page.evaluate("() => window.uploaded"))


def test_upload_and_drop_an_image(page, data, tmp_path):
    drawing = png_bytes(as_canvas(data.test_images[0], np.random.default_rng(0), "black-on-white"))
    photo = tmp_path / "digit.png"
    photo.write_bytes(drawing)
    assert upload(page, photo) == drawing  # small enough to go as it is
    expect(page.locator("#reading")).to_have_text(str(data.test_labels[0]))

    drawing = png_bytes(as_canvas(data.test_images[1], np.random.default_rng(1), "white-on-black"))
    page.evaluate("""bytes => {
        const file = new File([new Uint8Array(bytes)], "drop.png", {type: "image/png"});
        const transfer = new DataTransfer();
        transfer.items.add(file);
        document.querySelector("#drop-zone").dispatchEvent(new DragEvent("drop", {dataTransfer: transfer, bubbles: true}));
    }""", list(drawing))
    expect(page.locator("#reading")).to_have_text(str(data.test_labels[1]))


def test_drawing_while_a_photo_decodes_keeps_the_drawing(page, data, tmp_path):
    """A photo that is still decoding when the person starts to draw is dropped: it
    neither wipes the stroke under the pointer nor replaces the drawing once decoded."""
    page.evaluate("""() => {
        const decode = window.createImageBitmap;  // a phone's large photo: half a second to decode
        window.createImageBitmap = (...args) => new Promise(wait => setTimeout(wait, 500)).then(() => decode(...args));
    }""")
    problems = problems_of(page)
    photo = tmp_path / "two.png"
    photo.write_bytes(png_bytes(as_canvas(data.test_images[1], np.random.default_rng(1), "black-on-white")))
    assert data.test_labels[1] == 2
    page.set_input_files("#upload", str(photo))
    draw(page, DIGITS[7], 0.2, 0.15, 0.6)
    page.wait_for_timeout(1000)  # the photo has decoded by now
    expect(page.locator("#reading")).to_have_text("7")
    assert page.evaluate("() => document.body.classList.contains('busy')") is False
    assert problems == []


def sideways_phone_photo(digit: np.ndarray, orientation: int) -> tuple[Image.Image, bytes]:
    """`digit` large on noisy grey paper, 3000x4000 as seen, and the JPEG a phone would
    store of it: pixels turned, an EXIF Orientation (6 or 8) telling viewers how to turn
    them back, and the noise keeping it over the server's limit, as a phone photo is."""
    rng = np.random.default_rng(orientation)
    ink = np.asarray(Image.fromarray(digit).resize((2400, 2400), Image.Resampling.BICUBIC), dtype=np.float32) / 255
    paper = np.full((4000, 3000), 0.8, dtype=np.float32)
    paper[800:3200, 300:2700] -= 0.65 * ink
    paper += rng.normal(0, 0.05, paper.shape).astype(np.float32)
    seen = Image.fromarray((np.clip(paper, 0, 1) * 255).astype(np.uint8)).convert("RGB")
    exif = Image.Exif()
    exif[0x0112] = orientation
    stored = seen.transpose(Image.Transpose.ROTATE_90 if orientation == 6 else Image.Transpose.ROTATE_270)
    return seen, encoded(stored, format="JPEG", quality=90, exif=exif.tobytes())


def grey_difference(a: Image.Image, b: Image.Image) -> float:
    """Mean absolute difference of two pictures' grey levels (0-255), compared at 48x64."""
    a, b = (np.asarray(image.convert("L").resize((48, 64)), dtype=np.float32) for image in (a, b))
    return float(np.abs(a - b).mean())


@pytest.mark.parametrize("orientation", [6, 8])
def test_sideways_phone_photo_is_sent_upright_and_small(page, data, tmp_path, screenshots, orientation):
    seen, stored = sideways_phone_photo(data.test_images[0], orientation)
    assert len(stored) > MAX_BODY_BYTES
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(stored)
    sent = upload(page, photo)
    size, sent = len(sent), Image.open(io.BytesIO(sent))
    assert size < MAX_BODY_BYTES / 4, size
    assert sent.format == "JPEG" and sent.size == (768, 1024)  # portrait, as the photo is seen
    assert grey_difference(sent, seen) < 4 < grey_difference(sent, seen.rotate(180))  # upright, not upside down
    expect(page.locator("#reading")).to_have_text(str(data.test_labels[0]))
    shown = page.evaluate("""() => {
        const pad = document.querySelector('#pad'), ctx = pad.getContext('2d');
        const alpha = (x, y) => ctx.getImageData(x * (pad.width - 1), y * (pad.height - 1), 1, 1).data[3];
        return {top: alpha(0.5, 0), side: alpha(0, 0.5)};
    }""")
    assert shown == {"top": 255, "side": 0}  # the pad shows it upright too: a portrait, margins left and right
    page.wait_for_timeout(300)  # the bars' short transition
    page.screenshot(path=screenshots / f"photo-exif-{orientation}.png")


def test_large_transparent_drawing_is_sent_as_a_smaller_png(page, data, tmp_path):
    drawing = as_canvas(data.test_images[2], np.random.default_rng(2), "black-on-transparent").resize((1600, 1600))
    path = tmp_path / "drawing.png"
    path.write_bytes(png_bytes(drawing))
    sent = Image.open(io.BytesIO(upload(page, path)))
    assert sent.format == "PNG" and sent.size == (1024, 1024) and sent.getchannel("A").getextrema() == (0, 255)
    expect(page.locator("#reading")).to_have_text(str(data.test_labels[2]))


@pytest.fixture
def not_an_image(tmp_path) -> Path:
    path = tmp_path / "notes.png"
    path.write_text("shopping list")
    return path


def test_server_error_is_shown_in_words(page, not_an_image):
    page.set_input_files("#upload", str(not_an_image))
    expect(page.locator("#message")).to_have_text("This is not an image (expected PNG, JPEG, WebP, GIF or BMP).")


def test_low_confidence_names_the_top_two(page):
    """The model rarely hesitates on a clean drawing, so the answer here is staged."""
    probabilities = [0.01, 0.0, 0.0, 0.0, 0.52, 0.0, 0.0, 0.02, 0.0, 0.45]
    page.route("**/api/predict", lambda route: route.fulfill(json={
        "verdict": "unsure", "digit": 4, "confidence": 0.52, "not_a_digit": 0.0, "several_digits": 0.0, "probabilities": probabilities, "input": "", "model": "x", "elapsed_ms": 1}))
    draw(page, DIGITS[1], 0.35, 0.2, 0.6)
    expect(page.locator("#message")).to_have_text("Not sure: 4 or 9?")
    expect(page.locator("#reading")).to_have_class("unsure")


def test_near_certainty_is_not_rounded_to_certainty(page):
    """A calibrated 0.99998 is not 100%, nor its runner-up's 0.00002 nothing: staged."""
    probabilities = [0.00002 if digit != 7 else 0.99998 for digit in range(10)]
    page.route("**/api/predict", lambda route: route.fulfill(json={
        "verdict": "digit", "digit": 7, "confidence": 0.99998, "not_a_digit": 0.0, "several_digits": 0.0,
        "probabilities": probabilities, "input": "", "model": "x", "elapsed_ms": 1}))
    draw(page, DIGITS[1], 0.35, 0.2, 0.6)
    expect(page.locator("#confidence")).to_have_text(">99.9% sure")
    expect(page.locator("#probabilities .value")).to_have_text(["<0.1%"] * 7 + [">99.9%"] + ["<0.1%"] * 2)


def test_an_answer_the_page_cannot_read_is_not_called_a_network_failure(page):
    page.route("**/api/predict", lambda route: route.fulfill(json={"status": "an answer of some other service"}))
    draw(page, DIGITS[1], 0.35, 0.2, 0.6)
    expect(page.locator("#message")).to_have_text("The server's answer could not be read. Try again.")


def test_network_failure_is_shown_in_words(browser):
    server = RunningServer("--workers", "1").wait_healthy()
    context = browser.new_context()
    page = context.new_page()
    try:
        page.goto(server.url)
        expect(page.locator("#message")).to_have_text("Draw a digit from 0 to 9.")
        server.stop()
        draw(page, DIGITS[1], 0.35, 0.2, 0.6)
        expect(page.locator("#message")).to_contain_text("Cannot reach the server")
    finally:
        context.close()
        if server.process.poll() is None:
            server.stop()


def test_page_loads_and_answers_without_errors(browser, server):
    """No console error, script error or failed request, and every linked file is there:
    a browser asks for the icon once, so its 404 would reach the console of one page only."""
    context = browser.new_context()
    page = context.new_page()
    problems = problems_of(page)
    page.goto(server.url)
    draw(page, DIGITS[1], 0.35, 0.2, 0.6)
    expect(page.locator("#reading")).to_have_text("1")
    page.wait_for_load_state("networkidle")
    links = page.evaluate("() => [...document.querySelectorAll('link[href]')].map(link => [link.rel, link.href])")
    statuses = {rel: page.request.get(href).status for rel, href in links}
    expect(page.locator('meta[name="description"]')).to_have_attribute("content", re.compile("digit"))
    context.close()
    assert problems == []
    assert statuses == {"icon": 200, "stylesheet": 200}


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_axe_finds_no_accessibility_violation(browser, server, not_an_image, scheme):
    """axe-core's rules (WCAG A/AA and best practices) on the empty pad, an answer and an error."""
    context = browser.new_context(color_scheme=scheme)
    page = context.new_page()
    page.goto(server.url)
    axe = Axe()
    reports = {"empty": axe.run(page)}
    draw(page, DIGITS[7], 0.2, 0.15, 0.65)
    expect(page.locator("#reading")).to_have_text("7")
    page.wait_for_timeout(300)  # the bars' short transition
    reports["answer"] = axe.run(page)
    page.set_input_files("#upload", str(not_an_image))
    expect(page.locator("#reading")).to_have_text("!")
    reports["error"] = axe.run(page)
    context.close()
    assert all(report.violations_count == 0 for report in reports.values()), {
        state: report.generate_report() for state, report in reports.items() if report.violations_count}


def test_controls_are_labelled_and_reachable_by_keyboard(page):
    for name in ("Undo", "Clear", "Predict"):
        expect(page.get_by_role("button", name=name)).to_be_visible()
    expect(page.get_by_label("Upload")).to_be_attached()
    expect(page.get_by_role("status")).to_have_attribute("aria-live", "polite")
    focused, upload_outline = [], None
    for _ in range(5):
        page.keyboard.press("Tab")
        focused.append(page.evaluate("() => document.activeElement.id"))
        if focused[-1] == "upload":  # hidden: its label, the button people see, shows where focus is
            upload_outline = page.evaluate("() => getComputedStyle(document.querySelector('label[for=upload]')).outlineStyle")
    assert {"undo", "clear", "predict", "upload"} <= set(focused)
    assert upload_outline == "solid"


def test_desktop_screenshot_light_and_dark(browser, server, screenshots):
    for scheme in ("light", "dark"):
        context = browser.new_context(viewport={"width": 1100, "height": 760}, color_scheme=scheme)
        page = context.new_page()
        requested = []
        page.on("request", lambda request: requested.append(request.url))
        page.goto(server.url)
        draw(page, DIGITS[7], 0.2, 0.15, 0.65)
        expect(page.locator("#reading")).to_have_text("7")
        page.wait_for_timeout(300)  # the bars' short transition
        assert all(url.startswith((server.url, "data:")) for url in requested), requested  # no CDN
        page.screenshot(path=screenshots / f"desktop-{scheme}.png")
        context.close()


def test_phone_with_touch(browser, server, screenshots):
    context = browser.new_context(viewport={"width": 360, "height": 740}, device_scale_factor=3,
                                  is_mobile=True, has_touch=True)
    page = context.new_page()
    page.goto(server.url)
    cdp = context.new_cdp_session(page)
    box = page.locator("#pad").bounding_box()
    assert box["width"] >= 300 and page.evaluate("() => document.documentElement.scrollWidth") <= 360
    assert page.evaluate("() => document.querySelector('#pad').width") == round(box["width"] * 3)  # crisp
    assert page.evaluate("() => [...document.querySelectorAll('button, .button')]"
                         ".every(b => b.scrollWidth <= b.clientWidth)")  # every label fits its button
    scroll_before = page.evaluate("() => window.scrollY")
    x = box["x"] + box["width"] * 0.5
    touch_stroke(cdp, [(x + 4 * (1 - t / 20), box["y"] + box["height"] * (0.15 + 0.035 * t)) for t in range(21)])
    expect(page.locator("#reading")).to_have_text("1")
    assert page.evaluate("() => window.scrollY") == scroll_before  # drawing did not scroll the page
    page.wait_for_timeout(300)
    page.screenshot(path=screenshots / "phone.png", full_page=True)
    context.close()



@pytest.mark.parametrize("width, text_px", [(320, 16), (360, 24), (1100, 24)])
def test_words_fit_a_small_phone_and_the_largest_text(browser, server, width, text_px):
    """At 320 px, and with the browser's text size at "Very large" (24 px), the page's
    text follows that setting and every word fits: the buttons' labels and the answer's
    percentages."""
    context = browser.new_context(viewport={"width": width, "height": 740})
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Page.enable")
    cdp.send("Page.setFontSizes", {"fontSizes": {"standard": text_px}})  # the browser's text size setting
    page.goto(server.url)
    assert page.evaluate("() => getComputedStyle(document.body).fontSize") == f"{text_px}px"
    draw(page, DIGITS[4], 0.2, 0.15, 0.65)
    expect(page.locator("#reading")).to_have_text("4")
    assert page.evaluate("() => [...document.querySelectorAll('button, .button, #probabilities .value')]"
                         ".filter(e => e.offsetParent).every(e => e.scrollWidth <= e.clientWidth)")
    assert page.evaluate("() => document.documentElement.scrollWidth") <= width
    context.close()

CONTRAST = """selector => {
    const rgb = text => text.match(/[\\d.]+/g).map(Number);
    const background = element => {
        for (let e = element; e; e = e.parentElement) {
            const colour = rgb(getComputedStyle(e).backgroundColor);
            if (colour.length < 4 || colour[3] > 0) return colour;
        }
        return rgb(getComputedStyle(document.documentElement).backgroundColor);
    };
    const luminance = ([r, g, b]) => [r, g, b].map(v => v / 255)
        .map(v => (v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4))
        .reduce((sum, v, i) => sum + v * [0.2126, 0.7152, 0.0722][i], 0);
    const element = document.querySelector(selector);
    const [a, b] = [luminance(rgb(getComputedStyle(element).color)), luminance(background(element))];
    return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
}"""
TEXTS = ["h1", ".lede", "#message", "#confidence", "#reading", "#probabilities li .label", ".value",
         "figcaption", "footer p", "footer a", "#undo", "#predict", "label.button"]


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_text_contrast_passes_wcag_aa(browser, server, scheme):
    context = browser.new_context(color_scheme=scheme)
    page = context.new_page()
    page.goto(server.url)
    draw(page, DIGITS[1], 0.35, 0.2, 0.6)
    expect(page.locator("#reading")).to_have_text("1")
    ratios = {selector: page.evaluate(CONTRAST, selector) for selector in TEXTS}
    page.evaluate("() => document.querySelector('#reading').classList.add('unsure')")
    ratios["#reading.unsure"] = page.evaluate(CONTRAST, "#reading")
    page.evaluate("() => document.body.classList.add('failed')")
    ratios["failed #message"] = page.evaluate(CONTRAST, "#message")
    context.close()
    assert all(ratio >= 4.5 for ratio in ratios.values()), ratios
