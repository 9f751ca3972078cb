"""Free-text search over recipient, subject and body (the text body and the HTML body's visible
text), fast at a million messages: SQLite FTS5 with the trigram tokenizer (substring matches,
any language), kept in step with the message table by triggers; on PostgreSQL a pg_trgm GIN
index on the same text."""

from peewee import SQL, NodeList

from shared.db import db, is_sqlite
from shared.models import Message

MIN_LENGTH = 3  # trigrams: shorter text cannot be looked up in the index
SEARCHED = ("recipient", "subject", "body_text", "body_html_text")

_columns = ", ".join(SEARCHED)
_new = ", ".join(f"new.{c}" for c in SEARCHED)
_old = ", ".join(f"old.{c}" for c in SEARCHED)
SQLITE_SCHEMA = [
    f"""CREATE VIRTUAL TABLE IF NOT EXISTS message_fts USING fts5(
        {_columns}, content='message', content_rowid='id', tokenize='trigram')""",
    f"""CREATE TRIGGER IF NOT EXISTS message_fts_insert AFTER INSERT ON message BEGIN
        INSERT INTO message_fts(rowid, {_columns}) VALUES (new.id, {_new});
    END""",
    f"""CREATE TRIGGER IF NOT EXISTS message_fts_delete AFTER DELETE ON message BEGIN
        INSERT INTO message_fts(message_fts, rowid, {_columns})
        VALUES ('delete', old.id, {_old});
    END""",
    f"""CREATE TRIGGER IF NOT EXISTS message_fts_update
        AFTER UPDATE OF {_columns} ON message BEGIN
        INSERT INTO message_fts(message_fts, rowid, {_columns})
        VALUES ('delete', old.id, {_old});
        INSERT INTO message_fts(rowid, {_columns}) VALUES (new.id, {_new});
    END""",
]
# what drop_search_index() removes, so that a migration can make it again with other columns
SQLITE_OBJECTS = [
    "DROP TRIGGER IF EXISTS message_fts_insert",
    "DROP TRIGGER IF EXISTS message_fts_delete",
    "DROP TRIGGER IF EXISTS message_fts_update",
    "DROP TABLE IF EXISTS message_fts",
]

# the document PostgreSQL's index is on, and search() asks for: the same expression
_document = " || ' ' || ".join(SEARCHED)
POSTGRES_SCHEMA = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    f"CREATE INDEX IF NOT EXISTS message_text_trgm ON message USING gin (({_document}) "
    "gin_trgm_ops)",
]
POSTGRES_OBJECTS = ["DROP INDEX IF EXISTS message_text_trgm"]


def create_search_index() -> None:
    """Create the search index and its triggers if missing; safe to repeat."""
    for statement in SQLITE_SCHEMA if is_sqlite() else POSTGRES_SCHEMA:
        db.execute_sql(statement)


def drop_search_index() -> None:
    """Remove the search index (and its triggers), whatever columns it was made with."""
    for statement in SQLITE_OBJECTS if is_sqlite() else POSTGRES_OBJECTS:
        db.execute_sql(statement)


def rebuild_search_index() -> None:
    """Re-read every message into the index (after a bulk load that bypassed it)."""
    if is_sqlite():
        db.execute_sql("INSERT INTO message_fts(message_fts) VALUES ('rebuild')")


def search(query, text: str):
    """Narrow a Message query to those whose recipient, subject or body contains `text`
    (case-insensitive), through the index."""
    if is_sqlite():
        phrase = '"' + text.replace('"', '""') + '"'  # one literal substring, no FTS syntax
        matching = SQL("(SELECT rowid FROM message_fts WHERE message_fts MATCH ?)", [phrase])
        return query.where(Message.id.in_(matching))
    parts = []
    for name in SEARCHED:
        parts += [getattr(Message, name), SQL("|| ' ' ||")]
    document = NodeList(parts[:-1], glue=" ")
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return query.where(document.ilike(f"%{escaped}%"))
