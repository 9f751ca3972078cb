"""The table of SMTP replies and exceptions, row by row: what each one means for a message."""

import smtplib
import socket
import ssl

import pytest

from shared.channels import CONFIG, PERMANENT, TRANSIENT
from shared.channels.email import (
    SMTP_EXCEPTIONS,
    SMTP_REPLIES,
    classify,
    reply_meaning,
    reply_rule,
)

# (code, the server's text, expected outcome, words expected in the plain explanation)
REPLIES = [
    (530, "5.7.0 Authentication required", CONFIG, "wants a login or TLS"),
    (530, "Must issue a STARTTLS command first", CONFIG, "wants a login or TLS"),
    (534, "5.7.9 Please log in with your web browser", CONFIG, "stronger login"),
    (535, "5.7.8 Username and Password not accepted", CONFIG, "refused the username"),
    (538, "5.7.11 Encryption required", CONFIG, "encrypted connection"),
    (554, "5.7.8 Authentication credentials invalid", CONFIG, "refused the username"),
    (550, "5.1.1 <bob@example.com>: Recipient address rejected", PERMANENT, "does not exist"),
    (550, "5.1.10 RESOLVER.ADR.RecipientNotFound", PERMANENT, "does not exist"),
    (553, "5.1.3 Bad recipient address syntax", PERMANENT, "address was refused"),
    (552, "5.2.2 Mailbox full", PERMANENT, "mailbox is full"),
    (550, "5.2.1 Mailbox disabled", PERMANENT, "cannot take mail"),
    (552, "5.3.4 Message size exceeds fixed limit", PERMANENT, "too big for"),
    (550, "5.7.1 Message rejected as spam", PERMANENT, "security or spam policy"),
    (552, "Requested mail action aborted: exceeded storage", PERMANENT, "too big or"),
    (554, "Transaction failed", PERMANENT, "refused the message"),
    (551, "User not local", PERMANENT, "refused the message"),
    (452, "4.2.2 Mailbox full, try later", TRANSIENT, "full for now"),
    (421, "4.7.0 Try again later, closing connection", TRANSIENT, "not available right now"),
    (450, "4.2.1 Mailbox busy", TRANSIENT, "busy or unavailable"),
    (451, "4.3.0 Local error in processing", TRANSIENT, "local error"),
    (452, "4.3.1 Insufficient system storage", TRANSIENT, "short of storage"),
    (454, "4.7.0 TLS not available due to temporary reason", TRANSIENT, "TLS or log in for now"),
    (455, "Server unable to accommodate parameters", TRANSIENT, "try again later"),
    (299, "weird", TRANSIENT, "unexpected answer"),
]


@pytest.mark.parametrize(("code", "text", "outcome", "words"), REPLIES)
def test_each_reply_means_what_the_table_says(code, text, outcome, words):
    got_outcome, got_words = reply_meaning(code, text)
    assert got_outcome == outcome
    assert words in got_words


def test_every_row_of_the_reply_table_is_exercised():
    used = {reply_rule(code, text) for code, text, _, _ in REPLIES} - {None}
    assert used == set(SMTP_REPLIES)


EXCEPTIONS = [
    (ssl.SSLCertVerificationError("certificate verify failed"), CONFIG, "certificate"),
    (ssl.SSLError("wrong version number"), CONFIG, "secure connection"),
    (smtplib.SMTPNotSupportedError("STARTTLS extension not supported"), CONFIG, "STARTTLS"),
    (ConnectionRefusedError(111, "Connection refused"), TRANSIENT, "Nobody answered"),
    (socket.gaierror(-2, "Name or service not known"), TRANSIENT, "looked up"),
    (TimeoutError("timed out"), TRANSIENT, "in time"),
    (smtplib.SMTPServerDisconnected("Connection unexpectedly closed"), TRANSIENT, "closed"),
    (ConnectionResetError(104, "Connection reset by peer"), TRANSIENT, "network connection"),
    (ValueError("odd"), TRANSIENT, "unexpectedly"),
]


@pytest.mark.parametrize(("exc", "outcome", "words"), EXCEPTIONS)
def test_each_exception_means_what_the_table_says(exc, outcome, words):
    result = classify(exc)
    assert result.outcome == outcome and words in result.response
    assert result.error_type == type(exc).__name__


def test_every_row_of_the_exception_table_is_exercised():
    rows = {
        next(i for i, (kind, _, _) in enumerate(SMTP_EXCEPTIONS) if isinstance(e, kind))
        for e, _, _ in EXCEPTIONS
    }
    assert rows == set(range(len(SMTP_EXCEPTIONS)))


def test_a_refused_recipient_keeps_the_servers_words():
    exc = smtplib.SMTPRecipientsRefused({"bob@example.com": (550, b"5.1.1 No such user")})
    result = classify(exc)
    assert (result.outcome, result.smtp_code) == (PERMANENT, 550)
    assert result.response == "The address does not exist (550 5.1.1 No such user)"
