"""Logging in under attack: failed logins are limited per account and per client address (429,
counted in the database so that every web process sees the same count), a password change ends
the other sessions, session cookies are HttpOnly, SameSite and (over HTTPS) Secure, and `next`
only leads to this site."""

import re
from datetime import timedelta

import pytest
import requests

from shared import login_limits
from shared.models import Event, LoginAttempt, User, now
from tests.conftest import PASSWORD, csrf_token_from, log_in

ATTACKER = {"REMOTE_ADDR": "203.0.113.66"}
NEW_PASSWORD = "a much better passphrase"


def try_login(client, email, password, **kwargs):
    token = csrf_token_from(client.get("/login", **kwargs).get_data(as_text=True))
    return client.post(
        "/login", data={"email": email, "password": password, "csrf_token": token}, **kwargs
    )


def test_an_account_is_paused_after_ten_failures_even_for_the_right_password(
    client, support_user, admin_user
):
    for _ in range(login_limits.PER_ACCOUNT):
        assert try_login(client, support_user.email, "guess").status_code == 400
    response = try_login(client, support_user.email, PASSWORD)
    assert response.status_code == 429
    words = " ".join(response.get_data(as_text=True).split())
    assert "Too many failed logins" in words and "try again in 15 minutes" in words
    assert 0 < int(response.headers["Retry-After"]) <= 15 * 60
    assert client.get("/log").status_code == 302  # not logged in
    # the email is the account's however it is typed
    assert try_login(client, " SUPPORT@example.com", PASSWORD).status_code == 429
    # another account from the same address is not paused
    assert try_login(client, admin_user.email, PASSWORD).status_code == 302


def test_an_address_is_paused_after_thirty_failures_whatever_the_accounts(
    app, support_user, admin_user
):
    attacker = app.test_client()
    for i in range(login_limits.PER_ADDRESS):
        response = try_login(attacker, f"guess{i}@example.com", "guess", environ_base=ATTACKER)
        assert response.status_code == 400
    response = try_login(attacker, admin_user.email, PASSWORD, environ_base=ATTACKER)
    assert response.status_code == 429
    assert "Too many failed logins" in response.get_data(as_text=True)
    # staff elsewhere log in as usual
    assert try_login(app.test_client(), admin_user.email, PASSWORD).status_code == 302


def test_the_pause_ends_when_the_failures_leave_the_window(client, support_user):
    for _ in range(login_limits.PER_ACCOUNT):
        try_login(client, support_user.email, "guess")
    assert try_login(client, support_user.email, PASSWORD).status_code == 429
    # refused attempts do not extend the pause: still ten rows
    assert LoginAttempt.select().count() == login_limits.PER_ACCOUNT
    LoginAttempt.update(at=now() - timedelta(minutes=16)).execute()
    assert try_login(client, support_user.email, PASSWORD).status_code == 302
    # and a successful login clears the account's count
    assert LoginAttempt.select().where(LoginAttempt.email == support_user.email).count() == 0


@pytest.fixture
def two_consoles(database, start_console):
    """Two `commlog web` processes (as two gunicorn machines would be) on one database."""
    return [start_console()[0], start_console()[0]]


def web_login(url: str, email: str, password: str) -> requests.Response:
    session = requests.Session()
    token = csrf_token_from(session.get(f"{url}/login", timeout=10).text)
    return session.post(
        f"{url}/login",
        data={"email": email, "password": password, "csrf_token": token},
        allow_redirects=False,
        timeout=10,
    )


def test_the_count_holds_across_web_processes(two_consoles, support_user):
    first, second = two_consoles
    # half the failures through each process: neither alone reaches the limit
    for i in range(login_limits.PER_ACCOUNT):
        response = web_login(first if i % 2 else second, support_user.email, "guess")
        assert response.status_code == 400
    for url in (first, second):
        response = web_login(url, support_user.email, PASSWORD)
        assert response.status_code == 429, url
        assert "Too many failed logins" in response.text
        assert "Retry-After" in response.headers


@pytest.fixture
def second_session(app, support_user):
    """The same staff member logged in on another computer."""
    other = app.test_client()
    assert log_in(other, support_user.email).status_code == 302
    return other


def change(client, current, new, confirm=None):
    token = csrf_token_from(client.get("/account/").get_data(as_text=True))
    return client.post(
        "/account/",
        data={
            "csrf_token": token,
            "current_password": current,
            "new_password": new,
            "confirm": confirm if confirm is not None else new,
        },
    )


def test_the_account_page_is_linked_from_every_page(support_client):
    html = support_client.get("/log").get_data(as_text=True)
    assert 'href="/account/"' in html
    page = support_client.get("/account/").get_data(as_text=True)
    assert "Change my password" in page and 'name="current_password"' in page


def test_a_password_change_needs_the_current_password(support_client, support_user):
    response = change(support_client, "not it", NEW_PASSWORD)
    assert response.status_code == 400
    assert "That is not your current password." in response.get_data(as_text=True)
    response = change(support_client, PASSWORD, NEW_PASSWORD, confirm="something else")
    assert "The two new passwords differ." in response.get_data(as_text=True)
    response = change(support_client, PASSWORD, "short")
    assert "at least 10" in response.get_data(as_text=True) or "10 to 1000" in (
        response.get_data(as_text=True)
    )
    assert User.get_by_id(support_user.id).password_hash == support_user.password_hash
    # a wrong current password counts like a failed login: a stolen session cannot guess it
    assert LoginAttempt.select().where(LoginAttempt.email == support_user.email).count() == 1


