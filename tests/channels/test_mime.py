"""build_mime writes the same bytes as the email package's compat32 MIMEText/MIMEMultipart,
for every shape of message: plain or with HTML, ASCII or not, short or folded headers."""

import itertools
from email import message_from_bytes
from email.charset import QP, Charset
from email.header import Header
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import default
from email.utils import formataddr
from types import SimpleNamespace

import pytest

from shared.channels import email as channel
from shared.channels.email import QUICK_COMPAT32, build_mime, message_id_header, one_line

DATE = "Wed, 25 Nov 2026 15:11:46 -0000"
UTF8_QP = Charset("utf-8")
UTF8_QP.body_encoding = QP


def reference(message, from_address: str) -> bytes:
    """The message built with the email package's objects, with build_mime's boundary."""
    text = MIMEText(message.body_text or "", "plain", UTF8_QP)
    if message.body_html:
        mime = MIMEMultipart("alternative")
        mime.attach(text)
        mime.attach(MIMEText(message.body_html, "html", UTF8_QP))
        mime.set_boundary(f"=_{message.uid}")
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
    mime["Date"] = DATE
    mime["Message-ID"] = message_id_header(message.uid)
    return mime.as_bytes(policy=QUICK_COMPAT32)


TEXTS = [
    "",
    "Dear client, it is due.",
    "Grüße\r\nline two\n.a line that starts with a dot\n",
    "x" * 200,
    "a=b\tc \nends with spaces ",
    "\u2028separators\x0bvertical\x85next",
    "emoji 😀 " * 30,
]
HTMLS = [None, "", "<p>Hi</p>", "<p>Grüße</p>\n" * 20]
SUBJECTS = ["", "Hi", "Grüße aus Köln", "a very long subject " * 8, "line\nbreak", "=?utf-8?q?x?="]
SENDERS = [
    None,
    SimpleNamespace(name="Ann", email="ann@example.com"),
    SimpleNamespace(name="Zoë O'Brien, Jr.", email="zoe@example.com"),
    SimpleNamespace(name="x" * 90, email="long@example.com"),
]
RECIPIENTS = [
    "a@example.com",
    "a.very.long.recipient.address.that.goes.on.and.on@some-subdomain.example.com",
]


@pytest.fixture
def fixed_date(monkeypatch):
    monkeypatch.setattr(channel, "formatdate", lambda *args: DATE)
    channel._date.cache_clear()
    yield
    channel._date.cache_clear()


@pytest.mark.parametrize(("text", "html"), list(itertools.product(TEXTS, HTMLS)))
def test_the_same_bytes_as_the_email_package(fixed_date, text, html):
    for subject, sender, recipient in itertools.product(SUBJECTS, SENDERS, RECIPIENTS):
        message = SimpleNamespace(
            uid="0123456789abcdef0123456789abcdef",
            recipient=recipient,
            subject=subject,
            body_text=text,
            body_html=html,
            sender=sender,
        )
        expected = reference(message, "noreply@example.com")
        assert build_mime(message, "noreply@example.com") == expected, (subject, sender)


def test_a_mail_reader_gets_back_what_was_written():
    message = SimpleNamespace(
        uid="feedface" * 4,
        recipient="client@example.com",
        subject="Grüße",
        body_text="Line one\n.dot\nÜmlaut",
        body_html="<p>Grüße</p>",
        sender=SimpleNamespace(name="Zoë", email="zoe@example.com"),
    )
    raw = build_mime(message, "noreply@example.com")
    # every line ends in CRLF, as SMTP requires (servers guarding against SMTP smuggling
    # refuse a bare LF)
    assert raw.count(b"\n") == raw.count(b"\r\n") and b"\r\r" not in raw
    # a receiving server stores lines with its own line ends; a reader sees plain lines
    mail = message_from_bytes(raw.replace(b"\r\n", b"\n"), policy=default)
    assert mail["Subject"] == "Grüße" and mail["To"] == "client@example.com"
    assert mail["From"] == "Zoë via commlog <noreply@example.com>"
    assert mail["Reply-To"] == "Zoë <zoe@example.com>"
    assert mail["Message-ID"] == f"<{'feedface' * 4}@commlog>"
    assert mail.get_body(("plain",)).get_content() == "Line one\n.dot\nÜmlaut"
    assert mail.get_body(("html",)).get_content() == "<p>Grüße</p>"
