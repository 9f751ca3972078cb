"""Delivery status checks (as Knock does them): after an SMS is SENT through a provider that
can tell, ask it up to POLLS times over about half an hour whether the message was delivered."""

from shared.channels.sms import check_delivery, first_poll_after, supports_delivery_status
from shared.models import Attempt, Backend, Event, Message
from shared.states import move_one

POLLS = 10
BACKOFF = 1.5  # 15 s, 22 s, 34 s … : ten polls take about 28 minutes with the default start


def poll_delay(backend: Backend, poll: int) -> float:
    """Seconds to wait before poll number `poll` (1-based), counted from the previous one."""
    return first_poll_after(backend) * BACKOFF ** (poll - 1)


def needs_checks(message: Message) -> bool:
    return message.state == "SENT" and supports_delivery_status(message.backend)


def check(message_id: int, poll: int) -> bool:
    """Ask the provider once; record the answer; move to DELIVERED or FAILED when it knows.
    Returns True while the answer is still pending."""
    message = Message.get_or_none(Message.id == message_id)
    if message is None or message.state != "SENT":
        return False
    sent = (
        Attempt.select()
        .where(Attempt.message == message.id, Attempt.outcome == "sent")
        .order_by(Attempt.number.desc())
        .first()
    )
    if sent is None or not sent.provider_id:
        return False
    status = check_delivery(message.backend, sent.provider_id)
    Event.create(
        action="delivery_check", message=message, detail=f"check {poll} of {POLLS}: {status.reason}"
    )
    if status.state == "delivered":
        move_one(message.id, "SENT", "DELIVERED", status.reason)
        return False
    if status.state == "failed":
        move_one(message.id, "SENT", "FAILED", status.reason)
        return False
    return True
