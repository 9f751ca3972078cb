"""The `commlog` command: a Flask CLI group (SPEC §7, §10)."""

import json
import logging
import secrets
import shlex
import sys

import click
from flask.cli import AppGroup, FlaskGroup

from console import create_app
from shared.actions import resend, unresolved_failures
from shared.backends import BackendError, add_backend, edit_backend
from shared.channels import redact_url
from shared.health import test_backend
from shared.message_json import message_document
from shared.models import Backend, Client, Group, Message, User, create_schema
from shared.outbox import SubmissionError, create_message
from shared.retention import parse_age
from shared.retention import purge as purge_messages
from shared.retry import PolicyError, describe, set_policy
from shared.users import UserError, create_user, set_password

cli = FlaskGroup(
    create_app=create_app,
    add_default_commands=False,
    help="commlog: notification delivery with a communications log.",
)

CAPTURE_BACKEND = "local-capture"
NEWCOMER_ADMIN = "admin@example.com"


@cli.command()
def init():
    """Create or upgrade the database; safe to repeat."""
    _migrate()
    click.echo("The database is ready.")


@cli.command("migrate")
def migrate_command():
    """Upgrade the database's schema to this version of commlog; safe to repeat."""
    _migrate()


def _migrate() -> None:
    from shared.migrations import migrate, version

    for step in migrate():
        click.echo(f"Applied {step}.")
    click.echo(f"The schema is at version {version() or 0}.")


@cli.command("create-user")
@click.argument("email")
@click.option("--role", type=click.Choice(["support", "admin"]), required=True)
@click.option("--name", default="", help="The name shown in the console.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def create_user_command(email, role, name, password_stdin):
    """Create a staff login."""
    create_schema()
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = create_user(email, role, password, name)
    except UserError as e:
        raise click.ClickException(str(e)) from None
    click.echo(f"Created {user.role} {user.email}.")


@cli.command("set-password")
@click.argument("email")
@click.option(
    "--password-stdin", is_flag=True, help="Read the password from standard input instead."
)
def set_password_command(email, password_stdin):
    """Give a staff login a new password (generated unless given); ends its sessions. For an
    admin locked out of the console; in the console, admins reset passwords under Users."""
    user = User.get_or_none(User.email == email.strip().lower())
    if user is None:
        raise click.ClickException(f"there is no user with the email {email}")
    password = sys.stdin.readline().rstrip("\r\n") if password_stdin else None
    try:
        password = set_password(user, password)
    except UserError as e:
        raise click.ClickException(str(e)) from None
    if password_stdin:
        click.echo(f"Set a new password for {user.email}; their sessions are logged out.")
    else:
        click.echo(
            f"New password for {user.email} (shown only once; their sessions are logged out):"
        )
        click.echo(password)


backend_cli = AppGroup("backend", help="Gateways that deliver messages.")
cli.add_command(backend_cli)


@backend_cli.command("add")
@click.argument("name")
@click.option("--channel", type=click.Choice(["email", "sms", "webhook"]), required=True)
@click.option("--url", required=True, help="smtp://user:pass@host:587?tls=starttls, https://…")
@click.option("--default", "is_default", is_flag=True, help="The channel's default backend.")
@click.option("--alert-email", multiple=True, help="Who is emailed when it fails (repeatable).")
def backend_add(name, channel, url, is_default, alert_email):
    """Add a backend."""
    create_schema()
    try:
        backend = add_backend(name, channel, url, is_default, alert_email)
    except BackendError as e:
        raise click.ClickException(str(e)) from None
    click.echo(f"Added {backend.channel} backend {backend.name}: {redact_url(backend.url)}")


@backend_cli.command("edit")
@click.argument("name")
@click.option("--url", help="The new URL (**** where a password should be kept).")
@click.option("--default/--no-default", "is_default", default=None)
@click.option("--fallback", help="Another backend's name, or 'none'.")
@click.option("--alert-email", multiple=True, help="Replaces the alert list (repeatable).")
def backend_edit(name, url, is_default, fallback, alert_email):
    """Change a backend."""
    backend = _backend_named(name)
    fallback_backend = False
    if fallback is not None:
        fallback_backend = None if fallback.lower() == "none" else _backend_named(fallback)
    try:
        edit_backend(
            backend,
            url=url,
            is_default=is_default,
            fallback=fallback_backend,
            alert_emails=list(alert_email) if alert_email else None,
        )
    except BackendError as e:
        raise click.ClickException(str(e)) from None
    click.echo(f"Saved {backend.name}: {redact_url(backend.url)}")


@backend_cli.command("test")
@click.argument("name")
def backend_test(name):
    """Test a backend now (connect and log in, send nothing); releases held messages when it
    passes. Exits 0 if it works, 1 if not."""
    from worker.tasks import wake

    backend = _backend_named(name)
    result = test_backend(backend)
    wake(result.change.to_wake)
    if result.ok:
        released = result.change.released
        click.echo(
            f"{backend.name} works: {result.words}"
            + (f" Released {released} held messages." if released else "")
        )
    else:
        click.echo(f"{backend.name} failed its test: {result.words}")
        sys.exit(1)


def _backend_named(name: str) -> Backend:
    backend = Backend.get_or_none(Backend.name == name)
    if backend is None:
        raise click.ClickException(f"there is no backend named {name!r}")
    return backend


@backend_cli.command("list")
def backend_list():
    """List the backends with their health."""
    rows = [("NAME", "CHANNEL", "DEFAULT", "HEALTH", "URL")]
    for b in Backend.select().order_by(Backend.channel, Backend.name):
        rows.append((b.name, b.channel, "yes" if b.is_default else "", b.health, redact_url(b.url)))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    for r in rows:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip())


