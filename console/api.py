"""The JSON API (SPEC §6): other systems submit messages and read the log with a bearer token,
and Mambu's communications API v2 works unchanged. Every error is JSON,
`{"errors": [{"field", "problem", "errorSource", "errorReason"}]}`; bad input is a 400 that
changes nothing, never a 500. The OpenAPI document is console/openapi.py."""

import hashlib
import json
import re
from datetime import timedelta
from functools import partial

from flask import Blueprint, g, jsonify, request
from peewee import IntegrityError

from shared import bulk, tokens
from shared.actions import ActionError, resend
from shared.db import db
from shared.mambu import (
    CHANNEL_OF_TYPE,
    MAX_ID,
    SearchError,
    parse_instant,
    parse_search,
    text_problem,
    to_mambu,
)
from shared.message_json import message_document
from shared.models import CHANNELS, Client, Group, IdempotencyRecord, Message, User, now
from shared.outbox import (
    MAX_BODY_BYTES,
    MAX_LENGTHS,
    SubmissionError,
    create_messages,
    default_backend,
    length_problem,
)
from shared.states import RESENDABLE

bp = Blueprint("api", __name__, url_prefix="/api")

MAX_REQUEST_BYTES = 64 * 2**20
MAX_BATCH = 1000  # messages in one submission, keys in one resend
MAX_PAGE = 1000
MAX_OFFSET = 2**31 - 1
MAX_KEY_LENGTH = 200  # an Idempotency-Key
IDEMPOTENCY_WINDOW = timedelta(hours=24)
LENGTHS = {**MAX_LENGTHS, "user": 320}  # the user: an email address
MAX_BODY_CHARACTERS = MAX_BODY_BYTES  # (fewer, when some take several bytes)
MAX_METADATA_BYTES = 64 * 1024
MAX_SCHEDULE = timedelta(days=3653)  # send_at: later than 10 years is surely a mistake
MAX_ERRORS = 100  # problems listed in one answer
SUBMISSION_FIELDS = (
    "channel",
    "recipient",
    "subject",
    "body_text",
    "body_html",
    "kind",
    "client",
    "group",
    "user",
    "metadata",
    "send_at",
)
SEARCH_PARAMETERS = "offset, limit, paginationDetails, detailsLevel"
UID = re.compile(r"[A-Za-z0-9_-]{1,64}")
REASONS = {
    400: "INVALID_PARAMETERS",
    401: "INVALID_CREDENTIALS",
    403: "TOKEN_REVOKED",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    409: "CONFLICT",
    413: "REQUEST_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    500: "INTERNAL_ERROR",
}
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


class ApiError(Exception):
    """An answer other than success: its status and the (field, problem) pairs that say why."""

    def __init__(self, status: int, problems: list[tuple[str, str]], headers=None):
        super().__init__(problems)
        self.status = status
        self.problems = problems
        self.headers = headers or {}


def fail(status: int, field: str, problem: str, headers=None):
    raise ApiError(status, [(field, problem)], headers)


def error_response(status: int, problems: list[tuple[str, str]], headers=None):
    reason = REASONS.get(status, "ERROR")
    errors = [
        {"field": field, "problem": problem, "errorSource": field, "errorReason": reason}
        for field, problem in problems[:MAX_ERRORS]
    ]
    response = jsonify({"errors": errors})
    response.status_code = status
    response.headers.update(headers or {})
    return response


@bp.errorhandler(ApiError)
def api_error(e: ApiError):
    return error_response(e.status, e.problems, e.headers)


def _http_error(e, field: str):
    methods = getattr(e, "valid_methods", None)
    headers = {"Allow": ", ".join(methods)} if methods else None
    return error_response(e.code, [(field, e.description)], headers)


