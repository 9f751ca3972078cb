"""Secrets stay secret: with backends whose URLs carry a distinctive SMTP password, SMS token and
webhook signing secret (and providers that echo them back in their errors), an API token and the
console's secret key, messages go through a real worker, backends are tested and edited, and
then none of the secrets is in any console page or fragment (crawled as an admin), any API
answer, the web or worker log, an Excel export, a message download, an alert email, the
commands' output, or any column of the database but the backend's own URL."""

import io
import json
import re
import threading
from html import unescape
from urllib.parse import urljoin, urlsplit

import openpyxl
import pytest
import requests

from shared.models import ALL_MODELS, Attempt, Backend, HealthCheck, Message
from tests.conftest import PASSWORD, csrf_token_from, run_commlog, wait_for
from tests.http_server import RecordingServer, Reply
from tests.security.conftest import ROUTES

SMTP_PASSWORD = "smtp-Pa55-7f3a9e"
SMS_TOKEN = "sms-T0ken-9c1d4b"
HOOK_SECRET = "hook-S3cret-2b8e6f"
SECRETS = [SMTP_PASSWORD, SMS_TOKEN, HOOK_SECRET]
FINAL_OR_HELD = ("SENT", "DELIVERED", "FAILED", "NOT_SENT", "BACKEND_TEST_REQUIRED", "WAITING")


def leaks(text: str, secrets: list[str]) -> list[str]:
    """The secrets in `text`, also when HTML- or URL-escaped."""
    found = []
    for secret in secrets:
        if secret in text or secret in unescape(text) or secret in requests.utils.unquote(text):
            found.append(secret)
    return found


@pytest.fixture
def second_http_server():
    server = RecordingServer()
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def setup(
    database,
    commlog_env,
    smtp_sink,
    http_server,
    second_http_server,
    admin_user,
    start_worker,
    tmp_path,
):
    """Backends with secrets, an API token, messages through all three channels, a worker that
    tried them, providers that echo the secrets in their refusals."""
    # the SMS provider and the webhook receiver refuse, each quoting the secret it was sent
    http_server.answer(Reply(401, {"error": f"invalid token {SMS_TOKEN}"}))
    receiver = second_http_server
    receiver.answer(Reply(403, {"error": f"bad signature; expected one made with {HOOK_SECRET}"}))
    commlog_env["COMMLOG_ALERT_SMTP_URL"] = f"smtp://127.0.0.1:{smtp_sink.port}?tls=none"
    backends = {
        "mail": (
            "email",
            f"smtp://mailer:{SMTP_PASSWORD}@127.0.0.1:{smtp_sink.port}?tls=none"
            "&from=office@example.com",
        ),
        "texts": ("sms", f"{http_server.url}/sms?token={SMS_TOKEN}"),
        "hooks": ("webhook", f"{receiver.url}/hook?secret={HOOK_SECRET}"),
    }
    outputs = []
    for name, (channel, url) in backends.items():
        args = ["backend", "add", name, "--channel", channel, "--url", url, "--default"]
        done = run_commlog([*args, "--alert-email", "ops@example.com"], commlog_env)
        assert done.returncode == 0, done.stderr
        outputs.append(done.stdout + done.stderr)
    made = run_commlog(["token", "create", "ci", "--owner", admin_user.email], commlog_env)
    assert made.returncode == 0, made.stderr
    api_token = made.stdout.strip().splitlines()[-1]
    outputs.append(made.stdout.rsplit(api_token, 1)[0] + made.stderr)  # all but the token itself
    return {
        "env": commlog_env,
        "api_token": api_token,
        "secrets": [*SECRETS, api_token, commlog_env["COMMLOG_SECRET_KEY"]],
        "outputs": outputs,
        "start_worker": start_worker,
        "sink": smtp_sink,
        "tmp_path": tmp_path,
        "receiver": receiver.url,
    }


def log_in_over_http(url: str, email: str) -> requests.Session:
    session = requests.Session()
    token = csrf_token_from(session.get(f"{url}/login", timeout=10).text)
    response = session.post(
        f"{url}/login",
        data={"email": email, "password": PASSWORD, "csrf_token": token},
        timeout=10,
    )
    assert response.status_code == 200 and "/login" not in response.url
    return session


LINK = re.compile(r'(?:href|hx-get|src|action)="([^"#]+)"')


def crawl(session: requests.Session, base: str, starts: list[str], limit: int = 400):
    """Every page and fragment reachable from `starts` on this site (GETs only, no log out):
    yields (path, response)."""
    seen, queue = set(), list(starts)
    while queue and len(seen) < limit:
        path = queue.pop(0)
        if path in seen:
            continue
        seen.add(path)
        response = session.get(base + path, timeout=30, allow_redirects=False)
        yield path, response
        if "html" not in response.headers.get("Content-Type", ""):
            continue
        for link in LINK.findall(response.text):
            target = urljoin(base + path, unescape(link))
            parts = urlsplit(target)
            if parts.netloc != urlsplit(base).netloc or "/static/" in parts.path:
                continue
            queue.append(parts.path + (f"?{parts.query}" if parts.query else ""))


