"""The operator's status page: is every long-running process alive?"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from ketaclinic.accounts.access import require
from ketaclinic.accounts.roles import Perm
from ketaclinic.processes.actions import EXPECTED_PROCESSES
from ketaclinic.processes.models import Heartbeat


def status(request: HttpRequest) -> HttpResponse:
    require(request.user, Perm.MANAGE_SITE)  # type: ignore[arg-type]
    now = timezone.now()
    known = {h.name: h for h in Heartbeat.objects.all()}
    rows = []
    for name in sorted(set(EXPECTED_PROCESSES) | set(known)):
        heartbeat = known.get(name)
        rows.append(
            {
                "name": name,
                "description": EXPECTED_PROCESSES.get(name) or (heartbeat.description if heartbeat else ""),
                "heartbeat": heartbeat,
                "alive": heartbeat.is_alive(now) if heartbeat else False,
                "age_seconds": int((now - heartbeat.beat_at).total_seconds())
                if heartbeat and heartbeat.beat_at
                else None,
            }
        )
    template = "processes/_table.html" if request.htmx else "processes/status.html"  # type: ignore[attr-defined]
    return render(request, template, {"rows": rows, "now": now})
