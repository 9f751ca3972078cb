"""The communications log's filters (SPEC §4, §10): read from a URL's query, checked, applied
to a query; one definition for the log page, the client/group/user pages and the export."""

from dataclasses import dataclass, field, fields
from datetime import date, datetime, time, timedelta
from functools import reduce
from operator import or_

from peewee import JOIN, fn

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
        # a NUL cannot be searched for (FTS5 refuses it): it separates words like a space
        f.q = " ".join(args.get("q", "").replace("\x00", " ").split())[:200]
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
            query = query.where(reduce(or_, self.state_conditions()))
        for condition in self.field_conditions():
            query = query.where(condition)
        if self.created_from:
            query = query.where(Message.created_at >= self.created_range[0])
        if self.created_to:
            query = query.where(Message.created_at < self.created_range[1])
        if self.sent_from:
            query = query.where(Message.sent_at >= self.sent_range[0])
        if self.sent_to:
            query = query.where(Message.sent_at < self.sent_range[1])
        if len(self.q) >= MIN_LENGTH:
            query = search(query, self.q)
        return query

    def state_conditions(self, state_column=Message.state) -> list:
        """One condition per chosen state (they never overlap); failures resolved by a resend
        are left out unless asked for. `state_column`: the state as the query should read it
        (the log page may keep it off its index)."""
        return [self.state_condition(state, state_column) for state in self.states]

    def state_condition(self, state: str, state_column=Message.state):
        condition = state_column == state
        if state in FAILURES and not self.resolved:
            condition &= Message.resolved_by.is_null()
        return condition

    def categories(self) -> dict:
        """The filters that each pick a broad category of messages, each with an (x, id) index:
        column name -> value (None: the system's messages, those with no sender)."""
        chosen = {"channel": self.channel, "kind": self.kind, "backend": self.backend}
        chosen = {name: value for name, value in chosen.items() if value not in (None, "")}
        if self.sender == "system":
            chosen["sender"] = None
        return chosen

    def field_conditions(self, off_index=()) -> list:
        """The filters that are one indexed column each: channel, sender, client, group, user,
        kind, backend. The categories named in `off_index` are read off their index (the log
        page picks which index leads)."""
        conditions = []
        for name, value in self.categories().items():
            column = getattr(Message, name)
            if name in off_index:
                column = unindexed(column)
            conditions.append(column.is_null() if value is None else column == value)
        if self.sender and self.sender != "system":
            conditions.append(Message.sender == int(self.sender))
        for name in ("client", "group", "user"):
            value = getattr(self, name)
            if value is not None:
                conditions.append(getattr(Message, name) == value)
        return conditions

    @property
    def created_range(self) -> tuple[datetime | None, datetime | None]:
        """[start, end) of the created dates, as datetimes (None when open)."""
        return _range(self.created_from, self.created_to)

    @property
    def sent_range(self) -> tuple[datetime | None, datetime | None]:
        return _range(self.sent_from, self.sent_to)


def person_branches(kind: str, person_id: int) -> list:
    """Whose messages a client, group or staff page shows (Mambu's meaning of each), as
    conditions that never overlap: a client's and a group's are those about them; a staff
    member's are those they sent by hand plus the automated ones sent to them."""
    if kind == "client":
        return [Message.client == person_id]
    if kind == "group":
        return [Message.group == person_id]
    if kind == "user":
        return [Message.sender == person_id, (Message.user == person_id) & Message.sender.is_null()]
    raise ValueError(kind)


def person_condition(kind: str, person_id: int):
    """The same as one condition."""
    return reduce(or_, person_branches(kind, person_id))


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


def _range(first: date | None, last: date | None) -> tuple[datetime | None, datetime | None]:
    return (
        _start(first) if first else None,
        _start(last + timedelta(days=1)) if last else None,
    )


def unindexed(column):
    """The column in an expression no index serves (the same value): to choose, for SQLite's
    planner, which index leads a query."""
    return fn.COALESCE(column, None)
