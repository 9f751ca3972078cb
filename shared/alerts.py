"""Alerts to admins about backend incidents: one email when a backend fails, one when it
recovers, however many messages fail in between. Alerts are messages too (kind
`system.backend_alert`), so they are in the log like everything else."""

import logging

from shared.config import load_config
from shared.models import Backend, Event, Incident, Message, User, now
from shared.outbox import create_message

ALERT_KIND = "system.backend_alert"
ALERT_BACKEND = "admin-alerts"  # made from COMMLOG_ALERT_SMTP_URL when it is set
log = logging.getLogger("commlog.alerts")


def alert_recipients(backend: Backend) -> list[tuple[str, User | None]]:
    """The backend's Backend Failure Email addresses, then every active admin, once each."""
    admins = {u.email: u for u in User.select().where(User.role == "admin", User.active)}
    recipients = [(email, admins.get(email)) for email in backend.failure_alert_emails]
    seen = {email for email, _ in recipients}
    recipients += [(email, user) for email, user in admins.items() if email not in seen]
    return recipients


def alert_path(failing: Backend | None = None) -> Backend | None:
    """How alerts go out: COMMLOG_ALERT_SMTP_URL, or else a healthy email backend other than
    the failing one."""
    url = load_config().alert_smtp_url
    if url:
        path, created = Backend.get_or_create(
            name=ALERT_BACKEND, defaults={"channel": "email", "url": url}
        )
        if not created and path.url != url:
            path.url = url
            path.save()
        return path
    return (
        Backend.select()
        .where(
            Backend.channel == "email",
            Backend.id != (failing.id if failing else -1),
            Backend.health.in_(("OK", "UNTESTED")),
        )
        .order_by(Backend.is_default.desc(), Backend.id)
        .first()
    )


def held_count(backend: Backend) -> int:
    return (
        Message.select()
        .where(
            Message.backend == backend.id,
            Message.state.in_(("BACKEND_TEST_REQUIRED", "WAITING", "QUEUED")),
        )
        .count()
    )


def send_incident_alert(incident: Incident) -> list[Message]:
    """The one alert of this incident (nothing if it went already). Returns the alert
    messages, QUEUED: the caller wakes the worker."""
    won = (
        Incident.update(alert_sent_at=now())
        .where(Incident.id == incident.id, Incident.alert_sent_at.is_null())
        .execute()
    )
    if not won:
        return []
    backend = incident.backend
    base = load_config().base_url
    if incident.health == "TEST_REQUIRED":
        subject = f"[commlog] {backend.name} needs a test: its settings were refused"
        action = (
            "Its messages are held and no retries are used up. Fix its settings, then "
            'press "Test now": the held messages then go out by themselves.'
        )
    else:
        subject = f"[commlog] {backend.name} is failing"
        action = (
            "Messages keep their retry schedule (or go through the fallback backend if "
            "one is set). Check that the gateway is up and reachable."
        )
    body = (
        f'The {backend.channel} backend "{backend.name}" has been '
        f"{'refusing its settings' if incident.health == 'TEST_REQUIRED' else 'failing'} "
        f"since {incident.started_at:%Y-%m-%d %H:%M} UTC.\n\n"
        f"What failed: {incident.first_error}\n"
        f"Messages waiting or held: {held_count(backend)}\n\n"
        f"{action}\n\nOpen the backend: {base}/backends/{backend.id}\n"
    )
    return _send(backend, subject, body)


def send_recovery_alert(incident: Incident) -> list[Message]:
    """One "recovered" email, for an incident whose alert went out."""
    if incident.alert_sent_at is None:
        return []
    won = (
        Incident.update(recovery_sent_at=now())
        .where(Incident.id == incident.id, Incident.recovery_sent_at.is_null())
        .execute()
    )
    if not won:
        return []
    backend = incident.backend
    minutes = max(1, round((now() - incident.started_at).total_seconds() / 60))
    subject = f"[commlog] {backend.name} has recovered"
    body = (
        f'The {backend.channel} backend "{backend.name}" works again after about '
        f"{minutes} minutes (since {incident.started_at:%Y-%m-%d %H:%M} UTC).\n"
        f"Held messages have been released and go out by themselves.\n\n"
        f"Open the backend: {load_config().base_url}/backends/{backend.id}\n"
    )
    return _send(backend, subject, body)


def _send(backend: Backend, subject: str, body: str) -> list[Message]:
    path = alert_path(backend)
    if path is None:
        log.warning("no way to email an alert about %s: %s", backend.name, subject)
        Event.create(
            action="alert_undeliverable",
            backend=backend,
            detail=f"{subject} (no working email backend to send it through)",
        )
        return []
    return [
        create_message("email", email, subject, body, kind=ALERT_KIND, user=user, backend=path)
        for email, user in alert_recipients(backend)
    ]
