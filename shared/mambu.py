"""Mambu's communications API v2, translated to and from commlog's own terms (SPEC §6): the
message shape, and the search criteria as Peewee where-clauses.

Mambu's states and ours:

    ours                    Mambu's
    WAITING                 WAITING
    BACKEND_TEST_REQUIRED   WAITING        (held; failureReason and failureCause say why)
    QUEUED                  QUEUED
    SENDING                 SENDING_ASYNC
    SENT, DELIVERED         SENT
    FAILED, NOT_SENT,       FAILED         (failureReason and failureCause say which)
    CANCELLED

A search by a Mambu state finds what is reported as that state (FAILED finds FAILED, NOT_SENT
and CANCELLED messages); our own names that Mambu lacks (SENDING, DELIVERED, NOT_SENT,
BACKEND_TEST_REQUIRED, CANCELLED) find just that state. QUEUED_FOR_STREAM finds nothing.
Every message also carries `commlogState`, our own state, so nothing is lost in translation.

Searches use the indexed columns (state, channel, kind, sender, client, group, user,
created_at, sent_at, uid) and sort by an index: creation order is the id's (or created_at's,
when a criterion bounds creationDate), the other sort fields are (field, id). A page's ids are
found first, by an index-only query, and the rows read by id after. `destination` has no index
yet (its EQUALS is written for one on `recipient COLLATE NOCASE` / `lower(recipient)`), and
`failureCause` narrows the failure states by their reason text. Prefixes are LIKE 'x%' or a
comparison of the first characters, never LIKE '%x%'.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import reduce
from operator import and_, or_
from typing import Any

from peewee import OP, SQL, Expression, Field, fn

from shared.db import is_sqlite
from shared.models import Message, now

TYPES = {"email": "EMAIL", "sms": "SMS", "webhook": "WEB_HOOK"}
CHANNEL_OF_TYPE = {mambu: ours for ours, mambu in TYPES.items()}

MAMBU_STATES = {
    "WAITING": "WAITING",
    "BACKEND_TEST_REQUIRED": "WAITING",
    "QUEUED": "QUEUED",
    "SENDING": "SENDING_ASYNC",
    "SENT": "SENT",
    "DELIVERED": "SENT",
    "FAILED": "FAILED",
    "NOT_SENT": "FAILED",
    "CANCELLED": "FAILED",
}
# a state named in a search -> the states of ours it finds
SEARCH_STATES: dict[str, frozenset[str]] = {
    **{ours: frozenset({ours}) for ours in MAMBU_STATES},
    **{
        mambu: frozenset(o for o, m in MAMBU_STATES.items() if m == mambu)
        for mambu in set(MAMBU_STATES.values())
    },
    "QUEUED_FOR_STREAM": frozenset(),
}

# (state, channel) -> Mambu's failureReason; a message in no row has none
FAILURE_REASONS = {
    ("NOT_SENT", "email"): "MISSING_EMAIL_RECIPIENT_ADDRESS",
    ("NOT_SENT", "sms"): "MISSING_SMS_RECIPIENT",
    ("NOT_SENT", "webhook"): "UNDEFINED_DESTINATION",
    ("FAILED", "email"): "OTHER",
    ("FAILED", "sms"): "SMS_GATEWAY_ERROR",
    ("FAILED", "webhook"): "HTTP_ERROR_WHILE_SENDING",
    ("BACKEND_TEST_REQUIRED", "email"): "OTHER",
    ("BACKEND_TEST_REQUIRED", "sms"): "INVALID_SMS_GATEWAY_CREDENTIALS",
    ("BACKEND_TEST_REQUIRED", "webhook"): "OTHER",
    ("CANCELLED", "email"): "OTHER",
    ("CANCELLED", "sms"): "OTHER",
    ("CANCELLED", "webhook"): "OTHER",
}
FAILURE_REASON_VALUES = sorted(set(FAILURE_REASONS.values()))
# the states whose state_reason is a failure's cause (and WAITING after a failed attempt)
CAUSE_STATES = ("FAILED", "NOT_SENT", "CANCELLED", "BACKEND_TEST_REQUIRED")

MAX_CRITERIA = 50
MAX_VALUES = 1000  # in one IN
MAX_TEXT = 1000  # characters in one value
MAX_ID = 2**63 - 1
MAX_LAST_DAYS = 100_000

KEY, ID, ENUM, TEXT, DATE = "KEY", "ID", "ENUM", "TEXT", "DATE"
FIELDS = {
    "encodedKey": KEY,
    "creationDate": DATE,
    "sendDate": DATE,
    "senderKey": ID,
    "clientKey": ID,
    "groupKey": ID,
    "userKey": ID,
    "state": ENUM,
    "failureReason": ENUM,
    "failureCause": TEXT,
    "destination": TEXT,
    "type": ENUM,
    "event": TEXT,
}
ONE_VALUE = frozenset(
    {
        "EQUALS",
        "EQUALS_CASE_SENSITIVE",
        "MORE_THAN",
        "LESS_THAN",
        "ON",
        "AFTER",
        "BEFORE",
        "BEFORE_INCLUSIVE",
        "STARTS_WITH",
        "STARTS_WITH_CASE_SENSITIVE",
        "LAST_DAYS",
    }
)
NO_VALUE = frozenset({"TODAY", "THIS_WEEK", "THIS_MONTH", "THIS_YEAR", "EMPTY", "NOT_EMPTY"})
OPERATORS = sorted(ONE_VALUE | NO_VALUE | {"BETWEEN", "IN"})
_EXACT = {"EQUALS", "EQUALS_CASE_SENSITIVE", "IN", "EMPTY", "NOT_EMPTY"}
# which operators make sense for which kind of field (Mambu's table; MORE_THAN and LESS_THAN,
# numeric in Mambu, mean AFTER and BEFORE on dates here, as there are no numeric fields)
ALLOWED = {
    KEY: _EXACT,
    ID: _EXACT,
    ENUM: _EXACT,
    TEXT: _EXACT | {"STARTS_WITH", "STARTS_WITH_CASE_SENSITIVE"},
    DATE: {
        "BETWEEN",
        "ON",
        "AFTER",
        "BEFORE",
        "BEFORE_INCLUSIVE",
        "MORE_THAN",
        "LESS_THAN",
        "TODAY",
        "THIS_WEEK",
        "THIS_MONTH",
        "THIS_YEAR",
        "LAST_DAYS",
        "EMPTY",
        "NOT_EMPTY",
    },
}
SORT_FIELDS = {
    "creationDate": (),
    "sendDate": (Message.sent_at,),
    "encodedKey": (Message.uid,),
    "state": (Message.state,),
    "type": (Message.channel,),
    "event": (Message.kind,),
    "senderKey": (Message.sender,),
    "clientKey": (Message.client,),
    "groupKey": (Message.group,),
    "userKey": (Message.user,),
}
CRITERION_KEYS = {"field", "operator", "value", "secondValue", "values"}
NOTHING = SQL("1 = 0")


class SearchError(ValueError):
    """A search that cannot be run; `field` says where in the request, `problem` what."""

    def __init__(self, field: str, problem: str):
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


def mambu_time(value: datetime | None) -> str | None:
    """A stored (naive UTC) time as Mambu writes it: ISO-8601 to the second, with its offset."""
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


def failure_reason(message: Message) -> str | None:
    return FAILURE_REASONS.get((message.state, message.channel))


def failure_cause(message: Message) -> str | None:
    failing = message.state in CAUSE_STATES or (message.state == "WAITING" and message.attempts > 0)
    return (message.state_reason or None) if failing else None


def to_mambu(message: Message) -> dict:
    """A message in the shape of Mambu's CommunicationMessage (plus our own state)."""
    return {
        "encodedKey": message.uid,
        "state": MAMBU_STATES.get(message.state, message.state),
        "commlogState": message.state,
        "type": TYPES.get(message.channel, message.channel.upper()),
        "destination": message.recipient,
        "subject": message.subject,
        "body": message.body_text or message.body_html or "",
        "senderKey": _key(message.sender_id),
        "clientKey": _key(message.client_id),
        "groupKey": _key(message.group_id),
        "userKey": _key(message.user_id),
        "creationDate": mambu_time(message.created_at),
        "sendDate": mambu_time(message.sent_at),
        "numRetries": max(message.attempts - 1, 0),
        "failureReason": failure_reason(message),
        "failureCause": failure_cause(message),
        "event": message.kind,
    }


