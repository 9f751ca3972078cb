"""The OpenAPI 3.1 document of the JSON API, served at /api/openapi.json. Every change to
console/api.py or shared/mambu.py changes it too; the limits come from them."""

from console.api import (
    LENGTHS,
    MAX_BATCH,
    MAX_BODY_CHARACTERS,
    MAX_ID,
    MAX_KEY_LENGTH,
    MAX_OFFSET,
    MAX_PAGE,
)
from shared.mambu import (
    FAILURE_REASON_VALUES,
    FIELDS,
    MAMBU_STATES,
    MAX_CRITERIA,
    MAX_TEXT,
    MAX_VALUES,
    OPERATORS,
    SEARCH_STATES,
    SORT_FIELDS,
    TYPES,
)
from shared.models import CHANNELS

NO_NUL = "^[^\\u0000]*$"


def _text(max_length: int, nullable: bool = True, **extra) -> dict:
    schema = {"type": ["string", "null"] if nullable else "string", "maxLength": max_length}
    return {**schema, "pattern": NO_NUL, **extra}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _error(description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": _ref("Errors")}}}


def _json_body(schema: dict) -> dict:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


ERRORS = {
    "400": _error("Bad input: each error names the field and the problem. Nothing was changed."),
    "401": _error("No API token, or an unknown one."),
    "403": _error("The API token was revoked."),
    "405": _error("The address does not take this method (see the Allow header)."),
    "413": _error("The request body is over 64 MiB."),
    "415": _error("The body is not sent as application/json."),
}
IDEMPOTENT_ERRORS = {
    **ERRORS,
    "409": _error(
        "The Idempotency-Key was used in the last 24 hours with another body (or a call with "
        "it is still running)."
    ),
}
IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": (
        "Makes the call safe to repeat for 24 hours: the same key with the same body answers "
        "exactly the first response (with the header Idempotent-Replayed: true) and does nothing "
        "again; the same key with another body is a 409."
    ),
    "schema": {
        "type": "string",
        "minLength": 1,
        "maxLength": MAX_KEY_LENGTH,
        "pattern": "^[!-~]+$",
    },
}
REPLAYED = {
    "Idempotent-Replayed": {
        "description": "true when this is the stored answer to an earlier call with the same key",
        "schema": {"type": "string", "enum": ["true"]},
    }
}

MESSAGE_SUBMISSION = {
    "type": "object",
    "additionalProperties": False,
    "required": ["channel", "recipient"],
    "properties": {
        "channel": {"type": "string", "enum": list(CHANNELS)},
        "recipient": _text(
            LENGTHS["recipient"],
            nullable=False,
            description=(
                "An email address, a phone number in E.164 (+447911123456) or an http(s) URL. "
                "An unusable one is accepted and recorded as NOT_SENT, with the reason."
            ),
        ),
        "subject": _text(LENGTHS["subject"]),
        "body_text": _text(MAX_BODY_CHARACTERS, description="At most 1 MiB of UTF-8."),
        "body_html": _text(MAX_BODY_CHARACTERS, description="At most 1 MiB of UTF-8."),
        "kind": _text(
            LENGTHS["kind"],
            minLength=1,
            description="The message type, e.g. loan.repayment_due (default manual).",
        ),
        "client": {
            "type": ["integer", "null"],
            "minimum": 1,
            "maximum": MAX_ID,
            "description": "The id of the client it concerns (must exist).",
        },
        "group": {
            "type": ["integer", "null"],
            "minimum": 1,
            "maximum": MAX_ID,
            "description": "The id of the group it concerns (must exist).",
        },
        "user": _text(
            LENGTHS["user"], description="The email of the staff user it concerns (must exist)."
        ),
        "metadata": {
            "type": ["object", "null"],
            "description": "Any JSON object, at most 64 KiB, without NUL characters.",
        },
        "send_at": {
            "type": ["string", "null"],
            "format": "date-time",
            "maxLength": 64,
            "description": "When to send it (ISO-8601; without an offset it is UTC).",
        },
    },
}

SUBMITTED = {
    "type": "object",
    "required": ["messages"],
    "properties": {
        "messages": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["uid", "state", "state_reason"],
                "properties": {
                    "uid": {"type": "string"},
                    "state": {"type": "string", "enum": sorted(MAMBU_STATES)},
                    "state_reason": {"type": "string"},
                },
            },
        }
    },
}

