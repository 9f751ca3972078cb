"""Webhooks: an HTTP POST of the message as JSON to the recipient URL, signed with HMAC-SHA256.

Backend URL: https://hooks.example.com/?secret=SIGNING_SECRET&timeout=10
    secret= signs every request; timeout= is in seconds; the host is only used by health checks.

Each request carries:
    X-Commlog-Delivery:  the message's uid, the same on every retry, so receivers can deduplicate
    X-Commlog-Timestamp: unix seconds when it was signed
    X-Commlog-Signature: sha256=<hex HMAC-SHA256 of "{timestamp}.{body}" with the secret>
Receivers check it with verify() (or the same few lines in their language).
"""

import hashlib
import hmac
import json
import time
from datetime import UTC, datetime

from shared.channels import CONFIG, INVALID_RECIPIENT, PERMANENT, SENT, DeliveryResult
from shared.channels.http import HttpClient, HttpSettings
from shared.recipients import recipient_problem

OWN_PARAMS = ("secret", "timeout")


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The X-Commlog-Signature header's value for this body sent at this timestamp."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def verify(secret: str, timestamp: str, body: bytes, signature: str, tolerance: int = 300) -> bool:
    """Whether a received request is genuine and recent (within `tolerance` seconds, so that a
    captured request cannot be replayed later)."""
    try:
        age = time.time() - int(timestamp)
        expected = sign(secret, timestamp, body).encode()
        given = signature.encode("utf-8", "replace")
    except (TypeError, ValueError, AttributeError):
        return False
    return abs(age) <= tolerance and hmac.compare_digest(expected, given)


def payload(message) -> bytes:
    """The JSON document sent for a message: compact, keys sorted, UTF-8."""
    document = {
        "id": message.uid,
        "kind": message.kind,
        "subject": message.subject,
        "body": message.body_text,
        "metadata": message.metadata,
        "created_at": _utc_iso(message.created_at),
    }
    # default=str: metadata from anywhere must not stop the message
    text = json.dumps(
        document, separators=(",", ":"), sort_keys=True, ensure_ascii=False, default=str
    )
    return text.encode("utf-8")


class WebhookSender:
    """Posts messages to their recipient URLs, reusing kept-alive connections per host."""

    def __init__(self, backend):
        settings = HttpSettings.from_url(backend.url, OWN_PARAMS)
        self.secret = settings.options.get("secret", "")
        if not self.secret:
            raise ValueError("a webhook backend's URL needs secret= to sign the requests with")
        self.http = HttpClient(settings.timeout, secrets=[*settings.secrets, self.secret])

    def send(self, message) -> DeliveryResult:
        problem = recipient_problem("webhook", message.recipient)
        if problem:
            return DeliveryResult(INVALID_RECIPIENT, problem)
        body = payload(message)
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "X-Commlog-Delivery": message.uid,
            "X-Commlog-Timestamp": timestamp,
            "X-Commlog-Signature": sign(self.secret, timestamp, body),
        }
        result, _ = self.http.request("POST", message.recipient, data=body, headers=headers)
        if result.outcome == CONFIG:
            # the URL is the recipient's: its refusal (401/403) or its bad certificate says
            # nothing about this backend or the other receivers, so it must not hold them all
            result.outcome = PERMANENT
        return result

    def test(self) -> DeliveryResult:
        """A webhook backend is a signing key, not a server: each receiver is its own. Its
        settings were checked when it was opened, so there is nothing more to reach."""
        return DeliveryResult(
            SENT,
            "The signing settings are valid; each receiver is tried when a message goes to it.",
        )

    def close(self) -> None:
        self.http.close()


def _utc_iso(moment: datetime) -> str:
    """ISO-8601 in UTC with a Z; stored timestamps are naive UTC already."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.isoformat(timespec="milliseconds") + "Z"