def test_no_secret_anywhere(setup, start_console, admin_user):
    env, secrets, api_token = setup["env"], setup["secrets"], setup["api_token"]
    problems: list[str] = []

    def check(where: str, text: str) -> None:
        for secret in leaks(text, secrets):
            problems.append(f"{secret[:6]}… in {where}")

    base, web_log = start_console(env)
    api = {"Authorization": f"Bearer {api_token}"}

    # messages through the API, one per channel; a worker tries them
    for channel, recipient in (
        ("email", "ann@example.com"),
        ("sms", "+14155550101"),
        ("webhook", setup["receiver"] + "/hook"),
    ):
        body = {"channel": channel, "recipient": recipient, "subject": "Hi", "body_text": "Hello"}
        response = requests.post(f"{base}/api/messages", json=body, headers=api, timeout=10)
        assert response.status_code == 202, response.text
        check(f"POST /api/messages ({channel})", response.text)
    setup["start_worker"]("-w", "2")
    wait_for(
        lambda: Message.select().where(Message.state.not_in(FINAL_OR_HELD)).count() == 0,
        timeout=60,
        what="every message tried",
    )
    # the SMS and webhook backends were refused: they wait for a test, and alerts go out
    wait_for(lambda: setup["sink"].handler.messages, timeout=30, what="an alert email")

    # an admin tests and edits every backend in the console (keeping the **** as shown)
    admin = log_in_over_http(base, admin_user.email)
    for backend in Backend.select():
        token = csrf_token_from(admin.get(f"{base}/backends/{backend.id}/edit", timeout=10).text)
        response = admin.post(
            f"{base}/backends/{backend.id}/test",
            data={"csrf_token": token},
            headers={"HX-Request": "true"},
            timeout=30,
        )
        check(f"Test now of {backend.name}", response.text)
        form = admin.get(f"{base}/backends/{backend.id}/edit", timeout=10).text
        shown_url = unescape(re.search(r'name="url"[^>]*value="([^"]*)"', form)[1])
        response = admin.post(
            f"{base}/backends/{backend.id}/edit",
            data={"csrf_token": token, "url": shown_url, "fallback": "0", "alert_emails": ""},
            timeout=10,
        )
        check(f"saving {backend.name}", response.text)
        # the **** kept the secret: the stored URL still works as before
        assert Backend.get_by_id(backend.id).url == backend.url

    # the providers' refusals quoting the secrets were recorded (redacted), and tests were run
    responses = " ".join(a.response or "" for a in Attempt.select())
    assert "invalid token" in responses and "bad signature" in responses
    assert HealthCheck.select().count() >= 3

    # every page and fragment an admin can reach, and every GET route of the app
    uids = [m.uid for m in Message.select()]
    starts = ["/", "/log", "/backends/", "/account/", "/messages/new"]
    for rule, endpoint, methods in ROUTES:
        if "GET" in methods and not rule.startswith("/api/") and endpoint != "static":
            if "<uid>" in rule:
                starts += [rule.replace("<uid>", uid) for uid in uids]
            elif "<" not in rule:
                starts.append(rule)
    pages = 0
    for path, response in crawl(admin, base, starts):
        pages += 1
        assert response.status_code < 500, path
        if path.endswith("export.xlsx") and response.status_code == 200:
            book = openpyxl.load_workbook(io.BytesIO(response.content), read_only=True)
            cells = [str(c) for s in book for row in s.iter_rows(values_only=True) for c in row]
            check(f"the export {path}", "\n".join(cells))
        else:
            check(f"the page {path}", response.content.decode("utf-8", "replace"))
    assert pages >= 20

    # every API answer
    for uid in uids:
        check(
            f"GET /api/messages/{uid}", requests.get(f"{base}/api/messages/{uid}", headers=api).text
        )
    search = requests.post(
        f"{base}/api/communications/messages:search", json=[], headers=api, timeout=10
    )
    assert search.status_code == 200 and len(search.json()) == len(uids)
    check("the API search", search.text)
    check("the OpenAPI document", requests.get(f"{base}/api/openapi.json", timeout=10).text)
    failed = [m.uid for m in Message.select().where(Message.state == "FAILED")]
    if failed:
        resent = requests.post(
            f"{base}/api/communications/messages:resend",
            json={"messages": failed},
            headers=api,
            timeout=10,
        )
        check("the API resend", resent.text)

    # the commands
    for args in (["backend", "list"], *[["show", uid, "--json"] for uid in uids]):
        done = run_commlog(args, env)
        check(f"commlog {' '.join(args)}", done.stdout + done.stderr)
    for backend in Backend.select():
        done = run_commlog(["backend", "test", backend.name], env)
        check(f"commlog backend test {backend.name}", done.stdout + done.stderr)
    for i, output in enumerate(setup["outputs"]):
        check(f"the output of setup command {i}", output)

    # the alert emails
    for _, _, mail in setup["sink"].handler.messages:
        check(f"the email '{mail['Subject']}'", mail.as_string())

    # every column of every table, but the backend URLs (where the secrets belong)
    for model in ALL_MODELS:
        for row in model.select().dicts():
            if model is Backend:
                row.pop("url")
            check(f"the table {model._meta.table_name}", json.dumps(row, default=str))

    # the logs, last (they hold what all of the above did)
    check("the web log", web_log.read_text())
    for log in setup["tmp_path"].glob("worker-*.log"):
        check(f"the worker log {log.name}", log.read_text())

    print(f"\nsecrets: {pages} pages crawled, {len(uids)} messages, no secret found")
    assert problems == [], "\n".join(problems)
