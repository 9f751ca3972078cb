"""One page of the communications log, and its capped count, fast at a million messages
(SPEC §8). The same filters as `LogFilter.apply` (the export and bulk actions use that), asked
in the shape the indexes can answer:

- each chosen state (and each branch of a staff member's page) is its own keyset query on its
  `(x, id)` index, joined by UNION ALL and merged in id order: `state IN (a, b)` would make the
  database sort every match;
- date ranges also become id ranges, so the other filters keep their `(x, id)` index instead of
  sorting a date window: ids grow with `created_at` (the outbox stamps `now()` as it inserts),
  so a created range is an id range, widened by `ORDER_SLACK` for rows committed out of order,
  with the exact date still checked on each row; and a message sent before T was created
  before T;
- text search asks the search index for its newest matches in growing windows, never for all
  of them (SQLite FTS5; PostgreSQL's trigram index is asked directly).
"""

from datetime import timedelta

from peewee import JOIN, SQL, fn

from shared.db import db, is_sqlite
from shared.log_filters import MIN_LENGTH, LogFilter, person_branches
from shared.models import Backend, Message, User
from shared.search import search

ORDER_SLACK = timedelta(hours=1)  # how far ids may run out of created_at order
FIRST_WINDOW = 256  # text matches read first; each next window is 8 times larger
COUNT_BUDGET = 50_000  # text matches a count reads at most before it says "N+"
SMALL_SENT_WINDOW = 1000  # a sent range this small gets an exact lower id bound

# what a row of the list shows: no bodies beyond the SMS preview, no password hashes
LISTED = [
    Message.id,
    Message.uid,
    Message.channel,
    Message.recipient,
    Message.subject,
    fn.SUBSTR(Message.body_text, 1, 100).alias("body_text"),
    Message.kind,
    Message.sender,
    Message.client,
    Message.group,
    Message.user,
    Message.backend,
    Message.state,
    Message.state_reason,
    Message.attempts,
    Message.next_attempt_at,
    Message.created_at,
    Message.sent_at,
    Message.resolved_by,
    Message.resend_of,
]


def page_ids(
    log_filter: LogFilter,
    person: tuple[str, int] | None = None,
    before: int | None = None,
    after: int | None = None,
    limit: int = 51,
    budget: int | None = None,
) -> tuple[list[int], bool]:
    """Up to `limit` matching ids below `before` (newest first) or above `after` (oldest
    first). Returns (ids, complete): complete is False only when a text search stopped after
    reading `budget` text matches."""
    lo, hi = _id_bounds(log_filter)
    if before is not None:
        hi = before if hi is None else min(hi, before)
    if after is not None:
        lo = after + 1 if lo is None else max(lo, after + 1)
    if lo is not None and hi is not None and lo >= hi:
        return [], True
    branches = _branches(log_filter, person, lo, hi)
    newest_first = after is None
    if len(log_filter.q) < MIN_LENGTH or not is_sqlite():
        if log_filter.q and len(log_filter.q) >= MIN_LENGTH:
            branches = [search(b, log_filter.q) for b in branches]
        return _ids(branches, newest_first, limit), True
    return _ids_through_text_windows(log_filter.q, branches, lo, hi, newest_first, limit, budget)


def capped_count(log_filter: LogFilter, person=None, cap: int = 1000) -> tuple[int, bool]:
    """How many match, counted up to cap + 1 by the page's own queries. Returns (n, exact)."""
    ids, complete = page_ids(log_filter, person, limit=cap + 1, budget=COUNT_BUDGET)
    return len(ids), complete and len(ids) <= cap


def page_rows(ids: list[int], newest_first: bool = True) -> list[Message]:
    """The listed columns of these messages, with their sender's and backend's names."""
    if not ids:
        return []
    order = Message.id.desc() if newest_first else Message.id.asc()
    return list(
        Message.select(*LISTED, User.id, User.name, Backend.id, Backend.name)
        .join(User, JOIN.LEFT_OUTER, on=(Message.sender == User.id))
        .switch(Message)
        .join(Backend, JOIN.LEFT_OUTER, on=(Message.backend == Backend.id))
        .where(Message.id.in_(ids))
        .order_by(order)
    )


def state_counts(person: tuple[str, int]) -> dict[str, int]:
    """A person's messages by state, read from the (x, id, state) indexes."""
    counts: dict[str, int] = {}
    for condition in person_branches(*person):
        rows = Message.select(Message.state, fn.COUNT(Message.id)).where(condition)
        for state, n in rows.group_by(Message.state).tuples():
            counts[state] = counts.get(state, 0) + n
    return counts


