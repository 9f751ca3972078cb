"""Free-text search over recipient, subject and body, fast at a million messages:
SQLite FTS5 with the trigram tokenizer (substring matches, any language), kept in step with
the message table by triggers; on PostgreSQL a pg_trgm GIN index on the same text."""

from peewee import SQL, NodeList

from shared.db import db, is_sqlite
from shared.models import Message

MIN_LENGTH = 3  # trigrams: shorter text cannot be looked up in the index

SQLITE_SCHEMA = [
    """CREATE VIRTUAL TABLE IF NOT EXISTS message_fts USING fts5(
        recipient, subject, body_text, content='message', content_rowid='id',
        tokenize='trigram')""",
    """CREATE TRIGGER IF NOT EXISTS message_fts_insert AFTER INSERT ON message BEGIN
        INSERT INTO message_fts(rowid, recipient, subject, body_text)
        VALUES (new.id, new.recipient, new.subject, new.body_text);
    END""",
    """CREATE TRIGGER IF NOT EXISTS message_fts_delete AFTER DELETE ON message BEGIN
        INSERT INTO message_fts(message_fts, rowid, recipient, subject, body_text)
        VALUES ('delete', old.id, old.recipient, old.subject, old.body_text);
    END""",
    """CREATE TRIGGER IF NOT EXISTS message_fts_update
        AFTER UPDATE OF recipient, subject, body_text ON message BEGIN
        INSERT INTO message_fts(message_fts, rowid, recipient, subject, body_text)
        VALUES ('delete', old.id, old.recipient, old.subject, old.body_text);
        INSERT INTO message_fts(rowid, recipient, subject, body_text)
        VALUES (new.id, new.recipient, new.subject, new.body_text);
    END""",
]

POSTGRES_SCHEMA = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    """CREATE INDEX IF NOT EXISTS message_text_trgm ON message USING gin (
        (recipient || ' ' || subject || ' ' || body_text) gin_trgm_ops)""",
]


def create_search_index() -> None:
    """Create the search index and its triggers if missing; safe to repeat."""
    for statement in SQLITE_SCHEMA if is_sqlite() else POSTGRES_SCHEMA:
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
    document = NodeList(
        [Message.recipient, SQL("|| ' ' ||"), Message.subject, SQL("|| ' ' ||"), Message.body_text],
        glue=" ",
    )
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return query.where(document.ilike(f"%{escaped}%"))
