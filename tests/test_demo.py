"""`commlog demo`: every state and channel, and every message consistent with what the outbox,
the worker and staff would have written (attempts, events, reasons, resend chains)."""

from collections import Counter, defaultdict

import pytest
from peewee import fn

from shared import demo
from shared.channels import CONFIG, INVALID_RECIPIENT, PERMANENT, SENT, DeliveryResult
from shared.db import db, is_sqlite
from shared.demo import load_demo
from shared.models import (
    CHANNELS,
    Attempt,
    Backend,
    Client,
    Event,
    Group,
    GroupMember,
    Incident,
    Message,
    User,
    now,
)
from shared.outbox import create_message
from shared.recipients import recipient_problem
from shared.retry import policy_for
from shared.search import search
from shared.states import INITIAL_STATES, STATES, TRANSITIONS, claim, move
from tests.conftest import run_commlog

FAILED_REASONS = ("Refused for good: ", "Gave up after ", "The provider reports the message as ")


@pytest.fixture
def made(database):
    return load_demo(400, seed=7)


@pytest.fixture(params=["small", "big"])
def made_either_way(request, database, monkeypatch):
    """A small demo, and one made the way a big one is (lighter history, texts reused,
    indexes and the search index built at the end)."""
    if request.param == "big":
        monkeypatch.setattr(demo, "FULL_HISTORY_UP_TO", 100)
        monkeypatch.setattr(demo, "BULK", 100)
        monkeypatch.setattr(demo, "POOL_TEXTS", 2)
    return load_demo(400, seed=7)


def histories():
    """Every message with its attempts and state events, oldest first."""
    attempts, events = defaultdict(list), defaultdict(list)
    for a in Attempt.select().order_by(Attempt.number):
        attempts[a.message_id].append(a)
    for e in Event.select().where(Event.message.is_null(False)).order_by(Event.id):
        events[e.message_id].append(e)
    return [(m, attempts[m.id], events[m.id]) for m in Message.select().order_by(Message.id)]


def test_it_makes_every_state_and_channel_and_says_what_it_made(made):
    assert made["messages"] == Message.select().count() == 400
    states = Counter(m.state for m in Message.select())
    assert set(states) == set(STATES)
    assert made["by_state"] == dict(states)
    channels = Counter(m.channel for m in Message.select())
    assert set(channels) == set(CHANNELS) and made["by_channel"] == dict(channels)
    assert states["SENT"] + states["DELIVERED"] > 0.7 * 400
    assert made["attempts"] == Attempt.select().count()
    assert made["events"] == Event.select().where(Event.message.is_null(False)).count()
    assert Message.select().where(Message.sender.is_null()).count() > 200  # System
    manual = Message.select().where(Message.sender.is_null(False))
    assert manual.count() > 5
    assert all(m.sender.role in ("support", "admin") for m in manual)
    kinds = {m.kind for m in Message.select(Message.kind)}
    assert {"loan.repayment_due", "savings.deposit_received", "manual"} <= kinds
    assert Message.select().where(Message.body_html.is_null(False)).exists()
    scripted = Message.get(Message.body_html.contains("<script>"))
    assert "onerror=" in scripted.body_html and scripted.state == "SENT"
    for field in (Message.client, Message.group, Message.user):
        assert Message.select().where(field.is_null(False)).exists()


