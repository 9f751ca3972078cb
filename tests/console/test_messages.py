"""One message's pages and actions, bulk actions, compose, the people pages and the dashboard."""

import pytest

from shared import bulk
from shared.diagnosis import diagnose
from shared.models import Attempt, Backend, Client, Event, Group, Job, Message, User, now
from shared.outbox import create_message
from tests.conftest import csrf_token_from, log_in

RESULTS = {"HX-Request": "true", "HX-Target": "log-results"}


@pytest.fixture
def backend(database):
    return Backend.create(
        name="office", channel="email", url="smtp://127.0.0.1:25", is_default=True
    )


@pytest.fixture
def failed(backend):
    message = create_message(
        "email", "bob@exmaple.com", "Statement", "Dear Bob", body_html="<p>Dear <b>Bob</b></p>"
    )
    Attempt.create(
        message=message,
        number=1,
        outcome="permanent_error",
        smtp_code=550,
        response="The address does not exist (550 5.1.1 No such user)",
    )
    Message.update(
        state="FAILED",
        attempts=1,
        state_reason="Refused for good: The address does not exist (550 5.1.1)",
    ).where(Message.id == message.id).execute()
    return Message.get_by_id(message.id)


def token(client):
    return csrf_token_from(client.get("/log").get_data(as_text=True))


def test_the_detail_page_explains_a_bounce_and_offers_a_corrected_resend(support_client, failed):
    html = support_client.get(f"/messages/{failed.uid}").get_data(as_text=True)
    assert "Why wasn&#39;t this delivered?" in html
    assert (
        "The address does not exist" in html
        and "correct it and resend it from the message&#39;s page" in html
    )
    assert 'name="recipient" value="bob@exmaple.com"' in html
    # the HTML, escaped into a sandboxed iframe, under a strict policy of its own
    assert 'sandbox srcdoc="&lt;meta http-equiv=&#34;Content-Security-Policy&#34;' in html
    assert '&lt;p&gt;Dear &lt;b&gt;Bob&lt;/b&gt;&lt;/p&gt;"' in html
    assert 'name="backend"' not in html  # only admins pick a backend


def test_resend_to_a_corrected_address_keeps_the_original(support_client, support_user, failed):
    response = support_client.post(
        f"/messages/{failed.uid}/resend",
        data={"csrf_token": token(support_client), "recipient": "bob@example.com"},
    )
    copy = Message.get(Message.resend_of == failed.id)
    assert response.headers["Location"] == f"/messages/{copy.uid}"
    assert (copy.recipient, copy.sender_id, copy.state) == (
        "bob@example.com",
        support_user.id,
        "QUEUED",
    )
    original = Message.get_by_id(failed.id)
    assert (original.state, original.recipient, original.attempts) == (
        "FAILED",
        "bob@exmaple.com",
        1,
    )
    chain = support_client.get(f"/messages/{copy.uid}").get_data(as_text=True)
    assert "Resend of" in chain and failed.uid in chain
    back = support_client.get(f"/messages/{failed.uid}").get_data(as_text=True)
    assert "Resent as" in back and copy.uid in back


def test_a_bad_corrected_address_changes_nothing(support_client, failed):
    response = support_client.post(
        f"/messages/{failed.uid}/resend",
        data={"csrf_token": token(support_client), "recipient": "not an address"},
        follow_redirects=True,
    )
    assert "Not resent: The address has no @." in response.get_data(as_text=True)
    assert Message.select().count() == 1


def test_admins_may_resend_through_another_backend(client, admin_user, failed):
    log_in(client, admin_user.email)
    spare = Backend.create(name="spare", channel="email", url="smtp://127.0.0.1:26")
    client.post(
        f"/messages/{failed.uid}/resend", data={"csrf_token": token(client), "backend": spare.id}
    )
    assert Message.get(Message.resend_of == failed.id).backend_id == spare.id


def test_cancel_one_and_refuse_to_cancel_a_sent_one(support_client, backend, failed):
    queued = create_message("email", "a@example.com", "x", "y")
    support_client.post(
        f"/messages/{queued.uid}/cancel", data={"csrf_token": token(support_client)}
    )
    assert Message.get_by_id(queued.id).state == "CANCELLED"
    response = support_client.post(
        f"/messages/{failed.uid}/cancel",
        data={"csrf_token": token(support_client)},
        follow_redirects=True,
    )
    assert "Not cancelled" in response.get_data(as_text=True)
    assert Message.get_by_id(failed.id).state == "FAILED"


