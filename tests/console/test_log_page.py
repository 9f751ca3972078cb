"""The log's fast page queries (shared/log_page.py) find exactly what the plain filter finds
(`LogFilter.apply`, which the export and bulk actions use), page after page, both ways, for
every kind of filter and their combinations, on a varied log."""

import random
from datetime import timedelta

import pytest
from werkzeug.datastructures import MultiDict

from shared import log_page
from shared.db import db, insert_rows
from shared.log_filters import LogFilter, person_condition
from shared.log_page import capped_count, first_page, message_kinds, page_ids, state_counts
from shared.models import Backend, Client, Group, Message, User, now
from shared.search import rebuild_search_index
from shared.states import STATES
from shared.users import create_user
from tests.conftest import sqlite_only

WORDS = ["payment", "statement", "meeting", "reminder", "code", "Çelik", "okafor"]


@pytest.fixture
def varied_log(database, monkeypatch):
    """600 messages over 20 days in every state, ids in created_at order as the outbox makes
    them; small text windows so that searches walk many of them."""
    monkeypatch.setattr(log_page, "FIRST_WINDOW", 4)
    monkeypatch.setattr(log_page, "MAX_WINDOW", 64)
    monkeypatch.setattr(log_page, "SMALL_SENT_WINDOW", 30)
    rng = random.Random(7)
    staff = [
        create_user(f"s{i}@example.com", "support", "pw-123456789", f"Staff {i}") for i in (1, 2)
    ]
    clients = [Client.create(name=f"Client {i}") for i in range(4)]
    groups = [Group.create(name=f"Group {i}") for i in range(3)]
    backends = [
        Backend.create(name=f"b{i}", channel="email", url="smtp://127.0.0.1:25") for i in (1, 2)
    ]
    start = now() - timedelta(days=20)
    rows = []
    for i in range(600):
        created = start + timedelta(minutes=48 * i)
        state = rng.choice(list(STATES))
        rows.append(
            {
                "uid": f"m{i:04d}",
                "channel": rng.choice(["email", "sms", "webhook"]),
                "recipient": f"{rng.choice(WORDS)}{i}@example.com",
                "subject": f"About {rng.choice(WORDS)}",
                "body_text": f"Text {rng.choice(WORDS)} {i}",
                "kind": rng.choice(["loan.due", "manual", "group.meeting"]),
                "sender": rng.choice([None, None, staff[0].id, staff[1].id]),
                "client": rng.choice([None, *[c.id for c in clients]]),
                "group": rng.choice([None, None, *[g.id for g in groups]]),
                "user": rng.choice([None, None, staff[0].id, staff[1].id]),
                "backend": rng.choice([b.id for b in backends]),
                "state": state,
                "state_reason": "",
                "created_at": created,
                # sent hours to days later, so sent order differs from created order
                "sent_at": created + timedelta(hours=rng.choice([0, 3, 30, 100]))
                if state in ("SENT", "DELIVERED", "FAILED")
                else None,
                "metadata": {},
            }
        )
    insert_rows(Message, rows)
    rebuild_search_index()
    failed = list(Message.select().where(Message.state == "FAILED").order_by(Message.id))
    for original, fix in zip(failed[::3], failed[1::3], strict=False):
        Message.update(resolved_by=fix.id).where(Message.id == original.id).execute()
    return {"staff": staff, "clients": clients, "groups": groups, "backends": backends}


def filters(log) -> list[str]:
    day = lambda n: (now() - timedelta(days=n)).date().isoformat()  # noqa: E731
    staff, client, group = log["staff"][0].id, log["clients"][1].id, log["groups"][0].id
    backend = log["backends"][1].id
    return [
        "",
        "state=FAILED",
        "state=FAILED&resolved=1",
        "state=SENT&state=DELIVERED",
        "state=FAILED&state=NOT_SENT&state=BACKEND_TEST_REQUIRED",
        "channel=sms",
        "sender=system",
        f"sender={staff}",
        f"client={client}",
        f"group={group}",
        f"user={staff}",
        f"backend={backend}",
        "kind=loan.due",
        f"created_from={day(5)}",
        f"created_to={day(15)}",
        f"created_from={day(12)}&created_to={day(10)}",
        f"sent_from={day(3)}",
        f"sent_to={day(8)}",
        f"sent_from={day(9)}&sent_to={day(9)}",
        f"sent_from={day(19)}&sent_to={day(18)}",
        "q=payment",
        "q=okafor",
        "q=nothing-like-this",
        f"q=statement&state=FAILED&created_from={day(14)}",
        f"state=SENT&state=QUEUED&channel=email&sent_to={day(2)}",
        f"client={client}&state=FAILED&state=WAITING",
        f"q=meeting&sender=system&kind=group.meeting&created_to={day(4)}",
    ]


