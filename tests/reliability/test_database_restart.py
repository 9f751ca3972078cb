"""The database restarted under a running worker and console: PostgreSQL stopped by its PID in
the middle of a run and started again on the same port and data, the worker and the console
left alone. Both find their way back by themselves; nothing is lost or failed.

The test has a PostgreSQL server of its own (about a second to start), so that the session's,
which every other test uses, is never restarted under them."""

import asyncio
import os
import re
import subprocess
import sys
import time
from collections import Counter

import psycopg2
import pytest
import redis
import requests
from aiosmtpd.controller import Controller

from shared.db import connect, db
from shared.migrations import migrate
from shared.models import Attempt, Backend, Event, Message, now
from shared.tokens import create_token
from shared.users import create_user
from tests.conftest import (
    PASSWORD,
    RecordingHandler,
    csrf_token_from,
    free_port,
    postgres_only,
    sink_message_ids,
    wait_for,
)
from tests.reliability.workers import WorkerGroup
from tests.servers import PostgresServer
from worker.queue import huey, make_huey

pytestmark = postgres_only

COUNT = 300  # submitted before the restart
AFTER = 20  # submitted once the database is back
THREADS = 2


class TimedSink(RecordingHandler):
    """Takes a few milliseconds per mail, so that the server stops in the middle of batches,
    and notes when each mail arrived."""

    def __init__(self):
        super().__init__()
        self.arrivals: list[float] = []

    async def handle_DATA(self, server, session, envelope):
        await asyncio.sleep(0.01)
        self.arrivals.append(time.monotonic())
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def sink():
    controller = Controller(TimedSink(), hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller
    controller.stop()


@pytest.fixture
def postgres(servers, home, monkeypatch):
    """A PostgreSQL server for this test alone, with commlog's database, and the session's
    Redis for the queue; bound in this process, and in the environment of the commlog
    processes the test starts."""
    _, redis_server = servers
    server = PostgresServer().start()
    try:
        url, queue_url = server.url("commlog"), redis_server.url()
        admin = psycopg2.connect(server.url())
        admin.autocommit = True  # CREATE DATABASE runs outside a transaction
        admin.cursor().execute("CREATE DATABASE commlog")
        admin.close()
        connect(url)
        migrate()  # as `commlog init` makes it
        redis.Redis.from_url(queue_url).flushdb()
        huey.storage = make_huey(queue_url).storage
        monkeypatch.setenv("COMMLOG_DATABASE_URL", url)
        monkeypatch.setenv("COMMLOG_QUEUE_URL", queue_url)
        yield server
    finally:
        db.close()
        server.stop()


@pytest.fixture
def env(postgres, home):
    return dict(os.environ, COMMLOG_HOME=str(home), PYTHONUNBUFFERED="1")


@pytest.fixture
def console(env, tmp_path):
    """A real `commlog web` process on a free port; its URL."""
    port = free_port()
    with open(tmp_path / "web.log", "w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "console.cli", "web", "--port", str(port)],
            env=env,
            cwd=tmp_path,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: process.poll() is not None or answers(url), 30, what="the console")
        assert process.poll() is None, (tmp_path / "web.log").read_text()
        yield url, process
    finally:
        process.terminate()
        process.wait(15)


@pytest.fixture
def workers(env, tmp_path):
    group = WorkerGroup(env, tmp_path)
    yield group
    group.stop_all()


def answers(url: str) -> bool:
    try:
        return requests.get(f"{url}/login", timeout=2).status_code == 200
    except requests.ConnectionError:
        return False


def logged_in(url: str, email: str) -> requests.Session:
    session = requests.Session()
    token = csrf_token_from(session.get(f"{url}/login", timeout=10).text)
    response = session.post(
        f"{url}/login",
        data={"email": email, "password": PASSWORD, "csrf_token": token},
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 302, response.text
    return session


def submission(number: int, subject: str) -> dict:
    return {"channel": "email", "recipient": f"client{number}@example.com", "subject": subject}


def submit(url: str, token: str, subjects: list[str]) -> list[str]:
    """Submit through the console's API, 100 at a time; the new messages' uids."""
    uids = []
    for start in range(0, len(subjects), 100):
        batch = [submission(start + i, s) for i, s in enumerate(subjects[start : start + 100])]
        response = requests.post(
            f"{url}/api/messages",
            json=batch,
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
        assert response.status_code == 202, response.text
        uids += [m["uid"] for m in response.json()["messages"]]
    return uids


def status_of(session: requests.Session, url: str) -> int:
    try:
        return session.get(url, timeout=5).status_code
    except requests.ConnectionError:
        return 0


def count_in(state: str, uids: list[str]) -> int:
    return Message.select().where(Message.uid.in_(uids), Message.state == state).count()


def test_a_database_restart_mid_run_loses_nothing_and_the_worker_and_console_recover(
    postgres, sink, console, workers, record_property
):
    url, web = console
    admin = create_user("admin@example.com", "admin", PASSWORD, "Ada Admin")
    _, token = create_token("load", owner=admin)
    Backend.create(
        name="office", channel="email", url=f"smtp://127.0.0.1:{sink.port}", is_default=True
    )
    worker = workers.start("-w", str(THREADS))
    staff = logged_in(url, admin.email)
    assert status_of(staff, f"{url}/log") == 200

    before = submit(url, token, [f"Before {i}" for i in range(COUNT)])
    received = sink.handler.messages
    wait_for(lambda: len(received) >= COUNT // 4, timeout=60, what="the first mails sent")
    # only the worker's and the console's connections are to cross the restart
    db.close()
    postgres.stop_server()
    down_at = time.monotonic()
    # the outage reached both: every worker thread has come to the database and found it gone
    # (so nothing is being sent), and the console answers 503, to be asked again
    wait_for(
        lambda: workers.log(worker).count("lost the database") >= THREADS,
        timeout=60,
        what="every worker thread waiting for the database",
    )
    wait_for(lambda: status_of(staff, f"{url}/log") == 503, what="the console's 503 page")
    all_waiting_at = time.monotonic()
    page = staff.get(f"{url}/log", timeout=10)
    assert "Database not answering" in page.text and page.headers["Retry-After"]
    fragment = staff.get(f"{url}/log", headers={"HX-Request": "true"}, timeout=10)
    assert fragment.status_code == 503 and "<html" not in fragment.text
    # a submission meanwhile is refused, to be sent again: it is the first of those after
    refused = requests.post(
        f"{url}/api/messages",
        json=submission(0, "After 0"),
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert refused.status_code == 503 and refused.headers["Retry-After"]
    assert refused.json()["errors"][0]["field"] == "database"
    postgres.start_server()
    back_at, back_at_utc = time.monotonic(), now()
    arrivals = sink.handler.arrivals

    # the console answers again, with the same login, without being restarted
    wait_for(lambda: status_of(staff, f"{url}/log") == 200, what="the console answering again")
    console_seconds = time.monotonic() - back_at
    wait_for(lambda: arrivals[-1] > back_at, timeout=60, what="the worker sending again")
    worker_seconds = next(t for t in arrivals if t > back_at) - back_at
    wait_for(lambda: count_in("SENT", before) == COUNT, timeout=120, what=f"all {COUNT} SENT")

    # restarted again while nothing is being sent: every connection the worker keeps open
    # (one per thread) is dead, and is found so only when it is next used
    db.close()
    postgres.restart()
    # new submissions go out, and a fresh login finds them in the log
    after = submit(url, token, [f"After {i}" for i in range(AFTER)])
    wait_for(lambda: count_in("SENT", after) == AFTER, timeout=60, what=f"the {AFTER} new SENT")
    page = logged_in(url, admin.email).get(f"{url}/log", timeout=10)
    assert page.status_code == 200
    assert all(f"After {i}<" in page.text for i in range(AFTER))
    detail = staff.get(f"{url}/messages/{before[0]}", timeout=10)
    assert detail.status_code == 200 and "Before 0" in detail.text

    uids = before + after
    seen = Counter(sink_message_ids(sink))
    expected = {f"<{uid}@commlog>" for uid in uids}
    lost = len(expected - set(seen))
    duplicated = {mid for mid, n in seen.items() if n > 1}
    # a copy twice only where a send's result was lost with the database, recorded as a try
    # whose result is unknown: at most the one send on the wire per sending thread
    unknown = {
        f"<{a.message.uid}@commlog>" for a in Attempt.select().where(Attempt.outcome == "unknown")
    }
    first_sent_after = (
        Event.select(Event.created_at)
        .where(Event.to_state == "SENT", Event.created_at >= back_at_utc)
        .order_by(Event.created_at)
        .first()
    )
    # what the threads had claimed and not yet recorded when the database went away
    interrupted = sum(
        int(n) for n in re.findall(r"recovered (\d+) messages of the", workers.log(worker))
    )
    record_property("outage (s)", round(back_at - down_at, 2))
    record_property("claimed, not yet recorded, when the database went away", interrupted)
    record_property(
        "mails received while every thread waited",
        sum(all_waiting_at <= t <= back_at for t in arrivals),
    )
    record_property("lost", lost)
    record_property("FAILED", Message.select().where(Message.state == "FAILED").count())
    record_property("duplicates", sum(n - 1 for n in seen.values()))
    record_property("sends whose result was unknown", len(unknown))
    record_property("seconds until the worker sent again", round(worker_seconds, 2))
    record_property(
        "seconds until the interrupted batches were recorded",
        round((first_sent_after.created_at - back_at_utc).total_seconds(), 2),
    )
    record_property("seconds until the console answered again", round(console_seconds, 2))

    assert interrupted > 0, "the restart was to catch batches in the middle"
    assert lost == 0
    assert set(seen) == expected, "the sink got a mail that was never submitted"
    assert duplicated <= unknown and len(unknown) <= THREADS and max(seen.values()) <= 2
    assert Message.select().count() == COUNT + AFTER
    assert Message.select().where(Message.state != "SENT").count() == 0, "none FAILED or stuck"
    for message in Message.select():
        tries = list(Attempt.select().where(Attempt.message == message.id).order_by(Attempt.id))
        assert [a.number for a in tries] == list(range(1, message.attempts + 1)), message.uid
        assert tries[-1].outcome == "sent"
    # neither was touched: the same processes ran throughout
    assert worker.poll() is None and web.poll() is None
