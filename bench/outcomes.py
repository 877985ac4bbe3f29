"""Benchmark: the clinic outcomes dashboard on a generated network, each figure beside its floor in the same run.

    DJANGO_SETTINGS_MODULE=ketaclinic.settings_test .venv/bin/python bench/outcomes.py --scale 0.2   # SQLite (temp)
    DATABASE_URL=postgres://user:pass@host/db … .venv/bin/python bench/outcomes.py --scale 0.2       # PostgreSQL

It builds its own throwaway database (Django's test-database machinery, under a name of its own) and drops it at
the end. The network is ``ketaclinic.outcomes.synthetic`` with a fixed seed: at ``--scale 1`` 5,000 patients,
~30,000 dosed sessions and ~130,000 PHQ-9/GAD-7 responses. Vital signs (~18 M rows at full scale) are not generated:
the dashboard does not read them.

Measured (p50 / p95 over ``--runs``):

* **dashboard** — every dashboard figure for all sites and all time, from the rollups (what a page view costs);
* **response/remission table** — the by-protocol-and-indication table alone (target ≤ 20 ms);
* **incremental refresh** — 1,000 new responses for random patients, each on its course's measure (PHQ-9, GAD-7 for
  an anxiety course; PHQ-9 for a course without one), are inserted and queued, then ``rollup.refresh_pending()`` is
  timed (target ≤ 50 ms); each run is rolled back;
* **full rebuild** — ``rollup.rebuild_all()``: every rollup row recomputed from the clinical tables;
* **naive GROUP BY** (floor) — the same figures straight from the clinical tables (``outcomes.floor``) on this
  database;
* **DuckDB** — the same floor SQL over the same tables, loaded into an in-memory DuckDB from this database (the
  DuckDB SQLite scanner is an extension it would download, which this machine cannot, so the tables are copied via
  CSV; the copy is not timed).

Target from issue 7: the dashboard's full recompute within 1.2 × DuckDB. The figures from the rollups, the floor and
DuckDB are also compared for equality.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ketaclinic.settings_test")
_TMP = tempfile.mkdtemp(prefix="ketaclinic-bench-")
os.environ.setdefault("KETACLINIC_VAR_DIR", _TMP)
if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
    os.environ["DATABASE_URL"] = f"sqlite:///{_TMP}/bench.sqlite3"

import django  # noqa: E402

django.setup()

from django.db import connection, transaction  # noqa: E402

NEW_OBSERVATIONS = 1000
SEED = 2026


class Rollback(Exception):
    pass


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))]


def timed(fn: Callable[[], Any], runs: int, warmup: int = 2) -> tuple[list[float], Any]:
    result = None
    for _ in range(warmup):
        result = fn()
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - began)
    return times, result


# --- DuckDB ---------------------------------------------------------------------------------------------------------

#: table → (columns, DuckDB types); timestamps become epoch seconds (DOUBLE), as the DuckDB floor dialect expects.
DUCK_TABLES: dict[str, list[tuple[str, str]]] = {
    "courses_course": [
        ("id", "BIGINT"), ("patient_id", "BIGINT"), ("site_id", "BIGINT"), ("protocol", "VARCHAR"),
        ("route", "VARCHAR"), ("indication", "VARCHAR"), ("status", "VARCHAR"),
        ("planned_induction_sessions", "INTEGER"), ("ended_at", "DOUBLE"),
    ],
    "dosing_dosingsession": [("id", "BIGINT"), ("course_ref", "BIGINT")],
    "dosing_doseadministration": [
        ("id", "BIGINT"), ("session_id", "BIGINT"), ("started_at", "DOUBLE"), ("mg_per_kg", "DOUBLE"),
        ("amount_mg", "DOUBLE"),
    ],
    "measures_questionnaireresponse": [
        ("id", "BIGINT"), ("patient_id", "BIGINT"), ("instrument", "VARCHAR"), ("total", "INTEGER"),
        ("completed_at", "DOUBLE"),
    ],
    "dosing_sessionalert": [("session_id", "BIGINT"), ("level", "VARCHAR")],
    "dosing_adverseevent": [("session_id", "BIGINT"), ("serious", "BOOLEAN")],
    "dosing_scaleobservation": [("session_id", "BIGINT"), ("instrument", "VARCHAR"), ("total", "DOUBLE")],
}  # fmt: skip


def load_duckdb() -> Any:
    """An in-memory DuckDB holding copies of the tables the floor reads."""
    import duckdb
    from django.apps import apps

    models = {m._meta.db_table: m for m in apps.get_models()}
    duck = duckdb.connect()
    for table, columns in DUCK_TABLES.items():
        names = [c for c, _ in columns]
        path = Path(_TMP) / f"{table}.csv"
        with path.open("w", newline="") as handle:
            writer = csv.writer(handle)
            for row in models[table].objects.order_by().values_list(*names).iterator(chunk_size=5000):
                writer.writerow(
                    [v.timestamp() if isinstance(v, dt.datetime) else ("" if v is None else v) for v in row]
                )
        spec = ", ".join(f"'{c}': '{t}'" for c, t in columns)
        duck.execute(f"CREATE TABLE {table} AS SELECT * FROM read_csv('{path}', header=false, columns={{{spec}}})")
    return duck


def duck_runner(duck: Any) -> Callable[[str, Any], list[tuple[Any, ...]]]:
    def run(sql: str, params: Any) -> list[tuple[Any, ...]]:
        return list(duck.execute(sql, list(params)).fetchall())

    return run


# --- The measured operations ----------------------------------------------------------------------------------------


def new_observations(patients: list[tuple[int, int, str]], rng: random.Random) -> None:
    """1,000 new responses for random patients (after everything so far), each on the patient's course measure,
    inserted in bulk and queued."""
    from ketaclinic.measures.models import QuestionnaireResponse
    from ketaclinic.outcomes.rollup import queue_responses

    chosen = [rng.choice(patients) for _ in range(NEW_OBSERVATIONS)]
    at = dt.datetime(2027, 6, 1, tzinfo=dt.UTC)  # after every generated assessment: new, as they arrive
    rows = QuestionnaireResponse.objects.bulk_create(
        [
            QuestionnaireResponse(
                patient_id=p, site_id=s, instrument=i or "phq9", answers={},
                total=rng.randrange(22 if i == "gad7" else 28), respondent="patient", channel="portal",
                completed_at=at + dt.timedelta(seconds=n),
            )
            for n, (p, s, i) in enumerate(chosen)
        ],
        batch_size=1000,
    )  # fmt: skip
    queue_responses(rows)  # as the save signal does for one response at a time


def incremental_runs(runs: int) -> list[float]:
    from ketaclinic.outcomes.models import CourseOutcome
    from ketaclinic.outcomes.rollup import refresh_pending

    patients = list(CourseOutcome.objects.order_by("course_id").values_list("patient_id", "site_id", "instrument"))
    rng = random.Random(SEED)
    times = []
    for n in range(runs + 2):
        try:
            with transaction.atomic():
                new_observations(patients, rng)
                began = time.perf_counter()
                refresh_pending()
                elapsed = time.perf_counter() - began
                raise Rollback
        except Rollback:
            pass
        if n >= 2:  # the first two warm up
            times.append(elapsed)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the 5,000-patient network (default 1)")
    parser.add_argument("--runs", type=int, default=int(os.environ.get("BENCH_RUNS", "20")))
    parser.add_argument("--keep", action="store_true", help="keep the throwaway database (prints where)")
    args = parser.parse_args()

    settings_db = connection.settings_dict
    vendor = connection.vendor
    settings_db.setdefault("TEST", {})
    settings_db["TEST"]["NAME"] = (
        f"{_TMP}/bench_test.sqlite3" if vendor == "sqlite" else f"bench_outcomes_{os.getpid()}"
    )
    print(f"Preparing a throwaway {vendor} database…", flush=True)
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        run_bench(vendor, args)
    finally:
        if args.keep:
            print(f"kept: {settings_db['NAME']}")
        else:
            connection.creation.destroy_test_db(settings_db["NAME"], verbosity=0)


def run_bench(vendor: str, args: argparse.Namespace) -> None:
    from ketaclinic.outcomes import rollup, synthetic
    from ketaclinic.outcomes.figures import Filters, dashboard_figures, response_table
    from ketaclinic.outcomes.floor import DUCKDB, django_runner, floor_figures

    print(f"Generating the network at scale {args.scale:g} (seed {SEED})…", flush=True)
    began = time.perf_counter()
    network = synthetic.generate(scale=args.scale, seed=SEED, tag="bench", progress=lambda m: print(m, flush=True))
    print(f"  generated in {time.perf_counter() - began:.0f} s", flush=True)
    if vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    else:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")

    print("Full rebuild of the rollups…", flush=True)
    rebuild_times = []
    for _ in range(max(1, min(3, args.runs))):
        began = time.perf_counter()
        rollup.rebuild_all()
        rebuild_times.append(time.perf_counter() - began)

    filters = Filters(
        dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
        dt.datetime(2028, 1, 1, tzinfo=dt.UTC),
        tuple(s.pk for s in network.sites),
    )
    runs = args.runs
    print(f"Timing ({runs} runs each)…", flush=True)
    dash_times, dash = timed(lambda: dashboard_figures(filters), runs)
    table_times, _ = timed(lambda: response_table(filters), runs)
    run, dialect = django_runner()
    floor_times, floor = timed(lambda: floor_figures(run, dialect, filters), max(3, runs // 4), warmup=1)
    print("Loading the same tables into DuckDB (not timed)…", flush=True)
    duck = load_duckdb()
    duck_run = duck_runner(duck)
    duck_times, duck_figures = timed(lambda: floor_figures(duck_run, DUCKDB, filters), runs)
    incremental = incremental_runs(runs)

    ms = 1000
    import duckdb

    print()
    print(f"bench/outcomes.py · {vendor} · scale {args.scale:g} · {os.cpu_count()} CPUs · DuckDB {duckdb.__version__}")
    print(
        f"network: {network.patients:,} patients, {network.courses:,} courses, {network.sessions:,} dosed sessions, "
        f"{network.responses:,} questionnaire responses, {network.observations:,} scale observations, "
        f"{network.alerts:,} alerts, {network.adverse_events:,} adverse events (no vital signs)"
    )
    same = dash == floor == duck_figures
    print(f"figures equal (rollups = floor on {vendor} = DuckDB): {'yes' if same else 'NO'}")
    duck50 = statistics.median(duck_times) * ms

    def line(label: str, times: list[float], target: str = "") -> None:
        p50, p95 = statistics.median(times) * ms, percentile(times, 95) * ms
        print(f"{label:44}{p50:>10.1f}{p95:>10.1f}{p50 / duck50:>10.2f}×  {target}")

    print(f"{'':44}{'p50 ms':>10}{'p95 ms':>10}{'÷ DuckDB':>11}")
    line("DuckDB: floor SQL over the same tables", duck_times)
    line("dashboard: all figures from the rollups", dash_times, "target ≤ 1.2× DuckDB")
    line("response/remission table", table_times, "target ≤ 20 ms")
    line(f"incremental refresh after {NEW_OBSERVATIONS:,} observations", incremental, "target ≤ 50 ms")
    line(f"naive GROUP BY: floor SQL on {vendor}", floor_times, "(contrast)")
    line("full rebuild of every rollup", rebuild_times, "(from the clinical tables)")
    if not same:
        raise SystemExit("the dashboard's figures differ from the floor's")


if __name__ == "__main__":
    main()
