"""The dashboard: how sending is going, at a glance."""

from datetime import datetime, timedelta

from flask import Blueprint, render_template
from flask_login import login_required
from peewee import SQL, fn

from shared.db import is_sqlite
from shared.log_page import ORDER_SLACK, first_id_created_at
from shared.models import Backend, Message, now
from shared.states import STATES
from shared.watchdog import oldest_due_at, workers_alive

bp = Blueprint("dashboard", __name__)

HOURS = 24


def state_counts(since) -> dict[str, int]:
    """Messages created since then, by state: the ids from the first one created then on (ids
    follow created_at), counted in the (state, id) index without reading a row."""
    rows = (
        Message.select(Message.state, fn.COUNT(Message.id))
        .where(Message.state.in_(list(STATES)), Message.id >= first_id_created_at(since))
        .group_by(Message.state)
    )
    return dict(rows.tuples())


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
    return render_template(
        "dashboard/index.html",
        today=state_counts(today),
        week=state_counts(today - timedelta(days=6)),
        states=STATES,
        chart=chart,
        peak=peak,
        backends=list(Backend.select().order_by(Backend.channel, Backend.name)),
        held=held,
        workers=workers_alive(),
        oldest_due=oldest_due_at(),
        now=at,
    )