NULLABLE_STRING = {"type": ["string", "null"]}
ATTEMPT = {
    "type": "object",
    "required": ["number", "outcome"],
    "properties": {
        "number": {"type": "integer"},
        "started_at": NULLABLE_STRING,
        "finished_at": NULLABLE_STRING,
        "outcome": NULLABLE_STRING,
        "error_type": NULLABLE_STRING,
        "smtp_code": {"type": ["integer", "null"]},
        "http_status": {"type": ["integer", "null"]},
        "response": NULLABLE_STRING,
        "worker": NULLABLE_STRING,
        "provider_id": NULLABLE_STRING,
    },
}
EVENT = {
    "type": "object",
    "required": ["at", "action"],
    "properties": {
        "at": {"type": "string"},
        "action": {"type": "string"},
        "from_state": NULLABLE_STRING,
        "to_state": NULLABLE_STRING,
        "detail": {"type": "string"},
        "actor": NULLABLE_STRING,
    },
}
MESSAGE_DOCUMENT = {
    "type": "object",
    "required": ["uid", "channel", "recipient", "state", "state_reason", "attempts", "events"],
    "properties": {
        "uid": {"type": "string"},
        "channel": {"type": "string", "enum": list(CHANNELS)},
        "recipient": {"type": "string"},
        "subject": {"type": "string"},
        "body_text": {"type": "string"},
        "body_html": NULLABLE_STRING,
        "kind": {"type": "string"},
        "state": {"type": "string", "enum": sorted(MAMBU_STATES)},
        "state_reason": {"type": "string"},
        "sender": {**NULLABLE_STRING, "description": "The sender's email; null is the System."},
        "backend": NULLABLE_STRING,
        "client": {"type": ["integer", "null"]},
        "group": {"type": ["integer", "null"]},
        "user": NULLABLE_STRING,
        "created_at": {"type": "string"},
        "queued_at": NULLABLE_STRING,
        "sent_at": NULLABLE_STRING,
        "next_attempt_at": NULLABLE_STRING,
        "resend_of": NULLABLE_STRING,
        "resolved_by": NULLABLE_STRING,
        "resends": {"type": "array", "items": {"type": "string"}},
        "metadata": {"type": ["object", "null"]},
        "attempts": {"type": "array", "items": _ref("Attempt")},
        "events": {"type": "array", "items": _ref("Event")},
    },
}

DATE_TIME_OUT = {
    "type": ["string", "null"],
    "description": "ISO-8601 in UTC, e.g. 2026-11-25T12:00:00Z",
}
COMMUNICATION_MESSAGE = {
    "type": "object",
    "description": "A message in the shape of Mambu's CommunicationMessage.",
    "required": ["encodedKey", "state", "type", "destination", "creationDate", "numRetries"],
    "properties": {
        "encodedKey": {"type": "string"},
        "state": {
            "type": "string",
            "enum": sorted(set(MAMBU_STATES.values())),
            "description": (
                "Mambu's state: WAITING (ours: WAITING, BACKEND_TEST_REQUIRED), QUEUED, "
                "SENDING_ASYNC (ours: SENDING), SENT (ours: SENT, DELIVERED), FAILED (ours: "
                "FAILED, NOT_SENT, CANCELLED)."
            ),
        },
        "commlogState": {"type": "string", "enum": sorted(MAMBU_STATES)},
        "type": {"type": "string", "enum": list(TYPES.values())},
        "destination": {"type": "string"},
        "subject": {"type": "string"},
        "body": {"type": "string"},
        "senderKey": {**NULLABLE_STRING, "description": "The staff user who sent it; null: System"},
        "clientKey": NULLABLE_STRING,
        "groupKey": NULLABLE_STRING,
        "userKey": NULLABLE_STRING,
        "creationDate": DATE_TIME_OUT,
        "sendDate": DATE_TIME_OUT,
        "numRetries": {"type": "integer", "minimum": 0},
        "failureReason": {"type": ["string", "null"], "enum": [*FAILURE_REASON_VALUES, None]},
        "failureCause": NULLABLE_STRING,
        "event": {"type": "string", "description": "The message type (our kind)."},
    },
}

