"""Each console form, one field at a time: a good submission with one field replaced by garbage.
Unusual but fine text (RTL marks, emoji, combining marks) is taken and kept exactly; NUL bytes
and oversized values are refused with a message and change nothing; nothing is ever a 500.
Every form route of the app (GET and POST on one address) needs a good submission here."""

import itertools

import pytest
from werkzeug.security import generate_password_hash

from shared.models import Backend, Message, User
from tests.conftest import PASSWORD, csrf_token_from
from tests.security.conftest import ROUTES, snapshot
from tests.security.test_csrf import fill
from tests.security.test_garbage import says_why

MB = 1024 * 1024
FINE = {
    "rtl": "\u202eexe.txt\u202c",
    "emoji": "💥👩‍👩‍👧‍👦",
    "combining": "Z" + "\u0336\u0301\u0308" * 30,
}
REFUSED = {
    "nul": "before\x00after",
    "nul alone": "\x00",
    "huge": "x" * MB,
}
OTHER = {
    "empty": "",
    "blank": " \t ",
    "long": "é" * 2_000,
    "wrong type": "[object Object]",
    "huge number": "9" * 40,
    "negative": "-1",
}
counter = itertools.count()


def valid(world: dict) -> dict:
    """A good submission for each form route."""
    n = next(counter)
    return {
        "messages.compose": {
            "channel": "email",
            "to_kind": "client",
            "client": str(world["client_id"]),
            "subject": "Hello",
            "body": "Dear Ann",
        },
        "backends.new": {
            "name": f"second {n}",
            "channel": "email",
            "url": "smtp://127.0.0.1:2525",
            "fallback": "0",
            "alert_emails": "ops@example.com",
        },
        "backends.edit": {"url": "smtp://127.0.0.1:2526", "fallback": "0", "alert_emails": ""},
        "account.index": {
            "current_password": PASSWORD,
            "new_password": "another password 1",
            "confirm": "another password 1",
        },
        "auth.login": {"email": "admin@example.com", "password": PASSWORD},
        "staff.new": {"email": f"new{n}@example.com", "name": "New Person", "role": "support"},
        "staff.edit": {"name": "Sam Support", "role": "support", "active": "y"},
    }


def form_routes():
    return [(r, e) for r, e, m in ROUTES if {"GET", "POST"} <= set(m) and not r.startswith("/api")]


def test_every_form_route_has_a_good_submission(world):
    assert {e for _, e in form_routes()} == set(valid(world))


@pytest.mark.parametrize(("rule", "endpoint"), form_routes(), ids=[e for _, e in form_routes()])
def test_one_bad_field_at_a_time(app, admin_client, admin_user, world, rule, endpoint):
    path = fill(rule, world)
    problems = []
    for field in valid(world)[endpoint]:
        for kind, value in {**FINE, **REFUSED, **OTHER}.items():
            data = {**valid(world)[endpoint], field: value}
            client = admin_client if endpoint != "auth.login" else app.test_client()
            data["csrf_token"] = csrf_token_from(client.get(path).get_data(as_text=True))
            before = snapshot()
            response = client.post(path, data=data)
            what = f"{field}={kind}"
            if response.status_code >= 500:
                problems.append(f"{what}: {response.status_code}")
            elif kind in REFUSED and response.status_code not in (400, 413):
                problems.append(f"{what}: taken ({response.status_code})")
            elif response.status_code in (400, 413):
                if response.status_code == 400 and not says_why(response):
                    problems.append(f"{what}: 400 without a message")
                if snapshot() != before:
                    problems.append(f"{what}: refused, yet the database changed")
            elif response.status_code == 302 and kind in FINE:
                kept = _stored(endpoint, field, value)
                if kept is False:
                    problems.append(f"{what}: taken but not kept exactly")
            _restore(endpoint, admin_user)
    assert problems == []


def _stored(endpoint: str, field: str, value: str):
    """Whether an accepted value was kept as typed (None: not a field that is stored as is)."""
    if endpoint == "messages.compose" and field in ("subject", "body"):
        column = {"subject": Message.subject, "body": Message.body_text}[field]
        return Message.select().where(column == value.strip()).exists()
    if endpoint == "backends.new" and field == "name":
        return Backend.select().where(Backend.name == value).exists()
    if endpoint in ("staff.new", "staff.edit") and field == "name":
        return User.select().where(User.name == value).exists()
    return None


def _restore(endpoint: str, admin: User) -> None:
    """Undo what an accepted submission did, so that the next starts from the same place."""
    if endpoint == "account.index":
        User.update(password_hash=generate_password_hash(PASSWORD)).where(
            User.id == admin.id
        ).execute()
