"""Excel exports of the log: exactly a filtered view, in the chosen columns, plus the full text of
each message. Written with xlsxwriter in constant-memory mode, so memory stays flat however many
rows there are; never a formula or a link, whatever the text starts with."""

from datetime import datetime

import xlsxwriter

from shared.db import db
from shared.models import Backend, Client, Group, Message, User, now
from shared.states import STATES

EXCEL_CELL_LIMIT = 32_767
CUT_MARKER = "… [cut here: {n:,} more characters are in commlog]"
CHUNK = 2_000
CHANNEL_NAMES = {"email": "Email", "sms": "SMS", "webhook": "Webhook"}

# column key -> (header, width)
COLUMNS = {
    "created": ("Created (UTC)", 17),
    "sent": ("Sent (UTC)", 17),
    "state": ("State", 14),
    "channel": ("Channel", 9),
    "recipient": ("Recipient", 30),
    "sender": ("Sender", 18),
    "client": ("Client", 22),
    "group": ("Group", 22),
    "user": ("User", 18),
    "subject": ("Subject", 40),
    "kind": ("Type", 24),
    "backend": ("Backend", 16),
    "attempts": ("Tries", 6),
}
TEXT_COLUMNS = [
    ("Subject (full)", 40),
    ("Text", 60),
    ("HTML as text", 60),
    ("Why", 40),
    ("Reference", 34),
]


def fit(text: str) -> str:
    """Text that fits an Excel cell, cut with a marker rather than lost silently."""
    if len(text) <= EXCEL_CELL_LIMIT:
        return text
    marker = CUT_MARKER.format(n=len(text) - EXCEL_CELL_LIMIT)
    keep = EXCEL_CELL_LIMIT - len(marker)
    return text[:keep] + CUT_MARKER.format(n=len(text) - keep)


class _Names:
    """Names for ids, looked up once each (the export can have many rows, few people)."""

    def __init__(self):
        self.cache: dict[tuple, str] = {}

    def get(self, model, key) -> str:
        if key is None:
            return ""
        if (model, key) not in self.cache:
            row = model.get_or_none(model.id == key)
            self.cache[(model, key)] = row.name if row else f"#{key}"
        return self.cache[(model, key)]


def write_export(
    target, query, columns: list[str], about: list[tuple[str, str]], progress=None
) -> int:
    """Write the messages of `query` (newest first) to `target` (a path or a binary file), with
    `columns` and the full text; `about` fills the second sheet. Returns the row count."""
    workbook = xlsxwriter.Workbook(
        target,
        {
            "constant_memory": True,  # rows go to disk as they are written: memory stays flat
            "strings_to_formulas": False,  # "=HYPERLINK(…)" in a body stays text
            "strings_to_urls": False,
            "strings_to_numbers": False,
            "remove_timezone": True,
        },
    )
    bold = workbook.add_format({"bold": True, "bg_color": "#EEF2F7", "border": 1})
    when = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    wrap = workbook.add_format({"text_wrap": True, "valign": "top"})
    sheet = workbook.add_worksheet("Messages")
    headers = [COLUMNS[c] for c in columns] + TEXT_COLUMNS
    for col, (title, width) in enumerate(headers):
        sheet.set_column(col, col, width, wrap if width >= 40 else None)
        sheet.write_string(0, col, title, bold)
    sheet.freeze_panes(1, 0)

    cells = list(enumerate(_cells(columns, _Names())))
    row = 0
    last_id = None
    while True:
        chunk = query if last_id is None else query.where(Message.id < last_id)
        # plain tuples from the cursor: no model objects or dicts to build for every row
        records = db.execute(chunk.limit(CHUNK)).fetchall()
        for record in records:
            row += 1
            for col, (i, convert, kind) in cells:
                value = record[i] if convert is None else convert(record[i], record)
                if value is None or value == "":
                    continue
                if kind == "text":
                    if len(value) > EXCEL_CELL_LIMIT:
                        value = fit(value)
                    sheet.write_string(row, col, value)
                elif kind == "date":
                    sheet.write_datetime(row, col, _datetime(value), when)
                else:
                    sheet.write_number(row, col, value)
        if progress:
            progress(row)
        if len(records) < CHUNK:
            break
        last_id = records[-1][AT["id"]]
    sheet.autofilter(0, 0, max(row, 1), len(headers) - 1)
    info = workbook.add_worksheet("About this export")
    info.set_column(0, 0, 22)
    info.set_column(1, 1, 80)
    for i, (label, value) in enumerate([*about, ("Rows", f"{row:,}")]):
        info.write_string(i, 0, label, bold)
        info.write_string(i, 1, value)
    workbook.close()
    return row


