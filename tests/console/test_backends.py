"""The backends pages (admin only), the banner, and the backend commands."""

from datetime import timedelta

import pytest

from shared.health import hold_for_backend_test, mark_failing
from shared.models import Backend, Event, HealthCheck, Message, WorkerHeartbeat, now
from shared.outbox import create_message
from shared.watchdog import stalled_alert
from tests.conftest import csrf_token_from, free_port, log_in, run_commlog

SECRET = "s3cret-Pa55"


@pytest.fixture
def backend(database):
    return Backend.create(
        name="office",
        channel="email",
        is_default=True,
        url=f"smtp://mailer:{SECRET}@127.0.0.1:{free_port()}?tls=none",
    )


@pytest.fixture
def admin_client(client, admin_user):
    assert log_in(client, admin_user.email).status_code == 302
    return client


def token(client, path="/backends/"):
    return csrf_token_from(client.get(path).get_data(as_text=True))


ADMIN_PAGES = ["/backends/", "/backends/new", "/backends/{id}", "/backends/{id}/edit"]
ADMIN_ACTIONS = [
    "/backends/new",
    "/backends/{id}/edit",
    "/backends/{id}/test",
    "/backends/send-now",
]


@pytest.mark.parametrize("path", ADMIN_PAGES)
@pytest.mark.parametrize("htmx", [False, True])
def test_support_staff_get_403_on_every_backend_page(support_client, backend, path, htmx):
    headers = {"HX-Request": "true"} if htmx else {}
    response = support_client.get(path.format(id=backend.id), headers=headers)
    assert response.status_code == 403
    assert "Ask an admin" in response.get_data(as_text=True)


@pytest.mark.parametrize("path", ADMIN_ACTIONS)
def test_support_staff_get_403_on_every_backend_action(support_client, backend, path):
    csrf = csrf_token_from(support_client.get("/log").get_data(as_text=True))
    before = Backend.get_by_id(backend.id).__data__
    response = support_client.post(
        path.format(id=backend.id), data={"csrf_token": csrf, "url": "smtp://evil:25"}
    )
    assert response.status_code == 403
    assert Backend.get_by_id(backend.id).__data__ == before
    assert HealthCheck.select().count() == 0


def test_support_staff_see_no_backends_link(support_client, backend):
    assert "/backends/" not in support_client.get("/log").get_data(as_text=True)


def test_admins_see_health_and_no_password_anywhere(admin_client, backend):
    hold_for_backend_test(backend, "The mail server refused the username or password (535)")
    for path in ("/backends/", f"/backends/{backend.id}", f"/backends/{backend.id}/edit", "/log"):
        html = admin_client.get(path).get_data(as_text=True)
        assert SECRET not in html, path
    html = admin_client.get("/backends/").get_data(as_text=True)
    assert "Test required" in html and "mailer:****@" in html


def test_add_a_backend_and_refuse_a_bad_one_plainly(admin_client, database):
    csrf = token(admin_client, "/backends/new")
    bad = admin_client.post(
        "/backends/new",
        data={"csrf_token": csrf, "name": "x", "channel": "email", "url": "http://nope"},
    )
    assert bad.status_code == 400
    assert "starts with smtp:// or smtps://" in bad.get_data(as_text=True)
    assert Backend.select().count() == 0
    good = admin_client.post(
        "/backends/new",
        data={
            "csrf_token": csrf,
            "name": "Office mail",
            "channel": "email",
            "url": "smtp://u:pw@127.0.0.1:25",
            "alert_emails": "ops@example.com\n\n",
        },
    )
    assert good.status_code == 302
    added = Backend.get(Backend.name == "Office mail")
    assert added.is_default and added.failure_alert_emails == ["ops@example.com"]
    assert Event.get(Event.action == "backend_added").actor_id is not None


def test_saving_without_retyping_the_password_keeps_it(admin_client, backend):
    page = admin_client.get(f"/backends/{backend.id}/edit").get_data(as_text=True)
    shown = f"smtp://mailer:****@127.0.0.1:{backend.url.split(':')[3].split('?')[0]}?tls=none"
    assert f'value="{shown}"' in page
    response = admin_client.post(
        f"/backends/{backend.id}/edit",
        data={
            "csrf_token": csrf_token_from(page),
            "url": shown,
            "fallback": "0",
            "alert_emails": "a@example.com",
            "is_default": "y",
        },
    )
    assert response.status_code == 302
    stored = Backend.get_by_id(backend.id)
    assert stored.url == backend.url and stored.failure_alert_emails == ["a@example.com"]
    detail = Event.get(Event.action == "backend_edited").detail
    assert "alert emails a@example.com" in detail and SECRET not in detail


