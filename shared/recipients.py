"""Recipient validation before any send: a plain-language reason when a recipient is unusable."""

import re
from functools import lru_cache
from urllib.parse import urlsplit

import phonenumbers
from email_validator import EmailNotValidError, validate_email

# E.164: +, a country code that does not start with 0, at most 15 digits in all (ASCII only:
# \d would let other scripts' digits through)
E164 = re.compile(r"\+[1-9][0-9]{1,14}", re.ASCII)
# RFC 5322's dot-atom: a local part email_validator accepts as it is (its own DOT_ATOM_TEXT)
PLAIN_LOCAL_PART = re.compile(
    r"[A-Za-z0-9_!#$%&'*+\-/=?^`{|}~]+(?:\.[A-Za-z0-9_!#$%&'*+\-/=?^`{|}~]+)*"
)
MAX_ADDRESS_LENGTH = 254
PHONE_EXAMPLE = "+447911123456"
MAX_URL_LENGTH = 2000  # what browsers and most servers accept


def recipient_problem(channel: str, recipient: str) -> str | None:
    """Why this recipient cannot be used on this channel, or None if it can."""
    if recipient is not None and not isinstance(recipient, str):
        return "The recipient must be text."
    return _problem(channel, (recipient or "").strip())


@lru_cache(maxsize=8192)  # the worker checks again at send time: repeat recipients are free
def _problem(channel: str, recipient: str) -> str | None:
    if not recipient:
        return "There is no recipient."
    if channel == "email":
        if "@" not in recipient:
            return "The address has no @."
        local, _, domain = recipient.rpartition("@")
        if (
            domain.isascii()
            and len(recipient) <= MAX_ADDRESS_LENGTH
            and PLAIN_LOCAL_PART.fullmatch(local)
        ):
            # only the domain can be wrong, and checking it is most of the cost: check each
            # domain once (bulk sends go to a few domains, each client at a new address)
            return _domain_problem(domain)
        return _email_problem(recipient)
    if channel == "sms":
        return _phone_problem(recipient)
    if channel == "webhook":
        return _url_problem(recipient)
    return None


@lru_cache(maxsize=1024)
def _domain_problem(domain: str) -> str | None:
    return _email_problem("a@" + domain)


def _email_problem(address: str) -> str | None:
    try:
        validate_email(address, check_deliverability=False)
    except EmailNotValidError as e:
        return f"The address is not valid: {e}"
    return None


def _phone_problem(phone: str) -> str | None:
    if not phone.startswith("+"):
        return f"The phone number must start with + and the country code, e.g. {PHONE_EXAMPLE}."
    if not E164.fullmatch(phone):
        # a number written with spaces or dashes: say how to write it, when we can tell
        number = _parse_phone(phone) if len(phone) <= 40 else None
        if number is not None and phonenumbers.is_valid_number(number):
            e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
            return f"Write the phone number without spaces or punctuation: {e164}."
        return (
            "The phone number must be + and the country code followed by digits only, "
            f"e.g. {PHONE_EXAMPLE}."
        )
    number = _parse_phone(phone)
    if number is None or not phonenumbers.is_valid_number(number):
        return "The phone number is not a valid number."
    return None


def _parse_phone(phone: str) -> phonenumbers.PhoneNumber | None:
    try:
        return phonenumbers.parse(phone, None)
    except phonenumbers.NumberParseException:
        return None


def _url_problem(url: str) -> str | None:
    if len(url) > MAX_URL_LENGTH:
        return f"The URL is too long (at most {MAX_URL_LENGTH:,} characters)."
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        return "The URL must not contain spaces or control characters."
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises ValueError for a port that is not a number 0-65535)
    except ValueError:
        return "The URL is not valid."
    if parts.scheme.lower() not in ("http", "https"):
        return "A webhook's URL must start with http:// or https://."
    if not parts.hostname:
        return "The URL has no host name."
    try:
        parts.hostname.encode("idna")
    except UnicodeError:
        return "The URL's host name is not valid."
    return None
