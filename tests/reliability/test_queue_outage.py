"""The queue unreachable (Redis down, say) while people submit and resend: every call is answered
as usual, everything is stored, and once the queue is back the sweep sends the messages and
starts the jobs, each job once however often it is handed to the worker."""

import json
from datetime import timedelta

from shared.models import Backend, Job, Message, now
from shared.outbox import create_message
from shared.tokens import create_token
from tests.conftest import csrf_token_from, log_in, wait_for
from tests.servers import free_port


def test_an_unreachable_queue_loses_no_message_and_no_job(
    app, support_user, smtp_sink, start_worker, record_property
):
    from worker import tasks
    from worker.queue import huey, make_huey

    Backend.create(
        name="office", channel="email", url=f"smtp://127.0.0.1:{smtp_sink.port}", is_default=True
    )
    failed = []
    for i in range(3):
        message = create_message("email", f"late{i}@example.com", "Statement", "Dear client")
        failed.append(message)
    Message.update(state="FAILED", created_at=now() - timedelta(hours=2)).where(
        Message.id.in_([m.id for m in failed])
    ).execute()
    _, secret = create_token("core banking")
    api = app.test_client()
    bearer = {"Authorization": f"Bearer {secret}", "Content-Type": "application/json"}
    console = app.test_client()
    log_in(console, support_user.email)

    working_queue = huey.storage
    huey.storage = make_huey(f"redis://127.0.0.1:{free_port()}/0").storage  # nobody listens
    try:
        submitted = api.post(
            "/api/messages",
            data=json.dumps({"channel": "email", "recipient": "new@example.com", "subject": "Hi"}),
            headers=bearer,
        )
        window = {"startDate": (now() - timedelta(days=1)).isoformat() + "Z"}
        window["endDate"] = now().isoformat() + "Z"
        resent = api.post(
            "/api/communications/messages:resendAsyncByDate",
            data=json.dumps(window),
            headers=bearer,
        )
        page = console.get("/messages/new").get_data(as_text=True)
        composed = console.post(
            "/messages/new",
            data={
                "channel": "email",
                "to_kind": "user",
                "user": str(support_user.id),
                "subject": "By hand",
                "body": "Dear you",
                "csrf_token": csrf_token_from(page),
            },
        )
    finally:
        huey.storage = working_queue
    assert submitted.status_code == 202, submitted.get_data(as_text=True)
    assert resent.status_code == 200 and resent.get_json()["count"] == 3
    assert composed.status_code == 302
    job = Job.get_by_id(resent.get_json()["job"])
    assert job.state == "pending"
    assert Message.select().where(Message.state == "QUEUED").count() == 2

    # the queue is back; a minute on, the sweep finds the messages and the job nobody started,
    # and hands the job over twice (as a lost task's sweep and a late task would): it runs once
    Job.update(created_at=now() - timedelta(minutes=2)).where(Job.id == job.id).execute()
    done = tasks.run_sweep()
    assert done["jobs_started"] == 1 and done["due"] == 2
    tasks.start_job(job)
    start_worker("--no-periodic")
    wait_for(lambda: Job.get_by_id(job.id).state == "done", what="the job done")
    wait_for(lambda: len(smtp_sink.handler.messages) >= 5, what="every message sent")
    received = sorted(rcpt for _, (rcpt,), _ in smtp_sink.handler.messages)
    assert received == [
        "late0@example.com",
        "late1@example.com",
        "late2@example.com",
        "new@example.com",
        "support@example.com",
    ]
    assert Message.select().where(Message.resend_of.is_null(False)).count() == 3  # not 6
    assert Job.get_by_id(job.id).done == 3
    record_property("answered while the queue was away", 3)
    record_property("messages sent once it was back", len(received))
