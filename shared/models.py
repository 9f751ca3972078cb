"""Every model of commlog (SPEC §2). Models know the database only: no Flask, no Huey."""

import uuid
from datetime import UTC, datetime, timedelta

from peewee import (
    SQL,
    BooleanField,
    CharField,
    DateTimeField,
    FloatField,
    ForeignKeyField,
    IntegerField,
    JSONField,
    TextField,
)

from shared.db import BaseModel, db, is_sqlite

CHANNELS = ("email", "sms", "webhook")
ROLES = ("support", "admin")
HEALTH = ("UNTESTED", "OK", "FAILING", "TEST_REQUIRED")
OUTCOMES = (
    "sent",
    "transient_error",
    "permanent_error",
    "config_error",
    "invalid_recipient",
    "unknown",
)


def now() -> datetime:
    """The current time in UTC, naive, as every timestamp is stored."""
    return datetime.now(UTC).replace(tzinfo=None)


def new_uid() -> str:
    """A public, unguessable id (32 hex digits, like Mambu's encodedKey)."""
    return uuid.uuid4().hex


class Client(BaseModel):
    name = CharField()
    email = CharField(null=True)
    phone = CharField(null=True)
    created_at = DateTimeField(default=now)


class Group(BaseModel):
    """A group of clients, with a contact address of its own."""

    name = CharField()
    contact_email = CharField(null=True)
    contact_phone = CharField(null=True)
    created_at = DateTimeField(default=now)


class GroupMember(BaseModel):
    group = ForeignKeyField(Group, backref="members", on_delete="CASCADE")
    client = ForeignKeyField(Client, backref="memberships", on_delete="CASCADE")

    class Meta:
        indexes = ((("group", "client"), True),)


class User(BaseModel):
    """A staff member who logs in; also a recipient of automated messages."""

    email = CharField(unique=True)
    name = CharField()
    role = CharField(default="support")
    password_hash = CharField()
    active = BooleanField(default=True)
    phone = CharField(null=True)
    # bumped on password change, so that other sessions end
    session_version = IntegerField(default=1)
    created_at = DateTimeField(default=now)
    last_login_at = DateTimeField(null=True)

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    # what flask-login asks of a user object (kept here so the model need not import Flask)
    is_authenticated = True
    is_anonymous = False

    @property
    def is_active(self) -> bool:
        return self.active

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"


class Backend(BaseModel):
    """A gateway for one channel."""

    name = CharField(unique=True)
    channel = CharField()
    url = TextField()
    health = CharField(default="UNTESTED")
    health_since = DateTimeField(default=now)
    last_test_at = DateTimeField(null=True)
    last_error = TextField(null=True)
    failure_alert_emails = JSONField(default=list)
    is_default = BooleanField(default=False)
    fallback = ForeignKeyField("self", null=True, backref="fallback_for", on_delete="SET NULL")
    created_at = DateTimeField(default=now)

    class Meta:
        indexes = ((("channel", "is_default"), False),)


class RetryPolicy(BaseModel):
    """Mambu's automatic retry settings, one row per channel."""

    channel = CharField(unique=True)
    max_retries = IntegerField(default=4)  # -1 = forever
    backoff_delay = FloatField(default=2)  # seconds
    delay_factor = FloatField(default=3)
    backoff_max_delay = FloatField(default=3600)  # seconds
    jitter = BooleanField(default=True)  # ±10 %


class ApiToken(BaseModel):
    name = CharField()
    owner = ForeignKeyField(User, null=True, backref="api_tokens", on_delete="SET NULL")
    token_hash = CharField(unique=True)
    created_at = DateTimeField(default=now)
    last_used_at = DateTimeField(null=True)
    revoked_at = DateTimeField(null=True)


