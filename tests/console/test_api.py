"""The JSON API: tokens, submitting messages, reading one, resending, idempotency, and bad input
of every kind getting a JSON 400 that changes nothing (SPEC §6, §9)."""

import json
import threading
from datetime import datetime, timedelta

import pytest

from console import api as api_module
from shared import bulk
from shared.models import (
    ApiToken,
    Backend,
    Client,
    Event,
    Group,
    IdempotencyRecord,
    Job,
    Message,
    User,
    now,
)
from shared.outbox import create_message
from shared.tokens import create_token, revoke
from tests.conftest import wait_for

ENDPOINTS = [
    ("post", "/api/messages", {"channel": "email", "recipient": "ann@example.com"}),
    ("get", "/api/messages/0123456789abcdef0123456789abcdef", None),
    ("post", "/api/communications/messages:search", []),
    ("post", "/api/communications/messages:resend", {"messages": ["x"]}),
    (
        "post",
        "/api/communications/messages:resendAsyncByDate",
        {"startDate": "2026-01-01", "endDate": "2026-01-02"},
    ),
]


@pytest.fixture
def backends(database):
    return [
        Backend.create(name="mail", channel="email", url="smtp://127.0.0.1:25", is_default=True),
        Backend.create(name="texts", channel="sms", url="https://sms.example.com/send"),
        Backend.create(name="hooks", channel="webhook", url="https://hooks.example.com/"),
    ]


@pytest.fixture
def owner(database):
    """The token's owner, an admin (made without password hashing, which is slow on purpose)."""
    return User.create(email="admin@example.com", name="Ada", role="admin", password_hash="-")


@pytest.fixture
def token(owner):
    return create_token("tests", owner=owner)[1]


class Api:
    """The test client, with the bearer token and JSON bodies."""

    def __init__(self, client, token):
        self.client = client
        self.token = token

    def headers(self, extra=None):
        return {"Authorization": f"Bearer {self.token}", **(extra or {})}

    def post(self, path, body=None, headers=None, **kwargs):
        if body is not None:
            kwargs["data"] = json.dumps(body)
            kwargs.setdefault("content_type", "application/json")
        return self.client.post(path, headers=self.headers(headers), **kwargs)

    def get(self, path, headers=None):
        return self.client.get(path, headers=self.headers(headers))


@pytest.fixture
def api(client, token, backends):
    return Api(client, token)


def problems(response) -> dict:
    """{field: problem} of a JSON error answer."""
    assert response.is_json, response.get_data(as_text=True)
    return {e["field"]: e["problem"] for e in response.get_json()["errors"]}


def snapshot() -> tuple:
    """What a refused call must not change."""
    return (Message.select().count(), Event.select().count(), IdempotencyRecord.select().count())


# -- authentication ---------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS)
@pytest.mark.parametrize("authorization", [None, "Bearer not-a-token", "Basic YTpi", "Bearer"])
def test_every_call_needs_a_token(client, backends, token, method, path, body, authorization):
    headers = {"Authorization": authorization} if authorization else {}
    before = snapshot()
    response = getattr(client, method)(path, json=body, headers=headers)
    assert response.status_code == 401
    assert "Authorization" in problems(response)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert snapshot() == before


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS)
def test_a_revoked_token_is_refused(client, backends, database, method, path, body):
    token, plaintext = create_token("old")
    revoke(token)
    before = snapshot()
    response = getattr(client, method)(
        path, json=body, headers={"Authorization": f"Bearer {plaintext}"}
    )
    assert response.status_code == 403
    assert "revoked" in problems(response)["Authorization"]
    assert snapshot() == before


