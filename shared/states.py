"""The message state machine (SPEC §3): the one table of states and transitions, and the one
function that moves messages between states."""

from dataclasses import dataclass

from shared.db import db
from shared.models import Event, Message, User, now


@dataclass(frozen=True)
class State:
    name: str
    label: str
    explanation: str
    what_to_do: str
    final: bool


STATES = {
    s.name: s
    for s in (
        State(
            "WAITING",
            "Waiting",
            "The message is waiting for its time: it is scheduled, or waiting before the "
            "next try after a failed one.",
            "Nothing: it will be sent by itself. You can cancel it.",
            False,
        ),
        State(
            "QUEUED",
            "Queued",
            "The message has been handed to the worker and is about to be sent.",
            "Nothing: it goes out within seconds. You can cancel it.",
            False,
        ),
        State(
            "SENDING",
            "Sending",
            "A worker is handing the message to the gateway right now.",
            "Wait a few seconds.",
            False,
        ),
        State(
            "SENT",
            "Sent",
            "The gateway accepted the message. Email and webhooks cannot confirm it was read.",
            "Nothing. If the recipient says it never arrived, resend it.",
            True,
        ),
        State(
            "DELIVERED",
            "Delivered",
            "The provider confirmed that the message reached the recipient.",
            "Nothing.",
            True,
        ),
        State(
            "FAILED",
            "Failed",
            "The message was not sent: every retry failed, or the provider refused it for good.",
            "Read the reason, fix the address or content if needed, then resend.",
            True,
        ),
        State(
            "NOT_SENT",
            "Not sent",
            "The recipient's address or number is missing or invalid, so nothing was tried.",
            "Correct the recipient, then resend.",
            True,
        ),
        State(
            "BACKEND_TEST_REQUIRED",
            "Backend test required",
            "The gateway's settings are wrong (for example its password was refused), so the "
            "message is held. No retries are used up while it waits.",
            "An admin fixes and tests the gateway; held messages then go out by themselves.",
            False,
        ),
        State(
            "CANCELLED",
            "Cancelled",
            "A person stopped the message before it was sent.",
            "Resend it if it should go out after all.",
            True,
        ),
    )
}

# from state -> the states it may move to; nothing else is allowed
TRANSITIONS: dict[str, frozenset[str]] = {
    "WAITING": frozenset({"QUEUED", "CANCELLED", "BACKEND_TEST_REQUIRED"}),
    "QUEUED": frozenset({"SENDING", "WAITING", "CANCELLED", "BACKEND_TEST_REQUIRED"}),
    "SENDING": frozenset(
        {"SENT", "WAITING", "QUEUED", "FAILED", "NOT_SENT", "BACKEND_TEST_REQUIRED"}
    ),
    "SENT": frozenset({"DELIVERED", "FAILED"}),  # a delivery report may still say it bounced
    "DELIVERED": frozenset(),
    "FAILED": frozenset(),
    "NOT_SENT": frozenset(),
    "BACKEND_TEST_REQUIRED": frozenset({"QUEUED", "CANCELLED"}),
    "CANCELLED": frozenset(),
}

# the states a new message may start in
INITIAL_STATES = frozenset({"WAITING", "QUEUED", "NOT_SENT", "BACKEND_TEST_REQUIRED"})

UNFINISHED = frozenset({"WAITING", "QUEUED", "SENDING", "BACKEND_TEST_REQUIRED"})
RESENDABLE = frozenset({"SENT", "DELIVERED", "FAILED", "NOT_SENT", "CANCELLED"})
CANCELLABLE = frozenset({"WAITING", "QUEUED", "BACKEND_TEST_REQUIRED"})


class IllegalTransition(ValueError):
    """A move that the state table does not allow; nothing was changed."""


def check_transition(from_state: str, to_state: str) -> None:
    if to_state not in TRANSITIONS.get(from_state, ()):
        raise IllegalTransition(f"a message cannot go from {from_state} to {to_state}")


def move(
    message_ids: list[int],
    from_state: str,
    to_state: str,
    reason: str = "",
    actor: User | None = None,
    **fields,
) -> list[int]:
    """Move the messages that are still in `from_state` to `to_state`, atomically, with an Event
    each. Returns the ids that moved: a message already moved by someone else is left alone
    (`UPDATE … WHERE id IN (…) AND state = from_state`). Raises IllegalTransition, changing
    nothing, when the table does not allow the move."""
    check_transition(from_state, to_state)
    if not message_ids:
        return []
    with db.atomic():
        query = (
            Message.update(state=to_state, state_reason=reason, **fields)
            .where(Message.id.in_(message_ids), Message.state == from_state)
            .returning(Message.id)
        )
        moved = [row.id for row in query.execute()]
        if moved:
            at = now()
            Event.insert_many(
                [
                    {
                        "created_at": at,
                        "action": "state",
                        "message": message_id,
                        "actor": actor,
                        "from_state": from_state,
                        "to_state": to_state,
                        "detail": reason,
                    }
                    for message_id in moved
                ]
            ).execute()
    return moved


def move_one(
    message_id: int,
    from_state: str,
    to_state: str,
    reason: str = "",
    actor: User | None = None,
    **fields,
) -> bool:
    """move() for one message: True if it moved."""
    return bool(move([message_id], from_state, to_state, reason, actor, **fields))


def record_creation(message: Message, actor: User | None = None) -> None:
    """The first Event of a message: the state it was created in."""
    if message.state not in INITIAL_STATES:
        raise IllegalTransition(f"a message cannot start in {message.state}")
    Event.create(
        action="state",
        message=message,
        actor=actor,
        to_state=message.state,
        detail=message.state_reason or "created",
    )
