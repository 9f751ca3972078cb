"""The communications log page: listing, every filter, paging, columns, row refresh."""

import re
from datetime import timedelta

import pytest

from shared.models import Backend, Client, Group, Message, User, UserPreference, now
from shared.outbox import create_message
from tests.conftest import csrf_token_from

RESULTS = {"HX-Request": "true", "HX-Target": "log-results"}


def recipients(html: str) -> list[str]:
    return re.findall(r'class="recipient">([^<]+)<', html)


@pytest.fixture
def backend(database):
    return Backend.create(
        name="office", channel="email", url="smtp://127.0.0.1:25", is_default=True
    )


@pytest.fixture
def sample(backend, support_user):
    """A small, varied log: one message per line, with known attributes."""
    sms = Backend.create(
        name="texts", channel="sms", url="https://sms.example/send", is_default=True
    )
    ana = Client.create(name="Ana Lima", email="ana@example.com")
    savers = Group.create(name="Savers", contact_email="savers@example.com")
    rows = {
        "sent": create_message(
            "email",
            "ana@example.com",
            "Repayment due",
            "Pay 120 EUR",
            kind="loan.repayment_due",
            client=ana,
        ),
        "failed": create_message(
            "email",
            "bob@example.com",
            "Statement",
            "Your statement",
            kind="account.statement",
            sender=support_user,
        ),
        "sms": create_message(
            "sms",
            "+447911123456",
            "",
            "Your code is 4711",
            kind="account.password_reset",
            backend=sms,
        ),
        "group": create_message(
            "email",
            "savers@example.com",
            "Meeting",
            "Thursday at 6",
            kind="group.meeting_reminder",
            group=savers,
        ),
    }
    Message.update(state="SENT", sent_at=now()).where(Message.id == rows["sent"].id).execute()
    Message.update(state="FAILED", state_reason="550 5.1.1 No such user").where(
        Message.id == rows["failed"].id
    ).execute()
    # the first message is 40 days old (ids follow created_at, as the outbox stamps them)
    old = now() - timedelta(days=40)
    Message.update(created_at=old).where(Message.id == rows["sent"].id).execute()
    return rows


def test_the_log_lists_messages_newest_first_with_sender_or_system(support_client, sample):
    html = support_client.get("/log").get_data(as_text=True)
    assert recipients(html) == [
        "savers@example.com",
        "+447911123456",
        "bob@example.com",
        "ana@example.com",
    ]
    assert "Sam Support" in html and "System" in html
    assert "4 messages" in html


def test_an_empty_log_says_so(support_client, database):
    assert "No messages yet" in support_client.get("/log").get_data(as_text=True)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("state=SENT", ["ana@example.com"]),
        ("state=SENT&state=FAILED", ["bob@example.com", "ana@example.com"]),
        ("channel=sms", ["+447911123456"]),
        ("sender=system", ["savers@example.com", "+447911123456", "ana@example.com"]),
        ("kind=loan.repayment_due", ["ana@example.com"]),
        ("q=statement", ["bob@example.com"]),
        ("q=4711", ["+447911123456"]),
        ("q=SAVERS", ["savers@example.com"]),
        ("q=nothing-like-this", []),
        ("state=QUEUED&channel=email", ["savers@example.com"]),
        ("state=QUEUED&channel=email&q=meeting", ["savers@example.com"]),
    ],
)
def test_each_filter_and_combinations(support_client, sample, query, expected):
    html = support_client.get(f"/log?{query}", headers=RESULTS).get_data(as_text=True)
    assert recipients(html) == expected


def test_search_reads_an_html_body_as_its_visible_text(support_client, backend):
    create_message(
        "email",
        "html-only@example.com",
        "Card notice",
        body_html='<p class="warning-box">Your card was <b>blocked</b></p><script>track()</script>',
    )
    create_message("email", "plain@example.com", "Other", "nothing to see")
    for query, expected in {
        "q=card+was+blocked": ["html-only@example.com"],  # the words, across the tags
        "q=warning-box": [],  # an attribute is not text
        "q=track()": [],  # nor is a script
    }.items():
        html = support_client.get(f"/log?{query}", headers=RESULTS).get_data(as_text=True)
        assert recipients(html) == expected, query


