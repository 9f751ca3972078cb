"""The delivery pipeline with a real Huey consumer and real SMTP servers: retries, error classes,
invalid recipients, holding for a backend test."""

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from shared.models import Attempt, Backend, Event, Message
from shared.outbox import create_message
from tests.conftest import RecordingHandler, free_port, wait_for
from worker.tasks import wake


def email_backend(port, name="office", **fields):
    return Backend.create(
        name=name, channel="email", url=f"smtp://127.0.0.1:{port}", is_default=True, **fields
    )


def submit(count, recipient="client{}@example.com"):
    messages = [
        create_message("email", recipient.format(i), f"Notice {i}", "Body") for i in range(count)
    ]
    wake(messages)
    return messages


def states(messages):
    return [Message.get_by_id(m.id).state for m in messages]


def attempts_of(message):
    return list(Attempt.select().where(Attempt.message == message.id).order_by(Attempt.number))


def test_server_down_then_up_retries_on_schedule_then_sends(database, fast_retries, start_worker):
    port = free_port()
    backend = email_backend(port)
    start_worker("-w", "2")
    messages = submit(5)
    first = messages[0]
    # nobody listens: the first of the batch is tried (and retried on the policy's schedule);
    # the others wait without hammering a server that is down
    wait_for(lambda: Message.get_by_id(first.id).attempts >= 2, what="two failed tries")
    assert Backend.get_by_id(backend.id).health == "FAILING"
    assert "Not tried: office is failing" in " ".join(
        e.detail for e in Event.select().where(Event.to_state == "WAITING")
    )

    handler = RecordingHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        wait_for(lambda: states(messages) == ["SENT"] * 5, what="all SENT once the server is up")
    finally:
        controller.stop()
    assert Backend.get_by_id(backend.id).health == "OK"
    for message in messages:
        tries = attempts_of(message)
        stored = Message.get_by_id(message.id)
        assert stored.attempts == len(tries) and [a.number for a in tries] == list(
            range(1, len(tries) + 1)
        )
        assert [a.outcome for a in tries] == ["transient_error"] * (len(tries) - 1) + ["sent"]
    tries = attempts_of(first)
    assert tries[0].error_type == "ConnectionRefusedError"
    for before, after in zip(tries, tries[1:], strict=False):
        # the policy's delay, 0.2 s doubling, passed between two tries
        assert (after.started_at - before.finished_at).total_seconds() >= 0.2 * 0.9
    assert len(handler.messages) == 5


class FlakyThenFine:
    """Says 450 (mailbox busy) to the first two tries of each recipient, then accepts."""

    def __init__(self, refusals=2, code="450 4.2.1 Mailbox busy, try later"):
        self.tries = {}
        self.refusals = refusals
        self.code = code
        self.accepted = []

    async def handle_RCPT(self, server, session, envelope, address, options):
        self.tries[address] = self.tries.get(address, 0) + 1
        if self.tries[address] <= self.refusals:
            return self.code
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.accepted.append(envelope.rcpt_tos[0])
        return "250 OK"


def test_temporary_refusals_are_retried_until_sent(database, fast_retries, start_worker):
    handler = FlakyThenFine(code="421 4.7.0 Try again later")
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        email_backend(controller.port)
        start_worker("-w", "2")
        messages = submit(3)
        wait_for(lambda: states(messages) == ["SENT"] * 3, what="SENT after retries")
    finally:
        controller.stop()
    for message in messages:
        tries = attempts_of(message)
        assert [a.smtp_code for a in tries] == [421, 421, 250]
        assert "Try again later" in tries[0].response
    assert sorted(handler.accepted) == sorted(m.recipient for m in messages)


def test_retries_run_out_and_the_message_fails_with_the_last_error(database, start_worker):
    from shared.models import RetryPolicy

    RetryPolicy.create(
        channel="email", max_retries=2, backoff_delay=0.1, delay_factor=1, jitter=False
    )
    handler = FlakyThenFine(refusals=99)
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        email_backend(controller.port)
        start_worker("-w", "1")
        [message] = submit(1)
        failed = wait_for(
            lambda: Message.get_or_none(Message.id == message.id, Message.state == "FAILED"),
            what="FAILED after the retries",
        )
    finally:
        controller.stop()
    assert failed.attempts == 3 and len(attempts_of(message)) == 3
    assert "Gave up after 3 tries" in failed.state_reason and "Mailbox busy" in failed.state_reason


