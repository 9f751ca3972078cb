"""Garbage into every API call of the app's url_map, with a valid token: a JSON 4xx whose errors
name the field and the problem, never a 500, and nothing changed. Generic garbage goes to every
route and method; each field of a submission, search, resend and resendAsyncByDate gets its
own wrong values too."""

import json

import pytest

from shared.models import Backend
from shared.tokens import create_token
from tests.security.conftest import ROUTES, snapshot

MB = 1024 * 1024
REFUSALS = {400, 404, 405, 409, 413, 415}
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]

# (content type, raw body) that no call accepts
GENERIC = [
    ("application/json", b""),
    ("application/json", b"{not json"),
    ("application/json", b"null"),
    ("application/json", b"42"),
    ("application/json", b'"just a string"'),
    ("application/json", b"{}"),
    ("application/json", b'{"unknown": 1}'),
    ("application/json", b'{"channel": "email", "channel": 5}'),  # a repeated key
    ("application/json", b"[" * 100_000 + b"]" * 100_000),
    ("application/json", json.dumps("x" * MB).encode()),
    ("application/json", b'{"\\u0000": "\\u0000"}'),
    ("application/json", b'{"recipient": "\\ud800"}'),  # a lone surrogate
    ("application/json", b'{"send_at": NaN, "client": 1e999}'),
    ("application/json", b"\xff\xfe{}"),  # not UTF-8
    ("text/plain", b'{"channel": "email"}'),
    ("application/x-www-form-urlencoded", b"channel=email&recipient=a%40example.com"),
]

GOOD_MESSAGE = {"channel": "email", "recipient": "ann@example.com", "subject": "Hi"}
# one wrong field in an otherwise good message; the error must name that field
BAD_FIELDS = {
    "channel": [5, "fax", None, ["email"], "EMAIL\x00"],
    # (an address that is no address, even an empty one, is taken and recorded as NOT_SENT
    # with the reason, SPEC §5 and tests/console/test_api.py: not garbage)
    "recipient": ["x" * MB, "ann\x00@example.com", 123, ["ann@example.com"]],
    "subject": ["x" * MB, "a\x00b", 5, {"a": 1}],
    "body_text": ["x" * (2 * MB), "\x00", ["a"]],
    "body_html": ["é" * MB, 1.5],
    "kind": ["", "   ", "k" * 1000, 7],
    "send_at": ["2024-02-31", "yesterday", 12345678901234567890, "9999-12-31T00:00:00Z", "💥"],
    "client": [999_999, -1, "1", 10**30, True, 1.5],
    "group": [999_999, 0, "one", -5],
    "user": ["nobody@example.com", 5, "x" * 400],
    "metadata": ["x", [1], {"k": "\x00"}, {"k": "v" * (100 * 1024)}],
    "unknown_field": ["anything"],
}
SEARCH_BODIES = {
    "field": [{"field": "nope", "operator": "EQUALS", "value": "x"}],
    "operator": [{"field": "state", "operator": "LIKE", "value": "x"}],
    "value": [{"field": "creationDate", "operator": "BETWEEN", "value": "2024-02-31"}],
    "secondValue": [{"field": "creationDate", "operator": "BETWEEN", "value": "2024-01-01"}],
    "values": [{"field": "state", "operator": "IN", "values": "SENT"}],
    "nul": [{"field": "destination", "operator": "EQUALS", "value": "a\x00b"}],
    "huge": [{"field": "destination", "operator": "IN", "values": ["x"] * 100_000}],
    "sorting": {"filterCriteria": [], "sortingCriteria": {"field": "💥", "order": "UP"}},
}
SEARCH_QUERIES = [
    "offset=-1",
    "limit=0",
    "limit=1001",
    "limit=1e3",
    "limit=%00",
    "offset=99999999999999999999999",
    "paginationDetails=maybe",
    "limit=abc&limit=5",
    "sort=state",  # not a parameter of this call
]
RESEND_BODIES = [
    {"messages": "x"},
    {"messages": []},
    {"messages": ["nope"]},
    {"messages": [5]},
    {"messages": ["a\x00b"]},
    {"messages": ["x" * 5000]},
    {"messages": ["a"] * 1001},
    {"messages": ["a", "a"]},
    {"messages": ["a"], "more": 1},
]
WINDOW_BODIES = [
    {"startDate": "2024-02-31", "endDate": "2024-03-01"},
    {"startDate": "2024-03-01", "endDate": "2024-01-01"},
    {"startDate": "2024-01-01"},
    {"startDate": "2024-01-01", "endDate": "2024-02-01", "templateTypes": ["FAX"]},
    {"startDate": "2024-01-01", "endDate": "2024-02-01", "templateTypes": "EMAIL"},
    {"startDate": 5, "endDate": None},
    {"startDate": "2024-01-01", "endDate": "2024-02-01", "other": 1},
]


