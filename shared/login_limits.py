"""Login rate limits (SPEC §9): after too many failed logins to one account, or from one client
address, within a window, logging in is refused for a while. The failures are rows in the
database, so every web process (gunicorn workers, several machines) counts the same ones."""

from datetime import datetime, timedelta

from shared.models import LoginAttempt, now

WINDOW = timedelta(minutes=15)
PER_ACCOUNT = 10  # failures to one email within the window
PER_ADDRESS = 30  # failures from one client address (an office behind one NAT shares it)


def _key(email: str) -> str:
    return (email or "").strip().lower()[:254]


def retry_at(email: str, address: str) -> datetime | None:
    """When logging in may be tried again, or None if it may be now. Refused attempts are not
    counted, so the pause ends a window after the failures, however often someone knocks."""
    since = now() - WINDOW
    later = None
    for column, value, limit in (
        (LoginAttempt.email, _key(email), PER_ACCOUNT),
        (LoginAttempt.address, address or "", PER_ADDRESS),
    ):
        # the limit-th most recent failure in the window: the pause lasts until it leaves it
        row = (
            LoginAttempt.select(LoginAttempt.at)
            .where(column == value, LoginAttempt.at >= since)
            .order_by(LoginAttempt.at.desc())
            .offset(limit - 1)
            .first()
        )
        if row is not None:
            until = row.at + WINDOW
            later = until if later is None or until > later else later
    return later


def record_failure(email: str, address: str) -> None:
    """Count a failed login; forget the failures that left the window."""
    LoginAttempt.create(email=_key(email), address=address or "")
    LoginAttempt.delete().where(LoginAttempt.at < now() - WINDOW).execute()


def forget_account(email: str) -> None:
    """A successful login: the account's earlier failures no longer count against it."""
    LoginAttempt.delete().where(LoginAttempt.email == _key(email)).execute()