class Message(BaseModel):
    """One notification to one recipient over one channel."""

    uid = CharField(unique=True, default=new_uid)
    channel = CharField()
    recipient = TextField()
    subject = TextField(default="")
    body_text = TextField(default="")
    body_html = TextField(null=True)
    # the HTML body's visible text, worked out once as it is stored: what the search index
    # and the Excel export read (shared/html_text.py)
    body_html_text = TextField(default="", constraints=[SQL("DEFAULT ''")])
    kind = CharField(default="manual")
    language = CharField(null=True)
    # no index of their own: the (x, id, …) indexes below start with them
    sender = ForeignKeyField(
        User, null=True, backref="sent_messages", on_delete="SET NULL", index=False
    )
    client = ForeignKeyField(
        Client, null=True, backref="messages", on_delete="SET NULL", index=False
    )
    group = ForeignKeyField(Group, null=True, backref="messages", on_delete="SET NULL", index=False)
    user = ForeignKeyField(
        User, null=True, backref="messages_about", on_delete="SET NULL", index=False
    )
    backend = ForeignKeyField(
        Backend, null=True, backref="messages", on_delete="SET NULL", index=False
    )
    state = CharField()
    state_reason = TextField(default="")
    attempts = IntegerField(default=0)
    next_attempt_at = DateTimeField(null=True)
    created_at = DateTimeField(default=now)
    queued_at = DateTimeField(null=True)
    sent_at = DateTimeField(null=True)
    resend_of = ForeignKeyField("self", null=True, backref="resends", on_delete="SET NULL")
    resolved_by = ForeignKeyField("self", null=True, on_delete="SET NULL")
    lease_owner = CharField(null=True)
    lease_until = DateTimeField(null=True)
    api_token = ForeignKeyField(ApiToken, null=True, on_delete="SET NULL")
    idempotency_key = CharField(null=True)
    metadata = JSONField(default=dict)

    class Meta:
        # the log lists newest first by id: every filter gets an (x, id) index so that a
        # filtered page is an index range scan, never a sort of the whole table; the people
        # pages' counts by state read the state from the same index (x, id, state)
        indexes = (
            (("state", "id"), False),
            (("channel", "id"), False),
            (("sender", "id", "state"), False),
            (("client", "id", "state"), False),
            (("group", "id", "state"), False),
            (("user", "id", "sender", "state"), False),
            (("kind", "id"), False),
            (("backend", "id"), False),
            (("backend", "state"), False),  # the banner's held counts
            (("created_at",), False),
            (("sent_at",), False),
            (("state", "next_attempt_at"), False),  # the sweep: due WAITING messages
            (("state", "lease_until"), False),  # the sweep: expired SENDING leases
            (("resend_of",), False),
            (("api_token", "idempotency_key"), True),
        )


class Attempt(BaseModel):
    """One delivery try of one message."""

    message = ForeignKeyField(Message, backref="attempt_rows", on_delete="CASCADE")
    number = IntegerField()
    started_at = DateTimeField(default=now)
    finished_at = DateTimeField(null=True)
    outcome = CharField(null=True)
    error_type = CharField(null=True)
    smtp_code = IntegerField(null=True)
    http_status = IntegerField(null=True)
    response = TextField(null=True)
    traceback = TextField(null=True)
    worker = CharField(null=True)
    provider_id = CharField(null=True)  # the provider's own id for it (SMS delivery checks)

    class Meta:
        indexes = ((("message", "number"), True),)


class Event(BaseModel):
    """The append-only audit trail: state changes and staff actions."""

    created_at = DateTimeField(default=now)
    action = CharField()  # "state", "resend", "cancel", "export", "login_failed", ...
    message = ForeignKeyField(Message, null=True, backref="events", on_delete="CASCADE")
    backend = ForeignKeyField(Backend, null=True, backref="events", on_delete="SET NULL")
    actor = ForeignKeyField(User, null=True, backref="actions", on_delete="SET NULL")
    from_state = CharField(null=True)
    to_state = CharField(null=True)
    detail = TextField(default="")

    class Meta:
        indexes = ((("action", "created_at"), False),)


class HealthCheck(BaseModel):
    """One test of a backend, by hand ("Test now") or by the periodic check: the history."""

    backend = ForeignKeyField(Backend, backref="health_checks", on_delete="CASCADE")
    checked_at = DateTimeField(default=now)
    ok = BooleanField()
    outcome = CharField()  # "sent" (passed), "transient_error", "config_error", ...
    detail = TextField(default="")  # the result in plain words, secrets redacted
    duration_ms = IntegerField(null=True)
    actor = ForeignKeyField(User, null=True, on_delete="SET NULL")  # None: the periodic check

    class Meta:
        indexes = ((("backend", "checked_at"), False),)


