"""The communications log: every message, newest first, filtered in place, with bulk resend and
cancel."""

from flask import Blueprint, abort, make_response, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from console.errors import render_error
from shared.log_filters import LogFilter
from shared.log_page import capped_count, first_page, message_kinds, page_ids, page_rows
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


def fetch_page(log_filter: LogFilter, before: int | None, after: int | None, person=None):
    """One page of the log by keyset (never OFFSET): older than `before`, or newer than
    `after`, and the count. Returns (messages, older_cursor, newer_cursor, count_label)."""
    if before or after:
        ids, _ = page_ids(log_filter, person, before=before, after=after, limit=PAGE_SIZE + 1)
        n, exact = capped_count(log_filter, person, COUNT_LIMIT)
    else:
        ids, n, exact = first_page(log_filter, person, PAGE_SIZE, COUNT_LIMIT)
    more = len(ids) > PAGE_SIZE
    rows = page_rows(ids[:PAGE_SIZE])  # newest first
    count = count_label(n, exact)
    if not rows:
        return rows, None, None, count
    if after:
        return rows, rows[-1].id, (rows[0].id if more else None), count
    return rows, (rows[-1].id if more else None), (rows[0].id if before else None), count


def count_label(n: int, exact: bool) -> str:
    """ "1 message", "340 messages", or "1,000+ messages" when counting stopped."""
    if not exact:
        return f"{min(n, COUNT_LIMIT):,}+ messages"
    return f"{n:,} message{'s' if n != 1 else ''}"


def log_context(log_filter: LogFilter, person=None, page_url=None) -> dict:
    """What the log's templates need, for the log page and the client/group/user pages
    (`person`: ("client" | "group" | "user", id))."""
    before = request.args.get("before", type=int)
    after = request.args.get("after", type=int)
    messages, older, newer, count = fetch_page(log_filter, before, after, person)
    columns = chosen_columns()
    return dict(
        filter=log_filter,
        messages=messages,
        older=older,
        newer=newer,
        count=count,
        columns=columns,
        all_columns=COLUMNS,
        states=STATES,
        unfinished=UNFINISHED,
        resendable=RESENDABLE,
        cancellable=CANCELLABLE,
        names=_names(messages, columns),
        urls=row_urls(),
        page_url=page_url or url_for("log.index"),
        filter_args=log_filter.to_args(),
    )


def row_urls() -> dict:
    """The links of a row, made once per page with placeholder keys that the row template
    replaces (url_for for each of fifty rows cost more than the page's queries)."""
    uid, record_id = "UID0PLACEHOLDER", "987654321"
    return {
        "uid": uid,
        "id": record_id,
        "preview": url_for("messages.preview", uid=uid),
        "state": url_for("log.state_cell", uid=uid),
        "client": url_for("people.client", client_id=record_id),
        "group": url_for("people.group", group_id=record_id),
        "user": url_for("people.user", user_id=record_id),
    }


def _names(messages, columns) -> dict:
    """The names of the clients, groups and users on this page, for the columns shown: one
    small query each."""
    names: dict[str, dict] = {"client": {}, "group": {}, "user": {}}
    for kind, model in (("client", Client), ("group", Group), ("user", User)):
        ids = {getattr(m, f"{kind}_id") for m in messages} - {None}
        if kind in columns and ids:
            rows = model.select(model.id, model.name).where(model.id.in_(ids)).tuples()
            names[kind] = dict(rows)
    return names


def filter_options() -> dict:
    """Choices for the filter bar: staff, backends, and the message types."""
    return dict(
        staff=list(User.select().order_by(User.name)),
        backends=list(Backend.select().order_by(Backend.name)),
        kinds=message_kinds(),
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
    if not wanted:
        return render_error(400, "Choose at least one column to show. Nothing was changed.")
    UserPreference.insert(user=current_user.id, log_columns=wanted).on_conflict(
        conflict_target=[UserPreference.user],
        update={UserPreference.log_columns: wanted},
    ).execute()
    return redirect(request.referrer if _same_site(request.referrer) else url_for("log.index"))


@bp.get("/log/state/<uid>")
@login_required
def state_cell(uid):
    """The state cell of one row, for unfinished rows that refresh themselves."""
    message = Message.get_or_none(Message.uid == uid) or abort(404)
    return render_template(
        "log/_state.html", m=message, states=STATES, unfinished=UNFINISHED, urls=row_urls()
    )


def _same_site(url: str | None) -> bool:
    return bool(url) and url.startswith(request.host_url)
