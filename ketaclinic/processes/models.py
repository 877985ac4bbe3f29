"""Heartbeats of the long-running processes (web, job runner, MLLP listener)."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.utils import timezone


class Heartbeat(models.Model):
    """The last sign of life of one named process. A stale heartbeat means the process has stopped."""

    name = models.CharField(max_length=40, unique=True)
    description = models.CharField(max_length=200, blank=True)
    hostname = models.CharField(max_length=120, blank=True)
    pid = models.PositiveIntegerField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    beat_at = models.DateTimeField(null=True, blank=True)
    status_text = models.CharField(max_length=200, blank=True, help_text="Short state, e.g. 'idle' or '3 jobs run'.")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def is_alive(self, now: dt.datetime | None = None) -> bool:
        if self.beat_at is None:
            return False
        now = now or timezone.now()
        return (now - self.beat_at).total_seconds() <= settings.HEARTBEAT_STALE_SECONDS
