"""The session page's discharge panel and its endpoints: ready to leave, the discharge check, discharge (and the
prescriber's override), a departure without a routine discharge (against advice, emergency transfer), the session
note (save, sign, co-sign, amend), the REMS form and the superbill downloads.

Thin views like :mod:`ketaclinic.dosing.views`: bad input re-renders the session page with the error next to the
field and what was typed kept (400); a stale session or note version answers 409 with the typed values kept.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET, require_POST

from ketaclinic.accounts.roles import Perm
from ketaclinic.dosing import discharge, documents
from ketaclinic.dosing.access import access_session
from ketaclinic.dosing.actions import DosingError, StaleSessionError
from ketaclinic.dosing.administration_forms import local_time
from ketaclinic.dosing.discharge_forms import (
    AmendmentForm,
    DepartureForm,
    DischargeForm,
    DischargeOverrideForm,
    NoteForm,
    NoteVersionForm,
)
from ketaclinic.dosing.documents import StaleNoteError
from ketaclinic.dosing.forms import VersionForm
from ketaclinic.dosing.models import DosingSession, RemsForm, SessionNote

FORMS: dict[str, type[forms.Form]] = {
    "ready": VersionForm,
    "discharge_check": DischargeForm,
    "discharge": DischargeOverrideForm,
    "departure": DepartureForm,
    "note": NoteForm,
    "cosign": NoteVersionForm,
    "amend": AmendmentForm,
}
#: The session states in which the panel offers the note (after arrival).
NOTE_STATES = documents.NOTE_STATES


def _url(session: DosingSession) -> str:
    return reverse("dosing:session", args=[session.patient_id, session.pk]) + "#discharge"


def _form(name: str, session: DosingSession, data: Any = None, **kwargs: Any) -> forms.Form:
    """The panel's form ``name`` (bound to ``data`` when given); the departure form lists the site's prescribers."""
    form = FORMS[name](data, prefix=name, **kwargs)
    if isinstance(form, DepartureForm):
        form.set_prescribers(session.site)
    return form


def _note(session: DosingSession) -> SessionNote | None:
    return SessionNote.objects.filter(session=session).select_related("nurse_signed_by", "prescriber_signed_by").first()


def _unbound(session: DosingSession, note: SessionNote | None, result: discharge.Readiness | None) -> dict[str, Any]:
    flags = {
        "symptoms_resolved": result.symptoms_resolved if result else False,
        "escort_present": result.escort_present if result else False,
    }
    note_version = note.version if note else 0
    draft = note.text if note else (documents.draft_note_text(session) if session.state in NOTE_STATES else "")
    return {
        "ready": VersionForm(prefix="ready", initial={"version": session.version}),
        "discharge_check": DischargeForm(prefix="discharge_check", initial={"version": session.version, **flags}),
        "discharge": DischargeOverrideForm(prefix="discharge", initial={"version": session.version, **flags}),
        "departure": _form("departure", session, initial={"version": session.version}),
        "note": NoteForm(prefix="note", initial={"version": note_version, "text": draft}),
        "cosign": NoteVersionForm(prefix="cosign", initial={"version": note_version}),
        "amend": AmendmentForm(prefix="amend", initial={"version": note_version}),
    }


def panel_context(session: DosingSession, user: Any) -> dict[str, Any]:
    """What the session page's discharge panel needs (dosing/panels/discharge.html)."""
    administration = discharge.administration_of(session)
    result = discharge.readiness(session) if session.state in discharge.RECOVERY_STATES else None
    note = _note(session)
    rems = RemsForm.objects.filter(session=session).select_related("submitted_by").first()
    started = discharge.dose_started_at(administration) if administration else None
    bill: documents.Superbill | None = None
    bill_problem = ""
    if administration is not None and session.state == "discharged":
        try:
            bill = documents.superbill(session)
        except DosingError as error:
            bill_problem = error.message
    record = getattr(session, "discharge", None)
    return {
        "discharge_forms": _unbound(session, note, result),
        "discharge_readiness": result,
        # Neither missing data nor esketamine's 2 hours can be overridden: no override form for them.
        "discharge_hard_stop": bool(result and any(u["code"] in discharge.hard_stops(session) for u in result.unmet)),
        "discharge_missing": bool(result and result.missing),
        "discharge_record": record,
        "departure_advice": discharge.departure_advice(record),
        # A patient may leave (against advice, or to emergency care) once the dose is over; during it, say why not.
        "can_record_departure": session.state in discharge.RECOVERY_STATES,
        "dose_running": session.state == "dosing",
        "dose_started_at": started,
        "minutes_since_dose": documents.minutes_between(started, timezone.now()) if started else None,
        "ready_to_leave_min": (
            documents.minutes_between(started, session.ready_to_leave_at)
            if started and session.ready_to_leave_at
            else None
        ),
        "can_record_ready": (
            session.state in discharge.READY_TO_LEAVE_STATES
            and administration is not None
            and session.ready_to_leave_at is None
        ),
        "recovery_states": sorted(str(s) for s in discharge.RECOVERY_STATES),
        "checkin_escort": getattr(session, "checkin", None),
        "can_override_discharge": user.can(Perm.OVERRIDE_HOLD),
        "can_cosign": user.can(Perm.PRESCRIBE),
        "note": note,
        "note_states": sorted(str(s) for s in NOTE_STATES),
        "amendments": list(note.amendments.select_related("by")) if note else [],
        "rems_form": rems,
        "rems_rows": documents.rems_rows(rems) if rems else [],
        "rems_overdue": bool(
            rems and rems.submitted_at is None and rems.due_on < timezone.localdate(timezone.now(), session.site.zone)
        ),
        "superbill": bill,
        "superbill_problem": bill_problem,
    }


