"""Send throughput: N emails from QUEUED to SENT into a local counting SMTP sink, with, in the
same run, the sink's own limit (plain smtplib clients over reused connections, sending the same
bytes commlog sends) and django-post_office, the best-known Python peer, into the same sink.

    .venv/bin/python bench/send.py [-n 10000] [--configs 1x1 1x2 1x4 2x4] [--no-peer]

A config PxT is P worker processes (`commlog worker -w T`; all but the first with
`--no-periodic`). The peer runs in its own virtual environment under /tmp, made on first use
(see bench/post_office.py). Prints a table with the machine, the date and the load average.
Nothing here is a test: it measures.
"""

import argparse
import json
import os
import platform
import shutil
import smtplib
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from multiprocessing import Pool
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PY = sys.executable

# every sender sends this message, to client0@example.com, client1@example.com, …
SUBJECT = "Your repayment is due"
BODY = "Dear client, it is due."
FROM = "commlog@localhost"
LIMIT_CLIENTS = 4  # the sink takes the most from 4 clients (SPEC §8: 2 / 4 clients)


def machine() -> str:
    lines = Path("/proc/cpuinfo").read_text().splitlines()
    models = [line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")]
    cpu = models[0] if models else platform.processor()
    return f"{os.cpu_count()} cores, {cpu}, Python {platform.python_version()}"


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_sink(port: int) -> subprocess.Popen:
    sink = subprocess.Popen(
        [PY, str(ROOT / "bench" / "sink.py"), str(port)], stdout=subprocess.PIPE, text=True
    )
    assert sink.stdout.readline().strip() == "ready"
    return sink


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


def sink_limit(port: int, total: int, clients: int) -> float:
    """Messages/s that `clients` smtplib processes push into the sink over reused connections."""
    per = total // clients
    mail = mail_bytes()
    with Pool(clients) as pool:
        started = time.perf_counter()
        sent = sum(pool.map(_client, [(port, per, mail)] * clients))
        return sent / (time.perf_counter() - started)


def commlog_rate(
    port: int, sink_pid: int, count: int, processes: int, threads: int
) -> tuple[float, float, float]:
    """Messages/s from QUEUED to SENT with `processes` workers of `threads` threads each: the
    workers are started and idle, the messages are queued, then the clock starts and the workers
    are woken. Returns (messages/s, the workers' CPU µs per message, the sink's)."""
    from shared.db import connect, db
    from shared.models import Backend, Message, WorkerHeartbeat, create_schema, new_uid, now
    from worker.queue import huey, make_huey
    from worker.tasks import send_due

    home = Path(tempfile.mkdtemp(prefix="commlog-bench-"))
    env = {**os.environ, "COMMLOG_HOME": str(home)}
    env.pop("COMMLOG_DATABASE_URL", None)
    env.pop("COMMLOG_QUEUE_URL", None)
    connect(f"sqlite:///{home}/commlog.db")
    create_schema()
    huey.storage = make_huey(f"sqlite:///{home}/queue.db").storage
    backend = Backend.create(
        name="sink", channel="email", url=f"smtp://127.0.0.1:{port}", is_default=True
    )
    workers = []
    for i in range(processes):
        args = [PY, "-m", "console.cli", "worker", "-w", str(threads)]
        if i:
            args.append("--no-periodic")
        workers.append(
            subprocess.Popen(
                args, env=env, cwd=home, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
        )
    try:
        while WorkerHeartbeat.select().count() < processes:
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
        pids = [w.pid for w in workers] + [sink_pid]
        cpu_before = [cpu_seconds(pid) for pid in pids]
        started = time.perf_counter()
        send_due(backend.id)
        sent = Message.select().where(Message.state == "SENT")
        while sent.count() < count:
            time.sleep(0.05)
        elapsed = time.perf_counter() - started
        cpu = [cpu_seconds(pid) - before for pid, before in zip(pids, cpu_before, strict=True)]
    finally:
        for w in workers:
            w.terminate()
        for w in workers:
            w.wait()
        db.close()
        shutil.rmtree(home, ignore_errors=True)
    return count / elapsed, sum(cpu[:-1]) / count * 1e6, cpu[-1] / count * 1e6


def post_office_rate(port: int, sink_pid: int, count: int, processes: int) -> dict:
    """django-post_office's `send_queued_mail` for `count` queued emails (its own figures, and
    the sink's CPU µs per message over the whole run, queueing included)."""
    from bench.post_office import ensure_venv

    python = ensure_venv()
    sink_before = cpu_seconds(sink_pid)
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
    result["sink_cpu_us"] = (cpu_seconds(sink_pid) - sink_before) / count * 1e6
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=10_000, help="messages per run")
    parser.add_argument(
        "--configs",
        nargs="+",
        default=["1x1", "1x2", "1x4", "2x4"],
        help="commlog runs: PROCESSESxTHREADS",
    )
    parser.add_argument("--no-peer", action="store_true", help="skip django-post_office")
    args = parser.parse_args()
    configs = [tuple(int(x) for x in config.split("x")) for config in args.configs]

    port = free_port()
    sink = start_sink(port)
    print(f"machine: {machine()}")
    print(f"date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, load average {load_average()}")
    print(f"{args.n:,} emails per line, {len(mail_bytes())} bytes each, SQLite + SqliteHuey")
    print(
        f"the limit of each line: {LIMIT_CLIENTS} smtplib clients over reused connections, "
        "measured just before and just after it (mean)"
    )
    print(f"{'':67} CPU µs per message")
    print(f"{'what':44} {'msg/s':>6} {'limit':>6} {'of it':>6}  {'sender':>7} {'sink':>6}")
    runs = [(f"commlog, {p} process(es) x {t} thread(s)", "commlog", p, t) for p, t in configs]
    if not args.no_peer:
        runs += [
            ("post_office send_queued_mail", "post_office", 1, None),
            ("post_office send_queued_mail --processes 2", "post_office", 2, None),
        ]
    lines, versions = [], ""
    try:
        for clients in (1, 2):
            rate = sink_limit(port, args.n, clients)
            print(f"{f'sink limit: {clients} smtplib client(s), reused':44} {rate:6.0f}")
        before = sink_limit(port, args.n, LIMIT_CLIENTS)
        print(f"{f'sink limit: {LIMIT_CLIENTS} smtplib clients, reused':44} {before:6.0f}")
        for label, kind, processes, threads in runs:
            if kind == "commlog":
                rate, cpu, sink_cpu = commlog_rate(port, sink.pid, args.n, processes, threads)
            else:
                peer = post_office_rate(port, sink.pid, args.n, processes)
                rate, cpu, sink_cpu = peer["rate"], peer["cpu_us"], peer["sink_cpu_us"]
                versions = peer["versions"]
            after = sink_limit(port, args.n, LIMIT_CLIENTS)
            limit = (before + after) / 2
            before = after
            lines.append((label, kind, rate, limit))
            print(
                f"{label:44} {rate:6.0f} {limit:6.0f} {rate / limit:6.0%}  {cpu:7.0f} "
                f"{sink_cpu:6.0f}",
                flush=True,
            )
    finally:
        sink.terminate()
        sink.wait()
    if versions:
        print(f"post_office: {versions}, its default settings")
    peers = [rate for _, kind, rate, _ in lines if kind == "post_office"]
    if peers:
        print(f"commlog / post_office (its best line here, {max(peers):.0f} msg/s):")
        for label, kind, rate, _ in lines:
            if kind == "commlog":
                print(f"  {label}: {rate / max(peers):.2f}x")
    print(f"load average at the end: {load_average()}")


if __name__ == "__main__":
    main()
