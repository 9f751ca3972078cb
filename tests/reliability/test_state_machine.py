"""The message state machine under any sequence of what can happen to messages, driven through
the real functions (outbox, actions, delivery over a real SMTP server, health checks, the sweep's
recovery) by Hypothesis. After every step:

- each message is in one known state, and its Event trail is a path through TRANSITIONS that
  ends in that state;
- its attempts counter, its Attempt rows and its state agree;
- a message in a final state never changes again (a resend makes a new message; the original
  only gains its "resolved by" marker);
- the SMTP server got each message at most once per try that was sent or whose result is
  unknown (a crashed worker), and every SENT message at least once;
- only crashed workers leave messages SENDING, until the sweep recovers them.

At the end of each run the server answers again and the queue is drained: every message ends
in a final state (nothing is lost)."""

import itertools
import os
import shutil
from collections import Counter
from datetime import timedelta
from pathlib import Path
from unittest import mock

import pytest
from aiosmtpd.controller import Controller
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from shared import health
from shared.actions import ActionError, cancel, resend
from shared.channels import open_sender
from shared.config import load_config
from shared.db import connect, db
from shared.models import Attempt, Backend, Event, Message, RetryPolicy, create_schema, now
from shared.outbox import create_message
from shared.states import (
    CANCELLABLE,
    INITIAL_STATES,
    RESENDABLE,
    STATES,
    TRANSITIONS,
    UNFINISHED,
    claim,
)
from tests.conftest import RecordingHandler, free_port
from worker import delivery, tasks
from worker.identity import HOST, worker_id
from worker.journal import Journal, journal_folder

ANSWERS = {
    "accept": None,
    "transient": "451 4.3.0 Local error, try again later",
    "permanent": "550 5.1.1 No such user",
    "down": "421 4.3.2 Service shutting down",
    "refused settings": "530 5.7.0 Authentication required",
}
FINAL = {name for name, state in STATES.items() if state.final}
RETRIES = 2
_numbers = itertools.count(1)


class SwitchableServer(RecordingHandler):
    """An SMTP server whose answer to RCPT a rule can change."""

    answer = None

    async def handle_RCPT(self, server, session, envelope, address, options):
        if self.answer:
            return self.answer
        envelope.rcpt_tos.append(address)
        return "250 OK"


class WorkerDied(BaseException):
    """The worker process is gone at this point (raised where the crash happens)."""


