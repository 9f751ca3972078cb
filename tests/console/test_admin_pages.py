"""The admin pages for users, API tokens and retry policies: what an admin can do there, what
each refuses, and that every change is in the Event trail."""

import re

import pytest

from shared.models import ApiToken, Event, RetryPolicy, User
from shared.retry import policy_for
from shared.tokens import authenticate, create_token
from tests.conftest import PASSWORD, csrf_token_from, log_in


@pytest.fixture
def admin_client(app, admin_user):
    client = app.test_client()
    assert log_in(client, admin_user.email).status_code == 302
    return client


def token_of(client, path: str = "/account/") -> str:
    return csrf_token_from(client.get(path).get_data(as_text=True))


def shown_secret(html: str) -> str:
    match = re.search(r'class="secret"><code>([^<]+)</code>', html)
    assert match, "no secret shown on the page"
    return match.group(1)


def test_an_admin_adds_a_user_who_logs_in_with_the_password_shown_once(app, admin_client):
    page = admin_client.get("/admin/users/new")
    assert page.status_code == 200
    response = admin_client.post(
        "/admin/users/new",
        data={
            "email": "Nia@Example.com",
            "name": "Nia Support",
            "role": "support",
            "csrf_token": csrf_token_from(page.get_data(as_text=True)),
        },
    )
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    password = shown_secret(response.get_data(as_text=True))
    user = User.get(User.email == "nia@example.com")
    assert (user.name, user.role, user.active) == ("Nia Support", "support", True)
    assert password not in user.password_hash
    newcomer = app.test_client()
    assert log_in(newcomer, "nia@example.com", password).status_code == 302
    listing = admin_client.get("/admin/users/").get_data(as_text=True)
    assert "Nia Support" in listing and password not in listing
    created = Event.get(Event.action == "user_created", Event.detail.contains("nia@"))
    assert created.actor_id == User.get(User.role == "admin").id


def test_a_new_user_needs_a_usable_email_and_one_not_taken(admin_client, support_user):
    for email, words in (
        ("not an address", "not a valid email address"),
        (support_user.email, "already exists"),
        ("", "Enter their email address."),
    ):
        response = admin_client.post(
            "/admin/users/new",
            data={
                "email": email,
                "name": "X",
                "role": "support",
                "csrf_token": token_of(admin_client),
            },
        )
        assert response.status_code == 400
        assert words in response.get_data(as_text=True)
    assert User.select().count() == 2


def test_switching_a_login_off_ends_its_sessions_and_making_admin_opens_admin_pages(
    app, admin_client, support_user
):
    support = app.test_client()
    log_in(support, support_user.email)
    assert support.get("/admin/users/").status_code == 403
    edit = f"/admin/users/{support_user.id}/edit"
    data = {"name": "Sam Support", "role": "admin", "active": "y"}
    response = admin_client.post(edit, data={**data, "csrf_token": token_of(admin_client, edit)})
    assert response.status_code == 302
    assert support.get("/admin/users/").status_code == 200  # an admin from the next request
    response = admin_client.post(
        edit, data={"name": "Sam Support", "role": "admin", "csrf_token": token_of(admin_client)}
    )
    assert response.status_code == 302
    assert not User.get_by_id(support_user.id).active
    assert support.get("/log").status_code == 302  # logged out at once
    assert log_in(app.test_client(), support_user.email).status_code != 302
    details = [e.detail for e in Event.select().where(Event.action == "user_updated")]
    assert details == [
        "support@example.com: role support → admin",
        "support@example.com: login allowed → switched off",
    ]


def test_the_last_admin_cannot_be_demoted_or_switched_off(admin_client, admin_user):
    edit = f"/admin/users/{admin_user.id}/edit"
    for data in (
        {"name": "Ada", "role": "support", "active": "y"},
        {"name": "Ada", "role": "admin"},
    ):
        response = admin_client.post(edit, data={**data, "csrf_token": token_of(admin_client)})
        assert response.status_code == 400
        assert "only admin left" in response.get_data(as_text=True)
    kept = User.get_by_id(admin_user.id)
    assert (kept.role, kept.active) == ("admin", True)


def test_a_new_password_for_a_user_ends_their_sessions(app, admin_client, support_user):
    support = app.test_client()
    log_in(support, support_user.email)
    response = admin_client.post(
        f"/admin/users/{support_user.id}/password", data={"csrf_token": token_of(admin_client)}
    )
    assert response.status_code == 200
    password = shown_secret(response.get_data(as_text=True))
    assert support.get("/log").status_code == 302
    assert log_in(app.test_client(), support_user.email, PASSWORD).status_code != 302
    assert log_in(app.test_client(), support_user.email, password).status_code == 302
    assert Event.get(Event.action == "password_set").detail == support_user.email


