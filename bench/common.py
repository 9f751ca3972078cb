"""What the benchmark scripts share: the machine they ran on, the CPU time of processes, the
PostgreSQL and Redis servers some of them start (tests/servers.py's classes), and their results
as JSON for bench/all.py."""

import json
import os
import platform
import pwd
import shutil
import signal
import sqlite3
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
PY = sys.executable

from tests.servers import PostgresServer, RedisServer, free_port  # noqa: E402, F401


def cpu_model() -> str:
    lines = Path("/proc/cpuinfo").read_text().splitlines()
    models = [line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")]
    return models[0] if models else platform.processor() or "?"


def machine() -> str:
    return f"{os.cpu_count()} cores, {cpu_model()}, Python {platform.python_version()}"


def postgres_version() -> str:
    """The installed server's version (the one PostgresServer runs), or "not installed"."""
    binaries = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"))  # as it finds them
    if not binaries:
        return "not installed"
    out = subprocess.run([binaries[-1], "--version"], capture_output=True, text=True)
    return out.stdout.split()[2]  # "postgres (PostgreSQL) 15.18 (Debian …)"


def versions() -> str:
    return f"SQLite {sqlite3.sqlite_version}, PostgreSQL {postgres_version()}"


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def cpu_seconds(pid: int, children: bool = False) -> float:
    """User + system CPU time a process has used so far (all its threads), with its live
    children's if asked (gunicorn's worker under its master)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    stats = Path("/proc").glob("[0-9]*/stat") if children else [Path(f"/proc/{pid}/stat")]
    for stat in stats:
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # a process that just ended
        if stat.parent.name == str(pid) or fields[1] == str(pid):  # itself, or its child
            total += (int(fields[11]) + int(fields[12])) / ticks  # utime + stime
    return total


def stop_on_sigterm() -> None:
    """SIGTERM ends the script through its `finally` blocks, as Ctrl-C does, so that the
    servers and workers it started are stopped."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))


@contextmanager
def postgres_and_redis(redis: bool = True):
    """A throwaway PostgreSQL (and Redis) on 127.0.0.1, stopped by PID on the way out,
    whatever happens."""
    postgres, queue = PostgresServer(), RedisServer() if redis else None
    try:
        postgres.start()
        if queue:
            queue.start()
        yield postgres, queue
    finally:
        if queue:
            queue.stop()
        postgres.stop()


class KeptPostgres(PostgresServer):
    """A PostgreSQL whose cluster lives in `folder` and outlives the run: made on first use,
    started on the same data later; stop() keeps it, remove() deletes it."""

    def __init__(self, folder: Path):
        super().__init__()
        shutil.rmtree(self.folder, ignore_errors=True)  # the temporary one it made
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        if self.user:
            account = pwd.getpwnam(self.user)
            os.chown(folder, account.pw_uid, account.pw_gid)

    def start(self) -> "KeptPostgres":
        if (self.folder / "data" / "PG_VERSION").exists():
            self.start_server()
        else:
            super().start()
        return self

    def stop(self) -> None:
        self.stop_server()

    def remove(self) -> None:
        self.stop_server()
        shutil.rmtree(self.folder, ignore_errors=True)


def admin_sql(postgres: PostgresServer, *statements: str) -> None:
    """Statements outside a transaction on the server's `postgres` database (CREATE/DROP
    DATABASE cannot run inside one)."""
    import psycopg2

    connection = psycopg2.connect(postgres.url())
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
    finally:
        connection.close()


def write_results(path: Path | None, results: dict) -> None:
    """The figures of a run as JSON, for bench/all.py's summary (nothing when no path)."""
    if path:
        path.write_text(json.dumps(results, indent=1, default=str))
