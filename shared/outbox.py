"""Putting messages into the outbox: the one way a message comes to exist."""

from datetime import datetime

from shared.db import db, insert_rows_returning
from shared.html_text import html_text
from shared.models import CHANNELS, Backend, Message, new_uid, now
from shared.recipients import recipient_problem
from shared.states import HELD_REASON, record_creations

# the most a message's fields may hold, one rule for the API, the console and the commands:
# 998 characters is the longest line an email header may have (RFC 5322)
MAX_LENGTHS = {"recipient": 2000, "subject": 998, "kind": 100}
MAX_BODY_BYTES = 1024 * 1024  # of UTF-8, for body_text and body_html


def length_problem(name: str, value: str | None) -> str | None:
    """What is wrong with the length of field `name` of a new message, or None."""
    if not value:
        return None
    if name in MAX_LENGTHS and len(value) > MAX_LENGTHS[name]:
        return f"must be at most {MAX_LENGTHS[name]:,} characters long"
    # a character is at most 4 bytes: only long texts need encoding to be measured
    long_body = name in ("body_text", "body_html") and len(value) > MAX_BODY_BYTES // 4
    if long_body and len(value.encode("utf-8", "surrogatepass")) > MAX_BODY_BYTES:
        return f"must be at most {MAX_BODY_BYTES:,} bytes of UTF-8"
    return None


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
    """Store one new message (see create_messages)."""
    return create_messages(
        [
            dict(
                channel=channel,
                recipient=recipient,
                subject=subject,
                body_text=body_text,
                body_html=body_html,
                kind=kind,
                sender=sender,
                client=client,
                group=group,
                user=user,
                send_at=send_at,
                metadata=metadata,
                backend=backend,
                resend_of=resend_of,
            )
        ]
    )[0]


def create_messages(specs: list[dict], api_token=None, idempotency_keys=None) -> list[Message]:
    """Store new messages, each QUEUED, WAITING until its `send_at`, held when its backend
    needs a test, or NOT_SENT when its recipient is unusable, with its first Event: in one
    transaction and a few batched statements. The caller wakes the worker for QUEUED ones.
    Raises SubmissionError, storing nothing, for an unknown channel or one without a backend."""
    backends: dict[str, Backend | None] = {}
    at = now()
    rows = []
    for index, spec in enumerate(specs):
        channel = spec["channel"]
        if channel not in CHANNELS:
            raise SubmissionError("channel", f"must be one of {', '.join(CHANNELS)}")
        backend = spec.get("backend")
        if backend is None:
            if channel not in backends:
                backends[channel] = default_backend(channel)
            backend = backends[channel]
        if backend is None:
            raise SubmissionError(
                "channel",
                f"no {channel} backend is configured; an admin adds one with `commlog backend add`",
            )
        for name in ("recipient", "subject", "body_text", "body_html", "kind"):
            too_long = length_problem(name, spec.get(name))
            if too_long:
                raise SubmissionError(name, too_long)
        recipient = (spec.get("recipient") or "").strip()
        problem = recipient_problem(channel, recipient)
        send_at = spec.get("send_at")
        if problem:
            state, reason = "NOT_SENT", problem
        elif backend.health == "TEST_REQUIRED":
            state, reason = "BACKEND_TEST_REQUIRED", HELD_REASON.format(name=backend.name)
        elif send_at and send_at > at:
            state, reason = "WAITING", "scheduled"
        else:
            state, reason = "QUEUED", ""
        rows.append(
            dict(
                uid=new_uid(),
                channel=channel,
                recipient=recipient,
                subject=spec.get("subject") or "",
                body_text=spec.get("body_text") or "",
                body_html=spec.get("body_html") or None,
                body_html_text=html_text(spec.get("body_html")),
                kind=spec.get("kind") or "manual",
                sender=spec.get("sender"),
                client=spec.get("client"),
                group=spec.get("group"),
                user=spec.get("user"),
                backend=backend,
                state=state,
                state_reason=reason,
                created_at=at,
                queued_at=at if state == "QUEUED" else None,
                next_attempt_at=send_at if state == "WAITING" else None,
                metadata=spec.get("metadata") or {},
                resend_of=spec.get("resend_of"),
                api_token=api_token,
                idempotency_key=idempotency_keys[index] if idempotency_keys else None,
            )
        )
    with db.atomic():
        ids = dict((uid, id) for id, uid in insert_rows_returning(Message, rows, ["id", "uid"]))
        messages = [_stored(row, ids[row["uid"]]) for row in rows]
        record_creations(messages, actor_of=[row["sender"] for row in rows])
    return messages


def _stored(row: dict, id: int) -> Message:
    """The Message as stored from `row`, without reading it back (which would cost more than
    the insert)."""
    for field, default in Message._meta.defaults.items():
        if field.name not in row:
            row[field.name] = default() if callable(default) else default
    message = Message(__no_default__=True, id=id, **row)
    message._dirty.clear()
    return message