def test_the_openapi_document_needs_no_token(client, database):
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    doc = response.get_json()
    assert doc["openapi"].startswith("3.1")
    assert set(doc["paths"]) == {
        "/api/openapi.json",
        "/api/messages",
        "/api/messages/{uid}",
        "/api/communications/messages:search",
        "/api/communications/messages:resend",
        "/api/communications/messages:resendAsyncByDate",
    }
    assert doc["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


def test_the_api_needs_no_csrf_token_but_the_console_still_does(api, client):
    assert (
        api.post("/api/messages", {"channel": "email", "recipient": "a@example.com"}).status_code
        == 202
    )
    assert client.post("/login", data={"email": "x", "password": "y"}).status_code == 400


# -- POST /api/messages -----------------------------------------------------------------------


def test_submit_one_message(api):
    response = api.post(
        "/api/messages",
        {"channel": "email", "recipient": "ann@example.com", "subject": "Hi", "body_text": "Yo"},
    )
    assert response.status_code == 202
    (answer,) = response.get_json()["messages"]
    assert answer["state"] == "QUEUED" and answer["state_reason"] == ""
    message = Message.get(Message.uid == answer["uid"])
    assert (message.recipient, message.subject, message.body_text, message.kind) == (
        "ann@example.com",
        "Hi",
        "Yo",
        "manual",
    )
    assert message.api_token.name == "tests" and message.idempotency_key is None
    assert message.sender_id is None  # an automated message: shown as System
    assert Event.get(Event.message == message).to_state == "QUEUED"


def test_submit_a_list_with_every_field(api, owner):
    client = Client.create(name="Ann")
    group = Group.create(name="Savers")
    later = (now() + timedelta(days=2)).replace(microsecond=0)
    body = [
        {
            "channel": "email",
            "recipient": "ann@example.com",
            "subject": "Repayment due ⏰",
            "body_text": "Dear Ann,\nyour repayment is due.",
            "body_html": "<p>Dear Ann</p>",
            "kind": "loan.repayment_due",
            "client": client.id,
            "group": group.id,
            "user": "ADMIN@example.com",
            "metadata": {"loan": "L-1", "amounts": [1, 2.5], "nested": {"ok": True}},
            "send_at": later.isoformat(),
        },
        {"channel": "sms", "recipient": "+447911123456", "body_text": "Due Friday"},
        {"channel": "webhook", "recipient": "https://hooks.example.com/in", "metadata": None},
    ]
    response = api.post("/api/messages", body)
    assert response.status_code == 202
    answers = response.get_json()["messages"]
    assert [a["state"] for a in answers] == ["WAITING", "QUEUED", "QUEUED"]
    first = Message.get(Message.uid == answers[0]["uid"])
    assert (first.client_id, first.group_id, first.user_id) == (client.id, group.id, owner.id)
    assert first.kind == "loan.repayment_due" and first.subject == "Repayment due ⏰"
    assert first.metadata == body[0]["metadata"] and first.next_attempt_at == later
    assert first.body_html == "<p>Dear Ann</p>"
    assert [Message.get(Message.uid == a["uid"]).channel for a in answers] == [
        "email",
        "sms",
        "webhook",
    ]


NEXT_YEAR = now().year + 1


@pytest.mark.parametrize(
    ("send_at", "stored"),
    [
        ("-01-02T03:04:05", datetime(NEXT_YEAR, 1, 2, 3, 4, 5)),  # without an offset: UTC
        ("-01-02T03:04:05+02:00", datetime(NEXT_YEAR, 1, 2, 1, 4, 5)),
        ("-01-02T03:04:05Z", datetime(NEXT_YEAR, 1, 2, 3, 4, 5)),
        ("-01-02t03:04:05.123z", datetime(NEXT_YEAR, 1, 2, 3, 4, 5, 123000)),
        ("-01-02", datetime(NEXT_YEAR, 1, 2)),
    ],
)
def test_send_at_is_stored_in_utc(api, send_at, stored):
    body = {"channel": "email", "recipient": "ann@example.com", "send_at": f"{NEXT_YEAR}{send_at}"}
    uid = api.post("/api/messages", body).get_json()["messages"][0]["uid"]
    assert Message.get(Message.uid == uid).next_attempt_at == stored


def test_a_past_send_at_sends_now(api):
    body = {"channel": "email", "recipient": "ann@example.com", "send_at": "2001-01-01T00:00:00Z"}
    assert api.post("/api/messages", body).get_json()["messages"][0]["state"] == "QUEUED"


def test_an_unusable_recipient_is_recorded_as_not_sent_with_the_reason(api):
    body = [
        {"channel": "email", "recipient": "not-an-address"},
        {"channel": "sms", "recipient": "07911 123456"},
        {"channel": "webhook", "recipient": "ftp://example.com"},
        {"channel": "email", "recipient": ""},
    ]
    response = api.post("/api/messages", body)
    assert response.status_code == 202
    for answer in response.get_json()["messages"]:
        assert answer["state"] == "NOT_SENT" and answer["state_reason"]


def test_unicode_is_kept_exactly(api):
    text = "Zahlung fällig — 返済期日 🙂 \u202eRTL"
    body = {"channel": "email", "recipient": "ann@example.com", "subject": text, "body_text": text}
    uid = api.post("/api/messages", body).get_json()["messages"][0]["uid"]
    assert api.get(f"/api/messages/{uid}").get_json()["subject"] == text


def test_a_queue_that_cannot_be_reached_still_answers_202(api, monkeypatch):
    def broken(messages):
        raise OSError("queue.db is on a full disk")

    monkeypatch.setattr("worker.tasks._enqueue_sends", broken)  # a real Redis down: see
    response = api.post("/api/messages", ok())  # tests/reliability/test_queue_outage.py
    assert response.status_code == 202
    assert Message.select().count() == 1  # stored: the sweep sends it


def test_the_worker_is_woken_once_per_backend(api, monkeypatch):
    woken = []
    monkeypatch.setattr("worker.tasks.wake", lambda messages: woken.append(list(messages)))
    body = [{"channel": "email", "recipient": f"c{i}@example.com"} for i in range(5)]
    assert api.post("/api/messages", body).status_code == 202
    assert len(woken) == 1 and len(woken[0]) == 5


def ok(**fields) -> dict:
    return {"channel": "email", "recipient": "ann@example.com", **fields}


def without(name) -> dict:
    message = ok()
    del message[name]
    return message


GARBAGE = [
    (without("channel"), "channel", "required"),
    (without("recipient"), "recipient", "required"),
    (ok(channel=None), "channel", "required"),
    (ok(channel="fax"), "channel", "must be one of"),
    (ok(channel=5), "channel", "must be one of"),
    (ok(channel=["email"]), "channel", "must be one of"),
    (ok(recipient=None), "recipient", "required"),
    (ok(recipient=123), "recipient", "string"),
    (ok(recipient=["a@example.com"]), "recipient", "string"),
    (ok(recipient="a" * 2001), "recipient", "at most 2,000"),
    (ok(recipient="ann@exa\x00mple.com"), "recipient", "NUL"),
    (ok(subject=5), "subject", "string"),
    (ok(subject="x" * 999), "subject", "at most 998"),
    (ok(subject="a\x00b"), "subject", "NUL"),
    (ok(body_text={"a": 1}), "body_text", "string"),
    (ok(body_text="x" * (1024 * 1024 + 1)), "body_text", "characters"),
    (ok(body_text="é" * 600_000), "body_text", "bytes of UTF-8"),
    (ok(body_html=1), "body_html", "string"),
    (ok(kind=""), "kind", "blank"),
    (ok(kind="x" * 101), "kind", "at most 100"),
    (ok(kind=7), "kind", "string"),
    (ok(client="1"), "client", "id"),
    (ok(client=1.5), "client", "id"),
    (ok(client=True), "client", "id"),
    (ok(client=0), "client", "id"),
    (ok(client=-3), "client", "id"),
    (ok(client=2**64), "client", "id"),
    (ok(client=999), "client", "no client with id 999"),
    (ok(group=999), "group", "no group with id 999"),
    (ok(group=[1]), "group", "id"),
    (ok(user="nobody@example.com"), "user", "no user"),
    (ok(user=5), "user", "string"),
    (ok(metadata=[1, 2]), "metadata", "object"),
    (ok(metadata="x"), "metadata", "object"),
    (ok(metadata={"a": "b\x00"}), "metadata", "NUL"),
    (ok(metadata={"a\x00": 1}), "metadata", "NUL"),
    (ok(metadata={"big": "x" * 70_000}), "metadata", "at most 65,536 bytes"),
    (ok(send_at="tomorrow"), "send_at", "ISO-8601"),
    (ok(send_at="2026-13-01"), "send_at", "ISO-8601"),
    (ok(send_at=1764000000), "send_at", "ISO-8601"),
    (ok(send_at="9999-12-31T23:59:59-23:59"), "send_at", "out of range"),
    (ok(send_at="9999-12-31T23:59:59"), "send_at", "within 10 years"),
    (ok(metadata={"deep": [[{"x": ["\x00"]}]]}), "metadata", "NUL"),
    (ok(metadata={"a": "\ud800"}), "metadata", "Unicode"),
    (ok(colour="blue"), "colour", "unknown field"),
    (ok(language="en"), "language", "unknown field"),
]


@pytest.mark.parametrize(("body", "field", "words"), GARBAGE)
def test_garbage_in_any_field_is_a_400_naming_it_and_changes_nothing(api, body, field, words):
    before = snapshot()
    response = api.post("/api/messages", body)
    assert response.status_code == 400
    assert words in problems(response)[field]
    error = response.get_json()["errors"][0]
    assert error["errorReason"] == "INVALID_PARAMETERS" and error["errorSource"] == field
    assert snapshot() == before


def test_a_lone_surrogate_is_refused(api):
    raw = '{"channel": "email", "recipient": "ann@example.com", "subject": "\\ud800"}'
    before = snapshot()
    response = api.post("/api/messages", data=raw, content_type="application/json")
    assert response.status_code == 400 and "Unicode" in problems(response)["subject"]
    assert snapshot() == before


def test_a_list_is_all_or_nothing_and_names_each_bad_item(api):
    body = [ok(), ok(recipient=5), ok(), ok(colour="red", client=999)]
    before = snapshot()
    response = api.post("/api/messages", body)
    assert response.status_code == 400
    assert set(problems(response)) == {"[1].recipient", "[3].colour"}
    assert snapshot() == before
    # references are checked once the shapes are right, still before anything is stored
    response = api.post("/api/messages", [ok(), ok(client=999), ok(user="x@example.com")])
    assert set(problems(response)) == {"[1].client", "[2].user"}
    assert snapshot() == before


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ([], "at least one"),
        ([ok()] * 1001, "at most 1000"),
        ("email", "message object or a list"),
        (5, "message object or a list"),
        (None, "message object or a list"),
        ([ok(), "x"], "must be an object"),
    ],
)
def test_the_body_must_be_a_message_or_a_list_of_up_to_1000(api, body, words):
    before = snapshot()
    response = api.post("/api/messages", data=json.dumps(body), content_type="application/json")
    assert response.status_code == 400
    assert any(words in p for p in problems(response).values())
    assert snapshot() == before