# JSON for the HTTP errors raised inside the API (the console's pages are the app's)
HTTP_ERROR_FIELDS = {400: "body", 404: "path", 405: "method", 413: "body", 415: "Content-Type"}
for _status, _field in HTTP_ERROR_FIELDS.items():
    bp.register_error_handler(_status, partial(_http_error, field=_field))
bp.register_error_handler(
    500,
    lambda e: error_response(500, [("request", "the server hit an error; it has been logged")]),
)


@bp.before_request
def require_token():
    """Every call but the OpenAPI document needs a live bearer token."""
    request.max_content_length = MAX_REQUEST_BYTES
    if request.endpoint == "api.openapi_document":
        return
    token = tokens.authenticate(request.headers.get("Authorization"))
    if token is None:
        fail(
            401,
            "Authorization",
            "send a valid API token as `Authorization: Bearer <token>`",
            {"WWW-Authenticate": 'Bearer realm="commlog"'},
        )
    if token.revoked_at is not None:
        fail(403, "Authorization", "this API token was revoked; ask an admin for a new one")
    g.api_token = token


def json_body():
    """The request's JSON: a 415 when it is not sent as JSON, a 400 when it is malformed."""
    if not request.is_json:
        fail(415, "Content-Type", "send the body as application/json")
    try:
        return json.loads(request.get_data(), parse_constant=_refuse_constant)
    except RecursionError:
        fail(400, "body", "is nested too deeply")
    except ValueError as e:
        fail(400, "body", f"is not valid JSON: {e}")


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


def _wake(messages: list[Message]) -> None:
    """Tell the worker about new messages (if the queue cannot be reached, the sweep will)."""
    from worker.tasks import wake

    wake(messages)


# -- Idempotency-Key --------------------------------------------------------------------------


def run_once(endpoint: str, body, prepare, perform, status: int = 202):
    """Answer `status` with what perform(prepare(), key) returns, once per Idempotency-Key: the
    same key and body later get exactly the first answer, the same key with another body a 409.
    prepare() checks the request (ApiError for bad input); perform() runs in one transaction
    and returns (payload, then): then() runs after the commit (it tells the worker)."""
    key = idempotency_key()
    token = g.api_token
    digest = request_hash(body) if key else None
    if key:
        record = _stored_answer(token, key, endpoint)
        if record is not None:
            return _replay(record, digest)
    plan = prepare()
    record = None
    try:
        with db.atomic():
            if key:
                record = _stored_answer(token, key, endpoint)
            if record is None:
                payload, then = perform(plan, key)
                if key:
                    _forget_stale()
                    IdempotencyRecord.create(
                        api_token=token,
                        key=key,
                        endpoint=endpoint,
                        request_hash=digest,
                        status=status,
                        response=payload,
                    )
    except IntegrityError:
        # a concurrent call with the same key got there first: answer as it did
        record = _stored_answer(token, key, endpoint) if key else None
        if record is None:
            fail(409, "Idempotency-Key" if key else "body", "a concurrent change got in the way")
    if record is not None:
        return _replay(record, digest)
    then()
    return jsonify(payload), status


def idempotency_key() -> str | None:
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    key = key.strip()
    if not 0 < len(key) <= MAX_KEY_LENGTH or not re.fullmatch(r"[!-~]+", key):
        fail(
            400,
            "Idempotency-Key",
            f"must be 1 to {MAX_KEY_LENGTH} printable ASCII characters without spaces",
        )
    return key


def request_hash(body) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


def _stored_answer(token, key: str, endpoint: str) -> IdempotencyRecord | None:
    """The first answer to this key, if it is younger than 24 hours (older ones are forgotten)."""
    record = IdempotencyRecord.get_or_none(
        IdempotencyRecord.api_token == token,
        IdempotencyRecord.key == key,
        IdempotencyRecord.endpoint == endpoint,
    )
    if record is not None and record.created_at <= now() - IDEMPOTENCY_WINDOW:
        with db.atomic():
            _forget(record)
        return None
    return record


