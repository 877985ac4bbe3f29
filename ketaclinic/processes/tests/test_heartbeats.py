from __future__ import annotations

import datetime as dt
import logging
from io import StringIO

import pytest
import time_machine
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from ketaclinic.accounts.roles import Role
from ketaclinic.accounts.tests.matrix import PermissionMatrix
from ketaclinic.conftest import Cast
from ketaclinic.processes import jobs
from ketaclinic.processes.actions import beat
from ketaclinic.processes.models import Heartbeat

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)


class TestStatusPermissions(PermissionMatrix):
    allowed = {Role.CLINIC_ADMIN}

    def url(self, cast: Cast) -> str:
        return reverse("processes:status")


def test_a_heartbeat_goes_stale_after_the_configured_time() -> None:
    with time_machine.travel(NOW, tick=False) as clock:
        heartbeat = beat("run_jobs", starting=True)
        assert heartbeat.is_alive()
        clock.shift(dt.timedelta(seconds=121))
        assert not heartbeat.is_alive()
    assert not Heartbeat(name="never").is_alive()
    assert str(heartbeat) == "run_jobs"


def test_the_status_page_shows_running_and_stopped_processes(client: Client, cast: Cast) -> None:
    with time_machine.travel(NOW, tick=False) as clock:
        beat("web")
        beat("run_jobs", status_text="round 3")
        clock.shift(dt.timedelta(minutes=10))
        beat("web")
        client.force_login(cast.admin)
        page = client.get(reverse("processes:status"))
        rows = {r["name"]: r for r in page.context["rows"]}
        assert rows["web"]["alive"] and not rows["run_jobs"]["alive"]
        assert rows["run_jobs"]["age_seconds"] == 600
        assert "Stopped" in page.content.decode()
        partial = client.get(reverse("processes:status"), headers={"HX-Request": "true"})
        assert "<h1>" not in partial.content.decode()
        home = client.get(reverse("home"))
        assert home.context["stopped_processes"] == ["run_jobs"]


def test_run_jobs_once_beats_and_purges_expired_sessions() -> None:
    store = SessionStore()
    store.set_expiry(-10)
    store.create()
    out = StringIO()
    call_command("run_jobs", "--once", stdout=out)
    assert "stopped after 1 round(s)" in out.getvalue()
    assert Heartbeat.objects.get(name="run_jobs").status_text == "stopped"
    assert not Session.objects.filter(session_key=store.session_key).exists()


def test_a_failing_job_is_logged_without_stopping_the_others(caplog: pytest.LogCaptureFixture) -> None:
    @jobs.job("always_fails")
    def always_fails() -> int:
        raise RuntimeError("boom")

    try:
        with caplog.at_level(logging.ERROR):
            assert jobs.run_due_jobs() == 0
        assert "job always_fails failed" in caplog.text
    finally:
        jobs._JOBS.pop("always_fails")
