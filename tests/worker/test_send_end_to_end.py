"""`commlog send` → a real Huey consumer process → a real SMTP server → SENT in the database."""

from shared.models import Attempt, Event, Message
from tests.conftest import run_commlog, wait_for


def test_a_sent_email_arrives_and_is_recorded(database, commlog_env, smtp_sink, start_worker):
    added = run_commlog(
        [
            "backend",
            "add",
            "office",
            "--channel",
            "email",
            "--url",
            f"smtp://127.0.0.1:{smtp_sink.port}?from=office@example.com",
        ],
        commlog_env,
    )
    assert added.returncode == 0, added.stderr
    start_worker("-w", "2")

    sent = run_commlog(
        [
            "send",
            "--to",
            "Bob@Example.com",
            "--subject",
            "Repayment due",
            "--body",
            "Dear Bob,\nyour repayment of 120 EUR is due on Friday.",
        ],
        commlog_env,
    )
    assert sent.returncode == 0, sent.stderr
    uid = sent.stdout.strip().splitlines()[-1]

    wait_for(lambda: Message.get(Message.uid == uid).state == "SENT", what="the message SENT")
    mail_from, rcpt_tos, mail = wait_for(
        lambda: smtp_sink.handler.messages[0:1], what="the mail at the sink"
    )[0]
    assert mail_from == "office@example.com"
    assert rcpt_tos == ["Bob@Example.com"]
    assert mail["Subject"] == "Repayment due"
    assert mail["To"] == "Bob@Example.com"
    assert "office@example.com" in mail["From"]
    assert mail["Message-ID"] == f"<{uid}@commlog>"
    body = mail.get_content().replace("\r\n", "\n").rstrip("\n")
    assert body == "Dear Bob,\nyour repayment of 120 EUR is due on Friday."

    message = Message.get(Message.uid == uid)
    assert message.attempts == 1 and message.sent_at is not None
    assert message.sender is None  # sent by the command: System
    attempt = Attempt.get(Attempt.message == message)
    assert (attempt.number, attempt.outcome, attempt.smtp_code) == (1, "sent", 250)
    assert "accepted" in attempt.response
    moves = [
        (e.from_state, e.to_state)
        for e in Event.select().where(Event.message == message).order_by(Event.id)
    ]
    assert moves == [(None, "QUEUED"), ("QUEUED", "SENDING"), ("SENDING", "SENT")]


def test_a_refused_recipient_fails_with_the_servers_words(database, commlog_env, start_worker):
    from aiosmtpd.controller import Controller

    from tests.conftest import free_port

    class Refusing:
        async def handle_RCPT(self, server, session, envelope, address, options):
            return "550 5.1.1 No such user here"

    controller = Controller(Refusing(), hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        run_commlog(
            [
                "backend",
                "add",
                "strict",
                "--channel",
                "email",
                "--url",
                f"smtp://127.0.0.1:{controller.port}",
            ],
            commlog_env,
        )
        start_worker("-w", "1")
        uid = run_commlog(
            ["send", "--to", "ghost@example.com", "--subject", "Hi"], commlog_env
        ).stdout.split()[-1]
        message = wait_for(
            lambda: Message.get_or_none(Message.uid == uid, Message.state == "FAILED"),
            what="the message FAILED",
        )
        assert "No such user" in message.state_reason
        attempt = Attempt.get(Attempt.message == message)
        assert (attempt.outcome, attempt.smtp_code) == ("permanent_error", 550)
    finally:
        controller.stop()
