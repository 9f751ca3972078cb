"""Hostile content shows as text and runs nothing: in the log, the expanded row (the HTML body in
a sandboxed iframe), the bulk dialog, the detail page and the client and staff pages. No dialog
opens, `window.__pwned` is never set (in the page or in any frame), and nothing is fetched from
another host (no tracking pixel gets through)."""

import pytest
from playwright.sync_api import Page, expect

from console.log import COLUMNS
from shared.models import Attempt, Client, Message, User, UserPreference, now
from tests.browser.conftest import log_in_through_form, make_message
from tests.conftest import wait_for

SCRIPT = "<script>window.__pwned=1</script>"
IMG = '<img src=x onerror="window.__pwned=1">'
SVG = '"><svg onload=window.__pwned=1>'
PAYLOAD = SCRIPT + IMG + SVG
PIXEL = '<img src="http://tracker.example/pixel.gif?who=you">'


@pytest.fixture
def hostile(email_backend, support_user):
    """A failed message whose every shown field carries the payloads, about a client whose
    name does too, sent by a staff member whose name does too (the support user)."""
    User.update(name="Sam " + PAYLOAD).where(User.id == support_user.id).execute()
    client = Client.create(name="Mallory " + PAYLOAD, email="mallory@example.com")
    message = make_message(
        "mallory@example.com",
        "Subject " + PAYLOAD,
        "Text " + PAYLOAD,
        "FAILED",
        body_html="<p>HTML body</p>" + PAYLOAD + PIXEL,
        state_reason="Refused for good: " + PAYLOAD,
        kind="kind" + SVG,
        client=client,
        sender=support_user,
        attempts=1,
    )
    # stored as it came: the outbox would have refused it, a database need not
    Message.update(recipient=IMG + SVG + "@example.com").where(Message.id == message.id).execute()
    Attempt.create(
        message=message, number=1, finished_at=now(), outcome="permanent_error", response=PAYLOAD
    )
    # every column in the log, so that each cell renders its field
    UserPreference.create(user=support_user, log_columns=list(COLUMNS))
    return message


def assert_nothing_ran(page: Page, watch, outside_world) -> None:
    assert watch.dialogs == []
    assert watch.foreign_requests == []
    assert outside_world.requests == [], "\n".join(outside_world.requests)
    for frame in page.frames:
        assert frame.evaluate("window.__pwned") is None, f"a payload ran in {frame.url}"


def settle_html_body(frame_locator) -> None:
    """Wait until the sandboxed HTML body has parsed and its images have loaded or failed:
    then any handler that could have run would have."""
    expect(frame_locator.locator("p")).to_have_text("HTML body")
    for image in frame_locator.locator("img").all():
        expect(image).to_have_js_property("complete", True)


def test_payloads_in_a_message_show_as_text_and_run_nothing(
    page, watch, outside_world, hostile, support_user
):
    message = Message.get_by_id(hostile.id)
    log_in_through_form(page, support_user.email)

    # the log, with every column, and the payload in the search box too
    response = page.goto("/log?q=%22%3E%3Csvg")  # a search that finds it
    assert response.status == 200
    row = page.locator("#m-" + message.uid)
    expect(row.locator("td.recipient")).to_have_text(message.recipient)
    expect(row.locator("td.subject")).to_have_text(message.subject)
    expect(row).to_contain_text(client_name := "Mallory " + PAYLOAD)
    expect(page.locator("#q")).to_have_value('">\u003csvg')
    expect(page.locator(".topbar .who")).to_contain_text(PAYLOAD)
    assert_nothing_ran(page, watch, outside_world)

    # the expanded row: text escaped, the HTML body in a sandboxed iframe
    row.get_by_role("button", name="Show").click()
    preview = page.locator("#p-" + message.uid)
    expect(preview.locator(".text-body")).to_have_text(message.body_text)
    expect(preview).to_contain_text(PAYLOAD)  # shown as text, not run
    frame = preview.locator("iframe.html-body")
    expect(frame).to_have_attribute("sandbox", "")
    settle_html_body(frame.content_frame)
    assert_nothing_ran(page, watch, outside_world)

    # the bulk dialog lists the recipient
    row.locator("input[name=uid]").check()
    page.get_by_role("button", name="Resend…").click()
    dialog = page.locator("#confirm-dialog")
    expect(dialog.locator("ul.sample li")).to_have_text([message.recipient])
    assert_nothing_ran(page, watch, outside_world)

    # the detail page: heading, facts, content, tries, history
    page.goto("/messages/" + message.uid)
    expect(page.get_by_role("heading", level=1)).to_contain_text(message.subject)
    expect(page.locator("dl.facts")).to_contain_text(message.recipient)
    expect(page.locator("table.grid")).to_contain_text(PAYLOAD)
    settle_html_body(page.locator("iframe.html-body").content_frame)
    assert_nothing_ran(page, watch, outside_world)

    # the client's page and the staff member's page
    page.goto(f"/clients/{message.client_id}")
    expect(page.get_by_role("heading", level=1)).to_have_text(client_name)
    assert client_name in page.title()
    expect(page.locator("#m-" + message.uid)).to_be_visible()
    assert_nothing_ran(page, watch, outside_world)
    page.goto(f"/users/{support_user.id}")
    expect(page.get_by_role("heading", level=1)).to_contain_text(PAYLOAD)
    assert_nothing_ran(page, watch, outside_world)

    # and the watch would have seen it: the same pixel without the console's CSP is fetched
    # (the sandbox alone does not stop remote content; the Content-Security-Policy does)
    control = page.context.new_page()
    control.set_content(f'<iframe sandbox srcdoc="{PIXEL.replace(chr(34), "&quot;")}"></iframe>')
    wait_for(lambda: outside_world.requests, timeout=10, what="the control pixel at the proxy")
    assert outside_world.requests == ["GET http://tracker.example/pixel.gif?who=you"]
