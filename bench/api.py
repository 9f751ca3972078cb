"""API submit throughput: N messages through POST /api/messages in batches, against `commlog web`
(gunicorn, one process with threads) on a fresh COMMLOG_HOME, from 1 and 2 client threads with
kept-alive connections. No worker runs: this measures taking messages in, not sending them.

    .venv/bin/python bench/api.py [-n 10000] [--batch 100] [--threads 1 2]

In the same run, the same batches with one message wrong at the end (a client id that does not
exist): everything but the writes (HTTP, JSON, checking every message, looking the ids up),
which is what the writes are compared with. Prints a table with the machine. Not a test.
"""

import argparse
import os
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import (  # noqa: E402
    PY,
    ROOT,
    cpu_seconds,
    free_port,
    load_average,
    machine,
    stop_on_sigterm,
    write_results,
)

WIDTH = 52  # of the table's first column


def commlog(args: list[str], env: dict, cwd: Path) -> str:
    result = subprocess.run(
        [PY, "-m", "console.cli", *args], env=env, cwd=cwd, capture_output=True, text=True
    )
    if result.returncode != 0:
        raise SystemExit(f"commlog {' '.join(args)} failed:\n{result.stderr}")
    return result.stdout


def start_web(env: dict, cwd: Path, port: int, threads: int) -> subprocess.Popen:
    web = subprocess.Popen(
        [PY, "-m", "console.cli", "web", "--port", str(port), "--threads", str(threads)],
        env=env,
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    try:
        while time.monotonic() < deadline:
            try:
                requests.get(f"http://127.0.0.1:{port}/api/openapi.json", timeout=10)
                return web
            except requests.RequestException:
                time.sleep(0.1)
        raise SystemExit("commlog web did not start")
    except BaseException:
        web.kill()
        raise


HTML = (
    '<!doctype html><html><body style="font-family:Arial,sans-serif">'
    "<h2>Your repayment is due</h2><p>Dear client,</p>"
    "<p>your repayment of <b>120.00 EUR</b> is due on Friday.</p></body></html>"
)


def batch(start: int, size: int, wrong: bool = False, html: bool = False) -> list[dict]:
    messages = [
        {
            "channel": "email",
            "recipient": f"client{start + i}@example.com",
            "subject": "Your repayment is due",
            "body_text": "Dear client,\n\nyour repayment of 120.00 EUR is due on Friday.\n",
            "kind": "loan.repayment_due",
            "metadata": {"loan": f"L-{start + i}"},
        }
        for i in range(size)
    ]
    if html:  # both parts, as most senders send them: the outbox stores the HTML's text too
        for message in messages:
            message["body_html"] = HTML
    if wrong:
        messages[-1]["client"] = 10**9
    return messages


def submit(
    url: str, token: str, count: int, size: int, threads: int, wrong: bool, html: bool = False
) -> float:
    """Seconds to submit `count` messages in batches of `size` from `threads` clients."""
    expected = 400 if wrong else 202
    batches = [batch(i, min(size, count - i), wrong, html) for i in range(0, count, size)]
    shares = [batches[t::threads] for t in range(threads)]
    failures = []
    barrier = threading.Barrier(threads + 1)

    def client(share):
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {token}"
        barrier.wait()
        for body in share:
            response = session.post(url, json=body)
            if response.status_code != expected:
                failures.append(response.text[:300])

    workers = [threading.Thread(target=client, args=(share,)) for share in shares]
    for worker in workers:
        worker.start()
    barrier.wait()
    started = time.perf_counter()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - started
    if failures:
        raise SystemExit(f"{len(failures)} batches failed, e.g. {failures[0]}")
    return elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=10_000, help="messages per run")
    parser.add_argument("--batch", type=int, default=100, help="messages per call")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2], help="client threads")
    parser.add_argument("--web-threads", type=int, default=8, help="gunicorn threads")
    parser.add_argument("--html", action="store_true", help="an HTML body in every message too")
    parser.add_argument("--json", type=Path, help="write the figures there too (bench/all.py)")
    args = parser.parse_args()
    stop_on_sigterm()

    print(f"# {machine()}; SQLite; commlog web with {args.web_threads} threads")
    # other work on the machine skews every figure: say how busy it was
    started_load = load_average()
    print(f"# load average at the start: {started_load}")
    html = ", each with an HTML body too" if args.html else ""
    print(f"# {args.n:,} messages per line, batches of {args.batch}{html}\n")
    # on a shared machine the wall time swings with the load: the server's own CPU time says
    # what it would take with a core to itself
    print(f"| {'what':<{WIDTH}} | {'msg/s':>8} | {'msg per server CPU s':>20} |")
    print(f"|{'-' * (WIDTH + 2)}|{'-' * 9}:|{'-' * 21}:|")
    with tempfile.TemporaryDirectory(prefix="commlog-bench-api-") as scratch:
        cwd = Path(scratch)
        env = dict(os.environ, COMMLOG_HOME=str(cwd / "var"), PYTHONPATH=str(ROOT))
        for name in ("COMMLOG_DATABASE_URL", "COMMLOG_QUEUE_URL"):
            env.pop(name, None)
        commlog(["init"], env, cwd)
        commlog(
            ["backend", "add", "mail", "--channel", "email", "--url", "smtp://127.0.0.1:2525"],
            env,
            cwd,
        )
        token = commlog(["token", "create", "bench"], env, cwd).strip().splitlines()[-1]
        port = free_port()
        web = start_web(env, cwd, port, args.web_threads)
        url = f"http://127.0.0.1:{port}/api/messages"
        lines = []
        try:
            submit(url, token, args.batch * 5, args.batch, 1, wrong=False)  # warm up
            for threads in args.threads:
                for wrong, what in (
                    (True, "checked only (the last one wrong: a 400)"),
                    (False, "stored (202)"),
                ):
                    cpu = cpu_seconds(web.pid, children=True)
                    seconds = submit(url, token, args.n, args.batch, threads, wrong, args.html)
                    cpu = cpu_seconds(web.pid, children=True) - cpu
                    label = f"{what}, {threads} client{'s' if threads > 1 else ''}"
                    print(
                        f"| {label:<{WIDTH}} | {args.n / seconds:8,.0f} | {args.n / cpu:20,.0f} |",
                        flush=True,
                    )
                    lines.append(
                        dict(
                            what=label,
                            stored=not wrong,
                            clients=threads,
                            rate=args.n / seconds,
                            cpu_rate=args.n / cpu,
                        )
                    )
        finally:
            web.terminate()
            web.wait(10)
        # every 202 stored its batch, every 400 nothing
        database = sqlite3.connect(cwd / "var" / "commlog.db")
        stored = database.execute("SELECT count(*) FROM message").fetchone()[0]
        database.close()
        expected = args.batch * 5 + args.n * len(args.threads)
        if stored != expected:
            raise SystemExit(f"{stored:,} messages stored, not {expected:,}")
    ended_load = load_average()
    print(f"\n# load average at the end: {ended_load}")
    write_results(
        args.json,
        dict(n=args.n, batch=args.batch, lines=lines, load=[started_load, ended_load]),
    )


if __name__ == "__main__":
    main()
