"""Benchmark: the session monitoring page for random sessions of a large clinic, against a raw-SQL + orjson handler
reading the same data in the same run.

    .venv/bin/python bench/session_page.py --scale 0.05                  # SQLite (cached between runs)
    DATABASE_URL=postgres://… .venv/bin/python bench/session_page.py      # SQLite, then PostgreSQL, then PG/SQLite
    .venv/bin/python bench/session_page.py --target dosing:session        # another page with (patient_id, session_id)

The database (``bench/support/session_page_data.py``): 5,000 patients, 30,000 past sessions, vital signs every 15 s for
2 hours (~14.4 M rows) and PHQ-9 histories at ``--scale 1``; fewer patients and sessions (never fewer vitals per
session) at a smaller scale. SQLite files are cached in ``var/bench-cache/`` under a key made of every migration, the
generator's version, the scale and the seed, so a rerun starts in seconds; PostgreSQL gets a throwaway database of its
own (``kc_bench_session_page_<pid>``), filled with COPY and dropped at the end.

Measured, for the page (``--target``, default ``dosing:monitor``) and the floor (``support/session_page_urls.py``):
  1. server-side time in process through Django's full request stack (test client, a signed-in nurse): p50, p99;
  2. SQL statements per request (``CaptureQueriesContext``), and how many of them the middleware issues;
  3. throughput at ``--concurrency`` (32) clients against real gunicorn with ``--workers`` (2) workers.
Targets (issue 6): page p50 ≤ 1.5 × floor p50, ≤ 5 statements, p99 ≤ 15 ms, ≥ 300 requests/s, PostgreSQL p50
within 1.3 × SQLite.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from http.client import HTTPConnection
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench" / "support"  # session_page_data, session_page_settings, session_page_urls
CACHE = ROOT / "var" / "bench-cache"
SECRET = "bench-only-key-not-secret-" + "x" * 40  # shared by this process and the gunicorn workers
TARGETS = {"p50_ratio": 1.5, "statements": 5, "p99_ms": 15.0, "rps": 300.0, "pg_over_sqlite": 1.3}


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="share of 5,000 patients / 30,000 sessions (1.0)")
    parser.add_argument("--target", default="dosing:monitor", help="URL name of the page (args patient_id, session_id)")
    parser.add_argument("--requests", type=int, default=400, help="single-user requests per handler (400)")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of load per handler (10)")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--db", choices=["auto", "sqlite", "postgres"], default="auto",
                        help="auto: SQLite, and PostgreSQL too when DATABASE_URL is one")  # fmt: skip
    parser.add_argument("--show-sql", action="store_true", help="print the statements of one request of each")
    parser.add_argument("--no-cache", action="store_true", help="regenerate the SQLite database")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


# --- the parent: one child process per database, then the comparison --------------------------------------------


def main(argv: list[str]) -> int:
    args = parse(argv)
    if args.child:
        return child(args)
    postgres = os.environ.get("DATABASE_URL", "")
    vendors = ["sqlite", "postgres"] if args.db == "auto" and postgres.startswith("postgres") else [args.db]
    if vendors == ["auto"]:
        vendors = ["sqlite"]
    if "postgres" in vendors and not postgres.startswith("postgres"):
        print("--db postgres needs DATABASE_URL=postgres://…", file=sys.stderr)
        return 2
    results = {}
    for vendor in vendors:
        with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as out:
            path = out.name
        command = [sys.executable, __file__, *argv, "--child", "--db", vendor, "--result", path]
        done = subprocess.run(command, check=False)  # noqa: S603 - this very script
        if done.returncode:
            return done.returncode
        results[vendor] = json.loads(Path(path).read_text())
        os.unlink(path)
    if len(results) == 2:
        sqlite, pg = results["sqlite"], results["postgres"]
        print()
        print("PostgreSQL against SQLite (same scale, same sessions):")
        for key, label in (("page_p50", "page p50 ms"), ("page_p99", "page p99 ms"), ("floor_p50", "floor p50 ms")):
            ratio = pg[key] / sqlite[key]
            print(f"  {label:14} SQLite {sqlite[key]:7.2f}  PostgreSQL {pg[key]:7.2f}  ratio {ratio:.2f}×")
        ratio = pg["page_p50"] / sqlite["page_p50"]
        print(f"  target page p50 PostgreSQL ≤ {TARGETS['pg_over_sqlite']} × SQLite: {verdict(ratio <= 1.3)}")
        if sqlite["rps"] and pg["rps"]:
            print(f"  throughput      SQLite {sqlite['rps']:7.0f}  PostgreSQL {pg['rps']:7.0f} requests/s")
    return 0


def verdict(met: bool) -> str:
    return "met" if met else "NOT met"


# --- the child: one database ----------------------------------------------------------------------------------------


def schema_key(args: argparse.Namespace) -> str:
    sys.path.insert(0, str(BENCH))
    from session_page_data import GENERATOR_VERSION

    digest = hashlib.sha256(f"{GENERATOR_VERSION}|{args.scale}|{args.seed}".encode())
    for migration in sorted(ROOT.glob("ketaclinic/*/migrations/*.py")):
        digest.update(migration.relative_to(ROOT).as_posix().encode())
        digest.update(migration.read_bytes())
    return digest.hexdigest()[:16]


def child(args: argparse.Namespace) -> int:
    sys.path[:0] = [str(ROOT), str(BENCH)]
    tmp = Path(tempfile.mkdtemp(prefix="ketaclinic-bench-"))
    os.environ["DJANGO_SETTINGS_MODULE"] = "session_page_settings"
    os.environ["SECRET_KEY"] = SECRET
    os.environ["KETACLINIC_VAR_DIR"] = str(tmp)
    cached = None
    pg_admin, pg_name = None, None
    if args.db == "sqlite":
        database = tmp / "bench.sqlite3"
        cached = CACHE / f"session_page-{schema_key(args)}.sqlite3"
        if cached.exists() and not args.no_cache:
            print(f"Using the cached database {cached.relative_to(ROOT)}", flush=True)
            shutil.copyfile(cached, database)
            cached = None  # nothing to store afterwards
        os.environ["DATABASE_URL"] = f"sqlite:///{database}"
    else:
        pg_admin = os.environ["DATABASE_URL"]
        pg_name = f"kc_bench_session_page_{os.getpid()}"
        create_pg(pg_admin, pg_name)
        os.environ["DATABASE_URL"] = urllib.parse.urlunsplit(
            urllib.parse.urlsplit(pg_admin)._replace(path=f"/{pg_name}")
        )
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    try:
        if args.db == "postgres" or cached is not None:
            print(f"Building the {connection.vendor} database at scale {args.scale}…", flush=True)
            call_command("migrate", verbosity=0)
            from session_page_data import generate

            generate(connection, scale=args.scale, seed=args.seed, say=lambda line: print(line, flush=True))
            if cached is not None:
                connection.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)")
                connection.close()
                CACHE.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(Path(connection.settings_dict["NAME"]), cached.with_suffix(".part"))
                cached.with_suffix(".part").replace(cached)
                print(f"Cached as {cached.relative_to(ROOT)}", flush=True)
        result = measure(args, tmp)
    finally:
        connection.close()
        if pg_name is not None and pg_admin is not None:
            drop_pg(pg_admin, pg_name)
        shutil.rmtree(tmp, ignore_errors=True)
    Path(args.result).write_text(json.dumps(result))
    return 0


def create_pg(admin_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_pg(admin_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))]


def measure(args: argparse.Namespace, tmp: Path) -> dict:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import NoReverseMatch, reverse

    from ketaclinic.accounts.models import User
    from ketaclinic.dosing.models import DosingSession

    nurse = User.objects.get(username="bench.nurse")
    total = DosingSession.objects.count()
    rng = random.Random(args.seed)
    picked = rng.sample(range(1, total + 1), min(total, args.requests))
    pairs = dict(DosingSession.objects.filter(pk__in=picked).values_list("pk", "patient_id"))
    try:
        pages = [reverse(args.target, args=[pairs[s], s]) for s in picked]
    except NoReverseMatch:
        print(f"{args.target} does not exist on this branch: pass --target dosing:session", file=sys.stderr)
        raise SystemExit(2) from None
    floors = [reverse("bench_raw_monitor", args=[pairs[s], s]) for s in picked]
    client = Client()
    client.force_login(nurse)
    vitals = connection.cursor()
    vitals.execute("SELECT COUNT(*) FROM dosing_vitalsign")
    vital_rows = vitals.fetchone()[0]

    def get(url: str) -> float:
        began = time.perf_counter()
        response = client.get(url)
        elapsed = time.perf_counter() - began
        if response.status_code != 200:
            raise SystemExit(f"{url} answered {response.status_code}")
        return elapsed

    for url in pages[:20] + floors[:20]:  # warm up templates, caches and the connection
        get(url)
    page_times, floor_times = [], []
    for page_url, floor_url in zip(pages, floors, strict=True):  # interleaved, so that drift hits both alike
        page_times.append(get(page_url))
        floor_times.append(get(floor_url))
    with CaptureQueriesContext(connection) as page_queries:
        get(pages[0])
    with CaptureQueriesContext(connection) as floor_queries:
        get(floors[0])
    floor_own = 3  # the raw handler's own statements; the rest of its count is the middleware's
    if args.show_sql:
        for name, captured in (("page", page_queries), ("floor", floor_queries)):
            print(f"Statements of one {name} request:")
            for query in captured.captured_queries:
                print(f"  {query['time']:>6} s  {' '.join(query['sql'].split())[:140]}")

    print(f"Load: {args.concurrency} clients against gunicorn with {args.workers} workers, {args.duration:.0f} s each…")
    cookie = f"{client.cookies['sessionid'].key}={client.cookies['sessionid'].value}"
    rps_page, load_page, rps_floor, load_floor = serve_and_load(args, tmp, cookie, pages, floors)

    ms = 1000
    result = {
        "vendor": connection.vendor,
        "scale": args.scale,
        "sessions": total,
        "vital_rows": vital_rows,
        "target": args.target,
        "page_p50": statistics.median(page_times) * ms,
        "page_p99": percentile(page_times, 99) * ms,
        "floor_p50": statistics.median(floor_times) * ms,
        "floor_p99": percentile(floor_times, 99) * ms,
        "page_statements": len(page_queries),
        "floor_statements": len(floor_queries),
        "middleware_statements": len(floor_queries) - floor_own,
        "rps": rps_page,
        "rps_floor": rps_floor,
        "load_p50": load_page,
        "load_floor_p50": load_floor,
    }
    report(result, args)
    return result


def report(r: dict, args: argparse.Namespace) -> None:
    print()
    print(
        f"bench/session_page.py · {r['vendor']} · {os.cpu_count()} CPUs · scale {r['scale']} "
        f"({r['sessions']:,} sessions, {r['vital_rows']:,} vital-sign rows) · page {r['target']}"
    )
    print(f"{'':34}{'page':>10}{'floor':>10}{'ratio':>8}   target")
    p50_ratio = r["page_p50"] / r["floor_p50"]
    print(
        f"{'single user p50 ms':34}{r['page_p50']:>10.2f}{r['floor_p50']:>10.2f}{p50_ratio:>7.2f}×   "
        f"≤ {TARGETS['p50_ratio']}× floor: {verdict(p50_ratio <= TARGETS['p50_ratio'])}"
    )
    print(
        f"{'single user p99 ms':34}{r['page_p99']:>10.2f}{r['floor_p99']:>10.2f}"
        f"{r['page_p99'] / r['floor_p99']:>7.2f}×   ≤ {TARGETS['p99_ms']:.0f} ms: {verdict(r['page_p99'] <= 15)}"
    )
    view = r["page_statements"] - r["middleware_statements"]
    print(
        f"{'SQL statements per request':34}{r['page_statements']:>10}{r['floor_statements']:>10}"
        f"{'':8}   ≤ {TARGETS['statements']}: {verdict(r['page_statements'] <= TARGETS['statements'])} "
        f"(middleware {r['middleware_statements']}, page's own {view}, floor's own 3)"
    )
    if r["rps"]:
        print(
            f"{f'requests/s at {args.concurrency} clients':34}{r['rps']:>10.0f}{r['rps_floor']:>10.0f}"
            f"{r['rps'] / r['rps_floor']:>7.2f}×   ≥ {TARGETS['rps']:.0f}: {verdict(r['rps'] >= TARGETS['rps'])}"
        )
        print(f"{'  latency under load p50 ms':34}{r['load_p50']:>10.1f}{r['load_floor_p50']:>10.1f}")


# --- gunicorn and the load client -----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def serve_and_load(
    args: argparse.Namespace, tmp: Path, cookie: str, pages: list[str], floors: list[str]
) -> tuple[float, float, float, float]:
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(BENCH)]),
        "BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": str(args.workers),
    }
    log = (tmp / "gunicorn.log").open("w")
    server = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"), "ketaclinic.wsgi:application"],
        env=env,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                conn = HTTPConnection("127.0.0.1", port, timeout=2)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit(f"gunicorn did not start: see {tmp / 'gunicorn.log'}")
            time.sleep(0.2)
        load(port, cookie, pages, args.concurrency, 2.0)  # warm up both workers
        rps_page, lat_page = load(port, cookie, pages, args.concurrency, args.duration)
        rps_floor, lat_floor = load(port, cookie, floors, args.concurrency, args.duration)
        return rps_page, lat_page, rps_floor, lat_floor
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=15)
        log.close()


def load(port: int, cookie: str, urls: list[str], clients: int, seconds: float) -> tuple[float, float]:
    """``clients`` threads, each sending GETs back to back for ``seconds``; answers/s and the median latency."""
    stop = time.monotonic() + seconds
    latencies: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()

    def run(offset: int) -> None:
        conn = HTTPConnection("127.0.0.1", port, timeout=30)
        mine: list[float] = []
        n = offset
        while time.monotonic() < stop:
            url = urls[n % len(urls)]
            n += clients
            began = time.perf_counter()
            try:
                conn.request("GET", url, headers={"Cookie": cookie})
                response = conn.getresponse()
                response.read()
            except OSError as error:
                conn.close()
                failures.append(str(error))
                continue
            mine.append(time.perf_counter() - began)
            if response.status != 200:
                failures.append(f"{url}: {response.status}")
            if response.getheader("Connection", "").lower() == "close":
                conn.close()
        with lock:
            latencies.extend(mine)

    began = time.monotonic()
    threads = [threading.Thread(target=run, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - began
    if failures:
        raise SystemExit(f"{len(failures)} failed requests under load, e.g. {failures[0]}")
    return len(latencies) / elapsed, statistics.median(latencies) * 1000 if latencies else 0.0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