def test_attempts_agree_with_each_message(made_either_way):
    for m, attempts, events in histories():
        assert m.attempts == len(attempts), m.uid
        assert [a.number for a in attempts] == list(range(1, m.attempts + 1))
        outcomes = [a.outcome for a in attempts]
        if m.state in ("SENT", "DELIVERED"):
            last = attempts[-1]
            assert last.outcome == "sent"
            assert last.smtp_code == 250 or last.http_status == 200
            assert set(outcomes[:-1]) <= {"transient_error", "unknown"}
            assert m.sent_at == last.finished_at
            assert m.state_reason.startswith("Accepted by ") or m.state == "DELIVERED"
        else:
            assert m.sent_at is None or m.state == "FAILED"
        if m.state == "FAILED":
            assert m.state_reason.startswith(FAILED_REASONS), m.state_reason
            if m.state_reason.startswith("Refused for good: "):
                assert outcomes[-1] == "permanent_error"
                assert attempts[-1].response in m.state_reason
            elif m.state_reason.startswith("Gave up after "):
                assert set(outcomes) == {"transient_error"}
                max_retries = policy_for(m.channel).max_retries
                assert len(outcomes) == max_retries + 1
            else:  # sent, then the provider's delivery report said it failed
                assert m.channel == "sms" and outcomes[-1] == "sent" and m.sent_at
        if m.state == "WAITING":
            # due after the moment it began to wait: the demo made it, the worker will send it
            assert m.next_attempt_at > max(e.created_at for e in events)
            if m.attempts:
                assert set(outcomes) == {"transient_error"}
                assert m.state_reason.startswith(f"Try {m.attempts} failed (")
                assert f"retry {m.attempts} of " in m.state_reason
            else:
                assert m.state_reason == "scheduled"
        if m.state == "NOT_SENT":
            assert m.attempts == 0
            assert m.state_reason == recipient_problem(m.channel, m.recipient)
        if m.state == "QUEUED":
            assert set(outcomes) <= {"unknown"}
        if m.state == "SENDING":
            assert m.lease_owner and m.lease_until > now()
        else:
            assert m.lease_owner is None and m.lease_until is None
        if m.state == "BACKEND_TEST_REQUIRED":
            assert outcomes in ([], ["config_error"])
        if m.state == "CANCELLED":
            assert m.state_reason.startswith("Cancelled by ")


def test_events_tell_each_message_s_history(made_either_way):
    at_most = now()
    for m, attempts, events in histories():
        changes = [e for e in events if e.action == "state"]
        assert changes, m.uid
        assert changes[0].from_state is None and changes[0].to_state in INITIAL_STATES
        assert changes[0].created_at == m.created_at
        for before, after in zip(changes, changes[1:], strict=False):
            assert after.from_state == before.to_state, m.uid
            assert after.to_state in TRANSITIONS[before.to_state], (before.to_state, after.to_state)
            assert before.created_at <= after.created_at
        assert changes[-1].to_state == m.state
        assert changes[-1].detail == m.state_reason or (
            len(changes) == 1 and m.state_reason == "" and changes[0].detail == "created"
        )
        assert all(e.created_at <= at_most for e in events)
        assert all(a.started_at <= a.finished_at <= at_most for a in attempts)
        if m.sender_id:
            assert changes[0].actor_id == m.sender_id
        if m.state == "CANCELLED":
            assert changes[-1].actor_id is not None


def test_no_message_that_is_or_will_be_sent_has_an_unusable_recipient(made_either_way):
    for m in Message.select().where(Message.state != "NOT_SENT"):
        if m.state == "FAILED" and "recipient" in m.state_reason:
            continue
        assert recipient_problem(m.channel, m.recipient) is None, (m.state, m.recipient)


def test_resend_chains_point_both_ways(made_either_way):
    resends = list(Message.select().where(Message.resend_of.is_null(False)))
    assert len(resends) >= 5
    for copy in resends:
        original = copy.resend_of
        assert original.id < copy.id and original.created_at <= copy.created_at
        assert (copy.channel, copy.subject, copy.body_text) == (
            original.channel,
            original.subject,
            original.body_text,
        )
        said = Event.get(Event.message == original.id, Event.action == "resend")
        assert said.detail.endswith(f" as {copy.uid}") and said.actor_id == copy.sender_id
        created = Event.select().where(Event.message == copy.id).order_by(Event.id).first()
        assert (created.to_state, created.created_at) == ("QUEUED", said.created_at)
    resolved = list(Message.select().where(Message.resolved_by.is_null(False)))
    assert resolved
    for failure in resolved:
        assert failure.state in ("FAILED", "NOT_SENT")
        fix = failure.resolved_by
        assert fix.state in ("SENT", "DELIVERED")
        link = fix  # the fix descends from the failure it resolved
        while link.resend_of_id != failure.id:
            link = link.resend_of
            assert link is not None
    # a chain whose resend failed too, and is still work to do
    failed_again = [c for c in resends if c.state == "FAILED" and c.resend_of.state == "FAILED"]
    assert any(
        c.resolved_by_id is None and c.resend_of.resolved_by_id is None for c in failed_again
    )
    # and one where a third try with the address corrected resolved both
    assert any(
        c.resolved_by_id and c.resend_of.resolved_by_id == c.resolved_by_id for c in failed_again
    )
    corrected = Event.select().where(Event.action == "resend", Event.detail.contains(" to "))
    assert corrected.exists()


