"""Benchmark: the patient trajectory page for random patients of the generated clinic network, against a raw-SQL +
orjson handler reading the same data in the same run.

    .venv/bin/python bench/trajectory_page.py --scale 0.2                 # SQLite (cached between runs)
    DATABASE_URL=postgres://… .venv/bin/python bench/trajectory_page.py   # SQLite, then PostgreSQL, then PG/SQLite

The database is the outcomes network (``ketaclinic/outcomes/synthetic.py``, the data of ``bench/outcomes.py``): at
``--scale 1`` 5,000 patients at two sites with one course each, ~30,000 dosed sessions and ~130,000 PHQ-9 and GAD-7
responses; ``--scale`` shrinks the number of patients. SQLite files are cached in ``var/bench-cache/`` under a key
made of every migration, the generator's source, the scale and the seed; PostgreSQL gets a throwaway database of its
own (``kc_bench_traj_<pid>``), filled by the same generator and dropped at the end.

Measured, for the page (``measures:trajectory``) and the floor (``support/trajectory_page_urls.py``):
  1. server-side time in process through Django's full request stack (test client, the network's prescriber, who
     works at both sites): p50, p99; and the floor plus the audit row every chart read commits (the least a handler
     obeying the audit rule costs);
  2. SQL statements per request (``CaptureQueriesContext``), and how many of them the middleware issues;
  3. throughput at ``--concurrency`` (32) clients against real gunicorn with ``--workers`` (2) workers.
Targets (issue 7): page p50 ≤ 1.5 × floor p50, ≤ 5 statements, ≥ 300 requests/s; the same on PostgreSQL.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import statistics
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent / "support"))
from page_bench import (
    ROOT,
    add_common_arguments,
    audit_budget,
    cache_key,
    interleaved,
    percentile,
    run_child,
    run_children,
    serve_and_load,
    session_cookie,
    statements,
    verdict,
)

TARGETS = {"p50_ratio": 1.5, "statements": 5, "rps": 300.0}
CLINICIAN = "bench.md"  # the network's prescriber (synthetic.generate, tag "bench"): both sites


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="share of the 5,000-patient network (1.0)")
    add_common_arguments(parser)
    return parser.parse_args(argv)


# --- the parent: one child process per database, then the comparison --------------------------------------------


def main(argv: list[str]) -> int:
    args = parse(argv)
    if args.child:
        return child(args)
    results = run_children(__file__, argv, args.db)
    if isinstance(results, int):
        return results
    if len(results) == 2:
        sqlite, pg = results["sqlite"], results["postgres"]
        print()
        print("PostgreSQL against SQLite (same scale, same patients):")
        for key, label in (("page_p50", "page p50 ms"), ("page_p99", "page p99 ms"), ("floor_p50", "floor p50 ms")):
            ratio = pg[key] / sqlite[key]
            print(f"  {label:14} SQLite {sqlite[key]:7.2f}  PostgreSQL {pg[key]:7.2f}  ratio {ratio:.2f}×")
        if sqlite["rps"] and pg["rps"]:
            print(f"  throughput      SQLite {sqlite['rps']:7.0f}  PostgreSQL {pg['rps']:7.0f} requests/s")
    return 0


# --- the child: one database ----------------------------------------------------------------------------------------


def generator_version() -> str:
    """The generator's own source: any change to it rebuilds the cached database."""
    return hashlib.sha256((ROOT / "ketaclinic" / "outcomes" / "synthetic.py").read_bytes()).hexdigest()[:16]


def child(args: argparse.Namespace) -> int:
    def generate(connection: Any) -> None:
        from ketaclinic.outcomes import synthetic

        network = synthetic.generate(
            scale=args.scale, seed=args.seed, tag="bench", progress=lambda line: print(line, flush=True)
        )
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        print(
            f"Generated {network.patients:,} patients, {network.sessions:,} sessions, {network.responses:,} responses.",
            flush=True,
        )

    return run_child(
        args,
        name="traj",
        settings="trajectory_page_settings",
        key=cache_key(generator_version(), args.scale, args.seed),
        generate=generate,
        measure=lambda tmp: measure(args, tmp),
    )


