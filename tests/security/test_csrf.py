"""CSRF: every state-changing console route in the app's url_map refuses a request without this
session's token (no token, a made-up one, another session's, in the form or in htmx's header),
and nothing changes. The same requests with the token do change things, so the refusal is the
token's doing. The API takes no session cookie at all, which is why it needs no token."""

import pytest

from shared.models import Backend, Message, UserPreference
from shared.tokens import create_token
from tests.conftest import PASSWORD, csrf_token_from, log_in
from tests.security.conftest import ROUTES, STATE_CHANGING, page_token, snapshot

REFUSED = "expired or was not sent from this console"


def state_changing_routes():
    return [
        (rule, endpoint, method)
        for rule, endpoint, methods in ROUTES
        if not endpoint.startswith("api.")
        for method in sorted(STATE_CHANGING & set(methods))
    ]


def fill(rule: str, world: dict) -> str:
    for name, value in world.items():
        for converter in ("int:", "any(clients, groups, users):", ""):
            rule = rule.replace(f"<{converter}{name}>", str(value))
    return rule


def would_work(world: dict, admin_id: int) -> dict:
    """Fields that make each form's request succeed when the token is there."""
    return {
        "email": "admin@example.com",
        "password": "correct horse battery",
        "column": "state",
        "action": "cancel",
        "uid": world["uid"],
        "channel": "email",
        "to_kind": "user",
        "user": str(admin_id),
        "subject": "Hello",
        "body": "Sent by a forged request",
        "name": "forged",
        "url": "smtp://127.0.0.1:2525",
        "fallback": "0",
        "recipient": "someone@example.com",
        "current_password": "correct horse battery",
        "new_password": "forged password 123",
        "confirm": "forged password 123",
    }


def forged_requests(other_token: str):
    """(what, headers, token field) of each forgery."""
    return [
        ("no token", {}, None),
        ("no token, htmx", {"HX-Request": "true"}, None),
        ("a made-up token", {}, "ImZvcmdlZCI.forged.token"),
        ("a made-up token in htmx's header", {"HX-Request": "true", "X-CSRFToken": "forged"}, None),
        ("another session's token", {}, other_token),
        ("another session's token in htmx's header", {"X-CSRFToken": other_token}, None),
    ]


@pytest.mark.parametrize(
    ("rule", "endpoint", "method"),
    state_changing_routes(),
    ids=[f"{m} {e}" for _, e, m in state_changing_routes()],
)
def test_no_state_change_without_this_sessions_token(
    app, admin_client, admin_user, support_user, world, rule, endpoint, method
):
    other = app.test_client()
    log_in(other, support_user.email)
    other_token = page_token(other)
    path = fill(rule, world)
    before = snapshot()
    for what, headers, token in forged_requests(other_token):
        data = would_work(world, admin_user.id)
        if token:
            data["csrf_token"] = token
        response = admin_client.open(path, method=method, data=data, headers=headers)
        assert response.status_code == 400, f"{what}: {response.status_code}"
        assert REFUSED in response.get_data(as_text=True), what
        assert snapshot() == before, what
    # still logged in, still admin: the refusals did not end the session either
    assert admin_client.get("/account/").status_code == 200


def test_anonymous_forgeries_are_refused_too(app, support_user):
    """Login CSRF: a forged login would log the victim into the attacker's account."""
    browser = app.test_client()
    before = snapshot()
    for headers in ({}, {"HX-Request": "true"}):
        response = browser.post(
            "/login",
            data={"email": support_user.email, "password": "correct horse battery"},
            headers=headers,
        )
        assert response.status_code in (400, 401)
        assert browser.get("/account/").status_code == 302
    response = browser.post("/messages/new", data={"body": "x"}, headers={"HX-Request": "true"})
    assert response.status_code == 401
    assert "Your session has ended" in response.get_data(as_text=True)
    assert snapshot() == before


def test_the_same_requests_with_the_token_do_change_things(admin_client, world, admin_user):
    """The control: the payloads above are good ones, refused only for the missing token."""
    data = would_work(world, admin_user.id)
    token = page_token(admin_client)
    assert admin_client.post("/log/columns", data={**data, "csrf_token": token}).status_code == 302
    assert UserPreference.get().log_columns == ["state"]
    response = admin_client.post("/messages/new", data={**data, "csrf_token": token})
    assert response.status_code == 302
    assert Message.select().where(Message.body_text == data["body"]).count() == 1
    response = admin_client.post(
        "/backends/new", headers={"X-CSRFToken": token}, data={**data, "channel": "email"}
    )
    assert response.status_code == 302
    assert Backend.select().where(Backend.name == "forged").count() == 1


def test_state_changing_console_routes_are_counted(capsys):
    routes = state_changing_routes()
    endpoints = {e for _, e, _ in routes}
    assert {"auth.login", "auth.logout", "messages.compose", "backends.new"} <= endpoints
    with capsys.disabled():
        print(f"\nCSRF: {len(routes)} state-changing console routes, each refused without token")


def test_the_api_ignores_the_session_cookie(admin_client, world):
    """Exempt from CSRF because a browser's cookie opens nothing there: only a bearer token."""
    before = snapshot()
    body = {"channel": "email", "recipient": "ann@example.com", "subject": "x", "body_text": "y"}
    response = admin_client.post("/api/messages", json=body)
    assert response.status_code == 401
    assert response.get_json()["errors"][0]["field"] == "Authorization"
    assert snapshot() == before
    # and with a token it is the token that counts
    _, secret = create_token("ci")
    response = admin_client.post(
        "/api/messages", json=body, headers={"Authorization": f"Bearer {secret}"}
    )
    assert response.status_code == 202


def test_a_login_form_token_does_not_outlive_its_session(app, support_user):
    browser = app.test_client()
    token = csrf_token_from(browser.get("/login").get_data(as_text=True))
    stranger = app.test_client()  # another browser, with the first one's token only
    response = stranger.post(
        "/login",
        data={"email": support_user.email, "password": PASSWORD, "csrf_token": token},
    )
    assert response.status_code == 400
    assert REFUSED in response.get_data(as_text=True)
