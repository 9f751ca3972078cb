"""The communications log: every message, newest first."""

from flask import Blueprint, make_response, redirect, render_template, request, url_for
from flask_login import login_required
from peewee import JOIN

from shared.models import Message, User
from shared.states import STATES, UNFINISHED

bp = Blueprint("log", __name__)

PAGE_SIZE = 50


@bp.get("/")
@login_required
def home():
    """The dashboard comes later; until then the log is the home page."""
    return redirect(url_for("log.index"))


@bp.get("/log")
@login_required
def index():
    """Show one page of messages, newest first, paged by id (keyset, never OFFSET)."""
    before = request.args.get("before", type=int)
    query = (
        Message.select(Message, User)
        .join(User, JOIN.LEFT_OUTER, on=(Message.sender == User.id))
        .order_by(Message.id.desc())
        .limit(PAGE_SIZE + 1)
    )
    if before:
        query = query.where(Message.id < before)
    rows = list(query)
    older = rows[PAGE_SIZE - 1].id if len(rows) > PAGE_SIZE else None
    context = dict(messages=rows[:PAGE_SIZE], older=older, states=STATES, unfinished=UNFINISHED)
    template = "log/_rows.html" if request.headers.get("HX-Request") else "log/index.html"
    response = make_response(render_template(template, **context))
    response.headers["Vary"] = "HX-Request"
    return response
