"""SMS and webhooks through a real worker to a real HTTP server."""

from shared.channels.webhook import verify
from shared.models import Attempt, Backend, Event, Message
from shared.outbox import create_message
from tests.conftest import wait_for
from tests.http_server import Reply
from worker.tasks import wake


def state_of(message):
    return Message.get_by_id(message.id).state


def test_an_sms_provider_failing_then_accepting(database, fast_retries, http_server, start_worker):
    Backend.create(
        name="sms", channel="sms", url=f"{http_server.url}/send?token=t0k3n", is_default=True
    )
    http_server.answer(Reply(500, {"error": "busy"}), Reply(200, {"id": "prov-42"}))
    message = create_message("sms", "+447911123456", body_text="Your code is 1234")
    wake([message])
    start_worker("-w", "1")
    wait_for(lambda: state_of(message) == "SENT", what="SENT after a 500")
    tries = list(Attempt.select().where(Attempt.message == message.id).order_by(Attempt.number))
    assert [(a.outcome, a.http_status) for a in tries] == [("transient_error", 500), ("sent", 200)]
    assert tries[1].provider_id == "prov-42"
    assert [r.json() for r in http_server.received] == [
        {"to": "+447911123456", "body": "Your code is 1234"}
    ] * 2
    assert http_server.received[0].headers["Authorization"] == "Bearer t0k3n"
    assert "t0k3n" not in (tries[0].response or "") + (tries[1].response or "")


def test_sms_delivery_is_confirmed_by_polling_the_provider(database, http_server, start_worker):
    Backend.create(
        name="sms",
        channel="sms",
        is_default=True,
        url=f"{http_server.url}/send?status_url=/status/{{id}}&poll_after=0.1",
    )
    http_server.answer(
        Reply(200, {"id": "p1"}),
        Reply(200, {"status": "queued"}),
        Reply(200, {"status": "delivered"}),
    )
    message = create_message("sms", "+447911123456", body_text="Hello")
    wake([message])
    start_worker("-w", "1")
    wait_for(lambda: state_of(message) == "DELIVERED", what="DELIVERED after two checks")
    assert [r.path for r in http_server.received] == ["/send", "/status/p1", "/status/p1"]
    checks = [e.detail for e in Event.select().where(Event.action == "delivery_check")]
    assert len(checks) == 2 and checks[0].startswith("check 1 of 10")
    assert "confirmed delivery" in Message.get_by_id(message.id).state_reason


def test_an_undeliverable_sms_fails_with_the_providers_reason(database, http_server, start_worker):
    Backend.create(
        name="sms",
        channel="sms",
        is_default=True,
        url=f"{http_server.url}/send?status_url=/status/{{id}}&poll_after=0.1",
    )
    http_server.answer(
        Reply(200, {"id": "p2"}),
        Reply(200, {"status": "undeliverable", "error": "unknown subscriber"}),
    )
    message = create_message("sms", "+447911123456", body_text="Hello")
    wake([message])
    start_worker("-w", "1")
    wait_for(lambda: state_of(message) == "FAILED", what="FAILED after the check")
    assert "unknown subscriber" in Message.get_by_id(message.id).state_reason


def test_a_webhook_is_signed_and_its_retry_carries_the_same_delivery_id(
    database, fast_retries, http_server, start_worker
):
    Backend.create(
        name="hooks",
        channel="webhook",
        is_default=True,
        url="https://hooks.example.com/?secret=s3cr3t",
    )
    http_server.answer(Reply(503, {}), Reply(204, b""))
    message = create_message(
        "webhook",
        f"{http_server.url}/hook",
        subject="loan.approved",
        body_text="Loan 17 approved",
        kind="loan.approved",
        metadata={"loan": 17},
    )
    wake([message])
    start_worker("-w", "1")
    wait_for(lambda: state_of(message) == "SENT", what="SENT after a 503")
    first, second = http_server.received
    for request in (first, second):
        headers = request.headers
        assert verify(
            "s3cr3t", headers["X-Commlog-Timestamp"], request.body, headers["X-Commlog-Signature"]
        )
        assert not verify(
            "wrong", headers["X-Commlog-Timestamp"], request.body, headers["X-Commlog-Signature"]
        )
        assert headers["X-Commlog-Delivery"] == message.uid
    body = second.json()
    assert (body["id"], body["kind"], body["metadata"]) == (
        message.uid,
        "loan.approved",
        {"loan": 17},
    )
