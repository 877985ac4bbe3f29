"""bench/outcomes.py runs end to end at a tiny scale, and DuckDB computes the same figures as the dashboard."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


def test_it_runs_the_outcomes_bench_at_a_tiny_scale() -> None:
    pytest.importorskip("duckdb")
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}  # its own throwaway SQLite file
    result = subprocess.run(  # noqa: S603 - our own script, fixed arguments
        [sys.executable, str(ROOT / "bench" / "outcomes.py"), "--scale", "0.004", "--runs", "1"],
        env={**env, "DJANGO_SETTINGS_MODULE": "ketaclinic.settings_test"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "figures equal (rollups = floor on sqlite = DuckDB): yes" in result.stdout
    assert "network: 20 patients, 20 courses" in result.stdout
    for label in ("dashboard: all figures", "response/remission table", "incremental refresh", "naive GROUP BY"):
        assert label in result.stdout