def _key(record_id: int | None) -> str | None:
    return None if record_id is None else str(record_id)


@dataclass(frozen=True)
class Search:
    """A parsed search: what to find and in which order."""

    where: Expression | None
    order_by: tuple

    def ids(self, offset: int = 0, limit: int | None = None):
        """The ids of one page, in order: an index-only query where the indexes allow."""
        ids = Message.select(Message.id).order_by(*self.order_by)
        if self.where is not None:
            ids = ids.where(self.where)
        return ids if limit is None else ids.limit(limit).offset(offset)

    def query(self, offset: int = 0, limit: int | None = None):
        """One page of the messages: their ids first (so that a sort handles ids, not whole
        rows with their bodies), then the rows read by id."""
        ids = self.ids(offset, limit)
        return Message.select().where(Message.id.in_(ids)).order_by(*self.order_by)

    def count(self) -> int:
        query = Message.select(Message.id)
        return (query if self.where is None else query.where(self.where)).count()


def parse_search(body: Any, at: datetime | None = None) -> Search:
    """Translate a search body (a list of criteria, or {"filterCriteria", "sortingCriteria"})
    into a Search; raises SearchError naming the part that is wrong. `at` is "now" (UTC)."""
    at = at or now()
    sorting = None
    prefix = ""
    if isinstance(body, dict):
        unknown = sorted(set(body) - {"filterCriteria", "sortingCriteria"})
        if unknown:
            raise SearchError(unknown[0], "unknown field; use filterCriteria and sortingCriteria")
        criteria = body.get("filterCriteria", [])
        sorting = body.get("sortingCriteria")
        prefix = "filterCriteria"
        if not isinstance(criteria, list):
            raise SearchError(prefix, "must be a list of criteria")
    elif isinstance(body, list):
        criteria = body
    else:
        raise SearchError("body", "must be a list of criteria or an object with filterCriteria")
    if len(criteria) > MAX_CRITERIA:
        raise SearchError(prefix or "body", f"at most {MAX_CRITERIA} criteria")
    conditions = [criterion_condition(c, f"{prefix}[{i}]", at) for i, c in enumerate(criteria)]
    where = reduce(and_, conditions) if conditions else None
    dated = any(c.get("field") == "creationDate" for c in criteria)
    return Search(where, sort_order(sorting, dated))


