"""Recording process heartbeats."""

from __future__ import annotations

import os
import socket

from django.utils import timezone

from ketaclinic.processes.models import Heartbeat

#: The processes an operator expects to see, as listed in the Procfile.
EXPECTED_PROCESSES: dict[str, str] = {
    "web": "Web application (gunicorn)",
    "run_jobs": "Job runner: reminders, scheduled questionnaires, escalations",
}


def beat(name: str, *, status_text: str = "", starting: bool = False) -> Heartbeat:
    """Record that process ``name`` is alive now (and, when ``starting``, when it started)."""
    now = timezone.now()
    defaults: dict[str, object] = {
        "beat_at": now,
        "hostname": socket.gethostname()[:120],
        "pid": os.getpid(),
        "status_text": status_text[:200],
        "description": EXPECTED_PROCESSES.get(name, ""),
    }
    if starting:
        defaults["started_at"] = now
    heartbeat, _ = Heartbeat.objects.update_or_create(name=name, defaults=defaults)
    return heartbeat
