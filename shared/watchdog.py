"""The stuck-queue watchdog: which workers are alive, how long the oldest due message has
waited, and one alert to admins when no worker has been alive for 5 minutes while messages
are due. It runs in the console, since a dead worker cannot raise it."""

from datetime import timedelta

from peewee import fn

from shared.alerts import ALERT_KIND, alert_path
from shared.models import Event, Message, User, WorkerHeartbeat, now
from shared.outbox import create_message

ALIVE_WITHIN = timedelta(minutes=1)  # workers beat every 10 s
STALL_AFTER = timedelta(minutes=5)


def workers_alive() -> list[WorkerHeartbeat]:
    return list(
        WorkerHeartbeat.select()
        .where(WorkerHeartbeat.last_beat_at >= now() - ALIVE_WITHIN)
        .order_by(WorkerHeartbeat.host, WorkerHeartbeat.pid)
    )


def oldest_due_at():
    """When the message that has waited longest for a worker became due, or None."""
    queued = Message.select(fn.MIN(Message.queued_at)).where(Message.state == "QUEUED").scalar()
    waiting = (
        Message.select(fn.MIN(Message.next_attempt_at))
        .where(Message.state == "WAITING", Message.next_attempt_at <= now())
        .scalar()
    )
    times = [t for t in (queued, waiting) if t is not None]
    return min(times) if times else None


def stalled_alert() -> list[Message]:
    """When no worker has beaten for STALL_AFTER while messages are due (and for at least as
    long), create one alert per stall; returns the alert messages (QUEUED) to send directly."""
    last_beat = WorkerHeartbeat.select(fn.MAX(WorkerHeartbeat.last_beat_at)).scalar()
    due_at = oldest_due_at()
    cutoff = now() - STALL_AFTER
    if due_at is None or due_at > cutoff or (last_beat is not None and last_beat > cutoff):
        return []
    already = (
        Event.select()
        .where(Event.action == "watchdog_alert", Event.created_at > (last_beat or due_at))
        .exists()
    )
    if already:
        return []
    Event.create(
        action="watchdog_alert",
        detail=f"no worker alive since {last_beat or 'ever'}; due since {due_at}",
    )
    path = alert_path()
    if path is None:
        return []
    waiting = max(1, round((now() - due_at).total_seconds() / 60))
    subject = "[commlog] No worker is running: messages are not being sent"
    body = (
        f"No commlog worker has been alive for more than {STALL_AFTER.seconds // 60} "
        f"minutes{f' (last seen {last_beat:%Y-%m-%d %H:%M} UTC)' if last_beat else ''}, and "
        f"messages have been waiting for {waiting} minutes.\n\n"
        "Start the worker (`commlog worker`, or restart its service); nothing is lost, "
        "everything due goes out when it runs.\n"
    )
    return [
        create_message("email", u.email, subject, body, kind=ALERT_KIND, user=u, backend=path)
        for u in User.select().where(User.role == "admin", User.active)
    ]