def first_id_created_at(at) -> int:
    """The first id created at or after `at`: one seek on the created_at index."""
    found = (
        Message.select(Message.id)
        .where(Message.created_at >= at)
        .order_by(Message.created_at)
        .limit(1)
        .scalar()
    )
    if found is None:
        found = (Message.select(fn.MAX(Message.id)).scalar() or 0) + 1
    return found


def _id_bounds(log_filter: LogFilter) -> tuple[int | None, int | None]:
    """[lo, hi) ids that hold every match of the date filters (None when unbounded)."""
    lo = hi = None
    created_start, created_end = log_filter.created_range
    sent_start, sent_end = log_filter.sent_range
    if created_start:
        lo = first_id_created_at(created_start - ORDER_SLACK)
    ends = [e for e in (created_end, sent_end) if e]
    if ends:
        hi = first_id_created_at(min(ends) + ORDER_SLACK)
    if sent_start:
        # no id bound follows from a sent date (a message may wait long before it goes), so
        # take the exact smallest id when the range is small; a big range fills pages quickly
        sent = Message.select(Message.id).where(Message.sent_at >= sent_start)
        if sent_end:
            sent = sent.where(Message.sent_at < sent_end)
        few = [i for (i,) in sent.limit(SMALL_SENT_WINDOW + 1).tuples()]
        if not few:
            return 0, 0  # nothing was sent then
        if len(few) <= SMALL_SENT_WINDOW:
            lo = max(lo or 0, min(few))
    return lo, hi


def _branches(log_filter: LogFilter, person, lo, hi) -> list:
    """One id query per (state, person branch), with every other condition."""
    common = log_filter.field_conditions()
    if lo is not None:
        common.append(Message.id >= lo)
    if hi is not None:
        common.append(Message.id < hi)
    # the exact dates, checked on each row but kept off their indexes (which would sort)
    for column, (start, end) in (
        (Message.created_at, log_filter.created_range),
        (Message.sent_at, log_filter.sent_range),
    ):
        if start:
            common.append(_unindexed(column) >= start)
        if end:
            common.append(_unindexed(column) < end)
    states = log_filter.state_conditions() or [None]
    people = person_branches(*person) if person else [None]
    branches = []
    for state in states:
        for who in people:
            conditions = [c for c in (state, who) if c is not None] + common
            query = Message.select(Message.id)
            branches.append(query.where(*conditions) if conditions else query)
    return branches


def _ids(branches: list, newest_first: bool, limit: int) -> list[int]:
    if len(branches) == 1:
        order = Message.id.desc() if newest_first else Message.id.asc()
        query = branches[0].order_by(order)
    else:
        query = branches[0]
        for branch in branches[1:]:
            query = query + branch  # UNION ALL: the branches never overlap
        query = query.order_by(SQL("1 DESC" if newest_first else "1 ASC"))
    return [i for (i,) in query.limit(limit).tuples()]


def _ids_through_text_windows(text, branches, lo, hi, newest_first, limit, budget):
    """Walk the text matches from the newest (or oldest) in growing windows, keeping those
    that pass the other filters, until `limit` are found or the matches run out."""
    phrase = '"' + text.replace('"', '""') + '"'  # one literal substring, no FTS syntax
    found: list[int] = []
    window, read = FIRST_WINDOW, 0
    while True:
        bounds, params = "", [phrase]
        if lo is not None:
            bounds, params = bounds + " AND rowid >= ?", params + [lo]
        if hi is not None:
            bounds, params = bounds + " AND rowid < ?", params + [hi]
        direction = "DESC" if newest_first else "ASC"
        window_sql = (
            f"SELECT rowid AS id FROM message_fts WHERE message_fts MATCH ?{bounds} "
            f"ORDER BY rowid {direction} LIMIT {window}"
        )
        in_window, lowest, highest = db.execute_sql(
            f"SELECT COUNT(*), MIN(id), MAX(id) FROM ({window_sql})", params
        ).fetchone()
        matches = SQL(f"({window_sql})", params)
        if in_window:
            narrowed = [b.where(Message.id.in_(matches)) for b in branches]
            found += _ids(narrowed, newest_first, limit - len(found))
        read += in_window
        if len(found) >= limit or in_window < window:
            return found, True
        if budget is not None and read >= budget:
            return found, False
        if newest_first:
            hi = lowest
        else:
            lo = highest + 1
        window *= 8


def _unindexed(column):
    """The column in an expression no index serves (the same value)."""
    return fn.COALESCE(column, None)
