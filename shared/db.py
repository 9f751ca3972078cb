"""The database: one proxy, bound at start-up to the URL from the config."""

from peewee import DatabaseProxy, Model, SqliteDatabase
from playhouse.db_url import connect as connect_url

db = DatabaseProxy()

SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "busy_timeout": 10_000,  # ms: writers wait for each other instead of failing
    "synchronous": "normal",  # safe with WAL, and much faster than "full"
    "foreign_keys": 1,
    "cache_size": -64_000,  # KiB
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
