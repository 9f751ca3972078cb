"""Console latency at 1,000,000 messages: the server time of the log's first and deep pages,
every filter, body search, the client, group and user pages and the dashboard, measured
in-process through Flask's test client (routing, queries and Jinja rendering; no network).

    .venv/bin/python bench/console.py [--database sqlite|postgres] [--messages 1000000] [-r 20]
        [--only WORDS] [--plans] [--patch FILE] [--remove] [--json FILE]

SQLite: the scratch database is /tmp/commlog-bench-console/commlog.db (`--db`). PostgreSQL:
the bench runs its own server on 127.0.0.1 (tests/servers.py's, as the `postgres` user when
run as root) on a cluster kept in /tmp/commlog-bench-console-pg/ (`--pg-folder`), started on
the same data by later runs. The first run loads the demo messages (`commlog demo`'s loader;
a million took about 20 minutes on SQLite, 6 on PostgreSQL, on 2 cores; on PostgreSQL then
VACUUM ANALYZE: the statistics and visibility map that autovacuum would make); later runs reuse
them, `--remove` deletes them.
Prints a table with the machine: the median and p95 wall time of each request, and its median
CPU time (the same figure with less noise when other processes share the machine; on
PostgreSQL it leaves out the server's own CPU). `--plans` adds, for every line over target,
each SQL statement timed on its own with its plan (SQLite's EXPLAIN QUERY PLAN, PostgreSQL's
EXPLAIN (ANALYZE, BUFFERS)). `--patch FILE` runs a Python file before the app is made (and its
`patch_app(app)` after), to measure a proposed fix without editing the code. Nothing here is a
test: it measures.
"""

import argparse
import os
import re
import statistics
import sys
import time
from contextlib import contextmanager, suppress
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import (  # noqa: E402
    ROOT,
    KeptPostgres,
    admin_sql,
    load_average,
    machine,
    stop_on_sigterm,
    versions,
    write_results,
)

DEFAULT_DB = Path("/tmp/commlog-bench-console/commlog.db")
DEFAULT_PG_FOLDER = Path("/tmp/commlog-bench-console-pg")
TARGET_MS = {"sqlite": 30.0, "postgres": 60.0}  # SPEC §8
PASSWORD = "bench-console-password"
BENCH_USER = "bench-support@bench.example"
HTMX = {"HX-Request": "true", "HX-Target": "log-results"}


def use_home(home: Path, url: str) -> str:
    """Point commlog at the scratch database and its home folder before anything loads the
    config; returns the database URL."""
    if home.resolve() == ROOT or ROOT in home.resolve().parents:
        sys.exit(f"keep the scratch database out of the repository: {home}")
    home.mkdir(parents=True, exist_ok=True)
    os.environ["COMMLOG_HOME"] = str(home)
    os.environ["COMMLOG_DATABASE_URL"] = url
    os.environ["COMMLOG_QUEUE_URL"] = f"sqlite:///{home / 'queue.db'}"  # nothing is enqueued
    return url


@contextmanager
def scratch_sqlite(path: Path, remove: bool):
    """The scratch SQLite database's URL (deleted at the end with `remove`)."""
    try:
        yield use_home(path.parent, f"sqlite:///{path}")
    finally:
        if remove:
            remove_scratch(path.parent, [path.name])


@contextmanager
def scratch_postgres(folder: Path, remove: bool):
    """The scratch PostgreSQL database's URL: its own server on the cluster kept in `folder`,
    stopped at the end (and deleted with `remove`)."""
    import psycopg2

    server = KeptPostgres(folder / "postgres")
    try:
        server.start()
        with suppress(psycopg2.errors.DuplicateDatabase):  # made by an earlier run
            admin_sql(server, "CREATE DATABASE commlog")
        yield use_home(folder, server.url("commlog"))
    finally:
        if remove:
            server.remove()
            remove_scratch(folder, [])
        else:
            server.stop()


def remove_scratch(home: Path, databases: list[str]) -> None:
    """Delete the scratch databases and what commlog made next to them, and the folder if that
    leaves it empty (never anything else that is there)."""
    for name in [*databases, "queue.db", "secret_key"]:
        for suffix in ("", "-wal", "-shm"):
            (home / (name + suffix)).unlink(missing_ok=True)
    if home.is_dir() and not any(home.iterdir()):
        home.rmdir()


