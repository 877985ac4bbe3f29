"""The registry of periodic jobs the job runner executes. Apps add jobs with :func:`job`."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.contrib.sessions.models import Session
from django.utils import timezone

log = logging.getLogger(__name__)

_JOBS: dict[str, Callable[[], int]] = {}


def job(name: str) -> Callable[[Callable[[], int]], Callable[[], int]]:
    """Register a periodic job; it returns how many items it handled."""

    def register(fn: Callable[[], int]) -> Callable[[], int]:
        _JOBS[name] = fn
        return fn

    return register


@job("purge_expired_sessions")
def purge_expired_sessions() -> int:
    deleted, _ = Session.objects.filter(expire_date__lt=timezone.now()).delete()
    return deleted


def run_due_jobs() -> int:
    """Run every registered job once; a failing job is logged (by name only) and does not stop the others."""
    handled = 0
    for name, fn in _JOBS.items():
        try:
            handled += fn()
        except Exception:
            log.exception("job %s failed", name)
    return handled
