"""What staff do to messages: resend and cancel. One function each, used by the console, the API
and the command line alike; each is recorded in the Event trail."""

from datetime import datetime

from peewee import JOIN

from shared.db import db
from shared.models import Backend, Event, Message
from shared.outbox import create_message
from shared.states import CANCELLABLE, RESENDABLE, move_one


class ActionError(ValueError):
    pass


def resend(
    original: Message, actor=None, recipient: str | None = None, backend: Backend | None = None
) -> Message:
    """A new message with the original's content, to the same or a corrected recipient. The
    original is never changed: the new one points to it with `resend_of`."""
    if original.state not in RESENDABLE:
        raise ActionError(f"a message that is {original.state.lower()} cannot be resent yet")
    recipient = original.recipient if recipient is None else recipient
    with db.atomic():
        copy = create_message(
            original.channel,
            recipient,
            original.subject,
            original.body_text,
            original.body_html,
            kind=original.kind,
            sender=actor,
            client=original.client_id,
            group=original.group_id,
            user=original.user_id,
            metadata=original.metadata,
            backend=backend or original.backend,
            resend_of=original,
        )
        corrected = f" to {recipient}" if recipient != original.recipient else ""
        Event.create(
            action="resend",
            message=original,
            actor=actor,
            detail=f"resent{corrected} as {copy.uid}",
        )
    return copy


def cancel(message: Message, actor=None) -> bool:
    """Stop a message that has not been sent yet; False if it was no longer cancellable."""
    if message.state not in CANCELLABLE:
        raise ActionError(f"a message that is {message.state.lower()} cannot be cancelled")
    name = actor.name if actor else "the system"
    return move_one(message.id, message.state, "CANCELLED", f"Cancelled by {name}", actor=actor)


def unresolved_failures(since: datetime | None = None, channel: str | None = None):
    """The failures that are still work to do: FAILED and NOT_SENT messages that no resend has
    resolved and that were not resent yet. A chain of resends shows once, by its newest
    failure, so nothing is resent twice."""
    resent = Message.alias()
    query = (
        Message.select()
        .join(resent, JOIN.LEFT_OUTER, on=(resent.resend_of == Message.id))
        .where(
            Message.state.in_(("FAILED", "NOT_SENT")),
            Message.resolved_by.is_null(),
            resent.id.is_null(),
        )
        .order_by(Message.id)
    )
    if since:
        query = query.where(Message.created_at >= since)
    if channel:
        query = query.where(Message.channel == channel)
    return query