def _render(request: HttpRequest, session: DosingSession, bound: dict[str, forms.Form], status: int) -> HttpResponse:
    from ketaclinic.dosing import views  # views imports this module for the panel

    context = views._context(request, session, {})
    context["discharge_forms"].update(bound)
    return render(request, "dosing/session.html", context, status=status)


def _stale_form(name: str, request: HttpRequest, session: DosingSession, version: int, message: str) -> forms.Form:
    data = request.POST.copy()
    data[f"{name}-version"] = str(version)
    form = _form(name, session, data)
    form.is_valid()
    form.add_error(None, message)
    return form


def _handle(
    request: HttpRequest,
    patient_id: int,
    session_id: int,
    name: str,
    act: Callable[[DosingSession, Any], object],
) -> HttpResponse:
    session = access_session(request.user, patient_id, session_id, write=True)
    form = _form(name, session, request.POST)
    status = 400
    if form.is_valid():
        try:
            act(session, form)
        except StaleSessionError as stale:
            session = stale.session
            form = _stale_form(
                name,
                request,
                session,
                session.version,
                "Someone else changed this session while you were typing (it is now "
                f"{session.get_state_display().lower()}). Your entries are kept: check the page and submit again.",
            )
            status = 409
        except StaleNoteError as stale:
            form = _stale_form(
                name,
                request,
                session,
                stale.note.version,
                "Someone else changed the note while you were typing. Your text is kept below: compare it with the "
                "saved note and submit again.",
            )
            status = 409
        except DosingError as error:
            field = error.field if error.field in form.fields else None
            label = "" if field else f"{error.field.replace('_', ' ').capitalize()}: "
            form.add_error(field, f"{label}{error.message[:1].upper()}{error.message[1:]}.")
        else:
            return redirect(_url(session))
    session.refresh_from_db()
    return _render(request, session, {name: form}, status)


@require_POST
def ready_to_leave(request: HttpRequest, patient_id: int, session_id: int) -> HttpResponse:
    def act(session: DosingSession, form: Any) -> object:
        return discharge.record_ready_to_leave(session, by=request.user, version=form.cleaned_data["version"])

    return _handle(request, patient_id, session_id, "ready", act)


@require_POST
def check(request: HttpRequest, patient_id: int, session_id: int) -> HttpResponse:
    def act(session: DosingSession, form: Any) -> object:
        data = form.cleaned_data
        return discharge.check_discharge(
            session,
            by=request.user,
            symptoms_resolved=data["symptoms_resolved"],
            escort_present=data["escort_present"],
            version=data["version"],
        )

    return _handle(request, patient_id, session_id, "discharge_check", act)


@require_POST
def discharge_patient(request: HttpRequest, patient_id: int, session_id: int) -> HttpResponse:
    def act(session: DosingSession, form: Any) -> object:
        data = form.cleaned_data
        return discharge.discharge_patient(
            session,
            by=request.user,
            symptoms_resolved=data["symptoms_resolved"],
            escort_present=data["escort_present"],
            override_reason=data["override_reason"],
            version=data["version"],
        )

    return _handle(request, patient_id, session_id, "discharge", act)


