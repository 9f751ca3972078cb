"""Email over SMTP: plain, STARTTLS or SSL, with the connection kept open across messages.

Backend URL: smtp://user:pass@host:587?tls=starttls&from=noreply@example.com
             smtps://user:pass@host:465?from=…      (SSL from the first byte)
             smtp://127.0.0.1:8025                   (plain, no login)
"""

import re
import smtplib
import socket
import ssl
import traceback
from dataclasses import dataclass
from email.charset import QP, Charset
from email.header import Header
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import Compat32
from email.utils import formataddr, formatdate
from urllib.parse import parse_qs, unquote, urlsplit

from shared.channels import CONFIG, PERMANENT, SENT, TRANSIENT, DeliveryResult

DEFAULT_FROM = "commlog@localhost"

# quoted-printable keeps bodies readable in any mail client's "view source"
UTF8_QP = Charset("utf-8")
UTF8_QP.body_encoding = QP


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


QUICK_COMPAT32 = QuickCompat32()


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
    """The message's bytes, built with the cheap compat32 classes."""
    text = MIMEText(message.body_text or "", "plain", UTF8_QP)
    if message.body_html:
        mime = MIMEMultipart("alternative")
        mime.attach(text)
        mime.attach(MIMEText(message.body_html, "html", UTF8_QP))
    else:
        mime = text
    sender = message.sender
    display_name = f"{sender.name} via commlog" if sender else "commlog"
    mime["From"] = formataddr((one_line(display_name), from_address))
    mime["To"] = message.recipient
    subject = one_line(message.subject)
    mime["Subject"] = subject if subject.isascii() else Header(subject, "utf-8")
    if sender:
        mime["Reply-To"] = formataddr((one_line(sender.name), sender.email))
    mime["Date"] = formatdate(localtime=False)
    mime["Message-ID"] = message_id_header(message.uid)
    return mime.as_bytes(policy=QUICK_COMPAT32)


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
        code, reply = smtp.mail(self.settings.from_address)
        if code != 250:
            smtp.rset()
            raise smtplib.SMTPSenderRefused(code, reply, self.settings.from_address)
        code, reply = smtp.rcpt(recipient)
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
