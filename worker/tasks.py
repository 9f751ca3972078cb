"""The worker's tasks. Tasks take message ids, never objects: the database is the truth."""

from shared.config import load_config
from shared.db import connect, db
from worker.delivery import deliver
from worker.queue import huey


@huey.on_startup()
def open_database():
    """Bind the database when the consumer starts (the console binds its own)."""
    if db.obj is None:
        connect(load_config().database_url)


@huey.task()
def send_message(message_id: int) -> None:
    """Send one message, if it is still QUEUED."""
    deliver([message_id])


def wake(message) -> None:
    """Tell the worker that a QUEUED message is due now."""
    if message.state == "QUEUED":
        send_message(message.id)
