"""Send throughput: N emails from QUEUED to SENT into a local counting SMTP sink, with, in the
same run, the sink's own limit (plain smtplib clients over reused connections, sending the same
bytes commlog sends) and django-post_office, the best-known Python peer, into the same sink.

    .venv/bin/python bench/send.py [-n 10000] [--database sqlite postgres]
        [--configs 1x1 1x2 1x4 2x4] [--pg-configs 1x4 2x4 4x4] [--no-peer] [--json FILE]

A config PxT is P worker processes (`commlog worker -w T`; all but the first with
`--no-periodic`). SQLite: SQLite + SqliteHuey files in a scratch folder. PostgreSQL: the bench
starts its own PostgreSQL and Redis on 127.0.0.1 (tests/servers.py's), a fresh database (made by
`migrate()`) and an emptied Redis for each line, and stops them by PID at the end, on Ctrl-C or
an error too. Every line checks that each message reached SENT and that the sink took each
once. The peer runs in its own virtual environment under /tmp, made on first use (see
bench/post_office.py). Prints a table with the machine, the date and the load average.
Nothing here is a test: it measures.
"""

import argparse
import itertools
import json
import os
import shutil
import signal
import smtplib
import subprocess
import sys
import tempfile
import time
from collections import Counter
from contextlib import contextmanager, nullcontext, suppress
from datetime import UTC, datetime
from multiprocessing import Pool
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import (  # noqa: E402
    PY,
    ROOT,
    admin_sql,
    cpu_seconds,
    free_port,
    load_average,
    machine,
    postgres_and_redis,
    stop_on_sigterm,
    versions,
    write_results,
)

# every sender sends this message, to client0@example.com, client1@example.com, …
SUBJECT = "Your repayment is due"
BODY = "Dear client, it is due."
FROM = "commlog@localhost"
LIMIT_CLIENTS = 4  # the sink takes the most from 4 clients (SPEC §8: 2 / 4 clients)
CONFIGS = {"sqlite": ["1x1", "1x2", "1x4", "2x4"], "postgres": ["1x4", "2x4", "4x4"]}
NAMES = {"sqlite": "SQLite", "postgres": "PostgreSQL+Redis"}
STALLED = 60  # seconds without a message reaching SENT: something is wrong, stop


