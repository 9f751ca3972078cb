"""One message: its preview in the log, its detail page with the diagnosis, resend and cancel
(one or many), downloads, and composing a new one."""

import json

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from peewee import JOIN
from wtforms import SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from shared import bulk
from shared.actions import ActionError, cancel, resend
from shared.channels.email import build_mime
from shared.diagnosis import diagnose
from shared.message_json import message_document
from shared.models import Attempt, Backend, Client, Event, Group, Job, Message, User
from shared.outbox import MAX_LENGTHS, SubmissionError, create_message
from shared.recipients import recipient_problem
from shared.states import CANCELLABLE, RESENDABLE, STATES
from worker import tasks

bp = Blueprint("messages", __name__, url_prefix="/messages")


def get_message(uid: str) -> Message:
    return Message.get_or_none(Message.uid == uid) or abort(404)


@bp.get("/<uid>/preview")
@login_required
def preview(uid):
    """The whole message, shown in place under its row in the log."""
    message = get_message(uid)
    last = (
        Attempt.select()
        .where(Attempt.message == message.id)
        .order_by(Attempt.number.desc())
        .first()
    )
    return render_template(
        "messages/_preview.html",
        m=message,
        state=STATES[message.state],
        last=last,
        diagnosis=diagnose(message),
    )


@bp.get("/<uid>")
@login_required
def detail(uid):
    """Everything about one message: who, what, every try, its history and its resends."""
    message = get_message(uid)
    attempts = list(Attempt.select().where(Attempt.message == message.id).order_by(Attempt.number))
    events = list(
        Event.select(Event, User)
        .join(User, join_type=JOIN.LEFT_OUTER, on=(Event.actor == User.id))
        .where(Event.message == message.id)
        .order_by(Event.id)
    )
    resends = list(Message.select().where(Message.resend_of == message.id).order_by(Message.id))
    backends = (
        Backend.select().where(Backend.channel == message.channel).order_by(Backend.name)
        if current_user.is_admin
        else []
    )
    return render_template(
        "messages/detail.html",
        m=message,
        state=STATES[message.state],
        attempts=attempts,
        events=events,
        resends=resends,
        diagnosis=diagnose(message),
        states=STATES,
        resendable=message.state in RESENDABLE,
        cancellable=message.state in CANCELLABLE,
        backends=backends,
    )


@bp.post("/<uid>/resend")
@login_required
def resend_one(uid):
    """Resend a copy, optionally to a corrected recipient (admins may pick the backend)."""
    message = get_message(uid)
    recipient = (request.form.get("recipient") or message.recipient).strip()
    problem = recipient_problem(message.channel, recipient)
    backend = None
    if request.form.get("backend") and current_user.is_admin:
        backend_id = request.form.get("backend", type=int)
        # an absurd number is no backend (and would overflow the database's integer)
        if backend_id is not None and 0 < backend_id < 2**63:
            backend = Backend.get_or_none(
                Backend.id == backend_id, Backend.channel == message.channel
            )
        if backend is None:
            problem = "Choose one of the listed backends."
    if problem:
        flash(f"Not resent: {problem}", "error")
        return redirect(url_for("messages.detail", uid=uid))
    try:
        copy = resend(message, actor=current_user, recipient=recipient, backend=backend)
    except (ActionError, SubmissionError) as e:
        flash(f"Not resent: {e}", "error")
        return redirect(url_for("messages.detail", uid=uid))
    tasks.wake([copy])
    flash(f"Resent to {copy.recipient}. This is the new message; the original is unchanged.")
    return redirect(url_for("messages.detail", uid=copy.uid))


@bp.post("/<uid>/cancel")
@login_required
def cancel_one(uid):
    """Stop a message that has not been sent yet."""
    message = get_message(uid)
    try:
        cancelled = cancel(message, actor=current_user)
    except ActionError as e:
        flash(f"Not cancelled: {e}.", "error")
        return redirect(url_for("messages.detail", uid=uid))
    flash("Cancelled." if cancelled else "It was sent or changed meanwhile: not cancelled.")
    return redirect(url_for("messages.detail", uid=uid))