def ensure_messages(url: str, wanted: int) -> str:
    """Load demo messages until there are `wanted`; returns how long it took, in words."""
    from shared.db import connect, db, is_sqlite
    from shared.demo import load_demo
    from shared.migrations import migrate
    from shared.models import Message

    connect(url)
    migrate()  # an older scratch database is brought to today's schema first
    have = Message.select().count()
    if have >= wanted:
        db.close()
        return f"reused: {have:,} messages already there"
    print(f"loading {wanted - have:,} demo messages into {url} …", flush=True)
    started = time.perf_counter()
    made = load_demo(wanted - have, seed=1, progress=lambda w: print(f"  {w}", flush=True))
    seconds = time.perf_counter() - started
    if not is_sqlite():
        # what autovacuum does to a table that grew: statistics for the planner, and the
        # visibility map that index-only scans need
        started_vacuum = time.perf_counter()
        db.execute_sql("VACUUM ANALYZE")
        print(f"  VACUUM ANALYZE: {time.perf_counter() - started_vacuum:.0f} s", flush=True)
    db.close()
    print(f"loaded {made['messages']:,} messages in {seconds:.0f} s", flush=True)
    return f"loaded {made['messages']:,} messages in {seconds:.0f} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--db", type=Path, default=DEFAULT_DB, help="the scratch SQLite file")
    parser.add_argument(
        "--pg-folder", type=Path, default=DEFAULT_PG_FOLDER, help="the kept PostgreSQL cluster"
    )
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("-r", "--repeat", type=int, default=20, help="timed runs per request")
    parser.add_argument("--only", nargs="*", help="only the lines whose name has these words")
    parser.add_argument("--plans", action="store_true", help="the query plans of slow lines")
    parser.add_argument("--patch", type=Path, help="a Python file run before the app is made")
    parser.add_argument("--load-only", action="store_true")
    parser.add_argument("--remove", action="store_true", help="delete the scratch files after")
    parser.add_argument("--json", type=Path, help="write the figures there too (bench/all.py)")
    args = parser.parse_args()
    stop_on_sigterm()

    if args.database == "sqlite":
        scratch = scratch_sqlite(args.db, args.remove)
    else:
        scratch = scratch_postgres(args.pg_folder, args.remove)
    with scratch as url:
        loaded = ensure_messages(url, args.messages)
        if not args.load_only:
            run(url, args, loaded)


def log_in(client) -> None:
    """Log the bench's support user in through the form, as a person would."""
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    token = token or re.search(r'value="([^"]+)"[^>]*name="csrf_token"', page)
    response = client.post(
        "/login", data={"email": BENCH_USER, "password": PASSWORD, "csrf_token": token.group(1)}
    )
    assert response.status_code == 302, f"login failed: {response.status_code}"


def bench_user():
    from shared.models import User
    from shared.users import create_user

    user = User.get_or_none(User.email == BENCH_USER)
    return user or create_user(BENCH_USER, "support", PASSWORD, name="Bench Support")