def test_a_channel_without_a_backend_is_refused(client, token, database):
    Backend.create(name="mail", channel="email", url="smtp://127.0.0.1:25")
    response = Api(client, token).post(
        "/api/messages", [ok(), ok(channel="sms", recipient="+447911123456")]
    )
    assert response.status_code == 400
    assert "no sms backend" in problems(response)["[1].channel"]
    assert Message.select().count() == 0


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        ("{", "not valid JSON"),
        ("", "not valid JSON"),
        ('{"channel": "email",}', "not valid JSON"),
        ('{"channel": NaN}', "NaN"),
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
        (b"\xff\xfe\x00", "not valid JSON"),
    ],
)
def test_malformed_json_is_a_400(api, raw, words):
    response = api.post("/api/messages", data=raw, content_type="application/json")
    assert response.status_code == 400
    assert words in problems(response)["body"]


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded"])
@pytest.mark.parametrize(("method", "path", "body"), [e for e in ENDPOINTS if e[0] == "post"])
def test_a_body_not_sent_as_json_is_a_415(api, content_type, method, path, body):
    kwargs = {"content_type": content_type} if content_type else {}
    response = api.post(path, data=json.dumps(body), **kwargs)
    assert response.status_code == 415
    assert "application/json" in problems(response)["Content-Type"]


