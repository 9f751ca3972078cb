"""Backend health (SPEC §2, §5): the one place where a backend becomes OK, FAILING or
TEST_REQUIRED, where its incident opens and closes, where its held messages are held and
released, and where "Test now" runs. Functions that may create messages (alerts) or queue them
(released ones) return what the caller must wake the worker for."""

import time
from dataclasses import dataclass, field

from shared.alerts import send_incident_alert, send_recovery_alert
from shared.channels import CONFIG, DeliveryResult, open_sender, redact_url
from shared.db import db
from shared.models import Backend, Event, HealthCheck, Incident, Message, now
from shared.states import HELD_REASON, move

UNHEALTHY = ("FAILING", "TEST_REQUIRED")


@dataclass
class HealthChange:
    """What a health change left for the worker: messages to wake (released ones and alerts)."""

    to_wake: list[Message] = field(default_factory=list)
    released: int = 0
    held: int = 0


def _open_incident(backend: Backend, health: str, error: str) -> Incident:
    """The backend's open incident (now of this kind), or a new one."""
    incident = Incident.get_or_none(Incident.backend == backend.id, Incident.ended_at.is_null())
    if incident is None:
        return Incident.create(backend=backend, health=health, first_error=error)
    if incident.health != health:
        Incident.update(health=health).where(Incident.id == incident.id).execute()
        incident.health = health
    return incident


def hold_for_backend_test(backend: Backend, error: str) -> HealthChange:
    """The backend refused its own settings: TEST_REQUIRED, one incident with one alert, and
    its queued and waiting messages held at once, without a send attempt."""
    change = HealthChange()
    with db.atomic():
        changed = (
            Backend.update(health="TEST_REQUIRED", health_since=now(), last_error=error)
            .where(Backend.id == backend.id, Backend.health != "TEST_REQUIRED")
            .execute()
        )
        if changed:
            Event.create(action="backend_health", backend=backend, detail=f"needs a test: {error}")
        incident = _open_incident(backend, "TEST_REQUIRED", error)
        reason = HELD_REASON.format(name=backend.name)
        for state in ("QUEUED", "WAITING"):
            waiting = Message.select(Message.id).where(
                Message.backend == backend.id, Message.state == state
            )
            change.held += len(move(waiting, state, "BACKEND_TEST_REQUIRED", reason))
    change.to_wake += send_incident_alert(incident)
    return change


def mark_failing(backend: Backend, error: str) -> HealthChange:
    """The backend cannot be reached: FAILING (a backend waiting for its test stays so), one
    incident with one alert. Its messages keep their retry schedule."""
    change = HealthChange()
    with db.atomic():
        changed = (
            Backend.update(health="FAILING", health_since=now(), last_error=error)
            .where(Backend.id == backend.id, Backend.health.in_(("OK", "UNTESTED")))
            .execute()
        )
        if not changed:
            return change
        Event.create(action="backend_health", backend=backend, detail=f"failing: {error}")
        incident = _open_incident(backend, "FAILING", error)
    change.to_wake += send_incident_alert(incident)
    return change


def mark_ok(backend: Backend, actor=None) -> HealthChange:
    """The backend works: OK, its incident ends (with one "recovered" email if an alert went
    out), and its held messages go back to QUEUED, oldest first."""
    change = HealthChange()
    with db.atomic():
        changed = (
            Backend.update(health="OK", health_since=now(), last_error=None)
            .where(Backend.id == backend.id, Backend.health != "OK")
            .execute()
        )
        if changed:
            Event.create(action="backend_health", backend=backend, actor=actor, detail="OK")
        incident = Incident.get_or_none(Incident.backend == backend.id, Incident.ended_at.is_null())
        if incident:
            Incident.update(ended_at=now()).where(Incident.id == incident.id).execute()
        held = (
            Message.select(Message.id)
            .where(Message.backend == backend.id, Message.state == "BACKEND_TEST_REQUIRED")
            .order_by(Message.id)
        )
        released = move(
            held,
            "BACKEND_TEST_REQUIRED",
            "QUEUED",
            "released after a successful backend test",
            actor=actor,
            queued_at=now(),
        )
    change.released = len(released)
    change.to_wake += list(Message.select().where(Message.id.in_(released)))
    if incident:
        change.to_wake += send_recovery_alert(incident)
    return change


@dataclass
class TestResult:
    ok: bool
    words: str  # the result in plain words, secrets redacted
    change: HealthChange


def test_backend(backend: Backend, actor=None) -> TestResult:
    """Connect and authenticate as configured, sending nothing; record the result (history,
    Event) and move the backend's health accordingly."""
    started = time.monotonic()
    try:
        sender = open_sender(backend)
        try:
            result = sender.test()
        finally:
            sender.close()
    except Exception as exc:  # settings that cannot even be read
        result = DeliveryResult(CONFIG, f"The settings are unusable: {exc}", type(exc).__name__)
    ok = result.ok
    words = result.response.replace(backend.url, redact_url(backend.url))
    HealthCheck.create(
        backend=backend,
        ok=ok,
        outcome=result.outcome,
        detail=words,
        duration_ms=round((time.monotonic() - started) * 1000),
        actor=actor,
    )
    Backend.update(last_test_at=now(), last_error=None if ok else words).where(
        Backend.id == backend.id
    ).execute()
    Event.create(
        action="backend_tested",
        backend=backend,
        actor=actor,
        detail=f"{'passed' if ok else 'failed'}: {words}",
    )
    if ok:
        change = mark_ok(backend, actor)
    elif result.outcome == CONFIG:
        change = hold_for_backend_test(backend, words)
    else:
        change = mark_failing(backend, words)
    return TestResult(ok, words, change)