@pytest.fixture
def api(app, world):
    for name, channel, url in (
        ("texts", "sms", "https://sms.example.com/send?token=t"),
        ("hooks", "webhook", "https://hooks.example.com/?secret=s"),
    ):
        Backend.create(name=name, channel=channel, url=url, is_default=True)
    client = app.test_client()
    token = {"Authorization": f"Bearer {create_token('fuzz')[1]}"}

    def call(method, path, body=None, content_type="application/json", raw=None, headers=None):
        data = raw if raw is not None else (None if body is None else json.dumps(body))
        return client.open(
            path,
            method=method,
            data=data,
            content_type=content_type,
            headers={**token, **(headers or {})},
        )

    return call


def refused_plainly(response) -> str | None:
    """What is wrong with the answer to bad input, or None if it is a proper refusal."""
    if response.status_code not in REFUSALS:
        return f"status {response.status_code}"
    if response.mimetype != "application/json":
        return f"{response.mimetype}, not JSON"
    errors = response.get_json().get("errors") or []
    if not errors or not all(e.get("field") and e.get("problem") for e in errors):
        return f"no field and problem in {response.get_data(as_text=True)[:200]}"
    return None


def api_routes():
    """Every API address once (each has every method: the others answer a JSON 405)."""
    return sorted({rule for rule, _, _ in ROUTES if rule.startswith("/api/")})


@pytest.mark.parametrize("rule", api_routes())
def test_generic_garbage_to_every_api_route_and_method(api, world, rule):
    paths = [rule]
    if "<uid>" in rule:
        paths = [rule.replace("<uid>", v) for v in (world["uid"], "nope", "x" * 5000, "a%00b")]
    if "<path:path>" in rule:
        paths = [rule.replace("<path:path>", v) for v in ("nope", "messages/x/y", "%ff")]
    before = snapshot()
    problems = []
    for path in paths:
        for method in METHODS:
            for content_type, raw in GENERIC:
                response = api(method, path, content_type=content_type, raw=raw)
                if rule == "/api/openapi.json" and method == "GET":
                    assert response.status_code == 200  # it takes no input to get wrong
                    continue
                if rule.endswith(":search") and method == "POST" and raw == b"{}":
                    assert response.status_code == 200  # no criteria: every message
                    continue
                if rule.endswith("<uid>") and method == "GET" and path == paths[0]:
                    assert response.status_code == 200  # a GET ignores the body: a good call
                    continue
                trouble = refused_plainly(response)
                if trouble:
                    problems.append(f"{method} {path[:60]} {raw[:40]!r}: {trouble}")
    assert problems == []
    assert snapshot() == before


@pytest.mark.parametrize("field", BAD_FIELDS)
def test_each_wrong_field_of_a_submission_is_named(api, world, field):
    before = snapshot()
    for value in BAD_FIELDS[field]:
        for body in (
            {**GOOD_MESSAGE, field: value},
            [GOOD_MESSAGE, {**GOOD_MESSAGE, field: value}],
        ):
            response = api("POST", "/api/messages", body)
            assert refused_plainly(response) is None, (value, response.get_data(as_text=True))
            named = [e["field"] for e in response.get_json()["errors"]]
            assert any(field in name for name in named), (field, value, named)
    assert snapshot() == before


def test_wrong_searches_are_named(api, world):
    before = snapshot()
    for what, body in SEARCH_BODIES.items():
        response = api("POST", "/api/communications/messages:search", body)
        assert refused_plainly(response) is None, (what, response.get_data(as_text=True))
    for query in SEARCH_QUERIES:
        response = api("POST", f"/api/communications/messages:search?{query}", [])
        assert refused_plainly(response) is None, (query, response.get_data(as_text=True))
        name = query.split("=")[0]
        assert response.get_json()["errors"][0]["field"] == name, query
    assert snapshot() == before


def test_wrong_resends_are_named(api, world):
    before = snapshot()
    for body in RESEND_BODIES:
        response = api("POST", "/api/communications/messages:resend", body)
        assert refused_plainly(response) is None, (body, response.get_data(as_text=True))
    for body in WINDOW_BODIES:
        response = api("POST", "/api/communications/messages:resendAsyncByDate", body)
        assert refused_plainly(response) is None, (body, response.get_data(as_text=True))
    assert snapshot() == before


def test_wrong_idempotency_keys_are_named(api, world):
    before = snapshot()
    for key in (" ", "k" * 201, "with space", "ключ", "a\tb"):
        response = api("POST", "/api/messages", GOOD_MESSAGE, headers={"Idempotency-Key": key})
        assert refused_plainly(response) is None, (key, response.get_data(as_text=True))
        assert response.get_json()["errors"][0]["field"] == "Idempotency-Key"
    assert snapshot() == before