def test_json_with_a_charset_is_fine(api):
    response = api.post(
        "/api/messages", data=json.dumps(ok()), content_type="application/json; charset=utf-8"
    )
    assert response.status_code == 202


def test_a_body_over_the_limit_is_a_413(api, monkeypatch):
    monkeypatch.setattr(api_module, "MAX_REQUEST_BYTES", 1000)
    response = api.post("/api/messages", ok(body_text="x" * 2000))
    assert response.status_code == 413
    assert "body" in problems(response)
    assert Message.select().count() == 0


def test_other_methods_and_addresses_get_json_errors(api):
    response = api.client.delete("/api/messages", headers=api.headers())
    assert response.status_code == 405
    assert response.headers["Allow"] == "POST" and "method" in problems(response)
    response = api.client.put("/api/messages/abc", headers=api.headers())
    assert response.status_code == 405 and response.headers["Allow"] == "GET"
    response = api.get("/api/nothing/here")
    assert response.status_code == 404 and "path" in problems(response)
    # still behind the token
    assert api.client.get("/api/nothing/here").status_code == 401


# -- GET /api/messages/<uid> ------------------------------------------------------------------


def test_get_a_message_with_its_attempts_and_events(api):
    uid = api.post("/api/messages", ok(subject="Hi")).get_json()["messages"][0]["uid"]
    response = api.get(f"/api/messages/{uid}")
    assert response.status_code == 200
    doc = response.get_json()
    assert (doc["uid"], doc["state"], doc["subject"], doc["attempts"]) == (uid, "QUEUED", "Hi", [])
    assert doc["events"][0]["to_state"] == "QUEUED"


