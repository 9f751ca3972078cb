"""Shared fixtures: a fresh database per test, the console app and clients, a live SMTP sink,
a real worker process, and a way to run the `commlog` command.

The suite runs on either backend: SQLite + SqliteHuey (the default), or, with
COMMLOG_TEST_BACKEND=postgres, PostgreSQL + Redis servers that the session starts by itself."""

import itertools
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from email import message_from_bytes
from email.policy import default as default_policy
from functools import partial
from pathlib import Path

# the huey object and the config are read from the environment when first imported: point them
# at a scratch folder before anything of commlog is imported
_SESSION_HOME = tempfile.mkdtemp(prefix="commlog-tests-")
os.environ["COMMLOG_HOME"] = _SESSION_HOME
os.environ["COMMLOG_SECRET_KEY"] = "tests-only-secret"
for _name in ("COMMLOG_DATABASE_URL", "COMMLOG_QUEUE_URL", "COMMLOG_ALERT_SMTP_URL"):
    os.environ.pop(_name, None)

import pytest  # noqa: E402
from aiosmtpd.controller import Controller  # noqa: E402

from shared.db import connect, db  # noqa: E402
from shared.migrations import migrate  # noqa: E402
from shared.models import create_schema  # noqa: E402
from shared.users import create_user  # noqa: E402
from tests.servers import PostgresServer, RedisServer, free_port  # noqa: E402, F401

PROJECT = Path(__file__).resolve().parent.parent
PASSWORD = "correct horse battery"

BACKEND = os.environ.get("COMMLOG_TEST_BACKEND", "sqlite")
if BACKEND not in ("sqlite", "postgres"):
    raise RuntimeError(f"COMMLOG_TEST_BACKEND must be sqlite or postgres, not {BACKEND}")
ON_POSTGRES = BACKEND == "postgres"
sqlite_only = pytest.mark.skipif(ON_POSTGRES, reason="SQLite only")
postgres_only = pytest.mark.skipif(
    not ON_POSTGRES, reason="PostgreSQL only (COMMLOG_TEST_BACKEND=postgres): SQLite has no server"
)
# the browser tests drive the pages, which are the same on both databases (the console tests
# run their queries on both): the PostgreSQL run leaves them out unless asked
BROWSER_ON_POSTGRES = os.environ.get("COMMLOG_TEST_BROWSER") == "1"


def pytest_collection_modifyitems(items):
    if ON_POSTGRES and not BROWSER_ON_POSTGRES:
        skip = pytest.mark.skip(reason="browser tests run on SQLite (COMMLOG_TEST_BROWSER=1)")
        for item in items:
            if "tests/browser/" in item.nodeid:
                item.add_marker(skip)


def wait_for(predicate, timeout: float = 20.0, interval: float = 0.05, what: str = "condition"):
    """Poll until predicate() is truthy; return its value, or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


@pytest.fixture(autouse=True)
def quick_password_hashes(request, monkeypatch):
    """A fast password hash for the tests, as Django advises for test suites: scrypt costs
    ~70 ms per hash and per login, and most tests make users and log in. A test about the
    hashing itself is marked `real_password_hashes`."""
    if request.node.get_closest_marker("real_password_hashes"):
        return
    from werkzeug.security import generate_password_hash

    import shared.users

    quick = partial(generate_password_hash, method="pbkdf2:sha256:1000")
    monkeypatch.setattr(shared.users, "generate_password_hash", quick)
    unknown = quick("no login has this password")
    monkeypatch.setattr(shared.users, "_unknown_user_hash", lambda: unknown)


@pytest.fixture
def home(tmp_path):
    """An empty COMMLOG_HOME for this test; its SQLite files are the test's database."""
    path = tmp_path / "var"
    path.mkdir()
    return path


@pytest.fixture(scope="session")
def servers():
    """PostgreSQL, with a template database that has the schema, and Redis: started once."""
    postgres, redis_server = PostgresServer(), RedisServer()
    try:
        postgres.start()
        redis_server.start()
        with _admin_connection(postgres) as cursor:
            cursor.execute("CREATE DATABASE commlog_template")
        connect(postgres.url("commlog_template"))
        migrate()  # as `commlog init` makes it
        db.close()
        yield postgres, redis_server
    finally:
        redis_server.stop()
        postgres.stop()


class _admin_connection:
    """An autocommit cursor on the server's `postgres` database, for CREATE/DROP DATABASE."""

    def __init__(self, postgres):
        import psycopg2

        self.connection = psycopg2.connect(postgres.url())
        self.connection.autocommit = True

    def __enter__(self):
        return self.connection.cursor()

    def __exit__(self, *exc):
        self.connection.close()


_database_numbers = itertools.count(1)


@pytest.fixture
def backend_urls(home, request):
    """(database URL, queue URL) for this test, both fresh. SQLite: files in `home`.
    PostgreSQL: a database copied from the template (faster than creating the tables, and
    faster than truncating them: measured 60 ms against 260 and 95), dropped afterwards; the
    Redis database emptied."""
    if not ON_POSTGRES:
        yield f"sqlite:///{home}/commlog.db", f"sqlite:///{home}/queue.db"
        return
    import redis

    postgres, redis_server = request.getfixturevalue("servers")
    name = f"commlog_test_{next(_database_numbers)}"
    with _admin_connection(postgres) as cursor:
        cursor.execute(f"CREATE DATABASE {name} TEMPLATE commlog_template STRATEGY FILE_COPY")
    redis.Redis.from_url(redis_server.url()).flushdb()
    yield postgres.url(name), redis_server.url()
    if not db.is_closed():
        db.close()
    with _admin_connection(postgres) as cursor:
        cursor.execute(f"DROP DATABASE {name} WITH (FORCE)")  # ends what a test left open


