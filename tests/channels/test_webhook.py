"""The webhook channel against a real HTTP server on loopback, checked as a receiver would."""

import json
import time
from datetime import datetime

import pytest

from shared.channels import INVALID_RECIPIENT, PERMANENT, SENT, TRANSIENT
from shared.channels.webhook import WebhookSender, sign, verify
from shared.models import Backend, Message
from tests.conftest import free_port
from tests.http_server import Reply

SECRET = "whsec-Ωmega"
BACKEND = Backend(
    name="hooks", channel="webhook", url=f"https://hooks.example.com/?secret={SECRET}"
)


def hook_message(url: str, **fields) -> Message:
    defaults = dict(
        channel="webhook",
        recipient=url,
        kind="loan.repayment_due",
        subject="Repayment due",
        body_text="Dear Ana, 100 € is due.",
        metadata={"loan": "L-7", "amount": 100},
        created_at=datetime(2025, 11, 25, 12, 30, 1, 250000),
    )
    return Message(**{**defaults, **fields})


def send_one(message: Message, backend: Backend = BACKEND):
    sender = WebhookSender(backend)
    try:
        return sender.send(message)
    finally:
        sender.close()


def test_the_receiver_gets_signed_json_it_can_verify(http_server):
    message = hook_message(http_server.url + "/hooks/commlog?tenant=3")
    result = send_one(message)
    assert result.outcome == SENT and result.http_status == 200
    [request] = http_server.received
    assert (request.method, request.path) == ("POST", "/hooks/commlog?tenant=3")
    headers = request.headers
    assert headers["Content-Type"] == "application/json"
    assert headers["X-Commlog-Delivery"] == message.uid
    assert abs(int(headers["X-Commlog-Timestamp"]) - time.time()) < 60
    assert request.json() == {
        "id": message.uid,
        "kind": "loan.repayment_due",
        "subject": "Repayment due",
        "body": "Dear Ana, 100 € is due.",
        "metadata": {"loan": "L-7", "amount": 100},
        "created_at": "2025-11-25T12:30:01.250Z",
    }
    # compact, keys sorted, UTF-8 (not \\u escapes)
    document = json.loads(request.body)
    assert (
        request.body
        == json.dumps(document, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()
    )
    timestamp, signature = headers["X-Commlog-Timestamp"], headers["X-Commlog-Signature"]
    assert signature.startswith("sha256=")
    assert verify(SECRET, timestamp, request.body, signature)
    assert not verify("another secret", timestamp, request.body, signature)
    assert not verify(SECRET, timestamp, request.body.replace(b"100", b"900"), signature)
    assert not verify(SECRET, str(int(timestamp) + 1), request.body, signature)


def test_old_and_malformed_signatures_are_rejected():
    body = b'{"id":"x"}'
    old = str(int(time.time()) - 301)
    assert not verify(SECRET, old, body, sign(SECRET, old, body))
    assert verify(SECRET, old, body, sign(SECRET, old, body), tolerance=400)
    future = str(int(time.time()) + 3600)
    assert not verify(SECRET, future, body, sign(SECRET, future, body))
    now = str(int(time.time()))
    for signature in ("", "sha256=", "sha256=00", "ünïcode", None):
        assert not verify(SECRET, now, body, signature)
    for timestamp in ("", "soon", None):
        assert not verify(SECRET, timestamp, body, sign(SECRET, "0", body))


def test_the_delivery_id_is_the_same_on_every_try_over_one_connection(http_server):
    http_server.answer(Reply(500, b"busy"), Reply(204))
    message = hook_message(http_server.url + "/in")
    sender = WebhookSender(BACKEND)
    try:
        first, second = sender.send(message), sender.send(message)
    finally:
        sender.close()
    assert (first.outcome, first.http_status) == (TRANSIENT, 500)
    assert (second.outcome, second.http_status) == (SENT, 204)
    one, two = http_server.received
    assert one.headers["X-Commlog-Delivery"] == two.headers["X-Commlog-Delivery"] == message.uid
    assert one.body == two.body
    assert one.client_port == two.client_port  # kept alive


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (429, TRANSIENT),
        (502, TRANSIENT),
        (400, PERMANENT),
        (404, PERMANENT),
        (410, PERMANENT),
        # the receiver's refusal is about that receiver, never the backend: it must not hold
        # every other receiver's webhooks (see webhook.py)
        (401, PERMANENT),
        (403, PERMANENT),
    ],
)
def test_answers_are_classified(http_server, status, outcome):
    http_server.answer(Reply(status, {"error": "no"}))
    result = send_one(hook_message(http_server.url))
    assert (result.outcome, result.http_status) == (outcome, status)


def test_redirects_are_not_followed(http_server):
    http_server.answer(Reply(308, b"moved"))
    result = send_one(hook_message(http_server.url + "/old"))
    assert (result.outcome, result.http_status) == (PERMANENT, 308)
    assert len(http_server.received) == 1


def test_nobody_listening_is_transient():
    result = send_one(hook_message(f"http://127.0.0.1:{free_port()}/"))
    assert result.outcome == TRANSIENT and result.error_type == "ConnectionRefusedError"


def test_an_answer_after_the_timeout_is_transient(http_server):
    http_server.answer(Reply(200, hang=True))
    backend = Backend(name="h", channel="webhook", url="https://h/?secret=s&timeout=0.2")
    result = send_one(hook_message(http_server.url), backend)
    assert (result.outcome, result.response) == (TRANSIENT, "No answer within 0.2 seconds")


def test_a_receiver_with_broken_tls_fails_only_its_message(http_server):
    result = send_one(hook_message(http_server.url.replace("http:", "https:")))
    assert result.outcome == PERMANENT and result.response.startswith("TLS failed")


@pytest.mark.parametrize("url", ["", "ftp://h/", "mailto:a@b.c", "http://", "https://h/a b"])
def test_an_unusable_recipient_is_not_tried(url):
    result = send_one(hook_message(url))
    assert result.outcome == INVALID_RECIPIENT and result.response


def test_a_secret_in_the_receivers_url_is_not_recorded(http_server):
    http_server.answer(Reply(400, b"bad token t0ps3cret"))
    result = send_one(hook_message(http_server.url + "/?token=t0ps3cret"))
    assert result.outcome == PERMANENT and "t0ps3cret" not in result.response


def test_a_backend_without_a_secret_is_refused():
    with pytest.raises(ValueError, match="secret"):
        WebhookSender(Backend(name="h", channel="webhook", url="https://hooks.example.com/"))
