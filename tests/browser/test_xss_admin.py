"""Hostile names where test_xss.py does not look: group names, backend names, errors and health
checks, alert addresses, message kinds in the filter bar, and the pick lists of the compose
page, seen by an admin on every page that shows them. Nothing runs, no dialog opens and
nothing is fetched from another host."""

from playwright.sync_api import expect

from shared.health import hold_for_backend_test
from shared.models import Backend, Client, Group, HealthCheck
from shared.tokens import create_token
from shared.users import create_user
from tests.browser.conftest import log_in_through_form, make_message
from tests.browser.test_xss import PAYLOAD, assert_nothing_ran


def test_hostile_names_on_admin_pages_run_nothing(page, watch, outside_world, admin_user):
    backend = Backend.create(
        name="Mail " + PAYLOAD,
        channel="email",
        url="smtp://127.0.0.1:25",
        is_default=True,
        failure_alert_emails=["ops" + PAYLOAD + "@example.com"],
    )
    hold_for_backend_test(backend, "Refused: " + PAYLOAD)
    HealthCheck.create(backend=backend, ok=False, outcome="config_error", detail=PAYLOAD)
    group = Group.create(name="Group " + PAYLOAD, contact_email="group@example.com")
    Client.create(name="Client " + PAYLOAD, email="c@example.com")
    make_message(
        "group@example.com", "Hello", "Hi", "FAILED", group=group, kind=("kind" + PAYLOAD)[:100]
    )
    staff = create_user("hostile@example.com", "support", "long password 1", "Staff " + PAYLOAD)
    create_token(("T " + PAYLOAD)[:100], owner=staff)
    log_in_through_form(page, admin_user.email)

    pages = [
        "/",  # the banner and the backends' health
        "/log",  # the filter bar lists backends and kinds
        "/backends/",
        f"/backends/{backend.id}",
        f"/backends/{backend.id}/edit",
        f"/groups/{group.id}",
        "/messages/new",  # the client and group pick lists
        "/account/",
        "/admin/users/",  # staff and token names
        f"/admin/users/{staff.id}/edit",
        "/admin/tokens/",  # the token's name, and its owner's in the owner list
        "/admin/policies/",
    ]
    for path in pages:
        response = page.goto(path)
        assert response.status == 200, path
        assert_nothing_ran(page, watch, outside_world)
    # and the names were there, as text
    page.goto(f"/backends/{backend.id}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Mail " + PAYLOAD)
    expect(page.locator("main")).to_contain_text("Refused: " + PAYLOAD)
    page.goto(f"/groups/{group.id}")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Group " + PAYLOAD)
    page.goto("/messages/new")
    expect(page.locator("select#client option", has_text="Client ")).to_have_text(
        "Client " + PAYLOAD
    )
    assert_nothing_ran(page, watch, outside_world)