def _replay(record: IdempotencyRecord, digest: str):
    if record.request_hash != digest:
        fail(
            409,
            "Idempotency-Key",
            "was used in the last 24 hours with another request body; use a new key",
        )
    response = jsonify(record.response)
    response.status_code = record.status
    response.headers["Idempotent-Replayed"] = "true"
    return response


def _forget(record: IdempotencyRecord) -> None:
    """Delete a stale record, and free its key on the messages it made for reuse."""
    if record.endpoint == "messages":
        uids = [m["uid"] for m in record.response.get("messages", [])]
        for start in range(0, len(uids), 500):
            Message.update(idempotency_key=None).where(
                Message.uid.in_(uids[start : start + 500]),
                Message.api_token == record.api_token_id,
            ).execute()
    record.delete_instance()


def _forget_stale() -> None:
    """Forget a few of the records older than 24 hours (each new record sweeps some)."""
    cutoff = now() - IDEMPOTENCY_WINDOW
    for record in (
        IdempotencyRecord.select().where(IdempotencyRecord.created_at <= cutoff).limit(10)
    ):
        _forget(record)


# -- messages ---------------------------------------------------------------------------------


@bp.post("/messages")
def submit_messages():
    """Queue one message or a list of them: 202 with their uids and states."""
    body = json_body()
    return run_once("messages", body, partial(submission_plan, body), create_submitted)


def submission_plan(body) -> list[dict]:
    """Check every message of a submission (all or nothing) and return create_message()'s
    arguments for each; raises one ApiError listing every problem."""
    if isinstance(body, dict):
        items, prefixes = [body], [""]
    elif isinstance(body, list):
        if not body:
            fail(400, "body", "send at least one message")
        if len(body) > MAX_BATCH:
            fail(400, "body", f"at most {MAX_BATCH} messages in one call, not {len(body)}")
        items, prefixes = body, [f"[{i}]." for i in range(len(body))]
    else:
        fail(400, "body", "must be a message object or a list of them")
    problems: list[tuple[str, str]] = []
    plans = [
        _submission(item, prefix, problems) for item, prefix in zip(items, prefixes, strict=True)
    ]
    if not problems:
        _resolve_references(plans, prefixes, problems)
    if problems:
        raise ApiError(400, problems)
    return plans


def _submission(item, prefix: str, problems: list) -> dict:
    """create_message()'s arguments for one submitted message; problems go to `problems`."""
    if not isinstance(item, dict):
        problems.append((prefix.rstrip(".") or "body", "must be an object"))
        return {}

    def problem(name: str, text: str) -> None:
        problems.append((prefix + name, text))

    for name in sorted(set(item) - set(SUBMISSION_FIELDS)):
        problem(name, f"unknown field; the fields are {', '.join(SUBMISSION_FIELDS)}")
    plan: dict = {}
    for name in ("channel", "recipient"):
        if item.get(name) is None:
            problem(name, "is required")
    channel = item.get("channel")
    if channel is not None:
        if isinstance(channel, str) and channel in CHANNELS:
            plan["channel"] = channel
        else:
            problem("channel", f"must be one of {', '.join(CHANNELS)}")
    for name in ("recipient", "subject", "kind", "user"):
        text, trouble = _text(item.get(name), LENGTHS[name])
        if trouble:
            problem(name, trouble)
        elif text is not None:
            plan[name] = text
    if "kind" in plan and not plan["kind"].strip():
        problem("kind", "must not be blank")
    for name in ("body_text", "body_html"):
        text, trouble = _body(item.get(name))
        if trouble:
            problem(name, trouble)
        elif text is not None:
            plan[name] = text
    for name in ("client", "group"):
        value = item.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_ID:
            problem(name, f"must be the id of a {name} (a positive whole number)")
        else:
            plan[name] = value
    metadata = item.get("metadata")
    if metadata is not None:
        metadata_problem = _metadata_problem(metadata)
        if metadata_problem:
            problem("metadata", metadata_problem)
        else:
            plan["metadata"] = metadata
    send_at = item.get("send_at")
    if send_at is not None:
        try:
            plan["send_at"] = parse_instant(send_at, "send_at").since
        except SearchError as e:
            problem("send_at", e.problem)
        else:
            if plan["send_at"] > now() + MAX_SCHEDULE:
                problem("send_at", "must be within 10 years from now")
    return plan


