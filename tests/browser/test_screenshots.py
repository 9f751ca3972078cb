"""Screenshots of the console on demo data, for the README: the log with a row open, a failed
message's detail page, the dashboard, the backends page and the users and retry policies pages
(docs/screenshots/)."""

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from shared.demo import ADMIN_EMAIL, load_demo
from shared.models import Message, WorkerHeartbeat
from shared.users import create_user
from tests.browser.conftest import VIEWPORT, log_in_through_form
from tests.conftest import PASSWORD

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.fixture
def demo(database):
    # the demo reuses a login that exists: make its admin with a password we know
    create_user(ADMIN_EMAIL, "admin", PASSWORD, "Ada Admin")
    made = load_demo(messages=3000)  # as `commlog demo` makes them: a full chart
    # a worker's heartbeat, as a running `commlog worker` writes it: the pages show the normal
    # "1 worker running", not the alarm a stopped queue raises (no real worker is started, so
    # that nothing moves while the pictures are taken)
    WorkerHeartbeat.create(worker_id="console-host:4242", host="console-host", pid=4242)
    return made


def shoot(page: Page, name: str, clip_height: float | None = None) -> None:
    """The whole page (or its top `clip_height` pixels) as docs/screenshots/<name>."""
    expect(page.locator("#toast")).to_be_hidden()  # no error on the page
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    # the window made as tall as the page, not a full_page screenshot: headless Chromium leaves
    # a sandboxed iframe (a message's HTML, a separate process) blank beyond the first screen
    height = page.evaluate("document.documentElement.scrollHeight")
    page.set_viewport_size({"width": VIEWPORT["width"], "height": height})
    clip = None
    if clip_height:
        clip = {"x": 0, "y": 0, "width": VIEWPORT["width"], "height": clip_height}
    page.screenshot(path=SCREENSHOTS / name, clip=clip, animations="disabled", caret="hide")
    page.set_viewport_size(VIEWPORT)


def test_screenshots_of_the_log_a_failed_message_the_dashboard_and_backends(page, demo):
    log_in_through_form(page, ADMIN_EMAIL)

    # the log as support staff use it: "what failed?", with the newest failure open in place
    page.goto("/log")
    page.locator("input[name=state][value=FAILED]").check()
    expect(page).to_have_url(re.compile(r"state=FAILED"))
    row = page.locator("#log-results tbody.message").first
    expect(row.locator(".badge")).to_have_text("Failed")
    row.get_by_role("button", name="Show").click()
    preview = page.locator("tr.preview:visible")
    expect(preview.locator(".diagnosis")).to_be_visible()
    page.evaluate("window.scrollTo(0, 0)")
    # the page down to a few rows past the open one
    box = preview.bounding_box()
    shoot(page, "log.png", clip_height=box["y"] + box["height"] + 160)

    # a failed email that was tried several times: its tries, history, diagnosis and its HTML
    # version, drawn in its sandbox
    message = (
        Message.select()
        .where(
            Message.state == "FAILED", Message.channel == "email", Message.body_html.is_null(False)
        )
        .order_by(Message.attempts.desc(), Message.id.desc())
        .first()
    )
    page.goto(f"/messages/{message.uid}")
    expect(page.get_by_role("heading", name="Why wasn't this delivered?")).to_be_visible()
    html_version = page.frame_locator("iframe.html-body").locator("body")
    expect(html_version).to_contain_text(message.body_html_text.split()[0])
    shoot(page, "detail.png")

    page.goto("/")
    expect(page.locator("svg.chart")).to_be_visible()
    shoot(page, "dashboard.png")

    page.goto("/backends/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Backends")
    shoot(page, "backends.png")

    page.goto("/admin/users/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Users")
    shoot(page, "users.png")

    page.goto("/admin/policies/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Retry policies")
    shoot(page, "policies.png")

    for name in ("log.png", "detail.png", "dashboard.png", "backends.png", "users.png"):
        assert (SCREENSHOTS / name).stat().st_size > 10_000, name
