"""Mambu's communications search (POST /api/communications/messages:search) and the translation
in shared/mambu.py: every field with its operators, sorting, pagination, the message shape and
the state mapping; bad criteria are a 400 naming the part that is wrong."""

from datetime import datetime

import pytest

from shared.db import db
from shared.mambu import (
    MAMBU_STATES,
    SEARCH_STATES,
    SearchError,
    parse_search,
    to_mambu,
)
from shared.models import Client, Group, Message, User
from shared.outbox import create_message
from shared.tokens import create_token
from tests.conftest import sqlite_only
from tests.console.test_api import Api, backends, problems  # noqa: F401

SEARCH = "/api/communications/messages:search"
AT = datetime(2026, 11, 25, 15, 0)  # a Wednesday

# name: (channel, recipient, state, state_reason, attempts)
ROWS = {
    "a": ("email", "Ann@Example.com", "SENT", "", 1),
    "b": ("email", "bob@example.com", "FAILED", "550 No such user", 5),
    "c": ("sms", "+447911123456", "NOT_SENT", "The phone number is not valid.", 0),
    "d": ("webhook", "https://hooks.example.com/x", "SENDING", "a worker is sending it", 0),
    "e": ("email", "carol@example.com", "DELIVERED", "", 1),
    "f": ("email", "dan@example.com", "BACKEND_TEST_REQUIRED", "Held until mail passes a test", 0),
    "g": ("sms", "+447911000000", "CANCELLED", "Cancelled by Sam Support", 0),
    "h": ("email", "erin@example.com", "WAITING", "retry 2 of 4 after connection refused", 2),
    "i": ("email", "fay@example.com", "QUEUED", "", 0),
}
# name: (created, sent) in November 2026, as (day, hour[, minute])
DATES = {
    "a": ((20, 10), (20, 10, 1)),
    "b": ((21, 9), None),
    "c": ((22, 12), None),
    "d": ((23, 8), None),
    "e": ((24, 11), (24, 12)),
    "f": ((25, 9), None),
    "g": ((25, 10), None),
    "h": ((25, 11), None),
    "i": ((26, 8), None),
}
# name: the kind and the records it concerns (all others: "manual", none)
LINKS = {
    "a": {"kind": "loan.repayment_due", "client": "ann", "sender": "support"},
    "b": {"kind": "loan.repayment_due", "client": "bob"},
    "c": {"group": "savers"},
    "d": {"kind": "client.created", "user": "admin"},
    "e": {"sender": "admin"},
}


def when(parts):
    return datetime(2026, 11, *parts) if parts else None


@pytest.fixture
def log(database, backends):  # noqa: F811
    """Nine messages, one per state, with every link and date set; name -> Message."""
    # staff users who never log in here: no password hashing, which is slow on purpose
    records = {
        "ann": Client.create(name="Ann"),
        "bob": Client.create(name="Bob"),
        "savers": Group.create(name="Savers"),
        "support": User.create(email="sam@example.com", name="Sam", password_hash="-"),
        "admin": User.create(email="ada@example.com", name="Ada", password_hash="-", role="admin"),
    }
    made = {}
    for name, (channel, recipient, state, reason, attempts) in ROWS.items():
        links = dict(LINKS.get(name, {}))
        kind = links.pop("kind", "manual")
        fields = {field: records[record] for field, record in links.items()}
        message = create_message(
            channel, recipient, f"Subject {name}", f"Body {name}", kind=kind, **fields
        )
        created, sent = DATES[name]
        Message.update(
            state=state,
            state_reason=reason,
            attempts=attempts,
            created_at=when(created),
            sent_at=when(sent),
        ).where(Message.id == message.id).execute()
        made[name] = Message.get_by_id(message.id)
    return made


@pytest.fixture
def api(client, log):
    return Api(client, create_token("search")[1])


def names(log, answer) -> set[str]:
    by_key = {m.uid: name for name, m in log.items()}
    return {by_key[m["encodedKey"]] for m in answer}


def search(api, body, query=""):
    response = api.post(SEARCH + query, body)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response