def _text(value, max_length: int) -> tuple[str | None, str | None]:
    """A string field's (value, None), or (None, what is wrong); (None, None) when absent."""
    if value is None:
        return None, None
    if not isinstance(value, str):
        return None, "must be a string"
    if len(value) > max_length:
        return None, f"must be at most {max_length:,} characters long"
    trouble = text_problem(value)
    return (None, trouble) if trouble else (value, None)


def _body(value) -> tuple[str | None, str | None]:
    text, trouble = _text(value, MAX_BODY_CHARACTERS)
    too_long = length_problem("body_text", text)
    return (None, too_long) if too_long else (text, trouble)


def _metadata_problem(metadata) -> str | None:
    if not isinstance(metadata, dict):
        return "must be a JSON object"
    # every key and string inside, however deep (PostgreSQL's JSONB refuses NUL characters)
    pending = [metadata]
    while pending:
        value = pending.pop()
        if isinstance(value, dict):
            pending.extend(value.keys())
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
        elif isinstance(value, str) and text_problem(value):
            return text_problem(value)
    encoded = json.dumps(metadata, ensure_ascii=False, separators=(",", ":"))
    if len(encoded.encode("utf-8")) > MAX_METADATA_BYTES:
        return f"must be at most {MAX_METADATA_BYTES:,} bytes as JSON"
    return None


def _resolve_references(plans: list[dict], prefixes: list[str], problems: list) -> None:
    """Check that the clients, groups, users and channels' backends named exist, in a few
    queries for the whole submission, and put them into the plans."""
    found = {
        "client": _existing(Client, Client.id, {p["client"] for p in plans if "client" in p}),
        "group": _existing(Group, Group.id, {p["group"] for p in plans if "group" in p}),
    }
    emails = {p["user"].strip().lower() for p in plans if "user" in p}
    users = {u.email: u.id for u in User.select(User.id, User.email).where(User.email.in_(emails))}
    backends = {c: default_backend(c) for c in {p["channel"] for p in plans}}
    for plan, prefix in zip(plans, prefixes, strict=True):
        for name in ("client", "group"):
            if name in plan and plan[name] not in found[name]:
                problems.append((prefix + name, f"there is no {name} with id {plan[name]}"))
        if "user" in plan:
            plan["user"] = users.get(plan["user"].strip().lower())
            if plan["user"] is None:
                problems.append((prefix + "user", "there is no user with this email"))
        plan["backend"] = backends[plan["channel"]]
        if plan["backend"] is None:
            problems.append(
                (
                    prefix + "channel",
                    f"no {plan['channel']} backend is configured; an admin adds one first",
                )
            )


def _existing(model, column, ids: set) -> set:
    if not ids:
        return set()
    return {row.id for row in model.select(column).where(column.in_(sorted(ids)))}


def create_submitted(plans: list[dict], key: str | None):
    """Store the checked messages (inside run_once's transaction), marked as the token's."""
    token = g.api_token
    keys = None
    if key:
        keys = [key if len(plans) == 1 else f"{key}#{i}" for i in range(len(plans))]
    try:
        messages = create_messages(plans, api_token=token.id, idempotency_keys=keys)
    except SubmissionError as e:
        fail(400, e.field, e.problem)
    payload = {
        "messages": [
            {"uid": m.uid, "state": m.state, "state_reason": m.state_reason} for m in messages
        ]
    }
    return payload, partial(_wake, messages)