@cli.command()
@click.option("--to", "recipient", required=True, help="Email address, phone number or URL.")
@click.option("--subject", default="")
@click.option("--body", default="")
@click.option("--channel", type=click.Choice(["email", "sms", "webhook"]), default="email")
@click.option("--html", default=None, help="An HTML body besides the text one.")
@click.option("--client", "client_id", type=int, help="The client it concerns (id).")
@click.option("--group", "group_id", type=int, help="The group it concerns (id).")
@click.option("--user", "user_email", help="The staff user it concerns (email).")
@click.option("--kind", default="manual", help="The message type, e.g. loan.repayment_due.")
def send(recipient, subject, body, channel, html, client_id, group_id, user_email, kind):
    """Queue one message; prints its uid on the last line."""
    from worker.tasks import wake

    client = _lookup(Client, client_id, "client")
    group = _lookup(Group, group_id, "group")
    user = None
    if user_email:
        user = User.get_or_none(User.email == user_email.strip().lower())
        if user is None:
            raise click.ClickException(f"there is no user with the email {user_email}")
    try:
        message = create_message(
            channel,
            recipient,
            subject,
            body,
            html,
            kind=kind,
            client=client,
            group=group,
            user=user,
        )
    except SubmissionError as e:
        raise click.ClickException(str(e)) from None
    wake([message])
    if message.state == "NOT_SENT":
        click.echo(f"Not sent: {message.state_reason}", err=True)
    click.echo(message.uid)


def _lookup(model, record_id, what):
    if record_id is None:
        return None
    record = model.get_or_none(model.id == record_id)
    if record is None:
        raise click.ClickException(f"there is no {what} with id {record_id}")
    return record


@cli.command()
@click.argument("uid")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def show(uid, as_json):
    """Show one message, its attempts and events."""
    message = Message.get_or_none(Message.uid == uid.strip())
    if message is None:
        raise click.ClickException(f"there is no message with the uid {uid}")
    doc = message_document(message)
    if as_json:
        click.echo(json.dumps(doc, indent=2, ensure_ascii=False))
        return
    click.echo(f"{doc['uid']}  {doc['state']}  {doc['channel']} to {doc['recipient']}")
    click.echo(f"  subject: {doc['subject']}")
    click.echo(f"  why:     {doc['state_reason'] or '-'}")
    for a in doc["attempts"]:
        click.echo(
            f"  try {a['number']} at {a['started_at']}: {a['outcome']} {a['response'] or ''}"
        )
    for e in doc["events"]:
        change = f"{e['from_state'] or ''} -> {e['to_state']}" if e["to_state"] else e["action"]
        click.echo(f"  {e['at']}  {change}  {e['detail']}")