class Sink:
    """The counting sink (bench/sink.py) in its own process."""

    def __init__(self, port: int):
        self.process = subprocess.Popen(
            [PY, str(ROOT / "bench" / "sink.py"), str(port)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.pid = self.process.pid
        assert self.process.stdout.readline().strip() == "ready"

    def count(self) -> int:
        """Mails it has taken so far."""
        self.process.stdin.write("count\n")
        self.process.stdin.flush()
        return int(self.process.stdout.readline())

    @contextmanager
    def expect(self, count: int, who: str):
        """Fail unless the sink takes exactly `count` mails in the block (none lost, none
        twice)."""
        before = self.count()
        yield
        taken = self.count() - before
        if taken != count:
            raise RuntimeError(f"{who}: the sink took {taken:,} mails, not {count:,}")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait()


def mail_bytes() -> bytes:
    """What commlog sends for the benchmark's message: the limit's clients send the same."""
    from shared.channels.email import build_mime

    message = SimpleNamespace(
        uid="0" * 32,
        recipient="client0@example.com",
        subject=SUBJECT,
        body_text=BODY,
        body_html=None,
        sender=None,
    )
    return build_mime(message, FROM)


def _client(args) -> int:
    port, count, mail = args
    smtp = smtplib.SMTP("127.0.0.1", port)
    for i in range(count):
        smtp.sendmail(FROM, [f"client{i}@example.com"], mail)
    smtp.quit()
    return count


def sink_limit(sink: Sink, port: int, total: int, clients: int) -> float:
    """Messages/s that `clients` smtplib processes push into the sink over reused connections."""
    per = total // clients
    mail = mail_bytes()
    # the clients die of SIGTERM as usual, not through this script's handler; and the pool is
    # closed and joined, not terminated: terminate() can race its own respawning of workers
    pool = Pool(clients, initializer=signal.signal, initargs=(signal.SIGTERM, signal.SIG_DFL))
    try:
        with sink.expect(per * clients, "the limit's clients"):
            started = time.perf_counter()
            sent = sum(pool.map(_client, [(port, per, mail)] * clients))
            elapsed = time.perf_counter() - started
    finally:
        pool.close()
        pool.join()
    return sent / elapsed


_database_numbers = itertools.count(1)


@contextmanager
def fresh_store(database: str, servers):
    """An empty database and queue for one line: its home folder, URLs, and the PIDs of the
    servers that hold them (none for SQLite: it works inside the workers)."""
    from shared.db import db

    home = Path(tempfile.mkdtemp(prefix="commlog-bench-"))
    try:
        if database == "sqlite":
            db_url, queue_url = f"sqlite:///{home}/commlog.db", f"sqlite:///{home}/queue.db"
            yield SimpleNamespace(home=home, db_url=db_url, queue_url=queue_url, pids=[])
            return
        import psycopg2
        import redis

        postgres, redis_server = servers
        name = f"bench_send_{next(_database_numbers)}"
        admin_sql(postgres, f"CREATE DATABASE {name}")
        redis.Redis.from_url(redis_server.url()).flushdb()
        try:
            yield SimpleNamespace(
                home=home,
                db_url=postgres.url(name),
                queue_url=redis_server.url(),
                pids=[postgres.process.pid, redis_server.process.pid],
            )
        finally:
            db.close()
            # a server that Ctrl-C stopped too (it reaches the whole process group) has gone
            with suppress(psycopg2.OperationalError):
                admin_sql(postgres, f"DROP DATABASE {name} WITH (FORCE)")
    finally:
        db.close()
        shutil.rmtree(home, ignore_errors=True)


def wait_until_sent(count: int) -> None:
    """Return when `count` messages are SENT; fail if none moves for STALLED seconds."""
    from shared.models import Message

    sent, progress_at = 0, time.monotonic()
    while sent < count:
        time.sleep(0.05)
        now_sent = Message.select().where(Message.state == "SENT").count()
        if now_sent > sent:
            sent, progress_at = now_sent, time.monotonic()
        elif time.monotonic() - progress_at > STALLED:
            states = Counter(state for (state,) in Message.select(Message.state).tuples())
            raise RuntimeError(f"stalled at {sent:,} of {count:,} SENT: {dict(states)}")


def commlog_rate(sink: Sink, port: int, count: int, processes: int, threads: int, store) -> dict:
    """Messages/s from QUEUED to SENT with `processes` workers of `threads` threads each: the
    workers are started and idle, the messages are queued, then the clock starts and the workers
    are woken. Returns the rate and the CPU µs per message of the workers, the sink and the
    database and queue servers (PostgreSQL's backends are its children)."""
    from shared.db import connect, db
    from shared.migrations import migrate
    from shared.models import Backend, Message, WorkerHeartbeat, new_uid, now
    from worker.queue import huey, make_huey
    from worker.tasks import send_due

    env = {
        **os.environ,
        "COMMLOG_HOME": str(store.home),
        "COMMLOG_DATABASE_URL": store.db_url,
        "COMMLOG_QUEUE_URL": store.queue_url,
    }
    connect(store.db_url)
    migrate()
    huey.storage = make_huey(store.queue_url).storage
    backend = Backend.create(
        name="sink", channel="email", url=f"smtp://127.0.0.1:{port}", is_default=True
    )
    workers = []
    try:
        for i in range(processes):
            args = [PY, "-m", "console.cli", "worker", "-w", str(threads)]
            if i:
                args.append("--no-periodic")
            with open(store.home / f"worker-{i}.log", "w") as log:
                workers.append(
                    subprocess.Popen(
                        args, env=env, cwd=store.home, stdout=log, stderr=subprocess.STDOUT
                    )
                )
        while WorkerHeartbeat.select().count() < processes:
            for i, w in enumerate(workers):
                if w.poll() is not None:
                    log = (store.home / f"worker-{i}.log").read_text()[-3000:]
                    raise RuntimeError(f"worker {i} exited at start:\n{log}")
            time.sleep(0.05)
        rows = [
            dict(
                uid=new_uid(),
                channel="email",
                recipient=f"client{i}@example.com",
                subject=SUBJECT,
                body_text=BODY,
                backend=backend.id,
                state="QUEUED",
                queued_at=now(),
                metadata={},
            )
            for i in range(count)
        ]
        with db.atomic():
            for start in range(0, count, 500):
                Message.insert_many(rows[start : start + 500]).execute()
        groups = {"cpu_us": [w.pid for w in workers], "sink_cpu_us": [sink.pid]}
        groups["db_cpu_us"] = store.pids

        def cpu():
            return {k: sum(cpu_seconds(pid, children=True) for pid in v) for k, v in groups.items()}

        with sink.expect(count, f"commlog {processes}x{threads}"):
            cpu_before = cpu()
            started = time.perf_counter()
            send_due(backend.id)
            wait_until_sent(count)
            elapsed = time.perf_counter() - started
            used = {k: (v - cpu_before[k]) / count * 1e6 for k, v in cpu().items()}
    finally:
        for w in workers:
            w.terminate()
        for w in workers:
            w.wait()
    if not store.pids:
        used["db_cpu_us"] = None
    return dict(rate=count / elapsed, **used)


def post_office_rate(sink: Sink, port: int, count: int, processes: int) -> dict:
    """django-post_office's `send_queued_mail` for `count` queued emails (its own figures, and
    the sink's CPU µs per message over the whole run, queueing included)."""
    from bench.post_office import ensure_venv

    python = ensure_venv()
    sink_before = cpu_seconds(sink.pid)
    with sink.expect(count, f"post_office --processes {processes}"):
        run = subprocess.run(
            [python, "-m", "bench.post_office", str(port), "-n", str(count)]
            + ["--processes", str(processes)],
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        if run.returncode != 0:
            raise RuntimeError(f"bench/post_office.py failed:\n{run.stderr[-3000:]}")
    result = json.loads(run.stdout.strip().splitlines()[-1])
    if result["sent"] != count:
        raise RuntimeError(f"post_office sent {result['sent']} of {count}")
    result["sink_cpu_us"] = (cpu_seconds(sink.pid) - sink_before) / count * 1e6
    return result


def configs(text: list[str]) -> list[tuple[int, int]]:
    return [tuple(int(x) for x in config.split("x")) for config in text]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=10_000, help="messages per run")
    parser.add_argument("--database", nargs="+", choices=["sqlite", "postgres"], default=["sqlite"])
    parser.add_argument(
        "--configs", nargs="+", default=CONFIGS["sqlite"], help="SQLite runs: PROCESSESxTHREADS"
    )
    parser.add_argument(
        "--pg-configs", nargs="+", default=CONFIGS["postgres"], help="PostgreSQL runs"
    )
    parser.add_argument("--no-peer", action="store_true", help="skip django-post_office")
    parser.add_argument("--json", type=Path, help="write the figures there too (bench/all.py)")
    args = parser.parse_args()
    stop_on_sigterm()
    chosen = {"sqlite": configs(args.configs), "postgres": configs(args.pg_configs)}

    runs = [
        (f"commlog {NAMES[database]}, {p} x {t}", "commlog", database, p, t)
        for database in args.database
        for p, t in chosen[database]
    ]
    if not args.no_peer:
        runs += [
            ("post_office send_queued_mail", "post_office", "sqlite", 1, None),
            ("post_office send_queued_mail --processes 2", "post_office", "sqlite", 2, None),
        ]
    started_load = load_average()
    print(f"machine: {machine()}, {versions()}")
    print(f"date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, load average {started_load}")
    print(
        f"{args.n:,} emails per line, {len(mail_bytes())} bytes each; commlog P x T: P worker "
        "processes of T threads"
    )
    print(
        f"the limit of each line: {LIMIT_CLIENTS} smtplib clients over reused connections, "
        "measured just before and just after it (mean)"
    )
    print(f"{'':72} CPU µs per message")
    print(
        f"{'what':49} {'msg/s':>6} {'limit':>6} {'of it':>6}  {'sender':>7} {'sink':>6} "
        f"{'db+queue':>6}"
    )
    lines, versions_peer = [], ""
    port = free_port()
    servers = postgres_and_redis() if "postgres" in args.database else nullcontext()
    sink = None
    try:
        with servers as started:
            sink = Sink(port)
            for clients in (1, 2):
                rate = sink_limit(sink, port, args.n, clients)
                print(f"{f'sink limit: {clients} smtplib client(s), reused':49} {rate:6.0f}")
                lines.append(dict(what=f"sink limit, {clients} clients", kind="limit", rate=rate))
            before = sink_limit(sink, port, args.n, LIMIT_CLIENTS)
            print(f"{f'sink limit: {LIMIT_CLIENTS} smtplib clients, reused':49} {before:6.0f}")
            for label, kind, database, processes, threads in runs:
                if kind == "commlog":
                    with fresh_store(database, started) as store:
                        line = commlog_rate(sink, port, args.n, processes, threads, store)
                else:
                    line = post_office_rate(sink, port, args.n, processes)
                    versions_peer = line.pop("versions")
                after = sink_limit(sink, port, args.n, LIMIT_CLIENTS)
                line.update(
                    what=label,
                    kind=kind,
                    database=database,
                    processes=processes,
                    threads=threads,
                    limit=(before + after) / 2,
                )
                before = after
                lines.append(line)
                db_cpu = f"{line['db_cpu_us']:6.0f}" if line.get("db_cpu_us") else ""
                print(
                    f"{label:49} {line['rate']:6.0f} {line['limit']:6.0f} "
                    f"{line['rate'] / line['limit']:6.0%}  {line['cpu_us']:7.0f} "
                    f"{line['sink_cpu_us']:6.0f} {db_cpu}",
                    flush=True,
                )
    finally:
        if sink:
            sink.stop()
    if versions_peer:
        print(f"post_office: {versions_peer}, its default settings, SQLite")
    peers = [line["rate"] for line in lines if line["kind"] == "post_office"]
    if peers:
        print(f"commlog / post_office (its best line here, {max(peers):.0f} msg/s):")
        for line in lines:
            if line["kind"] == "commlog":
                print(f"  {line['what']}: {line['rate'] / max(peers):.2f}x")
    ended_load = load_average()
    print(f"load average at the end: {ended_load}")
    write_results(
        args.json,
        dict(n=args.n, lines=lines, peer=versions_peer, load=[started_load, ended_load]),
    )


if __name__ == "__main__":
    main()