@bp.get("/messages/<uid>")
def message_detail(uid: str):
    """One message with its attempts and events."""
    message = Message.get_or_none(Message.uid == uid) if UID.fullmatch(uid) else None
    if message is None:
        fail(404, "uid", "there is no message with this uid")
    return jsonify(message_document(message))


# -- Mambu's communications API ---------------------------------------------------------------


@bp.post("/communications/messages:search")
def search_messages():
    """The messages that match every criterion, one page of them, in Mambu's shape."""
    unknown = sorted(set(request.args) - set(SEARCH_PARAMETERS.split(", ")))
    if unknown:
        fail(400, unknown[0][:100], f"unknown parameter; the parameters are {SEARCH_PARAMETERS}")
    offset = _whole_number("offset", 0, 0, MAX_OFFSET)
    limit = _whole_number("limit", 50, 1, MAX_PAGE)
    details = _choice("paginationDetails", ("ON", "OFF"), "OFF")
    _choice("detailsLevel", ("BASIC", "FULL"), "FULL")
    try:
        search = parse_search(json_body())
    except SearchError as e:
        fail(400, e.field, e.problem)
    messages = search.query(offset, limit)
    response = jsonify([to_mambu(m) for m in messages])
    if details == "ON":
        response.headers["Items-Offset"] = str(offset)
        response.headers["Items-Limit"] = str(limit)
        response.headers["Items-Total"] = str(search.count())
    return response


def _whole_number(name: str, default: int, low: int, high: int) -> int:
    value = request.args.get(name)
    if value is None:
        return default
    value = value.strip()
    if not value.isascii() or not value.isdigit() or not low <= int(value) <= high:
        fail(400, name, f"must be a whole number from {low} to {high}")
    return int(value)


def _choice(name: str, choices: tuple, default: str) -> str:
    value = request.args.get(name, default).strip().upper()
    if value not in choices:
        fail(400, name, f"must be {' or '.join(choices)}")
    return value


@bp.post("/communications/messages:resend")
def resend_messages():
    """Resend messages by their keys: 202 with the new messages in Mambu's shape."""
    body = json_body()
    return run_once("resend", body, partial(resend_plan, body), resend_planned)


def resend_plan(body) -> list[int]:
    """The ids of the messages to resend, in the order given; all must exist and be
    resendable."""
    if not isinstance(body, dict):
        fail(400, "body", 'must be an object: {"messages": [encodedKey, …]}')
    unknown = sorted(set(body) - {"messages"})
    if unknown:
        fail(400, unknown[0], "unknown field; the only field is messages")
    keys = body.get("messages")
    if not isinstance(keys, list) or not keys:
        fail(400, "messages", "must be a non-empty list of message keys")
    if len(keys) > MAX_BATCH:
        fail(400, "messages", f"at most {MAX_BATCH} messages in one call, not {len(keys)}")
    problems, seen = [], {}
    for i, key in enumerate(keys):
        if not isinstance(key, str) or not UID.fullmatch(key):
            problems.append((f"messages[{i}]", "must be a message's encodedKey"))
        elif key in seen:
            problems.append((f"messages[{i}]", "is listed twice"))
        else:
            seen[key] = i
    found = {m.uid: m for m in Message.select().where(Message.uid.in_(list(seen)))}
    for key, i in seen.items():
        if key not in found:
            problems.append((f"messages[{i}]", f"there is no message {key}"))
        elif found[key].state not in RESENDABLE:
            state = found[key].state.lower().replace("_", " ")
            problems.append((f"messages[{i}]", f"a message that is {state} cannot be resent yet"))
    if problems:
        raise ApiError(400, problems)
    return [found[key].id for key in keys]


def resend_planned(ids: list[int], key: str | None):
    originals = {m.id: m for m in Message.select().where(Message.id.in_(ids))}
    copies = _resend_all([originals[i] for i in ids])
    return {"messages": [to_mambu(m) for m in copies]}, partial(_wake, copies)


