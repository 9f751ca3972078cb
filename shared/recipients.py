"""Recipient validation before any send: a plain-language reason when a recipient is unusable."""

from email_validator import EmailNotValidError, validate_email


def recipient_problem(channel: str, recipient: str) -> str | None:
    """Why this recipient cannot be used on this channel, or None if it can."""
    recipient = (recipient or "").strip()
    if not recipient:
        return "There is no recipient."
    if channel == "email":
        if "@" not in recipient:
            return "The address has no @."
        try:
            validate_email(recipient, check_deliverability=False)
        except EmailNotValidError as e:
            return f"The address is not valid: {e}"
        return None
    return None
