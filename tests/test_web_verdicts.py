"""What the page says when a drawing is not one digit, in a real browser against the
real server and its model: a star or a letter drawn on the digit pad is "not a digit",
two digits side by side are "several digits", with the number they make and a button
that carries the drawing to Number mode and reads it there; a plain digit is still
read as one. Drawn with pointer strokes; nothing staged. Screenshots go where
tests/test_web.py puts them."""

import math
import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from tests.test_web import CONTRAST
from tests.webpage import (DIGITS, SHARE, browser, draw, mouse_stroke, page, placed, screenshots,  # noqa: F401 (fixtures)
                          with_a_point, write_number)


def star():
    """A five-pointed star in one stroke, point to point, back to the top."""
    corners = [math.radians(-90 + 144 * k) for k in range(6)]
    return [[(0.5 + 0.5 * math.cos(a), 0.53 + 0.5 * math.sin(a)) for a in corners]]


SHAPES = {
    "star": star(),
    "W": [[(0.0, 0.0), (0.25, 1.0), (0.5, 0.3), (0.75, 1.0), (1.0, 0.0)]],
    "K": [[(0.15, 0.0), (0.15, 1.0)], [(0.85, 0.0), (0.15, 0.55), (0.85, 1.0)]],
}
NO_DIGIT = re.compile(r"^\D*$")  # what #reading shows instead of a reading: no digit at all
NUMBER_HINT = "Write a number, its digits side by side."


def settle(page):
    page.wait_for_function("() => !document.body.classList.contains('busy')")
    page.wait_for_timeout(300)  # the bars' short transition


def check_refused(page):
    """No big digit: a muted mark where a reading would be, the bars with none stressed, no Copy."""
    expect(page.locator("#reading")).to_have_class("refused")
    expect(page.locator("#reading")).to_have_text(NO_DIGIT)
    expect(page.locator("#confidence")).not_to_contain_text("% sure")
    expect(page.locator("#probabilities li.top")).to_have_count(0)
    expect(page.locator("#copy")).to_be_hidden()


@pytest.mark.parametrize("shape", SHAPES)
def test_a_drawing_that_is_no_digit_is_called_so(page, screenshots, shape):
    with page.expect_response("**/api/predict") as response:
        draw(page, SHAPES[shape], 0.2, 0.15, 0.65)
    assert response.value.json()["verdict"] == "not a digit", response.value.json()
    expect(page.get_by_role("status")).to_have_text("That doesn't look like a digit.")
    expect(page.locator("#confidence")).to_have_text("Draw one digit, 0–9.")
    check_refused(page)
    expect(page.get_by_role("button", name="Switch to Number mode")).to_be_hidden()
    settle(page)
    page.screenshot(path=screenshots / f"verdict-not-a-digit-{shape}.png")