def _token_owner() -> User | None:
    """Who acts through the API: the token's owner."""
    owner = g.api_token.owner_id
    return User.get_or_none(User.id == owner) if owner else None


def _resend_all(originals: list[Message]) -> list[Message]:
    """Resend each (inside run_once's transaction), as the token's owner."""
    token = g.api_token
    actor = _token_owner()
    copies = []
    for i, original in enumerate(originals):
        try:
            copies.append(resend(original, actor=actor))
        except (ActionError, SubmissionError) as e:
            fail(400, f"messages[{i}]", str(e))
    ids = [m.id for m in copies]
    for start in range(0, len(ids), 500):
        Message.update(api_token=token.id).where(Message.id.in_(ids[start : start + 500])).execute()
    return copies


@bp.post("/communications/messages:resendAsyncByDate")
def resend_by_date():
    """Resend the unresolved failures created in a window, in the worker: 200 at once, as
    Mambu answers, saying the job and how many it will resend."""
    body = json_body()
    return run_once(
        "resendAsyncByDate", body, partial(window_plan, body), start_window_resend, status=200
    )


def window_plan(body) -> tuple:
    """(start, end, channels) of a resendAsyncByDate body."""
    if not isinstance(body, dict):
        fail(400, "body", "must be an object with startDate and endDate")
    unknown = sorted(set(body) - {"startDate", "endDate", "templateTypes"})
    if unknown:
        fail(400, unknown[0], "unknown field; the fields are startDate, endDate and templateTypes")
    try:
        start = parse_instant(body.get("startDate"), "startDate").since
        end = parse_instant(body.get("endDate"), "endDate").until
    except SearchError as e:
        fail(400, e.field, e.problem)
    if end < start:
        fail(400, "endDate", "must not be before startDate")
    types = body.get("templateTypes")
    if types is None:
        return start, end, None
    if not isinstance(types, list) or len(types) > 10:
        fail(400, "templateTypes", "must be a list of types: EMAIL, SMS, WEB_HOOK")
    for i, name in enumerate(types):
        if not isinstance(name, str) or name not in CHANNEL_OF_TYPE:
            fail(400, f"templateTypes[{i}]", "must be EMAIL, SMS or WEB_HOOK")
    return start, end, sorted({CHANNEL_OF_TYPE[name] for name in types})


def start_window_resend(window: tuple, key: str | None):
    """A bulk resend job for the window (inside run_once's transaction), queued after it."""
    from worker.tasks import start_job

    job = bulk.start_window_job(*window, actor=_token_owner(), api_token=g.api_token.id)
    return {"job": job.id, "count": job.total}, partial(start_job, job)


# -- the document, and JSON answers for every other address under /api ------------------------


@bp.get("/openapi.json")
def openapi_document():
    """The OpenAPI 3.1 document of this API (no token needed)."""
    from console.openapi import OPENAPI

    return jsonify(OPENAPI)


@bp.route("/<path:path>", methods=METHODS)
def unknown_address(path: str):
    fail(404, "path", f"there is no API call at /api/{path}; see /api/openapi.json")


def _method_not_allowed(allowed: list[str], **_):
    fail(405, "method", f"use {' or '.join(allowed)}", {"Allow": ", ".join(allowed)})


@bp.record
def _answer_other_methods(state):
    """Other methods on an API address get a JSON 405 (the console's error pages are HTML)."""
    rules = [r for r in state.app.url_map.iter_rules() if r.endpoint.startswith("api.")]
    for rule in rules:
        others = [m for m in METHODS if m not in rule.methods]
        if not others:
            continue
        allowed = sorted(rule.methods - {"HEAD", "OPTIONS"})
        state.app.add_url_rule(
            rule.rule,
            f"{rule.endpoint}_other_methods",
            partial(_method_not_allowed, allowed),
            methods=others,
            provide_automatic_options=False,
        )