def sort_order(sorting: Any, dated: bool = False) -> tuple:
    """ORDER BY for sortingCriteria; by default creation order, oldest first (stable pages).
    Creation order is the id's, or created_at's (then the id's) when a criterion bounds
    creationDate: the same order, read from whichever index the search already uses."""
    creation = (Message.created_at,) if dated else ()
    if sorting is None:
        return tuple(c.asc() for c in (*creation, Message.id))
    if not isinstance(sorting, dict):
        raise SearchError("sortingCriteria", "must be an object with field and order")
    unknown = sorted(set(sorting) - {"field", "order"})
    if unknown:
        raise SearchError(f"sortingCriteria.{unknown[0]}", "unknown field")
    field = sorting.get("field")
    if not isinstance(field, str) or field not in SORT_FIELDS:
        raise SearchError(
            "sortingCriteria.field", f"must be one of {', '.join(SORT_FIELDS)}, not {field!r}"
        )
    order = sorting.get("order", "ASC")
    if not isinstance(order, str) or order.upper() not in ("ASC", "DESC"):
        raise SearchError("sortingCriteria.order", "must be ASC or DESC")
    columns = (*(creation if field == "creationDate" else SORT_FIELDS[field]), Message.id)
    # nulls (not sent yet, no client…) sort as the smallest values: SQLite's own order, which
    # its indexes give without a sort; PostgreSQL is told so
    explicit = not is_sqlite()
    if order.upper() == "DESC":
        return tuple(c.desc(nulls="LAST" if explicit and c.null else None) for c in columns)
    return tuple(c.asc(nulls="FIRST" if explicit and c.null else None) for c in columns)