SEARCH_VALUE = {"type": ["string", "integer", "null"], "maxLength": MAX_TEXT, "pattern": NO_NUL}
FILTER_CRITERION = {
    "type": "object",
    "additionalProperties": False,
    "required": ["field", "operator"],
    "description": (
        "One condition. ONE_VALUE operators take value; BETWEEN takes value and secondValue; IN "
        "takes values; TODAY, THIS_WEEK, THIS_MONTH, THIS_YEAR, EMPTY and NOT_EMPTY take none. "
        "Keys (encodedKey, senderKey, clientKey, groupKey, userKey), state, type and "
        "failureReason take EQUALS, EQUALS_CASE_SENSITIVE, IN, EMPTY, NOT_EMPTY; destination, "
        "failureCause and event also STARTS_WITH and STARTS_WITH_CASE_SENSITIVE; creationDate "
        "and sendDate take BETWEEN, ON, AFTER (MORE_THAN), BEFORE (LESS_THAN), "
        "BEFORE_INCLUSIVE, TODAY, THIS_WEEK, THIS_MONTH, THIS_YEAR, LAST_DAYS (a number of "
        "days), EMPTY, NOT_EMPTY. Dates are ISO-8601 (a date means its whole day, UTC). "
        f"state takes Mambu's names or ours: {', '.join(sorted(SEARCH_STATES))}."
    ),
    "properties": {
        "field": {"type": "string", "enum": list(FIELDS)},
        "operator": {"type": "string", "enum": OPERATORS},
        "value": SEARCH_VALUE,
        "secondValue": SEARCH_VALUE,
        "values": {
            "type": ["array", "null"],
            "minItems": 1,
            "maxItems": MAX_VALUES,
            "items": {"type": ["string", "integer"], "maxLength": MAX_TEXT, "pattern": NO_NUL},
        },
    },
}
SEARCH_BODY = {
    "oneOf": [
        {"type": "array", "maxItems": MAX_CRITERIA, "items": _ref("FilterCriterion")},
        {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "filterCriteria": {
                    "type": "array",
                    "maxItems": MAX_CRITERIA,
                    "items": _ref("FilterCriterion"),
                },
                "sortingCriteria": {
                    "type": ["object", "null"],
                    "additionalProperties": False,
                    "required": ["field"],
                    "properties": {
                        "field": {"type": "string", "enum": list(SORT_FIELDS)},
                        "order": {"type": "string", "enum": ["ASC", "DESC"]},
                    },
                },
            },
        },
    ]
}
PAGE_HEADERS = {
    name: {"description": text, "schema": {"type": "string", "pattern": "^[0-9]+$"}}
    for name, text in (
        ("Items-Offset", "The offset asked for (with paginationDetails=ON)"),
        ("Items-Limit", "The limit asked for (with paginationDetails=ON)"),
        ("Items-Total", "How many messages match (with paginationDetails=ON)"),
    )
}
KEY_LIST = {
    "type": "array",
    "minItems": 1,
    "maxItems": MAX_BATCH,
    "uniqueItems": True,
    "items": {"type": "string", "minLength": 1, "maxLength": 64, "pattern": NO_NUL},
}
DATE_IN = {"type": "string", "maxLength": 64, "description": "ISO-8601 date or date-time"}

