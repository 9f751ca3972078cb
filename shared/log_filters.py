"""The communications log's filters (SPEC §4, §10): read from a URL's query, checked, applied
to a query; one definition for the log page, the client/group/user pages and the export."""

from dataclasses import dataclass, field, fields
from datetime import date, datetime, time, timedelta

from peewee import JOIN

from shared.models import CHANNELS, Backend, Message, User
from shared.search import MIN_LENGTH, search
from shared.states import STATES

FAILURES = ("FAILED", "NOT_SENT")
DATE_FORMAT = "YYYY-MM-DD"


@dataclass
class LogFilter:
    states: list[str] = field(default_factory=list)
    channel: str | None = None
    sender: str | None = None  # "system", or a user's id
    q: str = ""
    created_from: date | None = None
    created_to: date | None = None
    sent_from: date | None = None
    sent_to: date | None = None
    client: int | None = None
    group: int | None = None
    user: int | None = None
    kind: str | None = None
    backend: int | None = None
    resolved: bool = False  # also show failures that a resend has resolved
    errors: list[str] = field(default_factory=list)

    @classmethod
    def from_args(cls, args) -> "LogFilter":
        """Read the filters from request args (a MultiDict). Anything unusable is left out and
        explained in `errors`, in plain words; it never raises."""
        f = cls()
        for state in args.getlist("state"):
            if state in STATES:
                if state not in f.states:
                    f.states.append(state)
            elif state:
                f.errors.append(f"There is no state called “{state[:40]}”.")
        channel = args.get("channel", "")
        if channel in CHANNELS:
            f.channel = channel
        elif channel:
            f.errors.append(f"There is no channel called “{channel[:40]}”.")
        sender = args.get("sender", "").strip().lower()
        if sender == "system" or sender.isdigit():
            f.sender = sender
        elif sender:
            f.errors.append("The sender must be a staff member or System.")
        f.q = " ".join(args.get("q", "").split())[:200]
        if f.q and len(f.q) < MIN_LENGTH:
            f.errors.append(f"Type at least {MIN_LENGTH} characters to search the text.")
        for name in ("created_from", "created_to", "sent_from", "sent_to"):
            setattr(f, name, _date(args.get(name, ""), name, f.errors))
        for name in ("client", "group", "user", "backend"):
            value = args.get(name, "").strip()
            if value.isdigit() and len(value) < 12:
                setattr(f, name, int(value))
            elif value:
                f.errors.append(f"The {name} must be chosen from the list (got “{value[:40]}”).")
        f.kind = args.get("kind", "").strip()[:100] or None
        f.resolved = args.get("resolved") in ("1", "on", "true")
        for start, end in (("created_from", "created_to"), ("sent_from", "sent_to")):
            if getattr(f, start) and getattr(f, end) and getattr(f, start) > getattr(f, end):
                f.errors.append(f"The {start.split('_')[0]} date range ends before it starts.")
        return f

    def to_args(self) -> list[tuple[str, str]]:
        """The filters as URL query pairs (state repeated), for links and bookmarks."""
        pairs = [("state", s) for s in self.states]
        for f in fields(self):
            if f.name in ("states", "errors"):
                continue
            value = getattr(self, f.name)
            if value in (None, "", False):
                continue
            pairs.append((f.name, "1" if value is True else str(value)))
        return pairs

    @property
    def active(self) -> bool:
        return bool(self.to_args())

    def apply(self, query):
        """Narrow a Message query to these filters."""
        if self.states:
            query = query.where(self._state_condition())
        if self.channel:
            query = query.where(Message.channel == self.channel)
        if self.sender == "system":
            query = query.where(Message.sender.is_null())
        elif self.sender:
            query = query.where(Message.sender == int(self.sender))
        for name in ("client", "group", "user", "backend"):
            value = getattr(self, name)
            if value is not None:
                query = query.where(getattr(Message, name) == value)
        if self.kind:
            query = query.where(Message.kind == self.kind)
        if self.created_from:
            query = query.where(Message.created_at >= _start(self.created_from))
        if self.created_to:
            query = query.where(Message.created_at < _start(self.created_to + timedelta(days=1)))
        if self.sent_from:
            query = query.where(Message.sent_at >= _start(self.sent_from))
        if self.sent_to:
            query = query.where(Message.sent_at < _start(self.sent_to + timedelta(days=1)))
        if len(self.q) >= MIN_LENGTH:
            query = search(query, self.q)
        return query

    def _state_condition(self):
        """The chosen states; failures resolved by a resend are left out unless asked for."""
        others = [s for s in self.states if s not in FAILURES or self.resolved]
        failures = [s for s in self.states if s in FAILURES and not self.resolved]
        condition = None
        if others:
            condition = Message.state.in_(others)
        if failures:
            unresolved = Message.state.in_(failures) & Message.resolved_by.is_null()
            condition = unresolved if condition is None else (condition | unresolved)
        return condition


def person_condition(kind: str, person_id: int):
    """Whose messages a client, group or staff page shows (Mambu's meaning of each): a client's
    and a group's are those about them; a staff member's are those they sent by hand plus the
    automated ones sent to them."""
    if kind == "client":
        return Message.client == person_id
    if kind == "group":
        return Message.group == person_id
    if kind == "user":
        return (Message.sender == person_id) | (
            (Message.user == person_id) & Message.sender.is_null()
        )
    raise ValueError(kind)


def log_query(log_filter: LogFilter):
    """Messages with their sender and backend, newest first, filtered."""
    query = (
        Message.select(Message, User, Backend)
        .join(User, JOIN.LEFT_OUTER, on=(Message.sender == User.id))
        .switch(Message)
        .join(Backend, JOIN.LEFT_OUTER, on=(Message.backend == Backend.id))
        .order_by(Message.id.desc())
    )
    return log_filter.apply(query)


def _date(text: str, name: str, errors: list[str]) -> date | None:
    text = text.strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        label = name.replace("_", " ")
        errors.append(f"The {label} date “{text[:40]}” is not a date: use {DATE_FORMAT}.")
        return None


def _start(day: date) -> datetime:
    return datetime.combine(day, time.min)
