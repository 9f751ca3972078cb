"""Garbage into every console route and method, read from the app's url_map: wrong types, 1 MB
strings, bad dates, unknown and absurd ids, RTL marks, emoji, combining marks, NUL bytes,
invalid UTF-8, repeated and missing fields. Every answer is a page or fragment that says what
was wrong (or a redirect that does), never a 500, and the database is unchanged."""

import re
from urllib.parse import quote

import pytest
from werkzeug.datastructures import MultiDict

from console.errors import TITLES
from tests.security.conftest import ROUTES, page_token, snapshot

MB = 1024 * 1024
GARBAGE = {
    "wrong type": "[object Object]",
    "long": "é" * 2_000,
    "bad date": "2024-02-31",
    "negative": "-1",
    "huge number": "9" * 40,
    "not a number": "1e309",
    "rtl": "\u202eexe.txt\u202c",
    "emoji": "💥👩‍👩‍👧‍👦",
    "combining": "Z" + "\u0336\u0301\u0308" * 300,
    "nul": "before\x00after",
    "markup": '"><script>alert(1)</script>',
    "sql": "1' OR '1'='1",
    "blank": " \t\r\n ",
}
REPEATED = ("nul", "emoji", "huge number", "bad date")
# a 1 MB string goes into a few fields, one at a time (every field at once would be tens of MB
# per request, and a form body over 500 KB is refused as a whole before any field is read)
HUGE = "x" * MB
HUGE_FIELDS = ["q", "state", "next", "body", "url"]
# every name a console form or filter reads (the pages' inputs and the log's parameters)
FIELDS = [
    "email",
    "password",
    "name",
    "channel",
    "url",
    "is_default",
    "fallback",
    "alert_emails",
    "to_kind",
    "client",
    "group",
    "user",
    "subject",
    "body",
    "recipient",
    "backend",
    "action",
    "uid",
    "all_matching",
    "f_state",
    "f_q",
    "column",
    "current_password",
    "new_password",
    "confirm",
    "state",
    "sender",
    "q",
    "created_from",
    "created_to",
    "sent_from",
    "sent_to",
    "kind",
    "resolved",
    "before",
    "after",
    "next",
]
# the ids of the converters in the route table: known, unknown, and absurd
INT_VALUES = ["{known}", "0", "999999", "9" * 30]
TEXT_VALUES = ["{known}", "nope", "x" * 5_000, "💥\u202e", "a\x00b", "%ff%fe"]
# these do their work with no input, as they should: only unknown ids are sent to them (their
# refusals without a CSRF token or by role are in test_csrf.py and test_roles.py)
ACT_WITHOUT_INPUT = {
    "auth.logout",
    "backends.test",
    "backends.send_now",
    "staff.new_password",
    "tokens.revoke_token",
}
OK_STATUSES = {200, 302, 400, 403, 404, 405, 413, 415, 429}


def console_routes():
    return [(rule, endpoint, methods) for rule, endpoint, methods in ROUTES if rule[:5] != "/api/"]


def paths(rule: str, world: dict, known_only: bool) -> list[str]:
    """The rule with its arguments filled: with known values, and (unless known_only) with
    each unknown or absurd value in turn."""
    args = re.findall(r"<(?:([a-z]+)(?:\([^)]*\))?:)?([a-z_]+)>", rule)

    def fill(values: dict) -> str:
        path = rule
        for converter, name in args:
            pattern = f"<{converter}" if converter else f"<{name}>"
            start = path.index(pattern)
            end = path.index(">", start) + 1
            path = path[:start] + values[name] + path[end:]
        return path

    known = {name: quote(str(world[name]), safe="") for _, name in args}
    result = [fill(known)]
    if known_only:
        return result
    for converter, name in args:
        for value in (INT_VALUES if converter == "int" else TEXT_VALUES)[1:]:
            raw = value if value.startswith("%") else quote(value, safe="")
            result.append(fill({**known, name: raw}))
    return result