def criterion_condition(criterion: Any, where: str, at: datetime) -> Expression:
    """One {"field", "operator", "value" | "secondValue" | "values"} as a where-clause."""
    if not isinstance(criterion, dict):
        raise SearchError(where, "must be an object with field, operator and value")
    unknown = sorted(set(criterion) - CRITERION_KEYS)
    if unknown:
        raise SearchError(f"{where}.{unknown[0]}", "unknown field")
    field, operator = criterion.get("field"), criterion.get("operator")
    if not isinstance(field, str) or field not in FIELDS:
        raise SearchError(f"{where}.field", f"must be one of {', '.join(FIELDS)}, not {field!r}")
    if not isinstance(operator, str) or operator not in OPERATORS:
        raise SearchError(
            f"{where}.operator", f"must be one of {', '.join(OPERATORS)}, not {operator!r}"
        )
    kind = FIELDS[field]
    if operator not in ALLOWED[kind]:
        raise SearchError(f"{where}.operator", f"{operator} cannot be used on {field}")
    value = _operands(criterion, operator, where)
    if kind == DATE:
        return _date_condition(field, operator, value, where, at)
    if operator == "EMPTY":
        return _empty(field)
    if operator == "NOT_EMPTY":
        return ~_empty(field)
    if operator == "IN":
        texts = [_text(v, f"{where}.values[{i}]") for i, v in enumerate(value)]
        return _one_of(field, texts, exact=False, where=f"{where}.values", many=True)
    text = _text(value, f"{where}.value")
    if operator in ("STARTS_WITH", "STARTS_WITH_CASE_SENSITIVE"):
        return _on_text(field, _starts_with(field, text, operator == "STARTS_WITH"))
    return _one_of(field, [text], exact=operator == "EQUALS_CASE_SENSITIVE", where=f"{where}.value")


def _operands(criterion: dict, operator: str, where: str):
    """The value(s) the operator takes; refuses missing ones and ones it does not take."""
    given = {k for k in ("value", "secondValue", "values") if criterion.get(k) is not None}
    if operator == "BETWEEN":
        needed = {"value", "secondValue"}
    elif operator == "IN":
        needed = {"values"}
    elif operator in ONE_VALUE:
        needed = {"value"}
    else:
        needed = set()
    missing, extra = sorted(needed - given), sorted(given - needed)
    if missing:
        raise SearchError(f"{where}.{missing[0]}", f"{operator} needs {missing[0]}")
    if extra:
        raise SearchError(f"{where}.{extra[0]}", f"{operator} takes no {extra[0]}")
    if operator == "IN":
        values = criterion["values"]
        if not isinstance(values, list) or not values:
            raise SearchError(f"{where}.values", "must be a non-empty list")
        if len(values) > MAX_VALUES:
            raise SearchError(f"{where}.values", f"at most {MAX_VALUES} values")
        return values
    if operator == "BETWEEN":
        return criterion["value"], criterion["secondValue"]
    return criterion.get("value")


def _text(value: Any, where: str) -> str:
    """A criterion's text value, refused if it is no string, too long or not storable text."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise SearchError(where, "must be a string")
    value = str(value)
    if len(value) > MAX_TEXT:
        raise SearchError(where, f"must be at most {MAX_TEXT} characters long")
    problem = text_problem(value)
    if problem:
        raise SearchError(where, problem)
    return value


def text_problem(value: str) -> str | None:
    """Why a string cannot be stored or searched for (a NUL byte or a lone surrogate)."""
    if "\x00" in value:
        return "must not contain NUL characters"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "must be valid Unicode text"
    return None


def _one_of(
    field: str, texts: list[str], exact: bool, where: str, many: bool = False
) -> Expression:
    """field EQUALS one of the texts (EQUALS and EQUALS_CASE_SENSITIVE take one, IN `many`),
    as one IN list on the field's index rather than a chain of ORs."""
    kind = FIELDS[field]
    if kind == ID:
        ids = sorted({i for i in map(_record_id, texts) if i is not None})
        return _in(_ID_COLUMNS[field], ids) if ids else NOTHING
    if kind == ENUM:
        return _enum_condition(field, [t if exact else t.upper() for t in texts], where)
    if field in ("encodedKey", "event"):
        # keys and kinds are identifiers with an index: compare with the ways one is written
        column = Message.uid if field == "encodedKey" else Message.kind
        return _in(column, set(texts) if exact else _spellings(texts))
    if not many and not exact:
        return _on_text(field, _equals_ignoring_case(_TEXT_COLUMNS[field], texts[0]))
    # IN compares free text exactly
    return _on_text(field, _in(_TEXT_COLUMNS[field], texts))