@pytest.mark.parametrize(
    "uid", ["0123456789abcdef0123456789abcdef", "nope", "a%00b", "x" * 65, "..%2F..%2Fetc"]
)
def test_an_unknown_message_is_a_json_404(api, uid):
    response = api.get(f"/api/messages/{uid}")
    assert response.status_code == 404
    assert response.is_json


# -- Idempotency-Key --------------------------------------------------------------------------


def test_the_same_key_and_body_get_exactly_the_first_answer(api):
    body = [ok(), ok(recipient="bob@example.com")]
    first = api.post("/api/messages", body, headers={"Idempotency-Key": "batch-1"})
    again = api.post("/api/messages", body, headers={"Idempotency-Key": "batch-1"})
    assert first.status_code == again.status_code == 202
    assert again.get_data() == first.get_data()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert Message.select().count() == 2
    keys = sorted(m.idempotency_key for m in Message.select())
    assert keys == ["batch-1#0", "batch-1#1"]


def test_the_same_key_with_another_body_is_a_409(api):
    api.post("/api/messages", ok(), headers={"Idempotency-Key": "k"})
    before = snapshot()
    response = api.post("/api/messages", ok(subject="changed"), headers={"Idempotency-Key": "k"})
    assert response.status_code == 409
    assert "another request body" in problems(response)["Idempotency-Key"]
    assert snapshot() == before