def says_why(response) -> bool:
    """A refusal names the problem in words: an error message in the form, or an error page."""
    html = response.get_data(as_text=True)
    if re.search(r'class="error|role="alert"', html):
        return True
    return any(f"<h1>{title}</h1>" in html for title, _ in TITLES.values())


def check(client, method: str, path: str, problems: list, **kwargs) -> None:
    what = f"{method} {path[:80]} {str(kwargs.get('data') or kwargs.get('query_string'))[:80]}"
    try:
        response = client.open(path, method=method, **kwargs)
    except Exception as e:  # TESTING propagates what would have been a 500
        problems.append(f"500 {type(e).__name__}: {str(e)[:200]}: {what}")
        return
    if response.status_code not in OK_STATUSES:
        problems.append(f"{response.status_code}: {what}")
    elif response.status_code >= 400 and not says_why(response):
        problems.append(f"{response.status_code} without a message: {what}")
    elif response.status_code == 302:
        location = response.headers["Location"]
        if not location.startswith("/") or location.startswith("//"):
            problems.append(f"redirect off the site to {location}: {what}")


def send_garbage(client, endpoint, rule, methods, world) -> list[str]:
    problems: list[str] = []
    logged_in = client.get("/account/").status_code == 200
    token = page_token(client) if logged_in else ""
    for method in ["GET", "POST", "PUT", "PATCH", "DELETE"]:
        allowed = method in methods
        for path in paths(rule, world, known_only=False):
            # nothing at all (missing fields), and just the token
            if endpoint in ACT_WITHOUT_INPUT and allowed and path == paths(rule, world, True)[0]:
                continue
            check(client, method, path, problems)
            if method != "GET":
                check(client, method, path, problems, data={"csrf_token": token})
        if endpoint in ACT_WITHOUT_INPUT or not allowed:
            continue
        path = paths(rule, world, known_only=True)[0]
        if not logged_in and client.open(path, method=method).status_code in (302, 400):
            continue  # sent to log in (or refused without a token) before any input is read
        send = "query_string" if method == "GET" else "data"
        for kind, value in GARBAGE.items():
            fields = [(name, value) for name in FIELDS]
            variants = [fields]
            if kind in REPEATED:
                # each field twice: once garbage, once an ordinary-looking value
                variants.append(fields + [(name, "1") for name in FIELDS])
            for pairs in variants:
                data = pairs + ([("csrf_token", token)] if method != "GET" else [])
                check(client, method, path, problems, **{send: MultiDict(data)})
        for name in HUGE_FIELDS:
            data = [(name, HUGE)] + ([("csrf_token", token)] if method != "GET" else [])
            check(client, method, path, problems, **{send: MultiDict(data)})
        if method != "GET":
            # invalid UTF-8 and a body that is not a form at all
            for body, kind in (
                (b"csrf_token=" + token.encode() + b"&subject=%ff%fe&body=\xff\xfe", None),
                (b'{"subject": "x"}', "application/json"),
                (b"\x00" * 1000, "application/octet-stream"),
            ):
                kind = kind or "application/x-www-form-urlencoded"
                check(client, method, path, problems, data=body, content_type=kind)
    return problems


@pytest.mark.parametrize(
    ("rule", "endpoint", "methods"), console_routes(), ids=[r[1] for r in console_routes()]
)
def test_garbage_to_every_console_route_changes_nothing_and_never_fails(
    admin_client, app, world, rule, endpoint, methods
):
    before = snapshot()
    problems = send_garbage(admin_client, endpoint, rule, methods, world)
    # and as someone not logged in (the login form, and the redirect of every other page)
    problems += send_garbage(app.test_client(), endpoint, rule, methods, world)
    assert problems == []
    assert snapshot() == before


def test_every_console_route_is_covered():
    """The table above is the app's own: a route added later is in it without a list to edit."""
    endpoints = {endpoint for _, endpoint, _ in console_routes()}
    assert {"messages.compose", "backends.new", "auth.login", "log.columns"} <= endpoints
    assert len(endpoints) >= 25
    print(f"\n{len(console_routes())} console routes get garbage")