def expected_ids(query: str, person=None) -> list[int]:
    plain = LogFilter.from_args(MultiDict(_pairs(query))).apply(
        Message.select(Message.id).order_by(Message.id.desc())
    )
    if person:
        plain = plain.where(person_condition(*person))
    return [i for (i,) in plain.tuples()]


def walk(log_filter, person, limit=7) -> tuple[list[int], list[int]]:
    """Every id, page by page down (older), then page by page back up (newer)."""
    down, before = [], None
    while True:
        ids, complete = page_ids(log_filter, person, before=before, limit=limit)
        assert complete
        down += ids
        if len(ids) < limit:
            break
        before = ids[-1]
    up, after = [], (down[-1] if down else None)
    while after is not None:
        ids, _ = page_ids(log_filter, person, after=after, limit=limit)
        up += ids
        if len(ids) < limit:
            break
        after = ids[-1]
    return down, up


def _pairs(query: str) -> list[tuple[str, str]]:
    return [tuple(p.split("=", 1)) for p in query.split("&") if p]


def people(log) -> list:
    staff = log["staff"][1].id
    return [None, ("client", log["clients"][2].id), ("group", log["groups"][1].id), ("user", staff)]


def test_every_filter_pages_exactly_like_the_plain_query(varied_log):
    checked = 0
    for query in filters(varied_log):
        log_filter = LogFilter.from_args(MultiDict(_pairs(query)))
        assert not log_filter.errors, query
        for person in people(varied_log):
            want = expected_ids(query, person)
            down, up = walk(log_filter, person)
            assert down == want, (query, person)
            assert up == list(reversed(want[:-1])), (query, person)
            n, exact = capped_count(log_filter, person, cap=50)
            assert (n, exact) == ((len(want), True) if len(want) <= 50 else (51, False))
            checked += 1
    assert checked == len(filters(varied_log)) * 4


def test_the_first_page_and_its_count_share_their_reads_and_agree(varied_log, monkeypatch):
    monkeypatch.setattr(log_page, "COUNT_BUDGET", 40)  # text counts stop early: "N+"
    for query in filters(varied_log):
        log_filter = LogFilter.from_args(MultiDict(_pairs(query)))
        for person in people(varied_log):
            want = expected_ids(query, person)
            ids, n, exact = first_page(log_filter, person, 10, 30)
            assert ids == want[:11], (query, person)
            if exact:
                assert n == len(want) <= 30, (query, person)
            else:
                assert n <= len(want) and (n > 30 or log_filter.q), (query, person)


def test_filters_with_matches_are_not_trivially_empty(varied_log):
    """The comparison above means something: most filters match several messages."""
    counts = [len(expected_ids(q)) for q in filters(varied_log)]
    assert sum(1 for n in counts if n >= 3) >= len(counts) - 3


# the budget bounds the reads of SQLite's FTS windows; PostgreSQL's trigram index query is
# bounded by the count's cap itself
@sqlite_only
def test_a_count_over_a_common_word_stops_at_its_budget(varied_log, monkeypatch):
    monkeypatch.setattr(log_page, "COUNT_BUDGET", 8)
    log_filter = LogFilter.from_args(MultiDict([("q", "example.com"), ("state", "CANCELLED")]))
    n, exact = capped_count(log_filter, None, cap=1000)
    assert not exact
    assert n <= len(expected_ids("q=example.com&state=CANCELLED"))


def test_state_counts_per_person_agree_with_a_plain_count(varied_log):
    for person in people(varied_log)[1:]:
        plain = {}
        for m in Message.select().where(person_condition(*person)):
            plain[m.state] = plain.get(m.state, 0) + 1
        assert state_counts(person) == plain
        assert sum(plain.values()) > 10


def test_a_log_with_no_messages_after_a_date_is_empty(varied_log):
    later = (now() + timedelta(days=10)).date().isoformat()  # the fixture sends up to 5 days on
    for query in (f"created_from={later}", f"sent_from={later}"):
        ids, _ = page_ids(LogFilter.from_args(MultiDict(_pairs(query))))
        assert ids == []
    assert User.select().count() == 2


def test_the_kinds_for_the_filter_bar_are_every_kind_there_is(varied_log):
    plain = sorted({m.kind for m in Message.select(Message.kind)})
    assert message_kinds() == plain == ["group.meeting", "loan.due", "manual"]