def test_a_password_change_ends_the_other_sessions_and_keeps_this_one(
    app, support_client, second_session, support_user
):
    assert second_session.get("/log").status_code == 200
    response = change(support_client, PASSWORD, NEW_PASSWORD)
    assert response.status_code == 302
    page = support_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Your other sessions are logged out." in page
    assert support_client.get("/log").status_code == 200  # this one carries on
    assert second_session.get("/log").status_code == 302  # the other one is logged out
    assert Event.get(Event.action == "password_changed").actor_id == support_user.id
    # the old password no longer opens the account; the new one does
    assert try_login(app.test_client(), support_user.email, PASSWORD).status_code == 400
    assert try_login(app.test_client(), support_user.email, NEW_PASSWORD).status_code == 302


def test_an_old_session_cookie_replayed_after_the_change_is_refused(
    app, support_client, support_user
):
    stolen = support_client.get_cookie("session").value
    assert change(support_client, PASSWORD, NEW_PASSWORD).status_code == 302
    thief = app.test_client()
    thief.set_cookie("session", stolen)
    assert thief.get("/log").status_code == 302


def cookie_flags(response) -> set[str]:
    header = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("session="))
    return {part.strip().split("=")[0].lower() for part in header.split(";")[1:]} | {
        part.strip().lower() for part in header.split(";") if part.strip().startswith("SameSite")
    }


def test_session_cookies_are_httponly_and_samesite_and_not_secure_over_http(client, support_user):
    flags = cookie_flags(log_in(client, support_user.email))
    assert {"httponly", "samesite=lax"} <= flags
    assert "secure" not in flags  # http://127.0.0.1: a Secure cookie would never come back


def test_session_cookies_are_secure_when_the_console_is_reached_over_https(
    database, support_user, monkeypatch
):
    from console import create_app

    monkeypatch.setenv("COMMLOG_BASE_URL", "https://commlog.example.com")
    client = create_app({"TESTING": True}).test_client()
    flags = cookie_flags(log_in(client, support_user.email))
    assert {"httponly", "samesite=lax", "secure"} <= flags


@pytest.mark.parametrize(
    "next_url",
    [
        "https://evil.example/",
        "//evil.example/",
        "///evil.example/",
        "/\\evil.example",
        "\\\\evil.example",
        "/\t/evil.example",
        "/\n/evil.example",
        "https:evil.example",
        " //evil.example",
        "javascript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
    ],
)
def test_next_never_leaves_the_site(client, support_user, next_url):
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    response = client.post(
        "/login",
        query_string={"next": next_url},
        data={"email": support_user.email, "password": PASSWORD, "csrf_token": token},
    )
    location = response.headers["Location"]
    assert location.startswith("/") and not re.match(r"^/[/\\\s]", location), location
    # and when already logged in, GET /login?next= goes the same way
    location = client.get("/login", query_string={"next": next_url}).headers["Location"]
    assert location.startswith("/") and not re.match(r"^/[/\\\s]", location), location


@pytest.mark.real_password_hashes
def test_an_unknown_email_takes_as_long_as_a_wrong_password(support_user):
    """The password is hashed either way, so timing does not tell which emails have a login
    (without it an unknown email answers ~50 times faster: one indexed lookup, no scrypt)."""
    from statistics import median
    from time import perf_counter

    from shared.users import authenticate

    def took(email: str) -> float:
        start = perf_counter()
        assert authenticate(email, "wrong password") is None
        return perf_counter() - start

    known = median(took(support_user.email) for _ in range(5))
    unknown = median(took("nobody@example.com") for _ in range(5))
    assert unknown > known / 3, (known, unknown)


def test_behind_a_proxy_the_limit_counts_each_client_not_the_proxy(
    database, support_user, admin_user, monkeypatch
):
    from console import create_app

    monkeypatch.setenv("COMMLOG_TRUSTED_PROXIES", "1")
    app = create_app({"TESTING": True})
    proxy = {"REMOTE_ADDR": "10.0.0.1"}  # every request comes through the balancer

    def through_proxy(client_address: str, email: str, password: str):
        headers = {"X-Forwarded-For": client_address}
        client = app.test_client()
        token = csrf_token_from(
            client.get("/login", headers=headers, environ_base=proxy).get_data(as_text=True)
        )
        return client.post(
            "/login",
            data={"email": email, "password": password, "csrf_token": token},
            headers=headers,
            environ_base=proxy,
        )

    for i in range(login_limits.PER_ADDRESS):
        assert through_proxy("198.51.100.7", f"guess{i}@example.com", "x").status_code == 400
    assert through_proxy("198.51.100.7", admin_user.email, PASSWORD).status_code == 429
    # another client behind the same balancer logs in
    assert through_proxy("192.0.2.44", admin_user.email, PASSWORD).status_code == 302
    assert {a.address for a in LoginAttempt.select()} == {"198.51.100.7"}
