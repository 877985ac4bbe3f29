"""What the page benchmarks share (``bench/session_page.py``, ``bench/trajectory_page.py``): one child process per
database, the SQLite cache and the throwaway PostgreSQL database, interleaved single-user timing through Django's test
client, the statement count, and gunicorn under a threaded load client.

Each benchmark passes what is its own: the settings module (the test settings plus its floor handler's URL), how to
fill an empty migrated database, and what to measure in it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
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
from collections.abc import Callable
from http.client import HTTPConnection
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent.parent
BENCH = ROOT / "bench" / "support"
CACHE = Path(os.environ.get("KETACLINIC_BENCH_CACHE", ROOT / "var" / "bench-cache"))  # the smoke tests use a tmp dir
SECRET = "bench-only-key-not-secret-" + "x" * 40  # shared by the child process and its gunicorn workers


def add_common_arguments(parser: argparse.ArgumentParser, *, requests: int = 400) -> None:
    """The options every page benchmark takes (scale, load, database, cache)."""
    parser.add_argument("--requests", type=int, default=requests, help=f"single-user requests per handler ({requests})")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of load per handler (10; 0: no load)")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--db", choices=["auto", "sqlite", "postgres"], default="auto",
                        help="auto: SQLite, and PostgreSQL too when DATABASE_URL is one")  # fmt: skip
    parser.add_argument("--show-sql", action="store_true", help="print the statements of one request of each")
    parser.add_argument("--no-cache", action="store_true", help="regenerate the SQLite database")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)


def verdict(met: bool) -> str:
    return "met" if met else "NOT met"


# --- the parent: one child process per database ----------------------------------------------------------------------


def run_children(script: str, argv: list[str], db: str) -> dict[str, dict[str, Any]] | int:
    """Run ``script`` once per database (``--child``); the results by vendor, or the exit code of a failure."""
    postgres = os.environ.get("DATABASE_URL", "")
    vendors = ["sqlite", "postgres"] if db == "auto" and postgres.startswith("postgres") else [db]
    if vendors == ["auto"]:
        vendors = ["sqlite"]
    if "postgres" in vendors and not postgres.startswith("postgres"):
        print("--db postgres needs DATABASE_URL=postgres://…", file=sys.stderr)
        return 2
    results = {}
    for vendor in vendors:
        with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as out:
            path = out.name
        command = [sys.executable, script, *argv, "--child", "--db", vendor, "--result", path]
        done = subprocess.run(command, check=False)  # noqa: S603 - the calling script itself
        if done.returncode:
            return done.returncode
        results[vendor] = json.loads(Path(path).read_text())
        os.unlink(path)
    return results


# --- the child: one database ----------------------------------------------------------------------------------------


def cache_key(*parts: object) -> str:
    """A key made of ``parts`` (generator version, scale, seed…) and every migration's name and text."""
    digest = hashlib.sha256("|".join(str(p) for p in parts).encode())
    for migration in sorted(ROOT.glob("ketaclinic/*/migrations/*.py")):
        digest.update(migration.relative_to(ROOT).as_posix().encode())
        digest.update(migration.read_bytes())
    return digest.hexdigest()[:16]


def run_child(
    args: argparse.Namespace,
    *,
    name: str,
    settings: str,
    key: str,
    generate: Callable[[Any], None],
    measure: Callable[[Path], dict[str, Any]],
) -> int:
    """Prepare the database (the cached SQLite file ``<name>-<key>``, or a fresh ``kc_bench_<name>_<pid>`` on
    PostgreSQL, filled by ``generate(connection)`` after ``migrate``), run ``measure(tmp)``, write its result to
    ``args.result`` and clean up (the PostgreSQL database is dropped)."""
    sys.path[:0] = [str(ROOT), str(BENCH)]
    tmp = Path(tempfile.mkdtemp(prefix="ketaclinic-bench-"))
    os.environ["DJANGO_SETTINGS_MODULE"] = settings
    os.environ["SECRET_KEY"] = SECRET
    os.environ["KETACLINIC_VAR_DIR"] = str(tmp)
    cached = None
    pg_admin, pg_name = None, None
    if args.db == "sqlite":
        database = tmp / "bench.sqlite3"
        cached = CACHE / f"{name}-{key}.sqlite3"
        if cached.exists() and not args.no_cache:
            print(f"Using the cached database {cached}", flush=True)
            shutil.copyfile(cached, database)
            cached = None  # nothing to store afterwards
        os.environ["DATABASE_URL"] = f"sqlite:///{database}"
    else:
        pg_admin = os.environ["DATABASE_URL"]
        pg_name = f"kc_bench_{name}_{os.getpid()}"
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
            generate(connection)
            if cached is not None:
                connection.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)")
                connection.close()
                CACHE.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(Path(connection.settings_dict["NAME"]), cached.with_suffix(".part"))
                cached.with_suffix(".part").replace(cached)
                print(f"Cached as {cached}", flush=True)
        result = measure(tmp)
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


