"""The communications log in a real browser: filters as you type, the column chooser, rows
that expand in place, and resending selected failures through the confirmation dialog."""

import re

import pytest
from playwright.sync_api import expect

from shared.diagnosis import diagnose
from shared.models import Attempt, Message, now
from tests.browser.conftest import log_in_through_form, make_message

RECIPIENTS = "#log-results td.recipient"


@pytest.fixture
def log(email_backend, support_user):
    """Four messages, oldest first: two about repayments, two failed."""
    return {
        "ana": make_message(
            "ana@example.com",
            "Repayment due",
            "Please pay 120 EUR by Friday.",
            "SENT",
            sent_at=now(),
        ),
        "bob": make_message(
            "bob@example.com",
            "Your statement",
            "Your March statement is ready.",
            "FAILED",
            state_reason="Refused for good: 550 5.1.1 User unknown",
            attempts=1,
        ),
        "carla": make_message(
            "carla@example.com",
            "Repayment received",
            "Thank you for your repayment.",
            "FAILED",
            state_reason="Gave up after 5 tries. Last error: connection refused",
            attempts=5,
        ),
        "dan": make_message(
            "dan@example.com",
            "Group meeting",
            "Thursday at 6 in the hall.",
            "SENT",
            sent_at=now(),
        ),
    }


def test_typing_a_search_filters_the_rows_in_place_and_keeps_it_in_the_url(page, log):
    log_in_through_form(page, "support@example.com")
    page.goto("/log")
    expect(page.locator(RECIPIENTS)).to_have_count(4)
    # anything set on window survives only if the page is never reloaded
    page.evaluate("window.__notReloaded = true")
    searches = []
    page.on(
        "request",
        lambda r: "/log?" in r.url and r.headers.get("hx-request") and searches.append(r.url),
    )

    page.locator("#q").press_sequentially("repayment")
    expect(page.locator(RECIPIENTS)).to_have_text(["carla@example.com", "ana@example.com"])
    expect(page).to_have_url(re.compile(r"/log\?(.*&)?q=repayment(&|$)"))
    expect(page.locator(".bulk-bar .count")).to_have_text("2 messages")
    assert len(searches) < len("repayment"), "typing should be debounced, not one request a key"

    page.locator("input[name=state][value=FAILED]").check()
    expect(page.locator(RECIPIENTS)).to_have_text(["carla@example.com"])
    expect(page).to_have_url(re.compile(r"[?&]state=FAILED(&|$)"))
    expect(page).to_have_url(re.compile(r"[?&]q=repayment(&|$)"))

    # Back brings the previous view back, still without a reload
    page.go_back()
    expect(page).not_to_have_url(re.compile(r"state=FAILED"))
    expect(page.locator(RECIPIENTS)).to_have_text(["carla@example.com", "ana@example.com"])
    assert page.evaluate("window.__notReloaded") is True

    # the URL alone brings the view back: opened afresh (bookmarked, pasted to a colleague)
    page.goto("/log?q=repayment&state=FAILED")
    expect(page.locator(RECIPIENTS)).to_have_text(["carla@example.com"])
    expect(page.locator("#q")).to_have_value("repayment")
    expect(page.locator("input[name=state][value=FAILED]")).to_be_checked()


def test_the_chosen_columns_survive_a_reload_and_a_new_login(page, new_context, log):
    headings = "table.log thead th[scope=col]:not(.pick)"
    log_in_through_form(page, "support@example.com")
    page.goto("/log")
    expect(page.locator(headings)).to_have_text(
        ["Created", "Sent", "State", "Channel", "Recipient", "Sender", "Subject", "Details"]
    )

    page.get_by_text("Columns", exact=True).click()
    chooser = page.locator(".columns-form")
    chooser.locator("input[name=column][value=sent]").uncheck()
    chooser.locator("input[name=column][value=backend]").check()
    chooser.locator("input[name=column][value=attempts]").check()
    chooser.get_by_role("button", name="Save columns").click()
    chosen = ["Created", "State", "Channel", "Recipient", "Sender", "Subject", "Backend", "Tries"]
    expect(page.locator(headings)).to_have_text([*chosen, "Details"])
    expect(page.locator("#m-" + log["carla"].uid)).to_contain_text("Office mail")

    page.reload()
    expect(page.locator(headings)).to_have_text([*chosen, "Details"])

    # another machine: a fresh browser with no cookies, a new login
    elsewhere = new_context().new_page()
    log_in_through_form(elsewhere, "support@example.com")
    elsewhere.goto("/log")
    expect(elsewhere.locator(headings)).to_have_text([*chosen, "Details"])
    expect(elsewhere.locator(".columns-form input[value=sent]")).not_to_be_checked()
    expect(elsewhere.locator(".columns-form input[value=backend]")).to_be_checked()


