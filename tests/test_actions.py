"""Resend, cancel, unresolved failures and purge: the shared staff actions."""

import json
from datetime import timedelta

import pytest

from shared.actions import ActionError, cancel, resend, unresolved_failures
from shared.models import Attempt, Backend, Event, Message, User, now
from shared.outbox import create_message
from shared.retention import parse_age, purge
from shared.search import search
from shared.states import Settlement, settle
from tests.conftest import run_commlog


@pytest.fixture
def backend(database):
    return Backend.create(
        name="office", channel="email", url="smtp://127.0.0.1:25", is_default=True
    )


def failed_message(recipient="bob@example.com", reason="550 No such user"):
    message = create_message("email", recipient, "Your statement", "Dear Bob")
    Message.update(state="FAILED", state_reason=reason, attempts=1).where(
        Message.id == message.id
    ).execute()
    return Message.get_by_id(message.id)


def mark_sent(message):
    Message.update(state="SENDING").where(Message.id == message.id).execute()
    settle([Settlement(message.id, "SENT", "250 OK")], owner=None)


def test_resend_makes_a_new_message_and_never_changes_the_original(backend, support_user):
    original = failed_message()
    before = Message.get_by_id(original.id).__data__.copy()
    copy = resend(original, actor=support_user)
    assert copy.id != original.id and copy.resend_of_id == original.id
    assert (copy.state, copy.subject, copy.body_text, copy.recipient) == (
        "QUEUED",
        "Your statement",
        "Dear Bob",
        "bob@example.com",
    )
    assert copy.sender_id == support_user.id
    assert Message.get_by_id(original.id).__data__ == before
    event = Event.get(Event.action == "resend")
    assert event.message_id == original.id and event.actor_id == support_user.id


def test_resend_to_a_corrected_recipient(backend):
    original = failed_message("bob@exmaple.com")
    copy = resend(original, recipient="bob@example.com")
    assert copy.recipient == "bob@example.com"
    assert Message.get_by_id(original.id).recipient == "bob@exmaple.com"
    assert "to bob@example.com" in Event.get(Event.action == "resend").detail


def test_an_unfinished_message_cannot_be_resent(backend):
    queued = create_message("email", "a@example.com", "x", "y")
    with pytest.raises(ActionError, match="cannot be resent"):
        resend(queued)
    assert Message.select().count() == 1


def test_a_resend_that_gets_through_resolves_the_whole_chain(backend):
    original = failed_message()
    first = resend(original)
    Message.update(state="FAILED").where(Message.id == first.id).execute()
    # the chain shows once, by its newest failure
    assert [m.id for m in unresolved_failures()] == [first.id]
    second = resend(Message.get_by_id(first.id))
    assert [m.id for m in unresolved_failures()] == []  # a resend is on its way
    mark_sent(second)
    assert Message.get_by_id(original.id).resolved_by_id == second.id
    assert Message.get_by_id(first.id).resolved_by_id == second.id
    assert Message.get_by_id(original.id).state == "FAILED"


def test_a_failed_resend_is_the_failure_left_to_act_on(backend):
    original = failed_message()
    copy = resend(original)
    Message.update(state="FAILED").where(Message.id == copy.id).execute()
    assert [m.id for m in unresolved_failures()] == [copy.id]
    assert Message.get_by_id(original.id).resolved_by_id is None


@pytest.mark.parametrize("state", ["WAITING", "QUEUED", "BACKEND_TEST_REQUIRED"])
def test_cancel_stops_an_unsent_message(backend, support_user, state):
    message = create_message("email", "a@example.com", "x", "y")
    Message.update(state=state).where(Message.id == message.id).execute()
    assert cancel(Message.get_by_id(message.id), actor=support_user)
    stored = Message.get_by_id(message.id)
    assert stored.state == "CANCELLED" and "Sam Support" in stored.state_reason


@pytest.mark.parametrize("state", ["SENDING", "SENT", "FAILED", "CANCELLED"])
def test_cancel_refuses_what_is_sending_or_finished(backend, state):
    message = create_message("email", "a@example.com", "x", "y")
    Message.update(state=state).where(Message.id == message.id).execute()
    with pytest.raises(ActionError):
        cancel(Message.get_by_id(message.id))
    assert Message.get_by_id(message.id).state == state


@pytest.mark.parametrize(("text", "days"), [("90d", 90), ("2w", 14), (" 48h ", 2)])
def test_parse_age(text, days):
    assert parse_age(text) == timedelta(days=days)


@pytest.mark.parametrize("text", ["", "90", "d", "-5d", "0d", "5y", "ninety days"])
def test_parse_age_refuses_nonsense(text):
    with pytest.raises(ValueError, match="write it like 90d"):
        parse_age(text)