def measure(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    from django.db import connection
    from django.db.models import Count
    from django.test import Client
    from django.urls import reverse
    from trajectory_page_urls import STATEMENTS as FLOOR_OWN

    from ketaclinic.accounts.models import User
    from ketaclinic.courses.models import Course
    from ketaclinic.measures.models import QuestionnaireResponse
    from ketaclinic.patients.models import Patient
    from ketaclinic.scheduling.models import Appointment

    clinician = User.objects.get(username=CLINICIAN)
    patients = list(Patient.objects.order_by("pk").values_list("pk", flat=True))
    rng = random.Random(args.seed)
    picked = [rng.choice(patients) for _ in range(args.requests)]
    pages = [reverse("measures:trajectory", args=[p]) for p in picked]
    floors = [reverse("bench_raw_trajectory", args=[p]) for p in picked]
    audited = [reverse("bench_raw_trajectory_audited", args=[p]) for p in picked]
    sizes = {
        "patients": len(patients),
        "courses": Course.objects.count(),
        "sessions": Appointment.objects.filter(course_ref__isnull=False).count(),
        "responses": QuestionnaireResponse.objects.count(),
    }
    per_patient = sorted(
        QuestionnaireResponse.objects.filter(patient_id__in=set(picked))
        .values("patient_id")
        .annotate(n=Count("id"))
        .values_list("n", flat=True)
    )
    client = Client()
    client.force_login(clinician)

    page_times, floor_times, audited_times = interleaved(client, pages, floors, audited)
    page_statements = statements(client, pages[0], show="page" if args.show_sql else "")
    floor_statements = statements(client, floors[0], show="floor" if args.show_sql else "")

    rps_page = load_page = rps_floor = load_floor = 0.0
    if args.duration > 0:
        print(f"Load: {args.concurrency} clients, gunicorn with {args.workers} workers, {args.duration:g} s each…")
        rps_page, load_page, rps_floor, load_floor = serve_and_load(args, tmp, session_cookie(client), pages, floors)

    ms = 1000
    result = {
        "vendor": connection.vendor,
        "scale": args.scale,
        **sizes,
        "responses_per_patient_p50": statistics.median(per_patient) if per_patient else 0,
        "page_p50": statistics.median(page_times) * ms,
        "page_p99": percentile(page_times, 99) * ms,
        "floor_p50": statistics.median(floor_times) * ms,
        "floor_p99": percentile(floor_times, 99) * ms,
        "audited_floor_p50": statistics.median(audited_times) * ms,
        "page_statements": page_statements,
        "floor_statements": floor_statements,
        "middleware_statements": floor_statements - FLOOR_OWN,
        "rps": rps_page,
        "rps_floor": rps_floor,
        "load_p50": load_page,
        "load_floor_p50": load_floor,
    }
    report(result, args)
    return result


def report(r: dict[str, Any], args: argparse.Namespace) -> None:
    print()
    print(
        f"bench/trajectory_page.py · {r['vendor']} · {os.cpu_count()} CPUs · load average "
        f"{os.getloadavg()[0]:.1f} · scale {r['scale']} ({r['patients']:,} patients, {r['sessions']:,} sessions, "
        f"{r['responses']:,} responses; {r['responses_per_patient_p50']:.0f} per patient read, median)"
    )
    print(f"{'':34}{'page':>10}{'floor':>10}{'ratio':>8}   target")
    p50_ratio = r["page_p50"] / r["floor_p50"]
    print(
        f"{'single user p50 ms':34}{r['page_p50']:>10.2f}{r['floor_p50']:>10.2f}{p50_ratio:>7.2f}×   "
        f"≤ {TARGETS['p50_ratio']}× floor: {verdict(p50_ratio <= TARGETS['p50_ratio'])}"
    )
    audit_budget(r, TARGETS["p50_ratio"])
    print(
        f"{'single user p99 ms':34}{r['page_p99']:>10.2f}{r['floor_p99']:>10.2f}{r['page_p99'] / r['floor_p99']:>7.2f}×"
    )
    view = r["page_statements"] - r["middleware_statements"]
    floor_own = r["floor_statements"] - r["middleware_statements"]
    print(
        f"{'SQL statements per request':34}{r['page_statements']:>10}{r['floor_statements']:>10}"
        f"{'':8}   ≤ {TARGETS['statements']}: {verdict(r['page_statements'] <= TARGETS['statements'])} "
        f"(middleware {r['middleware_statements']}, page's own {view}, floor's own {floor_own})"
    )
    if r["rps"]:
        print(
            f"{f'requests/s at {args.concurrency} clients':34}{r['rps']:>10.0f}{r['rps_floor']:>10.0f}"
            f"{r['rps'] / r['rps_floor']:>7.2f}×   ≥ {TARGETS['rps']:.0f}: {verdict(r['rps'] >= TARGETS['rps'])}"
        )
        print(f"{'  latency under load p50 ms':34}{r['load_p50']:>10.1f}{r['load_floor_p50']:>10.1f}")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