def _datetime(value) -> datetime:
    # SQLite hands back the stored text, PostgreSQL a datetime
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


PEOPLE = {"client": Client, "group": Group, "user": User, "backend": Backend}
# the columns an export reads (not metadata and the other internals: less to decode per row)
EXPORTED_FIELDS = (
    "id",
    "uid",
    "created_at",
    "sent_at",
    "state",
    "channel",
    "recipient",
    "subject",
    "body_text",
    "body_html_text",
    "state_reason",
    "kind",
    "attempts",
    "sender",
    "client",
    "group",
    "user",
    "backend",
    "resolved_by",
)
AT = {name: i for i, name in enumerate(EXPORTED_FIELDS)}  # a field's place in a row


def _cells(columns: list[str], names: _Names) -> list[tuple]:
    """For each cell of a row, in order: (the place of its field in the row, None or a function
    of that field's value and the row giving the cell's value, its kind: date, number or text),
    chosen once per export rather than for every cell."""

    def state_label(state, row):
        resolved = " (resolved by resend)" if row[AT["resolved_by"]] else ""
        return STATES[state].label + resolved

    def column(key):
        if key in ("created", "sent"):
            return AT[f"{key}_at"], None, "date"
        if key == "attempts":
            return AT[key], None, "number"
        if key == "state":
            return AT[key], state_label, "text"
        if key == "channel":
            return AT[key], lambda channel, _: CHANNEL_NAMES[channel], "text"
        if key == "sender":
            return AT[key], lambda id, _: names.get(User, id) if id else "System", "text"
        if key in PEOPLE:
            model = PEOPLE[key]
            return AT[key], lambda id, _: names.get(model, id), "text"
        return AT[key], None, "text"  # recipient, subject, kind

    text = [
        (AT["subject"], None, "text"),
        (AT["body_text"], None, "text"),
        (AT["body_html_text"], None, "text"),
        (AT["state_reason"], None, "text"),
        (AT["uid"], None, "text"),
    ]
    return [column(key) for key in columns] + text


def describe_export(filter_args: list[tuple[str, str]], page: str, user) -> list[tuple[str, str]]:
    """The second sheet: which view and filters produced it, when and by whom."""
    filters = ", ".join(f"{k} = {v}" for k, v in filter_args) or "none (every message)"
    return [
        ("View", page),
        ("Filters", filters),
        ("Exported at", f"{now():%Y-%m-%d %H:%M:%S} UTC"),
        ("Exported by", f"{user.name} <{user.email}>" if user else "commlog"),
    ]


def export_query(filter_args: list[tuple[str, str]], person: tuple[str, int] | None):
    """The query an export writes: the log's filters, on a person's page or on the whole log."""
    from werkzeug.datastructures import MultiDict

    from shared.log_filters import LogFilter, person_condition

    needed = [getattr(Message, name) for name in EXPORTED_FIELDS]
    query = LogFilter.from_args(MultiDict(filter_args)).apply(
        Message.select(*needed).order_by(Message.id.desc())
    )
    if person:
        query = query.where(person_condition(*person))
    return query


def run_export_job(job_id: int, folder) -> None:
    """A big export, in the worker: the file goes to `folder`, progress to the Job row."""
    from shared.models import Event, Job, claim_job

    job = Job.get_by_id(job_id)
    if not claim_job(job):
        return
    params = job.params
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"export-{job.id}.xlsx"
    try:
        rows = write_export(
            str(path),
            export_query(params["filter_args"], params.get("person")),
            params["columns"],
            params["about"],
            progress=lambda n: Job.update(done=n).where(Job.id == job.id).execute(),
        )
    except Exception as exc:
        Job.update(state="failed", error=str(exc)[:500], finished_at=now()).where(
            Job.id == job.id
        ).execute()
        raise
    Job.update(state="done", done=rows, result_path=str(path), finished_at=now()).where(
        Job.id == job.id
    ).execute()
    Event.create(action="export", actor=job.user, detail=f"{rows} rows: {params['about'][1][1]}")


def remove_old_exports(folder, older_than_seconds: float = 86_400) -> int:
    """Export files are kept for a day."""
    import time

    from shared.models import Job

    removed = 0
    for path in folder.glob("export-*.xlsx") if folder.exists() else []:
        if time.time() - path.stat().st_mtime > older_than_seconds:
            path.unlink(missing_ok=True)
            Job.update(result_path=None).where(Job.result_path == str(path)).execute()
            removed += 1
    return removed