def test_a_permanent_refusal_fails_at_once(database, fast_retries, start_worker):
    handler = FlakyThenFine(refusals=99, code="550 5.1.1 No such user")
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        email_backend(controller.port)
        start_worker("-w", "1")
        [message] = submit(1)
        wait_for(lambda: states([message]) == ["FAILED"], what="FAILED")
    finally:
        controller.stop()
    [attempt] = attempts_of(message)
    assert (attempt.outcome, attempt.smtp_code) == ("permanent_error", 550)
    assert "No such user" in Message.get_by_id(message.id).state_reason


def test_garbage_addresses_are_not_sent_and_nothing_is_tried(database, smtp_sink, start_worker):
    email_backend(smtp_sink.port)
    start_worker("-w", "1")
    garbage = [
        "",
        "no-at-sign",
        "two@@example.com",
        "a@b",
        "spaces in@example.com",
        "x" * 300 + "@example.com",
        "nul\x00@example.com",
        "émoji😀@",
    ]
    made = [create_message("email", address, "Hi", "Body") for address in garbage]
    # one that was valid when queued but corrupted before its send: caught at send time
    late = create_message("email", "fine@example.com", "Hi", "Body")
    Message.update(recipient="not valid").where(Message.id == late.id).execute()
    good = create_message("email", "good@example.com", "Hi", "Body")
    wake(made + [late, good])
    wait_for(lambda: states([late, good]) == ["NOT_SENT", "SENT"], what="late NOT_SENT, good SENT")
    assert states(made) == ["NOT_SENT"] * len(garbage)
    assert all(Message.get_by_id(m.id).state_reason for m in made + [late])
    assert Attempt.select().where(Attempt.message.in_([m.id for m in made + [late]])).count() == 0
    assert [rcpt for _, rcpt, _ in smtp_sink.handler.messages] == [["good@example.com"]]


class CountingAuth(RecordingHandler):
    """An SMTP server that requires a login and refuses every password."""


def refuse_every_password(server, session, envelope, mechanism, auth_data):
    return AuthResult(success=False, handled=False)


def test_a_refused_password_holds_the_messages_without_burning_retries(
    database, fast_retries, start_worker
):
    handler = CountingAuth()
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=free_port(),
        authenticator=refuse_every_password,
        auth_required=True,
        auth_require_tls=False,
    )
    controller.start()
    try:
        backend = Backend.create(
            name="office",
            channel="email",
            is_default=True,
            url=f"smtp://mailer:wrong@127.0.0.1:{controller.port}",
        )
        # no periodic health check: its own test connection would race the count below
        start_worker("-w", "2", "--no-periodic")
        [first] = submit(1)
        wait_for(lambda: states([first]) == ["BACKEND_TEST_REQUIRED"], what="the first held")
        # the worker holds the backend just after it records the first message held
        wait_for(
            lambda: Backend.get_by_id(backend.id).health == "TEST_REQUIRED", what="backend held"
        )
        connections = handler.connections
        later = submit(20)
        wait_for(lambda: states(later) == ["BACKEND_TEST_REQUIRED"] * 20, what="later ones held")
    finally:
        controller.stop()
    assert Backend.get_by_id(backend.id).health == "TEST_REQUIRED"
    assert "535" in Backend.get_by_id(backend.id).last_error
    [attempt] = attempts_of(first)
    assert (attempt.outcome, attempt.smtp_code) == ("config_error", 535)
    assert handler.connections == connections, "held messages must not connect"
    assert all(not attempts_of(m) for m in later)
    assert handler.messages == []


def test_login_with_the_right_password(database, start_worker):
    def only_right_password(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and auth_data.password == b"right"
        return AuthResult(success=ok, handled=False)

    handler = RecordingHandler()
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=free_port(),
        authenticator=only_right_password,
        auth_required=True,
        auth_require_tls=False,
    )
    controller.start()
    try:
        Backend.create(
            name="office",
            channel="email",
            is_default=True,
            url=f"smtp://mailer:right@127.0.0.1:{controller.port}",
        )
        start_worker("-w", "1")
        messages = submit(2)
        wait_for(lambda: states(messages) == ["SENT"] * 2, what="SENT with a login")
    finally:
        controller.stop()
    assert len(handler.messages) == 2
