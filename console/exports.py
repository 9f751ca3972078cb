"""Export to Excel: the current view of the log (or of a client, group or staff page), with the
full text of every message. Small exports download at once; big ones run in the worker."""

import tempfile

from flask import Blueprint, abort, render_template, request, send_file
from flask_login import current_user, login_required

from console.log import chosen_columns
from shared.config import load_config
from shared.export import describe_export, export_query, write_export
from shared.log_filters import LogFilter
from shared.models import Client, Event, Group, Job, Message, User, now
from worker import tasks

bp = Blueprint("exports", __name__)

LARGE = 20_000  # more rows than this are exported by the worker, with a progress bar
PEOPLE = {"client": Client, "group": Group, "user": User}


def exports_folder():
    return load_config().home / "exports"


@bp.get("/log/export.xlsx")
@login_required
def log_export():
    """Export the log as filtered."""
    return _export(None, "Communications log")


@bp.get("/<any(clients, groups, users):kind>/<int:person_id>/export.xlsx")
@login_required
def person_export(kind, person_id):
    """Export a client's, group's or staff member's messages as filtered."""
    model = PEOPLE[kind[:-1]]
    person = model.get_or_none(model.id == person_id) or abort(404)
    return _export((kind[:-1], person.id), f"{kind[:-1].capitalize()} {person.name}")


def _export(person, label: str):
    log_filter = LogFilter.from_args(request.args)
    if log_filter.errors:
        return render_template(
            "errors/page.html",
            status=400,
            title="Nothing exported",
            text=" ".join(log_filter.errors),
        ), 400
    filter_args = log_filter.to_args()
    query = export_query(filter_args, person)
    columns = chosen_columns()
    about = describe_export(filter_args, label, current_user)
    capped = query.order_by().select(Message.id).limit(LARGE + 1).count()
    if capped > LARGE:
        job = Job.create(
            kind="export",
            user=current_user.id,
            total=query.order_by().count(),
            params={
                "filter_args": filter_args,
                "person": person,
                "columns": columns,
                "about": about,
            },
        )
        tasks.start_job(job)
        return render_template("exports/job.html", job=job)
    handle = tempfile.NamedTemporaryFile(suffix=".xlsx", dir=_ensure(exports_folder()))  # noqa: SIM115
    rows = write_export(handle, query, columns, about)
    handle.seek(0)
    Event.create(action="export", actor=current_user.id, detail=f"{rows} rows: {about[1][1]}")
    response = send_file(
        handle,
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        as_attachment=True,
        download_name=_file_name(),
    )
    response.call_on_close(handle.close)
    return response


@bp.get("/exports/<int:job_id>")
@login_required
def job(job_id):
    """A big export's progress; the fragment polls itself until the file is ready."""
    job = _own_job(job_id)
    template = "exports/_progress.html" if request.headers.get("HX-Request") else "exports/job.html"
    return render_template(template, job=job)


@bp.get("/exports/<int:job_id>/file")
@login_required
def download(job_id):
    job = _own_job(job_id)
    if job.state != "done" or not job.result_path:
        abort(404)
    return send_file(job.result_path, as_attachment=True, download_name=_file_name(job.created_at))


def _own_job(job_id: int) -> Job:
    job = Job.get_or_none(Job.id == job_id, Job.kind == "export") or abort(404)
    if job.user_id != current_user.id and not current_user.is_admin:
        abort(403)
    return job


def _file_name(at=None) -> str:
    return f"commlog-export-{(at or now()):%Y-%m-%d-%H%M}.xlsx"


def _ensure(folder):
    folder.mkdir(parents=True, exist_ok=True)
    return folder
