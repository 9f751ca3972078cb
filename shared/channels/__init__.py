"""Channel adapters: one module per channel, each with a Sender of the same small interface.

sender = open_sender(backend)      # may keep a connection open across messages
result = sender.send(message)      # never raises: every failure is a DeliveryResult
sender.close()
"""

from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

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

    @property
    def ok(self) -> bool:
        return self.outcome == SENT


def redact_url(url: str) -> str:
    """The URL with any password replaced by ****, for display and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    netloc = f"{user}:****@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def open_sender(backend):
    """The Sender for this backend's channel."""
    if backend.channel == "email":
        from shared.channels.email import EmailSender

        return EmailSender(backend)
    raise NotImplementedError(f"no sender for channel {backend.channel!r} yet")
