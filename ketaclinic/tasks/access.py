"""Which tasks a user sees: open tasks at their sites, if their role reads the clinical chart."""

from __future__ import annotations

from typing import Any

from django.http import Http404

from ketaclinic.accounts.access import sites_for
from ketaclinic.accounts.roles import Perm
from ketaclinic.tasks.models import Task, TaskQuerySet


def tasks_visible_to(user: Any) -> TaskQuerySet:
    if user is None or not getattr(user, "is_authenticated", False) or not user.can(Perm.VIEW_CHART):
        return Task.objects.none()
    return Task.objects.for_sites(sites_for(user))


def access_task(user: Any, task_id: int | str) -> Task:
    """The task if the user may see it; 404 otherwise (also for tasks at other sites)."""
    try:
        pk = int(task_id)
    except (TypeError, ValueError):
        raise Http404("No such task.") from None
    task = tasks_visible_to(user).select_related("patient").filter(pk=pk).first()
    if task is None:
        raise Http404("No such task.")
    return task
