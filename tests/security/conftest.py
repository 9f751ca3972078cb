"""Fixtures for the attack tests: the console's routes as the app declares them, a database with
one of everything, logged-in clients, and a snapshot of the database to compare."""

import hashlib

import pytest

from shared.models import (
    ALL_MODELS,
    ApiToken,
    Backend,
    Client,
    Event,
    Group,
    GroupMember,
    Job,
    LoginAttempt,
    Message,
    PeriodicRun,
)
from shared.outbox import create_message
from shared.tokens import create_token
from tests.conftest import csrf_token_from, log_in

# rows that a refused request may add: counting failed logins is the point of the rate limit,
# the watchdog's bookkeeping is not data; failed logins, and reading a message's file or an
# export (an ordinary read, whatever the filter says), go to the audit trail
NOT_DATA = {LoginAttempt, PeriodicRun}
AUDIT_ONLY = ("login_failed", "download", "export")
NOT_DATA_COLUMNS = {ApiToken.last_used_at}  # a token's use is noted even when refused


def route_table():
    """Every rule of a freshly made app, as (rule, endpoint, methods); read at collection time,
    so that a new route gets its cases without anyone listing it."""
    from console import create_app

    app = create_app({"TESTING": True, "DATABASE_URL": "sqlite:///:memory:"})
    return [
        (rule.rule, rule.endpoint, sorted(rule.methods - {"HEAD", "OPTIONS"}))
        for rule in app.url_map.iter_rules()
        if rule.endpoint != "static"
    ]


ROUTES = route_table()
STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}


def snapshot() -> dict:
    """A checksum of every table's rows (in id order), but for NOT_DATA and the audit-only
    events: two equal snapshots mean nothing was changed."""
    sums = {}
    for model in ALL_MODELS:
        if model in NOT_DATA:
            continue
        columns = [f for f in model._meta.sorted_fields if f not in NOT_DATA_COLUMNS]
        query = model.select(*columns).order_by(model._meta.primary_key)
        if model is Event:
            query = query.where(Event.action.not_in(AUDIT_ONLY))
        rows = list(query.tuples())
        digest = hashlib.sha256(repr(rows).encode("utf-8", "backslashreplace")).hexdigest()
        sums[model._meta.table_name] = (len(rows), digest)
    return sums


@pytest.fixture
def world(database, admin_user, support_user):
    """One of everything the routes take an id of. The messages are in states that neither
    resend nor cancel accept, so that a request without input changes nothing by rights."""
    backend = Backend.create(
        name="office", channel="email", url="smtp://127.0.0.1:25?tls=none", is_default=True
    )
    client = Client.create(name="Ann Client", email="ann@example.com", phone="+14155550101")
    group = Group.create(name="Savers", contact_email="savers@example.com")
    GroupMember.create(group=group, client=client)
    message = create_message("email", "ann@example.com", "Statement", "Dear Ann", client=client)
    Message.update(state="SENDING").where(Message.id == message.id).execute()
    job = Job.create(kind="export", user=admin_user, state="running", total=10)
    token, _ = create_token("partner system", owner=admin_user)
    return {
        "backend_id": backend.id,
        "client_id": client.id,
        "group_id": group.id,
        "user_id": support_user.id,
        "person_id": client.id,
        "job_id": job.id,
        "uid": message.uid,
        "kind": "clients",
        "token_id": token.id,
        "channel": "sms",
    }


@pytest.fixture
def admin_client(app, admin_user):
    client = app.test_client()
    assert log_in(client, admin_user.email).status_code == 302
    return client


@pytest.fixture
def support_client(app, support_user):
    client = app.test_client()
    assert log_in(client, support_user.email).status_code == 302
    return client


def page_token(client) -> str:
    return csrf_token_from(client.get("/account/").get_data(as_text=True))


def answers(url: str) -> bool:
    import requests

    try:
        return requests.get(f"{url}/login", timeout=1).status_code == 200
    except requests.ConnectionError:
        return False


@pytest.fixture
def start_console(commlog_env, tmp_path):
    """Start `commlog web` processes on the test's database; each returns (url, log path)."""
    import subprocess
    import sys

    from tests.conftest import free_port, wait_for

    started = []

    def start(env=None):
        port = free_port()
        log_path = tmp_path / f"web-{len(started)}.log"
        with open(log_path, "w") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "console.cli", "web", "--port", str(port)],
                env=env or commlog_env,
                cwd=tmp_path,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        started.append(process)
        url = f"http://127.0.0.1:{port}"
        wait_for(lambda: process.poll() is not None or answers(url), 30, what="the console")
        assert process.poll() is None, log_path.read_text()
        return url, log_path

    yield start
    for process in started:
        process.terminate()
    for process in started:
        process.wait(15)
