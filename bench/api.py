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
import platform
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
WIDTH = 52  # of the table's first column


def machine() -> str:
    lines = Path("/proc/cpuinfo").read_text().splitlines()
    models = [line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")]
    cpu = models[0] if models else platform.processor()
    return f"{os.cpu_count()} cores, {cpu}, Python {platform.python_version()}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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


def cpu_seconds(pid: int) -> float:
    """CPU time used so far by a process and its live children (gunicorn's worker)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # a process that just ended
        if stat.parent.name == str(pid) or fields[1] == str(pid):  # itself, or its child
            total += (int(fields[11]) + int(fields[12])) / ticks  # utime + stime
    return total


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
    args = parser.parse_args()

    print(f"# {machine()}; SQLite; commlog web with {args.web_threads} threads")
    # other work on the machine skews every figure: say how busy it was
    print(f"# load average at the start: {os.getloadavg()[0]:.1f}")
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
        try:
            submit(url, token, args.batch * 5, args.batch, 1, wrong=False)  # warm up
            for threads in args.threads:
                for wrong, what in (
                    (True, "checked only (the last one wrong: a 400)"),
                    (False, "stored (202)"),
                ):
                    cpu = cpu_seconds(web.pid)
                    seconds = submit(url, token, args.n, args.batch, threads, wrong, args.html)
                    cpu = cpu_seconds(web.pid) - cpu
                    label = f"{what}, {threads} client{'s' if threads > 1 else ''}"
                    print(
                        f"| {label:<{WIDTH}} | {args.n / seconds:8,.0f} | {args.n / cpu:20,.0f} |",
                        flush=True,
                    )
        finally:
            web.terminate()
            web.wait(10)
    print(f"\n# load average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