OPENAPI = {
    "openapi": "3.1.0",
    "info": {
        "title": "commlog API",
        "version": "1",
        "description": (
            "Submit notifications and read the communications log. The /communications "
            "calls follow Mambu's API v2, so a client written for Mambu works unchanged. "
            "Every call but this document needs `Authorization: Bearer <token>` "
            "(`commlog token create NAME`). Errors are JSON: "
            '{"errors": [{"field", "problem", "errorSource", "errorReason"}]}.'
        ),
    },
    "servers": [{"url": "/"}],
    "security": [{"bearerAuth": []}],
    "paths": {
        "/api/openapi.json": {
            "get": {
                "operationId": "getOpenApi",
                "summary": "This document",
                "security": [],
                "responses": {
                    "200": {
                        "description": "The OpenAPI document",
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    }
                },
            }
        },
        "/api/messages": {
            "post": {
                "operationId": "submitMessages",
                "summary": "Queue one message or a list of up to 1,000",
                "description": (
                    "All or nothing: every message is checked before any is stored. The answer "
                    "lists the messages in the order given (one object gets a list of one)."
                ),
                "parameters": [IDEMPOTENCY_KEY],
                "requestBody": _json_body(
                    {
                        "oneOf": [
                            _ref("MessageSubmission"),
                            {
                                "type": "array",
                                "minItems": 1,
                                "maxItems": MAX_BATCH,
                                "items": _ref("MessageSubmission"),
                            },
                        ]
                    }
                ),
                "responses": {
                    "202": {
                        "description": "Stored; the worker sends them",
                        "headers": REPLAYED,
                        "content": {"application/json": {"schema": _ref("Submitted")}},
                    },
                    **IDEMPOTENT_ERRORS,
                },
            }
        },
        "/api/messages/{uid}": {
            "get": {
                "operationId": "getMessage",
                "summary": "One message with its attempts and events",
                "parameters": [
                    {
                        "name": "uid",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string", "minLength": 1, "maxLength": 64},
                    }
                ],
                "responses": {
                    "200": {
                        "description": "The message",
                        "content": {"application/json": {"schema": _ref("MessageDocument")}},
                    },
                    "404": _error("There is no message with this uid."),
                    **{k: v for k, v in ERRORS.items() if k in ("400", "401", "403", "405")},
                },
            }
        },
        "/api/communications/messages:search": {
            "post": {
                "operationId": "searchMessages",
                "summary": "Search the messages (Mambu API v2)",
                "description": (
                    "All criteria must hold. Without sortingCriteria the messages come oldest "
                    "first (creation order), so that offset pages stay stable."
                ),
                "parameters": [
                    {
                        "name": "offset",
                        "in": "query",
                        "schema": {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET},
                    },
                    {
                        "name": "limit",
                        "in": "query",
                        "schema": {
                            "type": "integer",
                            "minimum": 1,
                            "maximum": MAX_PAGE,
                            "default": 50,
                        },
                    },
                    {
                        "name": "paginationDetails",
                        "in": "query",
                        "schema": {"type": "string", "enum": ["ON", "OFF"], "default": "OFF"},
                    },
                    {
                        "name": "detailsLevel",
                        "in": "query",
                        "schema": {"type": "string", "enum": ["BASIC", "FULL"]},
                    },
                ],
                "requestBody": _json_body(SEARCH_BODY),
                "responses": {
                    "200": {
                        "description": "One page of messages",
                        "headers": PAGE_HEADERS,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "array",
                                    "items": _ref("CommunicationMessage"),
                                }
                            }
                        },
                    },
                    **ERRORS,
                },
            }
        },
        "/api/communications/messages:resend": {
            "post": {
                "operationId": "resendMessages",
                "summary": "Resend messages (Mambu API v2)",
                "description": (
                    "Each message is copied to a new one pointing back to it; the original is "
                    "never changed. All or nothing: a message that cannot be resent (still "
                    "unfinished) is a 400 naming it."
                ),
                "parameters": [IDEMPOTENCY_KEY],
                "requestBody": _json_body(
                    {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["messages"],
                        "properties": {"messages": KEY_LIST},
                    }
                ),
                "responses": {
                    "202": {
                        "description": "The new messages",
                        "headers": REPLAYED,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["messages"],
                                    "properties": {
                                        "messages": {
                                            "type": "array",
                                            "items": _ref("CommunicationMessage"),
                                        }
                                    },
                                }
                            }
                        },
                    },
                    **IDEMPOTENT_ERRORS,
                },
            }
        },
        "/api/communications/messages:resendAsyncByDate": {
            "post": {
                "operationId": "resendMessagesByDate",
                "summary": "Resend the unresolved failures created in a window (Mambu API v2)",
                "description": (
                    "FAILED and NOT_SENT messages created from startDate to endDate (a date "
                    "means its whole day) that no resend has resolved and that were not resent "
                    "yet; templateTypes limits the channels. The worker resends them all, as a "
                    "bulk resend job made by the token's owner; the answer comes at once, a 200 "
                    "as Mambu's, with the job's id and how many it will resend."
                ),
                "parameters": [IDEMPOTENCY_KEY],
                "requestBody": _json_body(
                    {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["startDate", "endDate"],
                        "properties": {
                            "startDate": DATE_IN,
                            "endDate": DATE_IN,
                            "templateTypes": {
                                "type": ["array", "null"],
                                "maxItems": 10,
                                "items": {"type": "string", "enum": list(TYPES.values())},
                            },
                        },
                    }
                ),
                "responses": {
                    "200": {
                        "description": "The resend job was queued: its id, and how many failures "
                        "it will resend",
                        "headers": REPLAYED,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["job", "count"],
                                    "properties": {
                                        "job": {"type": "integer", "minimum": 1},
                                        "count": {"type": "integer", "minimum": 0},
                                    },
                                }
                            }
                        },
                    },
                    **IDEMPOTENT_ERRORS,
                },
            }
        },
    },
    "components": {
        "securitySchemes": {
            "bearerAuth": {
                "type": "http",
                "scheme": "bearer",
                "description": "An API token from `commlog token create NAME` or the console.",
            }
        },
        "schemas": {
            "Errors": {
                "type": "object",
                "required": ["errors"],
                "properties": {
                    "errors": {
                        "type": "array",
                        "minItems": 1,
                        "items": {
                            "type": "object",
                            "required": ["field", "problem"],
                            "properties": {
                                "field": {"type": "string"},
                                "problem": {"type": "string"},
                                "errorSource": {"type": "string"},
                                "errorReason": {"type": "string"},
                            },
                        },
                    }
                },
            },
            "MessageSubmission": MESSAGE_SUBMISSION,
            "Submitted": SUBMITTED,
            "Attempt": ATTEMPT,
            "Event": EVENT,
            "MessageDocument": MESSAGE_DOCUMENT,
            "CommunicationMessage": COMMUNICATION_MESSAGE,
            "FilterCriterion": FILTER_CRITERION,
        },
    },
}
