"""Receivers that go away: an SMTP server down for a while, a webhook receiver that answers
after the client gave up. Nothing is failed that the retry policy would still retry, and a
retry can be recognised as the same delivery."""

import time
from collections import Counter

from aiosmtpd.controller import Controller

from shared.channels.webhook import verify
from shared.models import Attempt, Backend, Message, RetryPolicy
from shared.outbox import create_message, create_messages
from tests.conftest import RecordingHandler, free_port, sink_message_ids, wait_for
from tests.http_server import Reply
from worker import tasks

# the default policy (4 retries after 2, 6, 18 and 54 s), shrunk: 3 retries within ~2 s
FAST = dict(max_retries=3, backoff_delay=0.2, delay_factor=2, backoff_max_delay=1, jitter=False)


def count_in(state):
    return Message.select().where(Message.state == state).count()


def test_an_smtp_server_gone_mid_run_fails_nothing_the_policy_would_retry_and_the_queue_drains(
    database, workers, record_property
):
    count = 300
    RetryPolicy.create(channel="email", **FAST)
    port = free_port()
    before, after = RecordingHandler(), RecordingHandler()
    server = Controller(before, hostname="127.0.0.1", port=port)
    server.start()
    backend = Backend.create(
        name="office", channel="email", url=f"smtp://127.0.0.1:{port}", is_default=True
    )
    workers.start("-w", "2")
    messages = create_messages(
        [{"channel": "email", "recipient": f"c{i}@example.com"} for i in range(count)]
    )
    tasks.wake(messages)
    wait_for(lambda: len(before.messages) >= count // 5, what="the first mails sent")
    server.stop()  # gone in the middle of a batch, its connections cut
    down_since = time.monotonic()
    # gone for longer than the policy's retries: the first message tried runs out of them
    wait_for(lambda: count_in("FAILED"), timeout=60, what="a message out of retries")
    assert Backend.get_by_id(backend.id).health == "FAILING"
    tries_while_down = Attempt.select().where(Attempt.outcome == "transient_error").count()

    server = Controller(after, hostname="127.0.0.1", port=port)
    server.start()
    try:
        back_at = time.monotonic()
        wait_for(lambda: count_in("SENT") + count_in("FAILED") == count, timeout=60, what="drained")
        drain_seconds = time.monotonic() - back_at
    finally:
        server.stop()

    failed = list(Message.select().where(Message.state == "FAILED"))
    sent = {f"<{m.uid}@commlog>" for m in Message.select().where(Message.state == "SENT")}
    seen = Counter(sink_message_ids(server) + [m["Message-ID"] for _, _, m in before.messages])
    duplicated = {mid for mid, n in seen.items() if n > 1}
    record_property("outage (s)", round(back_at - down_since, 2))
    record_property("tries against the server while it was gone", tries_while_down)
    record_property("FAILED (out of retries)", len(failed))
    record_property("SENT but never received (lost)", len(sent - set(seen)))
    record_property("duplicates", sum(n - 1 for n in seen.values()))
    record_property("drain after the server came back (s)", round(drain_seconds, 2))
    # FAILED only what the policy gave up on: every other message went out once it was back
    for message in failed:
        tries = Attempt.select().where(Attempt.message == message.id)
        assert [a.outcome for a in tries] == ["transient_error"] * (FAST["max_retries"] + 1)
        assert message.state_reason.startswith(f"Gave up after {FAST['max_retries'] + 1} tries")
    assert len(sent) == count - len(failed)
    assert sent <= set(seen), "a message marked SENT never reached the server"
    # the outage cost the tries of a few messages, not one per message: the rest waited untried
    assert tries_while_down < count // 2
    # a copy twice only where the connection was cut with the mail handed over but not yet
    # acknowledged (RFC 1047): a try that failed, then the same Message-ID again
    failed_once = {f"<{m.uid}@commlog>" for m in Message.select().where(Message.attempts > 1)}
    assert duplicated <= failed_once and max(seen.values()) <= 2
    assert Backend.get_by_id(backend.id).health == "OK"
    for message in Message.select().where(Message.state == "SENT"):
        tries = list(Attempt.select().where(Attempt.message == message.id).order_by(Attempt.id))
        assert [a.number for a in tries] == list(range(1, message.attempts + 1))
        assert tries[-1].outcome == "sent"


def test_a_webhook_answered_after_the_timeout_is_retried_with_the_same_delivery_id(
    database, http_server, workers, record_property
):
    RetryPolicy.create(channel="webhook", **FAST)
    Backend.create(
        name="hooks",
        channel="webhook",
        is_default=True,
        url="https://hooks.example.com/?secret=s3cr3t&timeout=0.5",
    )
    # the receiver takes the first request in but answers only after the client's timeout
    http_server.answer(Reply(200, hang=True), Reply(204))
    message = create_message("webhook", f"{http_server.url}/hook", "loan.approved", "Loan 17")
    workers.start("-w", "1")
    tasks.wake([message])
    wait_for(lambda: Message.get_by_id(message.id).state == "SENT", what="SENT on the retry")

    first, second = http_server.received[:2]
    tries = list(Attempt.select().where(Attempt.message == message.id).order_by(Attempt.number))
    record_property("requests the receiver got", len(http_server.received))
    record_property(
        "distinct delivery ids",
        len({r.headers["X-Commlog-Delivery"] for r in http_server.received}),
    )
    assert [a.outcome for a in tries] == ["transient_error", "sent"]
    assert "No answer within 0.5 seconds" in tries[0].response
    # the receiver saw the same delivery twice and can tell: same id, same body, both signed
    assert first.headers["X-Commlog-Delivery"] == second.headers["X-Commlog-Delivery"]
    assert first.headers["X-Commlog-Delivery"] == message.uid
    assert first.body == second.body
    for request in (first, second):
        headers = request.headers
        assert verify(
            "s3cr3t", headers["X-Commlog-Timestamp"], request.body, headers["X-Commlog-Signature"]
        )
