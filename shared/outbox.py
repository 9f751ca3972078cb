"""Putting messages into the outbox: the one way a message comes to exist."""

from datetime import datetime

from shared.db import db
from shared.models import CHANNELS, Backend, Message, now
from shared.recipients import recipient_problem
from shared.states import HELD_REASON, record_creation


class SubmissionError(ValueError):
    """The message cannot be accepted; `field` names what is wrong."""

    def __init__(self, field: str, problem: str):
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


def default_backend(channel: str) -> Backend | None:
    return (
        Backend.select()
        .where(Backend.channel == channel)
        .order_by(Backend.is_default.desc(), Backend.id)
        .first()
    )


def create_message(
    channel: str,
    recipient: str,
    subject: str = "",
    body_text: str = "",
    body_html: str | None = None,
    kind: str = "manual",
    sender=None,
    client=None,
    group=None,
    user=None,
    send_at: datetime | None = None,
    metadata: dict | None = None,
    backend: Backend | None = None,
    resend_of: Message | None = None,
) -> Message:
    """Store a new message (QUEUED, WAITING until `send_at`, or NOT_SENT when the recipient is
    unusable) with its first Event. The caller wakes the worker for QUEUED ones."""
    if channel not in CHANNELS:
        raise SubmissionError("channel", f"must be one of {', '.join(CHANNELS)}")
    backend = backend or default_backend(channel)
    if backend is None:
        raise SubmissionError(
            "channel",
            f"no {channel} backend is configured; an admin adds one with `commlog backend add`",
        )
    recipient = (recipient or "").strip()
    problem = recipient_problem(channel, recipient)
    at = now()
    if problem:
        state, reason = "NOT_SENT", problem
    elif backend.health == "TEST_REQUIRED":
        state, reason = "BACKEND_TEST_REQUIRED", HELD_REASON.format(name=backend.name)
    elif send_at and send_at > at:
        state, reason = "WAITING", "scheduled"
    else:
        state, reason = "QUEUED", ""
    with db.atomic():
        message = Message.create(
            channel=channel,
            recipient=recipient,
            subject=subject or "",
            body_text=body_text or "",
            body_html=body_html or None,
            kind=kind or "manual",
            sender=sender,
            client=client,
            group=group,
            user=user,
            backend=backend,
            state=state,
            state_reason=reason,
            created_at=at,
            queued_at=at if state == "QUEUED" else None,
            next_attempt_at=send_at if state == "WAITING" else None,
            metadata=metadata or {},
            resend_of=resend_of,
        )
        record_creation(message, actor=sender)
    return message
