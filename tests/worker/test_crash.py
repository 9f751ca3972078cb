"""Nothing is ever lost: workers killed mid-batch, several workers on one queue, a lost queue,
expired leases."""

import asyncio
import os
import signal
from collections import Counter
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller

from shared.models import Attempt, Backend, Message, claim_period, now
from shared.outbox import create_message
from tests.conftest import RecordingHandler, free_port, sink_message_ids, wait_for
from worker import tasks
from worker.recovery import recover_expired_leases


class SlowSink(RecordingHandler):
    """Takes a few milliseconds per mail, so that a kill lands in the middle of a batch."""

    async def handle_DATA(self, server, session, envelope):
        await asyncio.sleep(0.004)
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def slow_sink():
    controller = Controller(SlowSink(), hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller
    controller.stop()


def queue_messages(port, count, wake=True):
    backend = Backend.create(
        name="office", channel="email", url=f"smtp://127.0.0.1:{port}", is_default=True
    )
    messages = [
        create_message("email", f"client{i}@example.com", f"Notice {i}", "Body")
        for i in range(count)
    ]
    if wake:
        tasks.wake(messages)
    return backend, messages


def all_sent(count):
    return Message.select().where(Message.state == "SENT").count() == count


def assert_consistent():
    """Every message's attempts counter agrees with its Attempt rows."""
    for message in Message.select():
        numbers = [
            a.number
            for a in Attempt.select().where(Attempt.message == message.id).order_by(Attempt.number)
        ]
        assert numbers == list(range(1, message.attempts + 1)), message.uid


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_killed_mid_batch_twice_loses_nothing_and_duplicates_at_most_one_per_kill(
    database, slow_sink, start_worker, sig
):
    _, messages = queue_messages(slow_sink.port, 1000)
    received = slow_sink.handler.messages
    for threshold in (200, 500):
        worker = start_worker("-w", "1")
        wait_for(
            lambda threshold=threshold: len(received) >= threshold,
            timeout=60,
            what=f"{threshold} mails at the sink",
        )
        os.kill(worker.pid, sig)
        worker.wait(20)
    start_worker("-w", "1")
    wait_for(lambda: all_sent(1000), timeout=120, what="all 1,000 SENT")

    seen = Counter(sink_message_ids(slow_sink))
    assert set(seen) == {f"<{m.uid}@commlog>" for m in messages}, "a message was lost"
    duplicates = sum(n - 1 for n in seen.values())
    assert duplicates <= 2, f"{duplicates} duplicates after 2 kills"
    assert_consistent()
    # a duplicate, if any, is recorded as a try whose result was unknown
    unknown = Attempt.select().where(Attempt.outcome == "unknown").count()
    assert duplicates <= unknown <= 2


def test_two_workers_on_one_queue_send_each_message_once(database, smtp_sink, start_worker):
    _, messages = queue_messages(smtp_sink.port, 1000)
    start_worker("-w", "2")
    start_worker("-w", "2", "--no-periodic")
    wait_for(lambda: all_sent(1000), timeout=120, what="all 1,000 SENT")
    seen = Counter(sink_message_ids(smtp_sink))
    assert len(seen) == 1000 and max(seen.values()) == 1
    assert Attempt.select().count() == 1000
    assert_consistent()


def test_a_lost_queue_loses_nothing(database, smtp_sink, start_worker):
    # the messages are in the database but no task was ever enqueued for them
    _, messages = queue_messages(smtp_sink.port, 30, wake=False)
    start_worker("-w", "1")
    wait_for(lambda: all_sent(30), what="SENT after the worker's start-up sweep")
    # and while it runs: the sweep finds what nobody woke it for
    late = create_message("email", "late@example.com", "Late", "Body")
    assert tasks.run_sweep()["backends_woken"] == 1
    wait_for(lambda: Message.get_by_id(late.id).state == "SENT", what="the late one SENT")


def test_an_expired_lease_is_recovered_and_resent_with_the_same_message_id(
    database, smtp_sink, start_worker
):
    _, [message] = queue_messages(smtp_sink.port, 1, wake=False)
    Message.update(
        state="SENDING",
        lease_owner="elsewhere/1.abcdef/Thread-1",
        lease_until=now() - timedelta(seconds=1),
    ).where(Message.id == message.id).execute()
    assert recover_expired_leases() == 1
    recovered = Message.get_by_id(message.id)
    assert recovered.state == "QUEUED" and "same Message-ID" in recovered.state_reason
    [attempt] = Attempt.select().where(Attempt.message == message.id)
    assert attempt.outcome == "unknown"
    start_worker("-w", "1")
    wait_for(lambda: Message.get_by_id(message.id).state == "SENT", what="SENT after recovery")
    assert sink_message_ids(smtp_sink) == [f"<{message.uid}@commlog>"]
    assert Message.get_by_id(message.id).attempts == 2


def test_a_live_lease_is_left_alone(database, smtp_sink):
    _, [message] = queue_messages(smtp_sink.port, 1, wake=False)
    Message.update(
        state="SENDING",
        lease_owner="elsewhere/1.abcdef/Thread-1",
        lease_until=now() + timedelta(minutes=5),
    ).where(Message.id == message.id).execute()
    assert recover_expired_leases() == 0
    assert Message.get_by_id(message.id).state == "SENDING"


def test_a_period_is_claimed_by_one_caller_only(database):
    assert claim_period("sweep", 60) is True
    assert [claim_period("sweep", 60) for _ in range(5)] == [False] * 5
    assert claim_period("other", 60) is True
