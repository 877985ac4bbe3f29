"""Which tasks a user sees: open tasks at their sites, if their role reads the clinical chart."""

from __future__ import annotations

from typing import Any

from django.http import Http404

from ketaclinic.accounts.access import sites_for
from ketaclinic.accounts.roles import Perm
from ketaclinic.audit.actions import Action, Outcome, record
from ketaclinic.tasks.models import Task, TaskQuerySet


def tasks_visible_to(user: Any) -> TaskQuerySet:
    """Tasks (open and closed) at the user's sites; none unless their role reads the clinical chart."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.can(Perm.VIEW_CHART):
        return Task.objects.none()
    return Task.objects.for_sites(sites_for(user))


def access_task(user: Any, task_id: int | str) -> Task:
    """The task if the user may see it; 404 otherwise (also for tasks at other sites). The read is audited."""
    try:
        pk = int(task_id)
    except (TypeError, ValueError):
        raise Http404("No such task.") from None
    task = tasks_visible_to(user).select_related("patient", "site").filter(pk=pk).first()
    if task is None:
        record(Action.VIEW, object_type="tasks.task", object_id=pk, outcome=Outcome.NOT_FOUND)
        raise Http404("No such task.")
    record(Action.VIEW, obj=task, patient_id=task.patient_id, site=task.site)
    return task


def alert_tasks(user: Any, site: Any) -> TaskQuerySet:
    """Open urgent and high-priority tasks at ``site`` (the acting site) for the home screen, most urgent first."""
    if site is None:
        return Task.objects.none()
    return (
        tasks_visible_to(user)
        .open()
        .filter(site=site, priority__in=[Task.Priority.URGENT, Task.Priority.HIGH])
        .select_related("patient")
        .by_urgency()
    )


def audit_task_list(user: Any, *, count: int, status: str) -> None:
    """Record that ``user`` listed tasks (the filter used and how many, not which)."""
    record(Action.LIST, object_type="tasks.task", user=user, detail={"status": status, "count": count})
