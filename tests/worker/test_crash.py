"""Nothing is ever lost: workers killed or stopped mid-batch, a lost queue,
expired leases."""

import asyncio
import re
import signal
import time
from collections import Counter
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller

from shared.models import Attempt, Backend, Message, claim_period, now
from shared.outbox import create_message
from tests.conftest import RecordingHandler, free_port, sink_message_ids, wait_for
from tests.reliability.workers import WorkerGroup, sends_on_the_wire
from worker import delivery, tasks
from worker.recovery import recover_expired_leases


class SlowSink(RecordingHandler):
    """Takes a few milliseconds per mail, so that a kill lands in the middle of a batch."""

    async def handle_DATA(self, server, session, envelope):
        await asyncio.sleep(0.005)
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


@pytest.fixture
def workers(commlog_env, tmp_path):
    group = WorkerGroup(commlog_env, tmp_path)
    yield group
    group.stop_all()


def sending() -> set[int]:
    return {m.id for m in Message.select(Message.id).where(Message.state == "SENDING")}


@pytest.mark.parametrize(
    "sig", [signal.SIGKILL, signal.SIGTERM, signal.SIGINT], ids=lambda s: s.name
)
def test_a_worker_stopped_mid_batch_twice_loses_nothing_and_resends_only_what_was_on_the_wire(
    database, home, slow_sink, workers, record_property, sig
):
    count = 250
    _, messages = queue_messages(slow_sink.port, count)
    received = slow_sink.handler.messages
    in_flight, on_the_wire, recovered, recovery_seconds = 0, set(), 0, []
    worker = workers.start("-w", "1")
    for threshold in (count // 5, count // 2):
        wait_for(
            lambda threshold=threshold: len(received) >= threshold,
            timeout=60,
            what=f"{threshold} mails at the sink",
        )
        workers.signal(worker, sig)
        # what the stopped worker left behind: its claimed messages, and (from its journal)
        # the one send that was on the wire when it stopped
        left = sending()
        assert len(left) <= delivery.BATCH_SIZE, "one thread holds one batch at most"
        in_flight += len(left)
        on_the_wire |= sends_on_the_wire(home) & left
        restarted = time.monotonic()
        worker = workers.start("-w", "1")
        wait_for(lambda left=left: not left & sending(), timeout=60, what="the claims recovered")
        recovery_seconds.append(time.monotonic() - restarted)
        if left:
            found = wait_for(
                lambda worker=worker: re.search(r"recovered (\d+) messages", workers.log(worker)),
                what="the recovery in the restarted worker's log",
            )
            recovered += int(found.group(1))
    wait_for(lambda: all_sent(count), timeout=120, what=f"all {count} SENT")

    seen = Counter(sink_message_ids(slow_sink))
    lost = count - len(set(seen) & {f"<{m.uid}@commlog>" for m in messages})
    duplicated = {mid for mid, n in seen.items() if n > 1}
    record_property("claimed, not yet recorded, at the stops", in_flight)
    record_property("on the wire at the stops", len(on_the_wire))
    record_property("lost", lost)
    record_property("duplicates", sum(n - 1 for n in seen.values()))
    record_property("seconds to recover (worst)", round(max(recovery_seconds), 2))
    assert lost == 0
    assert recovered == in_flight, "each claimed message is recovered, once"
    # a duplicate is only ever a send that was on the wire, at most one per stop (one thread)
    uid_of = {m.id: m.uid for m in messages}
    assert duplicated <= {f"<{uid_of[i]}@commlog>" for i in on_the_wire}
    assert max(seen.values()) <= 2 and len(on_the_wire) <= 2
    # every copy a recipient got carries its message's one Message-ID
    by_recipient = {m.recipient: f"<{m.uid}@commlog>" for m in messages}
    for _, rcpts, mail in slow_sink.handler.messages:
        assert mail["Message-ID"] == by_recipient[rcpts[0]]
    assert_consistent()
    # a send whose result was lost is recorded as a try with an unknown result
    unknown = Attempt.select().where(Attempt.outcome == "unknown")
    assert {a.message_id for a in unknown} == on_the_wire
    if sig == signal.SIGINT:
        # SIGINT lets the running batch finish: nothing is left in flight, nothing twice
        assert in_flight == 0 and sum(seen.values()) == count


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