def test_downloads_are_the_message_as_sent(support_client, backend, failed):
    eml = support_client.get(f"/messages/{failed.uid}/download")
    assert eml.mimetype == "message/rfc822"
    assert f"Message-ID: <{failed.uid}@commlog>" in eml.get_data(as_text=True)
    sms = create_message(
        "sms",
        "+447911123456",
        "",
        "Code 1234",
        backend=Backend.create(name="t", channel="sms", url="https://x.example/"),
    )
    doc = support_client.get(f"/messages/{sms.uid}/download").get_json()
    assert doc["recipient"] == "+447911123456" and doc["body_text"] == "Code 1234"
    assert support_client.get("/messages/nope/download").status_code == 404


def test_the_preview_shows_the_whole_message_safely(support_client, failed):
    html = support_client.get(f"/messages/{failed.uid}/preview").get_data(as_text=True)
    assert "Dear Bob" in html and "<iframe" in html and "sandbox" in html
    assert html.count("550 5.1.1 No such user") == 1 and "<html" not in html


def test_bulk_resend_of_chosen_rows_confirms_then_does_it(support_client, backend, failed):
    other = create_message("email", "c@example.com", "x", "y")
    Message.update(state="FAILED").where(Message.id == other.id).execute()
    queued = create_message("email", "q@example.com", "x", "y")
    csrf = token(support_client)
    data = {"csrf_token": csrf, "action": "resend", "uid": [failed.uid, other.uid, queued.uid]}
    confirm = support_client.post(
        "/messages/bulk/confirm", data=data, headers={"HX-Request": "true"}
    ).get_data(as_text=True)
    assert "Resend 2 messages?" in confirm
    assert "bob@exmaple.com" in confirm and "q@example.com" not in confirm
    assert Message.select().count() == 3
    done = support_client.post("/messages/bulk", data=data).get_data(as_text=True)
    assert "Resent 2 of 2 messages" in done
    assert Message.select().where(Message.resend_of.is_null(False)).count() == 2


def test_bulk_cancel_of_all_matching_a_filter(support_client, backend):
    for i in range(3):
        create_message("email", f"x{i}@example.com", "Offer", "y")
    create_message("email", "keep@example.com", "Other", "y")
    data = {
        "csrf_token": token(support_client),
        "action": "cancel",
        "all_matching": "1",
        "f_q": "Offer",
    }
    confirm = support_client.post("/messages/bulk/confirm", data=data).get_data(as_text=True)
    assert "Cancel 3 messages?" in confirm
    support_client.post("/messages/bulk", data=data)
    assert Message.select().where(Message.state == "CANCELLED").count() == 3
    assert Message.get(Message.recipient == "keep@example.com").state == "QUEUED"


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ({"action": "resend"}, "Select some messages first"),
        ({"action": "explode", "uid": "x"}, "Choose resend or cancel"),
        ({"action": "resend", "all_matching": "1", "f_created_from": "soon"}, "is not a date"),
    ],
)
def test_bulk_refuses_nonsense_plainly(support_client, backend, data, words):
    html = support_client.post(
        "/messages/bulk/confirm", data={"csrf_token": token(support_client), **data}
    ).get_data(as_text=True)
    assert words in html


def test_a_big_bulk_resend_runs_as_a_job_with_progress(support_client, support_user, backend):
    rows = [
        dict(
            uid=f"{i:032x}",
            channel="email",
            recipient=f"c{i}@example.com",
            backend=backend.id,
            state="FAILED",
            metadata={},
        )
        for i in range(150)
    ]
    Message.insert_many(rows).execute()
    data = {
        "csrf_token": token(support_client),
        "action": "resend",
        "all_matching": "1",
        "f_state": "FAILED",
    }
    html = support_client.post("/messages/bulk", data=data).get_data(as_text=True)
    job = Job.get()
    assert (job.total, job.state, job.user_id) == (150, "pending", support_user.id)
    assert "every 1s" in html and "0 of 150 so far" in html
    bulk.run_job(job.id, wake=lambda messages: None)  # what the worker task does
    html = support_client.get(f"/messages/jobs/{job.id}").get_data(as_text=True)
    assert "Done: 150 of 150" in html and "every 1s" not in html
    assert Message.select().where(Message.resend_of.is_null(False)).count() == 150


def test_compose_sends_in_the_staff_members_name(support_client, support_user, backend):
    ana = Client.create(name="Ana Lima", email="ana@example.com")
    page = support_client.get(f"/messages/new?client={ana.id}").get_data(as_text=True)
    assert f'<option selected value="{ana.id}">Ana Lima</option>' in page
    response = support_client.post(
        "/messages/new",
        data={
            "csrf_token": csrf_token_from(page),
            "channel": "email",
            "to_kind": "client",
            "client": ana.id,
            "group": 0,
            "user": 0,
            "subject": "Hello",
            "body": "Dear Ana",
        },
    )
    message = Message.get()
    assert response.headers["Location"] == f"/messages/{message.uid}"
    assert (message.recipient, message.sender_id, message.client_id, message.kind) == (
        "ana@example.com",
        support_user.id,
        ana.id,
        "manual",
    )