def criterion(field, operator, value=None, **extra):
    c = {"field": field, "operator": operator, **extra}
    if value is not None:
        c["value"] = value
    return c


CASES = [
    # encodedKey
    (lambda log: criterion("encodedKey", "EQUALS", log["a"].uid), {"a"}),
    (lambda log: criterion("encodedKey", "EQUALS", log["a"].uid.upper()), {"a"}),
    (lambda log: criterion("encodedKey", "EQUALS_CASE_SENSITIVE", log["a"].uid.upper()), set()),
    (lambda log: criterion("encodedKey", "IN", values=[log["a"].uid, log["b"].uid]), {"a", "b"}),
    (lambda log: criterion("encodedKey", "EMPTY"), set()),
    # creationDate
    (
        lambda log: criterion("creationDate", "BETWEEN", "2026-11-21", secondValue="2026-11-22"),
        {"b", "c"},
    ),
    (lambda log: criterion("creationDate", "ON", "2026-11-25"), {"f", "g", "h"}),
    (lambda log: criterion("creationDate", "ON", "2026-11-25T23:00:00-02:00"), {"f", "g", "h"}),
    (lambda log: criterion("creationDate", "ON", "2026-11-26T01:00:00+09:00"), {"i"}),
    (lambda log: criterion("creationDate", "AFTER", "2026-11-25"), {"i"}),
    (lambda log: criterion("creationDate", "MORE_THAN", "2026-11-25"), {"i"}),
    (lambda log: criterion("creationDate", "BEFORE", "2026-11-21"), {"a"}),
    (lambda log: criterion("creationDate", "LESS_THAN", "2026-11-21"), {"a"}),
    (lambda log: criterion("creationDate", "BEFORE_INCLUSIVE", "2026-11-21"), {"a", "b"}),
    (lambda log: criterion("creationDate", "BEFORE", "2026-11-21T09:00:00Z"), {"a"}),
    (lambda log: criterion("creationDate", "BEFORE_INCLUSIVE", "2026-11-21T09:00:00Z"), {"a", "b"}),
    (lambda log: criterion("creationDate", "AFTER", "2026-11-25T11:00:00+01:00"), {"h", "i"}),
    (lambda log: criterion("creationDate", "NOT_EMPTY"), set(ROWS)),
    (lambda log: criterion("creationDate", "EMPTY"), set()),
    # sendDate
    (lambda log: criterion("sendDate", "NOT_EMPTY"), {"a", "e"}),
    (lambda log: criterion("sendDate", "EMPTY"), set(ROWS) - {"a", "e"}),
    (lambda log: criterion("sendDate", "ON", "2026-11-24"), {"e"}),
    (
        lambda log: criterion(
            "sendDate", "BETWEEN", "2026-11-20T10:00:30Z", secondValue="2026-11-30"
        ),
        {"a", "e"},
    ),
    # keys of people and records
    (lambda log: criterion("senderKey", "EQUALS", str(log["a"].sender_id)), {"a"}),
    (
        lambda log: criterion(
            "senderKey", "IN", values=[str(log["a"].sender_id), str(log["e"].sender_id)]
        ),
        {"a", "e"},
    ),
    (lambda log: criterion("senderKey", "EMPTY"), set(ROWS) - {"a", "e"}),
    (lambda log: criterion("senderKey", "EQUALS", "not-a-key"), set()),
    (lambda log: criterion("senderKey", "EQUALS", "9" * 30), set()),
    (lambda log: criterion("clientKey", "EQUALS", str(log["a"].client_id)), {"a"}),
    (lambda log: criterion("clientKey", "EQUALS", log["b"].client_id), {"b"}),
    (lambda log: criterion("clientKey", "NOT_EMPTY"), {"a", "b"}),
    (lambda log: criterion("groupKey", "EQUALS", str(log["c"].group_id)), {"c"}),
    (lambda log: criterion("userKey", "EQUALS_CASE_SENSITIVE", str(log["d"].user_id)), {"d"}),
    (lambda log: criterion("userKey", "NOT_EMPTY"), {"d"}),
    # state: Mambu's names find what is reported as them, ours find just that state
    (lambda log: criterion("state", "EQUALS", "SENT"), {"a", "e"}),
    (lambda log: criterion("state", "EQUALS", "sent"), {"a", "e"}),
    (lambda log: criterion("state", "EQUALS", "FAILED"), {"b", "c", "g"}),
    (lambda log: criterion("state", "EQUALS", "WAITING"), {"f", "h"}),
    (lambda log: criterion("state", "EQUALS", "QUEUED"), {"i"}),
    (lambda log: criterion("state", "EQUALS", "SENDING_ASYNC"), {"d"}),
    (lambda log: criterion("state", "EQUALS", "SENDING"), {"d"}),
    (lambda log: criterion("state", "EQUALS", "DELIVERED"), {"e"}),
    (lambda log: criterion("state", "EQUALS", "NOT_SENT"), {"c"}),
    (lambda log: criterion("state", "EQUALS", "CANCELLED"), {"g"}),
    (lambda log: criterion("state", "EQUALS", "BACKEND_TEST_REQUIRED"), {"f"}),
    (lambda log: criterion("state", "EQUALS", "QUEUED_FOR_STREAM"), set()),
    (lambda log: criterion("state", "IN", values=["QUEUED", "SENDING_ASYNC"]), {"d", "i"}),
    (lambda log: criterion("state", "NOT_EMPTY"), set(ROWS)),
    # type
    (lambda log: criterion("type", "EQUALS", "EMAIL"), {"a", "b", "e", "f", "h", "i"}),
    (lambda log: criterion("type", "EQUALS", "WEB_HOOK"), {"d"}),
    (lambda log: criterion("type", "EQUALS", "webhook"), {"d"}),
    (lambda log: criterion("type", "IN", values=["SMS", "WEB_HOOK"]), {"c", "d", "g"}),
    # failureReason
    (lambda log: criterion("failureReason", "EQUALS", "MISSING_SMS_RECIPIENT"), {"c"}),
    (lambda log: criterion("failureReason", "EQUALS", "OTHER"), {"b", "f", "g"}),
    (
        lambda log: criterion("failureReason", "IN", values=["OTHER", "MISSING_SMS_RECIPIENT"]),
        {"b", "c", "f", "g"},
    ),
    (lambda log: criterion("failureReason", "EQUALS", "SMS_TOO_LONG"), set()),
    (lambda log: criterion("failureReason", "EMPTY"), {"a", "d", "e", "h", "i"}),
    (lambda log: criterion("failureReason", "NOT_EMPTY"), {"b", "c", "f", "g"}),
    # failureCause: the reason of a failed, held or cancelled message, or of a retry
    (lambda log: criterion("failureCause", "STARTS_WITH", "550"), {"b"}),
    (lambda log: criterion("failureCause", "EQUALS", "cancelled by sam support"), {"g"}),
    (lambda log: criterion("failureCause", "STARTS_WITH", "RETRY"), {"h"}),
    (lambda log: criterion("failureCause", "STARTS_WITH_CASE_SENSITIVE", "RETRY"), set()),
    (lambda log: criterion("failureCause", "STARTS_WITH", "a worker"), set()),
    (lambda log: criterion("failureCause", "EMPTY"), {"a", "d", "e", "i"}),
    (lambda log: criterion("failureCause", "NOT_EMPTY"), {"b", "c", "f", "g", "h"}),
    # destination
    (lambda log: criterion("destination", "EQUALS", "ann@example.com"), {"a"}),
    (lambda log: criterion("destination", "EQUALS_CASE_SENSITIVE", "ann@example.com"), set()),
    (lambda log: criterion("destination", "EQUALS_CASE_SENSITIVE", "Ann@Example.com"), {"a"}),
    (lambda log: criterion("destination", "STARTS_WITH", "+4479111"), {"c"}),
    (lambda log: criterion("destination", "STARTS_WITH", "ANN@"), {"a"}),
    (lambda log: criterion("destination", "STARTS_WITH_CASE_SENSITIVE", "ANN@"), set()),
    (lambda log: criterion("destination", "STARTS_WITH", "%"), set()),
    (lambda log: criterion("destination", "STARTS_WITH", "_"), set()),
    (lambda log: criterion("destination", "EQUALS", "bob@example_com"), set()),
    (
        lambda log: criterion("destination", "IN", values=["bob@example.com", "fay@example.com"]),
        {"b", "i"},
    ),
    # event: the kind
    (lambda log: criterion("event", "EQUALS", "LOAN.REPAYMENT_DUE"), {"a", "b"}),
    (lambda log: criterion("event", "STARTS_WITH", "loan."), {"a", "b"}),
    (lambda log: criterion("event", "EQUALS", "MANUAL"), {"c", "e", "f", "g", "h", "i"}),
    (lambda log: criterion("event", "IN", values=["client.created", "nothing"]), {"d"}),
]


