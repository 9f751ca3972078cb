"""Excel export speed and memory: commlog's export of N messages with full text, against raw
xlsxwriter (constant_memory) writing the same rows, in the same run.

    .venv/bin/python bench/export.py [-n 10000 100000]

Each measurement runs in its own process, so that its peak memory (ru_maxrss) is its own.
"""

import argparse
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TEXT = (
    "Dear client,\n\nthis is a reminder that your repayment of 120.00 EUR for loan "
    "LN-458731 is due on 2 December 2026. You can pay at any branch or by transfer. "
) * 7


def machine() -> str:
    lines = Path("/proc/cpuinfo").read_text().splitlines()
    models = [line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")]
    cpu = models[0] if models else "?"
    return f"{os.cpu_count()} cores, {cpu}, Python {platform.python_version()}"


def load(db_path: str, count: int) -> None:
    """A database with `count` messages of about 1 KB of text each."""
    from shared.db import connect, db
    from shared.models import Backend, Message, create_schema, new_uid, now

    connect(f"sqlite:///{db_path}")
    create_schema()
    backend = Backend.create(name="b", channel="email", url="smtp://127.0.0.1:25")
    at = now()
    with db.atomic():
        for start in range(0, count, 1000):
            Message.insert_many(
                [
                    dict(
                        uid=new_uid(),
                        channel="email",
                        recipient=f"client{i}@example.com",
                        subject=f"Your repayment is due ({i})",
                        body_text=TEXT,
                        backend=backend.id,
                        state="SENT",
                        created_at=at,
                        sent_at=at,
                        metadata={},
                    )
                    for i in range(start, min(start + 1000, count))
                ]
            ).execute()


def run_commlog(db_path: str, out: str) -> tuple[int, float]:
    from shared.db import connect
    from shared.export import export_query, write_export

    connect(f"sqlite:///{db_path}")
    columns = ["created", "sent", "state", "channel", "recipient", "subject", "sender"]
    started = time.perf_counter()
    rows = write_export(out, export_query([], None), columns, [("View", "bench")])
    return rows, time.perf_counter() - started


def run_raw(db_path: str, out: str) -> tuple[int, float]:
    """The floor: xlsxwriter constant_memory writing the same cells from plain sqlite3 rows."""
    import sqlite3

    import xlsxwriter

    started = time.perf_counter()
    workbook = xlsxwriter.Workbook(out, {"constant_memory": True})
    sheet = workbook.add_worksheet()
    date = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    conn = sqlite3.connect(db_path)
    query = (
        "SELECT created_at, sent_at, state, channel, recipient, subject, subject, body_text, "
        "state_reason, uid FROM message ORDER BY id DESC"
    )
    row = 0
    from datetime import datetime

    for values in conn.execute(query):
        row += 1
        for col, value in enumerate(values):
            if col < 2:
                sheet.write_datetime(row, col, datetime.fromisoformat(value), date)
            elif value:
                sheet.write_string(row, col, value)
    workbook.close()
    return row, time.perf_counter() - started


def child(kind: str, db_path: str) -> None:
    with tempfile.NamedTemporaryFile(suffix=".xlsx") as out:
        rows, seconds = (run_commlog if kind == "commlog" else run_raw)(db_path, out.name)
        size = os.path.getsize(out.name)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{rows} {seconds:.3f} {peak_mb:.0f} {size}")


def measure(kind: str, db_path: str) -> tuple[int, float, float, int]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", kind, db_path],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    return int(out[0]), float(out[1]), float(out[2]), int(out[3])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    print(f"machine: {machine()}")
    print(f"{'what':44} {'rows/s':>8} {'peak MB':>8} {'file MB':>8}")
    for count in args.n:
        with tempfile.TemporaryDirectory() as scratch:
            os.environ["COMMLOG_HOME"] = scratch
            db_path = f"{scratch}/bench.db"
            subprocess.run(
                [
                    sys.executable,
                    "-c",
                    f"import sys; sys.path.insert(0, {str(ROOT)!r});"
                    f"from bench.export import load; load({db_path!r}, {count})",
                ],
                check=True,
                env={**os.environ, "COMMLOG_HOME": scratch},
            )
            results = {kind: measure(kind, db_path) for kind in ("raw", "commlog")}
            for kind, (rows, seconds, peak, size) in results.items():
                label = f"{kind} xlsxwriter constant_memory" if kind == "raw" else "commlog export"
                print(
                    f"{label + f', {rows:,} rows':44} {rows / seconds:8.0f} {peak:8.0f} "
                    f"{size / 1e6:8.1f}"
                )
            ratio = (results["commlog"][0] / results["commlog"][1]) / (
                results["raw"][0] / results["raw"][1]
            )
            print(f"{'  commlog / raw':44} {ratio:8.0%}")


if __name__ == "__main__":
    main()
