"""Backend health end to end, with real SMTP servers and a real worker: a refused password holds
everything with one alert; fixing it in the console and pressing "Test now" sends it all with
one "recovered" email; a server that is down makes the backend FAILING; a fallback takes over."""

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from shared.models import Attempt, Backend, Incident, Message
from shared.outbox import create_message
from tests.conftest import RecordingHandler, csrf_token_from, free_port, log_in, wait_for
from worker.tasks import wake


class PasswordServer(RecordingHandler):
    """An SMTP server that requires a login and accepts only `password`."""

    def __init__(self, password: bytes):
        super().__init__()
        self.password = password

    def authenticate(self, server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and auth_data.password == self.password
        return AuthResult(success=ok, handled=False)


@pytest.fixture
def alert_sink(commlog_env, monkeypatch):
    """A second SMTP server that receives the admins' alerts (COMMLOG_ALERT_SMTP_URL)."""
    handler = RecordingHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    url = f"smtp://127.0.0.1:{controller.port}"
    commlog_env["COMMLOG_ALERT_SMTP_URL"] = url
    monkeypatch.setenv("COMMLOG_ALERT_SMTP_URL", url)
    yield handler
    controller.stop()


def submit(count, start=0):
    messages = [
        create_message("email", f"client{i}@example.com", f"Notice {i}", "Body")
        for i in range(start, start + count)
    ]
    wake(messages)
    return messages


def count_in(state):
    return Message.select().where(Message.state == state, Message.kind == "manual").count()


def test_refused_password_holds_everything_with_one_alert_until_fixed_and_tested(
    database, fast_retries, alert_sink, admin_user, client, start_worker
):
    handler = PasswordServer(b"right-password")
    server = Controller(
        handler,
        hostname="127.0.0.1",
        port=free_port(),
        authenticator=handler.authenticate,
        auth_required=True,
        auth_require_tls=False,
    )
    server.start()
    try:
        backend = Backend.create(
            name="office",
            channel="email",
            is_default=True,
            url=f"smtp://mailer:wrong-password@127.0.0.1:{server.port}",
            failure_alert_emails=["ops@example.com"],
        )
        start_worker("-w", "2", "--no-periodic")  # no health check connecting meanwhile
        submit(1)
        wait_for(lambda: count_in("BACKEND_TEST_REQUIRED") == 1, what="the first one held")
        # the worker sends the alert just after it holds the backend: wait for it, so that it
        # counts the first message alone
        wait_for(lambda: len(alert_sink.messages) == 2, what="the alert to ops and the admin")
        connections = handler.connections
        submit(500, start=1)
        wait_for(
            lambda: count_in("BACKEND_TEST_REQUIRED") == 501, timeout=60, what="the next 500 held"
        )
        assert handler.connections == connections, "held messages must not connect"
        tried = Attempt.select().join(Message).where(Message.kind == "manual")
        assert tried.count() == 1  # only the first one was tried
        assert len(alert_sink.messages) == 2  # and no more alerts for the 500
        assert sorted(rcpt[0] for _, rcpt, _ in alert_sink.messages) == [
            "admin@example.com",
            "ops@example.com",
        ]
        alert = alert_sink.messages[0][2]
        assert "office needs a test" in alert["Subject"]
        text = alert.get_content()
        # sent when the first message was held: it says so, and where to fix it
        assert "Messages waiting or held: 1\n" in text and f"/backends/{backend.id}" in text
        assert "refused the username or password (535" in text
        assert "wrong-password" not in text
        assert Incident.select().count() == 1

        # the admin fixes the password in the console and presses "Test now"
        log_in(client, admin_user.email)
        page = client.get(f"/backends/{backend.id}/edit").get_data(as_text=True)
        assert "wrong-password" not in page and "****" in page
        saved = client.post(
            f"/backends/{backend.id}/edit",
            data={
                "csrf_token": csrf_token_from(page),
                "is_default": "y",
                "fallback": "0",
                "url": f"smtp://mailer:right-password@127.0.0.1:{server.port}",
                "alert_emails": "ops@example.com",
            },
        )
        assert saved.status_code == 302
        tested = client.post(
            f"/backends/{backend.id}/test",
            data={"csrf_token": csrf_token_from(page)},
            headers={"HX-Request": "true"},
        )
        assert "501 held messages were released" in tested.get_data(as_text=True)
        wait_for(lambda: count_in("SENT") == 501, timeout=90, what="all 501 SENT")
        wait_for(lambda: len(alert_sink.messages) == 4, what="the recovered emails")
    finally:
        server.stop()
    assert len(handler.messages) == 501
    assert "has recovered" in alert_sink.messages[3][2]["Subject"]
    assert Backend.get_by_id(backend.id).health == "OK"
    assert Incident.get().ended_at is not None
    # no retries were burnt while held: one config try for the first, then one send each
    first = Message.select().order_by(Message.id).first()
    assert [a.outcome for a in Attempt.select().where(Attempt.message == first.id)] == [
        "config_error",
        "sent",
    ]
    alerts = Message.select().where(Message.kind == "system.backend_alert")
    assert alerts.count() == 4 and {m.state for m in alerts} == {"SENT"}


def test_a_server_that_is_down_makes_the_backend_failing_with_one_alert(
    database, fast_retries, alert_sink, admin_user, start_worker
):
    port = free_port()
    backend = Backend.create(
        name="office", channel="email", is_default=True, url=f"smtp://127.0.0.1:{port}"
    )
    start_worker("-w", "2")
    messages = submit(3)
    wait_for(lambda: Message.get_by_id(messages[0].id).attempts >= 3, what="three tries")
    assert Backend.get_by_id(backend.id).health == "FAILING"
    wait_for(lambda: len(alert_sink.messages) == 1, what="one alert")
    assert "office is failing" in alert_sink.messages[0][2]["Subject"]

    handler = RecordingHandler()
    server = Controller(handler, hostname="127.0.0.1", port=port)
    server.start()
    try:
        wait_for(lambda: count_in("SENT") == 3, what="SENT once the server is back")
    finally:
        server.stop()
    # the worker marks the backend OK just after it records the sends
    wait_for(lambda: Backend.get_by_id(backend.id).health == "OK", what="the backend OK")
    wait_for(lambda: len(alert_sink.messages) == 2, what="one recovered email")
    assert "has recovered" in alert_sink.messages[1][2]["Subject"]


def test_a_fallback_takes_the_messages_while_the_default_is_failing(
    database, fast_retries, smtp_sink, start_worker
):
    fallback = Backend.create(
        name="spare", channel="email", url=f"smtp://127.0.0.1:{smtp_sink.port}"
    )
    Backend.create(
        name="office",
        channel="email",
        is_default=True,
        url=f"smtp://127.0.0.1:{free_port()}",
        fallback=fallback,
    )
    start_worker("-w", "2")
    messages = submit(5)
    wait_for(lambda: count_in("SENT") == 5, what="all SENT through the fallback")
    assert {Message.get_by_id(m.id).backend_id for m in messages} == {fallback.id}
    assert len(smtp_sink.handler.messages) == 5
    assert Backend.get(Backend.name == "office").health == "FAILING"
    later = submit(2, start=5)
    wait_for(lambda: count_in("SENT") == 7, what="later ones SENT through the fallback too")
    assert {Message.get_by_id(m.id).backend_id for m in later} == {fallback.id}
    # the later ones went straight to the fallback, without a try on the failing backend
    assert all(Message.get_by_id(m.id).attempts == 1 for m in later)
