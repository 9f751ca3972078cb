"""The database: one proxy, bound at start-up to the URL from the config."""

import json

from peewee import DatabaseProxy, JSONField, Model, SqliteDatabase
from playhouse.db_url import connect as connect_url

db = DatabaseProxy()

SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "busy_timeout": 10_000,  # ms: writers wait for each other instead of failing
    "synchronous": "normal",  # safe with WAL, and much faster than "full"
    "foreign_keys": 1,
    "cache_size": -20_000,  # KiB: enough for the hot index pages; keeps exports under 100 MB
}


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
        database = connect_url(url)
    db.initialize(database)
    return database


def is_sqlite() -> bool:
    return isinstance(db.obj, SqliteDatabase)


def for_update(query):
    """Lock the selected rows until the transaction ends (PostgreSQL); SQLite's IMMEDIATE
    transactions already exclude every other writer."""
    return query if is_sqlite() else query.for_update()


def insert_rows(model, rows: list[dict]) -> None:
    """Insert many rows with one prepared statement (executemany): for the hot paths, where
    building a large multi-row INSERT costs more than running it. Missing columns take their
    field's default."""
    if not rows:
        return
    fields = [f for f in model._meta.sorted_fields if not (f.primary_key and f.name == "id")]
    defaults = {f.name: f.default for f in fields}
    columns = ", ".join(f'"{f.column_name}"' for f in fields)
    placeholders = ", ".join([db.param] * len(fields))
    sql = f'INSERT INTO "{model._meta.table_name}" ({columns}) VALUES ({placeholders})'
    values = []
    for row in rows:
        record = []
        for f in fields:
            if f.name in row:
                value = row[f.name]
            else:
                value = defaults[f.name]() if callable(defaults[f.name]) else defaults[f.name]
            if isinstance(f, JSONField):
                value = None if value is None else json.dumps(value)  # a plain JSON string
            else:
                value = f.db_value(value)
            record.append(value)
        values.append(record)
    db.cursor().executemany(sql, values)