def test_edit_refuses_garbage_and_changes_nothing(admin_client, backend):
    csrf = token(admin_client)
    for data in (
        {"url": "smtp://h?tls=maybe", "fallback": "0"},
        {"url": backend.url, "fallback": "0", "alert_emails": "not-an-address"},
        {"url": "x" * 3000, "fallback": "0"},
        {"url": "smtp://h\x00", "fallback": "0"},
    ):
        response = admin_client.post(
            f"/backends/{backend.id}/edit", data={"csrf_token": csrf, **data}
        )
        assert response.status_code == 400, data
        assert Backend.get_by_id(backend.id).url == backend.url
    assert admin_client.get("/backends/999/edit").status_code == 404


def test_test_now_says_what_happened_and_records_it(admin_client, backend, smtp_sink):
    csrf = token(admin_client)
    failed = admin_client.post(
        f"/backends/{backend.id}/test", data={"csrf_token": csrf}, headers={"HX-Request": "true"}
    )
    html = failed.get_data(as_text=True)
    assert failed.status_code == 200 and "failed its test" in html
    assert "Nobody answered" in html and "<html" not in html
    assert Backend.get_by_id(backend.id).health == "FAILING"

    backend.url = f"smtp://127.0.0.1:{smtp_sink.port}"
    backend.save()
    hold_for_backend_test(backend, "535")
    create_message("email", "a@example.com", "held", "x")
    passed = admin_client.post(
        f"/backends/{backend.id}/test", data={"csrf_token": csrf}, headers={"HX-Request": "true"}
    ).get_data(as_text=True)
    assert "office works" in passed and "1 held messages were released" in passed
    assert Backend.get_by_id(backend.id).health == "OK"
    assert [c.ok for c in HealthCheck.select().order_by(HealthCheck.id)] == [False, True]
    assert smtp_sink.handler.messages == []  # a test sends nothing


def test_send_now_says_how_many(admin_client, backend):
    create_message("email", "a@example.com", "due", "x")
    response = admin_client.post(
        "/backends/send-now", data={"csrf_token": token(admin_client)}, follow_redirects=True
    )
    assert "1 messages due now were handed to the worker" in response.get_data(as_text=True)


def test_the_banner_is_on_every_page_while_a_backend_is_unhealthy(
    client, support_user, admin_user, backend
):
    log_in(client, support_user.email)
    assert "needs a test" not in client.get("/log").get_data(as_text=True)
    mark_failing(backend, "Nobody answered")
    html = client.get("/log").get_data(as_text=True)
    assert "office is failing" in html and "Ask an admin (Ada Admin)" in html
    hold_for_backend_test(backend, "535")
    create_message("email", "a@example.com", "held", "x")
    html = client.get("/log").get_data(as_text=True)
    assert "office needs a test" in html and "1 message is held" in html
    # no other email backend: the alert could not be emailed, and the banner says so
    assert "No alert email could be sent" in html


def test_the_watchdog_alerts_once_when_no_worker_runs(database, admin_user, backend):
    other = Backend.create(name="spare", channel="email", url="smtp://127.0.0.1:25")
    message = create_message("email", "a@example.com", "stuck", "x")
    assert stalled_alert() == []  # due for less than five minutes
    Message.update(queued_at=now() - timedelta(minutes=6)).where(Message.id == message.id).execute()
    WorkerHeartbeat.create(
        worker_id="h/1.a", host="h", pid=1, last_beat_at=now() - timedelta(minutes=10)
    )
    [alert] = stalled_alert()
    assert alert.recipient == admin_user.email and alert.backend_id in (backend.id, other.id)
    assert "No worker is running" in alert.subject
    assert stalled_alert() == []  # once per stall
    WorkerHeartbeat.update(last_beat_at=now()).execute()
    assert stalled_alert() == []


def test_backend_commands(commlog_env, backend, smtp_sink):
    failed = run_commlog(["backend", "test", "office"], commlog_env)
    assert failed.returncode == 1 and "failed its test" in failed.stdout
    assert SECRET not in failed.stdout + failed.stderr
    edited = run_commlog(
        ["backend", "edit", "office", "--url", f"smtp://127.0.0.1:{smtp_sink.port}"], commlog_env
    )
    assert edited.returncode == 0, edited.stderr
    passed = run_commlog(["backend", "test", "office"], commlog_env)
    assert passed.returncode == 0 and "office works" in passed.stdout
    missing = run_commlog(["backend", "test", "nope"], commlog_env)
    assert missing.returncode == 1 and "no backend named 'nope'" in missing.stderr


def test_the_backends_page_shows_workers_alive_and_the_oldest_due_message(admin_client, backend):
    html = admin_client.get("/backends/").get_data(as_text=True)
    assert "No worker is running" in html and "Nothing is waiting to be sent" in html
    WorkerHeartbeat.create(worker_id="web1/42.ab", host="web1", pid=42, last_beat_at=now())
    message = create_message("email", "a@example.com", "due", "x")
    Message.update(queued_at=now() - timedelta(minutes=7)).where(Message.id == message.id).execute()
    html = " ".join(admin_client.get("/backends/").get_data(as_text=True).split())
    assert "1 worker running (web1 pid 42)" in html
    assert "The oldest message due has waited 7 minutes" in html
