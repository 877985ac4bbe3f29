"""Periodic session-day jobs run by ``run_jobs``: escalating in-session alerts nobody acknowledged in time."""

from __future__ import annotations

from ketaclinic.dosing import monitoring
from ketaclinic.processes.jobs import job


@job("escalate_session_alerts")
def escalate_session_alerts() -> int:
    """Escalate open alerts past the clinic's escalation time (each once); how many escalated."""
    return monitoring.escalate_alerts()
