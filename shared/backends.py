"""Adding and describing backends (gateways); one place for their rules."""

from shared.channels import open_sender, redact_url, restore_secrets
from shared.channels.email import SmtpSettings
from shared.db import db
from shared.models import CHANNELS, Backend, Event
from shared.users import UserError, normalise_email


class BackendError(ValueError):
    pass


def check_url(channel: str, url: str) -> None:
    """Raise BackendError with a plain reason when the URL cannot work for this channel."""
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        raise BackendError("the URL must not contain spaces or control characters")
    if channel == "email":
        try:
            SmtpSettings.from_url(url)
        except ValueError as e:
            raise BackendError(f"the URL is not usable: {e}") from None
    elif not url.startswith(("http://", "https://")):
        raise BackendError(f"a {channel} backend's URL starts with http:// or https://")
    else:
        # the channel's own reading of the URL (a webhook needs secret=, and so on): refused
        # now rather than at the first send
        try:
            open_sender(Backend(channel=channel, url=url)).http.session.close()
        except ValueError as e:
            raise BackendError(f"the URL is not usable: {e}") from None


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


def edit_backend(
    backend: Backend,
    url: str | None = None,
    is_default: bool | None = None,
    fallback: Backend | None | bool = False,
    alert_emails=None,
    actor=None,
) -> Backend:
    """Change a backend's settings; a URL whose secrets still read **** keeps the stored ones.
    `fallback=False` leaves the fallback as it is, None removes it."""
    changes = []
    if url is not None:
        url = restore_secrets(url.strip(), backend.url)
        check_url(backend.channel, url)
        if url != backend.url:
            changes.append(f"URL {redact_url(backend.url)} → {redact_url(url)}")
            backend.url = url
    if fallback is not False:
        if fallback is not None and (
            fallback.id == backend.id or fallback.channel != backend.channel
        ):
            raise BackendError("the fallback must be another backend of the same channel")
        if (fallback.id if fallback else None) != backend.fallback_id:
            changes.append(f"fallback {fallback.name if fallback else 'none'}")
            backend.fallback = fallback
    if alert_emails is not None:
        try:
            emails = [normalise_email(e) for e in alert_emails if e.strip()]
        except UserError as e:
            raise BackendError(str(e)) from None
        if emails != backend.failure_alert_emails:
            changes.append(f"alert emails {', '.join(emails) or 'none'}")
            backend.failure_alert_emails = emails
    with db.atomic():
        if is_default is not None and is_default != backend.is_default:
            if is_default:
                Backend.update(is_default=False).where(Backend.channel == backend.channel).execute()
            backend.is_default = is_default
            changes.append("default" if is_default else "no longer the default")
        backend.save()
        if changes:
            Event.create(
                action="backend_edited",
                backend=backend,
                actor=actor,
                detail=f"{backend.name}: " + "; ".join(changes),
            )
    return backend
