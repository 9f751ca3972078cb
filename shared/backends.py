"""Adding and describing backends (gateways); one place for their rules."""

from shared.channels import redact_url
from shared.channels.email import SmtpSettings
from shared.db import db
from shared.models import CHANNELS, Backend, Event
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
