"""The SMS channel against a real HTTP server on loopback."""

import base64

import pytest

from shared.channels import CONFIG, PERMANENT, SENT, TRANSIENT
from shared.channels.sms import SmsSender, check_delivery, supports_delivery_status
from shared.models import Backend, Message
from tests.conftest import free_port
from tests.http_server import Reply


def sms_backend(base: str, query: str = "token=SECRET") -> Backend:
    return Backend(name="sms", channel="sms", url=f"{base}/v1/messages?{query}")


def text_message(**fields) -> Message:
    defaults = dict(channel="sms", recipient="+447911123456", body_text="Your code is 1234")
    return Message(**{**defaults, **fields})


def send_one(backend: Backend, message: Message | None = None):
    sender = SmsSender(backend)
    try:
        return sender.send(message or text_message())
    finally:
        sender.close()


def test_a_send_posts_json_with_the_token_and_records_the_provider_id(http_server):
    http_server.answer(Reply(201, {"id": "SM-42", "status": "queued"}))
    backend = sms_backend(
        http_server.url, "sender=ACME&token=SECRET&status_url=/v1/messages/{id}&timeout=5"
    )
    result = send_one(backend, text_message(body_text="Grüße: 1234"))
    assert result.outcome == SENT and result.ok
    assert (result.http_status, result.provider_id) == (201, "SM-42")
    assert result.response.startswith("Provider id: SM-42\n201 Created\n")
    [request] = http_server.received
    # commlog's own parameters never reach the provider; the provider's own do
    assert (request.method, request.path) == ("POST", "/v1/messages?sender=ACME")
    assert request.headers["Authorization"] == "Bearer SECRET"
    assert request.headers["Content-Type"] == "application/json"
    assert request.json() == {"to": "+447911123456", "body": "Grüße: 1234"}


def test_user_and_password_in_the_url_go_as_basic_auth(http_server):
    backend = Backend(
        name="sms", channel="sms", url=http_server.url.replace("//", "//ac%40me:p%3Ass@")
    )
    assert send_one(backend).ok
    [request] = http_server.received
    expected = base64.b64encode(b"ac@me:p:ss").decode()
    assert request.headers["Authorization"] == f"Basic {expected}"
    assert request.path == "/"


def test_token_and_password_together_are_refused():
    with pytest.raises(ValueError):
        SmsSender(Backend(name="s", channel="sms", url="https://u:p@h/send?token=t"))


@pytest.mark.parametrize(
    ("answer", "provider_id"),
    [
        ({"sid": "SMabc"}, "SMabc"),
        ({"message_id": 77}, "77"),
        ({"id": "", "sid": "S1"}, "S1"),
        ({"ok": True}, None),
        ([{"id": "in-a-list"}], None),
        (b"accepted", None),
    ],
)
def test_the_provider_id_is_found_where_providers_put_it(http_server, answer, provider_id):
    http_server.answer(Reply(200, answer))
    result = send_one(sms_backend(http_server.url))
    assert result.outcome == SENT and result.provider_id == provider_id


def test_a_server_error_then_success_across_two_sends(http_server):
    http_server.answer(Reply(500, {"error": "database down"}), Reply(200, {"id": "SM-2"}))
    sender = SmsSender(sms_backend(http_server.url))
    try:
        first, second = sender.send(text_message()), sender.send(text_message())
    finally:
        sender.close()
    assert (first.outcome, first.http_status) == (TRANSIENT, 500)
    assert first.provider_id is None and "database down" in first.response
    assert (second.outcome, second.provider_id) == (SENT, "SM-2")


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (429, TRANSIENT),
        (503, TRANSIENT),
        (401, CONFIG),
        (403, CONFIG),
        (400, PERMANENT),
        (404, PERMANENT),
    ],
)
def test_refusals_are_classified(http_server, status, outcome):
    http_server.answer(Reply(status, {"error": f"status {status}"}))
    result = send_one(sms_backend(http_server.url))
    assert (result.outcome, result.http_status) == (outcome, status)
    assert f"status {status}" in result.response


def test_a_token_echoed_back_is_not_recorded(http_server):
    http_server.answer(Reply(401, {"error": "unknown token SECRET"}))
    result = send_one(sms_backend(http_server.url))
    assert result.outcome == CONFIG
    assert "SECRET" not in result.response and "unknown token ****" in result.response


