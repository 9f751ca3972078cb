"""Channel adapters: one module per channel, each with a Sender of the same small interface.

sender = open_sender(backend)      # may keep a connection open across messages
result = sender.send(message)      # never raises: every failure is a DeliveryResult
sender.close()
"""

from dataclasses import dataclass
from urllib.parse import unquote_plus, urlsplit, urlunsplit

SENT = "sent"
TRANSIENT = "transient_error"  # try again later
PERMANENT = "permanent_error"  # the provider refused it for good
CONFIG = "config_error"  # the backend's settings are wrong: hold everything for a test
INVALID_RECIPIENT = "invalid_recipient"


@dataclass
class DeliveryResult:
    outcome: str
    response: str = ""  # what the provider said, in its words, secrets redacted
    error_type: str | None = None
    smtp_code: int | None = None
    http_status: int | None = None
    traceback: str | None = None
    provider_id: str | None = None  # the provider's own id for the message, to ask about it later

    @property
    def ok(self) -> bool:
        return self.outcome == SENT


# query parameters whose values are secrets, wherever they appear in a backend's URL
SECRET_PARAMS = frozenset({"token", "secret", "key", "api_key", "password", "access_token"})


def redact_url(url: str) -> str:
    """The URL with any password and secret query parameters replaced by ****, for display
    and logs."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "(an unreadable URL)"  # it may hold a secret we cannot find: show none of it
    redacted = parts
    if parts.password is not None:
        host = parts.netloc.rpartition("@")[2]
        redacted = redacted._replace(netloc=f"{parts.username or ''}:****@{host}")
    if parts.query:
        # pair by pair rather than parse and re-encode, so that the rest reads as it was typed
        query = "&".join(_redact_pair(pair) for pair in parts.query.split("&"))
        redacted = redacted._replace(query=query)
    return url if redacted == parts else urlunsplit(redacted)


def _redact_pair(pair: str) -> str:
    name, equals, _ = pair.partition("=")
    if equals and unquote_plus(name).lower() in SECRET_PARAMS:
        return f"{name}=****"
    return pair


def restore_secrets(edited: str, stored: str) -> str:
    """An edited URL in which the secrets still read **** (the form showed them redacted)
    takes them back from the stored URL: saving a form without retyping a password keeps it."""
    try:
        new, old = urlsplit(edited), urlsplit(stored)
    except ValueError:
        return edited
    if new.password == "****" and old.password is not None:
        host = new.netloc.rpartition("@")[2]
        new = new._replace(netloc=f"{new.username or ''}:{old.password}@{host}")
    if "=****" in new.query:
        old_values = {}
        for pair in old.query.split("&") if old.query else []:
            name, _, value = pair.partition("=")
            old_values[unquote_plus(name).lower()] = value
        pairs = []
        for pair in new.query.split("&"):
            name, _, value = pair.partition("=")
            key = unquote_plus(name).lower()
            if value == "****" and key in SECRET_PARAMS and key in old_values:
                pair = f"{name}={old_values[key]}"
            pairs.append(pair)
        new = new._replace(query="&".join(pairs))
    return urlunsplit(new)


def open_sender(backend):
    """The Sender for this backend's channel."""
    if backend.channel == "email":
        from shared.channels.email import EmailSender

        return EmailSender(backend)
    if backend.channel == "sms":
        from shared.channels.sms import SmsSender

        return SmsSender(backend)
    if backend.channel == "webhook":
        from shared.channels.webhook import WebhookSender

        return WebhookSender(backend)
    raise NotImplementedError(f"no sender for channel {backend.channel!r} yet")