@cli.command("resend-failed")
@click.option("--since", type=click.DateTime(), help="Only failures created since (YYYY-MM-DD).")
@click.option("--channel", type=click.Choice(["email", "sms", "webhook"]))
@click.option("--dry-run", is_flag=True, help="Only say how many would be resent.")
def resend_failed(since, channel, dry_run):
    """Resend the failures that no resend has fixed yet."""
    from worker.tasks import wake

    failures = list(unresolved_failures(since, channel))
    if dry_run:
        click.echo(f"{len(failures)} unresolved failed messages would be resent.")
        return
    copies = [resend(message) for message in failures]
    wake(copies)
    click.echo(f"Resent {len(copies)} unresolved failed messages.")


@cli.command()
@click.option("--older-than", required=True, help="An age such as 90d, 12h or 4w.")
@click.option("--bodies-only", is_flag=True, help="Keep the messages, drop their content.")
def purge(older_than, bodies_only):
    """Delete finished messages older than the given age (or only their bodies)."""
    try:
        age = parse_age(older_than)
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--older-than") from None
    count = purge_messages(age, bodies_only)
    what = "Dropped the bodies of" if bodies_only else "Deleted"
    click.echo(f"{what} {count} messages older than {older_than}.")


policy_cli = AppGroup("policy", help="Retry policies, one per channel.")
cli.add_command(policy_cli)


@policy_cli.command("set")
@click.argument("channel", type=click.Choice(["email", "sms", "webhook"]))
@click.option("--max-retries", type=click.IntRange(min=-1), help="-1 retries forever.")
@click.option("--backoff-delay", type=click.FloatRange(min=0, min_open=True), help="Seconds.")
@click.option("--delay-factor", type=click.FloatRange(min=1))
@click.option("--backoff-max-delay", type=click.FloatRange(min=0, min_open=True), help="Seconds.")
@click.option("--jitter/--no-jitter", default=None)
def policy_set(channel, **changes):
    """Set a channel's retry policy (unset options keep their value)."""
    try:
        policy = set_policy(channel, **changes)
    except PolicyError as e:
        option = "--" + e.field.replace("_", "-")
        raise click.BadParameter(e.problem, param_hint=option) from None
    click.echo(f"{channel}: {describe(policy)}, jitter {'on' if policy.jitter else 'off'}.")


token_cli = AppGroup("token", help="API tokens for the JSON API.")
cli.add_command(token_cli)


@token_cli.command("create")
@click.argument("name")
@click.option("--owner", help="The email of the staff user who owns it.")
def token_create(name, owner):
    """Create an API token; prints it alone on the last line (it is shown only once)."""
    from shared.tokens import TokenError, create_token

    create_schema()
    user = None
    if owner:
        user = User.get_or_none(User.email == owner.strip().lower())
        if user is None:
            raise click.ClickException(f"there is no user with the email {owner}")
    try:
        _, plaintext = create_token(name, owner=user)
    except TokenError as e:
        raise click.ClickException(str(e)) from None
    click.echo(f"Created the API token {name.strip()}. Keep it secret: it is shown only once.")
    click.echo(plaintext)


@token_cli.command("revoke")
@click.argument("name")
def token_revoke(name):
    """Revoke an API token for good."""
    from shared.tokens import active_token, revoke

    token = active_token(name)
    if token is None:
        raise click.ClickException(f"there is no API token named {name} (or it was revoked)")
    revoke(token)
    click.echo(f"Revoked the API token {token.name}.")


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--threads", default=8, show_default=True, type=int)
def web(host, port, threads):
    """Run the console (gunicorn, one process with threads)."""
    from console.server import serve

    serve(f"{host}:{port}", threads)


@cli.command()
@click.option("-w", "--workers", type=int, default=None, help="Worker threads (COMMLOG_WORKERS).")
@click.option(
    "--no-periodic",
    is_flag=True,
    help="Don't run the periodic tasks: start every consumer but one with this.",
)
def worker(workers, no_periodic):
    """Run the Huey consumer that delivers messages.

    Several consumers may share one queue; the periodic tasks (the sweep) still run once a
    minute in all, as each period is claimed in the database by one consumer only."""
    from shared.config import load_config
    from worker.heartbeat import start_heartbeat
    from worker.recovery import recover_dead_local_workers
    from worker.tasks import huey, wake_due_backends

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    recovered = recover_dead_local_workers()
    if recovered:
        logging.info("recovered %d messages left by a stopped worker", recovered)
    wake_due_backends()
    start_heartbeat()
    consumer = huey.create_consumer(
        workers=workers or load_config().workers,
        worker_type="thread",
        periodic=not no_periodic,
        # an idle worker polls a SQLite queue at most every half second (Huey's default backs
        # off to 10 s, which would leave a lone message waiting); Redis blocks instead of polling
        initial_delay=0.02,
        max_delay=0.5,
    )
    consumer.run()


