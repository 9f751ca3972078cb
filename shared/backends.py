"""Adding and describing backends (gateways); one place for their rules."""

from shared.channels import redact_url
from shared.channels.email import SmtpSettings
from shared.db import db
from shared.models import CHANNELS, Backend, Event, Incident, Message, now
from shared.states import move
from shared.users import UserError, normalise_email


class BackendError(ValueError):
    pass


def check_url(channel: str, url: str) -> None:
    """Raise BackendError with a plain reason when the URL cannot work for this channel."""
    if channel == "email":
        try:
            SmtpSettings.from_url(url)
        except ValueError as e:
            raise BackendError(f"the URL is not usable: {e}") from None
    elif not url.startswith(("http://", "https://")):
        raise BackendError(f"a {channel} backend's URL starts with http:// or https://")


def add_backend(
    name: str,
    channel: str,
    url: str,
    is_default: bool = False,
    alert_emails: tuple[str, ...] = (),
    actor=None,
) -> Backend:
    name = name.strip()
    if not name:
        raise BackendError("the backend needs a name")
    if channel not in CHANNELS:
        raise BackendError(f"the channel must be one of: {', '.join(CHANNELS)}")
    check_url(channel, url)
    try:
        emails = [normalise_email(e) for e in alert_emails]
    except UserError as e:
        raise BackendError(str(e)) from None
    if Backend.select().where(Backend.name == name).exists():
        raise BackendError(f"a backend named {name!r} already exists")
    with db.atomic():
        first_of_channel = not Backend.select().where(Backend.channel == channel).exists()
        if is_default:
            Backend.update(is_default=False).where(Backend.channel == channel).execute()
        backend = Backend.create(
            name=name,
            channel=channel,
            url=url,
            is_default=is_default or first_of_channel,
            failure_alert_emails=emails,
        )
        Event.create(
            action="backend_added",
            backend=backend,
            actor=actor,
            detail=f"{name} ({channel}) {redact_url(url)}",
        )
    return backend


HELD_REASON = "Held until {name} passes a test: its settings were refused."


def hold_for_backend_test(backend: Backend, error: str) -> int:
    """The backend refused its own settings: mark it TEST_REQUIRED (opening an incident once)
    and hold its queued and waiting messages at once, without a send attempt. Returns how many
    messages were held now."""
    with db.atomic():
        changed = (
            Backend.update(health="TEST_REQUIRED", health_since=now(), last_error=error)
            .where(Backend.id == backend.id, Backend.health != "TEST_REQUIRED")
            .execute()
        )
        if changed:
            Event.create(action="backend_health", backend=backend, detail=f"TEST_REQUIRED: {error}")
            Incident.create(backend=backend, health="TEST_REQUIRED", first_error=error)
        reason = HELD_REASON.format(name=backend.name)
        held = 0
        for state in ("QUEUED", "WAITING"):
            waiting = Message.select(Message.id).where(
                Message.backend == backend.id, Message.state == state
            )
            held += len(move(waiting, state, "BACKEND_TEST_REQUIRED", reason))
    return held


def release_held(backend: Backend, actor=None) -> list[int]:
    """The backend passed a test: it is OK again, its incident ends, and its held messages go
    back to QUEUED, oldest first. Returns their ids (the caller wakes the worker)."""
    with db.atomic():
        Backend.update(health="OK", health_since=now(), last_error=None).where(
            Backend.id == backend.id, Backend.health != "OK"
        ).execute()
        Incident.update(ended_at=now()).where(
            Incident.backend == backend.id, Incident.ended_at.is_null()
        ).execute()
        held = (
            Message.select(Message.id)
            .where(Message.backend == backend.id, Message.state == "BACKEND_TEST_REQUIRED")
            .order_by(Message.id)
        )
        return move(
            held,
            "BACKEND_TEST_REQUIRED",
            "QUEUED",
            "released after a successful backend test",
            actor=actor,
            queued_at=now(),
        )