class _Any:
    uid = "key"
    sender_id = client_id = group_id = user_id = 1


def _case_id(i: int) -> str:
    c = CASES[i][0]({name: _Any() for name in ROWS})
    return f"{c['field']}-{c['operator']}-{i}"


@pytest.mark.parametrize(("make", "expected"), CASES, ids=map(_case_id, range(len(CASES))))
def test_every_field_with_its_operators(api, log, make, expected):
    answer = search(api, [make(log)], "?limit=1000").get_json()
    assert names(log, answer) == expected


def test_criteria_all_hold_and_the_object_form_works(api, log):
    criteria = [criterion("type", "EQUALS", "EMAIL"), criterion("state", "EQUALS", "FAILED")]
    assert names(log, search(api, criteria).get_json()) == {"b"}
    body = {"filterCriteria": criteria}
    assert names(log, search(api, body).get_json()) == {"b"}
    assert names(log, search(api, {}).get_json()) == set(ROWS)


@pytest.mark.parametrize(
    ("operator", "value", "expected"),
    [
        ("TODAY", None, {"f", "g", "h"}),
        ("THIS_WEEK", None, {"d", "e", "f", "g", "h", "i"}),
        ("THIS_MONTH", None, set(ROWS)),
        ("THIS_YEAR", None, set(ROWS)),
        ("LAST_DAYS", 2, {"e", "f", "g", "h", "i"}),
        ("LAST_DAYS", "0", {"i"}),
    ],
)
def test_periods_relative_to_now(log, operator, value, expected):
    query = parse_search([criterion("creationDate", operator, value)], at=AT).query()
    assert {name for name, m in log.items() if m.id in {r.id for r in query}} == expected


