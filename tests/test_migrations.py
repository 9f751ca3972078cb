"""Schema upgrades: a database made by commlog before versioned migrations (its schema frozen as
a dump in tests/migrations/) is upgraded by `commlog migrate` to exactly the schema a new
database gets, with its data intact; running it again changes nothing."""

import sqlite3
from pathlib import Path

import psycopg2
import pytest

from shared.db import connect, db
from shared.migrations import migrate, pending, version
from shared.models import Event, Message, User
from shared.search import search
from tests.conftest import ON_POSTGRES, run_commlog

DUMPS = Path(__file__).resolve().parent / "migrations"

# rows as commlog wrote them then, in plain SQL (literals that both databases read alike); each
# is its table's first row, so its id is 1
OLD_DATA = [
    """INSERT INTO "user" (email, name, role, password_hash, active, session_version,
        created_at) VALUES ('ann@example.com', 'Ann', 'admin', 'x', TRUE, 1,
        '2026-01-02 03:04:05')""",
    """INSERT INTO backend (name, channel, url, health, health_since,
        failure_alert_emails, is_default, created_at) VALUES ('mail', 'email',
        'smtp://127.0.0.1:2525', 'OK', '2026-01-02 03:04:05', '["ann@example.com"]', TRUE,
        '2026-01-02 03:04:05')""",
    """INSERT INTO message (uid, channel, recipient, subject, body_text, kind, sender_id,
        backend_id, state, state_reason, attempts, created_at, sent_at, metadata)
        VALUES ('a1b2', 'email', 'bob@example.com', 'Your loan', 'Repayment due Friday',
        'loan.repayment_due', 1, 1, 'SENT', '', 1, '2026-01-02 03:04:05',
        '2026-01-02 03:04:06', '{"loan": "L-1"}')""",
    """INSERT INTO event (created_at, action, message_id, from_state, to_state, detail)
        VALUES ('2026-01-02 03:04:05', 'state', 1, NULL, 'SENT', 'created')""",
    # an email with only an HTML part: after the upgrade its words can be searched
    """INSERT INTO message (uid, channel, recipient, subject, body_text, body_html, kind,
        backend_id, state, state_reason, attempts, created_at, sent_at, metadata)
        VALUES ('c3d4', 'email', 'cy@example.com', 'Card', '',
        '<p>Your card ending 4242 was <b>blocked</b>&nbsp;today</p><script>x()</script>',
        'card.blocked', 1, 'SENT', '', 1, '2026-01-02 03:04:07', '2026-01-02 03:04:08', '{}')""",
]


def _empty_database(url: str) -> None:
    """PostgreSQL: drop everything in the test's database (it is a copy of the full schema)."""
    if ON_POSTGRES:
        connect(url)
        db.execute_sql("DROP SCHEMA public CASCADE")
        db.execute_sql("CREATE SCHEMA public")
        db.close()


def _load_old_database(url: str) -> None:
    """The schema before versioned migrations, restored from its dump, and OLD_DATA."""
    _empty_database(url)
    if ON_POSTGRES:
        connection = psycopg2.connect(url)  # its own session: the dump empties search_path
        with connection, connection.cursor() as cursor:
            cursor.execute((DUMPS / "schema_0.postgres.sql").read_text())
            cursor.execute("SET search_path = public")
            for statement in OLD_DATA:
                cursor.execute(statement)
    else:
        connection = sqlite3.connect(url.removeprefix("sqlite:///"))
        connection.executescript((DUMPS / "schema_0.sqlite.sql").read_text())
        for statement in OLD_DATA:
            connection.execute(statement)
        connection.commit()
    connection.close()


def _shape() -> dict:
    """Every table's columns and indexes, as the database describes them."""
    shape = {}
    for table in db.get_tables():
        columns = {(c.name, c.data_type.lower(), c.null) for c in db.get_columns(table)}
        indexes = {(i.name, tuple(i.columns), i.unique) for i in db.get_indexes(table)}
        shape[table] = (columns, indexes)
    return shape


@pytest.fixture
def new_shape(backend_urls, home):
    """The schema of a database that `migrate` creates from nothing."""
    url = backend_urls[0] if ON_POSTGRES else f"sqlite:///{home}/new.db"
    _empty_database(url)
    connect(url)
    try:
        assert migrate() == []  # a new database runs no step: it is made up to date
        assert pending() == []
        shape = _shape()
    finally:
        db.close()
    return shape


def test_migrate_upgrades_the_old_schema_keeping_the_data(new_shape, backend_urls, commlog_env):
    url = backend_urls[0]
    _load_old_database(url)
    connect(url)
    try:
        steps = pending()
        assert steps, "the old schema has steps to run"
        assert version() is None

        result = run_commlog(["migrate"], commlog_env)
        assert result.returncode == 0, result.stderr
        assert [f"Applied {step}." for step in steps] == result.stdout.splitlines()[:-1]
        assert version() == steps[-1]
        assert f"version {steps[-1]}" in result.stdout
        assert pending() == []

        assert _shape() == new_shape
        message = Message.get_by_id(1)
        assert (message.uid, message.recipient) == ("a1b2", "bob@example.com")
        assert (message.sender.email, message.backend.failure_alert_emails) == (
            "ann@example.com",
            ["ann@example.com"],
        )
        assert message.metadata == {"loan": "L-1"}
        assert [e.to_state for e in Event.select().where(Event.message == message)] == ["SENT"]
        assert [m.id for m in search(Message.select(), "repayment")] == [1]
        html_only = Message.get_by_id(2)
        assert html_only.body_html_text == "Your card ending 4242 was blocked today"
        assert [m.id for m in search(Message.select(), "was blocked")] == [2]
        assert [m.id for m in search(Message.select(), "x()")] == []  # scripts are not text
        # the new code writes to it
        User.create(email="new@example.com", name="New", password_hash="x")
        assert User.select().count() == 2

        again = run_commlog(["migrate"], commlog_env)
        assert again.returncode == 0, again.stderr
        assert "Applied" not in again.stdout
        assert version() == steps[-1]
        assert _shape() == new_shape
    finally:
        db.close()


def test_init_creates_a_database_at_the_latest_version(backend_urls, commlog_env):
    url = backend_urls[0]
    _empty_database(url)
    result = run_commlog(["init"], commlog_env)
    assert result.returncode == 0, result.stderr
    assert "The database is ready." in result.stdout
    connect(url)
    try:
        assert Message.table_exists()
        assert pending() == []
        latest = version()
        again = run_commlog(["migrate"], commlog_env)
        assert again.returncode == 0, again.stderr
        assert "Applied" not in again.stdout
        assert version() == latest
    finally:
        db.close()
