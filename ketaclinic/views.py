"""Project-level pages: the home screen, the health probe and the error pages."""

from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template import loader
from django.utils import timezone

from ketaclinic.accounts.middleware import API_PREFIXES
from ketaclinic.accounts.roles import Perm
from ketaclinic.processes.actions import EXPECTED_PROCESSES
from ketaclinic.processes.models import Heartbeat
from ketaclinic.tasks.access import alert_tasks


def home(request: HttpRequest) -> HttpResponse:
    """The signed-in start page: who and where you are, and what your roles let you do today."""
    user = request.user
    context: dict[str, object] = {"today": timezone.localdate()}
    if user.can(Perm.MANAGE_SITE):  # type: ignore[union-attr]
        beats = {h.name: h for h in Heartbeat.objects.filter(name__in=EXPECTED_PROCESSES)}
        context["stopped_processes"] = [n for n in EXPECTED_PROCESSES if not (beats.get(n) and beats[n].is_alive())]
    if user.can(Perm.VIEW_CHART):  # type: ignore[union-attr]
        # Clinicians see their site's urgent/high tasks first (suicide-risk follow-ups); the panel refreshes itself.
        context["show_task_alerts"] = True
        context["alert_tasks"] = alert_tasks(user, getattr(request, "site", None))
    return render(request, "home.html", context)


@login_not_required
def healthz(request: HttpRequest) -> HttpResponse:
    """Liveness for load balancers: the database answers. No data is revealed."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


def _error(request: HttpRequest, status: int, title: str, message: str) -> HttpResponse:
    if request.path.startswith(API_PREFIXES):
        return JsonResponse({"detail": message}, status=status)
    return render(request, "error.html", {"status": status, "title": title, "message": message}, status=status)


@login_not_required
def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error(request, 400, "Request not understood", "The request could not be read. Go back and try again.")


@login_not_required
def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    reason = str(exception) if exception and str(exception) else "Your role does not allow this page."
    return _error(request, 403, "Not allowed", f"{reason} Ask a clinic admin if you need access.")


@login_not_required
def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error(
        request, 404, "Page not found", "There is nothing here, or it is not available to you. Check the address."
    )


@login_not_required
def server_error(request: HttpRequest) -> HttpResponse:
    """A self-contained page: it must render even when templates, static files or the database are the fault."""
    message = (
        "The error has been logged. What you saved before this page is safe; try again, and tell the clinic admin "
        "if it happens again."
    )
    if request.path.startswith(API_PREFIXES):
        return JsonResponse({"detail": message}, status=500)
    return HttpResponse(loader.get_template("500.html").render(), status=500)


@login_not_required
def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    return _error(
        request,
        403,
        "Form expired",
        "This form was open too long or your session changed. Go back, reload the page and submit again.",
    )
