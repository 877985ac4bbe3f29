"""bench/trajectory_page.py runs end to end at a tiny scale (its own SQLite file and cache directory, gunicorn for a
moment), and its floor handler reads the same data as the page. Nothing here looks at how long anything took."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest
from django.test import RequestFactory

from ketaclinic.courses.models import Course
from ketaclinic.courses.tests.conftest import NOW, clinic, eligible, frozen_clock, iv_course  # noqa: F401 — fixtures
from ketaclinic.measures.tests.test_trajectory import held_sessions, phq9, responder  # noqa: F401 — fixtures
from ketaclinic.measures.trajectory import load_trajectories

ROOT = Path(__file__).resolve().parents[3]
SUPPORT = ROOT / "bench" / "support"


def test_it_runs_the_trajectory_bench_at_a_tiny_scale(tmp_path: Path) -> None:
    pytest.importorskip("orjson")
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}  # SQLite only: a file of its own
    result = subprocess.run(  # noqa: S603 - our own script, fixed arguments
        [
            sys.executable,
            str(ROOT / "bench" / "trajectory_page.py"),
            "--scale",
            "0.004",
            "--requests",
            "10",
            "--duration",
            "0.5",
            "--concurrency",
            "2",
        ],
        env={**env, "KETACLINIC_BENCH_CACHE": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    out = result.stdout
    assert "scale 0.004 (20 patients" in out
    statements = next(line for line in out.splitlines() if line.startswith("SQL statements per request"))
    assert statements.split()[4:6] == ["4", "5"] and "≤ 5: met" in statements
    for label in ("single user p50 ms", "floor + audit row p50 ms", "single user p99 ms", "requests/s at 2 clients"):
        assert label in out
    assert list(tmp_path.glob("traj-*.sqlite3")), "the generated database is cached"


@pytest.mark.django_db
def test_the_floor_reads_what_the_page_reads(responder: Course) -> None:  # noqa: F811
    sys.path.insert(0, str(SUPPORT))
    try:
        import trajectory_page_urls
    finally:
        sys.path.remove(str(SUPPORT))
    patient = responder.patient
    phq9(responder, 3, NOW - dt.timedelta(days=1))
    answer = trajectory_page_urls.raw_trajectory(RequestFactory().get("/"), patient.pk)
    body = orjson.loads(answer.content)
    data = load_trajectories(patient)
    assert body["patient"]["id"] == patient.pk and body["course"]["id"] == data.course.pk
    assert len(body["sessions"]) == len(data.sessions) == 4
    scored = sorted(r[0] for r in body["responses"] if r[2] is not None)
    assert scored == sorted(p.response_id for s in data.instruments for p in s.points)
    with pytest.raises(Exception, match="No such patient"):
        trajectory_page_urls.raw_trajectory(RequestFactory().get("/"), 987654)