def _in(column: Field, values) -> Expression:
    """column IN values; an equality when there is one, so that the (column, id) index also
    gives the order by id."""
    values = sorted(set(values))
    return column == values[0] if len(values) == 1 else column.in_(values)


def _spellings(texts: list[str]) -> set[str]:
    return {s for t in texts for s in (t, t.lower(), t.upper())}


_ID_COLUMNS = {
    "senderKey": Message.sender,
    "clientKey": Message.client,
    "groupKey": Message.group,
    "userKey": Message.user,
}
_TEXT_COLUMNS = {"destination": Message.recipient, "failureCause": Message.state_reason}


def _record_id(text: str) -> int | None:
    """A key as a record id, or None when it cannot name one (then nothing matches)."""
    text = text.strip()
    if not text.isascii() or not text.isdigit():
        return None
    record_id = int(text)
    return record_id if 0 < record_id <= MAX_ID else None


TYPE_NAMES = {**CHANNEL_OF_TYPE, "WEBHOOK": "webhook"}  # and our own, upper-cased


def _enum_condition(field: str, names: list[str], where: str) -> Expression:
    if field == "state":
        states: set[str] = set()
        for name in names:
            if name not in SEARCH_STATES:
                raise SearchError(where, f"{name!r} is not a state; use {_names(SEARCH_STATES)}")
            states |= SEARCH_STATES[name]
        return _in(Message.state, states) if states else NOTHING
    if field == "type":
        for name in names:
            if name not in TYPE_NAMES:
                raise SearchError(where, f"{name!r} is not a type; use {_names(CHANNEL_OF_TYPE)}")
        return _in(Message.channel, {TYPE_NAMES[n] for n in names})
    # failureReason: the (state, channel) pairs reported with those reasons, as a state IN
    # (for the index) narrowed by channel where a state has that reason on some channels only
    channels_of: dict[str, set[str]] = {}
    for (state, channel), reason in FAILURE_REASONS.items():
        if reason in names:
            channels_of.setdefault(state, set()).add(channel)
    if not channels_of:
        return NOTHING
    condition = _in(Message.state, channels_of)
    if all(len(channels) == len(TYPES) for channels in channels_of.values()):
        return condition
    narrowed = [
        Message.state == state
        if len(channels) == len(TYPES)
        else (Message.state == state) & _in(Message.channel, channels)
        for state, channels in sorted(channels_of.items())
    ]
    return condition & reduce(or_, narrowed)


def _names(values: Iterable[str]) -> str:
    return ", ".join(sorted(values))


def _empty(field: str) -> Expression:
    """field EMPTY: null (or blank text)."""
    kind = FIELDS[field]
    if kind == ID:
        return _ID_COLUMNS[field].is_null()
    if field in ("encodedKey", "state", "type"):
        return NOTHING
    if field == "failureReason":
        return Message.state.not_in(sorted({s for s, _ in FAILURE_REASONS}))
    if field == "event":
        return Message.kind == ""
    if field == "failureCause":
        return ~_has_cause() | (Message.state_reason == "")
    return Message.recipient.is_null() | (Message.recipient == "")


def _has_cause() -> Expression:
    return Message.state.in_(CAUSE_STATES) | ((Message.state == "WAITING") & (Message.attempts > 0))


def _on_text(field: str, condition: Expression) -> Expression:
    """A text condition, limited for failureCause to the messages that have one."""
    return _has_cause() & condition if field == "failureCause" else condition


def _starts_with(field: str, text: str, ignore_case: bool) -> Expression:
    """A prefix match that is never LIKE '%…': LIKE 'x%' (case-insensitive), or the first
    characters compared (case-sensitive)."""
    column = Message.kind if field == "event" else _TEXT_COLUMNS[field]
    if ignore_case:
        return column.startswith(text)
    return fn.SUBSTR(column, 1, len(text)) == text