def test_compose_says_what_is_missing(support_client, backend):
    ana = Client.create(name="Ana Lima", email="ana@example.com")
    page = support_client.get("/messages/new").get_data(as_text=True)
    base = {
        "csrf_token": csrf_token_from(page),
        "to_kind": "client",
        "client": ana.id,
        "group": 0,
        "user": 0,
        "subject": "Hi",
        "body": "x",
    }
    no_phone = support_client.post("/messages/new", data={**base, "channel": "sms"})
    assert no_phone.status_code == 400
    assert "Ana Lima has no phone number" in no_phone.get_data(as_text=True)
    nobody = support_client.post("/messages/new", data={**base, "channel": "email", "client": 0})
    assert "Choose the client" in nobody.get_data(as_text=True)
    assert Message.select().count() == 0


def test_people_pages_show_their_messages_as_mambu_does(
    support_client, support_user, backend, admin_user
):
    ana = Client.create(name="Ana Lima", email="ana@example.com")
    savers = Group.create(name="Savers", contact_email="savers@example.com")
    create_message("email", "ana@example.com", "Auto", "x", client=ana)
    create_message("email", "ana@example.com", "By hand", "x", client=ana, sender=support_user)
    create_message("email", "savers@example.com", "Meeting", "x", group=savers)
    create_message("email", "admin@example.com", "Alert", "x", user=admin_user)
    create_message("email", "someone@example.com", "Sent by admin", "x", sender=admin_user)
    create_message(
        "email", "admin@example.com", "By hand to admin", "x", user=admin_user, sender=support_user
    )

    client_page = support_client.get(f"/clients/{ana.id}").get_data(as_text=True)
    assert "Ana Lima" in client_page and "Queued: 2" in client_page
    assert client_page.count('class="recipient"') == 2
    group_page = support_client.get(f"/groups/{savers.id}").get_data(as_text=True)
    assert group_page.count('class="recipient"') == 1 and "Savers" in group_page
    user_page = support_client.get(f"/users/{admin_user.id}").get_data(as_text=True)
    # what the admin sent by hand, and automated messages to the admin; not others' manual ones
    assert "Sent by admin" in user_page and "Alert" in user_page
    assert "By hand to admin" not in user_page
    filtered = support_client.get(f"/clients/{ana.id}?sender=system", headers=RESULTS)
    assert filtered.get_data(as_text=True).count('class="recipient"') == 1
    for path in ("/clients/999", "/groups/999", "/users/999"):
        assert support_client.get(path).status_code == 404


def test_the_dashboard_counts_and_charts(support_client, backend, failed):
    create_message("email", "a@example.com", "x", "y")
    Message.update(sent_at=now(), state="SENT").where(
        Message.recipient == "a@example.com"
    ).execute()
    html = support_client.get("/").get_data(as_text=True)
    assert "Sent and failed, per hour" in html and "<svg" in html
    assert "1 sent</title>" in html and "1 failed</title>" in html
    assert "No worker is running" in html


def test_an_expired_session_gets_a_401_fragment_for_htmx(client, database):
    response = client.get("/log", headers=RESULTS)
    assert response.status_code == 401 and "session has ended" in response.get_data(as_text=True)
    assert client.get("/log").status_code == 302


def test_pages_carry_a_content_security_policy_without_scripts_from_elsewhere(support_client):
    csp = support_client.get("/log").headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-eval" not in csp and "object-src 'none'" in csp


def test_every_staff_action_is_in_the_event_trail(support_client, support_user, failed):
    support_client.post(
        f"/messages/{failed.uid}/resend", data={"csrf_token": token(support_client)}
    )
    support_client.get(f"/messages/{failed.uid}/download")
    actions = {e.action for e in Event.select().where(Event.actor == support_user.id)}
    assert {"resend", "download"} <= actions


def test_diagnosis_covers_every_state(backend):
    for state in (
        "WAITING",
        "QUEUED",
        "SENDING",
        "SENT",
        "DELIVERED",
        "FAILED",
        "NOT_SENT",
        "BACKEND_TEST_REQUIRED",
        "CANCELLED",
    ):
        message = create_message("email", "a@example.com", "x", "y")
        Message.update(state=state).where(Message.id == message.id).execute()
        d = diagnose(Message.get_by_id(message.id))
        assert d.headline and d.next_step and d.tone in ("ok", "waiting", "held", "bad"), state
    assert User.select().count() == 0