def test_keys_are_per_token_and_per_call(api, database):
    _, other = create_token("other")
    body = ok()
    api.post("/api/messages", body, headers={"Idempotency-Key": "k"})
    response = Api(api.client, other).post("/api/messages", body, headers={"Idempotency-Key": "k"})
    assert response.status_code == 202 and "Idempotent-Replayed" not in response.headers
    assert Message.select().count() == 2


def test_a_key_older_than_24_hours_is_new_again(api):
    first = api.post("/api/messages", ok(), headers={"Idempotency-Key": "daily"})
    IdempotencyRecord.update(created_at=now() - timedelta(hours=25)).execute()
    again = api.post("/api/messages", ok(), headers={"Idempotency-Key": "daily"})
    assert again.status_code == 202 and again.get_data() != first.get_data()
    assert Message.select().count() == 2
    assert IdempotencyRecord.select().count() == 1
    # the old message keeps no key, so the key is free; the new one has it
    new_uid = again.get_json()["messages"][0]["uid"]
    assert Message.get(Message.idempotency_key == "daily").uid == new_uid


def test_stale_records_are_swept(api):
    api.post("/api/messages", ok(), headers={"Idempotency-Key": "old"})
    IdempotencyRecord.update(created_at=now() - timedelta(days=3)).execute()
    api.post("/api/messages", ok(), headers={"Idempotency-Key": "new"})
    assert [r.key for r in IdempotencyRecord.select()] == ["new"]


@pytest.mark.parametrize("key", ["", " ", "x" * 201, "with space", "naïve"])
def test_a_bad_key_is_a_400(api, key):
    response = api.post("/api/messages", ok(), headers={"Idempotency-Key": key})
    assert response.status_code == 400 and "Idempotency-Key" in problems(response)
    assert Message.select().count() == 0


def test_a_refused_call_stores_no_answer(api):
    response = api.post("/api/messages", ok(client=999), headers={"Idempotency-Key": "k"})
    assert response.status_code == 400
    assert IdempotencyRecord.select().count() == 0
    assert api.post("/api/messages", ok(), headers={"Idempotency-Key": "k"}).status_code == 202


def test_concurrent_duplicates_make_one_set_of_messages(app, token, backends):
    body = [ok(recipient=f"c{i}@example.com") for i in range(20)]
    barrier = threading.Barrier(4)
    answers = []

    def submit():
        client = Api(app.test_client(), token)
        barrier.wait()
        response = client.post("/api/messages", body, headers={"Idempotency-Key": "race"})
        answers.append((response.status_code, response.get_data()))

    threads = [threading.Thread(target=submit) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert {status for status, _ in answers} == {202}
    assert len({data for _, data in answers}) == 1
    assert Message.select().count() == 20


# -- :resend ----------------------------------------------------------------------------------


def finished(state="FAILED", recipient="ann@example.com", **fields):
    message = create_message("email", recipient, "Statement", "Dear Ann", **fields)
    Message.update(state=state, state_reason="550 no such user").where(
        Message.id == message.id
    ).execute()
    return Message.get_by_id(message.id)


def test_resend_makes_new_messages_in_mambus_shape(api, owner):
    failed, sent = finished("FAILED"), finished("SENT")
    response = api.post("/api/communications/messages:resend", {"messages": [failed.uid, sent.uid]})
    assert response.status_code == 202
    copies = response.get_json()["messages"]
    assert [c["state"] for c in copies] == ["QUEUED", "QUEUED"]
    assert copies[0]["destination"] == "ann@example.com" and copies[0]["type"] == "EMAIL"
    assert copies[0]["senderKey"] == str(owner.id)  # the token's owner resent it
    new = Message.get(Message.uid == copies[0]["encodedKey"])
    assert new.resend_of_id == failed.id and new.api_token.name == "tests"
    assert Message.get_by_id(failed.id).state == "FAILED"  # never changed


def test_resend_replays_with_the_same_key(api):
    failed = finished()
    body = {"messages": [failed.uid]}
    first = api.post("/api/communications/messages:resend", body, headers={"Idempotency-Key": "r"})
    again = api.post("/api/communications/messages:resend", body, headers={"Idempotency-Key": "r"})
    assert again.get_data() == first.get_data()
    assert Message.select().count() == 2


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({}, "messages", "non-empty list"),
        ({"messages": []}, "messages", "non-empty list"),
        ({"messages": "abc"}, "messages", "non-empty list"),
        ({"messages": ["0" * 32] * 1001}, "messages", "at most 1000"),
        ({"messages": [5]}, "messages[0]", "encodedKey"),
        ({"messages": ["a\x00b"]}, "messages[0]", "encodedKey"),
        ({"messages": ["0" * 32]}, "messages[0]", "no message"),
        ({"messages": ["x"], "reason": "y"}, "reason", "unknown field"),
        ([], "body", "must be an object"),
    ],
)
def test_resend_refuses_garbage(api, body, field, words):
    before = snapshot()
    response = api.post("/api/communications/messages:resend", body)
    assert response.status_code == 400
    assert words in problems(response)[field]
    assert snapshot() == before