def pick() -> dict:
    """The ids, kinds, days and words the requests use, chosen from the data (setup only:
    these queries are not timed)."""
    from peewee import SQL, fn

    from shared.models import Backend, Message, User, now

    def by(field):
        """(value, count) per value of `field`, busiest first."""
        query = Message.select(field, fn.COUNT(Message.id).alias("n")).group_by(field)
        return [(v, n) for v, n in query.order_by(SQL("n").desc()).tuples() if v is not None]

    clients = by(Message.client)
    groups = by(Message.group)
    senders = by(Message.sender)
    users = by(Message.user)
    kinds = by(Message.kind)
    backends = by(Message.backend)
    top = Message.select(fn.MAX(Message.id)).scalar()
    staff = User.select().where(User.id == senders[0][0]).get()
    today = now().date()
    return dict(
        top=top,
        busy_client=clients[0],
        avg_client=clients[len(clients) // 2],
        busy_group=groups[0],
        avg_group=groups[len(groups) // 2],
        staff=(staff.id, senders[0][1], staff.name),
        user=users[0],
        kind=kinds[0],
        rare_kind=kinds[-1],
        backend=backends[0],
        backend_name=Backend.get_by_id(backends[0][0]).name,
        today=today,
        day=today - timedelta(days=10),
        week=(today - timedelta(days=20), today - timedelta(days=14)),
        uid=Message.select(Message.uid).where(Message.id == top - 12345).scalar(),
    )


def cases(p: dict, words: dict) -> list[tuple[str, str, bool]]:
    """(what, URL, htmx?) for every request measured."""
    day, (w0, w1), today = p["day"], p["week"], p["today"]
    client, avg_client = p["busy_client"][0], p["avg_client"][0]
    group, avg_group = p["busy_group"][0], p["avg_group"][0]
    staff, user = p["staff"][0], p["user"][0]
    F = True  # the htmx results fragment: what filtering fetches
    return [
        ("log, first page, no filter (full page)", "/log", False),
        ("log, first page, no filter", "/log", F),
        ("state=FAILED (unresolved, the default)", "/log?state=FAILED", F),
        ("state=FAILED (full page)", "/log?state=FAILED", False),
        ("state=FAILED&resolved=1", "/log?state=FAILED&resolved=1", F),
        ("state=SENT", "/log?state=SENT", F),
        ("state=CANCELLED", "/log?state=CANCELLED", F),
        (
            "state=FAILED+NOT_SENT+BACKEND_TEST_REQUIRED",
            "/log?state=FAILED&state=NOT_SENT&state=BACKEND_TEST_REQUIRED",
            F,
        ),
        ("state=SENT+DELIVERED", "/log?state=SENT&state=DELIVERED", F),
        ("state=WAITING+QUEUED+SENDING", "/log?state=WAITING&state=QUEUED&state=SENDING", F),
        ("channel=sms", "/log?channel=sms", F),
        ("channel=webhook", "/log?channel=webhook", F),
        ("sender=system", "/log?sender=system", F),
        (f"sender=<staff {staff}>", f"/log?sender={staff}", F),
        ("created today (1 day)", f"/log?created_from={today}&created_to={today}", F),
        (f"created 1 day ({day})", f"/log?created_from={day}&created_to={day}", F),
        (f"created 7 days ({w0}..{w1})", f"/log?created_from={w0}&created_to={w1}", F),
        ("created_from only (7 days ago)", f"/log?created_from={today - timedelta(days=7)}", F),
        (f"created_to only ({w0})", f"/log?created_to={w0}", F),
        (f"sent 1 day ({day})", f"/log?sent_from={day}&sent_to={day}", F),
        (f"sent 7 days ({w0}..{w1})", f"/log?sent_from={w0}&sent_to={w1}", F),
        (f"kind={p['kind'][0]}", f"/log?kind={p['kind'][0]}", F),
        (f"kind={p['rare_kind'][0]} (rarest)", f"/log?kind={p['rare_kind'][0]}", F),
        (f"backend=<{p['backend_name']}>", f"/log?backend={p['backend'][0]}", F),
        (f"client=<busiest, {p['busy_client'][1]:,} msgs>", f"/log?client={client}", F),
        (f"client=<median, {p['avg_client'][1]:,} msgs>", f"/log?client={avg_client}", F),
        (f"group=<busiest, {p['busy_group'][1]:,} msgs>", f"/log?group={group}", F),
        (f"user=<{p['user'][1]:,} msgs>", f"/log?user={user}", F),
        ("state=FAILED & channel=sms", "/log?state=FAILED&channel=sms", F),
        ("state=SENT & channel=webhook", "/log?state=SENT&channel=webhook", F),
        ("client=<busiest> & state=SENT", f"/log?client={client}&state=SENT", F),
        ("client=<busiest> & state=FAILED", f"/log?client={client}&state=FAILED", F),
        ("kind & state=FAILED", f"/log?kind={p['kind'][0]}&state=FAILED", F),
        (
            "channel=email & created 7 days",
            f"/log?channel=email&created_from={w0}&created_to={w1}",
            F,
        ),
        (
            "state=FAILED & created 1 day",
            f"/log?state=FAILED&created_from={day}&created_to={day}",
            F,
        ),
        (
            f"q={words['q_state']} & state=FAILED",
            f"/log?q={quote(words['q_state'])}&state=FAILED",
            F,
        ),
        (f"q={words['common']} (common word)", f"/log?q={quote(words['common'])}", F),
        (f"q={words['rare']} (rare word)", f"/log?q={quote(words['rare'])}", F),
        (f"q={words['email']} (part of an email address)", f"/log?q={quote(words['email'])}", F),
        ("q=zqxjv (no match)", "/log?q=zqxjv", F),
        ("deep page (200 pages down), no filter", "DEEP:", F),
        ("deep page (200 pages down), no filter (full page)", "DEEP:", False),
        ("deep page (200 pages down), state=SENT", "DEEP:state=SENT", F),
        ("deep page (200 pages down), channel=sms", "DEEP:channel=sms", F),
        ("deep page, id 10 from the bottom, no filter", "BOTTOM:", F),
        (f"/clients/<busiest, {p['busy_client'][1]:,} msgs>", f"/clients/{client}", False),
        (f"/clients/<median, {p['avg_client'][1]:,} msgs>", f"/clients/{avg_client}", False),
        ("/clients/<busiest>?state=FAILED (htmx)", f"/clients/{client}?state=FAILED", F),
        (f"/groups/<busiest, {p['busy_group'][1]:,} msgs>", f"/groups/{group}", False),
        (f"/groups/<median, {p['avg_group'][1]:,} msgs>", f"/groups/{avg_group}", False),
        (f"/users/<staff {staff}, {p['staff'][1]:,} sent>", f"/users/{staff}", False),
        (f"/users/<{user}>", f"/users/{user}", False),
        ("/messages/<uid> (detail)", f"/messages/{p['uid']}", False),
        ("dashboard /", "/", False),
        # each of the week's days before today is counted again once overdue, one per request:
        # what such a request costs, and what the first request of a web process costs
        ("dashboard / (a request that counts a day again)", "RECOUNT:/", False),
        ("dashboard / (a web process's first: the six days counted)", "COLD:/", False),
    ]


def words() -> dict:
    """Search words, fixed so that runs compare (demo data is seeded)."""
    return dict(common="payment", rare="Çelik", email="okafor@", q_state="payment")


def follow_cursors(client, url: str, pages: int) -> str:
    """Follow the log's "Older" link `pages` times; the URL of the page reached."""
    for _ in range(pages):
        html = client.get(url, headers=HTMX).get_data(as_text=True)
        found = re.search(r'href="([^"]*before=\d+[^"]*)"', html)
        if not found:
            break
        url = found.group(1).replace("&amp;", "&")
    return url


def timed(client, url: str, headers: dict, repeat: int) -> tuple[list[float], list[float], str]:
    """Wall and CPU milliseconds of `repeat` requests, and what the last one showed."""
    for _ in range(2):  # warm: the page cache and Jinja's compiled templates
        response = client.get(url, headers=headers)
        assert response.status_code == 200, f"{url}: {response.status_code}"
    wall, cpu = [], []
    for _ in range(repeat):
        started, started_cpu = time.perf_counter(), time.process_time()
        response = client.get(url, headers=headers)
        wall.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
    html = response.get_data(as_text=True)
    rows = html.count('class="message"')
    count = re.search(r'<span class="count"[^>]*>([^<]*)</span>', html)
    return wall, cpu, f"{rows} rows, {count.group(1).strip() if count else '-'}"


def p95(times: list[float]) -> float:
    ordered = sorted(times)
    return ordered[max(0, -(-95 * len(ordered) // 100) - 1)]


class QueryLog:
    """Every SQL statement peewee runs while it is on (peewee logs them at DEBUG)."""

    def __init__(self):
        import logging

        self.logger = logging.getLogger("peewee")
        self.statements = []
        self.handler = logging.Handler()
        self.handler.emit = lambda record: self.statements.append(record.msg)

    def __enter__(self):
        self.logger.addHandler(self.handler)
        self.level = self.logger.level
        self.logger.setLevel("DEBUG")
        return self

    def __exit__(self, *exc):
        self.logger.removeHandler(self.handler)
        self.logger.setLevel(self.level)


def explain(client, url: str, headers: dict) -> None:
    """Each statement of one request, timed on its own, with its query plan."""
    from shared.db import db, is_sqlite

    with QueryLog() as log:
        client.get(url, headers=headers)
    sqlite = is_sqlite()
    db.connect(reuse_if_open=True)
    for sql, params in log.statements:
        if not sql.lstrip().upper().startswith(("SELECT", "WITH")):
            continue
        if sqlite:
            params = [p.isoformat(" ") if hasattr(p, "isoformat") else p for p in params]
        started = time.perf_counter()
        db.execute_sql(sql, params).fetchall()
        ms = (time.perf_counter() - started) * 1000
        if ms < 1:
            continue
        print(f"    {ms:7.1f} ms  {sql[:300]}{'…' if len(sql) > 300 else ''}")
        print(f"              params {params}")
        if sqlite:
            for row in db.execute_sql("EXPLAIN QUERY PLAN " + sql, params):
                print(f"              {'  ' * (row[1] > 0)}{row[3]}")
        else:
            for (line,) in db.execute_sql("EXPLAIN (ANALYZE, BUFFERS) " + sql, params):
                print(f"              {line}")
    db.close()


def database_size() -> tuple[str, float]:
    """What the database is and its size in MB."""
    from shared.db import db, is_sqlite

    if is_sqlite():
        path = Path(db.database)
        size = sum(f.stat().st_size for f in path.parent.glob(path.name + "*"))
        return str(path), size / 2**20
    size = db.execute_sql("SELECT pg_database_size(current_database())").fetchone()[0]
    return f"PostgreSQL database {db.database}", size / 2**20


def run(url: str, args, loaded: str) -> None:
    import console
    from console import create_app, dashboard
    from shared.db import db
    from shared.models import Message

    console._watchdog["next"] = float("inf")  # its once-a-minute check is not per request
    target_ms = TARGET_MS[args.database]
    patch: dict = {}
    if args.patch:
        exec(compile(args.patch.read_text(), str(args.patch), "exec"), patch)
    app = create_app({"DATABASE_URL": url})
    if "patch_app" in patch:
        patch["patch_app"](app)
    with db.connection_context():
        bench_user()
        p = pick()
        messages = Message.select().count()
        where, size = database_size()
    client = app.test_client()
    cold = {"on": False}  # each request as a new web process's first: no day's counts kept
    app.before_request(lambda: dashboard._earlier_days.clear() if cold["on"] else None)
    log_in(client)

    started_load = load_average()
    print(f"machine: {machine()}, {versions()}; load average {started_load}")
    print(
        f"date: {time.strftime('%Y-%m-%d %H:%M %Z')}; database: {where} ({size:,.0f} MB, "
        f"{messages:,} messages; {loaded})"
    )
    print(
        f"each line: {args.repeat} timed requests after 2 warm-up ones (ms: median, p95, median "
        "CPU); htmx = the results fragment (HX-Target: log-results), else the whole page"
        + (f"; patched with {args.patch}" if args.patch else "")
    )
    deep_cursors = {}
    every_minute = dashboard.EARLIER_DAYS_FOR
    width = 58
    header = f"{'what':{width}} {'median':>7} {'p95':>7} {'cpu':>6} {'target':>6}  {'':4}  shows"
    print(header)
    print("-" * len(header))
    over, lines = [], []
    for what, target, htmx in cases(p, words()):
        if args.only and not any(w.lower() in what.lower() for w in args.only):
            continue
        if target.startswith("DEEP:"):
            query = target[5:]
            if query not in deep_cursors:
                deep_cursors[query] = follow_cursors(client, f"/log?{query}", 200)
            target = deep_cursors[query]
        elif target.startswith("BOTTOM:"):
            target = "/log?before=11"
        recount = target.startswith("RECOUNT:")
        cold["on"] = target.startswith("COLD:")
        target = target.removeprefix("RECOUNT:").removeprefix("COLD:")
        dashboard.EARLIER_DAYS_FOR = 0 if recount else every_minute
        headers = HTMX if htmx else {}
        times, cpu, shows = timed(client, target, headers, args.repeat)
        median = statistics.median(times)
        ok = "OK" if median <= target_ms and p95(times) <= target_ms else "over"
        if cold["on"]:
            ok = "once"  # shown, not judged: a web process pays it at its first dashboard only
        label = what + (" (htmx)" if htmx and "htmx" not in what else "")
        print(
            f"{label:{width}} {median:7.1f} {p95(times):7.1f} {statistics.median(cpu):6.1f} "
            f"{target_ms:6.0f}  {ok:4}  {shows}",
            flush=True,
        )
        lines.append(
            dict(what=label, median=median, p95=p95(times), cpu=statistics.median(cpu), ok=ok)
        )
        if ok == "over":
            over.append((label, target, headers))
    ended_load = load_average()
    print(f"\n{len(over)} line(s) over {target_ms:.0f} ms; load average at the end {ended_load}")
    write_results(
        args.json,
        dict(
            database=args.database,
            target_ms=target_ms,
            messages=messages,
            lines=lines,
            load=[started_load, ended_load],
        ),
    )
    if args.plans:
        for label, target, headers in over:
            print(f"\n{label}: {target}")
            explain(client, target, headers)


if __name__ == "__main__":
    main()