def test_purge_deletes_old_finished_messages_only(backend):
    old_sent = failed_message()
    old_queued = create_message("email", "q@example.com", "x", "y")
    new_failed = failed_message()
    Attempt.create(message=old_sent, number=1, outcome="permanent_error")
    old = now() - timedelta(days=100)
    Message.update(created_at=old).where(Message.id.in_([old_sent.id, old_queued.id])).execute()
    assert purge(timedelta(days=90)) == 1
    assert sorted(m.id for m in Message.select()) == sorted([old_queued.id, new_failed.id])
    assert Attempt.select().count() == 0


def test_purge_bodies_only_keeps_the_metadata(backend):
    message = create_message(
        "email", "bob@example.com", "Your statement", "Dear Bob", "<p>Balance <b>12.00</b></p>"
    )
    Message.update(state="FAILED", created_at=now() - timedelta(days=100)).where(
        Message.id == message.id
    ).execute()
    assert Message.get_by_id(message.id).body_html_text == "Balance 12.00"
    assert purge(timedelta(days=90), bodies_only=True) == 1
    kept = Message.get_by_id(message.id)
    assert (kept.body_text, kept.body_html, kept.body_html_text, kept.subject, kept.state) == (
        "",
        None,
        "",
        "Your statement",
        "FAILED",
    )
    # nor can the search find the purged words any more
    assert list(search(Message.select(), "Balance 12")) == []
    assert list(search(Message.select(), "Dear Bob")) == []
    assert purge(timedelta(days=90), bodies_only=True) == 0


def test_cli_resend_failed_dry_run_then_for_real(backend, commlog_env):
    for _ in range(3):
        failed_message()
    dry = run_commlog(["resend-failed", "--dry-run"], commlog_env)
    assert dry.returncode == 0 and "3 unresolved failed messages would be resent" in dry.stdout
    assert Message.select().count() == 3
    real = run_commlog(["resend-failed", "--channel", "email"], commlog_env)
    assert "Resent 3" in real.stdout
    assert Message.select().where(Message.resend_of.is_null(False)).count() == 3
    again = run_commlog(["resend-failed"], commlog_env)
    assert "Resent 0" in again.stdout


def test_cli_resend_failed_refuses_a_bad_date(backend, commlog_env):
    result = run_commlog(["resend-failed", "--since", "yesterday-ish"], commlog_env)
    assert result.returncode == 2 and "--since" in result.stderr


def test_cli_purge(backend, commlog_env):
    message = failed_message()
    Message.update(created_at=now() - timedelta(days=100)).where(Message.id == message.id).execute()
    bad = run_commlog(["purge", "--older-than", "soon"], commlog_env)
    assert bad.returncode == 2 and "write it like 90d" in bad.stderr
    assert Message.select().count() == 1
    result = run_commlog(["purge", "--older-than", "90d"], commlog_env)
    assert result.returncode == 0 and "Deleted 1 messages" in result.stdout
    assert Message.select().count() == 0


def test_cli_policy_set(database, commlog_env):
    result = run_commlog(
        ["policy", "set", "sms", "--max-retries", "2", "--backoff-delay", "5", "--no-jitter"],
        commlog_env,
    )
    assert result.returncode == 0
    assert "sms: 2 retries after 5 and 15 seconds, jitter off" in result.stdout
    bad = run_commlog(["policy", "set", "sms", "--max-retries", "-7"], commlog_env)
    assert bad.returncode == 2
    # the same rules as the console's page (shared.retry.set_policy)
    bad = run_commlog(["policy", "set", "sms", "--backoff-max-delay", "1"], commlog_env)
    assert bad.returncode == 2 and "--backoff-max-delay" in bad.stderr
    assert "cannot be shorter than the first delay" in bad.stderr


def test_cli_set_password_gives_a_new_one_and_ends_the_sessions(app, support_user, commlog_env):
    from tests.conftest import log_in

    browser = app.test_client()
    log_in(browser, support_user.email)
    result = run_commlog(["set-password", "Support@Example.com"], commlog_env)
    assert result.returncode == 0, result.stderr
    password = result.stdout.strip().splitlines()[-1]
    assert len(password) >= 10 and password not in User.get_by_id(support_user.id).password_hash
    assert browser.get("/log").status_code == 302  # logged out
    assert log_in(app.test_client(), support_user.email, password).status_code == 302
    chosen = run_commlog(
        ["set-password", support_user.email, "--password-stdin"],
        commlog_env,
        input_text="my own long password\n",
    )
    assert chosen.returncode == 0 and "my own" not in chosen.stdout
    assert log_in(app.test_client(), support_user.email, "my own long password").status_code == 302


def test_cli_show_json(backend, commlog_env):
    original = failed_message()
    copy = resend(original)
    result = run_commlog(["show", copy.uid, "--json"], commlog_env)
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["uid"] == copy.uid and doc["state"] == "QUEUED"
    assert doc["resend_of"] == original.uid and doc["attempts"] == []
    assert [e["to_state"] for e in doc["events"]] == ["QUEUED"]
    missing = run_commlog(["show", "nope"], commlog_env)
    assert missing.returncode == 1 and "no message with the uid nope" in missing.stderr
