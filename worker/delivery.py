"""Delivering messages: claim a batch, send it over one kept-open connection, settle the outcomes
in one batched write. The database is the truth; the queue only says "look now"."""

import threading
import traceback
from datetime import datetime, timedelta
from itertools import groupby
from typing import NamedTuple

from peewee import JOIN, fn

from shared.channels import (
    CONFIG,
    INVALID_RECIPIENT,
    PERMANENT,
    SENT,
    TRANSIENT,
    DeliveryResult,
    open_sender,
)
from shared.config import load_config
from shared.health import hold_for_backend_test, mark_failing, mark_ok
from shared.models import Attempt, Backend, Message, User, now
from shared.recipients import recipient_problem
from shared.retry import next_retry_at, policy_for
from shared.states import HELD_REASON, Settlement, claim, ids_in, move, settle
from worker.identity import worker_id
from worker.journal import Journal, journal_folder

BATCH_SIZE = 100
LEASE = timedelta(minutes=5)  # renewed while a slow batch is still being sent

_thread = threading.local()  # per worker thread: the open senders and the journal


class Person(NamedTuple):
    name: str
    email: str


class Outgoing(NamedTuple):
    """A claimed message as the senders and the settlement read it: plain values, as building
    a model for each message costs more than sending it."""

    id: int
    uid: str
    channel: str
    recipient: str
    subject: str
    body_text: str
    body_html: str | None
    kind: str
    metadata: dict
    created_at: datetime
    attempts: int
    sender: Person | None


def load_outgoing(message_ids: list[int]) -> list[Outgoing]:
    """The messages, oldest first, in one query."""
    query = (
        Message.select(
            Message.id,
            Message.uid,
            Message.channel,
            Message.recipient,
            Message.subject,
            Message.body_text,
            Message.body_html,
            Message.kind,
            Message.metadata,
            Message.created_at,
            Message.attempts,
            Message.sender,
            User.name,
            User.email,
        )
        .join(User, JOIN.LEFT_OUTER, on=(Message.sender == User.id))
        .where(Message.id.in_(ids_in(message_ids)))
        .order_by(Message.id)
        .tuples()
    )
    return [
        Outgoing(*row[:11], Person(row[12], row[13]) if row[11] is not None else None)
        for row in query
    ]


def claim_due(backend_id: int, owner: str) -> list[int]:
    """Release the backend's due retries, then claim a batch of its QUEUED messages."""
    release_due(backend_id)
    return claim(backend_id, BATCH_SIZE, owner, now() + LEASE)


def send_now(messages: list[Message]) -> None:
    """Send these QUEUED messages in this process, now, without the queue (the watchdog's
    alerts, when no worker runs)."""
    owner = worker_id()
    for backend_id, batch in groupby(
        sorted(messages, key=lambda m: m.backend_id), key=lambda m: m.backend_id
    ):
        claimed = move(
            [m.id for m in batch],
            "QUEUED",
            "SENDING",
            "sent directly",
            lease_owner=owner,
            lease_until=now() + LEASE,
        )
        if claimed:
            deliver(backend_id, claimed, owner)


def release_due(backend_id: int) -> list[int]:
    """WAITING messages whose time has come go back to QUEUED."""
    due = Message.select(Message.id).where(
        Message.state == "WAITING", Message.backend == backend_id, Message.next_attempt_at <= now()
    )
    # read first: most batches find none, and a write would wait for the database's write lock
    due_ids = [message_id for (message_id,) in due.tuples()]
    return move(due_ids, "WAITING", "QUEUED", "its time has come", queued_at=now())


def next_due_at(backend_id: int):
    """When the backend's next WAITING message is due, or None."""
    return (
        Message.select(fn.MIN(Message.next_attempt_at))
        .where(Message.state == "WAITING", Message.backend == backend_id)
        .scalar()
    )


