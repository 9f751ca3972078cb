"""Login, logout and CSRF."""

import pytest

from shared.models import Event
from tests.conftest import PASSWORD, csrf_token_from, log_in

PAGES = ["/", "/log", "/log?before=10"]


@pytest.mark.parametrize("path", PAGES)
def test_every_page_but_login_sends_an_anonymous_user_to_log_in(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


def test_the_login_page_has_the_fixed_field_names(client):
    html = client.get("/login").get_data(as_text=True)
    for name in ("email", "password", "csrf_token"):
        assert f'name="{name}"' in html


def test_a_right_password_logs_in_and_opens_the_log(client, support_user):
    response = log_in(client, "SUPPORT@example.com ")
    assert response.status_code == 302 and response.headers["Location"] == "/log"
    page = client.get("/log")
    assert page.status_code == 200 and "Sam Support" in page.get_data(as_text=True)


def test_a_wrong_password_is_refused_in_plain_words(client, support_user):
    response = log_in(client, support_user.email, "not the password")
    assert response.status_code == 400
    assert "don&#39;t match any login" in response.get_data(as_text=True)
    assert client.get("/log").status_code == 302
    assert Event.get(Event.action == "login_failed").detail.startswith("support@example.com")


def test_an_unknown_email_gets_the_same_answer(client, support_user):
    response = log_in(client, "nobody@example.com")
    assert response.status_code == 400
    assert "don&#39;t match any login" in response.get_data(as_text=True)


def test_an_inactive_user_cannot_log_in(client, support_user):
    support_user.active = False
    support_user.save()
    assert log_in(client, support_user.email).status_code == 400


def test_a_login_post_without_the_csrf_token_is_refused(client, support_user):
    response = client.post("/login", data={"email": support_user.email, "password": PASSWORD})
    assert response.status_code == 400
    assert "expired or was not sent from this console" in response.get_data(as_text=True)
    assert client.get("/log").status_code == 302


def test_logout_needs_the_csrf_token_and_ends_the_session(support_client):
    assert support_client.post("/logout").status_code == 400
    assert support_client.get("/log").status_code == 200
    token = csrf_token_from(support_client.get("/log").get_data(as_text=True))
    assert support_client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert support_client.get("/log").status_code == 302


def test_htmx_requests_carry_the_token_in_a_header(support_client):
    html = support_client.get("/log").get_data(as_text=True)
    assert 'hx-headers=\'{"X-CSRFToken": "' in html
    token = csrf_token_from(html)
    response = support_client.post("/logout", headers={"X-CSRFToken": token, "HX-Request": "true"})
    assert response.status_code == 302


@pytest.mark.parametrize(
    ("next_url", "expected"),
    [
        ("/log?state=FAILED", "/log?state=FAILED"),
        ("https://evil.example/", "/log"),
        ("//evil.example/x", "/log"),
        ("/\\evil.example", "/log"),
        ("javascript:alert(1)", "/log"),
    ],
)
def test_next_only_goes_to_pages_of_this_site(client, support_user, next_url, expected):
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    response = client.post(
        "/login",
        query_string={"next": next_url},
        data={"email": support_user.email, "password": PASSWORD, "csrf_token": token},
    )
    assert response.headers["Location"] == expected


def test_a_password_change_ends_other_sessions(support_client, support_user):
    assert support_client.get("/log").status_code == 200
    support_user.session_version += 1
    support_user.save()
    assert support_client.get("/log").status_code == 302


def test_session_cookie_is_httponly_and_samesite(client, support_user):
    response = log_in(client, support_user.email)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