class Messages(RuleBasedStateMachine):
    # set by the test
    server: Controller
    folder: Path
    template: Path
    tally: Counter

    def __init__(self):
        super().__init__()
        db.close()
        path = self.folder / f"machine-{next(_numbers)}.db"
        shutil.copyfile(self.template, path)  # faster than creating the tables each time
        connect(f"sqlite:///{path}")
        RetryPolicy.create(channel="email", max_retries=RETRIES, backoff_delay=0, jitter=False)
        self.backend = Backend.create(
            name="office", channel="email", url=f"smtp://127.0.0.1:{self.server.port}"
        )
        self.handler = self.server.handler
        self.handler.answer = None
        self.handler.messages.clear()
        self.ids: list[int] = []
        self.final_rows: dict[int, dict] = {}  # as first seen in a final state
        self.crashed: set[str] = set()  # owners whose claims await recovery

    def any_in(self, state: str) -> bool:
        return Message.select().where(Message.state == state).exists()

    # what happens to messages (a rule with nothing to act on is left out)

    @initialize(count=st.integers(2, 6))
    def first_messages(self, count):
        self.submit(True, count)

    @rule(valid=st.booleans(), count=st.integers(1, 3))
    def submit(self, valid, count):
        for _ in range(count):
            n = next(_numbers)
            recipient = f"client{n}@example.com" if valid else f"client {n} at example"
            self.ids.append(create_message("email", recipient, f"Notice {n}", "Body").id)

    @rule(answer=st.sampled_from(sorted(ANSWERS)))
    def server_answers(self, answer):
        """Sends succeed, fail for now, fail for good, find the server going down, or find
        the backend's settings refused."""
        self.handler.answer = ANSWERS[answer]

    @precondition(lambda self: self.any_in("QUEUED"))
    @rule(size=st.integers(1, 5))
    def worker_sends_a_batch(self, size):
        owner = worker_id()
        claimed = claim(self.backend.id, size, owner, now() + delivery.LEASE)
        if claimed:
            delivery.deliver(self.backend.id, claimed, owner)

    @precondition(lambda self: self.any_in("WAITING"))
    @rule()
    def retries_come_due(self):
        delivery.release_due(self.backend.id)  # the policy's delay is 0: every retry is due

    @rule()
    def health_check(self):
        health.test_backend(Backend.get_by_id(self.backend.id))

    @rule(data=st.data())
    def resend_one(self, data):
        original = self.pick(data)
        if original is None:
            return
        corrected = data.draw(st.booleans())
        recipient = f"fixed{next(_numbers)}@example.com" if corrected else None
        if original.state in RESENDABLE:
            copy = resend(original, recipient=recipient)
            assert copy.resend_of_id == original.id and copy.state in INITIAL_STATES
            self.ids.append(copy.id)
        else:
            with pytest.raises(ActionError):
                resend(original, recipient=recipient)

    @rule(data=st.data())
    def cancel_one(self, data):
        message = self.pick(data)
        if message is None:
            return
        if message.state in CANCELLABLE:
            assert cancel(message)
            assert Message.get_by_id(message.id).state == "CANCELLED"
        else:
            with pytest.raises(ActionError):
                cancel(message)
            assert Message.get_by_id(message.id).state == message.state

    @precondition(lambda self: self.any_in("QUEUED"))
    @rule(
        where=st.sampled_from(["this host", "another host"]),
        sends=st.sampled_from(["none", "one on the wire", "all, unrecorded"]),
        size=st.integers(1, 5),
    )
    def worker_crashes(self, where, sends, size):
        """A worker claims a batch and dies: before sending, in the middle of a send, or
        after sending but before recording the results. A worker of this host leaves its
        journal to the sweep; one of another host only its lease, which has run out."""
        token = f"dead{next(_numbers)}"
        if where == "this host":
            # this pid with another token: a worker that had our pid before us
            owner = f"{HOST}/{os.getpid()}.{token}/Worker-1"
            lease_until = now() + delivery.LEASE
        else:
            owner = f"elsewhere/1.{token}/Worker-1"
            lease_until = now() - timedelta(seconds=1)
        if sends == "all, unrecorded" and where == "this host":
            claimed = claim(self.backend.id, size, owner, lease_until)
            if claimed:
                # the real delivery, dying when it comes to write the outcomes down
                with (
                    mock.patch.object(delivery, "settle", side_effect=WorkerDied),
                    pytest.raises(WorkerDied),
                ):
                    delivery.deliver(self.backend.id, claimed, owner)
        else:
            claimed = claim(self.backend.id, size, owner, lease_until)
            sent = {"none": [], "one on the wire": claimed[:1]}.get(sends, claimed)
            if sent and where == "this host":
                Journal(journal_folder(load_config().home), owner).started(sent[0])
            self.transmit(sent)
        if claimed:
            self.crashed.add(owner)
            self.tally["worker crashes"] += 1

    @precondition(lambda self: self.crashed)
    @rule()
    def sweep(self):
        tasks.run_sweep()  # recovers dead local workers and expired leases
        self.crashed.clear()

    # invariants: checked after every step, on one reading of the tables

    @invariant()
    def invariants_hold(self):
        messages = {m.id: m for m in Message.select().order_by(Message.id)}
        assert sorted(messages) == sorted(self.ids), "a message appeared or disappeared"
        tries: dict[int, list] = {i: [] for i in messages}
        for number, outcome, message_id in Attempt.select(
            Attempt.number, Attempt.outcome, Attempt.message
        ).tuples():
            tries[message_id].append((number, outcome))
        trails: dict[int, list] = {i: [] for i in messages}
        for from_state, to_state, message_id in (
            Event.select(Event.from_state, Event.to_state, Event.message)
            .where(Event.action == "state")
            .order_by(Event.id)
            .tuples()
        ):
            trails[message_id].append((from_state, to_state))
        copies: dict[str, int] = {}
        for _, _, mail in self.handler.messages:
            copies[mail["Message-ID"]] = copies.get(mail["Message-ID"], 0) + 1
        for message in messages.values():
            self.one_state(message, trails[message.id])
            self.attempts_agree(message, tries[message.id])
            self.final_never_changes(message)
            self.copies_are_tries(message, tries[message.id], copies)
            if message.state == "SENDING":
                # only a crashed worker leaves a message SENDING, until the sweep
                assert message.lease_owner in self.crashed
        self.resolved_only_by_a_sent_resend(messages)

    def one_state(self, message, trail):
        """One known state, reached by a path through TRANSITIONS from an initial state."""
        assert message.state in STATES
        assert trail[0][0] is None and trail[0][1] in INITIAL_STATES
        for (_, reached), (left, to) in itertools.pairwise(trail):
            assert left == reached and to in TRANSITIONS[left], trail
        assert trail[-1][1] == message.state

    def attempts_agree(self, message, tries):
        numbers = [number for number, _ in tries]
        outcomes = [outcome for _, outcome in sorted(tries)]
        assert sorted(numbers) == list(range(1, message.attempts + 1))
        # a send that got through, or a refusal for good, is always the last try
        assert "sent" not in outcomes[:-1] and "permanent_error" not in outcomes[:-1]
        last = outcomes[-1] if outcomes else None
        assert (message.state == "SENT") == (last == "sent")
        if message.state == "FAILED":
            assert last in ("permanent_error", "transient_error", "invalid_recipient")
        if last == "permanent_error":
            assert message.state == "FAILED"
        if message.state == "NOT_SENT":
            assert outcomes == []
        # the policy's retries: a failed try (or one lost in a crash) spends one; a message
        # waits for a retry only while some are left, and fails for it only when none are
        spent = outcomes.count("transient_error") + outcomes.count("unknown")
        assert outcomes.count("transient_error") <= RETRIES + 1
        if message.state == "WAITING" and last == "transient_error":
            assert spent <= RETRIES
        if message.state == "FAILED" and last == "transient_error":
            assert spent >= RETRIES + 1

    def final_never_changes(self, message):
        """Once final, a message stays as it is; only its "resolved by" marker may be set."""
        row = {k: v for k, v in message.__data__.items() if k != "resolved_by"}
        if message.id in self.final_rows:
            assert row == self.final_rows[message.id], f"{message.uid} left a final state"
        elif message.state in FINAL:
            self.final_rows[message.id] = row

    def copies_are_tries(self, message, tries, copies):
        """At most one copy per try that went through or whose result was lost in a crash
        (recorded as "unknown" once recovered, or still in a dead worker's hands)."""
        got = copies.get(f"<{message.uid}@commlog>", 0)
        outcomes = [outcome for _, outcome in tries]
        possible = outcomes.count("sent") + outcomes.count("unknown")
        if message.state == "SENDING":
            possible += 1
        assert got <= possible, message.uid
        if message.state == "SENT":
            assert got >= 1, f"{message.uid} is SENT but never reached the server"

    def resolved_only_by_a_sent_resend(self, messages):
        for message in messages.values():
            if message.resolved_by_id is None:
                continue
            assert message.state in ("FAILED", "NOT_SENT")
            resolver = messages[message.resolved_by_id]
            assert resolver.state == "SENT"
            ancestors, up = set(), resolver.resend_of_id
            while up is not None:
                ancestors.add(up)
                up = messages[up].resend_of_id
            assert message.id in ancestors
        # and the other way: a failure whose resend got through is resolved
        for message in messages.values():
            up = message.resend_of_id
            while message.state == "SENT" and up is not None:
                if messages[up].state in ("FAILED", "NOT_SENT"):
                    assert messages[up].resolved_by_id is not None
                up = messages[up].resend_of_id

    def teardown(self):
        """The server answers again: everything ends final, nothing lost."""
        try:
            self.handler.answer = None
            self.sweep()
            backend = Backend.get_by_id(self.backend.id)
            for _ in range(20):
                health.test_backend(backend)
                self.retries_come_due()
                self.worker_sends_a_batch(100)
                if not Message.select().where(Message.state.in_(UNFINISHED)).exists():
                    break
            unfinished = Message.select().where(Message.state.in_(UNFINISHED)).count()
            assert unfinished == 0, f"{unfinished} messages never finished"
            self.invariants_hold()
            self.count_what_happened()
        finally:
            db.close()

    def count_what_happened(self):
        """Figures over all runs, to show that the sequences reach the interesting cases."""
        tally = self.tally
        tally["runs"] += 1
        tally["messages"] += len(self.ids)
        tally["resends"] += Message.select().where(Message.resend_of.is_null(False)).count()
        tally["failures resolved by a resend"] += (
            Message.select().where(Message.resolved_by.is_null(False)).count()
        )
        tally["sends whose result a crash lost"] += (
            Attempt.select().where(Attempt.outcome == "unknown").count()
        )
        received = Counter(mail["Message-ID"] for _, _, mail in self.handler.messages)
        tally["copies received twice (same Message-ID)"] += sum(n - 1 for n in received.values())
        tally["FAILED after all retries"] += (
            Message.select()
            .where(Message.state == "FAILED", Message.state_reason.startswith("Gave up"))
            .count()
        )
        tally["held for a backend test"] += (
            Event.select().where(Event.to_state == "BACKEND_TEST_REQUIRED").count()
        )
        tally["cancelled"] += Message.select().where(Message.state == "CANCELLED").count()

    # helpers

    def pick(self, data):
        if not self.ids:
            return None
        return Message.get_by_id(data.draw(st.sampled_from(self.ids)))

    def transmit(self, ids):
        """What a worker hands the server before it dies: the real sender, no bookkeeping."""
        if not ids:
            return
        sender = open_sender(Backend.get_by_id(self.backend.id))
        try:
            for message in Message.select().where(Message.id.in_(ids)).order_by(Message.id):
                sender.send(message)
        finally:
            sender.close()


def test_any_sequence_keeps_the_state_machine_invariants(
    database, tmp_path, monkeypatch, record_property
):
    monkeypatch.setenv("COMMLOG_HOME", str(tmp_path))  # journals of the crashed workers
    template = tmp_path / "template.db"
    connect(f"sqlite:///{template}")
    create_schema()
    db.close()
    server = Controller(SwitchableServer(), hostname="127.0.0.1", port=free_port())
    server.start()
    Messages.server, Messages.folder, Messages.template = server, tmp_path, template
    Messages.tally = Counter()
    try:
        run_state_machine_as_test(
            Messages,
            settings=settings(
                max_examples=50,
                stateful_step_count=25,
                deadline=None,
                derandomize=True,  # the same sequences on every run: CI cannot go red by chance
                database=None,
                suppress_health_check=[HealthCheck.too_slow],
            ),
        )
    finally:
        server.stop()
        for name, value in Messages.tally.items():
            record_property(name, value)
