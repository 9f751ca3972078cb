"""Excel export speed and memory: commlog's export of N messages with full text, against raw
xlsxwriter (constant_memory) writing the same cells, in the same run.

    .venv/bin/python bench/export.py [-n 10000 100000] [--html]

Each message has about 1 KB of text; with --html also an HTML body of the same words (an email
with both parts), whose visible text commlog works out when the message is stored
(`body_html_text`) and both sides write as it is stored. Each measurement runs in its own
process, so that its peak memory (ru_maxrss) is its own.
"""

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from html import escape
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import ROOT, load_average, machine, stop_on_sigterm, write_results  # noqa: E402

TEXT = (
    "Dear client,\n\nthis is a reminder that your repayment of 120.00 EUR for loan "
    "LN-458731 is due on 2 December 2026. You can pay at any branch or by transfer. "
) * 7


def html_body(subject: str, text: str) -> str:
    """An HTML email body of the kind senders send: a heading, paragraphs, a footer."""
    paragraphs = "".join(f"<p>{escape(p).replace(chr(10), '<br>')}</p>" for p in text.split("\n\n"))
    return (
        '<!doctype html><html><body style="font-family:Arial,sans-serif;color:#222">'
        f'<h2 style="color:#0b5394">{escape(subject)}</h2>{paragraphs}'
        '<p style="color:#888;font-size:12px">Example Bank &middot; You receive this email '
        "because you are a client of ours.</p></body></html>"
    )


def load(db_path: str, count: int, html: bool = False) -> None:
    """A database with `count` messages of about 1 KB of text each (and an HTML body)."""
    from shared.db import connect, db
    from shared.html_text import html_text
    from shared.models import Backend, Message, create_schema, new_uid, now

    connect(f"sqlite:///{db_path}")
    create_schema()
    backend = Backend.create(name="b", channel="email", url="smtp://127.0.0.1:25")
    at = now()

    def body(i):
        return html_body(f"Your repayment is due ({i})", TEXT) if html else None

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
                        body_html=body(i),
                        body_html_text=html_text(body(i)),  # as the outbox stores it
                        backend=backend.id,
                        state="SENT",
                        created_at=at,
                        sent_at=at,
                        metadata={},
                    )
                    for i in range(start, min(start + 1000, count))
                ]
            ).execute()


COLUMNS = ["created", "sent", "state", "channel", "recipient", "subject", "sender"]
# commlog's widths of those columns and of its text columns (subject, text, HTML, why, uid)
WIDTHS = [17, 17, 14, 9, 30, 40, 18, 40, 60, 60, 40, 34]


def run_commlog(db_path: str, out: str) -> tuple[int, float, float]:
    """(rows, wall seconds, CPU seconds) of commlog's export, imports and connecting aside."""
    # export_query's own imports, which a web process has loaded already
    import werkzeug.datastructures  # noqa: F401

    import shared.log_filters  # noqa: F401
    from shared.db import connect
    from shared.export import export_query, write_export

    connect(f"sqlite:///{db_path}")
    started, cpu = time.perf_counter(), time.process_time()
    rows = write_export(out, export_query([], None), COLUMNS, [("View", "bench")])
    return rows, time.perf_counter() - started, time.process_time() - cpu


def run_raw(db_path: str, out: str) -> tuple[int, float, float]:
    """The floor: xlsxwriter constant_memory writing the same cells from plain sqlite3 rows."""
    import sqlite3

    import xlsxwriter

    started, cpu = time.perf_counter(), time.process_time()
    workbook = xlsxwriter.Workbook(out, {"constant_memory": True})
    sheet = workbook.add_worksheet()
    date = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    # the same look: long text wrapped in the wide columns (a style on each of their cells)
    wrap = workbook.add_format({"text_wrap": True, "valign": "top"})
    for col, width in enumerate(WIDTHS):
        sheet.set_column(col, col, width, wrap if width >= 40 else None)
    conn = sqlite3.connect(db_path)
    # the cells commlog writes: sender is "System" for these messages, the HTML's stored text
    query = (
        "SELECT created_at, sent_at, state, channel, recipient, subject, "
        "coalesce(sender_id, 'System'), subject, body_text, body_html_text, state_reason, uid "
        "FROM message ORDER BY id DESC"
    )
    row = 0
    for values in conn.execute(query):
        row += 1
        for col, value in enumerate(values):
            if col < 2:
                sheet.write_datetime(row, col, datetime.fromisoformat(value), date)
            elif value:
                sheet.write_string(row, col, value)
    workbook.close()
    return row, time.perf_counter() - started, time.process_time() - cpu