@sqlite_only
@pytest.mark.parametrize("made_last", ["message_state_id", "message_client_id_id_state"])
def test_a_person_and_a_state_search_the_persons_index_whatever_order_the_indexes_have(
    varied_log, made_last
):
    """SQLite's planner has no statistics: with a client and a state it took either index by
    the order they were made in (a table rebuild once flipped it, 3.6 → 107 ms at a million).
    The page asks for the client's index itself."""
    sql = next(i.sql for i in db.get_indexes("message") if i.name == made_last)
    db.execute_sql(f'DROP INDEX "{made_last}"')
    db.execute_sql(sql)
    client = Client.select().first().id
    for person, args in (
        (None, [("client", str(client)), ("state", "FAILED")]),
        (("client", client), [("state", "FAILED"), ("state", "SENT")]),
    ):
        log_filter = LogFilter.from_args(MultiDict(args))
        query = log_page._keyset(log_page._branches(log_filter, person, None, None), True, 51)
        plan = " ".join(
            row[-1]
            for row in db.execute_sql("EXPLAIN QUERY PLAN " + query.sql()[0], query.sql()[1])
        )
        assert "message_client_id_id_state" in plan and "message_state_id" not in plan, plan


def test_the_dashboard_counts_by_state_agree_with_a_plain_count(varied_log, monkeypatch):
    """Today's and the last 7 days' tiles (console/dashboard.py); each of the week's days before
    today is counted again once it is overdue, one day per request, the most overdue first."""
    from console import dashboard

    monkeypatch.setattr(dashboard, "_earlier_days", {})

    def plain(start, end=None):
        counts = {}
        query = Message.select(Message.state).where(Message.created_at >= start)
        if end:
            query = query.where(Message.created_at < end)
        for (state,) in query.tuples():
            counts[state] = counts.get(state, 0) + 1
        return counts

    today = now().replace(hour=0, minute=0, second=0, microsecond=0)
    week_start = today - timedelta(days=6)
    day_starts = [log_page.first_id_created_at(today - timedelta(days=k)) for k in range(6, -1, -1)]
    counts = dashboard.state_counts(day_starts[-1])
    assert counts == plain(today)
    week = dashboard.week_counts(day_starts, counts)
    assert week == plain(week_start) and sum(week.values()) > sum(counts.values()) > 0
    # a message of the oldest day changes state
    oldest = Message.get(Message.id == day_starts[0] + 1)
    new_state = "CANCELLED" if oldest.state != "CANCELLED" else "SENT"
    Message.update(state=new_state).where(Message.id == oldest.id).execute()
    assert dashboard.week_counts(day_starts, counts) == week  # counted a moment ago
    # every day overdue: a request counts one day again, yesterday first, the oldest least often
    monkeypatch.setattr(dashboard, "EARLIER_DAYS_FOR", 0)
    assert dashboard.week_counts(day_starts, counts) == week
    requests = 1
    while dashboard.week_counts(day_starts, counts) == week:
        requests += 1
        assert requests < 50, "the oldest day was never counted again"
    assert dashboard.week_counts(day_starts, counts) == plain(week_start) != week
    assert requests >= 5  # the five more recent days came first


@sqlite_only
def test_a_state_and_a_kind_are_led_by_the_index_of_the_sparser_of_the_two(varied_log):
    """SQLite's planner cannot tell a common kind from a rare one: the page counts each set
    among the newest ids and asks for the sparser set's index (failures of a kind nearly every
    message has: the failures'; of a kind three messages have: the kind's)."""
    rare = [m.id for m in Message.select().where(Message.state == "FAILED").limit(3)]
    Message.update(kind="bulk").execute()
    Message.update(kind="rare").where(Message.id.in_(rare)).execute()

    def plan(kind):
        log_filter = LogFilter.from_args(MultiDict([("kind", kind), ("state", "FAILED")]))
        query = log_page._keyset(log_page._branches(log_filter, None, None, None), True, 51)
        sql, params = query.sql()
        found = [row[-1] for row in db.execute_sql("EXPLAIN QUERY PLAN " + sql, params)]
        ids = [i for (i,) in db.execute_sql(sql, params)]
        return " ".join(found), ids

    used, ids = plan("bulk")
    assert "message_state_id" in used and "message_kind_id" not in used, used
    assert ids == expected_ids("kind=bulk&state=FAILED")
    used, ids = plan("rare")
    assert "message_kind_id" in used and "message_state_id" not in used, used
    assert ids == expected_ids("kind=rare&state=FAILED") and set(ids) <= set(rare) and ids
