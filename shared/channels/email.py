"""Email over SMTP: plain, STARTTLS or SSL, with the connection kept open across messages.

Backend URL: smtp://user:pass@host:587?tls=starttls&from=noreply@example.com
             smtps://user:pass@host:465?from=…      (SSL from the first byte)
             smtp://127.0.0.1:8025                   (plain, no login)
"""

import re
import smtplib
import socket
import ssl
import time
import traceback
from dataclasses import dataclass
from email.header import Header
from email.policy import Compat32
from email.quoprimime import body_encode
from email.utils import formataddr, formatdate
from functools import lru_cache
from urllib.parse import parse_qs, unquote, urlsplit

from shared.channels import CONFIG, PERMANENT, SENT, TRANSIENT, DeliveryResult

DEFAULT_FROM = "commlog@localhost"


class QuickCompat32(Compat32):
    """compat32, minus the cost of folding headers that need no folding: a short ASCII value is
    written as it is (the same bytes compat32 writes), anything else goes the usual way."""

    def fold_binary(self, name, value):
        if (
            isinstance(value, str)
            and value.isascii()
            and len(name) + len(value) < 76
            and "\r" not in value
            and "\n" not in value
        ):
            return f"{name}: {value}{self.linesep}".encode("ascii")
        return super().fold_binary(name, value)


QUICK_COMPAT32 = QuickCompat32(linesep="\r\n")  # SMTP lines end in CRLF; bare LF is refused


def one_line(text: str) -> str:
    """A header value never carries a line break (no header injection)."""
    return " ".join(text.splitlines())


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    security: str  # "ssl", "starttls" or "none"
    username: str | None
    password: str | None
    from_address: str
    timeout: float

    @classmethod
    def from_url(cls, url: str) -> "SmtpSettings":
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps"):
            raise ValueError("an email backend's URL starts with smtp:// or smtps://")
        if not parts.hostname:
            raise ValueError("the URL has no host name")
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        security = "ssl" if parts.scheme == "smtps" else query.get("tls", "none").lower()
        if security not in ("ssl", "starttls", "none"):
            raise ValueError("tls= must be starttls, ssl or none")
        default_port = {"ssl": 465, "starttls": 587, "none": 25}[security]
        return cls(
            host=parts.hostname,
            port=parts.port or default_port,
            security=security,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            from_address=query.get("from", DEFAULT_FROM),
            timeout=float(query.get("timeout", 30)),
        )


def message_id_header(uid: str) -> str:
    """A stable Message-ID derived from the message's uid, so that a resent try can be
    recognised as the same message by its receiver."""
    return f"<{uid}@commlog>"


def build_mime(message, from_address: str) -> bytes:
    """The message's bytes: the same bytes as the email package's compat32 MIMEText and
    MIMEMultipart write, assembled here because building and flattening those objects costs
    more than the send. Headers are folded (and RFC 2047-encoded) by compat32 itself, bodies
    quoted-printable by its encoder."""
    sender = message.sender
    display_name = f"{sender.name} via commlog" if sender else "commlog"
    subject = one_line(message.subject)
    headers = [
        ("From", _mailbox(display_name, from_address)),
        ("To", message.recipient),
        ("Subject", subject if subject.isascii() else Header(subject, "utf-8")),
    ]
    if sender:
        headers.append(("Reply-To", _mailbox(sender.name, sender.email)))
    headers += [("Date", _date(int(time.time()))), ("Message-ID", message_id_header(message.uid))]
    if message.body_html:
        # quoted-printable text never holds "=_" (a literal = is written =3D): a safe boundary
        boundary = f"=_{message.uid}".encode()
        content_type = f'multipart/alternative; boundary="{boundary.decode()}"'
        return b"".join(
            [
                _headers([("Content-Type", content_type), ("MIME-Version", "1.0"), *headers]),
                b"\r\n--%s\r\n%s%s" % (boundary, _PLAIN, _qp(message.body_text)),
                b"\r\n--%s\r\n%s%s" % (boundary, _HTML, _qp(message.body_html)),
                b"\r\n--%s--\r\n" % boundary,
            ]
        )
    return _PLAIN[:-2] + _headers(headers) + b"\r\n" + _qp(message.body_text)


def _headers(headers) -> bytes:
    return b"".join(QUICK_COMPAT32.fold_binary(name, value) for name, value in headers)