def deliver(backend_id: int, message_ids: list[int], owner: str) -> list[Message]:
    """Send messages claimed by `owner` (all SENDING, all for this backend). Returns the
    messages the worker must be woken for: alerts, and messages moved to a fallback."""
    backend = Backend.get_by_id(backend_id)
    messages = load_outgoing(message_ids)
    if backend.health == "TEST_REQUIRED":
        settle([_held(m, backend) for m in messages], owner)
        return []
    fallback = _healthy_fallback(backend)
    if backend.health == "FAILING" and fallback:
        settle([_to_fallback(m, backend, fallback) for m in messages], owner)
        return _queued_for(fallback, messages)
    journal = thread_journal(owner)
    policy = policy_for(backend.channel)
    settlements: list[Settlement] = []
    to_wake: list[Message] = []
    try:
        sender = _sender(backend)
    except Exception as exc:
        sender = None
        broken = DeliveryResult(
            CONFIG,
            f"The backend's settings are unusable: {exc}",
            type(exc).__name__,
            traceback=traceback.format_exc(),
        )
    earlier_tries = _BatchTries([m.id for m in messages])
    lease_renewal = now() + LEASE / 2
    for index, message in enumerate(messages):
        problem = recipient_problem(message.channel, message.recipient)
        if problem:
            settlement = Settlement(message.id, "NOT_SENT", problem)
        else:
            if now() > lease_renewal:
                lease_renewal = _renew_lease([m.id for m in messages[index:]], owner)
            journal.started(message.id)
            started = now()
            result = sender.send(message) if sender else broken
            settlement = _settlement(
                message, backend, policy, result, started, owner, earlier_tries
            )
        journal.finished(settlement)
        settlements.append(settlement)
        rest = messages[index + 1 :]
        if settlement.to_state == "BACKEND_TEST_REQUIRED":
            # the backend refused its own settings: hold the rest without trying them
            settlements += [_held(m, backend) for m in rest]
            settle(settlements, owner)
            journal.clear()
            return hold_for_backend_test(backend, result.response).to_wake
        if settlement.attempt and _backend_fault(backend, result):
            # the gateway itself is down: don't try the rest of the batch against it
            to_wake += mark_failing(backend, result.response).to_wake
            if fallback:
                settlement.to_state, settlement.backend_id = "QUEUED", fallback.id
                settlement.reason = f"{backend.name} is failing; sent through {fallback.name}"
                settlement.next_attempt_at = None
                settlements += [_to_fallback(m, backend, fallback) for m in rest]
                moved = [message, *rest]
            else:
                later = settlement.next_attempt_at or now() + timedelta(
                    seconds=policy.backoff_delay
                )
                settlements += [_not_tried(m, backend, later) for m in rest]
                moved = []
            settle(settlements, owner)
            journal.clear()
            return to_wake + _queued_for(fallback, moved)
    settle(settlements, owner)
    journal.clear()
    if backend.health in ("FAILING", "UNTESTED") and any(s.to_state == "SENT" for s in settlements):
        to_wake += mark_ok(backend).to_wake
    return to_wake


def _backend_fault(backend: Backend, result: DeliveryResult) -> bool:
    """Whether a failed try says the gateway itself is down (not just this one message):
    no answer at all, SMTP 421, or an SMS provider's server error. A webhook receiver's
    trouble is its own, never the backend's."""
    if result.outcome != TRANSIENT or backend.channel == "webhook":
        return False
    no_answer = result.smtp_code is None and result.http_status is None
    return no_answer or result.smtp_code == 421 or (result.http_status or 0) >= 500


def _healthy_fallback(backend: Backend) -> Backend | None:
    fallback = backend.fallback
    if fallback and fallback.channel == backend.channel and fallback.health in ("OK", "UNTESTED"):
        return fallback
    return None


def _to_fallback(message, backend, fallback) -> Settlement:
    reason = f"{backend.name} is failing; sent through {fallback.name}"
    return Settlement(message.id, "QUEUED", reason, backend_id=fallback.id)


def _not_tried(message, backend, retry_at) -> Settlement:
    reason = f"Not tried: {backend.name} is failing. Next try at {retry_at:%H:%M:%S} UTC."
    return Settlement(message.id, "WAITING", reason, next_attempt_at=retry_at)


def _queued_for(fallback, messages) -> list[Message]:
    if not fallback or not messages:
        return []
    return list(
        Message.select().where(Message.id.in_([m.id for m in messages]), Message.state == "QUEUED")
    )


