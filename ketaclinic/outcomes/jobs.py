"""The periodic job that keeps the dashboard's rollups current between page views."""

from __future__ import annotations

from ketaclinic.outcomes.rollup import refresh_pending
from ketaclinic.processes.jobs import job


@job("outcomes.refresh")
def refresh_outcomes() -> int:
    """Recompute the courses of patients whose measures, courses or session-day rows changed."""
    return refresh_pending()
