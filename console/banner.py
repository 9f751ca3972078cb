"""The banner on every page while a backend is failing or needs a test (SPEC §4)."""

from flask import request
from flask_login import current_user
from peewee import fn

from shared.health import UNHEALTHY
from shared.models import Backend, Event, Message, User


def backend_banner() -> dict:
    """Template context: the unhealthy backends with their held counts, and whom to ask."""
    if not current_user.is_authenticated or request.headers.get("HX-Request"):
        return {}  # htmx fragments never show the banner: skip its queries
    unhealthy = list(Backend.select().where(Backend.health.in_(UNHEALTHY)).order_by(Backend.name))
    if not unhealthy:
        return {}
    held = dict(
        Message.select(Message.backend, fn.COUNT(Message.id))
        .where(
            Message.backend.in_([b.id for b in unhealthy]),
            Message.state.in_(("BACKEND_TEST_REQUIRED", "WAITING")),
        )
        .group_by(Message.backend)
        .tuples()
    )
    unsent_alerts = {
        e.backend_id
        for e in Event.select(Event.backend).where(
            Event.action == "alert_undeliverable", Event.backend.in_([b.id for b in unhealthy])
        )
    }
    admins = [
        u.name
        for u in User.select(User.name)
        .where(User.role == "admin", User.active)
        .order_by(User.name)
        .limit(3)
    ]
    return {
        "banner": [
            {"backend": b, "held": held.get(b.id, 0), "alert_unsent": b.id in unsent_alerts}
            for b in unhealthy
        ],
        "admins": admins,
    }
