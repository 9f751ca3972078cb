""" "Why wasn't this delivered?": a diagnosis in plain words from a message's state, its tries
and its backend's health, with the next step for the person reading it."""

import re
from dataclasses import dataclass

from shared.models import Attempt, Message
from shared.states import STATES

ENHANCED_CODE_ANYWHERE = re.compile(r"\b([245]\.\d{1,3}\.\d{1,3})\b")

# what the receiving side's words mean, for the commonest refusals (enhanced status codes)
REFUSALS = [
    (
        "5.1.",
        "The address does not exist: the receiving mail server bounced it.",
        "Check the address with the client, then correct it and resend it from the message's page.",
    ),
    (
        "5.2.2",
        "The recipient's mailbox is full.",
        "Ask the recipient to make room (or use another address), then resend.",
    ),
    (
        "5.2.",
        "The recipient's mailbox cannot take mail.",
        "Check the address with the client, or reach them another way.",
    ),
    (
        "5.3.4",
        "The message is too big for the recipient's mail server.",
        "Send a shorter message or a link instead of attachments.",
    ),
    (
        "5.7.",
        "The receiving mail server's security or spam policy refused it.",
        "Check the content for anything that looks like spam; if it keeps happening, ask IT.",
    ),
]


@dataclass(frozen=True)
class Diagnosis:
    headline: str
    explanation: str
    next_step: str
    tone: str  # "ok", "waiting", "held" or "bad": how the page colours it


def diagnose(message: Message) -> Diagnosis:
    state = STATES[message.state]
    last = (
        Attempt.select()
        .where(Attempt.message == message.id)
        .order_by(Attempt.number.desc())
        .first()
    )
    backend = message.backend if message.backend_id else None
    reason = message.state_reason or ""
    if message.state == "DELIVERED":
        return Diagnosis("Delivered.", reason or state.explanation, state.what_to_do, "ok")
    if message.state == "SENT":
        when = f" at {message.sent_at:%Y-%m-%d %H:%M} UTC" if message.sent_at else ""
        extra = (
            " Email cannot confirm that it was read or not filtered as spam."
            if message.channel == "email"
            else ""
        )
        return Diagnosis(
            f"Sent{when}.",
            f"{backend.name if backend else 'The gateway'} accepted it.{extra}",
            "If the recipient says it never arrived, ask them to check their spam "
            "folder, then resend it.",
            "ok",
        )
    if message.state in ("FAILED", "NOT_SENT") and message.resolved_by_id:
        fix = message.resolved_by
        return Diagnosis(
            "Failed, resolved by a resend.",
            f"The resend to {fix.recipient} got through.",
            "Nothing: the resend reached the recipient.",
            "ok",
        )
    if message.state == "NOT_SENT":
        return Diagnosis(
            "Not sent: the recipient is unusable.",
            reason or state.explanation,
            "Correct the recipient on the message's page and resend.",
            "bad",
        )
    if message.state == "FAILED":
        return _failed(message, last, reason)
    if message.state == "BACKEND_TEST_REQUIRED":
        since = f" since {backend.health_since:%Y-%m-%d %H:%M} UTC" if backend else ""
        return Diagnosis(
            f"Held: {backend.name if backend else 'its backend'} needs a test{since}.",
            "The gateway refused commlog's own settings (for example its password), "
            "so its messages wait without using up retries.",
            'An admin fixes the backend and presses "Test now"; held messages '
            "then go out by themselves.",
            "held",
        )
    if message.state == "WAITING":
        return Diagnosis(
            "Waiting for its next try." if message.attempts else "Scheduled.",
            reason or state.explanation,
            "Nothing: it is retried by itself. Cancel it if it should not go out.",
            "waiting",
        )
    if message.state == "CANCELLED":
        return Diagnosis("Cancelled.", reason or state.explanation, state.what_to_do, "bad")
    failing = backend is not None and backend.health == "FAILING"
    explanation = state.explanation + (
        f" Its backend, {backend.name}, is failing: it may take longer." if failing else ""
    )
    return Diagnosis("On its way.", explanation, state.what_to_do, "waiting")


def _failed(message: Message, last: Attempt | None, reason: str) -> Diagnosis:
    if last and last.outcome == "permanent_error" and last.smtp_code:
        match = ENHANCED_CODE_ANYWHERE.search(last.response or "")
        enhanced = match.group(1) if match else ""
        for prefix, headline, step in REFUSALS:
            if enhanced.startswith(prefix) if prefix.endswith(".") else enhanced == prefix:
                return Diagnosis(f"Failed: {headline}", last.response, step, "bad")
    if reason.startswith("Gave up after"):
        return Diagnosis(
            f"Failed: every try failed ({message.attempts} in all).",
            reason,
            "If the recipient's server was busy (a 4xx answer), resend later; if the "
            "backend itself failed, ask an admin to check it, then resend.",
            "bad",
        )
    if message.attempts and (not last or last.outcome == "sent"):
        return Diagnosis(
            "Failed after it was sent: the provider reported it undeliverable.",
            reason,
            "Check the number or address with the client, then resend.",
            "bad",
        )
    return Diagnosis(
        "Failed: the provider refused it.",
        reason or STATES["FAILED"].explanation,
        "Read the reason; fix the address or the content if needed, then resend.",
        "bad",
    )
