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
        database = connect_url(url, pragmas=SQLITE_PRAGMAS, timeout=10)
    else:
        database = connect_url(url)
    db.initialize(database)
    return database


def is_sqlite() -> bool:
    return isinstance(db.obj, SqliteDatabase)
