"""SMS through a provider's HTTP JSON API, over one kept-alive connection.

Backend URL: the provider's send endpoint, with commlog's settings in the query:
    https://api.sms.example/v1/messages?token=SECRET&status_url=https://api.sms.example/v1/messages/{id}
    https://user:pass@api.sms.example/v1/messages        (HTTP Basic auth instead of a token)
token= goes as `Authorization: Bearer …`; status_url= (with {id} for the provider's message id)
is where delivery is asked about, first poll_after= seconds after the send (default 15), then
with backoff; timeout= is in seconds. Any other query parameter is the provider's and stays in
the URL.
"""

import json
from dataclasses import dataclass
from urllib.parse import quote, urljoin

from shared.channels import PERMANENT, SENT, DeliveryResult
from shared.channels.http import HttpClient, HttpSettings

OWN_PARAMS = ("token", "status_url", "timeout", "poll_after", "health_url")
DEFAULT_POLL_AFTER = 15.0  # seconds
ID_FIELDS = ("id", "sid", "message_id")  # where providers put their id for the message
DELIVERED_WORDS = {"delivered"}
FAILED_WORDS = {"failed", "undelivered", "undeliverable", "bounced", "rejected", "expired"}


@dataclass
class DeliveryStatus:
    state: str  # "delivered", "failed" or "pending"
    reason: str  # in plain words
    response: str = ""  # what the provider answered, secrets redacted
    http_status: int | None = None


class SmsSender:
    """Sends messages through one SMS provider's HTTP API over one kept-alive session."""

    def __init__(self, backend):
        settings = HttpSettings.from_url(backend.url, OWN_PARAMS)
        token = settings.options.get("token")
        basic = settings.username is not None or settings.password is not None
        if token and basic:
            raise ValueError("give either token= or user:password in the URL, not both")
        self.url = settings.url
        self.health_url = settings.options.get("health_url")
        self.status_url = settings.options.get("status_url")
        if self.status_url is not None:
            if "{id}" not in self.status_url:
                raise ValueError("status_url= needs {id} where the provider's message id goes")
            self.status_url = urljoin(self.url, self.status_url)
        self.http = HttpClient(
            settings.timeout,
            secrets=settings.secrets,
            auth=(settings.username or "", settings.password or "") if basic else None,
            headers={"Authorization": f"Bearer {token}"} if token else None,
        )

    def send(self, message) -> DeliveryResult:
        result, body = self.http.request(
            "POST", self.url, json={"to": message.recipient, "body": message.body_text}
        )
        if result.ok:
            result.provider_id = _provider_id(body)
            if result.provider_id:
                result.response = f"Provider id: {result.provider_id}\n{result.response}"
        return result

    def test(self) -> DeliveryResult:
        """Reach the provider with the backend's credentials (a HEAD of the send endpoint, or a
        GET of its health_url=); nothing is sent. Any answer but 401/403 or a server error
        shows the provider is there and takes the credentials."""
        url = self.health_url or self.url
        result, _ = self.http.request("GET" if self.health_url else "HEAD", url)
        if result.outcome in (SENT, PERMANENT):
            return DeliveryResult(
                SENT,
                f"The provider answered ({result.http_status}).",
                http_status=result.http_status,
            )
        return result

    def check_delivery(self, provider_id: str) -> DeliveryStatus:
        """Ask the provider whether the message with its id `provider_id` was delivered."""
        if self.status_url is None:
            raise ValueError("this backend has no status_url= to ask about delivery")
        url = self.status_url.replace("{id}", quote(str(provider_id), safe=""))
        result, body = self.http.request("GET", url)
        if not result.ok:
            first_line = result.response.partition("\n")[0]
            return DeliveryStatus(
                "pending",
                f"The provider's delivery status could not be read: {first_line}",
                result.response,
                result.http_status,
            )
        data = _json_object(body)
        status = str(data.get("status") or "").strip()
        word = status.lower()
        if word in DELIVERED_WORDS:
            state, reason = "delivered", "The provider confirmed delivery."
        elif word in FAILED_WORDS:
            detail = _plain(data.get("error")) or _plain(data.get("reason"))
            state = "failed"
            reason = f"The provider reports the message as {word}" + (
                f": {detail}" if detail else "."
            )
        elif status:
            state = "pending"
            reason = f"The provider reports the message as {status}; delivery is not confirmed."
        else:
            state, reason = "pending", "The provider's answer has no delivery status."
        return DeliveryStatus(state, reason, result.response, result.http_status)

    def close(self) -> None:
        self.http.close()


def supports_delivery_status(backend) -> bool:
    """Whether this backend can be asked if a message was delivered."""
    if backend.channel != "sms":
        return False
    try:
        return "status_url" in HttpSettings.from_url(backend.url, OWN_PARAMS).options
    except ValueError:
        return False


def first_poll_after(backend) -> float:
    """Seconds between the send and the first delivery check."""
    value = HttpSettings.from_url(backend.url, OWN_PARAMS).options.get("poll_after")
    try:
        return max(float(value), 0.0) if value is not None else DEFAULT_POLL_AFTER
    except ValueError:
        return DEFAULT_POLL_AFTER


def check_delivery(backend, provider_id: str) -> DeliveryStatus:
    """Ask the backend's provider about one message; never raises for HTTP or connection
    errors (the answer is then "pending")."""
    sender = SmsSender(backend)
    try:
        return sender.check_delivery(provider_id)
    finally:
        sender.close()


def _json_object(body: bytes) -> dict:
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return {}
    return data if isinstance(data, dict) else {}


def _provider_id(body: bytes) -> str | None:
    data = _json_object(body)
    for name in ID_FIELDS:
        value = data.get(name)
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value):
            return str(value)
    return None


def _plain(value) -> str:
    """A provider's error detail as words: a string, or the message of an error object."""
    if isinstance(value, dict):
        value = value.get("message") or value.get("description") or ""
    return str(value).strip() if value else ""
