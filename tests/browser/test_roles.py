"""Who sees what: support staff get no admin pages (no link, a real 403 page), admins do; and
an htmx action after the session ended says so, with a way to log in again."""

import re

from playwright.sync_api import expect

from tests.browser.conftest import log_in_through_form, make_message
from tests.conftest import PASSWORD


def main_nav(page):
    return page.get_by_role("navigation", name="Main")


def test_support_staff_get_no_admin_pages_and_admins_do(
    page, new_context, support_user, admin_user
):
    log_in_through_form(page, support_user.email)
    page.goto("/")
    expect(main_nav(page).get_by_role("link", name="Communications log")).to_be_visible()
    expect(main_nav(page).get_by_role("link", name="Backends")).to_have_count(0)
    for path in ("/backends/", "/backends/new"):
        response = page.goto(path)
        assert response.status == 403, path
        expect(page.get_by_role("heading", level=1)).to_have_text("Not allowed")
        expect(page.locator("main")).to_contain_text("Ask an admin")
        # the console's own page, with its navigation to get back
        expect(main_nav(page).get_by_role("link", name="Dashboard")).to_be_visible()

    admin = new_context().new_page()
    log_in_through_form(admin, admin_user.email)
    admin.goto("/")
    link = main_nav(admin).get_by_role("link", name="Backends")
    expect(link).to_be_visible()
    link.click()
    expect(admin).to_have_url(re.compile(r"/backends/$"))
    expect(admin.get_by_role("heading", level=1)).to_have_text("Backends")
    assert admin.goto("/backends/new").status == 200


def test_an_expired_session_during_htmx_actions_says_so_and_offers_to_log_in_again(
    page, context, support_user, email_backend
):
    failed = make_message("bob@example.com", "Statement", "Your statement.", "FAILED")
    log_in_through_form(page, support_user.email)
    page.goto("/log")
    toast = page.locator("#toast")
    expect(toast).to_be_hidden()
    context.clear_cookies()  # the session ends while the page stays open

    # a form action (a POST, CSRF-checked) says so, instead of a button that does nothing
    page.get_by_label(f"Select the message to {failed.recipient}").check()
    page.get_by_role("button", name="Resend…").click()
    expect(toast).to_be_visible()
    expect(toast).to_contain_text(re.compile(r"session has ended|expired"))
    expect(page.locator("#confirm-dialog")).to_be_hidden()
    toast.get_by_role("button", name="Dismiss").click()
    expect(toast).to_be_hidden()

    # so does a search, with a link to log in again
    page.locator("#q").fill("anything")
    expect(toast).to_be_visible()
    expect(toast).to_contain_text("Your session has ended")
    log_in_again = toast.get_by_role("link", name="Log in again")
    expect(log_in_again).to_have_attribute("href", re.compile(r"^/login\?next=%2Flog"))

    # which leads back to the log after logging in
    log_in_again.click()
    expect(page).to_have_url(re.compile(r"/login\?next="))
    page.fill("#email", support_user.email)
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/log$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Communications log")