def _equals_ignoring_case(column: Field, text: str) -> Expression:
    """column = text, ignoring case: COLLATE NOCASE on SQLite (ASCII letters, as its LIKE), so
    that an index on (column COLLATE NOCASE) serves it; lower() on PostgreSQL, for an index on
    lower(column)."""
    if is_sqlite():
        return Expression(column.collate("NOCASE"), OP.EQ, text)
    return fn.LOWER(column) == text.lower()


_DATE_COLUMNS = {"creationDate": Message.created_at, "sendDate": Message.sent_at}


def _date_condition(field: str, operator: str, value: Any, where: str, at: datetime) -> Expression:
    column = _DATE_COLUMNS[field]
    if operator == "EMPTY":
        return column.is_null()
    if operator == "NOT_EMPTY":
        return column.is_null(False)
    if operator == "LAST_DAYS":
        return column >= at - timedelta(days=_days(value, f"{where}.value"))
    if operator in ("TODAY", "THIS_WEEK", "THIS_MONTH", "THIS_YEAR"):
        start, end = _period(operator, at)
        return (column >= start) & (column < end)
    if operator == "BETWEEN":
        start = parse_instant(value[0], f"{where}.value")
        end = parse_instant(value[1], f"{where}.secondValue")
        if end.until < start.since:
            raise SearchError(f"{where}.secondValue", "must not be before value")
        return (column >= start.since) & (column <= end.until)
    moment = parse_instant(value, f"{where}.value")
    if operator == "ON":
        return (column >= moment.day_start) & (column < moment.day_end)
    if operator in ("AFTER", "MORE_THAN"):
        return column > moment.until
    if operator in ("BEFORE", "LESS_THAN"):
        return column < moment.since
    return column <= moment.until  # BEFORE_INCLUSIVE


@dataclass(frozen=True)
class Instant:
    """A date or date-time value, in naive UTC: a date covers its whole day."""

    since: datetime  # the first moment it covers
    until: datetime  # the last moment it covers
    day_start: datetime  # its day, in its own offset
    day_end: datetime


def parse_instant(value: Any, where: str) -> Instant:
    """An ISO-8601 date or date-time (naive = UTC); raises SearchError naming `where`."""
    if not isinstance(value, str) or len(value) > 64:
        raise SearchError(where, "must be an ISO-8601 date or date-time string")
    text = value.strip().upper()  # 2026-11-25t12:00z is RFC 3339 too
    try:
        if len(text) <= 10:
            day = date.fromisoformat(text)
            start = datetime(day.year, day.month, day.day)
            end = _add(start, timedelta(days=1))
            return Instant(start, end - timedelta(microseconds=1), start, end)
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise SearchError(
            where, f"{value!r} is not an ISO-8601 date (2026-11-25) or date-time"
        ) from None
    midnight = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    try:
        utc, day_start = _utc(moment), _utc(midnight)
    except OverflowError:
        raise SearchError(where, f"{value!r} is out of range") from None
    day_end = _add(day_start, timedelta(days=1))
    return Instant(utc, utc, day_start, day_end)


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)


def _add(moment: datetime, delta: timedelta) -> datetime:
    try:
        return moment + delta
    except OverflowError:
        return datetime.max


def _days(value: Any, where: str) -> int:
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_LAST_DAYS:
        raise SearchError(where, f"must be a whole number of days from 0 to {MAX_LAST_DAYS}")
    return value


def _period(operator: str, at: datetime) -> tuple[datetime, datetime]:
    """[start, end) of today, this week (from Monday), this month or this year, in UTC."""
    today = datetime(at.year, at.month, at.day)
    if operator == "TODAY":
        return today, today + timedelta(days=1)
    if operator == "THIS_WEEK":
        monday = today - timedelta(days=today.weekday())
        return monday, monday + timedelta(days=7)
    if operator == "THIS_MONTH":
        start = today.replace(day=1)
        following = datetime(start.year + start.month // 12, start.month % 12 + 1, 1)
        return start, following
    return today.replace(month=1, day=1), datetime(today.year + 1, 1, 1)
