"""The review page (/admin) in a real browser against the real server: the token asked
for once and kept for the tab, a pending correction shown with its picture and the
model's inputs, accepted, and gone from the list."""

import pytest
import requests
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from tests.conftest import ADMIN_TOKEN
from tests.test_feedback import ONE
from tests.webpage import browser, problems_of, screenshots  # noqa: F401 (fixtures)


@pytest.fixture
def admin_page(browser, server):
    context = browser.new_context(viewport={"width": 1100, "height": 800})
    page = context.new_page()
    yield page
    context.close()


def send_one(server) -> str:
    answer = requests.post(server.url + "/api/feedback", json={"strokes": ONE, "label": "1", "predicted": "7"},
                           timeout=30)
    assert answer.status_code == 201, answer.text
    return answer.json()["id"]


def sign_in(page, server, token=ADMIN_TOKEN):
    page.goto(server.url + "/admin")
    page.get_by_label("Admin token").fill(token)
    page.get_by_role("button", name="Open").click()


def test_a_pending_correction_is_shown_with_its_picture_accepted_and_leaves_the_list(admin_page, server, screenshots):
    page, problems = admin_page, problems_of(admin_page)
    id = send_one(server)
    with page.expect_request("**/api/admin/corrections?*") as listed:
        sign_in(page, server)
    assert listed.value.headers["authorization"] == f"Bearer {ADMIN_TOKEN}"
    assert ADMIN_TOKEN not in listed.value.url
    item = page.locator(f'.correction[data-id="{id}"]')
    expect(item).to_be_visible()
    expect(item.locator(".facts")).to_contain_text("Label1")
    expect(item.locator(".facts")).to_contain_text("Page said7")
    for image in (item.locator(".picture"), item.locator(".inputs img")):
        expect(image).to_have_count(1)
        assert image.evaluate("image => image.complete && image.naturalWidth > 0")  # loaded, not broken
    page.screenshot(path=screenshots / "admin-desktop.png")

    page.reload()  # the token is kept for the tab: not asked again
    expect(item).to_be_visible()
    expect(page.get_by_label("Admin token")).to_be_hidden()
    with page.expect_response("**/api/admin/review") as reviewed:
        item.get_by_role("button", name="Accept").click()
    assert reviewed.value.json() == {"changed": 1}
    expect(item).to_have_count(0)
    listed = requests.get(server.url + "/api/admin/corrections?limit=100",
                          headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}).json()
    assert id not in {c["id"] for c in listed["corrections"]}
    assert problems == []


def test_reviewing_by_keyboard_goes_on_to_the_next_correction(admin_page, server):
    page = admin_page
    older, newer = send_one(server), send_one(server)
    sign_in(page, server)
    accept = page.get_by_role("button", name=f"Accept correction 1 ({newer[:6]})")
    accept.focus()
    page.keyboard.press("Enter")
    expect(page.locator(f'.correction[data-id="{newer}"]')).to_have_count(0)
    focused = page.evaluate("() => [document.activeElement.closest('.correction')?.dataset.id,"
                            "       document.activeElement.textContent]")
    assert focused == [older, "Accept"]  # the next one, newest first, in the reviewed one's place
    expect(page.get_by_role("checkbox", name=f"Select correction 1 ({older[:6]})")).to_be_attached()


def test_a_wrong_token_is_asked_for_again(admin_page, server):
    page = admin_page
    sign_in(page, server, "not-the-token")
    expect(page.get_by_role("alert")).to_have_text("The admin token is wrong.")
    expect(page.get_by_label("Admin token")).to_be_visible()
    assert page.evaluate("() => sessionStorage.length") == 0  # the wrong one is not kept


def test_the_review_page_has_no_accessibility_violations(admin_page, server):
    send_one(server)
    sign_in(admin_page, server)
    expect(admin_page.locator(".correction").first).to_be_visible()
    assert Axe().run(admin_page).response["violations"] == []