def test_the_held_backend_holds_its_messages(made):
    relay = Backend.get(Backend.name == "Old relay")
    assert relay.health == "TEST_REQUIRED" and "535 5.7.8" in relay.last_error
    assert relay.last_error.startswith("The mail server refused the username or password")
    incident = Incident.get(Incident.backend == relay.id)
    assert incident.ended_at is None and incident.alert_sent_at
    held = Message.select().where(Message.state == "BACKEND_TEST_REQUIRED")
    assert held.count() >= 10
    assert {m.backend_id for m in held} == {relay.id}
    assert all(m.created_at >= incident.started_at - demo.timedelta(seconds=2) for m in held)
    tried = [m for m in held if m.attempts]
    assert len(tried) == 1 and tried[0].state_reason.startswith("Held: Old relay refused")
    assert Message.select().where(Message.kind == "system.backend_alert").count() == 1
    # before the incident the relay worked
    assert Message.select().where(Message.backend == relay.id, Message.state == "SENT").exists()
    for name in ("Office mail", "Bulk SMS", "Partner webhooks"):
        assert Backend.get(Backend.name == name).health == "OK"
    assert Backend.get(Backend.name == "Office mail").is_default


def test_the_demo_staff_and_people(made):
    assert made["password"] and len(made["password"]) >= 12
    admin = User.get(User.email == "admin@demo.example")
    assert (admin.name, admin.role) == ("Ada Admin", "admin")
    assert User.select().where(User.role == "support").count() == 4
    assert Client.select().count() == 200 and Group.select().count() == 20
    names = {c.name for c in Client.select()}
    assert {"José Álvarez", "Zoë Müller", "Ngozi Okafor"} <= names
    for c in Client.select():
        assert c.email is None or recipient_problem("email", c.email) is None
        assert c.phone is None or recipient_problem("sms", c.phone) is None
    assert GroupMember.select().count() >= 20 * 6
    assert Group.get(Group.name == "Kisumu Women's Savings Group").contact_email


def test_running_it_again_adds_messages_but_no_people_or_backends(database):
    first = load_demo(250)
    counts = [model.select().count() for model in (User, Client, Group, GroupMember, Backend)]
    second = load_demo(250, seed=2)
    assert [model.select().count() for model in (User, Client, Group, GroupMember, Backend)] == (
        counts
    )
    assert Message.select().count() == 500
    assert first["password"] and second["password"] is None
    assert second["users_created"] == second["backends_created"] == []
    assert second["clients_created"] == second["groups_created"] == 0
    # the relay is still held, and the new statements since its failure are held too
    assert second["by_state"]["BACKEND_TEST_REQUIRED"] > 0
    assert Incident.select().count() == 1


def test_it_never_touches_the_local_capture_backend(database):
    capture = Backend.create(
        name="local-capture", channel="email", url="smtp://127.0.0.1:8025", is_default=True
    )
    before = Backend.get_by_id(capture.id).__data__
    load_demo(200)
    assert Backend.get_by_id(capture.id).__data__ == before
    assert not Backend.get(Backend.name == "Office mail").is_default