def test_filters_by_person_backend_and_dates(support_client, sample, support_user):
    client_id = sample["sent"].client_id
    group_id = sample["group"].group_id
    backend_id = sample["sms"].backend_id
    today = now().date()
    cases = {
        f"client={client_id}": ["ana@example.com"],
        f"group={group_id}": ["savers@example.com"],
        f"backend={backend_id}": ["+447911123456"],
        f"sender={support_user.id}": ["bob@example.com"],
        f"created_from={today}": ["savers@example.com", "+447911123456", "bob@example.com"],
        f"created_to={today - timedelta(days=30)}": ["ana@example.com"],
        f"sent_from={today}&sent_to={today}": ["ana@example.com"],
    }
    for query, expected in cases.items():
        html = support_client.get(f"/log?{query}", headers=RESULTS).get_data(as_text=True)
        assert recipients(html) == expected, query


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("created_from=2026-13-45", "is not a date: use YYYY-MM-DD"),
        ("created_from=yesterday", "is not a date"),
        ("state=LOST", "There is no state called “LOST”"),
        ("channel=fax", "There is no channel called “fax”"),
        ("client=abc", "The client must be chosen from the list"),
        ("q=ab", "Type at least 3 characters"),
        ("created_from=2026-02-01&created_to=2026-01-01", "ends before it starts"),
        ("sender=%00%ff", "The sender must be a staff member or System"),
    ],
)
def test_bad_filter_values_get_a_plain_message_never_a_500(support_client, sample, query, words):
    response = support_client.get(f"/log?{query}")
    assert response.status_code == 200
    assert words in response.get_data(as_text=True)


def test_a_failure_resolved_by_a_resend_is_hidden_unless_asked_for(support_client, sample):
    failed = sample["failed"]
    fix = create_message("email", "bob@example.org", "Statement", "x", resend_of=failed)
    Message.update(resolved_by=fix.id).where(Message.id == failed.id).execute()
    html = support_client.get("/log?state=FAILED", headers=RESULTS).get_data(as_text=True)
    assert recipients(html) == []
    html = support_client.get("/log?state=FAILED&resolved=1", headers=RESULTS).get_data(
        as_text=True
    )
    assert recipients(html) == ["bob@example.com"] and "resolved by resend" in html


def test_pages_are_keyset_paged_without_gaps_or_repeats(support_client, backend):
    for i in range(120):
        create_message("email", f"client{i}@example.com", f"Subject {i}", "Body")
    seen, url = [], "/log?channel=email"
    while url:
        html = support_client.get(url, headers=RESULTS).get_data(as_text=True)
        seen += [int(r[6:-12]) for r in recipients(html)]
        marker = re.search(r'hx-get="(/log\?[^"]*before=\d+)"', html)
        url = marker.group(1).replace("&amp;", "&") if marker else None
        assert "channel=email" in (url or "channel=email")  # the filters stay on every page
    assert seen == list(range(119, -1, -1))
    assert "1,000+" not in html
    newer = support_client.get(
        "/log?after=" + str(Message.get(Message.recipient == "client10@example.com").id),
        headers=RESULTS,
    ).get_data(as_text=True)
    assert recipients(newer)[-1] == "client11@example.com"


def test_the_count_stops_at_a_thousand(support_client, backend):
    rows = [
        dict(
            uid=f"{i:032x}",
            channel="email",
            recipient=f"c{i}@example.com",
            backend=backend.id,
            state="SENT",
            metadata={},
        )
        for i in range(1001)
    ]
    Message.insert_many(rows).execute()
    assert "1,000+ messages" in support_client.get("/log").get_data(as_text=True)


def test_htmx_gets_only_the_results_and_responses_vary_on_it(support_client, sample):
    full = support_client.get("/log")
    fragment = support_client.get("/log", headers=RESULTS)
    assert "<html" in full.get_data(as_text=True)
    assert "<html" not in fragment.get_data(as_text=True)
    assert "ana@example.com" in fragment.get_data(as_text=True)
    assert "HX-Request" in fragment.headers["Vary"]


def test_text_in_messages_is_escaped(support_client, sample):
    Message.update(subject="<script>alert(1)</script>").execute()
    html = support_client.get("/log").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_the_chosen_columns_are_remembered_per_user(support_client, support_user, sample):
    token = csrf_token_from(support_client.get("/log").get_data(as_text=True))
    support_client.post(
        "/log/columns", data={"csrf_token": token, "column": ["state", "kind", "client", "bogus"]}
    )
    assert UserPreference.get(UserPreference.user == support_user.id).log_columns == [
        "state",
        "kind",
        "client",
    ]
    html = support_client.get("/log").get_data(as_text=True)
    head = html[html.index("<thead>") : html.index("</thead>")]
    assert re.findall(r'<th scope="col">([^<]+)</th>', head) == ["State", "Client", "Type"]
    assert "loan.repayment_due" in html and "Ana Lima" in html


def test_unfinished_rows_refresh_their_state_and_stop_when_finished(support_client, sample):
    html = support_client.get("/log").get_data(as_text=True)
    assert html.count('hx-trigger="every 4s"') == 2  # the two QUEUED ones
    uid = sample["group"].uid
    cell = support_client.get(f"/log/state/{uid}").get_data(as_text=True)
    assert "Queued" in cell and "every 4s" in cell
    Message.update(state="SENT").where(Message.uid == uid).execute()
    cell = support_client.get(f"/log/state/{uid}").get_data(as_text=True)
    assert "Sent" in cell and "every" not in cell
    assert support_client.get("/log/state/nope").status_code == 404


def test_staff_filter_lists_every_staff_member(support_client, sample, admin_user):
    html = support_client.get("/log").get_data(as_text=True)
    for user in User.select():
        assert f'<option value="{user.id}"' in html
