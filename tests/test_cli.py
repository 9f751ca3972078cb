"""The `commlog` commands: what they print, how they fail, and that failing changes nothing."""

import pytest

from shared.db import connect, db
from shared.models import Backend, Message, User
from tests.conftest import run_commlog


def test_init_is_safe_to_repeat(commlog_env, backend_urls):
    for _ in range(2):
        result = run_commlog(["init"], commlog_env)
        assert result.returncode == 0, result.stderr
    connect(backend_urls[0])
    try:
        assert Message.table_exists()
    finally:
        db.close()


def test_create_user_reads_the_password_from_stdin(commlog_env, database):
    result = run_commlog(
        ["create-user", "Ann@Example.com", "--role", "admin", "--name", "Ann", "--password-stdin"],
        commlog_env,
        input_text="a long password\n",
    )
    assert result.returncode == 0, result.stderr
    user = User.get(User.email == "ann@example.com")
    assert (user.role, user.name) == ("admin", "Ann")
    assert "a long password" not in user.password_hash


@pytest.mark.parametrize(
    ("args", "password", "words"),
    [
        (["not-an-email", "--role", "support"], "a long password", "not a valid email"),
        (["x@example.com", "--role", "boss"], "a long password", "Invalid value for '--role'"),
        (["x@example.com", "--role", "support"], "short", "at least 10 characters"),
    ],
)
def test_create_user_refuses_bad_input_clearly(commlog_env, database, args, password, words):
    result = run_commlog(
        ["create-user", *args, "--password-stdin"], commlog_env, input_text=password + "\n"
    )
    assert result.returncode != 0
    assert words in result.stderr
    assert User.select().count() == 0


def test_create_user_refuses_a_duplicate(commlog_env, database):
    args = ["create-user", "x@example.com", "--role", "support", "--password-stdin"]
    assert run_commlog(args, commlog_env, input_text="a long password\n").returncode == 0
    again = run_commlog(args, commlog_env, input_text="a long password\n")
    assert again.returncode == 1 and "already exists" in again.stderr
    assert User.select().count() == 1


def test_backend_add_and_list_never_show_the_password(commlog_env, database):
    url = "smtp://mailer:s3cret-pw@smtp.example.com:587?tls=starttls"
    added = run_commlog(
        [
            "backend",
            "add",
            "office",
            "--channel",
            "email",
            "--url",
            url,
            "--alert-email",
            "ops@example.com",
        ],
        commlog_env,
    )
    assert added.returncode == 0, added.stderr
    listed = run_commlog(["backend", "list"], commlog_env)
    assert "office" in listed.stdout and "UNTESTED" in listed.stdout
    assert "s3cret-pw" not in added.stdout + listed.stdout
    assert "****" in listed.stdout
    backend = Backend.get(Backend.name == "office")
    assert backend.is_default and backend.failure_alert_emails == ["ops@example.com"]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["b", "--channel", "email", "--url", "http://x"], "smtp://"),
        (["b", "--channel", "email", "--url", "smtp://h?tls=maybe"], "tls="),
        (["b", "--channel", "webhook", "--url", "ftp://x"], "http://"),
        (["b", "--channel", "email", "--url", "smtp://h", "--alert-email", "nope"], "not a valid"),
    ],
)
def test_backend_add_refuses_bad_input_clearly(commlog_env, database, args, words):
    result = run_commlog(["backend", "add", *args], commlog_env)
    assert result.returncode == 1 and words in result.stderr
    assert Backend.select().count() == 0


def test_send_without_a_backend_says_what_to_do(commlog_env, database):
    result = run_commlog(["send", "--to", "a@example.com", "--subject", "x"], commlog_env)
    assert result.returncode == 1 and "commlog backend add" in result.stderr
    assert Message.select().count() == 0


def test_send_to_an_unknown_client_changes_nothing(commlog_env, database):
    Backend.create(name="m", channel="email", url="smtp://127.0.0.1:25", is_default=True)
    result = run_commlog(["send", "--to", "a@example.com", "--client", "99"], commlog_env)
    assert result.returncode == 1 and "no client with id 99" in result.stderr
    assert Message.select().count() == 0


def test_send_refuses_a_subject_longer_than_the_console_and_the_api_allow(commlog_env, database):
    Backend.create(name="m", channel="email", url="smtp://127.0.0.1:25", is_default=True)
    result = run_commlog(["send", "--to", "a@example.com", "--subject", "x" * 999], commlog_env)
    assert result.returncode == 1
    assert "subject: must be at most 998 characters long" in result.stderr
    assert Message.select().count() == 0
    fits = run_commlog(["send", "--to", "a@example.com", "--subject", "x" * 998], commlog_env)
    assert fits.returncode == 0 and Message.select().count() == 1


def test_send_to_a_bad_address_records_it_as_not_sent(commlog_env, database):
    Backend.create(name="m", channel="email", url="smtp://127.0.0.1:25", is_default=True)
    result = run_commlog(["send", "--to", "no-at-sign", "--subject", "x"], commlog_env)
    assert result.returncode == 0
    message = Message.get(Message.uid == result.stdout.split()[-1])
    assert message.state == "NOT_SENT" and message.state_reason == "The address has no @."
    assert "Not sent" in result.stderr
