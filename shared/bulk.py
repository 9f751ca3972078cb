"""Resending or cancelling many messages at once: chosen rows, every message matching the
log's filters, or (for Mambu's resendAsyncByDate) the unresolved failures created in a window.
Small batches run at once; big ones run in the worker as a Job with progress."""

from datetime import datetime

from werkzeug.datastructures import MultiDict

from shared.actions import ActionError, cancel, resend, unresolved_failures
from shared.log_filters import LogFilter
from shared.models import Job, Message, User, claim_job, now
from shared.states import CANCELLABLE, RESENDABLE

ACTIONS = {"resend": RESENDABLE, "cancel": CANCELLABLE}
INLINE_LIMIT = 100  # more than this runs in the worker, with a progress bar
CHUNK = 200


class BulkError(ValueError):
    pass


def targets(action: str, uids: list[str], filter_args: list[tuple[str, str]] | None):
    """The messages the action applies to: the chosen uids, or all matching the filters;
    only those in a state the action allows."""
    if action not in ACTIONS:
        raise BulkError("Choose resend or cancel.")
    query = Message.select().where(Message.state.in_(ACTIONS[action]))
    if filter_args is not None:
        log_filter = LogFilter.from_args(MultiDict(filter_args))
        if log_filter.errors:
            raise BulkError(log_filter.errors[0])
        query = log_filter.apply(query)
    elif uids:
        query = query.where(Message.uid.in_(uids[:10_000]))
    else:
        raise BulkError("Select some messages first.")
    return query.order_by(Message.id)


def window_failures(start: datetime, end: datetime, channels: list[str] | None):
    """The unresolved failures created from `start` to `end`, on `channels` (None: all)."""
    query = unresolved_failures(since=start).where(Message.created_at <= end)
    if channels is not None:
        query = query.where(Message.channel.in_(channels))
    return query


def start_window_job(start: datetime, end: datetime, channels, actor, api_token) -> Job:
    """A job resending every unresolved failure of the window, as made through the API with
    `api_token` (the caller enqueues it once this is committed)."""
    return Job.create(
        kind="bulk_resend",
        user=actor,
        total=window_failures(start, end, channels).count(),
        params={
            "action": "resend",
            "window": [start.isoformat(), end.isoformat(), channels],
            "api_token": api_token,
        },
    )


def apply(action: str, messages, actor: User | None) -> tuple[list[Message], int]:
    """Resend or cancel each; returns (new or changed messages to wake, how many were done)."""
    made, done = [], 0
    for message in messages:
        try:
            if action == "resend":
                made.append(resend(message, actor=actor))
            elif not cancel(message, actor=actor):
                continue
        except ActionError:
            continue  # it moved on meanwhile (e.g. it was sent): leave it
        done += 1
    return made, done


def start_job(action: str, uids: list[str], filter_args, actor: User, total: int) -> Job:
    return Job.create(
        kind=f"bulk_{action}",
        user=actor,
        total=total,
        params={"action": action, "uids": uids, "filter_args": filter_args},
    )


def run_job(job_id: int, wake) -> None:
    """Run a bulk job in chunks, recording progress; `wake` hands new messages to the worker."""
    job = Job.get_by_id(job_id)
    if not claim_job(job):
        return
    params = job.params
    try:
        if "window" in params:
            start, end, channels = params["window"]
            window = datetime.fromisoformat(start), datetime.fromisoformat(end), channels
            query = window_failures(*window)
        else:
            query = targets(params["action"], params["uids"], params["filter_args"])
        last_id, done = 0, 0
        while True:
            chunk = list(query.where(Message.id > last_id).limit(CHUNK))
            if not chunk:
                break
            made, count = apply(params["action"], chunk, job.user)
            if params.get("api_token") and made:
                # made through the API: the token's messages, as a resend by key makes them
                Message.update(api_token=params["api_token"]).where(
                    Message.id.in_([m.id for m in made])
                ).execute()
            wake(made)
            done += count
            last_id = chunk[-1].id
            Job.update(done=done).where(Job.id == job.id).execute()
    except Exception as exc:  # the page must say it failed, not spin forever
        Job.update(state="failed", error=str(exc)[:500], finished_at=now()).where(
            Job.id == job.id
        ).execute()
        raise
    Job.update(state="done", done=done, finished_at=now()).where(Job.id == job.id).execute()
