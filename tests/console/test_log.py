"""The communications log page."""

import re

from shared.models import Backend, Message
from shared.outbox import create_message


def add_messages(count, **fields):
    backend = Backend.get_or_none(Backend.name == "mail") or Backend.create(
        name="mail", channel="email", url="smtp://127.0.0.1:25", is_default=True
    )
    return [
        create_message(
            "email", f"client{i}@example.com", f"Subject {i}", "Body", backend=backend, **fields
        )
        for i in range(count)
    ]


def test_the_log_lists_messages_newest_first_with_sender_or_system(support_client, support_user):
    add_messages(1)
    add_messages(1, sender=support_user)
    html = support_client.get("/log").get_data(as_text=True)
    assert html.index("client0@example.com") > html.index("Sam Support")
    assert "System" in html
    assert "Queued" in html  # the state's label, not its code


def test_an_empty_log_says_how_to_start(support_client):
    assert "No messages yet" in support_client.get("/log").get_data(as_text=True)


def test_pages_are_keyset_paged_without_gaps_or_repeats(support_client):
    add_messages(120)
    seen, url = [], "/log"
    while url:
        response = support_client.get(url, headers={"HX-Request": "true"} if seen else {})
        html = response.get_data(as_text=True)
        seen += [int(n) for n in re.findall(r"client(\d+)@example.com", html)]
        marker = re.search(r'hx-get="(/log\?before=\d+)"', html)
        url = marker.group(1) if marker else None
    assert seen == list(range(119, -1, -1))


def test_htmx_gets_only_the_rows_and_responses_vary_on_it(support_client):
    add_messages(3)
    full = support_client.get("/log")
    fragment = support_client.get("/log", headers={"HX-Request": "true"})
    assert "<html" in full.get_data(as_text=True)
    assert "<html" not in fragment.get_data(as_text=True)
    assert "client2@example.com" in fragment.get_data(as_text=True)
    assert "HX-Request" in fragment.headers["Vary"]


def test_text_in_messages_is_escaped(support_client):
    add_messages(1)
    Message.update(subject="<script>alert(1)</script>").execute()
    html = support_client.get("/log").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_a_bad_before_value_is_ignored_not_an_error(support_client):
    assert support_client.get("/log?before=abc").status_code == 200
