"""Roles: a support user gets a 403 on every admin route of the app's url_map, every method,
plain and htmx, with a real page (or fragment) that says so; nothing changes. The admin routes
are the views marked by console.roles.admin_required; every view of an admin-only blueprint must
be one of them."""

import pytest

from console.roles import ADMIN_BLUEPRINTS, is_admin_only
from shared.models import Backend, HealthCheck, Job
from tests.security.conftest import ROUTES, page_token, snapshot
from tests.security.test_csrf import fill, would_work


def admin_routes(app):
    return [
        (rule, endpoint, method)
        for rule, endpoint, methods in ROUTES
        if is_admin_only(app.view_functions[endpoint])
        for method in methods
    ]


def test_every_view_of_an_admin_blueprint_is_admin_only(app):
    for _, endpoint, _ in ROUTES:
        if endpoint.split(".")[0] in ADMIN_BLUEPRINTS:
            assert is_admin_only(app.view_functions[endpoint]), endpoint


def test_support_staff_get_403_on_every_admin_route(
    app, support_client, admin_client, world, admin_user, capsys
):
    routes = admin_routes(app)
    assert len({e for _, e, _ in routes}) >= 6  # the backends pages and actions at least
    token = page_token(support_client)
    before = snapshot()
    refused, tried = 0, 0
    for rule, endpoint, method in routes:
        path = fill(rule, world)
        for headers in ({}, {"HX-Request": "true"}):
            data = None
            if method != "GET":
                data = {**would_work(world, admin_user.id), "csrf_token": token}
            response = support_client.open(path, method=method, data=data, headers=headers)
            tried += 1
            text = response.get_data(as_text=True)
            if response.status_code == 403 and "Ask an admin" in text:
                refused += 1
                if headers:  # htmx gets the fragment, not a whole page inside the target
                    assert "<html" not in text, endpoint
            else:
                print(f"not refused: {method} {path} {headers} -> {response.status_code}")
    assert snapshot() == before
    assert HealthCheck.select().count() == 0  # no backend was tested either
    with capsys.disabled():
        print(
            f"\nroles: {refused}/{tried} admin requests refused to support staff ({len(routes)}"
            f" route-methods, plain and htmx) = {100 * refused / tried:.0f} %"
        )
    assert refused == tried
    # the control: the admin opens the same pages
    for rule, _, method in routes:
        if method == "GET":
            assert admin_client.get(fill(rule, world)).status_code == 200, rule


def test_support_staff_cannot_pick_a_backend_when_resending(support_client, world, database):
    """The backend choice on a resend is an admin's: support staff's is ignored."""
    from shared.models import Message

    other = Backend.create(name="other", channel="email", url="smtp://127.0.0.1:26")
    Message.update(state="FAILED").where(Message.uid == world["uid"]).execute()
    token = page_token(support_client)
    response = support_client.post(
        f"/messages/{world['uid']}/resend", data={"csrf_token": token, "backend": other.id}
    )
    assert response.status_code == 302
    copy = Message.get(Message.resend_of.is_null(False))
    assert copy.backend_id != other.id


def test_support_staff_cannot_see_someone_elses_jobs(support_client, world):
    job = Job.get_by_id(world["job_id"])  # the admin's export
    assert support_client.get(f"/exports/{job.id}").status_code == 403
    assert support_client.get(f"/exports/{job.id}/file").status_code == 403
    assert support_client.get(f"/messages/jobs/{job.id}").status_code == 403


@pytest.mark.parametrize("htmx", [False, True])
def test_the_403_page_keeps_the_console_around_it(support_client, world, htmx):
    headers = {"HX-Request": "true"} if htmx else {}
    response = support_client.get("/backends/", headers=headers)
    html = response.get_data(as_text=True)
    assert response.status_code == 403
    assert ('aria-label="Main"' in html) is not htmx