@cli.command("capture-sink")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8025, show_default=True, type=int)
def capture_sink(host, port):
    """Run the local SMTP sink that saves every mail under COMMLOG_HOME/mail/."""
    from shared.config import load_config
    from worker.capture_sink import run_capture_sink

    run_capture_sink(host, port, load_config().home / "mail")


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option(
    "--smtp-port",
    default=8025,
    show_default=True,
    type=int,
    help="Port of the local capture sink, when it is used.",
)
def up(host, port, smtp_port):
    """Start everything on this machine: database, admin login, web console and worker."""
    from honcho.manager import Manager

    from shared.config import load_config
    from shared.migrations import migrate

    migrate()
    home = load_config().home
    password = None
    if not User.select().where(User.role == "admin").exists():
        password = secrets.token_urlsafe(12)
        create_user(NEWCOMER_ADMIN, "admin", password, "Admin")
    capture = _capture_backend(smtp_port)

    me = [sys.executable, "-m", "console.cli"]
    manager = Manager()
    manager.add_process("web", shlex.join([*me, "web", "--host", host, "--port", str(port)]))
    manager.add_process("worker", shlex.join([*me, "worker"]))
    if capture:
        manager.add_process(
            "mail",
            shlex.join([*me, "capture-sink", "--host", "127.0.0.1", "--port", str(smtp_port)]),
        )

    click.echo(f"\ncommlog is starting. Open http://{host}:{port}/")
    if password:
        click.echo(f"Log in as {NEWCOMER_ADMIN} with the password {password}")
        click.echo("(shown only this once: write it down)")
    else:
        click.echo("Log in with the admin login printed the first time commlog up ran.")
    if capture:
        click.echo(f"Mail is not really sent: it is saved under {home / 'mail'}/")
    click.echo("Press Ctrl-C to stop.\n", nl=True)
    sys.stdout.flush()
    manager.loop()
    sys.exit(manager.returncode)


@cli.command()
@click.option(
    "--messages",
    type=click.IntRange(min=0, max=16_777_215),
    default=3000,
    show_default=True,
    help="How many messages to add (1000000 makes a database for benchmarks).",
)
@click.option(
    "--seed", type=int, default=1, show_default=True, help="The same seed, the same data."
)
def demo(messages, seed):
    """Add realistic demo data: staff, clients, groups, backends and messages in every state."""
    from shared.demo import load_demo

    click.echo(f"Adding {messages:,} demo messages over the last 30 days…")
    made = load_demo(messages, seed, progress=lambda words: click.echo(f"  {words}"))
    states = ", ".join(f"{count:,} {state}" for state, count in made["by_state"].items())
    channels = ", ".join(f"{count:,} {channel}" for channel, count in made["by_channel"].items())
    plural = "" if made["messages"] == 1 else "s"
    click.echo(
        f"Added {made['messages']:,} message{plural} in {made['seconds']} s: {states or 'none'}."
    )
    click.echo(f"By channel: {channels or 'none'}; {made['attempts']:,} attempts.")
    click.echo(
        f"{made['clients_created']} new clients, {made['groups_created']} new groups, "
        f"new backends: {', '.join(made['backends_created']) or 'none'}."
    )
    click.echo("\nDemo logins:")
    for email, role, name in made["logins"]:
        click.echo(f"  {email:32} {role:8} {name}")
    if made["password"]:
        click.echo(f"Password for the new logins: {made['password']}")
        click.echo("(shown only this once: write it down)")
    else:
        click.echo("They already existed; their passwords were not changed.")


def _capture_backend(smtp_port: int) -> Backend | None:
    """The local capture backend, created when no email backend exists; None if not in use."""
    url = f"smtp://127.0.0.1:{smtp_port}"
    if not Backend.select().where(Backend.channel == "email").exists():
        add_backend(CAPTURE_BACKEND, "email", url, is_default=True)
    capture = Backend.get_or_none(Backend.name == CAPTURE_BACKEND)
    if capture and capture.url != url:
        capture.url = url
        capture.save()
    return capture


if __name__ == "__main__":
    cli()
