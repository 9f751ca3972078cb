"""Bad input to the commands (SPEC §9: forms, API, CLI, URLs): each one exits non-zero with a
message in plain words, no traceback, and the database is unchanged."""

from tests.conftest import run_commlog
from tests.security.conftest import snapshot

LONG = "x" * 5_000
CASES = [
    (["create-user", "not an email", "--role", "support", "--password-stdin"], "long password 1"),
    (["create-user", "a@example.com", "--role", "root", "--password-stdin"], "long password 1"),
    (["create-user", "a@example.com", "--role", "support", "--password-stdin"], "short"),
    (["create-user", "admin@example.com", "--role", "admin", "--password-stdin"], "long pass 12"),
    (["backend", "add", "x", "--channel", "email", "--url", "not a url"], None),
    (["backend", "add", "x", "--channel", "fax", "--url", "smtp://127.0.0.1"], None),
    (["backend", "add", "x", "--channel", "email", "--url", "smtp://u:p@[::1"], None),
    (["backend", "add", "office", "--channel", "email", "--url", "smtp://127.0.0.1"], None),
    (["backend", "add", "hooks", "--channel", "webhook", "--url", "https://h.example/"], None),
    (
        [
            "backend",
            "add",
            "texts",
            "--channel",
            "sms",
            "--url",
            "https://s.example/?token=a&status_url=https://s.example/status",
        ],
        None,
    ),
    (["backend", "edit", "nope", "--url", "smtp://127.0.0.1:25"], None),
    (["backend", "edit", "office", "--alert-email", "not an address"], None),
    (["backend", "test", LONG], None),
    (["policy", "set", "fax", "--max-retries", "3"], None),
    (["policy", "set", "email", "--max-retries", "-5"], None),
    (["policy", "set", "email", "--backoff-delay", "soon"], None),
    (["policy", "set", "email", "--backoff-delay", "100", "--backoff-max-delay", "5"], None),
    (["policy", "set", "email", "--backoff-max-delay", "1e12"], None),
    (["set-password", "nobody@example.com"], None),
    (["set-password", "admin@example.com", "--password-stdin"], "short"),
    (
        ["send", "--to", "a@example.com", "--subject", "s", "--body", "b", "--client", "999999"],
        None,
    ),
    (["send", "--to", "a@example.com", "--subject", "s", "--body", "b", "--client", "one"], None),
    (["send", "--to", "a@example.com", "--subject", "s", "--body", "b", "--user", "no@x.io"], None),
    (["send", "--to", "a@example.com", "--subject", "s", "--body", "b", "--channel", "fax"], None),
    (["show", "nope"], None),
    (["show", LONG, "--json"], None),
    (["resend-failed", "--since", "2024-02-31"], None),
    (["resend-failed", "--channel", "fax"], None),
    (["purge", "--older-than", "soon"], None),
    (["purge", "--older-than", "-5d"], None),
    (["token", "create", " "], None),
    (["token", "create", "ci", "--owner", "nobody@example.com"], None),
    (["demo", "--messages", "-5"], None),
]


def test_bad_input_to_every_command_is_refused_plainly(world, commlog_env, capsys):
    before = snapshot()
    problems = []
    for args, stdin in CASES:
        done = run_commlog(args, commlog_env, input_text=stdin)
        said = (done.stdout + done.stderr).strip()
        what = " ".join(a[:20] for a in args)
        if done.returncode == 0:
            problems.append(f"{what}: exit 0 ({said[-120:]})")
        elif "Traceback" in said or not said:
            problems.append(f"{what}: {said[-300:] or 'said nothing'}")
    assert problems == [], "\n".join(problems)
    assert snapshot() == before
    with capsys.disabled():
        print(f"\nCLI: {len(CASES)} bad invocations refused plainly")