def test_this_month_in_december_ends_with_the_year(database):
    search_ = parse_search([criterion("creationDate", "THIS_MONTH")], at=datetime(2026, 12, 31))
    sql, params = search_.query().sql()
    assert params[:2] == [datetime(2026, 12, 1), datetime(2027, 1, 1)]


def test_the_mambu_shape(api, log):
    answer = search(api, [criterion("encodedKey", "IN", values=[log["a"].uid, log["b"].uid])])
    a, b = answer.get_json()
    assert a == {
        "encodedKey": log["a"].uid,
        "state": "SENT",
        "commlogState": "SENT",
        "type": "EMAIL",
        "destination": "Ann@Example.com",
        "subject": "Subject a",
        "body": "Body a",
        "senderKey": str(log["a"].sender_id),
        "clientKey": str(log["a"].client_id),
        "groupKey": None,
        "userKey": None,
        "creationDate": "2026-11-20T10:00:00Z",
        "sendDate": "2026-11-20T10:01:00Z",
        "numRetries": 0,
        "failureReason": None,
        "failureCause": None,
        "event": "loan.repayment_due",
    }
    assert (b["state"], b["numRetries"], b["failureReason"], b["failureCause"]) == (
        "FAILED",
        4,
        "OTHER",
        "550 No such user",
    )


