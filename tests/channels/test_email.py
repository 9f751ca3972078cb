"""The email channel against a real SMTP server."""

import pytest
from aiosmtpd.controller import Controller

from shared.channels import CONFIG, PERMANENT, SENT, TRANSIENT, redact_url
from shared.channels.email import EmailSender, SmtpSettings
from shared.models import Backend, Message
from tests.conftest import free_port


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://h", ("h", 25, "none", None, None)),
        ("smtp://u:p%40ss@h:2525?tls=starttls", ("h", 2525, "starttls", "u", "p@ss")),
        ("smtp://h?tls=starttls", ("h", 587, "starttls", None, None)),
        ("smtps://u:p@h", ("h", 465, "ssl", "u", "p")),
    ],
)
def test_settings_from_url(url, expected):
    s = SmtpSettings.from_url(url)
    assert (s.host, s.port, s.security, s.username, s.password) == expected


@pytest.mark.parametrize("url", ["http://h", "smtp://", "smtp://h?tls=maybe"])
def test_bad_urls_are_refused(url):
    with pytest.raises(ValueError):
        SmtpSettings.from_url(url)


def test_redact_url_hides_the_password():
    assert redact_url("smtp://u:secret@h:25?x=1") == "smtp://u:****@h:25?x=1"
    assert redact_url("smtp://h:25") == "smtp://h:25"


def make(database, port, **fields):
    backend = Backend.create(name="m", channel="email", url=f"smtp://127.0.0.1:{port}")
    defaults = dict(
        channel="email",
        recipient="to@example.com",
        subject="Hello",
        body_text="Text",
        backend=backend,
        state="SENDING",
    )
    return backend, Message.create(**{**defaults, **fields})


def test_one_connection_carries_many_messages_with_html(database, smtp_sink):
    backend, message = make(database, smtp_sink.port, body_html="<p>Hi</p>", subject="Grüße")
    sender = EmailSender(backend)
    try:
        results = [sender.send(message) for _ in range(3)]
    finally:
        sender.close()
    assert [r.outcome for r in results] == [SENT] * 3
    handler = smtp_sink.handler
    assert handler.connections == 1 and len(handler.messages) == 3
    mail = handler.messages[0][2]
    assert mail["Subject"] == "Grüße"
    assert mail.get_content_type() == "multipart/alternative"
    assert mail.get_body(("html",)).get_content().strip() == "<p>Hi</p>"


def test_a_stale_connection_is_reopened_once(database, smtp_sink):
    backend, message = make(database, smtp_sink.port)
    sender = EmailSender(backend)
    assert sender.send(message).ok
    sender.smtp.sock.close()  # the server dropped the idle connection
    assert sender.send(message).ok
    sender.close()
    assert len(smtp_sink.handler.messages) == 2


def test_nobody_listening_is_transient(database):
    backend, message = make(database, free_port())
    result = EmailSender(backend).send(message)
    assert result.outcome == TRANSIENT and result.error_type == "ConnectionRefusedError"


class Answering:
    def __init__(self, reply):
        self.reply = reply

    async def handle_RCPT(self, server, session, envelope, address, options):
        return self.reply


@pytest.mark.parametrize(
    ("reply", "outcome"),
    [
        ("550 5.1.1 No such user", PERMANENT),
        ("450 4.2.1 Try later", TRANSIENT),
        ("530 5.7.0 Authentication required", CONFIG),
    ],
)
def test_server_replies_are_classified(database, reply, outcome):
    controller = Controller(Answering(reply), hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        backend, message = make(database, controller.port)
        result = EmailSender(backend).send(message)
    finally:
        controller.stop()
    assert result.outcome == outcome
    assert result.smtp_code == int(reply[:3]) and reply[4:] in result.response