def child(kind: str, db_path: str) -> None:
    with tempfile.NamedTemporaryFile(suffix=".xlsx") as out:
        rows, seconds, cpu = (run_commlog if kind == "commlog" else run_raw)(db_path, out.name)
        size = os.path.getsize(out.name)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{rows} {seconds:.3f} {cpu:.3f} {peak_mb:.0f} {size}")


def measure(kind: str, db_path: str) -> tuple[int, float, float, float, int]:
    """(rows, wall seconds, CPU seconds, peak MB, file bytes) of one run in its own process."""
    out = subprocess.run(
        [sys.executable, __file__, "--child", kind, db_path],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    return int(out[0]), float(out[1]), float(out[2]), float(out[3]), int(out[4])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--html", action="store_true", help="messages with an HTML body too")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each, taking the fastest")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--json", type=Path, help="write the figures there too (bench/all.py)")
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    stop_on_sigterm()
    started_load = load_average()
    print(f"machine: {machine()}; load average {started_load}")
    print(f"messages: about 1 KB of text{' and an HTML body' if args.html else ''} each")
    # on a shared machine the wall time swings with the load; the CPU time much less
    print(f"{'what':44} {'rows/s':>8} {'CPU rows/s':>10} {'peak MB':>8} {'file MB':>8}")
    figures = []
    for count in args.n:
        with tempfile.TemporaryDirectory() as scratch:
            os.environ["COMMLOG_HOME"] = scratch
            db_path = f"{scratch}/bench.db"
            subprocess.run(
                [
                    sys.executable,
                    "-c",
                    f"import sys; sys.path.insert(0, {str(ROOT)!r});"
                    f"from bench.export import load; load({db_path!r}, {count}, {args.html})",
                ],
                check=True,
                env={**os.environ, "COMMLOG_HOME": scratch},
            )
            runs = {"raw": [], "commlog": []}
            for _ in range(args.repeat):  # interleaved, so that both see the same load
                for kind, results in runs.items():
                    results.append(measure(kind, db_path))
            best = {kind: min(results, key=lambda r: r[1]) for kind, results in runs.items()}
            for kind, (rows, seconds, cpu, peak, size) in best.items():
                if rows != count:
                    raise SystemExit(f"{kind} wrote {rows:,} rows, not {count:,}")
                label = f"{kind} xlsxwriter constant_memory" if kind == "raw" else "commlog export"
                print(
                    f"{label + f', {rows:,} rows':44} {rows / seconds:8.0f} {rows / cpu:10.0f} "
                    f"{peak:8.0f} {size / 1e6:8.1f}"
                )
            wall = best["raw"][1] / best["commlog"][1]
            cpu = min(r[2] for r in runs["raw"]) / min(r[2] for r in runs["commlog"])
            print(f"{'  commlog / raw':44} {wall:8.0%} {cpu:10.0%}")
            figures.append(
                dict(
                    rows=count,
                    html=args.html,
                    raw_rate=count / best["raw"][1],
                    rate=count / best["commlog"][1],
                    of_raw=wall,
                    cpu_of_raw=cpu,
                    peak_mb=best["commlog"][3],
                    raw_peak_mb=best["raw"][3],
                )
            )
    ended_load = load_average()
    print(f"load average at the end: {ended_load}")
    write_results(args.json, dict(lines=figures, load=[started_load, ended_load]))


if __name__ == "__main__":
    main()