@pytest.mark.parametrize(("ours", "mambu"), sorted(MAMBU_STATES.items()))
def test_each_state_is_reported_in_mambus_terms_and_found_by_them(api, log, ours, mambu):
    (name,) = [n for n, row in ROWS.items() if row[2] == ours]
    (message,) = search(api, [criterion("encodedKey", "EQUALS", log[name].uid)]).get_json()
    assert (message["state"], message["commlogState"]) == (mambu, ours)
    found = search(api, [criterion("state", "EQUALS", mambu)], "?limit=1000").get_json()
    assert log[name].uid in {m["encodedKey"] for m in found}
    assert ours in SEARCH_STATES[mambu]


def test_the_body_falls_back_to_the_html_and_webhooks_are_web_hooks(log):
    message = log["d"]
    message.body_text, message.body_html = "", "<p>Hi</p>"
    assert to_mambu(message)["body"] == "<p>Hi</p>"
    assert to_mambu(message)["type"] == "WEB_HOOK"


@pytest.mark.parametrize(
    ("sorting", "order"),
    [
        (None, list("abcdefghi")),
        ({"field": "creationDate", "order": "DESC"}, list("ihgfedcba")),
        ({"field": "creationDate"}, list("abcdefghi")),
        ({"field": "sendDate", "order": "ASC"}, [*"bcdfghi", "a", "e"]),
        ({"field": "sendDate", "order": "DESC"}, ["e", "a", *"ihgfdcb"]),
        ({"field": "type", "order": "ASC"}, [*"abefhi", "c", "g", "d"]),
        ({"field": "state", "order": "desc"}, None),  # by our state's name, then id
    ],
)
def test_sorting(api, log, sorting, order):
    body = {"filterCriteria": []}
    if sorting is not None:
        body["sortingCriteria"] = sorting
    answer = search(api, body).get_json()
    by_key = {m.uid: name for name, m in log.items()}
    got = [by_key[m["encodedKey"]] for m in answer]
    if order is None:
        keys = [(log[n].state, log[n].id) for n in got]
        assert keys == sorted(keys, reverse=True)
    else:
        assert got == order


def test_pages_and_their_headers(api, log):
    pages = []
    for offset in (0, 3, 6, 9):
        response = search(api, [], f"?offset={offset}&limit=3&paginationDetails=ON")
        assert response.headers["Items-Offset"] == str(offset)
        assert response.headers["Items-Limit"] == "3"
        assert response.headers["Items-Total"] == "9"
        pages.append([m["encodedKey"] for m in response.get_json()])
    assert [len(p) for p in pages] == [3, 3, 3, 0]
    assert sum(pages, []) == [log[n].uid for n in "abcdefghi"]
    filtered = search(api, [criterion("type", "EQUALS", "SMS")], "?limit=1&paginationDetails=on")
    assert filtered.headers["Items-Total"] == "2" and len(filtered.get_json()) == 1
    assert "Items-Total" not in search(api, []).headers


def test_the_default_page_is_50(api, log):
    for i in range(60):
        create_message("email", f"x{i}@example.com", "", "")
    assert len(search(api, []).get_json()) == 50


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("?limit=0", "limit"),
        ("?limit=1001", "limit"),
        ("?limit=x", "limit"),
        ("?limit=-1", "limit"),
        ("?limit=", "limit"),
        ("?offset=-1", "offset"),
        ("?offset=1e3", "offset"),
        ("?offset=99999999999999999999999", "offset"),
        ("?offset=%00", "offset"),
        ("?paginationDetails=MAYBE", "paginationDetails"),
        ("?detailsLevel=ALL", "detailsLevel"),
    ],
)
def test_bad_query_parameters_are_a_400(api, query, field):
    response = api.post(SEARCH + query, [])
    assert response.status_code == 400
    assert field in problems(response)


def many(n):
    return [criterion("state", "EQUALS", "SENT")] * n


