"""API tokens: made once and shown once, kept only as a SHA-256 hash, revocable."""

import hashlib
import secrets
from datetime import timedelta

from shared.db import db
from shared.models import ApiToken, Event, User, now

MAX_NAME_LENGTH = 100
# last_used_at is written at most this often per token: a busy client would otherwise turn
# every API call into a write
LAST_USED_PRECISION = timedelta(minutes=1)


class TokenError(ValueError):
    pass


def hash_token(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode("utf-8", "surrogatepass")).hexdigest()


def create_token(name: str, owner: User | None = None, actor: User | None = None):
    """A new token named `name` (unique among the tokens not revoked). Returns the ApiToken and
    the plaintext, which is never stored and cannot be shown again."""
    name = (name or "").strip()
    if not name:
        raise TokenError("the token needs a name")
    if len(name) > MAX_NAME_LENGTH:
        raise TokenError(f"the name must be at most {MAX_NAME_LENGTH} characters long")
    if active_token(name) is not None:
        raise TokenError(f"a token named {name} already exists; revoke it first")
    plaintext = secrets.token_urlsafe(32)
    with db.atomic():
        token = ApiToken.create(name=name, owner=owner, token_hash=hash_token(plaintext))
        whose = f" for {owner.email}" if owner else ""
        Event.create(action="token_created", actor=actor, detail=f"API token {name}{whose}")
    return token, plaintext


def active_token(name: str) -> ApiToken | None:
    """The token of that name that is not revoked, if any."""
    return ApiToken.get_or_none(ApiToken.name == name.strip(), ApiToken.revoked_at.is_null())


def authenticate(header_value: str | None) -> ApiToken | None:
    """The token named by an `Authorization: Bearer …` header, revoked or not (the caller
    refuses a revoked one with a 403), or None when the header names no token."""
    scheme, _, plaintext = (header_value or "").strip().partition(" ")
    plaintext = plaintext.strip()
    if scheme.lower() != "bearer" or not plaintext or len(plaintext) > 200:
        return None
    token = ApiToken.get_or_none(ApiToken.token_hash == hash_token(plaintext))
    if token is not None and token.revoked_at is None:
        at = now()
        if token.last_used_at is None or token.last_used_at <= at - LAST_USED_PRECISION:
            ApiToken.update(last_used_at=at).where(
                ApiToken.id == token.id,
                ApiToken.last_used_at.is_null()
                | (ApiToken.last_used_at <= at - LAST_USED_PRECISION),
            ).execute()
            token.last_used_at = at
    return token


def revoke(token: ApiToken, actor: User | None = None) -> bool:
    """Revoke the token for good; False if it already was."""
    with db.atomic():
        revoked = (
            ApiToken.update(revoked_at=now())
            .where(ApiToken.id == token.id, ApiToken.revoked_at.is_null())
            .execute()
        )
        if revoked:
            Event.create(action="token_revoked", actor=actor, detail=f"API token {token.name}")
    token.revoked_at = ApiToken.get_by_id(token.id).revoked_at
    return bool(revoked)