# --- in process: the test client ------------------------------------------------------------------------------------


def interleaved(client: Any, *handlers: list[str], warmup: int = 20) -> list[list[float]]:
    """Seconds per request of each handler's URLs (a page, its floor, …), alternated request by request so that
    drift hits them alike (after ``warmup`` requests of each, for templates, caches and the connection)."""

    def get(url: str) -> float:
        began = time.perf_counter()
        response = client.get(url)
        elapsed = time.perf_counter() - began
        if response.status_code != 200:
            raise SystemExit(f"{url} answered {response.status_code}")
        return elapsed

    for urls in handlers:
        for url in urls[:warmup]:
            get(url)
    times: list[list[float]] = [[] for _ in handlers]
    for round_ in zip(*handlers, strict=True):
        for mine, url in zip(times, round_, strict=True):
            mine.append(get(url))
    return times


def audit_budget(r: dict[str, Any], target: float) -> None:
    """Print the floor plus the audit row every chart read must commit (what the least compliant handler costs), and
    how much of ``target`` × floor is left for everything else the page does (access check, objects, HTML, charts)."""
    audited, floor = r["audited_floor_p50"], r["floor_p50"]
    left = target * floor - audited
    print(
        f"{'floor + audit row p50 ms':34}{'':10}{audited:>10.2f}{audited / floor:>7.2f}×   "
        f"leaves {left:.2f} ms of the {target}× floor for the page's own work"
    )


def statements(client: Any, url: str, *, show: str = "") -> int:
    """The SQL statements of one request of ``url`` (listed with their times when ``show`` names it)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        if client.get(url).status_code != 200:
            raise SystemExit(f"{url} did not answer 200")
    if show:
        print(f"Statements of one {show} request:")
        for query in captured.captured_queries:
            print(f"  {query['time']:>6} s  {' '.join(query['sql'].split())[:140]}")
    return len(captured)


def session_cookie(client: Any) -> str:
    """The signed-in test client's session as a Cookie header (the session is in the database: gunicorn reads it)."""
    return f"{client.cookies['sessionid'].key}={client.cookies['sessionid'].value}"


# --- gunicorn and the load client -----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def serve_and_load(
    args: argparse.Namespace, tmp: Path, cookie: str, pages: list[str], floors: list[str]
) -> tuple[float, float, float, float]:
    """Requests/s and median latency of the pages, then of the floors, at ``args.concurrency`` clients against
    gunicorn (``gunicorn.conf.py``) with ``args.workers`` workers serving the current settings."""
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
    """``clients`` threads, each sending GETs back to back for ``seconds``; answers/s and the median latency.

    Each request is a prebuilt ``Connection: close`` GET on a new socket (gunicorn's sync workers close every
    connection anyway), read to the end and checked for a 200 status line: the client shares the machine's two
    cores with the server, so it does as little Python per request as it can (``http.client`` parsed every
    response's headers).
    """
    stop = time.monotonic() + seconds
    latencies: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()
    wire = [
        f"GET {url} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n".encode()
        for url in urls
    ]

    def run(offset: int) -> None:
        mine: list[float] = []
        n = offset
        while time.monotonic() < stop:
            request = wire[n % len(wire)]
            n += clients
            began = time.perf_counter()
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
                    sock.sendall(request)
                    first = sock.recv(65536)
                    while sock.recv(65536):
                        pass
            except OSError as error:
                failures.append(str(error))
                continue
            mine.append(time.perf_counter() - began)
            if not first.startswith((b"HTTP/1.1 200 ", b"HTTP/1.0 200 ")):
                failures.append(f"{urls[(n - clients) % len(urls)]}: {first[:40]!r}")
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