BAD = [
    ([criterion("nope", "EQUALS", "x")], "[0].field", "must be one of"),
    ([{"field": ["state"], "operator": "EQUALS", "value": "x"}], "[0].field", "must be one of"),
    ([criterion("state", "LIKE", "x")], "[0].operator", "must be one of"),
    ([{"field": "state", "operator": {}, "value": "x"}], "[0].operator", "must be one of"),
    (
        [criterion("creationDate", "STARTS_WITH", "2026")],
        "[0].operator",
        "cannot be used on creationDate",
    ),
    ([criterion("creationDate", "EQUALS", "2026-11-25")], "[0].operator", "cannot be used"),
    (
        [criterion("state", "BETWEEN", "A", secondValue="B")],
        "[0].operator",
        "cannot be used on state",
    ),
    ([criterion("destination", "TODAY")], "[0].operator", "cannot be used on destination"),
    ([criterion("clientKey", "STARTS_WITH", "1")], "[0].operator", "cannot be used"),
    ([criterion("state", "EQUALS")], "[0].value", "needs value"),
    ([criterion("creationDate", "TODAY", "x")], "[0].value", "takes no value"),
    ([criterion("state", "IN", "SENT")], "[0].values", "needs values"),
    ([criterion("state", "EQUALS", "SENT", values=["SENT"])], "[0].values", "takes no values"),
    ([criterion("state", "IN", values=[])], "[0].values", "non-empty list"),
    ([criterion("state", "IN", values="SENT")], "[0].values", "non-empty list"),
    ([criterion("state", "IN", values=["SENT"] * 1001)], "[0].values", "at most 1000"),
    ([criterion("state", "IN", values=["SENT", 5.5])], "[0].values[1]", "string"),
    ([criterion("creationDate", "BETWEEN", "2026-11-01")], "[0].secondValue", "needs secondValue"),
    (
        [criterion("creationDate", "BETWEEN", "2026-11-02", secondValue="2026-11-01")],
        "[0].secondValue",
        "before",
    ),
    ([criterion("creationDate", "ON", "yesterday")], "[0].value", "ISO-8601"),
    ([criterion("creationDate", "ON", "2026-02-30")], "[0].value", "ISO-8601"),
    ([criterion("creationDate", "ON", 20261125)], "[0].value", "ISO-8601"),
    (
        [criterion("creationDate", "AFTER", "0001-01-01T00:00:00+05:00")],
        "[0].value",
        "out of range",
    ),
    ([criterion("creationDate", "LAST_DAYS", "x")], "[0].value", "whole number"),
    ([criterion("creationDate", "LAST_DAYS", -1)], "[0].value", "whole number"),
    ([criterion("creationDate", "LAST_DAYS", 10**9)], "[0].value", "whole number"),
    ([criterion("creationDate", "LAST_DAYS", True)], "[0].value", "whole number"),
    ([criterion("state", "EQUALS", {"a": 1})], "[0].value", "string"),
    ([criterion("state", "EQUALS", True)], "[0].value", "string"),
    ([criterion("destination", "EQUALS", "a\x00b")], "[0].value", "NUL"),
    ([criterion("destination", "EQUALS", "x" * 1001)], "[0].value", "at most 1000"),
    ([criterion("state", "EQUALS", "FROZEN")], "[0].value", "not a state"),
    ([criterion("state", "EQUALS_CASE_SENSITIVE", "sent")], "[0].value", "not a state"),
    ([criterion("type", "EQUALS", "FAX")], "[0].value", "not a type"),
    ([{**criterion("state", "EQUALS", "SENT"), "extra": 1}], "[0].extra", "unknown field"),
    (["state"], "[0]", "must be an object"),
    (5, "body", "must be a list"),
    ("SENT", "body", "must be a list"),
    (None, "body", "must be a list"),
    ({"filterCriteria": "x"}, "filterCriteria", "must be a list"),
    (
        {"filterCriteria": [criterion("x", "EQUALS", "y")]},
        "filterCriteria[0].field",
        "must be one of",
    ),
    ({"filter": []}, "filter", "unknown field"),
    (many(51), "body", "at most 50"),
    ({"sortingCriteria": {"field": "body"}}, "sortingCriteria.field", "must be one of"),
    ({"sortingCriteria": {"field": ["state"]}}, "sortingCriteria.field", "must be one of"),
    (
        {"sortingCriteria": {"field": "state", "order": "UP"}},
        "sortingCriteria.order",
        "ASC or DESC",
    ),
    ({"sortingCriteria": {"field": "state", "order": 1}}, "sortingCriteria.order", "ASC or DESC"),
    ({"sortingCriteria": {"field": "state", "nulls": "LAST"}}, "sortingCriteria.nulls", "unknown"),
    ({"sortingCriteria": "state"}, "sortingCriteria", "must be an object"),
]


