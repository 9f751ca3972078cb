"""Staff logins: creating them and checking their passwords."""

from email_validator import EmailNotValidError, validate_email
from werkzeug.security import check_password_hash, generate_password_hash

from shared.models import ROLES, Event, User

MIN_PASSWORD_LENGTH = 10


class UserError(ValueError):
    pass


def normalise_email(email: str) -> str:
    try:
        return validate_email(email.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as e:
        raise UserError(f"'{email}' is not a valid email address: {e}") from None


def create_user(email: str, role: str, password: str, name: str = "", actor=None) -> User:
    """A new staff login; raises UserError with a plain reason when it cannot be made."""
    email = normalise_email(email)
    if role not in ROLES:
        raise UserError(f"the role must be one of: {', '.join(ROLES)}")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"the password must be at least {MIN_PASSWORD_LENGTH} characters long")
    if User.select().where(User.email == email).exists():
        raise UserError(f"a user with the email {email} already exists")
    user = User.create(
        email=email,
        role=role,
        name=name or email.split("@")[0],
        password_hash=generate_password_hash(password),
    )
    Event.create(action="user_created", actor=actor, detail=f"{email} ({role})")
    return user


def authenticate(email: str, password: str) -> User | None:
    """The active user with this email and password, or None."""
    user = User.get_or_none(User.email == (email or "").strip().lower())
    if user and user.active and check_password_hash(user.password_hash, password or ""):
        return user
    return None
