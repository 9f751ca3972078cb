"""Retention: deleting old messages, or only their content."""

import re
from datetime import timedelta

from shared.db import db
from shared.models import Event, Message, now
from shared.states import STATES

FINAL = [name for name, state in STATES.items() if state.final]
CHUNK = 1000  # short transactions: the worker and the console keep going while this runs
UNITS = {"d": "days", "h": "hours", "w": "weeks"}


def parse_age(text: str) -> timedelta:
    """'90d', '12h', '4w' → a timedelta; ValueError with a plain reason otherwise."""
    match = re.fullmatch(r"\s*(\d+)\s*([dhw])\s*", text or "")
    if not match or int(match.group(1)) == 0:
        raise ValueError(f"'{text}' is not an age: write it like 90d, 12h or 4w")
    return timedelta(**{UNITS[match.group(2)]: int(match.group(1))})


def purge(older_than: timedelta, bodies_only: bool = False, actor=None) -> int:
    """Delete finished messages created before now - older_than (with their attempts and
    events), or with `bodies_only` keep them and drop their text and HTML bodies. Unfinished
    messages are never touched. Returns how many messages were purged."""
    cutoff = now() - older_than
    old = Message.select(Message.id).where(Message.created_at < cutoff, Message.state.in_(FINAL))
    if bodies_only:
        old = old.where((Message.body_text != "") | Message.body_html.is_null(False))
    total = 0
    while True:
        ids = [row.id for row in old.limit(CHUNK)]
        if not ids:
            break
        with db.atomic():
            if bodies_only:
                Message.update(body_text="", body_html=None, body_html_text="").where(
                    Message.id.in_(ids)
                ).execute()
            else:
                Message.update(resend_of=None).where(Message.resend_of.in_(ids)).execute()
                Message.update(resolved_by=None).where(Message.resolved_by.in_(ids)).execute()
                Message.delete().where(Message.id.in_(ids)).execute()
        total += len(ids)
    what = "bodies of" if bodies_only else ""
    Event.create(
        action="purge",
        actor=actor,
        detail=f"purged {what} {total} messages created before {cutoff:%Y-%m-%d %H:%M}",
    )
    return total
