"""Browser fixtures: the real console in its own process (`commlog web`) on a fresh database,
and headless Chromium (one per run of this folder, a fresh context per test) to drive it."""

import re
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from shared.models import Backend, Message
from shared.outbox import create_message
from tests.conftest import PASSWORD, free_port, wait_for

# the system's Chromium: browsers cannot be downloaded here
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1366, "height": 900}
TIMEOUT_MS = 10_000  # for every wait: nothing here should take more than a second or two

expect.set_options(timeout=TIMEOUT_MS)


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return response.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


@pytest.fixture(scope="package")
def stopping_servers():
    """Consoles told to stop, reaped once at the end: a graceful stop takes gunicorn about a
    second, which the next test need not wait for."""
    stopping: list[subprocess.Popen] = []
    yield stopping
    for process in stopping:
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def live_server(database, commlog_env, tmp_path, stopping_servers):
    """The console as users run it (`commlog web`), on the test's database; its base URL.
    Seed data in the test through the `database` fixture: both use the same SQLite file."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    log_path = tmp_path / "web.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "console.cli",
                "web",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            env=commlog_env,
            cwd=tmp_path,  # a scratch folder: no developer's .env leaks in
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for(
            lambda: process.poll() is not None or _answers(f"{base_url}/login"),
            timeout=30,
            what="the console to answer /login",
        )
        assert process.poll() is None, f"the console stopped:\n{log_path.read_text()}"
        yield base_url
    finally:
        process.terminate()
        stopping_servers.append(process)


@pytest.fixture(scope="package")
def browser():
    """One headless Chromium for every browser test (launching it is the slow part)."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class OutsideWorld(ThreadingHTTPServer):
    """The browser's proxy for every host but the live server: it records what the browser
    tried to fetch from elsewhere, and fetches nothing. Playwright's page.on("request") does not
    see what a sandboxed iframe loads; this does, since it is on the network path."""

    daemon_threads = True

    def __init__(self):
        self.requests: list[str] = []
        super().__init__(("127.0.0.1", 0), _RecordAndRefuse)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


# Chromium's own services (autofill hints for the login form and the like): the browser
# talking to its vendor, not a page loading something
CHROMIUM_SERVICES = re.compile(r"^(CONNECT )?[\w.-]+\.(googleapis\.com|google\.com|gvt1\.com):443$")


class _RecordAndRefuse(BaseHTTPRequestHandler):
    def _refuse(self):
        request = f"{self.command} {self.path}"
        if not CHROMIUM_SERVICES.match(request):
            self.server.requests.append(request)
        self.send_response(403)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_POST = do_HEAD = do_CONNECT = _refuse

    def log_message(self, *args):
        pass


@pytest.fixture(scope="package")
def outside_world():
    server = OutsideWorld()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def new_context(browser, live_server, outside_world):
    """Make fresh browser contexts (no cookies, no storage) on the live server: a new machine.
    Requests to any other host go to `outside_world`, which records them."""
    made = []
    outside_world.requests.clear()
    proxy = {"server": outside_world.url, "bypass": urlsplit(live_server).hostname}

    def make():
        context = browser.new_context(base_url=live_server, viewport=VIEWPORT, proxy=proxy)
        context.set_default_timeout(TIMEOUT_MS)
        made.append(context)
        return context

    yield make
    for context in made:
        context.close()


@pytest.fixture
def context(new_context):
    return new_context()


@pytest.fixture
def page(context) -> Page:
    return context.new_page()


def log_in_through_form(page: Page, email: str, password: str = PASSWORD) -> None:
    """Log in as a person does: the login page, the two fields, the button."""
    page.goto("/login")
    page.fill("#email", email)
    page.fill("#password", password)
    page.get_by_role("button", name="Log in").click()
    expect(page).not_to_have_url(re.compile(r"/login"))


@dataclass
class PageWatch:
    """What a page did that it should not: dialogs opened, requests to other hosts (those the
    page itself makes; `outside_world` has those of sandboxed frames too)."""

    allowed_host: str
    dialogs: list[str] = field(default_factory=list)
    foreign_requests: list[str] = field(default_factory=list)

    def attach(self, page: Page) -> "PageWatch":
        def on_dialog(dialog):
            self.dialogs.append(f"{dialog.type}: {dialog.message}")
            dialog.dismiss()

        def on_request(request):
            parts = urlsplit(request.url)
            # about:srcdoc and data: URLs stay in the browser
            if parts.scheme in ("http", "https", "ws", "wss") and parts.netloc != self.allowed_host:
                self.foreign_requests.append(request.url)

        page.on("dialog", on_dialog)
        # a request the page's CSP blocks still fires "request" (then "requestfailed") without
        # leaving the browser; one that went out and got an answer fires "requestfinished"
        page.on("requestfinished", on_request)
        return self


@pytest.fixture
def watch(page, live_server) -> PageWatch:
    return PageWatch(urlsplit(live_server).netloc).attach(page)


@pytest.fixture
def email_backend(database) -> Backend:
    return Backend.create(
        name="Office mail", channel="email", url="smtp://127.0.0.1:25", is_default=True
    )


def make_message(recipient: str, subject: str, body: str, state: str, **fields) -> Message:
    """A message made by the outbox, then put in `state` (with any other columns set)."""
    message = create_message("email", recipient, subject, body, kind=fields.pop("kind", "manual"))
    Message.update(state=state, **fields).where(Message.id == message.id).execute()
    return Message.get_by_id(message.id)
