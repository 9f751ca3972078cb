"""Scale-out: several worker processes claiming from one database send each message exactly
once. Written for PostgreSQL + Redis (COMMLOG_TEST_BACKEND=postgres), where claims skip each
other's locked rows; it runs on SQLite + SqliteHuey too, where the write lock serialises them."""

import re
from collections import Counter

from aiosmtpd.controller import Controller

from shared.models import Attempt, Backend, Message, WorkerHeartbeat
from shared.outbox import create_messages
from tests.conftest import free_port, wait_for
from worker import tasks

COUNT = 20_000
MESSAGE_ID = re.compile(rb"^Message-ID: (\S+)", re.MULTILINE | re.IGNORECASE)


class CountingHandler:
    """An SMTP sink that only counts each mail's Message-ID (parsing 20,000 whole mails would
    make the sink the bottleneck)."""

    def __init__(self):
        self.message_ids = Counter()

    async def handle_DATA(self, server, session, envelope):
        match = MESSAGE_ID.search(envelope.original_content)
        self.message_ids[match.group(1).decode() if match else None] += 1
        return "250 Message accepted for delivery"


def test_four_worker_processes_send_20000_messages_each_once(database, start_worker):
    handler = CountingHandler()
    sink = Controller(handler, hostname="127.0.0.1", port=free_port())
    sink.start()
    try:
        Backend.create(
            name="office", channel="email", url=f"smtp://127.0.0.1:{sink.port}", is_default=True
        )
        start_worker("-w", "2")
        for _ in range(3):
            start_worker("-w", "2", "--no-periodic")
        wait_for(lambda: WorkerHeartbeat.select().count() == 4, what="four workers up")
        messages = create_messages(
            [
                {"channel": "email", "recipient": f"client{i}@example.com", "subject": f"No {i}"}
                for i in range(COUNT)
            ]
        )
        tasks.wake(messages)
        wait_for(
            lambda: Message.select().where(Message.state == "SENT").count() == COUNT,
            timeout=600,
            interval=1,
            what=f"all {COUNT} messages SENT",
        )
        received = handler.message_ids
        assert sum(received.values()) == COUNT
        assert set(received) == {f"<{m.uid}@commlog>" for m in messages}  # none lost
        assert max(received.values()) == 1  # none twice
        assert Attempt.select().count() == COUNT
        # the claims really raced: every process took batches
        workers = {a.worker.rsplit("/", 1)[0] for a in Attempt.select(Attempt.worker).distinct()}
        assert len(workers) == 4
    finally:
        sink.stop()
