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
  of them (SQLite FTS5; PostgreSQL's trigram index is asked directly);
- on SQLite, whose planner has no statistics, the query names the index that leads it: a
  person's over a state's, and of a state and a category (channel, kind, ...) the sparser.
"""

import json
from datetime import datetime, timedelta
from functools import lru_cache
from types import SimpleNamespace

from peewee import JOIN, SQL, fn

from shared.db import db, is_sqlite
from shared.log_filters import MIN_LENGTH, LogFilter, person_branches, unindexed
from shared.models import Backend, Message, User
from shared.search import search

ORDER_SLACK = timedelta(hours=1)  # how far ids may run out of created_at order
FIRST_WINDOW = 256  # text matches read first; each next window is 8 times larger
MAX_WINDOW = 16_384
COUNT_BUDGET = 1_001  # text matches a count reads at most before it says "N+"
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
    Message.attempts,
    Message.next_attempt_at,
    Message.created_at,
    Message.sent_at,
    Message.resolved_by,
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
    if not _through_text_windows(log_filter):
        return [i for (i,) in _keyset(branches, newest_first, limit).tuples()], True
    return _ids_through_text_windows(log_filter.q, branches, lo, hi, newest_first, limit, budget)


def capped_count(log_filter: LogFilter, person=None, cap: int = 1000) -> tuple[int, bool]:
    """How many match, counted up to cap + 1 by the page's own queries. Returns (n, exact)."""
    if _through_text_windows(log_filter):
        ids, complete = page_ids(log_filter, person, limit=cap + 1, budget=COUNT_BUDGET)
        n = len(ids)
    else:
        lo, hi = _id_bounds(log_filter)
        if lo is not None and hi is not None and lo >= hi:
            return 0, True
        page = _keyset(_branches(log_filter, person, lo, hi), True, cap + 1)
        n, complete = Message.select(fn.COUNT(SQL("*"))).from_(page.alias("p")).scalar(), True
    return n, complete and n <= cap


def first_page(log_filter: LogFilter, person, size: int, cap: int) -> tuple[list[int], int, bool]:
    """The first page's ids (up to size + 1, to tell whether there are more) and the capped
    count, sharing their reads: a text search walks its windows once for both."""
    if len(log_filter.q) >= MIN_LENGTH and not is_sqlite():
        # PostgreSQL's trigram search rechecks every candidate row whatever the limit, and
        # the count reads up to cap + 1 matches anyway: its ids give the page too, one query
        # instead of two
        ids, _ = page_ids(log_filter, person, limit=cap + 1)
        return ids[: size + 1], len(ids), len(ids) <= cap
    if not _through_text_windows(log_filter):
        ids, _ = page_ids(log_filter, person, limit=size + 1)
        if len(ids) <= size:
            return ids, len(ids), True
        return ids, *capped_count(log_filter, person, cap)
    ids, complete = page_ids(log_filter, person, limit=cap + 1, budget=COUNT_BUDGET)
    n, exact = len(ids), complete and len(ids) <= cap
    if len(ids) <= size and not complete:
        # the count's budget ran out before a page was found: the page walks on alone
        before = ids[-1] if ids else None
        ids += page_ids(log_filter, person, before=before, limit=size + 1 - len(ids))[0]
    return ids[: size + 1], max(n, len(ids)), exact


def page_rows(ids: list[int]) -> list[SimpleNamespace]:
    """The listed columns of these messages, newest first, with their sender's and backend's
    names (`sender_name`, `backend_name`), as plain rows: a page is read on every request, and
    building its SQL and 50 models took longer than the query."""
    if not ids:
        return []
    sql, names, params = _rows_sql(len(ids), is_sqlite())
    rows = []
    for values in db.execute_sql(sql, [*params, *ids]):
        row = SimpleNamespace(**dict(zip(names, values, strict=True)))
        for name in DATETIMES:
            value = getattr(row, name)
            if isinstance(value, str):  # SQLite keeps them as ISO text
                setattr(row, name, datetime.fromisoformat(value))
        rows.append(row)
    return rows


DATETIMES = ("next_attempt_at", "created_at", "sent_at")


@lru_cache(maxsize=16)
def _rows_sql(count: int, sqlite: bool) -> tuple[str, list[str], list]:
    """The SQL of page_rows for `count` ids (per database dialect), its column names, and the
    parameters that come before the ids."""
    columns = [*LISTED, User.name.alias("sender_name"), Backend.name.alias("backend_name")]
    query = (
        Message.select(*columns)
        .join(User, JOIN.LEFT_OUTER, on=(Message.sender == User.id))
        .switch(Message)
        .join(Backend, JOIN.LEFT_OUTER, on=(Message.backend == Backend.id))
        .where(Message.id.in_(list(range(count))))
        .order_by(Message.id.desc())
    )
    sql, params = query.sql()
    names = [getattr(c, "_alias", None) or c.column_name for c in columns]
    return sql, names, params[:-count]


def state_counts(person: tuple[str, int]) -> dict[str, int]:
    """A person's messages by state, read from the (x, id, state) indexes."""
    counts: dict[str, int] = {}
    for condition in person_branches(*person):
        rows = Message.select(Message.state, fn.COUNT(Message.id)).where(condition)
        for state, n in rows.group_by(Message.state).tuples():
            counts[state] = counts.get(state, 0) + n
    return counts


def message_kinds() -> list[str]:
    """Every message kind there is, in order: one seek per kind on the (kind, id) index (a
    loose index scan), never a read of the table."""
    rows = db.execute_sql(
        """WITH RECURSIVE kinds(kind) AS (
            SELECT MIN(kind) FROM message
            UNION ALL
            SELECT (SELECT MIN(kind) FROM message WHERE kind > kinds.kind)
            FROM kinds WHERE kind IS NOT NULL
        ) SELECT kind FROM kinds WHERE kind IS NOT NULL"""
    )
    return [kind for (kind,) in rows]


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
    common = []
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
            common.append(unindexed(column) >= start)
        if end:
            common.append(unindexed(column) < end)
    # a client, group or staff member has a few thousand messages, a state hundreds of
    # thousands: with both, the state is checked in the person's (x, id, state) index rather
    # than searched in its own (left to itself, SQLite's planner, which has no statistics,
    # picks either, by the order the indexes happen to have been made in)
    narrow = person is not None or _names_a_person(log_filter)
    people = person_branches(*person) if person else [None]
    branches = []
    for state_name in log_filter.states or [None]:
        off_index = set() if narrow else _off_index(log_filter, state_name, lo, hi)
        state = None
        if state_name:
            off = narrow or "state" in off_index
            state_column = unindexed(Message.state) if off else Message.state
            state = log_filter.state_condition(state_name, state_column)
        fields = log_filter.field_conditions(off_index)
        for who in people:
            conditions = [c for c in (state, who) if c is not None] + fields + common
            query = Message.select(Message.id)
            if conditions:
                query = query.where(*conditions)
            if len(log_filter.q) >= MIN_LENGTH and not is_sqlite():
                query = search(query, log_filter.q)  # PostgreSQL's trigram index
            branches.append(query)
    return branches


def _names_a_person(log_filter: LogFilter) -> bool:
    """Whether the filters name one client, group or staff member."""
    named = (log_filter.client, log_filter.group, log_filter.user)
    return any(x is not None for x in named) or log_filter.sender not in (None, "system")


def _through_text_windows(log_filter: LogFilter) -> bool:
    return len(log_filter.q) >= MIN_LENGTH and is_sqlite()


def _keyset(branches: list, newest_first: bool, limit: int):
    """The first `limit` ids of the branches in id order (the branches never overlap)."""
    order = Message.id.desc() if newest_first else Message.id.asc()
    if len(branches) == 1:
        return branches[0].order_by(order).limit(limit)
    if not is_sqlite():
        # PostgreSQL does not merge the branches in their indexes' order (a branch's state is
        # a constant only inside it), it reads them whole and sorts: 1 s for the three failure
        # states at a million. Each branch stops at the limit instead, and the few are sorted.
        branches = [branch.order_by(order).limit(limit) for branch in branches]
    query = branches[0]
    for branch in branches[1:]:
        query = query + branch  # UNION ALL; SQLite merges it in id order from each index
    return query.order_by(SQL("1 DESC" if newest_first else "1 ASC")).limit(limit)


def _ids_through_text_windows(text, branches, lo, hi, newest_first, limit, budget):
    """Walk the text matches from the newest (or oldest) in growing windows, keeping those
    that pass the other filters, until `limit` are found or the matches run out. Each window
    is read from the search index once; the other filters check its ids."""
    phrase = '"' + text.replace('"', '""') + '"'  # one literal substring, no FTS syntax
    direction = "DESC" if newest_first else "ASC"
    unfiltered = len(branches) == 1 and branches[0]._where is None
    found: list[int] = []
    # a count reads its whole budget at once: each read of the index costs about the same
    # whatever its size, as FTS5 loads the trigrams' whole lists
    window, read = (budget or FIRST_WINDOW), 0
    while True:
        bounds, params = "", [phrase]
        if lo is not None:
            bounds, params = bounds + " AND rowid >= ?", params + [lo]
        if hi is not None:
            bounds, params = bounds + " AND rowid < ?", params + [hi]
        matches = [
            i
            for (i,) in db.execute_sql(
                f"SELECT rowid FROM message_fts WHERE message_fts MATCH ?{bounds} "
                f"ORDER BY rowid {direction} LIMIT {window}",
                params,
            )
        ]
        read += len(matches)
        wanted = limit - len(found)
        if unfiltered:
            found += matches[:wanted]
        elif matches:
            listed = SQL("(SELECT value FROM json_each(?))", [json.dumps(matches)])
            narrowed = [b.where(Message.id.in_(listed)) for b in branches]
            found += [i for (i,) in _keyset(narrowed, newest_first, wanted).tuples()]
        if len(found) >= limit or len(matches) < window:
            return found, True
        if budget is not None and read >= budget:
            return found, False
        if newest_first:
            hi = matches[-1]
        else:
            lo = matches[-1] + 1
        window = min(window * 8, MAX_WINDOW)
        if budget is not None:
            window = min(window, budget - read)


def _off_index(log_filter: LogFilter, state: str | None, lo, hi) -> set[str]:
    """With a state and a category (channel, kind, backend, the system's messages), which index
    leads the query, on SQLite: the sparser set, read newest first and the other conditions
    checked on its rows, reaches a page or a capped count after the fewest rows (failures of
    one kind: the failures, 7.5 ms, not the kind's, 17.5 ms, at a million). SQLite's planner
    has no statistics to know which (PostgreSQL's has): each is counted in its index among the
    newest DENSITY_WINDOW ids the query can read. The others' names are returned, to be kept
    off their index; on a tie, none: the planner picks."""
    categories = log_filter.categories()
    if not state or not categories or not is_sqlite() or _through_text_windows(log_filter):
        return set()
    top = hi - 1 if hi is not None else Message.select(fn.MAX(Message.id)).scalar() or 0
    bottom = max(top - DENSITY_WINDOW, lo or 0)
    counts = {"state": _count_between(db.database, "state", state, bottom, top)}
    for name, value in categories.items():
        counts[name] = _count_between(db.database, name, value, bottom, top)
    fewest = min(counts.values())
    leaders = [name for name, n in counts.items() if n == fewest]
    return set() if len(leaders) > 1 else set(counts) - set(leaders)


DENSITY_WINDOW = 20_000  # ids: each count reads at most this many entries of one index (~1 ms)


# kept while the newest id stays the same: a page and its count, and each state of a page, ask
# the same; a state that changed since only makes the choice of index less apt, never the rows
@lru_cache(maxsize=512)
def _count_between(database: str, column: str, value, bottom: int, top: int) -> int:
    """Messages with this value and an id in [bottom, top], counted in the column's index
    (`database`: which one, for the cache)."""
    field = getattr(Message, column)
    condition = field.is_null() if value is None else field == value
    return Message.select().where(condition, Message.id.between(bottom, top)).count()
