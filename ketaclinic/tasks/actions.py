"""Raising and closing clinician tasks (audited)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone

from ketaclinic import clinical
from ketaclinic.audit.actions import Action, record
from ketaclinic.clinical.suicide_risk import ACTION_LABELS
from ketaclinic.tasks.models import FollowUpAssessment, Task

#: How soon a task of each priority is due (a suicide-risk tier maps onto these; see measures later).
DUE_AFTER: dict[str, dt.timedelta] = {
    Task.Priority.URGENT: dt.timedelta(hours=1),
    Task.Priority.HIGH: dt.timedelta(hours=24),
    Task.Priority.ROUTINE: dt.timedelta(days=3),
}


@transaction.atomic
def raise_task(
    patient: Any,
    *,
    kind: str,
    title: str,
    priority: str = Task.Priority.ROUTINE,
    detail: str = "",
    due_at: dt.datetime | None = None,
    by: Any = None,
    source_type: str = "",
    source_id: str | int = "",
) -> Task:
    """Open a task for ``patient``'s clinical team; an open task of the same kind from the same source is reused."""
    if source_type:
        existing = (
            Task.objects.open()
            .filter(patient=patient, kind=kind, source_type=source_type, source_id=str(source_id))
            .first()
        )
        if existing is not None:
            return existing
    task = Task.objects.create(
        patient=patient,
        site=patient.site,
        kind=kind,
        priority=priority,
        title=title[:200],
        detail=detail,
        due_at=due_at or timezone.now() + DUE_AFTER[priority],
        created_by=by if getattr(by, "is_authenticated", False) else None,
        source_type=source_type,
        source_id=str(source_id),
    )
    record(
        Action.CREATE,
        obj=task,
        patient_id=patient.pk,
        site=patient.site,
        user=task.created_by,
        detail={"kind": kind, "priority": priority},
    )
    return task


@transaction.atomic
def close_task(task: Task, *, by: Any, resolution: str) -> Task:
    """Close a task with the assessment or action taken; a task cannot be closed without one.

    A suicide-risk follow-up is refused here: it closes only with its documented risk assessment
    (:func:`close_risk_followup`).
    """
    if task.kind == Task.Kind.SUICIDE_RISK:
        raise ValueError(
            "a suicide-risk follow-up closes only with its documented assessment: the risk level found, the actions "
            "taken and a note"
        )
    return _close(task, by=by, resolution=resolution)


def _close(task: Task, *, by: Any, resolution: str) -> Task:
    if task.status != Task.Status.OPEN:
        raise ValueError("this task is already closed")
    if len(resolution.strip()) < 10:
        raise ValueError("resolution: describe the assessment or action taken (at least 10 characters)")
    task.status = Task.Status.DONE
    task.closed_at = timezone.now()
    task.closed_by = by
    task.resolution = resolution.strip()
    task.save(update_fields=["status", "closed_at", "closed_by", "resolution"])
    record(Action.UPDATE, obj=task, patient_id=task.patient_id, site=task.site, user=by, detail={"event": "closed"})
    return task


@transaction.atomic
def close_risk_followup(task: Task, *, by: Any, assessed_risk: str, actions: list[str], note: str) -> Task:
    """Close a suicide-risk follow-up with its documented assessment: the risk level found, the actions taken and a
    note (``clinical.check_closure`` says what is missing; a ``ValueError`` lists it). The structured assessment and
    the closing are one transaction."""
    if task.kind != Task.Kind.SUICIDE_RISK:
        raise ValueError("only a suicide-risk follow-up is closed with a risk assessment")
    task = Task.objects.select_for_update().get(pk=task.pk)
    if task.status != Task.Status.OPEN:
        raise ValueError("this task is already closed")
    problems = clinical.check_closure(assessed_risk, actions, note)
    if problems:
        raise ValueError("; ".join(problems))
    assessment = FollowUpAssessment.objects.create(
        task=task, assessed_risk=assessed_risk, actions=list(actions), note=note.strip(), assessed_by=by
    )
    labels = "; ".join(ACTION_LABELS[clinical.FollowUpAction(a)] for a in actions)
    resolution = f"Risk assessed: {assessed_risk}. Actions: {labels}. {assessment.note}"
    record(
        Action.CREATE,
        obj=assessment,
        patient_id=task.patient_id,
        site=task.site,
        user=by,
        detail={"task": task.pk},
    )
    return _close(task, by=by, resolution=resolution)