def _part_headers(subtype: str) -> bytes:
    """A text part's headers and the blank line after them."""
    return (
        _headers(
            [
                ("Content-Type", f'text/{subtype}; charset="utf-8"'),
                ("MIME-Version", "1.0"),
                ("Content-Transfer-Encoding", "quoted-printable"),
            ]
        )
        + b"\r\n"
    )


_PLAIN, _HTML = _part_headers("plain"), _part_headers("html")


@lru_cache(maxsize=1024)
def _mailbox(name: str, address: str) -> str:
    """A From or Reply-To value; a worker sends for few senders, over and over."""
    return formataddr((one_line(name), address))


@lru_cache(maxsize=1)
def _date(second: int) -> str:
    return formatdate(second)


def _qp(text: str | None) -> bytes:
    """A body in UTF-8, quoted-printable (readable in any mail client's "view source"), as
    compat32 writes it for Charset("utf-8") with QP body encoding."""
    if not text:
        return b""
    # quoprimime reads a str as bytes: one character per byte of the UTF-8
    return body_encode(text.encode("utf-8").decode("latin-1"), eol="\r\n").encode("ascii")


# What an SMTP reply means (SPEC §5): reply code ("5xx" for a class), enhanced status code
# (RFC 3463: "5.1.1" exactly, "5.1." a family, "" any), outcome, and plain words for support
# staff. The first row that fits wins.
SMTP_REPLIES = [
    ("530", "", CONFIG, "The mail server wants a login or TLS first"),
    ("534", "", CONFIG, "The mail server wants a stronger login method"),
    ("535", "", CONFIG, "The mail server refused the username or password"),
    ("538", "", CONFIG, "The mail server wants an encrypted connection to log in"),
    ("5xx", "5.7.8", CONFIG, "The mail server refused the username or password"),
    ("5xx", "5.1.1", PERMANENT, "The address does not exist"),
    ("5xx", "5.1.10", PERMANENT, "The address does not exist"),
    ("5xx", "5.1.", PERMANENT, "The address was refused"),
    ("5xx", "5.2.2", PERMANENT, "The recipient's mailbox is full"),
    ("5xx", "5.2.", PERMANENT, "The recipient's mailbox cannot take mail"),
    ("5xx", "5.3.4", PERMANENT, "The message is too big for the recipient's server"),
    ("5xx", "5.7.", PERMANENT, "Refused by the mail server's security or spam policy"),
    ("552", "", PERMANENT, "The message is too big or the mailbox is full"),
    ("5xx", "", PERMANENT, "The mail server refused the message"),
    ("4xx", "4.2.2", TRANSIENT, "The recipient's mailbox is full for now"),
    ("421", "", TRANSIENT, "The mail server is not available right now"),
    ("450", "", TRANSIENT, "The mailbox is busy or unavailable for now"),
    ("451", "", TRANSIENT, "The mail server had a local error"),
    ("452", "", TRANSIENT, "The mail server is short of storage"),
    ("454", "", TRANSIENT, "The mail server could not start TLS or log in for now"),
    ("4xx", "", TRANSIENT, "The mail server asked to try again later"),
]

# What an exception on the way means; the first class the exception is an instance of wins
SMTP_EXCEPTIONS = [
    (ssl.SSLCertVerificationError, CONFIG, "The mail server's certificate could not be verified"),
    (ssl.SSLError, CONFIG, "The secure connection (TLS) to the mail server failed"),
    (smtplib.SMTPNotSupportedError, CONFIG, "The mail server does not offer STARTTLS or login"),
    (ConnectionRefusedError, TRANSIENT, "Nobody answered at the mail server's address"),
    (socket.gaierror, TRANSIENT, "The mail server's name could not be looked up"),
    (TimeoutError, TRANSIENT, "The mail server did not answer in time"),
    (smtplib.SMTPServerDisconnected, TRANSIENT, "The mail server closed the connection"),
    (OSError, TRANSIENT, "The network connection to the mail server failed"),
    (Exception, TRANSIENT, "Sending failed unexpectedly"),
]

ENHANCED_CODE = re.compile(r"^([245]\.\d{1,3}\.\d{1,3})\b")


def reply_rule(code: int, text: str) -> tuple | None:
    """The first row of SMTP_REPLIES that fits this reply, or None."""
    match = ENHANCED_CODE.match(text.strip())
    enhanced = match.group(1) if match else ""
    for row in SMTP_REPLIES:
        pattern, prefix = row[0], row[1]
        fits = pattern == str(code) or (pattern.endswith("xx") and str(code)[0] == pattern[0])
        # "5.1." is a family of codes, "5.1.1" exactly that code (not 5.1.10)
        same = (
            enhanced.startswith(prefix)
            if prefix.endswith(".") or not prefix
            else enhanced == prefix
        )
        if fits and same:
            return row
    return None