@pytest.fixture
def commlog_env(home, backend_urls, monkeypatch):
    """The environment for commlog processes started by this test (and for this process's own
    config loader, on PostgreSQL)."""
    if ON_POSTGRES:
        monkeypatch.setenv("COMMLOG_DATABASE_URL", backend_urls[0])
        monkeypatch.setenv("COMMLOG_QUEUE_URL", backend_urls[1])
    env = dict(os.environ)
    env["COMMLOG_HOME"] = str(home)
    env["PYTHONUNBUFFERED"] = "1"
    return env


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    """A SQLite database with every table, made once: each test gets a copy of the file (5 ms,
    where making the tables took 86, in nearly every test)."""
    path = tmp_path_factory.mktemp("template") / "commlog.db"
    connect(f"sqlite:///{path}")
    create_schema()
    db.close()  # the last connection's close checkpoints the WAL: the file alone is whole
    return path


@pytest.fixture
def database(home, backend_urls, commlog_env, request):
    """A fresh database with every table, and a fresh queue, bound for this test: what the
    test enqueues reaches the workers it starts (they get the same URLs through commlog_env)."""
    from worker.queue import huey, make_huey

    database_url, queue_url = backend_urls
    if not ON_POSTGRES:  # (the PostgreSQL one is a copy of its template already)
        shutil.copyfile(request.getfixturevalue("sqlite_template"), home / "commlog.db")
    database = connect(database_url)
    huey.storage = make_huey(queue_url).storage
    yield database
    db.close()


@pytest.fixture
def app(database):
    from console import create_app

    return create_app({"TESTING": True})


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def support_user(database):
    return create_user("support@example.com", "support", PASSWORD, "Sam Support")


@pytest.fixture
def admin_user(database):
    return create_user("admin@example.com", "admin", PASSWORD, "Ada Admin")


def csrf_token_from(html: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert match, "no csrf_token field in the page"
    return match.group(1)


def log_in(client, email: str, password: str = PASSWORD):
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token})


@pytest.fixture
def support_client(client, support_user):
    assert log_in(client, support_user.email).status_code == 302
    return client


class RecordingHandler:
    """aiosmtpd handler that keeps every message it receives, parsed."""

    def __init__(self):
        self.messages = []
        self.connections = 0

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        self.connections += 1
        session.host_name = hostname
        return responses

    async def handle_DATA(self, server, session, envelope):
        # stored with plain line ends, as a receiving server does (SMTP sends CRLF)
        content = envelope.original_content.replace(b"\r\n", b"\n")
        parsed = message_from_bytes(content, policy=default_policy)
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), parsed))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_sink():
    """A real SMTP server on a free loopback port that records what it receives."""
    handler = RecordingHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller
    controller.stop()


def run_commlog(args, env, input_text=None, cwd=None, timeout=60):
    """Run the `commlog` command as a user would, in its own process."""
    return subprocess.run(
        [sys.executable, "-m", "console.cli", *args],
        env=env,
        input=input_text,
        capture_output=True,
        text=True,
        # a scratch folder, so that no developer's .env leaks into the test
        cwd=cwd or Path(env["COMMLOG_HOME"]).parent,
        timeout=timeout,
    )


@pytest.fixture
def start_worker(commlog_env, tmp_path):
    """Start real `commlog worker` consumer processes; all are stopped after the test."""
    started = []

    def start(*args):
        log = open(tmp_path / f"worker-{len(started)}.log", "w")  # noqa: SIM115
        process = subprocess.Popen(
            [sys.executable, "-m", "console.cli", "worker", *args],
            env=commlog_env,
            cwd=tmp_path,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        started.append((process, log))
        return process

    yield start
    for process, log in started:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        log.close()


@pytest.fixture
def fast_retries(database):
    """Retry policies with short delays, so a test sees several retries in a few seconds."""
    from shared.models import RetryPolicy

    for channel in ("email", "sms", "webhook"):
        RetryPolicy.create(
            channel=channel,
            max_retries=4,
            backoff_delay=0.2,
            delay_factor=2,
            backoff_max_delay=1,
            jitter=False,
        )


def sink_message_ids(sink) -> list[str]:
    """The Message-ID header of every mail the sink received, in order."""
    return [mail["Message-ID"] for _, _, mail in sink.handler.messages]


# a real HTTP server for SMS providers and webhook receivers
from tests.http_server import http_server  # noqa: E402, F401


# here, not in tests/reliability/: with pytest-xdist only the top conftest is loaded in the
# process that reports (the tests run in its workers)
def pytest_terminal_summary(terminalreporter):
    """The figures the tests recorded with `record_property` (the fault suite's and
    tests/worker/test_crash.py's), printed under "reliability figures" and written to
    figures.json in the session's COMMLOG_HOME, for the table in docs/RELIABILITY.md."""
    figures = [
        {"test": report.nodeid, "figure": name, "value": value}
        for reports in terminalreporter.stats.values()
        for report in reports
        if getattr(report, "when", None) == "call"
        for name, value in getattr(report, "user_properties", ())
    ]
    if not figures:
        return
    terminalreporter.section("reliability figures")
    for f in figures:
        terminalreporter.write_line(f"{f['test']}  {f['figure']} = {f['value']}")
    path = Path(os.environ["COMMLOG_HOME"]) / "figures.json"
    path.write_text(json.dumps(figures, indent=1, default=str))
    terminalreporter.write_line(f"(written to {path})")