def test_resend_is_all_or_nothing_and_names_the_unresendable_one(api):
    failed = finished()
    queued = create_message("email", "bob@example.com", "Hi", "")
    before = snapshot()
    response = api.post(
        "/api/communications/messages:resend", {"messages": [failed.uid, queued.uid, failed.uid]}
    )
    assert response.status_code == 400
    found = problems(response)
    assert "queued cannot be resent" in found["messages[1]"]
    assert "twice" in found["messages[2]"]
    assert snapshot() == before


# -- :resendAsyncByDate -----------------------------------------------------------------------


def run_jobs(*jobs) -> None:
    """What the worker's run_bulk_job task does with each (the end-to-end test runs a real
    worker)."""
    for job in jobs:
        bulk.run_job(job, wake=lambda messages: None)


def test_resend_by_date_answers_at_once_and_the_worker_resends_the_window(
    api, backends, start_worker
):
    inside = finished("FAILED")
    not_sent = finished("NOT_SENT", recipient="bob@example.com")
    sms = create_message("sms", "+447911123456", "", "Hi")
    Message.update(state="FAILED").where(Message.id == sms.id).execute()
    old = finished("FAILED")
    Message.update(created_at=datetime(2020, 1, 1)).where(Message.id == old.id).execute()
    finished("SENT")
    today = now().date().isoformat()
    body = {"startDate": today, "endDate": today, "templateTypes": ["EMAIL"]}
    response = api.post("/api/communications/messages:resendAsyncByDate", body)
    assert response.status_code == 200  # what Mambu answers: accepted, to be done later
    answer = response.get_json()
    job = Job.get_by_id(answer["job"])
    assert answer["count"] == job.total == 2 and job.kind == "bulk_resend"
    assert (
        job.state == "pending"
        and Message.select().where(Message.resend_of.is_null(False)).count() == 0
    )

    start_worker("--no-periodic")
    wait_for(lambda: Job.get_by_id(job.id).state == "done", what="the resend job")
    copies = list(Message.select().where(Message.resend_of.is_null(False)))
    assert {m.resend_of_id for m in copies} == {inside.id, not_sent.id}
    assert {m.api_token_id for m in copies} == {ApiToken.get().id}  # the token's, as by key
    assert Job.get_by_id(job.id).done == 2


