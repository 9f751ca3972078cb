"""The communications log: every message, newest first, filtered in place, with bulk resend and
cancel."""

from flask import Blueprint, abort, make_response, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from peewee import fn

from shared.log_filters import LogFilter, log_query
from shared.models import Backend, Client, Group, Message, User, UserPreference
from shared.states import CANCELLABLE, RESENDABLE, STATES, UNFINISHED

bp = Blueprint("log", __name__)

PAGE_SIZE = 50
COUNT_LIMIT = 1000  # count this far, then say "1,000+": never count the whole table
COLUMNS = {
    "created": "Created",
    "sent": "Sent",
    "state": "State",
    "channel": "Channel",
    "recipient": "Recipient",
    "sender": "Sender",
    "client": "Client",
    "group": "Group",
    "user": "User",
    "subject": "Subject",
    "kind": "Type",
    "backend": "Backend",
    "attempts": "Tries",
}
DEFAULT_COLUMNS = ["created", "sent", "state", "channel", "recipient", "subject", "sender"]


def chosen_columns() -> list[str]:
    """The current user's log columns, in the table's order."""
    pref = UserPreference.get_or_none(UserPreference.user == current_user.id)
    chosen = set(pref.log_columns) if pref and pref.log_columns else set(DEFAULT_COLUMNS)
    return [c for c in COLUMNS if c in chosen] or DEFAULT_COLUMNS


def fetch_page(log_filter: LogFilter, before: int | None, after: int | None, base=None):
    """One page of the log by keyset (never OFFSET): older than `before`, or newer than
    `after`. Returns (messages, older_cursor, newer_cursor)."""
    query = log_query(log_filter) if base is None else log_filter.apply(base)
    if after:
        rows = list(query.where(Message.id > after).order_by(Message.id.asc()).limit(PAGE_SIZE + 1))
        has_newer = len(rows) > PAGE_SIZE
        rows = list(reversed(rows[:PAGE_SIZE]))
        older = rows[-1].id if rows else None
        return rows, older, rows[0].id if rows and has_newer else None
    if before:
        query = query.where(Message.id < before)
    rows = list(query.limit(PAGE_SIZE + 1))
    older = rows[PAGE_SIZE - 1].id if len(rows) > PAGE_SIZE else None
    rows = rows[:PAGE_SIZE]
    return rows, older, rows[0].id if rows and before else None


def count_label(log_filter: LogFilter, base=None) -> str:
    """How many messages match, counted with the same index and capped: "1,000+"."""
    query = (log_query(log_filter) if base is None else log_filter.apply(base)).order_by()
    capped = query.select(Message.id).limit(COUNT_LIMIT + 1)
    n = Message.select(fn.COUNT()).from_(capped.alias("page")).scalar()
    if n > COUNT_LIMIT:
        return f"{COUNT_LIMIT:,}+ messages"
    return f"{n:,} message{'s' if n != 1 else ''}"


def log_context(log_filter: LogFilter, base=None, page_url=None) -> dict:
    """What the log's templates need, for the log page and the client/group/user pages."""
    before = request.args.get("before", type=int)
    after = request.args.get("after", type=int)
    messages, older, newer = fetch_page(log_filter, before, after, base)
    return dict(
        filter=log_filter,
        messages=messages,
        older=older,
        newer=newer,
        count=count_label(log_filter, base),
        columns=chosen_columns(),
        all_columns=COLUMNS,
        states=STATES,
        unfinished=UNFINISHED,
        resendable=RESENDABLE,
        cancellable=CANCELLABLE,
        names=_names(messages),
        page_url=page_url or url_for("log.index"),
        filter_args=log_filter.to_args(),
    )


def _names(messages) -> dict:
    """The names of the clients, groups and users on this page, in three small queries."""
    if not messages:
        return {"client": {}, "group": {}, "user": {}}
    ids = {
        k: {getattr(m, f"{k}_id") for m in messages} - {None} for k in ("client", "group", "user")
    }
    return {
        "client": {c.id: c.name for c in Client.select().where(Client.id.in_(ids["client"]))},
        "group": {g.id: g.name for g in Group.select().where(Group.id.in_(ids["group"]))},
        "user": {u.id: u.name for u in User.select().where(User.id.in_(ids["user"]))},
    }


def filter_options() -> dict:
    """Choices for the filter bar: staff, backends, and the message types seen lately."""
    recent = Message.select(Message.kind).order_by(Message.id.desc()).limit(1000)
    kinds = sorted({row.kind for row in Message.select(recent.c.kind).from_(recent).distinct()})
    return dict(
        staff=list(User.select().order_by(User.name)),
        backends=list(Backend.select().order_by(Backend.name)),
        kinds=kinds,
    )


def render_log(template: str, context: dict):
    """The whole page, or only the results when htmx asks for them."""
    if request.headers.get("HX-Request") and request.headers.get("HX-Target") == "log-results":
        response = make_response(render_template("log/_results.html", **context))
    else:
        response = make_response(render_template(template, **context, **filter_options()))
    response.headers["Vary"] = "HX-Request, HX-Target"
    return response


@bp.get("/log")
@login_required
def index():
    """Show the log: newest first, filtered as the URL says."""
    log_filter = LogFilter.from_args(request.args)
    return render_log("log/index.html", log_context(log_filter))


@bp.post("/log/columns")
@login_required
def columns():
    """Remember the columns this user wants in the log."""
    wanted = [c for c in request.form.getlist("column") if c in COLUMNS]
    UserPreference.insert(user=current_user.id, log_columns=wanted or DEFAULT_COLUMNS).on_conflict(
        conflict_target=[UserPreference.user],
        update={UserPreference.log_columns: wanted or DEFAULT_COLUMNS},
    ).execute()
    return redirect(request.referrer if _same_site(request.referrer) else url_for("log.index"))


@bp.get("/log/state/<uid>")
@login_required
def state_cell(uid):
    """The state cell of one row, for unfinished rows that refresh themselves."""
    message = Message.get_or_none(Message.uid == uid) or abort(404)
    return render_template("log/_state.html", m=message, states=STATES, unfinished=UNFINISHED)


def _same_site(url: str | None) -> bool:
    return bool(url) and url.startswith(request.host_url)
