"""Raising and closing tasks: due times by priority, reuse of an open task from the same source, closing rules."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.db import IntegrityError, transaction

from ketaclinic.audit.models import AuditEvent
from ketaclinic.conftest import Cast
from ketaclinic.patients.models import Patient
from ketaclinic.tasks.actions import close_risk_followup, close_task, raise_task
from ketaclinic.tasks.models import Task

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 5, 4, 12, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("priority", "due_after"),
    [(Task.Priority.URGENT, dt.timedelta(hours=1)), (Task.Priority.HIGH, dt.timedelta(hours=24)),
     (Task.Priority.ROUTINE, dt.timedelta(days=3))],
)  # fmt: skip
def test_it_sets_the_due_time_by_priority(patient: Patient, priority: str, due_after: dt.timedelta) -> None:
    with time_machine.travel(NOW, tick=False):
        task = raise_task(patient, kind=Task.Kind.OTHER, title="Call back", priority=priority)
    assert task.due_at == NOW + due_after
    assert task.site == patient.site and task.status == Task.Status.OPEN and task.created_by is None
    event = AuditEvent.objects.get(object_type="tasks.task", object_id=str(task.pk))
    assert event.detail == {"kind": "other", "priority": priority} and event.patient_id == patient.pk


def test_it_keeps_an_explicit_due_time_the_raiser_and_a_short_title(patient: Patient, cast: Cast) -> None:
    due = NOW + dt.timedelta(minutes=5)
    task = raise_task(patient, kind=Task.Kind.OTHER, title="x" * 250, due_at=due, by=cast.nurse)
    assert task.due_at == due and task.created_by == cast.nurse and len(task.title) == 200


def test_it_reuses_an_open_task_from_the_same_source(patient: Patient, cast: Cast) -> None:
    first = raise_task(patient, kind=Task.Kind.SUICIDE_RISK, title="a", source_type="measures.x", source_id=7)
    again = raise_task(patient, kind=Task.Kind.SUICIDE_RISK, title="b", source_type="measures.x", source_id="7")
    other = raise_task(patient, kind=Task.Kind.SUICIDE_RISK, title="c", source_type="measures.x", source_id=8)
    assert again == first and other != first
    close_risk_followup(
        first, by=cast.nurse, assessed_risk="low", actions=["safety_plan"], note="Assessed on the phone; safe."
    )
    reopened = raise_task(patient, kind=Task.Kind.SUICIDE_RISK, title="d", source_type="measures.x", source_id=7)
    assert reopened != first
    without_source = [raise_task(patient, kind=Task.Kind.OTHER, title="e") for _ in range(2)]
    assert without_source[0] != without_source[1]


def test_closing_needs_a_resolution_and_an_open_task(patient: Patient, cast: Cast) -> None:
    task = raise_task(patient, kind=Task.Kind.OTHER, title="Call back")
    with pytest.raises(ValueError, match="at least 10 characters"):
        close_task(task, by=cast.nurse, resolution="   done    ")
    with time_machine.travel(NOW, tick=False):
        close_task(task, by=cast.nurse, resolution="  Called, all well now.  ")
    task.refresh_from_db()
    assert (task.status, task.closed_by, task.closed_at, task.resolution) == (
        Task.Status.DONE,
        cast.nurse,
        NOW,
        "Called, all well now.",
    )
    assert AuditEvent.objects.filter(object_id=str(task.pk), detail={"event": "closed"}, actor=cast.nurse).exists()
    with pytest.raises(ValueError, match="already closed"):
        close_task(task, by=cast.nurse, resolution="Called again, all well.")


def test_the_database_refuses_a_closed_task_without_a_resolution(patient: Patient) -> None:
    task = raise_task(patient, kind=Task.Kind.OTHER, title="Call back")
    with pytest.raises(IntegrityError), transaction.atomic():
        Task.objects.filter(pk=task.pk).update(status=Task.Status.DONE)


def test_querysets_order_by_urgency_and_find_overdue(patient: Patient) -> None:
    with time_machine.travel(NOW, tick=False):
        routine = raise_task(patient, kind=Task.Kind.OTHER, title="r", priority=Task.Priority.ROUTINE)
        high = raise_task(patient, kind=Task.Kind.OTHER, title="h", priority=Task.Priority.HIGH)
        urgent_late = raise_task(
            patient, kind=Task.Kind.OTHER, title="u2", priority=Task.Priority.URGENT, due_at=NOW + dt.timedelta(hours=2)
        )
        urgent = raise_task(patient, kind=Task.Kind.SUICIDE_RISK, title="u1", priority=Task.Priority.URGENT)
    assert list(Task.objects.by_urgency()) == [urgent, urgent_late, high, routine]
    later = NOW + dt.timedelta(hours=1, minutes=30)
    assert list(Task.objects.overdue(later)) == [urgent]
    with time_machine.travel(later):
        urgent.refresh_from_db()
        assert urgent.is_overdue and not high.is_overdue
    assert str(urgent) == "u1"


def test_a_suicide_risk_follow_up_closes_only_with_its_documented_assessment(patient: Patient, cast: Cast) -> None:
    task = raise_task(patient, kind=Task.Kind.SUICIDE_RISK, title="PHQ-9 item 9", source_type="measures.x", source_id=9)
    with pytest.raises(ValueError, match="closes only with its documented assessment"):
        close_task(task, by=cast.nurse, resolution="Called, all well now.")
    task.refresh_from_db()
    assert task.status == Task.Status.OPEN