@bp.get("/<uid>/download")
@login_required
def download(uid):
    """The message as it was sent: an .eml file for email, JSON for SMS and webhooks."""
    message = get_message(uid)
    Event.create(action="download", message=message, actor=current_user)
    if message.channel == "email":
        data = build_mime(message, message.backend and _from_address(message.backend))
        name, kind = f"{message.uid}.eml", "message/rfc822"
    else:
        doc = message_document(message, history=False)
        data, name, kind = (
            json.dumps(doc, indent=2, ensure_ascii=False),
            f"{message.uid}.json",
            "application/json",
        )
    return Response(
        data, mimetype=kind, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


def _from_address(backend: Backend) -> str:
    from shared.channels.email import SmtpSettings

    try:
        return SmtpSettings.from_url(backend.url).from_address
    except ValueError:
        return "commlog@localhost"


def _bulk_request():
    """(action, uids, filter_args or None) from the log's bulk form."""
    action = request.form.get("action", "")
    uids = request.form.getlist("uid")
    filter_args = None
    if request.form.get("all_matching"):
        filter_args = [
            (k[2:], v) for k, values in request.form.lists() if k.startswith("f_") for v in values
        ]
    return action, uids, filter_args


@bp.post("/bulk/confirm")
@login_required
def confirm_bulk():
    """Say how many messages the action will touch, and to whom, before doing it."""
    action, uids, filter_args = _bulk_request()
    try:
        query = bulk.targets(action, uids, filter_args)
    except bulk.BulkError as e:
        return render_template("messages/_confirm.html", error=str(e))
    total = query.count()
    sample = [m.recipient for m in query.limit(10)]
    return render_template(
        "messages/_confirm.html",
        action=action,
        total=total,
        sample=sample,
        uids=uids,
        filter_args=filter_args,
    )


@bp.post("/bulk")
@login_required
def run_bulk():
    """Resend or cancel the chosen messages: at once when few, in the worker when many."""
    action, uids, filter_args = _bulk_request()
    try:
        query = bulk.targets(action, uids, filter_args)
    except bulk.BulkError as e:
        return render_template("messages/_confirm.html", error=str(e))
    total = query.count()
    if total > bulk.INLINE_LIMIT:
        job = bulk.start_job(action, uids, filter_args, current_user, total)
        tasks.start_job(job)
        return render_template("messages/_job.html", job=job)
    made, done = bulk.apply(action, list(query), current_user)
    tasks.wake(made)
    return render_template("messages/_bulk_done.html", action=action, done=done, total=total)


@bp.get("/jobs/<int:job_id>")
@login_required
def job(job_id):
    """A bulk job's progress; the fragment polls itself while the job runs."""
    job = Job.get_or_none(Job.id == job_id) or abort(404)
    if job.user_id != current_user.id and not current_user.is_admin:
        abort(403)
    return render_template("messages/_job.html", job=job)


class ComposeForm(FlaskForm):
    channel = SelectField(
        "Send as", choices=[SelectChoice("email", "Email"), SelectChoice("sms", "SMS")]
    )
    to_kind = SelectField(
        "To a",
        choices=[
            SelectChoice("client", "Client"),
            SelectChoice("group", "Group"),
            SelectChoice("user", "Staff member"),
        ],
    )
    client = SelectField("Client", coerce=int, default=0)
    group = SelectField("Group", coerce=int, default=0)
    user = SelectField("Staff member", coerce=int, default=0)
    subject = StringField("Subject", [Length(max=MAX_LENGTHS["subject"])])
    body = TextAreaField("Message", [DataRequired("Write the message."), Length(max=100_000)])


def _person_choices(form: ComposeForm) -> None:
    none = [SelectChoice(0, "— choose —")]
    form.client.choices = none + [
        SelectChoice(c.id, c.name) for c in Client.select().order_by(Client.name).limit(2000)
    ]
    form.group.choices = none + [
        SelectChoice(g.id, g.name) for g in Group.select().order_by(Group.name).limit(2000)
    ]
    form.user.choices = none + [
        SelectChoice(u.id, u.name) for u in User.select().where(User.active).order_by(User.name)
    ]


@bp.route("/new", methods=["GET", "POST"])
@login_required
def compose():
    """Write a manual email or SMS to a client, a group or a staff member."""
    form = ComposeForm()
    _person_choices(form)
    if request.method == "GET":
        for kind in ("client", "group", "user"):
            if request.args.get(kind, type=int):
                form.to_kind.data = kind
                getattr(form, kind).data = request.args.get(kind, type=int)
    if form.validate_on_submit():
        message = _compose(form)
        if message is not None:
            tasks.wake([message])
            flash(f"Queued for {message.recipient}.")
            return redirect(url_for("messages.detail", uid=message.uid))
    return render_template("messages/compose.html", form=form), 400 if form.errors else 200


def _compose(form: ComposeForm) -> Message | None:
    """The new message, or None with the problem added to the form."""
    kind, channel = form.to_kind.data, form.channel.data
    model = {"client": Client, "group": Group, "user": User}[kind]
    person = model.get_or_none(model.id == getattr(form, kind).data)
    if person is None:
        getattr(form, kind).errors.append(f"Choose the {form[kind].label.text.lower()}.")
        return None
    if kind == "group":
        address = person.contact_email if channel == "email" else person.contact_phone
    else:
        address = person.email if channel == "email" else person.phone
    if not address:
        what = "email address" if channel == "email" else "phone number"
        form.channel.errors.append(f"{person.name} has no {what}: choose the other channel.")
        return None
    if channel == "email" and not (form.subject.data or "").strip():
        form.subject.errors.append("Give the email a subject.")
        return None
    try:
        return create_message(
            channel,
            address,
            (form.subject.data or "").strip(),
            form.body.data,
            kind="manual",
            sender=current_user,
            **{kind: person},
        )
    except SubmissionError as e:
        form.channel.errors.append(e.problem[:1].upper() + e.problem[1:] + ".")
        return None
