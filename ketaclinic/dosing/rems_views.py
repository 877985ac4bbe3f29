"""The REMS list: esketamine Patient Monitoring Forms not yet submitted, soonest due first, overdue ones flagged,
and "mark submitted" (with the REMS confirmation number when there is one). Site-level, under /dosing/rems/."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from ketaclinic.accounts.access import sites_for
from ketaclinic.accounts.roles import Perm
from ketaclinic.audit.actions import record
from ketaclinic.audit.models import AuditEvent
from ketaclinic.dosing.access import access_session
from ketaclinic.dosing.actions import DosingError
from ketaclinic.dosing.discharge_forms import RemsSubmittedForm
from ketaclinic.dosing.documents import mark_rems_submitted, open_rems_forms
from ketaclinic.dosing.models import RemsForm


def _require(user: Any) -> None:
    if not user.can(Perm.RECORD_SESSION):
        raise PermissionDenied("Your role does not record sessions.")


def _rows(user: Any) -> list[dict[str, Any]]:
    rows = []
    for form in open_rems_forms(sites_for(user)):
        today = timezone.localdate(timezone.now(), form.session.site.zone)
        rows.append({"form": form, "days_left": (form.due_on - today).days, "overdue": form.due_on < today})
    return rows


def _page(request: HttpRequest, bound: dict[int, RemsSubmittedForm], status: int = 200) -> HttpResponse:
    rows = _rows(request.user)
    for row in rows:
        row["submit_form"] = bound.get(row["form"].pk) or RemsSubmittedForm(prefix=f"rems{row['form'].pk}")
    record(AuditEvent.Action.LIST, object_type="dosing.remsform", user=request.user, detail={"count": len(rows)})
    return render(
        request,
        "dosing/rems_list.html",
        {"rows": rows, "overdue": sum(1 for r in rows if r["overdue"])},
        status=status,
    )


@require_GET
def rems_list(request: HttpRequest) -> HttpResponse:
    """The forms to submit at the user's sites."""
    _require(request.user)
    return _page(request, {})


@require_POST
def mark_submitted(request: HttpRequest, form_id: int) -> HttpResponse:
    """Mark one form submitted; the form must belong to a patient the user may record sessions for (else 404)."""
    _require(request.user)
    rems = RemsForm.objects.filter(pk=form_id).select_related("session").first()
    if rems is None:
        raise Http404("No such REMS form.")
    access_session(request.user, rems.session.patient_id, rems.session_id, write=True)
    form = RemsSubmittedForm(request.POST, prefix=f"rems{rems.pk}")
    if form.is_valid():
        try:
            mark_rems_submitted(rems, by=request.user, confirmation=form.cleaned_data["confirmation"])
        except DosingError as error:
            form.add_error(None, f"{error.message[:1].upper()}{error.message[1:]}.")
        else:
            return redirect("dosing_site:rems")
    return _page(request, {rems.pk: form}, status=400)


#: Site-level URLs, mounted under /dosing/ with the namespace dosing_site.
urlpatterns: list[URLPattern] = [
    path("rems/", rems_list, name="rems"),
    path("rems/<int:form_id>/submitted/", mark_submitted, name="rems_submitted"),
]