@pytest.mark.parametrize(("body", "field", "words"), BAD)
def test_bad_criteria_are_a_400_naming_the_part(api, body, field, words):
    response = api.post(SEARCH, data=_json(body), content_type="application/json")
    assert response.status_code == 400
    found = problems(response)
    assert field in found, found
    assert words in found[field]


def _json(body):
    import json

    return json.dumps(body)


def test_search_needs_a_json_body(api):
    assert api.post(SEARCH, data="").status_code == 415
    response = api.post(SEARCH, data="", content_type="application/json")
    assert response.status_code == 400 and "body" in problems(response)


def test_search_errors_name_the_field_in_parse_search_too(database):
    with pytest.raises(SearchError) as e:
        parse_search([criterion("sendDate", "IN", values=["2026-11-25"])])
    assert (e.value.field, e.value.problem) == ("[0].operator", "IN cannot be used on sendDate")


# -- fast at 1,000,000 messages: the searches use the indexes, never LIKE '%…' ----------------


def plan(body) -> str:
    """How SQLite finds the ids of a page of this search."""
    sql, params = parse_search(body, at=AT).ids(0, 50).sql()
    return " / ".join(row[-1] for row in db.execute_sql("EXPLAIN QUERY PLAN " + sql, params))


SORT_BY_SENT = {"field": "sendDate", "order": "DESC"}
NEWEST_FIRST = {"field": "creationDate", "order": "DESC"}


@pytest.mark.parametrize(
    ("body", "index", "ordered"),
    [
        ([criterion("encodedKey", "EQUALS_CASE_SENSITIVE", "ab")], "message_uid", True),
        ([criterion("state", "EQUALS", "QUEUED")], "message_state_id", True),
        ([criterion("state", "EQUALS", "FAILED")], "message_state", False),
        ([criterion("clientKey", "EQUALS", "7")], "message_client_id_id", True),
        ([criterion("senderKey", "IN", values=["1", "2"])], "message_sender_id_id", False),
        ([criterion("event", "EQUALS_CASE_SENSITIVE", "manual")], "message_kind_id", True),
        ([criterion("type", "EQUALS", "SMS")], "message_channel_id", True),
        ([criterion("failureReason", "EQUALS", "OTHER")], "message_state", False),
        ([criterion("sendDate", "ON", "2026-11-25")], "message_sent_at", False),
        ({"filterCriteria": [criterion("creationDate", "TODAY")]}, "message_created_at", True),
        (
            {
                "filterCriteria": [criterion("creationDate", "TODAY")],
                "sortingCriteria": NEWEST_FIRST,
            },
            "message_created_at",
            True,
        ),
        (
            {
                "filterCriteria": [criterion("sendDate", "NOT_EMPTY")],
                "sortingCriteria": SORT_BY_SENT,
            },
            "message_sent_at",
            True,
        ),
    ],
)
@sqlite_only  # the plan is SQLite's; PostgreSQL's planner reads tables this small whole
def test_searches_use_an_index(log, body, index, ordered):
    """An index finds the ids (never a scan of the table); where it also gives the order, no
    sort is needed (a sort of ids alone otherwise: never of whole rows)."""
    used = plan(body)
    assert "INDEX" in used and index in used, used
    assert "SCAN t1" not in used.replace("SCAN t1 USING", ""), used
    if ordered:
        assert "TEMP B-TREE" not in used, used


def test_starts_with_is_a_prefix_pattern(database):
    for operator in ("STARTS_WITH", "STARTS_WITH_CASE_SENSITIVE"):
        query = parse_search([criterion("destination", operator, "ann%_")]).query()
        sql, params = query.sql()
        assert not any(isinstance(p, str) and p.startswith("%") for p in params), params
