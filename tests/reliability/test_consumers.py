"""Several worker processes on one queue: each message is claimed and sent once, and the
periodic tasks run once per period, not once per consumer."""

import re
import time
from collections import Counter

from peewee import fn

from shared.models import Attempt, Backend, Event, HealthCheck, Message, WorkerHeartbeat
from shared.outbox import create_messages
from tests.conftest import BACKEND, sink_message_ids, wait_for
from worker import tasks


def office(port):
    return Backend.create(
        name="office", channel="email", url=f"smtp://127.0.0.1:{port}", is_default=True
    )


def test_four_worker_processes_claim_and_send_each_message_once(
    database, smtp_sink, workers, record_property
):
    count = 1200
    office(smtp_sink.port)
    workers.start("-w", "1")
    for _ in range(3):
        workers.start("-w", "1", "--no-periodic")
    wait_for(lambda: WorkerHeartbeat.select().count() == 4, what="four workers up")
    messages = create_messages(
        [
            {"channel": "email", "recipient": f"client{i}@example.com", "subject": f"Notice {i}"}
            for i in range(count)
        ]
    )
    started = time.monotonic()
    tasks.wake(messages)
    wait_for(
        lambda: Message.select().where(Message.state == "SENT").count() == count,
        timeout=120,
        what=f"all {count} SENT",
    )
    seconds = time.monotonic() - started

    claims = Counter(
        row.message_id
        for row in Event.select(Event.message).where(
            Event.to_state == "SENDING", Event.message.is_null(False)
        )
    )
    seen = Counter(sink_message_ids(smtp_sink))
    logs = workers.logs()
    processes = {a.worker.rsplit("/", 1)[0] for a in Attempt.select(Attempt.worker)}
    record_property("database", BACKEND)
    record_property("messages per second", round(count / seconds))
    record_property("worker processes that sent", len(processes))
    record_property("duplicates", sum(n - 1 for n in seen.values()))
    record_property('"database is locked" in the logs', logs.count("database is locked"))
    assert sorted(claims.values()) == [1] * count, "a message was claimed twice (or never)"
    assert set(seen) == {f"<{m.uid}@commlog>" for m in messages}
    assert max(seen.values()) == 1
    assert Attempt.select().count() == count
    assert "database is locked" not in logs
    assert "Traceback" not in logs
    # the claims really raced: more than one process took batches
    assert len(processes) >= 2


def executed(task: str, logs: str) -> int:
    """How many times Huey says it ran this task."""
    return len(re.findall(rf"worker\.tasks\.{task}: \S+ executed in", logs))


def test_periodic_tasks_run_once_per_period_however_many_consumers_schedule_them(
    database, smtp_sink, workers, record_property
):
    backend = office(smtp_sink.port)
    # all four with the periodic tasks on: the set-up `commlog worker -n` is there to avoid,
    # and the one the period claim in the database must make harmless
    for _ in range(4):
        workers.start("-w", "1")
    # every consumer enqueues both periodic tasks when it starts: wait until all eight ran
    for task in ("sweep", "check_backends"):
        wait_for(
            lambda task=task: executed(task, workers.logs()) == 4,
            timeout=60,
            what=f"four {task} tasks executed",
        )
    logs = workers.logs()
    sweeps = logs.count("sweep ran:")
    health_checks = HealthCheck.select().where(HealthCheck.backend == backend.id).count()
    record_property("consumers scheduling the periodic tasks", 4)
    record_property("sweep tasks executed", executed("sweep", logs))
    record_property("sweeps that ran", sweeps)
    record_property("health checks that ran", health_checks)
    assert sweeps == 1
    assert health_checks == 1 and smtp_sink.handler.connections == 1
    assert Event.select(fn.COUNT(Event.id)).where(Event.action == "backend_tested").scalar() == 1
