"""Recipient validation: a plain reason for every unusable recipient, never an exception."""

import pytest
from email_validator import EmailNotValidError, validate_email

from shared.recipients import recipient_problem

GARBAGE = [
    "",
    "   ",
    "\x00",
    "+44\x007700900123",
    "a" * 100_000,
    "+" + "9" * 100_000,
    "http://" + "h" * 100_000,
    "💥" * 1000,
    "\u202e+447911123456",
    "[[[[",
    "%%%",
    "http://[::1",
    "\ud800",  # a lone surrogate
]


@pytest.mark.parametrize(
    "phone",
    ["+447911123456", "+14155552671", "+33612345678", "+4915123456789", " +447911123456 "],
)
def test_good_phone_numbers(phone):
    assert recipient_problem("sms", phone) is None


@pytest.mark.parametrize(
    ("phone", "reason"),
    [
        (
            "07700900123",
            "The phone number must start with + and the country code, e.g. +447911123456.",
        ),
        (
            "00447700900123",
            "The phone number must start with + and the country code, e.g. +447911123456.",
        ),
        ("ana@example.com", "The phone number must start with + and the country code"),
        ("+44 7911 123456", "Write the phone number without spaces or punctuation: +447911123456."),
        (
            "+1 (415) 555-2671",
            "Write the phone number without spaces or punctuation: +14155552671.",
        ),
        ("+440000000000", "The phone number is not a valid number."),
        ("+1234", "The phone number is not a valid number."),
        ("+0447700900123", "The phone number must be + and the country code followed by digits"),
        ("+4479111234564567", "The phone number must be + and the country code followed by digits"),
        ("+４４7700900123", "The phone number must be + and the country code followed by digits"),
        ("+44 7700 ABC", "The phone number must be + and the country code followed by digits"),
        ("", "There is no recipient."),
    ],
)
def test_bad_phone_numbers(phone, reason):
    assert recipient_problem("sms", phone).startswith(reason)


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.example.com/commlog",
        "http://127.0.0.1:8080/in?tenant=3&x=y",
        "https://user:pass@example.com/",
        "https://bücher.example/hook",
        "https://[2001:db8::1]:8443/h",
        "HTTPS://EXAMPLE.COM",
    ],
)
def test_good_webhook_urls(url):
    assert recipient_problem("webhook", url) is None


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("hooks.example.com/commlog", "A webhook's URL must start with http:// or https://."),
        ("ftp://example.com/", "A webhook's URL must start with http:// or https://."),
        ("javascript:alert(1)", "A webhook's URL must start with http:// or https://."),
        ("http://", "The URL has no host name."),
        ("https:///path", "The URL has no host name."),
        ("https://h/a b", "The URL must not contain spaces or control characters."),
        ("https://h/\r\nX-Evil: 1", "The URL must not contain spaces or control characters."),
        ("https://h:99999/", "The URL is not valid."),
        ("https://h:port/", "The URL is not valid."),
        ("http://[::1", "The URL is not valid."),
        ("https://" + "a" * 64 + ".example/", "The URL's host name is not valid."),
        ("https://h/" + "p" * 3000, "The URL is too long (at most 2,000 characters)."),
    ],
)
def test_bad_webhook_urls(url, reason):
    assert recipient_problem("webhook", url) == reason


@pytest.mark.parametrize("channel", ["email", "sms", "webhook"])
@pytest.mark.parametrize("value", GARBAGE, ids=range(len(GARBAGE)))
def test_garbage_gets_a_reason_never_an_exception(channel, value):
    problem = recipient_problem(channel, value)
    assert isinstance(problem, str) and problem


@pytest.mark.parametrize("channel", ["email", "sms", "webhook"])
def test_missing_or_wrongly_typed_recipients(channel):
    assert recipient_problem(channel, None) == "There is no recipient."
    assert recipient_problem(channel, 447700900123) == "The recipient must be text."


def test_email_is_checked_as_before():
    assert recipient_problem("email", "ana@example.com") is None
    assert recipient_problem("email", "ana.example.com") == "The address has no @."
    assert recipient_problem("email", "ana@").startswith("The address is not valid:")


LOCAL_PARTS = [
    "ana",
    "A.b+tag",
    "a..b",
    ".a",
    "a.",
    '"a b"',
    "a b",
    "é",
    "a" * 64,
    "a" * 200,
    "x!#$%&'*-/=?^_`{|}~",
    "",
]
DOMAINS = [
    "example.com",
    "EXAMPLE.com",
    "localhost",
    "x.test",
    "-a.com",
    "a..com",
    "a.com.",
    "xn--a.com",
    "a.123",
    "[1.2.3.4]",
    "a_b.com",
    "a" * 64 + ".com",
    ("a" * 60 + ".") * 4 + "com",
    "münchen.de",
    "x.invalid",
]


@pytest.mark.parametrize("domain", DOMAINS)
def test_email_answers_as_email_validator_does(domain):
    """Plain addresses check their domain once (a cached shortcut): every answer must still be
    exactly what checking the whole address with email_validator gives."""
    for local in LOCAL_PARTS:
        address = f"{local}@{domain}"
        try:
            validate_email(address, check_deliverability=False)
            expected = None
        except EmailNotValidError as e:
            expected = f"The address is not valid: {e}"
        assert recipient_problem("email", address) == expected, address
