"""Delivering messages: claim, validate, send through the channel, record the attempt."""

import traceback
from datetime import timedelta
from itertools import groupby

from peewee import JOIN

from shared.channels import CONFIG, SENT, DeliveryResult, open_sender
from shared.db import db
from shared.models import Attempt, Backend, Message, User, now
from shared.recipients import recipient_problem
from shared.states import move, move_one
from worker.identity import worker_id

LEASE = timedelta(minutes=5)  # a message SENDING longer than this is recovered by the sweep


def deliver(message_ids: list[int]) -> None:
    """Deliver these messages, those still QUEUED: each is claimed by exactly one worker."""
    owner = worker_id()
    claimed = move(
        message_ids,
        "QUEUED",
        "SENDING",
        "a worker is sending it",
        lease_owner=owner,
        lease_until=now() + LEASE,
    )
    if not claimed:
        return
    messages = (
        Message.select(Message, User)
        .join(User, JOIN.LEFT_OUTER, on=(Message.sender == User.id))
        .where(Message.id.in_(claimed))
        .order_by(Message.backend, Message.id)
    )
    for backend_id, batch in groupby(messages, key=lambda m: m.backend_id):
        _deliver_through(Backend.get_by_id(backend_id), list(batch), owner)


def _deliver_through(backend: Backend, messages: list[Message], owner: str) -> None:
    """Send a batch over one connection to one backend."""
    try:
        sender = open_sender(backend)
    except Exception as exc:
        result = DeliveryResult(
            CONFIG,
            f"The backend's settings are unusable: {exc}",
            type(exc).__name__,
            traceback=traceback.format_exc(),
        )
        for message in messages:
            _record(message, result, now(), owner)
        return
    try:
        for message in messages:
            problem = recipient_problem(message.channel, message.recipient)
            if problem:
                move_one(
                    message.id, "SENDING", "NOT_SENT", problem, lease_owner=None, lease_until=None
                )
                continue
            started = now()
            _record(message, sender.send(message), started, owner)
    finally:
        sender.close()


def _record(message: Message, result: DeliveryResult, started, owner: str) -> None:
    """Write the attempt and the message's new state together."""
    finished = now()
    number = message.attempts + 1
    with db.atomic():
        Attempt.create(
            message=message.id,
            number=number,
            started_at=started,
            finished_at=finished,
            outcome=result.outcome,
            error_type=result.error_type,
            smtp_code=result.smtp_code,
            http_status=result.http_status,
            response=result.response,
            traceback=result.traceback,
            worker=owner,
        )
        if result.outcome == SENT:
            move_one(
                message.id,
                "SENDING",
                "SENT",
                result.response,
                attempts=number,
                sent_at=finished,
                lease_owner=None,
                lease_until=None,
            )
        else:
            move_one(
                message.id,
                "SENDING",
                "FAILED",
                result.response,
                attempts=number,
                lease_owner=None,
                lease_until=None,
            )
