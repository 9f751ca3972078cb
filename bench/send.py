"""Send throughput: N emails from QUEUED to SENT into a local counting SMTP sink, and in the same
run the sink's own limit (plain smtplib clients over reused connections).

    .venv/bin/python bench/send.py [-n 10000] [--threads 4] [--processes 1 2]

Prints a table with the machine. Nothing here is a test: it measures.
"""

import argparse
import os
import platform
import shutil
import smtplib
import subprocess
import sys
import tempfile
import time
from multiprocessing import Pool
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PY = sys.executable


def machine() -> str:
    lines = Path("/proc/cpuinfo").read_text().splitlines()
    models = [line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")]
    cpu = models[0] if models else platform.processor()
    return f"{os.cpu_count()} cores, {cpu}, Python {platform.python_version()}"


def start_sink(port: int) -> subprocess.Popen:
    sink = subprocess.Popen(
        [PY, str(ROOT / "bench" / "sink.py"), str(port)], stdout=subprocess.PIPE, text=True
    )
    assert sink.stdout.readline().strip() == "ready"
    return sink


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


MAIL = (
    b"From: bench@example.com\r\nTo: client@example.com\r\nSubject: Bench\r\n"
    b"Message-ID: <x@bench>\r\n\r\nYour repayment is due on Friday.\r\n"
)


def _client(args) -> int:
    port, count = args
    smtp = smtplib.SMTP("127.0.0.1", port)
    for _ in range(count):
        smtp.sendmail("bench@example.com", ["client@example.com"], MAIL)
    smtp.quit()
    return count


def sink_limit(port: int, total: int, clients: int) -> float:
    """Messages/s that `clients` smtplib processes push into the sink over reused connections."""
    per = total // clients
    started = time.perf_counter()
    with Pool(clients) as pool:
        sent = sum(pool.map(_client, [(port, per)] * clients))
    return sent / (time.perf_counter() - started)


def commlog_rate(port: int, count: int, threads: int, processes: int) -> float:
    """Messages/s from QUEUED to SENT with `processes` workers of `threads` threads each: the
    workers are started and idle first, then the messages are queued and the clock starts."""
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
                subject="Your repayment is due",
                body_text="Dear client, it is due.",
                backend=backend.id,
                state="QUEUED",
                queued_at=now(),
                metadata={},
            )
            for i in range(count)
        ]
        started = time.perf_counter()
        with db.atomic():
            for start in range(0, count, 500):
                Message.insert_many(rows[start : start + 500]).execute()
        send_due(backend.id)
        sent = Message.select().where(Message.state == "SENT")
        while sent.count() < count:
            time.sleep(0.05)
        elapsed = time.perf_counter() - started
    finally:
        for w in workers:
            w.terminate()
        for w in workers:
            w.wait()
        db.close()
        shutil.rmtree(home, ignore_errors=True)
    return count / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=10_000, help="messages per run")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()

    port = free_port()
    sink = start_sink(port)
    try:
        print(f"machine: {machine()}")
        print(f"{'what':58} {'msg/s':>8}")
        limits = {}
        for clients in (1, 2):
            limits[clients] = sink_limit(port, args.n, clients)
            print(
                f"{f'sink limit: {clients} smtplib client(s), connection reused':58} "
                f"{limits[clients]:8.0f}"
            )
        best = max(limits.values())
        for processes in args.processes:
            for threads in args.threads:
                rate = commlog_rate(port, args.n, threads, processes)
                label = (
                    f"commlog QUEUED->SENT, SQLite, {processes} process(es) x {threads} thread(s)"
                )
                print(f"{label:58} {rate:8.0f}  ({rate / best:.0%} of the sink's limit)")
    finally:
        sink.terminate()
        sink.wait()


if __name__ == "__main__":
    main()