def test_an_admin_makes_a_token_that_opens_the_api_and_revokes_it(admin_client, admin_user):
    response = admin_client.post(
        "/admin/tokens/new",
        data={
            "name": "core banking",
            "owner": str(admin_user.id),
            "csrf_token": token_of(admin_client),
        },
    )
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    secret = shown_secret(response.get_data(as_text=True))
    token = ApiToken.get(ApiToken.name == "core banking")
    assert token.owner_id == admin_user.id and secret not in token.token_hash
    assert authenticate(f"Bearer {secret}").id == token.id  # also notes its use
    listing = admin_client.get("/admin/tokens/").get_data(as_text=True)
    assert "core banking" in listing and secret not in listing and "never" not in listing
    response = admin_client.post(
        f"/admin/tokens/{token.id}/revoke", data={"csrf_token": token_of(admin_client)}
    )
    assert response.status_code == 302
    assert ApiToken.get_by_id(token.id).revoked_at is not None
    assert "revoked" in admin_client.get("/admin/tokens/").get_data(as_text=True)
    api = admin_client.application.test_client()
    denied = api.get("/api/messages/nope", headers={"Authorization": f"Bearer {secret}"})
    assert denied.status_code == 403
    actions = [e.action for e in Event.select().order_by(Event.id)]
    assert actions[-2:] == ["token_created", "token_revoked"]


def test_a_token_needs_a_name_not_in_use_and_an_owner(admin_client, admin_user, support_user):
    create_token("ci")
    User.update(active=False).where(User.id == support_user.id).execute()
    for name, owner, words in (
        ("", admin_user.id, "Give the token a name."),
        ("ci", admin_user.id, "already exists"),
        ("new", None, "Choose who to ask about it."),
        ("new", support_user.id, "Not a valid choice"),  # a login switched off
    ):
        data = {"name": name, "csrf_token": token_of(admin_client)}
        if owner:
            data["owner"] = str(owner)
        response = admin_client.post("/admin/tokens/new", data=data)
        assert response.status_code == 400 and words in response.get_data(as_text=True), name
    assert ApiToken.select().count() == 1


def test_an_admin_changes_a_retry_policy_in_plain_words(admin_client):
    page = admin_client.get("/admin/policies/").get_data(as_text=True)
    assert "4 retries after 2, 6, 18 and 54 seconds" in page  # the defaults, for every channel
    data = {
        "sms-max_retries": "2",
        "sms-backoff_delay": "10",
        "sms-delay_factor": "2",
        "sms-backoff_max_delay": "60",
        "csrf_token": token_of(admin_client),
    }
    response = admin_client.post("/admin/policies/sms", data=data)
    assert response.status_code == 302
    policy = policy_for("sms")
    assert (policy.max_retries, policy.backoff_delay, policy.delay_factor) == (2, 10, 2)
    assert policy.jitter is False  # the box was not ticked
    page = admin_client.get("/admin/policies/").get_data(as_text=True)
    assert "2 retries after 10 and 20 seconds" in page
    assert (
        Event.get(Event.action == "policy_set").detail == "sms: 2 retries after 10 and 20 seconds"
    )


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("max_retries", "-2", "must be at least -1"),
        ("max_retries", "many", "Not a valid integer value"),
        ("backoff_delay", "0", "must be more than 0"),
        ("delay_factor", "0.5", "must be at least 1"),
        ("backoff_max_delay", "1", "cannot be shorter than the first delay"),
        ("backoff_max_delay", "1e12", "must be at most 2,592,000 seconds"),
        ("backoff_delay", "", "Enter a number of seconds."),
    ],
)
def test_a_retry_policy_refuses_what_it_cannot_take(admin_client, field, value, words):
    data = {
        "email-max_retries": "4",
        "email-backoff_delay": "2",
        "email-delay_factor": "3",
        "email-backoff_max_delay": "3600",
        "csrf_token": token_of(admin_client),
    }
    data[f"email-{field}"] = value
    response = admin_client.post("/admin/policies/email", data=data)
    assert response.status_code == 400
    assert words in response.get_data(as_text=True)
    assert RetryPolicy.select().count() == 0
    assert not Event.select().where(Event.action == "policy_set").exists()


def test_an_unknown_channel_has_no_policy_page(admin_client):
    response = admin_client.post("/admin/policies/fax", data={"csrf_token": token_of(admin_client)})
    assert response.status_code == 404


def test_admins_see_the_admin_pages_in_the_menu_and_support_staff_do_not(
    admin_client, support_client
):
    admin_menu = admin_client.get("/").get_data(as_text=True)
    support_menu = support_client.get("/").get_data(as_text=True)
    for link in ("/admin/users/", "/admin/tokens/", "/admin/policies/"):
        assert f'href="{link}"' in admin_menu
        assert f'href="{link}"' not in support_menu
        assert support_client.get(link).status_code == 403
