"""Backends (admin): their health, settings, "Test now", and sending what is due now."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from peewee import fn
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from console.roles import admin_required
from shared.backends import BackendError, add_backend, edit_backend
from shared.channels import redact_url
from shared.health import test_backend
from shared.models import Backend, HealthCheck, Incident, Message, now
from shared.watchdog import oldest_due_at, workers_alive
from worker import tasks

bp = Blueprint("backends", __name__, url_prefix="/backends")

CHANNEL_CHOICES = [
    SelectChoice("email", "Email"),
    SelectChoice("sms", "SMS"),
    SelectChoice("webhook", "Webhook"),
]
URL_HELP = {
    "email": "smtp://user:password@host:587?tls=starttls&from=noreply@example.com",
    "sms": "https://api.provider.example/v1/messages?token=…&status_url=…/{id}",
    "webhook": "https://hooks.example.com/?secret=…",
}


class BackendForm(FlaskForm):
    name = StringField("Name", [DataRequired("Give the backend a name."), Length(max=100)])
    channel = SelectField("Channel", choices=CHANNEL_CHOICES)
    url = StringField("URL", [DataRequired("Enter the backend's URL."), Length(max=2000)])
    is_default = BooleanField("Default backend for its channel")
    fallback = SelectField("Fallback while this one is failing", coerce=int, default=0)
    alert_emails = TextAreaField(
        "Backend Failure Email addresses (one per line)", [Length(max=5000)]
    )


def held_counts() -> dict[int, int]:
    """Messages held for a backend test, by backend id (one grouped query)."""
    rows = (
        Message.select(Message.backend, fn.COUNT(Message.id).alias("n"))
        .where(Message.state == "BACKEND_TEST_REQUIRED")
        .group_by(Message.backend)
    )
    return {row.backend_id: row.n for row in rows}


def get_backend(backend_id: int) -> Backend:
    return Backend.get_or_none(Backend.id == backend_id) or abort(404)


def _fallback_choices(form: BackendForm, backend: Backend | None) -> None:
    others = Backend.select().order_by(Backend.name)
    form.fallback.choices = [(0, "None")] + [
        (b.id, f"{b.name} ({b.channel})") for b in others if not backend or b.id != backend.id
    ]


@bp.get("/")
@admin_required
def index():
    """List every backend with its health, last test and held messages."""
    backends = list(Backend.select().order_by(Backend.channel, Backend.name))
    return render_template(
        "backends/index.html",
        backends=backends,
        held=held_counts(),
        last_checks=_last_checks(backends),
        redact=redact_url,
        workers=workers_alive(),
        oldest_due=oldest_due_at(),
        now=now(),
    )


def _last_checks(backends) -> dict[int, HealthCheck]:
    checks = {}
    for backend in backends:
        check = (
            HealthCheck.select()
            .where(HealthCheck.backend == backend.id)
            .order_by(HealthCheck.id.desc())
            .first()
        )
        if check:
            checks[backend.id] = check
    return checks


@bp.get("/<int:backend_id>")
@admin_required
def detail(backend_id):
    """One backend: settings, health history and incidents."""
    backend = get_backend(backend_id)
    checks = (
        HealthCheck.select()
        .where(HealthCheck.backend == backend.id)
        .order_by(HealthCheck.id.desc())
        .limit(50)
    )
    incidents = (
        Incident.select()
        .where(Incident.backend == backend.id)
        .order_by(Incident.id.desc())
        .limit(10)
    )
    return render_template(
        "backends/detail.html",
        backend=backend,
        checks=checks,
        incidents=incidents,
        held=held_counts().get(backend.id, 0),
        redact=redact_url,
    )


@bp.route("/new", methods=["GET", "POST"])
@admin_required
def new():
    """Add a backend."""
    form = BackendForm()
    _fallback_choices(form, None)
    if form.validate_on_submit():
        try:
            backend = add_backend(
                form.name.data,
                form.channel.data,
                form.url.data.strip(),
                form.is_default.data,
                _emails(form),
                actor=current_user,
            )
            if form.fallback.data:
                edit_backend(
                    backend, fallback=Backend.get_by_id(form.fallback.data), actor=current_user
                )
        except BackendError as e:
            form.url.errors.append(_sentence(e))
        else:
            flash(f'Added {backend.name}. Press "Test now" to check that it works.')
            return redirect(url_for("backends.index"))
    return render_template("backends/form.html", form=form, backend=None, help=URL_HELP), (
        400 if form.errors else 200
    )


@bp.route("/<int:backend_id>/edit", methods=["GET", "POST"])
@admin_required
def edit(backend_id):
    """Change a backend; passwords show as **** and are kept unless retyped."""
    backend = get_backend(backend_id)
    form = BackendForm(obj=None if request.method == "POST" else backend)
    _fallback_choices(form, backend)
    if request.method == "GET":
        form.url.data = redact_url(backend.url)
        form.fallback.data = backend.fallback_id or 0
        form.alert_emails.data = "\n".join(backend.failure_alert_emails)
    form.name.data = backend.name  # the name is the backend's identity; not editable here
    form.channel.data = backend.channel
    if form.validate_on_submit():
        fallback = (
            Backend.get_or_none(Backend.id == form.fallback.data) if form.fallback.data else None
        )
        try:
            edit_backend(
                backend,
                url=form.url.data,
                is_default=form.is_default.data,
                fallback=fallback,
                alert_emails=_emails(form),
                actor=current_user,
            )
        except BackendError as e:
            form.url.errors.append(_sentence(e))
        else:
            flash(f'Saved {backend.name}. Press "Test now" to check the new settings.')
            return redirect(url_for("backends.detail", backend_id=backend.id))
    return render_template("backends/form.html", form=form, backend=backend, help=URL_HELP), (
        400 if form.errors else 200
    )


@bp.post("/<int:backend_id>/test")
@admin_required
def test(backend_id):
    """Test now: connect and log in, send nothing; release held messages when it passes."""
    backend = get_backend(backend_id)
    result = test_backend(backend, actor=current_user)
    tasks.wake(result.change.to_wake)
    if result.ok:
        released = result.change.released
        text = f"{backend.name} works: {result.words}" + (
            f" {released} held messages were released and are being sent." if released else ""
        )
    else:
        text = f"{backend.name} failed its test: {result.words}"
    if request.headers.get("HX-Request"):
        backend = Backend.get_by_id(backend.id)
        return render_template(
            "backends/_row.html",
            backend=backend,
            held=held_counts(),
            last_checks=_last_checks([backend]),
            redact=redact_url,
            result=text,
            result_ok=result.ok,
        )
    flash(text)
    return redirect(request.referrer if _same_site(request.referrer) else url_for("backends.index"))


@bp.post("/send-now")
@admin_required
def send_now():
    """Send outgoing messages now: the sweep, at once."""
    done = tasks.run_sweep()
    flash(
        f"Recovered {done['recovered']} stuck messages; {done['due']} messages due now were "
        f"handed to the worker."
    )
    return redirect(url_for("backends.index"))


def _emails(form) -> list[str]:
    return [line.strip() for line in (form.alert_emails.data or "").splitlines() if line.strip()]


def _sentence(error: Exception) -> str:
    text = str(error)
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


def _same_site(url: str | None) -> bool:
    return bool(url) and url.startswith(request.host_url)