def test_it_writes_the_words_the_worker_writes(database):
    """The demo's reasons are the worker's: checked against worker/delivery.py itself."""
    from worker import delivery, recovery

    backend = Backend.create(name="office", channel="email", url="smtp://127.0.0.1:25")
    message = create_message("email", "ann@example.com", "Hi", "Hello")
    started = now()
    policy = policy_for("email")
    cases = [
        (DeliveryResult(SENT, "250 ok", smtp_code=250), demo.ACCEPTED.format(name="office")),
        (DeliveryResult(CONFIG, "no"), demo.HELD_BY_TRY.format(name="office", response="no")),
        (DeliveryResult(PERMANENT, "gone"), demo.REFUSED.format(response="gone")),
        (DeliveryResult(INVALID_RECIPIENT, "bad"), demo.NOT_USABLE.format(response="bad")),
    ]
    for result, words in cases:
        assert delivery._settlement(message, backend, policy, result, started, "w").reason == words
    retry = delivery._settlement(
        message, backend, policy, DeliveryResult("transient_error", "busy"), started, "w"
    )
    expected = demo.RETRY.format(tries=1, response="busy", of=4, at=retry.next_attempt_at)
    assert retry.reason == expected
    assert recovery.UNKNOWN == demo.UNKNOWN
    claimed = claim(backend.id, 1, "w", now())
    assert Event.select().order_by(Event.id.desc()).get().detail == demo.CLAIMED
    move(claimed, "SENDING", "WAITING", "x", next_attempt_at=now())
    delivery.release_due(backend.id)
    assert Event.select().order_by(Event.id.desc()).get().detail == demo.DUE


def indexes():
    return {
        (table, index.name, index.sql)
        for table in ("message", "attempt", "event")
        for index in db.get_indexes(table)
    }


def triggers():
    """SQLite's search triggers (PostgreSQL's search index needs none)."""
    if not is_sqlite():
        return set()
    return set(db.execute_sql("SELECT sql FROM sqlite_master WHERE type = 'trigger'"))


def test_a_big_load_into_an_empty_log_builds_its_indexes_at_the_end(database, monkeypatch):
    monkeypatch.setattr(demo, "BULK", 100)
    before = indexes()
    before_triggers = triggers()
    load_demo(300)
    assert indexes() == before
    assert triggers() == before_triggers
    # every message can be found by its text, and the next one too (the trigger is back)
    for m in Message.select().order_by(fn.Random()).limit(20):
        word = m.recipient
        assert m.id in {found.id for found in search(Message.select(), word)}
    later = create_message("email", "late.comer@example.com", "Kwaheri", "Asante sana")
    assert [found.id for found in search(Message.select(), "Asante sana")] == [later.id]


def test_a_big_load_leaves_the_connection_as_it_found_it(database, monkeypatch):
    """The load's own settings (no syncs, a big page cache, index-building memory) end with
    it."""
    monkeypatch.setattr(demo, "BULK", 100)
    monkeypatch.setattr(demo, "UID_BLOCK", 7)  # many blocks of uids
    if is_sqlite():
        names, show = ("synchronous", "cache_size", "wal_autocheckpoint"), "PRAGMA {}"
    else:
        names, show = ("synchronous_commit", "maintenance_work_mem"), "SHOW {}"

    def settings():
        return {name: db.execute_sql(show.format(name)).fetchone()[0] for name in names}

    before = settings()
    load_demo(300)
    assert settings() == before
    uids = [m.uid for m in Message.select(Message.uid)]
    assert len(set(uids)) == len(uids) == 300
    assert all(len(uid) == 32 and int(uid, 16) >= 0 for uid in uids)


def test_demo_command(commlog_env, database):
    result = run_commlog(["demo", "--messages", "300"], commlog_env)
    assert result.returncode == 0, result.stderr
    assert "Added 300 messages" in result.stdout
    assert "admin@demo.example" in result.stdout
    assert "Password for the new logins: " in result.stdout
    assert Message.select().count() == 300
    again = run_commlog(["demo", "--messages", "10"], commlog_env)
    assert again.returncode == 0, again.stderr
    assert "passwords were not changed" in again.stdout
    assert Message.select().count() == 310


def test_demo_command_refuses_a_negative_count(commlog_env, database):
    result = run_commlog(["demo", "--messages", "-5"], commlog_env)
    assert result.returncode == 2 and "--messages" in result.stderr
    assert Message.select().count() == 0