def _settlement(
    message, backend, policy, result: DeliveryResult, started, owner, earlier_tries=None
) -> Settlement:
    """What one try's result means for the message (SPEC §5). `earlier_tries(message_id)` counts
    its earlier tries (default: one query for this message)."""
    finished = now()
    number = message.attempts + 1
    attempt = {
        "number": number,
        "started_at": started,
        "finished_at": finished,
        "outcome": result.outcome,
        "error_type": result.error_type,
        "smtp_code": result.smtp_code,
        "http_status": result.http_status,
        "response": result.response,
        "traceback": result.traceback,
        "worker": owner,
        "provider_id": result.provider_id,
    }
    if result.outcome == SENT:
        return Settlement(
            message.id,
            "SENT",
            f"Accepted by {backend.name}.",  # its exact words are on the attempt
            attempt,
        )
    if result.outcome == CONFIG:
        return Settlement(
            message.id,
            "BACKEND_TEST_REQUIRED",
            f"Held: {backend.name} refused its own settings ({result.response}). "
            "An admin must fix and test the backend; no retries are used up.",
            attempt,
        )
    if result.outcome == INVALID_RECIPIENT:
        return Settlement(
            message.id, "FAILED", f"The recipient is not usable: {result.response}", attempt
        )
    if result.outcome == PERMANENT:
        return Settlement(message.id, "FAILED", f"Refused for good: {result.response}", attempt)
    tries = (earlier_tries or _retryable_tries)(message.id) + 1
    retry_at = next_retry_at(policy, tries, finished)
    if retry_at is None:
        return Settlement(
            message.id,
            "FAILED",
            f"Gave up after {tries} tries. Last error: {result.response}",
            attempt,
        )
    of = "∞" if policy.max_retries == -1 else policy.max_retries
    return Settlement(
        message.id,
        "WAITING",
        f"Try {tries} failed ({result.response}); retry {tries} of {of} at {retry_at:%H:%M:%S} UTC",
        attempt,
        next_attempt_at=retry_at,
    )


RETRYABLE_OUTCOMES = (TRANSIENT, "unknown")  # the tries that count against the retry policy


def _retryable_tries(message_id: int) -> int:
    """Earlier tries that count against the retry policy (a held try does not)."""
    return _BatchTries([message_id])(message_id)


class _BatchTries:
    """_retryable_tries for a batch: one query, on the first failure that needs it."""

    def __init__(self, message_ids: list[int]):
        self.message_ids = message_ids
        self.counts: dict[int, int] | None = None

    def __call__(self, message_id: int) -> int:
        if self.counts is None:
            query = (
                Attempt.select(Attempt.message, fn.COUNT(Attempt.id))
                .where(
                    Attempt.message.in_(ids_in(self.message_ids)),
                    Attempt.outcome.in_(RETRYABLE_OUTCOMES),
                )
                .group_by(Attempt.message)
                .tuples()
            )
            self.counts = dict(query)
        return self.counts.get(message_id, 0)


def _held(message, backend) -> Settlement:
    return Settlement(message.id, "BACKEND_TEST_REQUIRED", HELD_REASON.format(name=backend.name))


def _renew_lease(message_ids: list[int], owner: str):
    Message.update(lease_until=now() + LEASE).where(
        Message.id.in_(message_ids), Message.state == "SENDING", Message.lease_owner == owner
    ).execute()
    return now() + LEASE / 2


def thread_journal(owner: str) -> Journal:
    """This worker thread's send journal."""
    journal = getattr(_thread, "journal", None)
    if journal is None or journal.owner != owner:
        journal = _thread.journal = Journal(journal_folder(load_config().home), owner)
    return journal


def _sender(backend: Backend):
    """This thread's open sender for the backend, kept across batches (and reopened when the
    backend's settings change)."""
    senders = getattr(_thread, "senders", None)
    if senders is None:
        senders = _thread.senders = {}
    url, sender = senders.get(backend.id, (None, None))
    if sender is None or url != backend.url:
        if sender is not None:
            sender.close()
        sender = open_sender(backend)
        senders[backend.id] = (backend.url, sender)
    return sender
