"""The database: one proxy, bound at start-up to the URL from the config."""

import json
import time

import psycopg2
from peewee import (
    DatabaseProxy,
    InterfaceError,
    JSONField,
    Model,
    OperationalError,
    PostgresqlDatabase,
    SqliteDatabase,
)
from playhouse.db_url import connect as connect_url
from playhouse.db_url import register_database
from playhouse.shortcuts import ReconnectMixin
from psycopg2.extensions import QuotedString, register_adapter

db = DatabaseProxy()

# what the drivers raise when the database cannot be reached or cannot do it now: Peewee's
# classes, and psycopg2's for the statements run on its cursor directly (insert_rows)
DRIVER_ERRORS = (
    OperationalError,
    InterfaceError,
    psycopg2.OperationalError,
    psycopg2.InterfaceError,
)

SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "busy_timeout": 10_000,  # ms: writers wait for each other instead of failing
    "synchronous": "normal",  # safe with WAL, and much faster than "full"
    "foreign_keys": 1,
    "cache_size": -20_000,  # KiB: enough for the hot index pages; keeps exports under 100 MB
}


class ReconnectingPostgresqlDatabase(ReconnectMixin, PostgresqlDatabase):
    """A thread that finds its connection gone (a PostgreSQL restart ends every session) opens
    a new one and runs the statement again there, unless it was inside a transaction: that
    transaction's work went with the connection, so the error is raised, and the next statement
    reconnects. Peewee alone would keep the dead connection, and fail, for good."""

    reconnect_errors = (
        (OperationalError, "server closed the connection"),  # found dead on its next use
        (OperationalError, "ssl connection has been closed"),  # the same, over TLS
        (OperationalError, "terminating connection"),  # the server's last words: shutdown
        (InterfaceError, "connection already closed"),  # psycopg2 knew it was dead
    )


register_database(ReconnectingPostgresqlDatabase, "postgres", "postgresql")


class BaseModel(Model):
    class Meta:
        database = db


def connect(url: str):
    """Bind the proxy to the database at `url` (any playhouse.db_url URL) and return it."""
    if url.startswith("sqlite:"):
        # BEGIN IMMEDIATE: a write transaction takes the write lock up front, so two writers
        # queue on busy_timeout instead of one failing with "database is locked" on upgrade
        database = connect_url(url, pragmas=SQLITE_PRAGMAS, timeout=10, lock_type="IMMEDIATE")
    else:
        register_adapter(str, _postgres_text)
        database = connect_url(url)
    db.initialize(database)
    return database


def connection_lost(exc: BaseException) -> bool:
    """Whether `exc` is the database gone away (restarted, say, or not reachable), this thread's
    connection with it. An error the database answered itself (a deadlock, a locked SQLite
    file, a mistake in a statement) leaves the connection usable."""
    return isinstance(exc, DRIVER_ERRORS) and not db.is_connection_usable()


def wait_until_available(interval: float = 0.5) -> None:
    """Return once the database answers again (a restarted PostgreSQL takes sessions)."""
    while True:
        try:
            db.execute_sql("SELECT 1")
            return
        except DRIVER_ERRORS:
            time.sleep(interval)


def _postgres_text(value: str) -> QuotedString:
    """PostgreSQL's text cannot hold NUL, which SQLite's can: it becomes U+FFFD, the Unicode
    replacement character, in what is written and in what is looked up alike, so that garbage
    input is stored or matches nothing instead of failing."""
    return QuotedString(value.replace("\x00", "\ufffd") if "\x00" in value else value)


def is_sqlite() -> bool:
    return isinstance(db.obj, SqliteDatabase)


def for_update(query, skip_locked: bool = False):
    """Lock the selected rows until the transaction ends (PostgreSQL); SQLite's IMMEDIATE
    transactions already exclude every other writer. `skip_locked`: leave out the rows that
    another transaction has locked instead of waiting for it (claiming from a shared queue)."""
    return query if is_sqlite() else query.for_update(skip_locked=skip_locked or None)


MAX_PARAMETERS = 30_000  # in one statement (SQLite allows 32,766, PostgreSQL 65,535)


def insert_rows(model, rows: list[dict]) -> None:
    """Insert many rows with one prepared statement (executemany): for the hot paths, where
    building a large multi-row INSERT costs more than running it. Missing columns take their
    field's default."""
    if not rows:
        return
    fields, values = _row_values(model, rows)
    db.cursor().executemany(_insert_sql(model, fields, 1), values)


def insert_rows_returning(model, rows: list[dict], columns: list[str]) -> list[tuple]:
    """insert_rows() as a few multi-row INSERT … RETURNING statements: those columns of the
    new rows, in no particular order. For a table with row triggers: SQLite's FTS5 writes its
    pending index data at the end of every statement, so one statement for a batch costs a
    sixth of one statement per row."""
    if not rows:
        return []
    fields, values = _row_values(model, rows)
    returning = ", ".join(f'"{name}"' for name in columns)
    size = MAX_PARAMETERS // len(fields)
    found = []
    for start in range(0, len(values), size):
        chunk = values[start : start + size]
        sql = f"{_insert_sql(model, fields, len(chunk))} RETURNING {returning}"
        found.extend(db.execute_sql(sql, [v for record in chunk for v in record]).fetchall())
    return found


def _insert_sql(model, fields: list, count: int) -> str:
    columns = ", ".join(f'"{f.column_name}"' for f in fields)
    placeholders = "(" + ", ".join([db.param] * len(fields)) + ")"
    values = ", ".join([placeholders] * count)
    return f'INSERT INTO "{model._meta.table_name}" ({columns}) VALUES {values}'


def _row_values(model, rows: list[dict]) -> tuple[list, list[list]]:
    """Every column but the id, and each row's database values for them."""
    fields = [f for f in model._meta.sorted_fields if not (f.primary_key and f.name == "id")]
    columns = [(f.name, _json_text if isinstance(f, JSONField) else f.db_value) for f in fields]
    defaults = {f.name: f.default for f in fields}
    values = []
    for row in rows:
        record = []
        for name, db_value in columns:
            if name in row:
                value = row[name]
            else:
                value = defaults[name]() if callable(defaults[name]) else defaults[name]
            record.append(db_value(value))
        values.append(record)
    return fields, values


def _json_text(value) -> str | None:
    return None if value is None else json.dumps(value)  # a plain JSON string
