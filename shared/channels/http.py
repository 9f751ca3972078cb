"""What the HTTP channels (SMS, webhook) share: their settings in a backend URL, one kept-alive
session per sender, and what an HTTP outcome means for the message (SPEC §5 error classes).

A backend URL carries commlog's own settings as query parameters (`token=`, `secret=`,
`timeout=`…); they are taken out before the URL is called.
"""

import math
import traceback
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import quote, unquote, unquote_plus, urlsplit, urlunsplit

import requests

from shared.channels import (
    CONFIG,
    PERMANENT,
    SECRET_PARAMS,
    SENT,
    TRANSIENT,
    DeliveryResult,
)

DEFAULT_TIMEOUT = 10.0  # seconds, to connect and then between bytes of the answer
RESPONSE_CHARS = 2000  # of the answer's body kept in the attempt's record
# read no more of an answer than this: plenty for any provider's reply, and a receiver that
# streams gigabytes back cannot fill the worker's memory
MAX_BODY_BYTES = 64 * 1024
USER_AGENT = "commlog"


@dataclass(frozen=True)
class HttpSettings:
    url: str  # the URL to call: without user:password and without commlog's own parameters
    options: dict[str, str]  # commlog's own parameters, taken out of the query
    username: str | None
    password: str | None
    timeout: float
    secrets: tuple[str, ...] = field(default=(), repr=False)  # to redact from what we record

    @classmethod
    def from_url(cls, url: str, own: Iterable[str]) -> "HttpSettings":
        """Split a backend URL; raises ValueError with a plain reason when it cannot work."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise ValueError("the URL must start with http:// or https://")
        if not parts.hostname:
            raise ValueError("the URL has no host name")
        own = set(own)
        kept, options = [], {}
        for pair in parts.query.split("&") if parts.query else []:
            name, _, value = pair.partition("=")
            if unquote_plus(name) in own:
                options[unquote_plus(name)] = unquote_plus(value)
            else:
                kept.append(pair)
        try:
            timeout = float(options.get("timeout", DEFAULT_TIMEOUT))
        except ValueError:
            timeout = math.nan
        if not (math.isfinite(timeout) and timeout > 0):
            raise ValueError("timeout= must be a number of seconds above 0")
        netloc = parts.netloc.rpartition("@")[2]
        return cls(
            url=urlunsplit(parts._replace(netloc=netloc, query="&".join(kept))),
            options=options,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            timeout=timeout,
            secrets=tuple(secrets_in(url)),
        )


def secrets_in(url: str) -> list[str]:
    """The password and the values of secret query parameters in a URL, as they may appear in
    error messages (plain and percent-encoded)."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return []
    found = [password or ""]
    for pair in parts.query.split("&"):
        name, _, value = pair.partition("=")
        if unquote_plus(name).lower() in SECRET_PARAMS:
            found.append(value)
    found += [unquote_plus(s) for s in found] + [quote(unquote_plus(s), safe="") for s in found]
    return [s for s in found if s]


def redact(text: str, secrets: Iterable[str]) -> str:
    # longest first, so that a secret containing another one is replaced whole
    for secret in sorted(set(secrets), key=len, reverse=True):
        text = text.replace(secret, "****")
    return text


def classify_status(status: int) -> str:
    """What an HTTP status means for the message."""
    if 200 <= status < 300:
        return SENT
    if status in (401, 403):
        return CONFIG  # the backend's credentials are wrong: retrying cannot help
    if status == 429 or status >= 500:
        return TRANSIENT
    # other 4xx, and 3xx since redirects are not followed: resending the same request to the
    # same URL would get the same answer
    return PERMANENT


class HttpClient:
    """One requests.Session (so one kept-alive connection per host) with a timeout, whose
    answers come back as DeliveryResults."""

    def __init__(
        self,
        timeout: float,
        secrets: Iterable[str] = (),
        auth: tuple[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ):
        self.timeout = timeout
        self.secrets = [s for s in secrets if s]
        self.session = requests.Session()
        self.session.auth = auth
        self.session.headers["User-Agent"] = USER_AGENT
        self.session.headers.update(headers or {})

    def request(self, method: str, url: str, **kwargs) -> tuple[DeliveryResult, bytes]:
        """Send one request; never raises. Returns the outcome and the answer's body (up to
        MAX_BODY_BYTES)."""
        secrets = self.secrets + secrets_in(url)
        try:
            # a redirect would resend the request somewhere nobody configured: not followed
            response = self.session.request(
                method, url, timeout=self.timeout, allow_redirects=False, stream=True, **kwargs
            )
        except Exception as exc:
            return self._failure(exc, secrets), b""
        with response:
            status_line = f"{response.status_code} {response.reason or ''}".strip()
            try:
                body = _read_body(response)
            except Exception as exc:
                # the status already says what happened; the body is only a detail
                body = b""
                status_line += f" (the answer's body could not be read: {type(exc).__name__})"
        text = redact(body.decode("utf-8", "replace"), secrets)[:RESPONSE_CHARS]
        outcome = classify_status(response.status_code)
        return DeliveryResult(
            outcome,
            f"{status_line}\n{text}".strip(),
            error_type=None if outcome == SENT else "HTTPError",
            http_status=response.status_code,
        ), body

    def _failure(self, exc: Exception, secrets: list[str]) -> DeliveryResult:
        """What a request that got no answer means for the message."""
        root = _root_cause(exc)
        words = redact(str(root) or type(root).__name__, secrets)
        tb = redact(traceback.format_exc(), secrets)
        if isinstance(exc, requests.exceptions.SSLError):
            outcome, response = CONFIG, f"TLS failed: {words}"
        elif isinstance(
            exc,
            (
                requests.exceptions.InvalidURL,
                requests.exceptions.MissingSchema,
                requests.exceptions.InvalidSchema,
                requests.exceptions.InvalidHeader,
            ),
        ):
            outcome, response = CONFIG, f"The URL is not usable: {redact(str(exc), secrets)}"
        elif isinstance(exc, requests.exceptions.ConnectTimeout):
            outcome, response = TRANSIENT, f"Could not connect within {self.timeout:g} seconds"
        elif isinstance(exc, requests.exceptions.Timeout):
            outcome, response = TRANSIENT, f"No answer within {self.timeout:g} seconds"
        elif isinstance(exc, requests.exceptions.ConnectionError):
            outcome, response = TRANSIENT, f"The connection failed: {words}"
        else:
            outcome, response = TRANSIENT, f"{type(exc).__name__}: {words}"
        return DeliveryResult(outcome, response, type(root).__name__, traceback=tb)

    def close(self) -> None:
        self.session.close()


def _read_body(response: requests.Response) -> bytes:
    chunks, size = [], 0
    for chunk in response.iter_content(8192):
        chunks.append(chunk)
        size += len(chunk)
        if size >= MAX_BODY_BYTES:
            break  # the rest is dropped with the connection
    return b"".join(chunks)[:MAX_BODY_BYTES]


def _root_cause(exc: BaseException) -> BaseException:
    """The innermost exception (e.g. ConnectionRefusedError under requests' and urllib3's)."""
    for _ in range(20):  # chains are short; the bound only guards against a loop
        inner = exc.__cause__ or exc.__context__
        if inner is None:
            break
        exc = inner
    return exc
