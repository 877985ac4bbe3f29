"""Session-day screens: the session page (state, checklist, baseline vitals, gate decision, review and override)
and the POST endpoints behind its forms. Thin views: access, form, action, render.

Bad input re-renders the page with the error next to the field and what was typed kept (400); a stale ``version``
answers 409 with the current state and the typed values kept.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from django import forms
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from ketaclinic.accounts.roles import Perm
from ketaclinic.dosing import actions, administration_views, discharge_views, monitoring_views
from ketaclinic.dosing.access import access_session
from ketaclinic.dosing.actions import DosingError, StaleSessionError
from ketaclinic.dosing.forms import CancelForm, CheckInForm, ReasonForm, ScreenForm, VersionForm, VitalsForm
from ketaclinic.dosing.models import DosingSession
from ketaclinic.patients.access import access_patient
from ketaclinic.scheduling.models import Appointment

FORMS: dict[str, type[forms.Form]] = {
    "checkin": CheckInForm,
    "vitals": VitalsForm,
    "gate": VersionForm,
    "review": ReasonForm,
    "override": ReasonForm,
    "screen": ScreenForm,
    "cancel": CancelForm,
    "no_show": VersionForm,
}
#: "phq9 item q9: …" from the clinical core names the form field ``phq9_q9``.
ITEM_ERROR = re.compile(r"^(\w+) item (\w+)$")


def session_url(session: DosingSession) -> str:
    return reverse("dosing:session", args=[session.patient_id, session.pk])


def _context(request: HttpRequest, session: DosingSession, bound: dict[str, forms.Form]) -> dict[str, Any]:
    user: Any = request.user
    built = {
        name: bound.get(name) or cls(prefix=name, initial={"version": session.version}) for name, cls in FORMS.items()
    }
    decision = actions.latest_decision(session)
    return {
        "patient": session.patient,
        "session": session,
        "zone": session.site.time_zone,
        "checkin": getattr(session, "checkin", None),
        "baseline": actions.latest_baseline(session),
        "decision": decision,
        "overrides": list(session.overrides.select_related("prescriber")),
        "screens": list(session.screens.select_related("response")),
        "open_screen_tasks": actions.open_screen_tasks(session),
        "dosing_allowed": actions.dosing_allowed(session),
        "gate_states": sorted(str(s) for s in actions.GATE_STATES),
        "can_cancel": session.can_become("cancelled"),
        "can_no_show": session.can_become("no_show"),
        "can_override": user.can(Perm.OVERRIDE_HOLD),
        "hard_stop": bool(decision and any(f["code"] in actions.HARD_STOPS for f in decision.findings)),
        "can_confirm": user.can(Perm.PRESCRIBE),
        "forms": built,
        **administration_views.panel_context(session, user),
        **monitoring_views.panel_context(session, user),
        **discharge_views.panel_context(session, user),
    }


@require_GET
def session_page(request: HttpRequest, patient_id: int, session_id: int) -> HttpResponse:
    """The session page a nurse works from on a tablet."""
    session = access_session(request.user, patient_id, session_id)
    return render(request, "dosing/session.html", _context(request, session, {}))


def _handle(
    request: HttpRequest,
    patient_id: int,
    session_id: int,
    name: str,
    act: Callable[[DosingSession, Any], object],
    need: Perm = Perm.RECORD_SESSION,
) -> HttpResponse:
    session = access_session(request.user, patient_id, session_id, need=need, write=True)
    form = FORMS[name](request.POST, prefix=name)
    status = 400
    if form.is_valid():
        try:
            act(session, form)
        except StaleSessionError as stale:
            session = stale.session
            data = request.POST.copy()
            data[f"{name}-version"] = str(session.version)
            form = FORMS[name](data, prefix=name)
            form.is_valid()
            form.add_error(
                None,
                "Someone else changed this session while you were typing (it is now "
                f"{session.get_state_display().lower()}). Your entries are kept: check the page and submit again.",
            )
            status = 409
        except DosingError as error:
            item = ITEM_ERROR.match(error.field)
            name_of_field = f"{item[1]}_{item[2]}" if item else error.field
            field = name_of_field if name_of_field in form.fields else None
            label = "" if field else f"{error.field.replace('_', ' ').capitalize()}: "
            form.add_error(field, f"{label}{error.message[:1].upper()}{error.message[1:]}.")
        else:
            return redirect(session_url(session))
    session.refresh_from_db()
    return render(request, "dosing/session.html", _context(request, session, {name: form}), status=status)


@require_POST
def record_checkin(request: HttpRequest, patient_id: int, session_id: int) -> HttpResponse:
    def act(session: DosingSession, form: Any) -> object:
        values = form.checklist(session.site.zone)
        return actions.check_in(session, by=request.user, version=form.cleaned_data["version"], **values)

    return _handle(request, patient_id, session_id, "checkin", act)


@require_POST
def record_vitals(request: HttpRequest, patient_id: int, session_id: int) -> HttpResponse:
    def act(session: DosingSession, form: Any) -> object:
        return actions.record_baseline_vitals(
            session, by=request.user, vitals=form.vitals(), version=form.cleaned_data["version"]
        )

    return _handle(request, patient_id, session_id, "vitals", act)


@require_POST
def run_gate(request: HttpRequest, patient_id: int, session_id: int) -> HttpResponse:
    def act(session: DosingSession, form: Any) -> object:
        return actions.run_predose_gate(session, by=request.user, version=form.cleaned_data["version"])

    return _handle(request, patient_id, session_id, "gate", act)


@require_POST
def confirm_review(request: HttpRequest, patient_id: int, session_id: int) -> HttpResponse:
    def act(session: DosingSession, form: Any) -> object:
        data = form.cleaned_data
        return actions.confirm_review(session, by=request.user, reason=data["reason"], version=data["version"])

    return _handle(request, patient_id, session_id, "review", act, need=Perm.PRESCRIBE)


@require_POST
def override_hold(request: HttpRequest, patient_id: int, session_id: int) -> HttpResponse:
    def act(session: DosingSession, form: Any) -> object:
        data = form.cleaned_data
        return actions.override_hold(session, by=request.user, reason=data["reason"], version=data["version"])

    return _handle(request, patient_id, session_id, "override", act, need=Perm.OVERRIDE_HOLD)


@require_POST
def open_session(request: HttpRequest, patient_id: int, appointment_id: int) -> HttpResponse:
    """Open (or reopen) the session of one of the patient's dosing appointments, then show it."""
    patient = access_patient(request.user, patient_id, need=Perm.RECORD_SESSION, write=True)
    appointment = Appointment.objects.filter(patient=patient, pk=appointment_id).first()
    if appointment is None:
        raise Http404("No such appointment.")
    try:
        session = actions.open_session(appointment, by=request.user)
    except DosingError as error:
        return HttpResponse(f"{error.field.capitalize()}: {error.message}.", status=400, content_type="text/plain")
    return redirect(session_url(session))


@require_POST
def record_screen(request: HttpRequest, patient_id: int, session_id: int) -> HttpResponse:
    def act(session: DosingSession, form: Any) -> object:
        return actions.record_predose_screen(
            session,
            by=request.user,
            phq9_answers=form.answers("phq9"),
            cssrs_answers=form.answers("cssrs_screener"),
            version=form.cleaned_data["version"],
        )

    return _handle(request, patient_id, session_id, "screen", act)


@require_POST
def cancel_session(request: HttpRequest, patient_id: int, session_id: int) -> HttpResponse:
    def act(session: DosingSession, form: Any) -> object:
        data = form.cleaned_data
        return actions.cancel_session(session, by=request.user, reason=data["reason"], version=data["version"])

    return _handle(request, patient_id, session_id, "cancel", act)


@require_POST
def mark_no_show(request: HttpRequest, patient_id: int, session_id: int) -> HttpResponse:
    def act(session: DosingSession, form: Any) -> object:
        return actions.mark_no_show(session, by=request.user, version=form.cleaned_data["version"])

    return _handle(request, patient_id, session_id, "no_show", act)
