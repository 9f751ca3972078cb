"""Staff logins: creating them and checking their passwords."""

import secrets
from functools import cache

from email_validator import EmailNotValidError, validate_email
from werkzeug.security import check_password_hash, generate_password_hash

from shared.models import ROLES, Event, User

MIN_PASSWORD_LENGTH = 10


class UserError(ValueError):
    pass


class WrongPassword(UserError):
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
    # hash the password whether or not the login exists, so that the time taken does not tell
    # a guesser which emails have one
    stored = user.password_hash if user else _unknown_user_hash()
    if check_password_hash(stored, password or "") and user and user.active:
        return user
    return None


@cache
def _unknown_user_hash() -> str:
    """Made on first use rather than at import: a scrypt hash costs ~70 ms, which every
    command and worker paid at start."""
    return generate_password_hash("no login has this password")


def change_password(user: User, current: str, new: str) -> None:
    """Set a new password after checking the current one; every other session of the user
    ends (their session version no longer matches). Raises UserError with a plain reason."""
    if not check_password_hash(user.password_hash, current or ""):
        raise WrongPassword("the current password is not right")
    if len(new) < MIN_PASSWORD_LENGTH:
        raise UserError(f"the new password must be at least {MIN_PASSWORD_LENGTH} characters long")
    if new == current:
        raise UserError("the new password must differ from the current one")
    User.update(
        password_hash=generate_password_hash(new), session_version=User.session_version + 1
    ).where(User.id == user.id).execute()
    # the caller's own session carries on with the new version
    user.session_version = User.get_by_id(user.id).session_version
    Event.create(action="password_changed", actor=user, detail=user.email)


def last_admin(user: User) -> bool:
    """Whether `user` is the only active admin: someone must be left to manage the rest."""
    others = User.select().where(User.role == "admin", User.active, User.id != user.id)
    return user.is_admin and user.active and not others.exists()


def update_user(user: User, name: str, role: str, active: bool, actor=None) -> User:
    """Change a staff member's name, role or whether they may log in (a login switched off
    ends their sessions at once). Raises UserError with a plain reason."""
    name = " ".join((name or "").split())
    if not name or len(name) > 100:
        raise UserError("the name must be 1 to 100 characters long")
    if role not in ROLES:
        raise UserError(f"the role must be one of: {', '.join(ROLES)}")
    if last_admin(user) and (role != "admin" or not active):
        raise UserError(f"{user.name} is the only admin left: make someone else admin first")
    changes = [
        f"{what} {old} → {new}"
        for what, old, new in (
            ("name", user.name, name),
            ("role", user.role, role),
            ("login", _on(user.active), _on(active)),
        )
        if old != new
    ]
    if changes:
        User.update(name=name, role=role, active=active).where(User.id == user.id).execute()
        Event.create(
            action="user_updated", actor=actor, detail=f"{user.email}: " + ", ".join(changes)
        )
    return User.get_by_id(user.id)


def set_password(user: User, password: str | None = None, actor=None) -> str:
    """Give a staff member a new password (a generated one when none is given) and end every
    session they have; returns the password, which is not stored and cannot be shown again."""
    password = password or secrets.token_urlsafe(12)
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"the password must be at least {MIN_PASSWORD_LENGTH} characters long")
    User.update(
        password_hash=generate_password_hash(password), session_version=User.session_version + 1
    ).where(User.id == user.id).execute()
    Event.create(action="password_set", actor=actor, detail=user.email)
    return password


def _on(active: bool) -> str:
    return "allowed" if active else "switched off"