def reply_meaning(code: int, text: str) -> tuple[str, str]:
    """(outcome, plain words) for an SMTP reply code and its text."""
    row = reply_rule(code, text)
    return (row[2], row[3]) if row else (TRANSIENT, "The mail server gave an unexpected answer")


def classify(exc: BaseException) -> DeliveryResult:
    """What an SMTP failure means for the message, with the server's own words kept."""
    name = type(exc).__name__
    tb = traceback.format_exc()
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code, reply = next(iter(exc.recipients.values()))
    elif isinstance(exc, smtplib.SMTPResponseException):
        code, reply = exc.smtp_code, exc.smtp_error
    else:
        outcome, words = next((o, w) for kind, o, w in SMTP_EXCEPTIONS if isinstance(exc, kind))
        return DeliveryResult(outcome, f"{words}: {exc}" if str(exc) else words, name, traceback=tb)
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    outcome, words = reply_meaning(code, text)
    return DeliveryResult(outcome, f"{words} ({code} {text})", name, smtp_code=code, traceback=tb)


class EmailSender:
    """Sends messages through one SMTP backend over one kept-open connection."""

    def __init__(self, backend):
        self.settings = SmtpSettings.from_url(backend.url)
        self.mail_from = smtplib.quoteaddr(self.settings.from_address)
        self.smtp: smtplib.SMTP | None = None

    def connect(self) -> smtplib.SMTP:
        s = self.settings
        if s.security == "ssl":
            smtp = smtplib.SMTP_SSL(
                s.host, s.port, timeout=s.timeout, context=ssl.create_default_context()
            )
        else:
            smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
        try:
            smtp.ehlo()
            if s.security == "starttls":
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if s.username:
                smtp.login(s.username, s.password or "")
        except BaseException:
            smtp.close()
            raise
        return smtp

    def test(self) -> DeliveryResult:
        """Connect, say EHLO, start TLS and log in as configured; send nothing."""
        s = self.settings
        try:
            self.connect().quit()
        except Exception as exc:
            return classify(exc)
        tls = {"ssl": "over SSL", "starttls": "with STARTTLS", "none": "without TLS"}[s.security]
        login = f", logged in as {s.username}" if s.username else ""
        return DeliveryResult(SENT, f"Connected to {s.host}:{s.port} {tls}{login}.")

    def send(self, message) -> DeliveryResult:
        try:
            data = build_mime(message, self.settings.from_address)
            reused = self.smtp is not None
            try:
                code, reply = self._transmit(message.recipient, data)
            except smtplib.SMTPServerDisconnected:
                if not reused:
                    raise
                # the kept-open connection went stale between messages: reconnect once
                self.close()
                code, reply = self._transmit(message.recipient, data)
        except Exception as exc:
            # a refusal after RSET leaves the connection usable; anything else may not
            if not isinstance(exc, (smtplib.SMTPResponseException, smtplib.SMTPRecipientsRefused)):
                self.close()
            return classify(exc)
        return DeliveryResult(SENT, f"{code} {reply.decode('utf-8', 'replace')}", smtp_code=code)

    def _transmit(self, recipient: str, data: bytes) -> tuple[int, bytes]:
        """MAIL, RCPT, DATA on the open connection; returns the server's final reply."""
        if self.smtp is None:
            self.smtp = self.connect()
        smtp = self.smtp
        # smtp.mail() and smtp.rcpt() send the same commands, but parse each address with
        # email.utils first: the sender's is parsed once here, the recipient was validated
        code, reply = smtp.docmd("mail", f"FROM:{self.mail_from}")
        if code != 250:
            smtp.rset()
            raise smtplib.SMTPSenderRefused(code, reply, self.settings.from_address)
        code, reply = smtp.docmd("rcpt", f"TO:<{recipient.strip()}>")
        if code not in (250, 251):
            smtp.rset()
            raise smtplib.SMTPRecipientsRefused({recipient: (code, reply)})
        code, reply = smtp.data(data)
        if code != 250:
            smtp.rset()
            raise smtplib.SMTPDataError(code, reply)
        return code, reply

    def close(self) -> None:
        if self.smtp is not None:
            try:
                self.smtp.quit()
            except Exception:
                self.smtp.close()
            self.smtp = None