@pytest.mark.parametrize("mode", ["Digit", "Number"])
def test_a_tap_on_the_pad_is_too_small_to_read(page, screenshots, mode):
    """A double click leaves a dot of ink, which the model read as a confident 0."""
    page.get_by_role("radio", name=mode).check()
    box = page.locator("#pad").bounding_box()
    with page.expect_response(re.compile(r".*/api/(predict|number)$")) as response:
        page.mouse.dblclick(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    assert response.value.status == 422
    expect(page.get_by_role("status")).to_contain_text("The drawing is too small to read")
    expect(page.locator("#reading")).to_have_text(NO_DIGIT)
    expect(page.locator("#probabilities li.top")).to_have_count(0)
    settle(page)
    page.screenshot(path=screenshots / f"too-small-{mode.lower()}.png")


def test_a_plain_digit_is_still_read(page, screenshots):
    with page.expect_response("**/api/predict") as response:
        draw(page, DIGITS[7], 0.2, 0.15, 0.65)
    assert response.value.json()["verdict"] == "digit", response.value.json()
    expect(page.locator("#reading")).to_have_text("7")
    expect(page.locator("#reading")).not_to_have_class(re.compile("refused|unsure"))
    expect(page.get_by_role("status")).to_have_text("It's a 7.")
    expect(page.locator("#confidence")).to_have_text(re.compile(rf"^{SHARE} sure$"))
    expect(page.locator("#probabilities li.top .label")).to_have_text("7")
    expect(page.locator("#switch")).to_be_hidden()
    settle(page)
    page.screenshot(path=screenshots / "verdict-digit.png")


def write_42(page) -> int:
    """42 written across the square pad, its digits side by side; the number of strokes."""
    with page.expect_response("**/api/predict") as response:
        strokes = sum(len(digit) for digit in write_number(page, "42"))
    answer = response.value.json()
    assert (answer["verdict"], answer.get("number")) == ("several digits", "42"), answer
    expect(page.get_by_role("status")).to_have_text("That looks like 2 digits: 42")
    expect(page.locator("#confidence")).to_have_text("Digit mode reads one digit at a time.")
    check_refused(page)
    return strokes


def test_a_number_with_a_point_counts_its_digits(page):
    """4.2 on the digit pad: two digits, whatever the point adds to the number's text."""
    strokes = with_a_point(page, "42")
    with page.expect_response(lambda response: "/api/predict" in response.url
                              and len(response.request.post_data_json["strokes"]) == len(strokes)) as response:
        for stroke in strokes:
            mouse_stroke(page, stroke)
    assert response.value.json().get("number") == "4.2", response.value.json()
    expect(page.get_by_role("status")).to_have_text("That looks like 2 digits: 4.2")


def test_two_digits_are_several_and_one_tap_reads_them_as_a_number(page, screenshots):
    strokes = write_42(page)
    switch = page.get_by_role("button", name="Switch to Number mode")
    expect(switch).to_be_visible()
    settle(page)
    page.screenshot(path=screenshots / "verdict-several-digits.png")

    with page.expect_response("**/api/number") as response:
        switch.click()
    expect(page.get_by_role("radio", name="Number")).to_be_checked()
    expect(page.get_by_role("radio", name="Number")).to_be_focused()  # the button is gone: focus is not lost
    box = page.locator("#pad").bounding_box()
    assert box["width"] / box["height"] == pytest.approx(3, abs=0.05)  # the wide pad
    sent = response.value.request.post_data_json
    assert len(sent["strokes"]) == strokes  # the drawing came along: no need to write it again
    xs = [x for stroke in sent["strokes"] for x, _ in stroke]
    assert box["width"] / 3 - 1 <= min(xs) < max(xs) <= 2 * box["width"] / 3 + 1  # the square pad, onto the middle
    assert response.value.json()["verdict"] in ("number", "unsure"), response.value.json()
    expect(page.locator("#reading")).to_have_text("42")
    expect(page.get_by_role("status")).to_have_text(re.compile(r"^(It's 42\.|Not sure — is it 42\?)$"))
    expect(page.locator(".box")).to_have_count(2)
    expect(switch).to_be_hidden()
    settle(page)
    page.screenshot(path=screenshots / "verdict-several-digits-switched.png")

    page.reload()  # the page remembers the mode it was switched to
    expect(page.get_by_role("radio", name="Number")).to_be_checked()
    expect(page.locator("#message")).to_have_text(NUMBER_HINT)


def test_several_digits_switched_with_one_tap_on_a_phone(browser, server, screenshots):
    context = browser.new_context(viewport={"width": 360, "height": 740}, device_scale_factor=3,
                                  is_mobile=True, has_touch=True)
    page = context.new_page()
    page.goto(server.url)
    with page.expect_response("**/api/predict") as response:
        write_number(page, "42", context.new_cdp_session(page))
    assert response.value.json()["verdict"] == "several digits", response.value.json()
    switch = page.get_by_role("button", name="Switch to Number mode")
    expect(switch).to_be_visible()
    assert switch.evaluate("b => b.scrollWidth <= b.clientWidth")  # its label fits
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 360
    settle(page)
    page.screenshot(path=screenshots / "verdict-several-digits-phone.png", full_page=True)
    switch.tap()
    expect(page.get_by_role("radio", name="Number")).to_be_checked()
    expect(page.locator("#reading")).to_have_text("42")
    expect(page.locator(".box")).to_have_count(2)
    settle(page)
    page.screenshot(path=screenshots / "verdict-several-digits-phone-switched.png", full_page=True)
    context.close()


def test_the_switch_is_reached_and_pressed_with_the_keyboard(page):
    write_42(page)
    page.locator("#upload").focus()  # the last of the pad's controls
    page.keyboard.press("Tab")
    expect(page.locator("#switch")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("radio", name="Number")).to_be_checked()
    expect(page.locator("#reading")).to_have_text("42")


def test_a_star_in_number_mode_is_no_number(page, screenshots):
    page.get_by_role("radio", name="Number").check()
    expect(page.locator("#message")).to_have_text(NUMBER_HINT)
    box = page.locator("#pad").bounding_box()
    side = 0.7 * box["height"]
    with page.expect_response("**/api/number") as response:
        for stroke in star():  # in the middle of the wide pad, as tall as a number's digits
            mouse_stroke(page, placed(stroke, box["x"] + (box["width"] - side) / 2, box["y"] + 0.15 * box["height"],
                                      side, side))
    answer = response.value.json()
    if answer["verdict"] == "unsure":  # a star may be cut in two, neither piece standing alone: no digit model's say
        expect(page.get_by_role("status")).to_have_text(f"Not sure — is it {answer['number']}?")
        expect(page.locator("#reading")).to_have_class("unsure")
    else:
        assert answer["verdict"] == "not a number", answer
        expect(page.get_by_role("status")).to_have_text("That doesn't look like a number.")
        expect(page.locator("#reading")).to_have_text(NO_DIGIT)
        expect(page.locator("#reading")).to_have_class("refused")
        expect(page.locator(".box")).to_have_count(0)
        expect(page.locator("#copy")).to_be_hidden()
    settle(page)
    page.screenshot(path=screenshots / "verdict-not-a-number.png")


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_refusals_pass_axe_and_contrast(page, screenshots, scheme):
    """axe-core's rules, and WCAG AA contrast of the words and the muted mark, on "not a
    digit" and on "several digits" with its button."""
    page.emulate_media(color_scheme=scheme)
    axe = Axe()
    draw(page, SHAPES["star"], 0.2, 0.15, 0.65)
    expect(page.locator("#message")).to_have_text("That doesn't look like a digit.")
    settle(page)
    reports = {"not a digit": axe.run(page)}
    ratios = {f"not a digit {selector}": page.evaluate(CONTRAST, selector)
              for selector in ("#reading", "#message", "#confidence", "#which")}
    page.click("#clear")
    write_42(page)
    settle(page)
    reports["several digits"] = axe.run(page)
    ratios["#switch"] = page.evaluate(CONTRAST, "#switch")
    page.screenshot(path=screenshots / f"verdict-several-digits-{scheme}.png")
    assert all(ratio >= 4.5 for ratio in ratios.values()), ratios
    assert all(report.violations_count == 0 for report in reports.values()), {
        state: report.generate_report() for state, report in reports.items() if report.violations_count}