def test_a_row_expands_in_place_and_collapses(page, log):
    bob = log["bob"]
    Message.update(body_html="<p>Your <b>March</b> statement is ready.</p>").where(
        Message.id == bob.id
    ).execute()
    Attempt.create(
        message=bob,
        number=1,
        finished_at=now(),
        outcome="permanent_error",
        smtp_code=550,
        response="550 5.1.1 <bob@example.com>: Recipient address rejected: User unknown",
    )
    diagnosis = diagnose(Message.get_by_id(bob.id))
    log_in_through_form(page, "support@example.com")
    page.goto("/log")
    page.evaluate("window.__notReloaded = true")
    row = page.locator("#m-" + bob.uid)
    preview = page.locator("#p-" + bob.uid)
    expect(preview).to_be_hidden()

    row.get_by_role("button", name="Show").click()
    expect(preview).to_be_visible()
    expect(preview).to_contain_text("Subject: Your statement")
    expect(preview.locator(".text-body")).to_have_text("Your March statement is ready.")
    expect(preview.locator(".diagnosis")).to_contain_text(diagnosis.headline)
    expect(preview.locator(".diagnosis")).to_contain_text(diagnosis.next_step)
    expect(preview).to_contain_text("550 5.1.1")  # the error, once, in the diagnosis
    frame = preview.locator("iframe.html-body")
    expect(frame).to_have_attribute("sandbox", "")
    expect(frame.content_frame.locator("b")).to_have_text("March")
    expect(preview.get_by_role("link", name=re.compile("Open the message"))).to_have_attribute(
        "href", "/messages/" + bob.uid
    )
    toggle = row.get_by_role("button", name="Hide")
    expect(toggle).to_have_attribute("aria-expanded", "true")

    toggle.click()
    expect(preview).to_be_hidden()
    expect(row.get_by_role("button", name="Show")).to_have_attribute("aria-expanded", "false")
    # only that row opened, and the page never reloaded
    expect(page.locator("tr.preview:visible")).to_have_count(0)
    assert page.evaluate("window.__notReloaded") is True


def test_resending_three_selected_failures_makes_three_new_messages(
    page, email_backend, support_user
):
    failed = [
        make_message(
            f"client{i}@example.com",
            f"Statement {i}",
            "Your statement.",
            "FAILED",
            state_reason="Refused for good: 550 5.1.1 User unknown",
            attempts=2,
        )
        for i in range(4)
    ]
    chosen, left_alone = failed[:3], failed[3]
    before = {m.id: (m.state, m.attempts, m.state_reason, m.recipient) for m in failed}
    log_in_through_form(page, "support@example.com")
    page.goto("/log")
    for message in chosen:
        page.get_by_label(f"Select the message to {message.recipient}").check()
    page.get_by_role("button", name="Resend…").click()

    dialog = page.locator("#confirm-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("heading")).to_have_text("Resend 3 messages?")
    expect(dialog.locator("ul.sample li")).to_have_text(sorted(m.recipient for m in chosen))
    dialog.get_by_role("button", name="Yes, resend 3").click()
    expect(dialog.get_by_role("heading")).to_have_text("Done")
    expect(dialog.get_by_role("status")).to_have_text("Resent 3 of 3 messages.")

    copies = list(Message.select().where(Message.resend_of.is_null(False)).order_by(Message.id))
    assert sorted(c.resend_of_id for c in copies) == [m.id for m in chosen]
    for copy in copies:
        original = Message.get_by_id(copy.resend_of_id)
        assert copy.recipient == original.recipient and copy.subject == original.subject
        assert copy.sender_id == support_user.id
    for message in failed:
        again = Message.get_by_id(message.id)
        assert (again.state, again.attempts, again.state_reason, again.recipient) == before[
            message.id
        ]
    assert Message.select().count() == 4 + 3
    assert not Message.select().where(Message.resend_of == left_alone.id).exists()
