"""The worker's tasks. Tasks take ids, never objects: the database is the truth, and the queue
only says "look at backend N now". Losing the queue loses nothing: the sweep finds what is due."""

import logging
from datetime import timedelta

from huey import crontab
from peewee import fn

from shared import bulk, export
from shared.channels.sms import supports_delivery_status
from shared.config import load_config
from shared.db import connect, connection_lost, db, wait_until_available
from shared.health import test_backend
from shared.models import Backend, Job, Message, claim_period, now
from worker import delivery, delivery_status, recovery
from worker.identity import worker_id
from worker.queue import huey

log = logging.getLogger("commlog.worker")


@huey.on_startup()
def open_database():
    """Bind the database when the consumer starts (the console binds its own)."""
    if db.obj is None:
        connect(load_config().database_url)


@huey.task()
def send_due(backend_id: int) -> None:
    """Send one batch of the backend's due messages over this thread's open connection."""
    owner = worker_id()
    try:
        _send_batch(backend_id, owner)
    except Exception as exc:
        if not connection_lost(exc):
            raise
        # the database went away mid-batch (a PostgreSQL restart, say): what this thread had
        # claimed is SENDING under its lease, and what it sent is in its journal, which its
        # next batch would empty. Record it as soon as the database is back, not when the
        # lease ends, then carry on with the backend
        why = (str(exc).strip() or type(exc).__name__).splitlines()[0]
        log.warning("lost the database while sending for backend %d (%s)", backend_id, why)
        recovered = _recover_broken_batch(owner)
        log.info("the database is back: recovered %d messages of the broken batch", recovered)
        send_due(backend_id)


def _recover_broken_batch(owner: str) -> int:
    while True:
        wait_until_available()
        try:
            return recovery.recover_own_claims(delivery.thread_journal(owner))
        except Exception as exc:
            if not connection_lost(exc):
                raise
            # gone again: wait again


def _send_batch(backend_id: int, owner: str) -> None:
    claimed = delivery.claim_due(backend_id, owner)
    if len(claimed) == delivery.BATCH_SIZE:
        # more may be waiting: let another worker thread start on them right away
        send_due(backend_id)
    if claimed:
        wake(delivery.deliver(backend_id, claimed, owner))
        _schedule_delivery_checks(backend_id, claimed)
    _schedule_next_retry(backend_id)


def _schedule_delivery_checks(backend_id: int, message_ids: list[int]) -> None:
    backend = Backend.get_by_id(backend_id)
    if not supports_delivery_status(backend):
        return
    sent = Message.select(Message.id).where(Message.id.in_(message_ids), Message.state == "SENT")
    for message in sent:
        check_delivery_status.schedule(
            (message.id, 1), delay=delivery_status.poll_delay(backend, 1)
        )


@huey.task()
def check_delivery_status(message_id: int, poll: int) -> None:
    """Ask the SMS provider whether a SENT message was delivered; ask again later if unsure."""
    pending = delivery_status.check(message_id, poll)
    if pending and poll < delivery_status.POLLS:
        backend = Message.get_by_id(message_id).backend
        check_delivery_status.schedule(
            (message_id, poll + 1), delay=delivery_status.poll_delay(backend, poll + 1)
        )


def _schedule_next_retry(backend_id: int) -> None:
    due_at = delivery.next_due_at(backend_id)
    if due_at is not None:
        send_due.schedule((backend_id,), delay=max((due_at - now()).total_seconds(), 0))


@huey.periodic_task(crontab(minute="*"))
def sweep() -> dict | None:
    """Once a minute, in one consumer however many run: the sweep."""
    if claim_period("sweep", 60):
        done = run_sweep()
        log.info("sweep ran: %s", done)  # which consumer ran it, and what it found
        return done
    return None


def run_sweep() -> dict:
    """Recover what dead workers left, and wake every backend with due messages (so a lost or
    never-sent wake-up call costs at most a minute). Returns what it did."""
    recovered = recovery.recover_dead_local_workers() + recovery.recover_expired_leases()
    export.remove_old_exports(load_config().home / "exports")
    due = wake_due_backends()
    return {
        "recovered": recovered,
        "backends_woken": len(due),
        "due": sum(due.values()),
        "jobs_started": start_lost_jobs(),
    }


@huey.periodic_task(crontab(minute="*"))
def check_backends() -> None:
    """Once a minute, in one consumer: test every backend; one that passes releases its held
    messages, one that fails opens an incident (and alerts once)."""
    if not claim_period("health_checks", 60):
        return
    backends = list(Backend.select())
    for backend in backends:
        wake(test_backend(backend).change.to_wake)
    log.info("health checks ran: %d backends tested", len(backends))


@huey.task()
def run_bulk_job(job_id: int) -> None:
    """A staff member's big resend or cancel, with progress the page can show."""
    bulk.run_job(job_id, wake)


@huey.task()
def run_export_job(job_id: int) -> None:
    """A staff member's big Excel export."""
    export.run_export_job(job_id, load_config().home / "exports")


def wake_due_backends() -> dict[int, int]:
    """Enqueue a send for each backend that has QUEUED messages or WAITING ones that are due;
    returns how many are due, by backend."""
    due = (
        Message.select(Message.backend, fn.COUNT(Message.id).alias("n"))
        .where(
            (Message.state == "QUEUED")
            | ((Message.state == "WAITING") & (Message.next_attempt_at <= now()))
        )
        .group_by(Message.backend)
    )
    counts = {row.backend_id: row.n for row in due if row.backend_id is not None}
    for backend_id in counts:
        send_due(backend_id)
    return counts


def wake(messages) -> None:
    """Tell the worker about new or released messages: one task per backend for the QUEUED
    ones, a scheduled one for those WAITING for their time. They are stored already: if the
    queue cannot be reached, the sweep finds them within a minute, so the caller carries on
    (the failure is logged)."""
    try:
        _enqueue_sends(messages)
    except Exception:
        log.exception("could not reach the queue; the sweep will find these messages")


def start_job(job: Job) -> None:
    """Hand a stored bulk or export job to the worker; if the queue cannot be reached, the
    sweep starts it within a minute (the caller carries on; the failure is logged)."""
    task = run_export_job if job.kind == "export" else run_bulk_job
    try:
        task(job.id)
    except Exception:
        log.exception("could not reach the queue; the sweep will start job %d", job.id)


def start_lost_jobs(older_than: timedelta = timedelta(minutes=1)) -> int:
    """Start the jobs still pending a minute after they were made: their task was lost, or
    the queue could not be reached. Each job runs once however often it is started (its move
    to "running" is a conditional update). Returns how many were started."""
    lost = list(Job.select().where(Job.state == "pending", Job.created_at < now() - older_than))
    for job in lost:
        start_job(job)
    return len(lost)


def _enqueue_sends(messages) -> None:
    queued = {m.backend_id for m in messages if m.state == "QUEUED"}
    for backend_id in queued:
        send_due(backend_id)
    for m in messages:
        if m.state == "WAITING" and m.next_attempt_at:
            delay = timedelta(0) if m.next_attempt_at <= now() else m.next_attempt_at - now()
            send_due.schedule((m.backend_id,), delay=delay.total_seconds())