def test_nobody_listening_is_transient():
    result = send_one(sms_backend(f"http://127.0.0.1:{free_port()}"))
    assert result.outcome == TRANSIENT and result.http_status is None
    assert result.error_type == "ConnectionRefusedError"
    assert result.response.startswith("The connection failed:")
    assert "SECRET" not in (result.traceback or "")


def test_an_answer_after_the_timeout_is_transient(http_server):
    http_server.answer(Reply(200, {"id": "late"}, hang=True))
    result = send_one(sms_backend(http_server.url, "token=SECRET&timeout=0.2"))
    assert result.outcome == TRANSIENT
    assert result.response == "No answer within 0.2 seconds"


def test_tls_to_a_plain_http_server_is_a_configuration_error(http_server):
    result = send_one(sms_backend(http_server.url.replace("http:", "https:")))
    assert result.outcome == CONFIG and result.response.startswith("TLS failed")


def test_one_connection_carries_many_messages(http_server):
    sender = SmsSender(sms_backend(http_server.url))
    try:
        results = [sender.send(text_message()) for _ in range(3)]
    finally:
        sender.close()
    assert [r.outcome for r in results] == [SENT] * 3
    assert len(http_server.received) == 3
    assert len({r.client_port for r in http_server.received}) == 1


# delivery status


def status_backend(base: str) -> Backend:
    return sms_backend(base, "token=SECRET&status_url=" + base + "/v1/messages/{id}/status")


@pytest.mark.parametrize(
    ("answer", "state", "reason"),
    [
        ({"status": "delivered"}, "delivered", "The provider confirmed delivery."),
        ({"status": "DELIVERED"}, "delivered", "The provider confirmed delivery."),
        (
            {"status": "undeliverable", "error": "unknown subscriber"},
            "failed",
            "The provider reports the message as undeliverable: unknown subscriber",
        ),
        (
            {"status": "failed", "error": {"code": 30005, "message": "handset off"}},
            "failed",
            "The provider reports the message as failed: handset off",
        ),
        (
            {"status": "Rejected", "reason": "spam filter"},
            "failed",
            "The provider reports the message as rejected: spam filter",
        ),
        ({"status": "expired"}, "failed", "The provider reports the message as expired."),
        (
            {"status": "queued"},
            "pending",
            "The provider reports the message as queued; delivery is not confirmed.",
        ),
        ({}, "pending", "The provider's answer has no delivery status."),
        (b"<html>", "pending", "The provider's answer has no delivery status."),
    ],
)
def test_check_delivery(http_server, answer, state, reason):
    http_server.answer(Reply(200, answer))
    status = check_delivery(status_backend(http_server.url), "SM 42/x")
    assert (status.state, status.reason, status.http_status) == (state, reason, 200)
    [request] = http_server.received
    assert (request.method, request.path) == ("GET", "/v1/messages/SM%2042%2Fx/status")
    assert request.headers["Authorization"] == "Bearer SECRET"


def test_check_delivery_when_the_provider_fails_is_pending(http_server):
    http_server.answer(Reply(500, {"error": "oops"}))
    status = check_delivery(status_backend(http_server.url), "SM-1")
    assert (status.state, status.http_status) == ("pending", 500)
    assert status.reason == (
        "The provider's delivery status could not be read: 500 Internal Server Error"
    )
    assert "oops" in status.response


def test_check_delivery_with_nobody_listening_is_pending():
    status = check_delivery(status_backend(f"http://127.0.0.1:{free_port()}"), "SM-1")
    assert status.state == "pending" and status.http_status is None
    assert "could not be read: The connection failed" in status.reason


def test_which_backends_can_report_delivery():
    assert supports_delivery_status(status_backend("https://h"))
    assert not supports_delivery_status(sms_backend("https://h"))
    assert not supports_delivery_status(Backend(name="b", channel="sms", url="nonsense"))
    email = Backend(name="e", channel="email", url="smtp://h?status_url=x")
    assert not supports_delivery_status(email)
    with pytest.raises(ValueError):
        SmsSender(sms_backend("https://h", "status_url=https://h/status")).close()