class IdempotencyRecord(BaseModel):
    """The first answer to an API call made with an Idempotency-Key, kept for 24 hours so that
    the same call gets the same answer."""

    api_token = ForeignKeyField(ApiToken, on_delete="CASCADE")
    key = CharField()
    endpoint = CharField()
    request_hash = CharField()  # the same key with another body is a 409
    status = IntegerField()
    response = JSONField()
    created_at = DateTimeField(default=now)

    class Meta:
        indexes = ((("api_token", "key", "endpoint"), True), (("created_at",), False))


class Incident(BaseModel):
    """One backend outage, from the first failure to recovery, with the alerts sent for it."""

    backend = ForeignKeyField(Backend, backref="incidents", on_delete="CASCADE")
    health = CharField()  # FAILING or TEST_REQUIRED
    started_at = DateTimeField(default=now)
    ended_at = DateTimeField(null=True)
    first_error = TextField(default="")
    alert_sent_at = DateTimeField(null=True)
    recovery_sent_at = DateTimeField(null=True)


class Job(BaseModel):
    """A long staff action run by the worker, with its progress."""

    kind = CharField()  # "bulk_resend", "export", ...
    user = ForeignKeyField(User, null=True, backref="jobs", on_delete="SET NULL")
    params = JSONField(default=dict)
    total = IntegerField(default=0)
    done = IntegerField(default=0)
    state = CharField(default="pending")  # pending, running, done, failed
    result_path = TextField(null=True)
    error = TextField(null=True)
    created_at = DateTimeField(default=now)
    finished_at = DateTimeField(null=True)


class WorkerHeartbeat(BaseModel):
    worker_id = CharField(unique=True)  # host:pid
    host = CharField()
    pid = IntegerField()
    started_at = DateTimeField(default=now)
    last_beat_at = DateTimeField(default=now)


class PeriodicRun(BaseModel):
    """When each periodic task last ran, so that several consumers run it once per period."""

    name = CharField(unique=True)
    last_run_at = DateTimeField()


class LoginAttempt(BaseModel):
    """A failed login, kept for the rate limit's window: counted per account and per client
    address by every web process alike."""

    email = CharField()
    address = CharField()
    at = DateTimeField(default=now)

    class Meta:
        indexes = ((("email", "at"), False), (("address", "at"), False), (("at",), False))


class UserPreference(BaseModel):
    user = ForeignKeyField(User, unique=True, backref="preference", on_delete="CASCADE")
    log_columns = JSONField(default=list)
    page_size = IntegerField(default=50)


ALL_MODELS = [
    Client,
    Group,
    GroupMember,
    User,
    Backend,
    RetryPolicy,
    ApiToken,
    Message,
    Attempt,
    Event,
    HealthCheck,
    IdempotencyRecord,
    Incident,
    Job,
    WorkerHeartbeat,
    PeriodicRun,
    UserPreference,
    LoginAttempt,
]


# Mambu's `destination EQUALS` ignores case: an index on the recipient as it compares it
RECIPIENT_INDEX = {
    True: "CREATE INDEX IF NOT EXISTS message_recipient_nocase "
    "ON message (recipient COLLATE NOCASE)",
    False: "CREATE INDEX IF NOT EXISTS message_recipient_lower ON message (lower(recipient))",
}


def create_schema() -> None:
    """Create every table and index that is missing; safe to repeat."""
    from shared.search import create_search_index

    with db.atomic():
        db.create_tables(ALL_MODELS, safe=True)
        db.execute_sql(RECIPIENT_INDEX[is_sqlite()])
        create_search_index()


def claim_period(name: str, seconds: float) -> bool:
    """True for exactly one caller per period: the one whose conditional update wins."""
    at = now()
    PeriodicRun.insert(
        name=name, last_run_at=at - timedelta(seconds=seconds)
    ).on_conflict_ignore().execute()
    won = (
        PeriodicRun.update(last_run_at=at)
        .where(
            PeriodicRun.name == name,
            PeriodicRun.last_run_at <= at - timedelta(seconds=seconds * 0.9),
        )
        .execute()
    )
    return won == 1


def claim_job(job: Job) -> bool:
    """pending → running, for one caller only: a job may be handed to the worker twice (the
    sweep starts jobs whose task seems lost), and must run once."""
    started = Job.update(state="running").where(Job.id == job.id, Job.state == "pending")
    return started.execute() == 1