@require_POST
def record_departure(request: HttpRequest, patient_id: int, session_id: int) -> HttpResponse:
    """The patient leaves against medical advice or is transferred to emergency care."""

    def act(session: DosingSession, form: Any) -> object:
        data = form.cleaned_data
        return discharge.record_departure(
            session,
            by=request.user,
            disposition=data["disposition"],
            reason=data["departure_reason"],
            left_at=local_time(data["left_at"], session.site.zone),
            risks_explained=data["risks_explained"],
            escort_present=data["escort_present"],
            prescriber_notified=data["prescriber_notified"],
            destination=data["destination"],
            version=data["version"],
        )

    return _handle(request, patient_id, session_id, "departure", act)


@require_POST
def save_note(request: HttpRequest, patient_id: int, session_id: int) -> HttpResponse:
    def act(session: DosingSession, form: Any) -> object:
        data = form.cleaned_data
        return documents.save_note(session, by=request.user, text=data["text"], version=data["version"])

    return _handle(request, patient_id, session_id, "note", act)


@require_POST
def sign_note(request: HttpRequest, patient_id: int, session_id: int) -> HttpResponse:
    def act(session: DosingSession, form: Any) -> object:
        data = form.cleaned_data
        return documents.sign_note(session, by=request.user, text=data["text"], version=data["version"])

    return _handle(request, patient_id, session_id, "note", act)


@require_POST
def cosign_note(request: HttpRequest, patient_id: int, session_id: int) -> HttpResponse:
    def act(session: DosingSession, form: Any) -> object:
        return documents.cosign_note(session, by=request.user, version=form.cleaned_data["version"])

    return _handle(request, patient_id, session_id, "cosign", act)


@require_POST
def amend_note(request: HttpRequest, patient_id: int, session_id: int) -> HttpResponse:
    def act(session: DosingSession, form: Any) -> object:
        data = form.cleaned_data
        return documents.amend_note(
            session, by=request.user, text=data["text"], reason=data["reason"], version=data["version"]
        )

    return _handle(request, patient_id, session_id, "amend", act)


@require_POST
def refresh_rems(request: HttpRequest, patient_id: int, session_id: int) -> HttpResponse:
    """Fill the REMS form again from the session (after a correction), while it is not yet submitted."""
    session = access_session(request.user, patient_id, session_id, write=True)
    try:
        documents.generate_rems_form(session, by=request.user)
    except DosingError as error:
        return HttpResponse(f"{error.field.capitalize()}: {error.message}.", status=400, content_type="text/plain")
    return redirect(_url(session))


def _download(content: bytes, filename: str, content_type: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = content_disposition_header(as_attachment=True, filename=filename) or ""
    response["Cache-Control"] = "no-store"
    return response


@require_GET
def rems_pdf(request: HttpRequest, patient_id: int, session_id: int) -> HttpResponse:
    """The stored REMS form PDF (the document generated at discharge, never re-rendered on download)."""
    session = access_session(request.user, patient_id, session_id)
    form = RemsForm.objects.filter(session=session).first()
    if form is None or not form.pdf:
        raise Http404("This session has no REMS form.")
    with form.pdf.open("rb") as handle:
        content = handle.read()
    day = form.values.get("treatment_date", "")
    return _download(content, f"{session.patient.mrn}-rems-monitoring-{day}.pdf", "application/pdf")


@require_GET
def superbill(request: HttpRequest, patient_id: int, session_id: int, fmt: str) -> HttpResponse:
    session = access_session(request.user, patient_id, session_id)
    try:
        content, filename, kind = documents.export_superbill(session, by=request.user, fmt=fmt)
    except DosingError as error:
        return HttpResponse(f"{error.field.capitalize()}: {error.message}.", status=400, content_type="text/plain")
    return _download(content, filename, kind)


#: Session-scoped URLs, mounted under /patients/<patient_id>/sessions/ with the namespace dosing.
urlpatterns: list[URLPattern] = [
    path("<int:session_id>/ready-to-leave/", ready_to_leave, name="ready_to_leave"),
    path("<int:session_id>/discharge/check/", check, name="discharge_check"),
    path("<int:session_id>/discharge/", discharge_patient, name="discharge"),
    path("<int:session_id>/departure/", record_departure, name="departure"),
    path("<int:session_id>/note/", save_note, name="note_save"),
    path("<int:session_id>/note/sign/", sign_note, name="note_sign"),
    path("<int:session_id>/note/cosign/", cosign_note, name="note_cosign"),
    path("<int:session_id>/note/amend/", amend_note, name="note_amend"),
    path("<int:session_id>/rems/refresh/", refresh_rems, name="rems_refresh"),
    path("<int:session_id>/rems.pdf", rems_pdf, name="rems_pdf"),
    path("<int:session_id>/superbill.<str:fmt>", superbill, name="superbill"),
]
