"""The message's foreign keys no longer have indexes of their own, and its (x, id) indexes
became (x, id, state): the longer indexes serve the same lookups, the old ones only cost
writes."""

REPLACED = [
    "message_sender_id",
    "message_client_id",
    "message_group_id",
    "message_user_id",
    "message_backend_id",
    "message_sender_id_id",
    "message_client_id_id",
    "message_group_id_id",
    "message_user_id_id",
]


def up(migrator, db):
    for name in REPLACED:
        db.execute_sql(f'DROP INDEX IF EXISTS "{name}"')
