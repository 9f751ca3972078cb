"""django-post_office, the best-known Python peer, sending N emails into the same counting sink.

Runs in its own virtual environment (Django is no dependency of commlog): bench/send.py makes it
under /tmp with `ensure_venv()` and runs this file with that environment's Python:

    /tmp/commlog-bench-post-office/bin/python -m bench.post_office PORT -n 10000 --processes 1

(as a module from the checkout: run as a script, this file would hide the post_office package)

A minimal Django project in memory (SQLite in a scratch folder, Django's SMTP backend pointed at
127.0.0.1:PORT, post_office's defaults: batches of 100, 5 threads per process, every delivery
logged), N emails queued with `mail.send_many` at priority medium, then the clock runs over
`manage.py send_queued_mail [--processes K]` alone. Prints one line of JSON: msg/s, and the CPU
per message of the sending processes.
"""

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

VENV = Path("/tmp/commlog-bench-post-office")
REQUIREMENTS = ["django>=5.2,<6", "django-post-office>=3.12,<4"]


def ensure_venv() -> Path:
    """The peer's Python, in a virtual environment of its own (made once)."""
    python = VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", *REQUIREMENTS],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    return python


def cpu_seconds() -> float:
    """CPU time of this process and of its finished children (the --processes pool)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def versions() -> str:
    from importlib.metadata import version

    return f"Django {version('django')}, django-post_office {version('django-post-office')}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("port", type=int)
    parser.add_argument("-n", type=int, default=10_000)
    parser.add_argument("--processes", type=int, default=1)
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="post-office-bench-"))
    import django
    from django.conf import settings

    settings.configure(
        INSTALLED_APPS=["post_office"],
        TEMPLATES=[{"BACKEND": "django.template.backends.django.DjangoTemplates"}],
        DATABASES={
            "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(folder / "db.sqlite3")}
        },
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=args.port,
        DEFAULT_FROM_EMAIL="commlog@localhost",
        USE_TZ=True,
        LOGGING_CONFIG=None,
    )
    django.setup()
    from django.core.management import call_command
    from post_office import mail
    from post_office.models import STATUS, Email

    try:
        call_command("migrate", verbosity=0)
        mail.send_many(
            [
                dict(
                    recipients=[f"client{i}@example.com"],
                    sender="commlog@localhost",
                    subject="Your repayment is due",
                    message="Dear client, it is due.",
                    priority="medium",
                )
                for i in range(args.n)
            ]
        )
        cpu_before = cpu_seconds()
        started = time.perf_counter()
        call_command("send_queued_mail", processes=args.processes, lockfile=str(folder / "send"))
        elapsed = time.perf_counter() - started
        cpu = cpu_seconds() - cpu_before
        sent = Email.objects.filter(status=STATUS.sent).count()
        print(
            json.dumps(
                {
                    "sent": sent,
                    "rate": sent / elapsed,
                    "cpu_us": cpu / sent * 1e6 if sent else None,
                    "versions": versions(),
                }
            )
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
