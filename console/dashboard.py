"""The dashboard: how sending is going, at a glance."""

import time
from datetime import datetime, timedelta

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


EARLIER_DAYS_FOR = 60  # seconds the week's days before today are counted again after
_earlier_days: dict[tuple, tuple[float, dict[str, int]]] = {}  # key: (when, counts)


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


def week_counts(today_from: int, week_from: int, today: dict[str, int]) -> dict[str, int]:
    """The last 7 days by state: today's counts (live) and the six days before, which are
    counted again once a minute at most. They are a quarter of a million index entries at a
    million messages (26 ms on SQLite, 34 on PostgreSQL), and change only as an older message
    does (a late retry, a delivery report)."""
    key = (db.database, week_from, today_from)  # per database: the tests make many
    at = time.monotonic()
    counted_at, earlier = _earlier_days.get(key, (None, {}))
    if counted_at is None or at - counted_at >= EARLIER_DAYS_FOR:
        if is_sqlite():  # (a transaction there would take the write lock)
            earlier = state_counts(week_from, today_from)
        else:
            with db.atomic():
                # PostgreSQL plans this scan with a parallel worker, which costs more to start
                # and merge than it saves: 69-84 ms with it, 34 ms without, at a million
                db.execute_sql("SET LOCAL max_parallel_workers_per_gather = 0")
                earlier = state_counts(week_from, today_from)
        _earlier_days.clear()  # one key is current; a new day makes a new one
        _earlier_days[key] = (at, earlier)
    return {s: today.get(s, 0) + earlier.get(s, 0) for s in set(today) | set(earlier)}


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
    today_from = first_id_created_at(today)
    counts = state_counts(today_from)
    return render_template(
        "dashboard/index.html",
        today=counts,
        week=week_counts(today_from, first_id_created_at(today - timedelta(days=6)), counts),
        states=STATES,
        chart=chart,
        peak=peak,
        backends=list(Backend.select().order_by(Backend.channel, Backend.name)),
        held=held,
        workers=workers_alive(),
        oldest_due=oldest_due_at(),
        now=at,
    )
