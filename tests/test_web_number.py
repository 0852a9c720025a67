"""Number mode of the drawing page in a real browser against the real server: numbers
written stroke by stroke with a mouse and with a finger, each digit boxed over its ink
and its probabilities shown on demand, uploads, the mode remembered, Copy, errors in
words, accessibility. Screenshots go where tests/test_web.py puts them."""

import re

import numpy as np
import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from drawings import photographed, png_bytes
from drawings.numbers import number_picture, written_number
from tests.webpage import (DIGITS, SHARE, browser, mouse_stroke, number_strokes, page, screenshots,  # noqa: F401
                          shown, touch_stroke, with_a_point, write_number)

NUMBERS = ["2026", "1984"]
UPLOAD_SIDE = 1024  # px: the page sends an upload's longer side at most this long


def number_mode(page):
    page.get_by_role("radio", name="Number").check()
    expect(page.locator("#message")).to_have_text("Write a number, its digits side by side.")


def pad_ratio(page) -> float:
    box = page.locator("#pad").bounding_box()
    return box["width"] / box["height"]


def inside(point, box) -> bool:
    x, y = point
    return box["x"] < x < box["x"] + box["width"] and box["y"] < y < box["y"] + box["height"]


def middle(strokes):
    xs, ys = [x for stroke in strokes for x, _ in stroke], [y for stroke in strokes for _, y in stroke]
    return (min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2


def check_boxes(page, number, middles):
    """One box per digit, in order, over the digit's ink (`middles`: the middle of each
    digit's ink in page px), labelled with what was read there."""
    boxes = page.locator(".box")
    expect(boxes).to_have_count(len(number))
    for i, (box, point) in enumerate(zip(boxes.all(), middles)):
        assert inside(point, box.bounding_box()), (i, point, box.bounding_box())
        label = rf"^digit {i + 1} of {len(number)}: {number[i]}, {SHARE} sure$"
        expect(box).to_have_attribute("aria-label", re.compile(label))


def check_digit_shown(page, number, index, answer):
    """The bars and the 28x28 preview are those of the `index`th digit of `answer`."""
    expect(page.locator(".box").nth(index)).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#which")).to_have_text(f"Digit {index + 1} of {len(number)}: {number[index]}")
    expect(page.locator("#probabilities li.top .label")).to_have_text(number[index])
    expect(page.locator("#probabilities .value")).to_have_text(
        [shown(p) for p in answer["digits"][index]["probabilities"]])
    page.wait_for_function("() => document.querySelector('#preview').getContext('2d')"
                           ".getImageData(0, 0, 28, 28).data.filter((v, i) => i % 4 === 0 && v > 128).length > 20")


@pytest.mark.parametrize("number", NUMBERS)
def test_number_written_with_a_mouse_is_read_and_boxed(page, screenshots, number):
    number_mode(page)
    assert pad_ratio(page) == pytest.approx(3, abs=0.05)
    middles = [middle(strokes) for strokes in write_number(page, number)]
    expect(page.locator("#reading")).to_have_text(number)
    expect(page.locator("#confidence")).to_have_text(re.compile(rf"^{SHARE} sure$"))
    check_boxes(page, number, middles)

    with page.expect_response("**/api/number") as response:
        page.click("#predict")  # asks again: the same strokes, the same answer
    answer = response.value.json()
    assert answer["number"] == number
    sent = response.value.request.post_data_json
    box = page.locator("#pad").bounding_box()
    assert (sent["width"], sent["height"]) == pytest.approx((box["width"], box["height"]))
    assert sent["brush"] == pytest.approx(0.055 * box["height"])  # of a digit's height, as in Digit mode
    assert len(sent["strokes"]) == sum(len(DIGITS[int(digit)]) for digit in number)  # one per pen lift

    check_digit_shown(page, number, 0, answer)  # the first digit's at first
    page.locator(".box").last.focus()
    check_digit_shown(page, number, len(number) - 1, answer)
    page.locator(".box-reading").nth(1).click()  # a tap on a digit's reading under the pad
    check_digit_shown(page, number, 1, answer)
    page.get_by_role("radio", name="Number").focus()
    page.keyboard.press("Tab")  # from the mode to the first digit
    check_digit_shown(page, number, 0, answer)
    if number == "2026":
        page.wait_for_timeout(300)  # the bars' short transition
        page.screenshot(path=screenshots / "number-desktop.png", full_page=True)

    before = page.locator("#pad").bounding_box()
    page.set_viewport_size({"width": 800, "height": 800})  # a narrower window: the drawing and its boxes follow the pad
    after = page.locator("#pad").bounding_box()
    page.wait_for_function("size => document.querySelector('#pad').width === size", arg=round(after["width"]))
    scale = after["width"] / before["width"]
    assert scale < 0.9
    check_boxes(page, number, [(after["x"] + (x - before["x"]) * scale, after["y"] + (y - before["y"]) * scale)
                               for x, y in middles])


@pytest.mark.parametrize("number", NUMBERS)
def test_number_written_with_a_finger_on_a_phone(browser, server, screenshots, number):
    context = browser.new_context(viewport={"width": 360, "height": 740}, device_scale_factor=3,
                                  is_mobile=True, has_touch=True)
    page = context.new_page()
    page.goto(server.url)
    page.get_by_role("radio", name="Number").tap()
    box = page.locator("#pad").bounding_box()
    assert box["width"] >= 300 and pad_ratio(page) == pytest.approx(2, abs=0.05)
    assert page.evaluate("() => [document.querySelector('#pad').width, document.querySelector('#pad').height]") == [
        round(box["width"] * 3), round(box["height"] * 3)]  # crisp
    digits = write_number(page, number, context.new_cdp_session(page))
    expect(page.locator("#reading")).to_have_text(number)
    check_boxes(page, number, [middle(strokes) for strokes in digits])
    readings = [reading.bounding_box() for reading in page.locator(".box-reading").all()]
    assert all(a["x"] + a["width"] <= b["x"] for a, b in zip(readings, readings[1:]))  # side by side, apart
    assert all(reading["y"] >= box["y"] + box["height"] for reading in readings)  # under the pad, off the ink
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 360
    assert page.locator("#number-label").bounding_box()["width"] >= 150  # room to type the right number
    if number == "2026":
        page.wait_for_timeout(300)
        page.screenshot(path=screenshots / "number-phone.png", full_page=True)
    context.close()


def test_undo_clear_and_keys_work_on_numbers(page):
    number_mode(page)
    write_number(page, "17")
    expect(page.locator("#reading")).to_have_text("17")
    page.keyboard.press("Control+z")
    expect(page.locator("#reading")).to_have_text("1")
    expect(page.locator(".box")).to_have_count(1)
    page.click("#undo")
    expect(page.locator("#reading")).to_have_text("?")
    write_number(page, "71")
    expect(page.locator("#reading")).to_have_text("71")
    page.keyboard.press("Escape")
    expect(page.locator("#reading")).to_have_text("?")
    expect(page.locator(".box")).to_have_count(0)
    write_number(page, "71")
    expect(page.locator("#reading")).to_have_text("71")
    page.click("#clear")
    expect(page.locator("#message")).to_have_text("Write a number, its digits side by side.")
    expect(page.locator("#copy")).to_be_hidden()


def test_an_answer_about_the_drawing_as_it_was_is_never_shown(page):
    """On a slow network the answer about "1" can come back while the 7 of "17" is being
    written. It is about a drawing that is gone: it must not be shown beside the new
    ink, nor offered for a correction, which would label the "1" alone as what follows."""
    number_mode(page)
    held = []
    page.route("**/api/number", lambda route: held.append(route) if not held else route.continue_())
    one, (seven,) = number_strokes(page, "17")
    with page.expect_request("**/api/number"):
        for stroke in one:
            mouse_stroke(page, stroke)
    page.mouse.move(*seven[0])
    page.mouse.down()  # the 7 begun; then the answer about "1" comes
    held[0].fulfill(response=held[0].fetch())
    page.wait_for_timeout(300)
    expect(page.locator("#reading")).not_to_have_text("1")
    expect(page.locator("#correction")).to_be_hidden()
    for point in seven[1:]:
        page.mouse.move(*point)
    page.mouse.up()
    expect(page.locator("#reading")).to_have_text("17")
    expect(page.locator("#correction")).to_be_visible()


def test_a_drawing_keeps_its_shape_and_boxes_when_the_pad_changes_shape(page):
    """The wide pad is 3:1 on a desktop and 2:1 in a narrower window (or a phone turned):
    the ink must not be squeezed with it, and each digit's box must stay on its ink."""
    number_mode(page)
    write_number(page, "508")
    expect(page.locator("#reading")).to_have_text("508")

    def sent():
        with page.expect_request("**/api/number") as request:
            page.click("#predict")
        expect(page.locator("#reading")).to_have_text("508")
        return request.value.post_data_json

    def shapes(drawing):  # each stroke about its own middle, in pad heights
        return [(np.array(stroke) - np.array(stroke).mean(axis=0)) / drawing["height"] for stroke in drawing["strokes"]]

    wide = sent()
    page.set_viewport_size({"width": 650, "height": 800})
    page.wait_for_function("() => { const { width, height } = document.querySelector('#pad').getBoundingClientRect();"
                           " return width < 2.1 * height; }")
    page.wait_for_timeout(100)  # the next frame: boxes placed
    pad = page.locator("#pad").bounding_box()
    boxes = [box.bounding_box() for box in page.locator(".box").all()]  # the answer kept: its drawing is the same
    narrow = sent()
    assert pad_ratio(page) == pytest.approx(2, abs=0.05) and narrow["width"] == pytest.approx(pad["width"])
    for before, after in zip(shapes(wide), shapes(narrow), strict=True):
        assert np.abs(before - after).max() < 0.01
    in_page = [[(pad["x"] + x, pad["y"] + y) for x, y in stroke] for stroke in narrow["strokes"]]
    middles = [middle(in_page[:2]), middle(in_page[2:3]), middle(in_page[3:])]  # the 5 is two strokes
    assert len(boxes) == 3 and all(inside(point, box) for point, box in zip(middles, boxes))


def test_a_price_is_read_with_its_point_and_corrected_with_one(page, screenshots):
    """"1.5": a 1, a tap of the pen on its foot a little to the right, then a 5 with room
    left for the point; a correction may be a number with a point too."""
    number_mode(page)
    for stroke in with_a_point(page, "15"):
        mouse_stroke(page, stroke)
    expect(page.locator("#reading")).to_have_text("1.5")
    expect(page.locator("#message")).to_have_text("It's 1.5.")
    expect(page.locator(".box")).to_have_count(2)  # the digits are boxed, the point is not
    page.screenshot(path=screenshots / "number-point.png")
    field = page.locator("#number-label")
    field.fill("1.75")
    assert field.evaluate("field => field.checkValidity()")
    field.fill("1..75")
    assert not field.evaluate("field => field.checkValidity()")


def test_uploaded_number_is_boxed_where_the_page_shows_its_digits(page, data, tmp_path):
    """The boxes come in the pixels of the picture as sent (shrunk by the page), and the
    picture is shown fitted into the wide pad: each box must land on its digit there."""
    picture, truth = number_picture(list(data.test_images[:4]), np.random.default_rng(3), "apart", "black-on-white")
    picture = picture.resize((picture.width * 3, picture.height * 3))
    assert max(picture.size) > UPLOAD_SIDE
    path = tmp_path / "number.png"
    path.write_bytes(png_bytes(picture))
    number = "".join(str(label) for label in data.test_labels[:4])
    number_mode(page)
    with page.expect_response("**/api/number") as response:
        page.set_input_files("#upload", str(path))
    expect(page.locator("#reading")).to_have_text(number)

    pad = page.locator("#pad").bounding_box()
    scale = min(pad["width"] / picture.width, pad["height"] / picture.height)  # the picture as drawn on the pad
    left = pad["x"] + (pad["width"] - picture.width * scale) / 2
    top = pad["y"] + (pad["height"] - picture.height * scale) / 2
    sent = UPLOAD_SIDE / max(picture.size)  # the picture as sent, in which the answer's boxes are
    for (x, y, w, h), shown in zip((digit["box"] for digit in response.value.json()["digits"]),
                                   page.locator(".box").all()):
        expected = [left + x / sent * scale, top + y / sent * scale, w / sent * scale, h / sent * scale]
        assert list(shown.bounding_box().values()) == pytest.approx(expected, abs=1.5)
    check_boxes(page, number, [(left + 3 * (x + w / 2) * scale, top + 3 * (y + h / 2) * scale)
                               for x, y, w, h in truth])

    picture, _ = number_picture(list(data.test_images[4:7]), np.random.default_rng(4), "close", "white-on-black")
    page.evaluate("""bytes => {
        const file = new File([new Uint8Array(bytes)], "drop.png", {type: "image/png"});
        const transfer = new DataTransfer();
        transfer.items.add(file);
        document.querySelector("#drop-zone").dispatchEvent(new DragEvent("drop", {dataTransfer: transfer, bubbles: true}));
    }""", list(png_bytes(picture)))
    expect(page.locator("#reading")).to_have_text("".join(str(label) for label in data.test_labels[4:7]))
    expect(page.locator(".box")).to_have_count(3)
    page.keyboard.press("Control+z")  # takes the picture away
    expect(page.locator("#reading")).to_have_text("?")


def test_a_phone_photo_of_a_number_on_squared_paper_is_read(page, data, tmp_path, screenshots):
    """The squares' lines run through and around the digits; the page shows the digits
    boxed on the photo and the number read. (With the lines left in as ink, this photo
    is read as one digit, "9".)"""
    rng = np.random.default_rng(10)
    ink, _, _ = written_number(list(data.test_images[7:11]), rng, "close")
    path = tmp_path / "number.jpg"
    path.write_bytes(photographed(ink, rng, "squared"))
    number_mode(page)
    page.set_input_files("#upload", str(path))
    expect(page.locator("#reading")).to_have_text("".join(str(label) for label in data.test_labels[7:11]))
    expect(page.locator(".box")).to_have_count(4)
    page.screenshot(path=screenshots / "number-squared-paper.png")


def test_too_many_marks_are_refused_in_words(page):
    number_mode(page)
    box = page.locator("#pad").bounding_box()
    for i in range(21):
        x = box["x"] + box["width"] * (0.03 + 0.045 * i)
        mouse_stroke(page, [(x, box["y"] + box["height"] * (0.3 + 0.02 * t)) for t in range(21)])
    expect(page.locator("#message")).to_contain_text("too many marks")
    expect(page.locator("#reading")).to_have_text("!")
    expect(page.locator(".box")).to_have_count(0)
    expect(page.locator("#copy")).to_be_hidden()


def test_mode_is_remembered_across_reloads(page):
    number = page.get_by_role("radio", name="Number")
    expect(page.get_by_role("radio", name="Digit")).to_be_checked()
    assert pad_ratio(page) == pytest.approx(1, abs=0.01)
    page.get_by_role("radio", name="Digit").focus()
    page.keyboard.press("ArrowRight")  # the keyboard moves between the two
    expect(number).to_be_checked()
    page.reload()
    expect(number).to_be_checked()
    expect(page.locator("#message")).to_have_text("Write a number, its digits side by side.")
    assert pad_ratio(page) == pytest.approx(3, abs=0.05)
    page.get_by_role("radio", name="Digit").check()
    page.reload()
    expect(page.get_by_role("radio", name="Digit")).to_be_checked()
    expect(page.locator("#message")).to_have_text("Draw a digit from 0 to 9.")


def test_copy_puts_the_number_on_the_clipboard(browser, server):
    context = browser.new_context(permissions=["clipboard-read", "clipboard-write"])
    page = context.new_page()
    page.goto(server.url)
    number_mode(page)
    write_number(page, "17")
    expect(page.locator("#reading")).to_have_text("17")
    copy = page.get_by_role("button", name="Copy")
    copy.click()
    expect(page.locator("#copy")).to_have_text("Copied")
    assert page.evaluate("() => navigator.clipboard.readText()") == "17"
    expect(page.locator("#copy")).to_have_text("Copy")  # after a moment
    context.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_number_mode_passes_axe_without_console_errors(browser, server, scheme):
    """axe-core's rules on the empty wide pad and on a number read, its boxes over the pad."""
    context = browser.new_context(viewport={"width": 1100, "height": 800}, color_scheme=scheme)
    page = context.new_page()
    problems = []
    page.on("console", lambda message: message.type == "error" and problems.append(message.text))
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.goto(server.url)
    number_mode(page)
    axe = Axe()
    reports = {"empty": axe.run(page)}
    write_number(page, "17")
    expect(page.locator("#reading")).to_have_text("17")
    page.locator(".box").nth(1).focus()
    page.wait_for_timeout(300)  # the bars' short transition
    reports["answer"] = axe.run(page)
    context.close()
    assert problems == []
    assert all(report.violations_count == 0 for report in reports.values()), {
        state: report.generate_report() for state, report in reports.items() if report.violations_count}
