"""Corrections from the drawing page, in a real browser against the real server: after
an answer, a person says what the drawing really is, with a digit button (Digit mode)
or the number typed (Number mode), by mouse or keyboard; it is sent once, in the
background, kept by the server, and can be taken back."""

import pytest
import requests
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from tests.webpage import DIGITS, browser, draw, page, problems_of, screenshots, write_number  # noqa: F401 (fixtures)

THANKS = "Thank you: it will help the model learn."


def kept(server) -> int:
    return requests.get(server.url + "/api/feedback/stats", timeout=10).json()["total"]


def draw_seven(page):
    draw(page, DIGITS[7], 0.2, 0.15, 0.6)
    expect(page.locator("#reading")).to_have_text("7")


def test_a_digit_corrected_with_a_button_is_kept_once_and_can_be_taken_back(page, server, screenshots):
    problems = problems_of(page)
    before = kept(server)
    expect(page.locator("#correction")).to_be_hidden()  # nothing read yet: nothing to correct
    draw_seven(page)
    expect(page.get_by_text("Wrong? Tell it the right one:")).to_be_visible()
    expect(page.get_by_text("What you send is kept with your drawing to improve the model.")).to_be_visible()
    choices = page.locator("#correct-digit button")
    expect(choices).to_have_text([*"0123456789", "Not a digit"])
    expect(page.locator("#number-label")).to_be_hidden()  # Number mode's field

    with page.expect_request("**/api/feedback") as sent:
        choices.get_by_text("1", exact=True).click()
    body = sent.value.post_data_json
    assert body["label"] == "1" and body["predicted"] == "7"
    assert body["model"] == requests.get(server.url + "/healthz", timeout=10).json()["model"]
    assert len(body["strokes"]["strokes"]) == len(DIGITS[7])  # the drawing as it was read
    expect(page.locator("#thanks")).to_contain_text(THANKS)
    expect(page.locator("#correction")).to_be_hidden()  # one send per drawing
    assert kept(server) == before + 1
    page.screenshot(path=screenshots / "feedback-sent.png")

    with page.expect_response("**/api/feedback/*") as taken:
        page.get_by_role("button", name="Take it back").click()
    assert taken.value.status == 204
    expect(page.locator("#thanks")).to_contain_text("Taken back: your drawing is not kept.")
    assert kept(server) == before
    assert problems == []


def test_a_correction_is_sent_from_the_keyboard(page, server):
    before = kept(server)
    draw_seven(page)
    page.locator("#correct-digit button").first.focus()
    page.keyboard.press("Tab")  # 0 -> 1
    page.keyboard.press("Tab")  # 1 -> 2
    with page.expect_request("**/api/feedback") as sent:
        page.keyboard.press("Enter")
    assert sent.value.post_data_json["label"] == "2"
    expect(page.locator("#thanks")).to_contain_text(THANKS)
    assert kept(server) == before + 1
    # The form went with the button pressed: focus goes on to what came in its place, not to the page's top.
    expect(page.get_by_role("button", name="Take it back")).to_be_focused()
    with page.expect_response("**/api/feedback/*"):
        page.keyboard.press("Enter")
    expect(page.locator("#thanks")).to_contain_text("Taken back")
    expect(page.locator("#thanks")).to_be_focused()
    assert kept(server) == before


def test_a_number_is_corrected_by_typing_it(page, server, screenshots):
    before = kept(server)
    page.get_by_role("radio", name="Number").check()
    write_number(page, "2026")
    expect(page.locator("#reading")).to_have_text("2026")
    expect(page.locator("#correct-digit")).to_be_hidden()
    field = page.get_by_role("textbox", name="Wrong? Tell it the right one:")
    field.fill("20288")
    field.press("Control+z")  # the field's own undo and Escape: the drawing and its answer stay
    field.press("Escape")
    expect(page.locator("#reading")).to_have_text("2026")
    expect(field).to_be_visible()
    field.fill("2028")
    page.screenshot(path=screenshots / "feedback-number.png")
    with page.expect_request("**/api/feedback") as sent:
        field.press("Enter")
    body = sent.value.post_data_json
    assert (body["label"], body["predicted"]) == ("2028", "2026")
    expect(page.locator("#thanks")).to_contain_text(THANKS)
    assert kept(server) == before + 1

    page.click("#clear")
    write_number(page, "1984")  # a new drawing: a new answer, and a new chance to correct it
    expect(page.locator("#reading")).to_have_text("1984")
    expect(page.locator("#thanks")).to_be_hidden()
    with page.expect_request("**/api/feedback") as sent:
        page.get_by_role("button", name="Not a number").click()
    assert sent.value.post_data_json["label"] == "not a digit"
    expect(page.locator("#thanks")).to_contain_text(THANKS)


def test_the_page_does_not_wait_for_a_correction(page, server):
    """A correction still on its way does not hold up the next drawing, and its late
    reply does not thank the person for the next one."""
    held = []
    page.route("**/api/feedback", lambda route: held.append(route))
    draw_seven(page)
    page.locator("#correct-digit button").get_by_text("1", exact=True).click()
    expect(page.locator("#thanks")).to_contain_text("Sending…")
    page.click("#clear")
    draw(page, DIGITS[0], 0.2, 0.15, 0.6)
    expect(page.locator("#reading")).to_have_text("0")  # answered while the correction waits
    assert len(held) == 1
    held[0].continue_()
    page.wait_for_timeout(500)
    expect(page.locator("#thanks")).to_be_hidden()
    expect(page.locator("#correction")).to_be_visible()  # the new answer's own offer


def test_a_correction_that_cannot_be_sent_is_offered_again_and_kept_once(page, server):
    before = kept(server)
    draw_seven(page)
    page.route("**/api/feedback", lambda route: route.abort())
    keys = []
    page.on("request", lambda request: request.url.endswith("/api/feedback") and keys.append(request.post_data_json["key"]))
    page.locator("#correct-digit button").get_by_text("1", exact=True).focus()
    page.keyboard.press("Enter")
    expect(page.locator("#thanks")).to_contain_text("Not sent: cannot reach the server.")
    expect(page.locator("#correction")).to_be_visible()
    expect(page.locator("#correct-digit button").first).to_be_focused()  # back in the form, to try again
    page.unroute("**/api/feedback")
    page.locator("#correct-digit button").get_by_text("1", exact=True).click()
    expect(page.locator("#thanks")).to_contain_text(THANKS)
    assert len(keys) == 2 and keys[0] == keys[1]  # a retry is the same correction
    assert kept(server) == before + 1


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_correction_form_has_no_accessibility_violations(browser, server, scheme):
    context = browser.new_context(viewport={"width": 1100, "height": 800}, color_scheme=scheme)
    page = context.new_page()
    page.goto(server.url)
    draw_seven(page)
    expect(page.locator("#correction")).to_be_visible()
    assert Axe().run(page).response["violations"] == []
    context.close()