def test_resend_by_date_resends_the_channels_asked_for_and_each_failure_once(api, owner):
    email = finished()
    sms = create_message("sms", "+447911123456", "", "Hi")
    Message.update(state="FAILED").where(Message.id == sms.id).execute()
    today = now().date().isoformat()
    body = {"startDate": today, "endDate": today, "templateTypes": ["SMS"]}
    first = api.post("/api/communications/messages:resendAsyncByDate", body).get_json()
    run_jobs(first["job"])
    assert Message.get(Message.resend_of == sms.id).sender_id == owner.id
    assert Message.get_or_none(Message.resend_of == email.id) is None
    # already resent: the SMS is no longer an unresolved failure; the email is, when asked for
    body["templateTypes"] = ["EMAIL", "SMS"]
    second = api.post("/api/communications/messages:resendAsyncByDate", body).get_json()
    assert second["count"] == 1
    run_jobs(second["job"])
    assert Message.select().where(Message.resend_of == sms.id).count() == 1
    assert Message.select().where(Message.resend_of == email.id).count() == 1


def test_resend_by_date_is_not_capped_at_a_batch(api, monkeypatch):
    monkeypatch.setattr(bulk, "CHUNK", 2)  # the job goes through the window in chunks
    failed = [finished() for _ in range(5)]
    today = now().date().isoformat()
    answer = api.post(
        "/api/communications/messages:resendAsyncByDate", {"startDate": today, "endDate": today}
    ).get_json()
    assert answer["count"] == 5
    run_jobs(answer["job"])
    resent = {m.resend_of_id for m in Message.select().where(Message.resend_of.is_null(False))}
    assert resent == {m.id for m in failed}
    assert Job.get_by_id(answer["job"]).done == 5


def test_resend_by_date_with_the_same_key_makes_one_job(api):
    finished()
    today = now().date().isoformat()
    body = {"startDate": today, "endDate": today}
    key = {"Idempotency-Key": "window-1"}
    first = api.post("/api/communications/messages:resendAsyncByDate", body, headers=key)
    again = api.post("/api/communications/messages:resendAsyncByDate", body, headers=key)
    assert first.status_code == again.status_code == 200
    assert again.get_json() == first.get_json() and again.headers["Idempotent-Replayed"] == "true"
    assert Job.select().count() == 1
    other = {"startDate": today, "endDate": today, "templateTypes": ["SMS"]}
    assert (
        api.post("/api/communications/messages:resendAsyncByDate", other, headers=key).status_code
        == 409
    )


def test_resend_by_date_takes_date_times_and_no_types(api):
    failed = finished()
    start = (now() - timedelta(hours=1)).isoformat() + "Z"
    end = (now() + timedelta(hours=1)).isoformat() + "+00:00"
    body = {"startDate": start, "endDate": end}
    answer = api.post("/api/communications/messages:resendAsyncByDate", body).get_json()
    assert answer["count"] == 1
    run_jobs(answer["job"])
    assert Message.get(Message.resend_of == failed.id).state == "QUEUED"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"endDate": "2026-01-01"}, "startDate"),
        ({"startDate": "2026-01-01"}, "endDate"),
        ({"startDate": "yesterday", "endDate": "2026-01-01"}, "startDate"),
        ({"startDate": 5, "endDate": "2026-01-01"}, "startDate"),
        ({"startDate": "2026-01-02", "endDate": "2026-01-01"}, "endDate"),
        (
            {"startDate": "2026-01-01", "endDate": "2026-01-01", "templateTypes": "EMAIL"},
            "templateTypes",
        ),
        (
            {"startDate": "2026-01-01", "endDate": "2026-01-01", "templateTypes": ["FAX"]},
            "templateTypes[0]",
        ),
        (
            {"startDate": "2026-01-01", "endDate": "2026-01-01", "templateTypes": [["EMAIL"]]},
            "templateTypes[0]",
        ),
        ({"startDate": "2026-01-01", "endDate": "2026-01-01", "extra": 1}, "extra"),
        (["2026-01-01"], "body"),
    ],
)
def test_resend_by_date_refuses_garbage(api, body, field):
    finished()
    before = snapshot()
    response = api.post("/api/communications/messages:resendAsyncByDate", body)
    assert response.status_code == 400
    assert field in problems(response)
    assert snapshot() == before
