"""Task screens: the site's task list (urgent first), one task with its close form, and the home-screen alerts."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from ketaclinic.accounts.access import require
from ketaclinic.accounts.roles import Perm
from ketaclinic.measures.models import QuestionnaireResponse
from ketaclinic.tasks.access import access_task, alert_tasks, audit_task_list, tasks_visible_to
from ketaclinic.tasks.actions import close_risk_followup, close_task
from ketaclinic.tasks.forms import CloseTaskForm, FollowUpForm, TaskFilterForm
from ketaclinic.tasks.models import Task

PAGE_SIZE = 50


@require_GET
def task_list(request: HttpRequest) -> HttpResponse:
    """Tasks at the user's sites: open ones urgent first with overdue marked, or closed ones newest first."""
    require(request.user, Perm.VIEW_CHART)  # type: ignore[arg-type]
    form = TaskFilterForm(request.GET)
    status = form.cleaned_data.get("status") if form.is_valid() else ""
    status = status or "open"
    tasks = tasks_visible_to(request.user).select_related("patient", "site", "closed_by")
    if status == "open":
        tasks = tasks.open().by_urgency()
    else:
        tasks = tasks.filter(status=Task.Status.DONE).order_by("-closed_at", "-id")
    page = Paginator(tasks, PAGE_SIZE).get_page(request.GET.get("page"))
    audit_task_list(request.user, count=page.paginator.count, status=status)
    context = {
        "page": page,
        "status": status,
        "multi_site": len(getattr(request, "available_sites", [])) > 1,
    }
    return render(request, "tasks/list.html", context)


def _source(request: HttpRequest, task: Task) -> dict[str, Any]:
    """What raised the task, for the clinician closing it (a positive questionnaire, an intake, a link request)."""
    if task.source_type == "measures.questionnaireresponse" and task.source_id.isdigit():
        response = QuestionnaireResponse.objects.filter(pk=int(task.source_id), patient=task.patient).first()
        return {"response": response}
    return {}


@require_http_methods(["GET", "POST"])
def task_detail(request: HttpRequest, task_id: int) -> HttpResponse:
    """One task: who it is about, why it was raised, and the form that closes it with a resolution."""
    require(request.user, Perm.VIEW_CHART)  # type: ignore[arg-type]
    task = access_task(request.user, task_id)
    followup = task.kind == Task.Kind.SUICIDE_RISK
    data = request.POST if request.method == "POST" else None
    form: CloseTaskForm | FollowUpForm = FollowUpForm(data) if followup else CloseTaskForm(data)
    status = 200
    if request.method == "POST":
        if followup and not request.user.can(Perm.EDIT_CHART):  # type: ignore[union-attr]
            raise PermissionDenied("Closing a suicide-risk follow-up needs a clinician who edits the chart.")
        if form.is_valid():
            try:
                if isinstance(form, FollowUpForm):
                    close_risk_followup(task, by=request.user, **form.cleaned_data)
                else:
                    close_task(task, by=request.user, resolution=form.cleaned_data["resolution"])
            except ValueError as error:
                form.add_error(None, f"Not closed: {error}.")
            else:
                messages.success(request, f"Task closed: {task.title}")
                return redirect("tasks:list")
        status = 400
    context = {"task": task, "form": form, "followup": followup, **_source(request, task)}
    return render(request, "tasks/detail.html", context, status=status)


@require_GET
def alerts_widget(request: HttpRequest) -> HttpResponse:
    """The home screen's urgent/high task panel, polled every 30 s (the poll does not count as activity)."""
    require(request.user, Perm.VIEW_CHART)  # type: ignore[arg-type]
    return render(request, "tasks/_widget.html", {"alert_tasks": alert_tasks(request.user, request.site)})
