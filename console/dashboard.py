"""The dashboard: how sending is going, at a glance."""

import time
from contextlib import contextmanager
from datetime import datetime, timedelta
from itertools import pairwise

from flask import Blueprint, render_template
from flask_login import login_required
from peewee import SQL, fn

from shared.db import db, is_sqlite
from shared.log_page import ORDER_SLACK, first_id_created_at
from shared.models import Backend, Message, now
from shared.states import STATES
from shared.watchdog import oldest_due_at, workers_alive

bp = Blueprint("dashboard", __name__)

HOURS = 24


EARLIER_DAYS_FOR = 60  # seconds before yesterday's counts are counted again; k days back: k times
_earlier_days: dict[tuple, tuple[float, dict[str, int]]] = {}  # (database, lo, hi): (when, counts)


def state_counts(lo: int, hi: int | None = None) -> dict[str, int]:
    """Messages with ids in [lo, hi), by state: ids follow created_at, so a day is an id range,
    counted in the (state, id) index without reading a row."""
    condition = Message.id >= lo if hi is None else Message.id.between(lo, hi - 1)
    rows = (
        Message.select(Message.state, fn.COUNT(Message.id))
        .where(Message.state.in_(list(STATES)), condition)
        .group_by(Message.state)
    )
    return dict(rows.tuples())


@contextmanager
def serial_plans():
    """PostgreSQL plans these counts with a parallel worker, which costs more to start and merge
    than it saves (the week: 69-84 ms with it, 34 ms without, at a million messages): they run
    in one transaction without. SQLite: nothing (a transaction there takes the write lock)."""
    if is_sqlite():
        yield
        return
    with db.atomic():
        db.execute_sql("SET LOCAL max_parallel_workers_per_gather = 0")
        yield


def week_counts(day_starts: list[int], today: dict[str, int]) -> dict[str, int]:
    """The last 7 days by state: today's counts (live) and the six days before, given by the
    first id of each day, oldest first, today's last. Those six are a quarter of a million index
    entries at a million messages (26 ms on SQLite, 34 on PostgreSQL), and change only as an
    older message does (a late retry, a delivery report): each web process keeps each day's
    counts, and a request counts again at most the one day most overdue, a day k days back being
    due after k times EARLIER_DAYS_FOR. Only a new process (or database) counts all six at once."""
    at = time.monotonic()
    back = len(day_starts) - 1
    days = {(db.database, lo, hi): back - i for i, (lo, hi) in enumerate(pairwise(day_starts))}
    for key in set(_earlier_days) - set(days):
        _earlier_days.pop(key, None)  # a day that left the week (or another database's)
    kept = {key: _earlier_days.get(key) for key in days}
    missing = [key for key, entry in kept.items() if entry is None]
    for key in missing:
        kept[key] = _earlier_days[key] = (at, state_counts(key[1], key[2]))
    if not missing:
        # the most overdue for its age; on a tie the most recent day
        key = max(days, key=lambda k: ((at - kept[k][0]) / days[k], -days[k]))
        if at - kept[key][0] >= EARLIER_DAYS_FOR * days[key]:
            kept[key] = _earlier_days[key] = (at, state_counts(key[1], key[2]))
    week = dict(today)
    for _, counts in kept.values():
        for state, n in counts.items():
            week[state] = week.get(state, 0) + n
    return week


def hourly(since) -> list[dict]:
    """Sent and failed per hour, oldest hour first, counted by the database."""
    start = since.replace(minute=0, second=0, microsecond=0)
    hours = [start + timedelta(hours=i) for i in range(HOURS + 1)]
    buckets = {h: {"hour": h, "sent": 0, "failed": 0} for h in hours}
    sent = Message.select(_hour(Message.sent_at), fn.COUNT(SQL("*"))).where(
        Message.sent_at >= start
    )
    failed = Message.select(_hour(Message.created_at), fn.COUNT(SQL("*"))).where(
        Message.state.in_(("FAILED", "NOT_SENT")),
        Message.id >= first_id_created_at(start - ORDER_SLACK),
        Message.created_at >= start,
    )
    for what, query in (("sent", sent), ("failed", failed)):
        for hour, n in query.group_by(SQL("1")).tuples():
            if isinstance(hour, str):  # SQLite: "YYYY-MM-DD HH"
                hour = datetime.strptime(hour, "%Y-%m-%d %H")
            hour = hour.replace(tzinfo=None)
            if hour in buckets:  # not a clock that ran ahead
                buckets[hour][what] += n
    return [buckets[h] for h in hours]


def _hour(column):
    """The hour a timestamp falls in (SQLite keeps timestamps as ISO text)."""
    return fn.SUBSTR(column, 1, 13) if is_sqlite() else fn.date_trunc("hour", column)


@bp.get("/")
@login_required
def index():
    """Counts by state, sent and failed per hour, backends, held messages and workers."""
    at = now()
    today = at.replace(hour=0, minute=0, second=0, microsecond=0)
    chart = hourly(at - timedelta(hours=HOURS))
    peak = max([1] + [max(h["sent"], h["failed"]) for h in chart])
    held = Message.select().where(Message.state == "BACKEND_TEST_REQUIRED").count()
    day_starts = [first_id_created_at(today - timedelta(days=k)) for k in range(6, -1, -1)]
    with serial_plans():
        counts = state_counts(day_starts[-1])
        week = week_counts(day_starts, counts)
    return render_template(
        "dashboard/index.html",
        today=counts,
        week=week,
        states=STATES,
        chart=chart,
        peak=peak,
        backends=list(Backend.select().order_by(Backend.channel, Backend.name)),
        held=held,
        workers=workers_alive(),
        oldest_due=oldest_due_at(),
        now=at,
    )
