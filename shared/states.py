"""The message state machine (SPEC §3): the one table of states and transitions, and the one
function that moves messages between states."""

from dataclasses import dataclass
from datetime import datetime

from peewee import SQL, Value, fn

from shared.db import db, for_update, insert_rows
from shared.models import Attempt, Event, Message, User, now


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

# the reason a message gets when its backend holds it for a test
HELD_REASON = "Held until {name} passes a test: its settings were refused."

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
    if isinstance(message_ids, (list, tuple, set)):
        if not message_ids:
            return []
        message_ids = ids_in(message_ids)
    # a query of ids (e.g. the due retries) runs inside the UPDATE, once, not tested first
    with db.atomic():
        query = (
            Message.update(state=to_state, state_reason=reason, **fields)
            .where(Message.id.in_(message_ids), Message.state == from_state)
            .returning(Message.id)
            .tuples()
        )
        moved = [message_id for (message_id,) in query.execute()]
        _record_moves(moved, from_state, to_state, reason, actor)
    return moved


def ids_in(ids) -> SQL:
    """A list of ids for IN, written as literals: peewee takes longer to write a long list of
    parameters than the database takes to run the statement (int() keeps it safe)."""
    return SQL("(" + (",".join(str(int(i)) for i in ids) or "NULL") + ")")


def _record_moves(ids: list[int], from_state: str, to_state: str, reason: str, actor=None):
    """One Event per moved message, written by one INSERT … SELECT."""
    if not ids:
        return
    rows = Message.select(
        Value(now()),
        Value("state"),
        Message.id,
        Value(Event.actor.db_value(actor)),
        Value(from_state),
        Value(to_state),
        Value(reason),
    ).where(Message.id.in_(ids_in(ids)))
    columns = [
        Event.created_at,
        Event.action,
        Event.message,
        Event.actor,
        Event.from_state,
        Event.to_state,
        Event.detail,
    ]
    Event.insert_from(rows, columns).execute()


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


def record_creations(messages: list[Message], actor_of: list) -> None:
    """The first Event of each new message: the state it was created in."""
    for message in messages:
        if message.state not in INITIAL_STATES:
            raise IllegalTransition(f"a message cannot start in {message.state}")
    at = now()
    insert_rows(
        Event,
        [
            {
                "created_at": at,
                "action": "state",
                "message": m.id,
                "actor": actor,
                "from_state": None,
                "to_state": m.state,
                "detail": m.state_reason or "created",
            }
            for m, actor in zip(messages, actor_of, strict=True)
        ],
    )


def record_creation(message: Message, actor: User | None = None) -> None:
    record_creations([message], [actor])


def claim(backend_id: int, limit: int, owner: str, lease_until: datetime) -> list[int]:
    """Claim up to `limit` QUEUED messages of one backend, oldest first, for `owner`:
    QUEUED → SENDING with a lease, in one atomic UPDATE. Two claimers never get the same one:
    the UPDATE takes only rows still QUEUED. On PostgreSQL they do not even wait for each
    other: each skips the rows another is claiming and takes the next ones."""
    due = (
        Message.select(Message.id)
        .where(Message.state == "QUEUED", Message.backend == backend_id)
        .order_by(Message.id)
        .limit(limit)
    )
    with db.atomic():
        # the ids first: given the subquery, PostgreSQL may run it again for each row it
        # updates, skip the rows just claimed as locked, and so claim past the limit
        ids = [row.id for row in for_update(due, skip_locked=True)]
        return move(
            ids,
            "QUEUED",
            "SENDING",
            "a worker is sending it",
            lease_owner=owner,
            lease_until=lease_until,
        )


@dataclass
class Settlement:
    """How one SENDING message ends its attempt: its next state, and the attempt to record
    (None when nothing was tried, e.g. an invalid recipient)."""

    message_id: int
    to_state: str
    reason: str
    attempt: dict | None = None
    next_attempt_at: datetime | None = None
    backend_id: int | None = None  # another backend to go through (a fallback)


def settle(settlements: list[Settlement], owner: str | None) -> list[int]:
    """Record a batch of finished attempts in one transaction: the Attempt rows, each message's
    move out of SENDING, and their Events. Only messages still SENDING under `owner`'s lease
    are touched (None: whatever the lease); returns their ids. Messages that end the same way
    (say, all SENT through one backend) are moved by a single UPDATE."""
    for s in settlements:
        check_transition("SENDING", s.to_state)
    if not settlements:
        return []
    with db.atomic():
        owned = Message.select(Message.id).where(
            Message.id.in_(ids_in(s.message_id for s in settlements)),
            Message.state == "SENDING",
        )
        if owner is not None:
            owned = owned.where(Message.lease_owner == owner)
        owned_ids = {message_id for (message_id,) in for_update(owned).tuples()}
        settled = [s for s in settlements if s.message_id in owned_ids]
        insert_rows(Attempt, [dict(s.attempt, message=s.message_id) for s in settled if s.attempt])
        groups: dict[tuple, list[int]] = {}
        for s in settled:
            key = (s.to_state, s.reason, bool(s.attempt), s.next_attempt_at, s.backend_id)
            groups.setdefault(key, []).append(s.message_id)
        for (to_state, reason, tried, next_attempt_at, backend_id), ids in groups.items():
            fields = dict(
                state=to_state,
                state_reason=reason,
                next_attempt_at=next_attempt_at,
                lease_owner=None,
                lease_until=None,
            )
            if backend_id:
                fields["backend"] = backend_id
            if tried:
                fields["attempts"] = Message.attempts + 1
            if to_state == "SENT":
                fields["sent_at"] = _last_attempt_finished_at()
            Message.update(**fields).where(Message.id.in_(ids_in(ids))).execute()
            _record_moves(ids, "SENDING", to_state, reason)
        _resolve_originals([s.message_id for s in settled if s.to_state == "SENT"])
    return [s.message_id for s in settled]


def _last_attempt_finished_at():
    """For an UPDATE of messages: the end of each one's latest attempt, i.e. when it was sent."""
    latest = Attempt.alias()
    return latest.select(fn.MAX(latest.finished_at)).where(latest.message == Message.id)


def _resolve_originals(sent_ids: list[int]) -> None:
    """A resend that got through resolves the failed messages it was made for."""
    if not sent_ids:
        return
    resends = Message.select(Message.id, Message.resend_of).where(
        Message.id.in_(ids_in(sent_ids)), Message.resend_of.is_null(False)
    )
    for resend_id, original_id in resends.tuples():
        # walk up the chain: a resend of a failed resend resolves both
        while original_id is not None:
            original = Message.get_or_none(Message.id == original_id)
            if original is None or original.resolved_by_id is not None:
                break
            if original.state in ("FAILED", "NOT_SENT"):
                Message.update(resolved_by=resend_id).where(Message.id == original.id).execute()
            original_id = original.resend_of_id
