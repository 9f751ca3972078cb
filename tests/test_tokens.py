"""API tokens: shown once, stored hashed, last use recorded sparingly, revocable; and the
`commlog token` commands."""

from datetime import timedelta

import pytest

from shared.models import ApiToken, Event
from shared.tokens import (
    TokenError,
    active_token,
    authenticate,
    create_token,
    hash_token,
    revoke,
)
from tests.conftest import run_commlog


def test_a_token_is_stored_only_as_its_hash(database, admin_user):
    token, plaintext = create_token("billing", owner=admin_user, actor=admin_user)
    assert len(plaintext) >= 40
    stored = ApiToken.get_by_id(token.id)
    assert stored.token_hash == hash_token(plaintext) != plaintext
    assert plaintext not in str(stored.__data__)
    assert (stored.name, stored.owner_id, stored.revoked_at) == ("billing", admin_user.id, None)
    event = Event.get(Event.action == "token_created")
    assert "billing" in event.detail and admin_user.email in event.detail
    assert event.actor_id == admin_user.id


def test_every_token_is_different(database):
    assert create_token("a")[1] != create_token("b")[1]


@pytest.mark.parametrize("name", ["", "   ", "x" * 101])
def test_a_token_needs_a_sensible_name(database, name):
    with pytest.raises(TokenError):
        create_token(name)
    assert ApiToken.select().count() == 0


def test_a_name_is_unique_among_live_tokens_and_free_again_once_revoked(database):
    token, _ = create_token("billing")
    with pytest.raises(TokenError, match="already exists"):
        create_token(" billing ")
    revoke(token)
    assert create_token("billing")[0].id != token.id


@pytest.mark.parametrize(
    "header", [None, "", "Bearer", "Bearer ", "Basic abc", "bearer wrong-token", "x" * 5000]
)
def test_a_header_naming_no_token_authenticates_nobody(database, header):
    create_token("billing")
    assert authenticate(header) is None


def test_authenticate_finds_the_token_and_notes_its_use_at_most_once_a_minute(database):
    token, plaintext = create_token("billing")
    found = authenticate(f"Bearer {plaintext}")
    assert found.id == token.id
    first_use = ApiToken.get_by_id(token.id).last_used_at
    assert first_use is not None
    # the scheme is case-insensitive, and a second use within the minute writes nothing
    assert authenticate(f"bearer  {plaintext} ").id == token.id
    assert ApiToken.get_by_id(token.id).last_used_at == first_use
    earlier = first_use - timedelta(minutes=2)
    ApiToken.update(last_used_at=earlier).where(ApiToken.id == token.id).execute()
    authenticate(f"Bearer {plaintext}")
    assert ApiToken.get_by_id(token.id).last_used_at > earlier


def test_a_revoked_token_is_found_but_marked_and_its_use_not_noted(database, admin_user):
    token, plaintext = create_token("billing")
    assert revoke(token, actor=admin_user) is True
    assert revoke(token) is False
    found = authenticate(f"Bearer {plaintext}")
    assert found.revoked_at is not None and found.last_used_at is None
    assert active_token("billing") is None
    events = list(Event.select().where(Event.action == "token_revoked"))
    assert len(events) == 1 and events[0].actor_id == admin_user.id


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def test_token_create_prints_the_token_on_the_last_line_and_it_opens_the_api(
    commlog_env, client, admin_user
):
    result = run_commlog(["token", "create", "ci", "--owner", "ADMIN@example.com"], commlog_env)
    assert result.returncode == 0, result.stderr
    plaintext = result.stdout.strip().splitlines()[-1]
    assert ApiToken.get(ApiToken.name == "ci").owner_id == admin_user.id
    response = client.get("/api/messages/0123456789abcdef", headers=bearer(plaintext))
    assert response.status_code == 404  # authenticated: the message just does not exist
    assert client.get("/api/messages/0123456789abcdef").status_code == 401

    result = run_commlog(["token", "revoke", "ci"], commlog_env)
    assert result.returncode == 0, result.stderr
    response = client.get("/api/messages/0123456789abcdef", headers=bearer(plaintext))
    assert response.status_code == 403
    assert response.get_json()["errors"][0]["field"] == "Authorization"


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["token", "create", "ci", "--owner", "nobody@example.com"], "no user"),
        (["token", "create", " "], "needs a name"),
        (["token", "revoke", "nothing"], "no API token named nothing"),
    ],
)
def test_token_commands_refuse_bad_input_clearly(commlog_env, database, args, words):
    result = run_commlog(args, commlog_env)
    assert result.returncode != 0
    assert words in result.stderr
    assert ApiToken.select().count() == 0
