"""The state table: every legal move works and is recorded; every illegal one raises and changes
nothing; a claim is won by exactly one claimer."""

import threading

import pytest

from shared.models import Backend, Event, Message
from shared.states import (
    INITIAL_STATES,
    STATES,
    TRANSITIONS,
    IllegalTransition,
    move,
    move_one,
    record_creation,
)

ALL_PAIRS = [(a, b) for a in STATES for b in STATES]
LEGAL = [(a, b) for a, b in ALL_PAIRS if b in TRANSITIONS[a]]
ILLEGAL = [(a, b) for a, b in ALL_PAIRS if b not in TRANSITIONS[a]]


@pytest.fixture
def backend(database):
    return Backend.create(name="mail", channel="email", url="smtp://127.0.0.1:25")


def make_message(backend, state):
    return Message.create(channel="email", recipient="a@example.com", backend=backend, state=state)


def test_every_state_has_a_transition_entry_and_explanations():
    assert set(TRANSITIONS) == set(STATES)
    for state in STATES.values():
        assert state.label and state.explanation.endswith(".") and state.what_to_do
    # final states never move on by themselves
    for state in STATES.values():
        if state.final and state.name != "SENT":
            assert not TRANSITIONS[state.name]


@pytest.mark.parametrize(("from_state", "to_state"), LEGAL)
def test_legal_transition_moves_and_records_an_event(backend, from_state, to_state):
    message = make_message(backend, from_state)
    assert move_one(message.id, from_state, to_state, "because") is True
    assert Message.get_by_id(message.id).state == to_state
    event = Event.get(Event.message == message.id)
    assert (event.from_state, event.to_state, event.detail) == (from_state, to_state, "because")


@pytest.mark.parametrize(("from_state", "to_state"), ILLEGAL)
def test_illegal_transition_raises_and_changes_nothing(backend, from_state, to_state):
    message = make_message(backend, from_state)
    with pytest.raises(IllegalTransition):
        move_one(message.id, from_state, to_state, "no")
    assert Message.get_by_id(message.id).state == from_state
    assert Event.select().count() == 0


def test_a_message_no_longer_in_the_from_state_is_left_alone(backend):
    message = make_message(backend, "SENT")
    assert move_one(message.id, "QUEUED", "SENDING") is False
    assert Message.get_by_id(message.id).state == "SENT"
    assert Event.select().count() == 0


def test_move_sets_the_extra_fields_with_the_state(backend):
    message = make_message(backend, "SENDING")
    move_one(message.id, "SENDING", "WAITING", "retry", attempts=3)
    stored = Message.get_by_id(message.id)
    assert (stored.state, stored.attempts, stored.state_reason) == ("WAITING", 3, "retry")


def test_move_many_moves_only_those_in_the_from_state(backend):
    queued = [make_message(backend, "QUEUED") for _ in range(5)]
    other = make_message(backend, "CANCELLED")
    moved = move([m.id for m in queued] + [other.id], "QUEUED", "SENDING")
    assert sorted(moved) == sorted(m.id for m in queued)
    assert Event.select().where(Event.to_state == "SENDING").count() == 5
    assert Message.get_by_id(other.id).state == "CANCELLED"


@pytest.mark.parametrize("state", sorted(STATES))
def test_creation_states(backend, state):
    message = make_message(backend, state)
    if state in INITIAL_STATES:
        record_creation(message)
        assert Event.get(Event.message == message.id).to_state == state
    else:
        with pytest.raises(IllegalTransition):
            record_creation(message)


def test_two_claimers_racing_for_one_message_exactly_one_wins(backend):
    for _ in range(30):
        message = make_message(backend, "QUEUED")
        barrier = threading.Barrier(2)
        results = []

        def claim(message_id=message.id, barrier=barrier, results=results):
            barrier.wait()
            results.append(move_one(message_id, "QUEUED", "SENDING", "claimed"))

        threads = [threading.Thread(target=claim) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(results) == [False, True]
        assert Event.select().where(Event.message == message.id).count() == 1
