"""Course screens: the list, opening a course, the course page, dose orders, planning and booking, moves, missed
sessions and decisions. Thin views: access, form, action, render."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.forms import Form
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from ketaclinic.accounts.roles import Perm
from ketaclinic.clinical import PROTOCOLS, get_protocol, phase_for_week
from ketaclinic.clinical.protocols import PerKgDose, Phase
from ketaclinic.courses import actions, planning, sessions
from ketaclinic.courses.access import BOOKERS, access_course, access_courses, can_see_clinical
from ketaclinic.courses.actions import CourseError, StaleCourseError
from ketaclinic.courses.forms import (
    BookForm,
    DecisionForm,
    DoseOrderForm,
    MissedForm,
    MoveForm,
    OpenCourseForm,
    PlanForm,
)
from ketaclinic.courses.models import Course, MissedSession
from ketaclinic.patients.models import Patient
from ketaclinic.scheduling.actions import BookingConflict, StaleAppointmentError
from ketaclinic.scheduling.models import Appointment
from ketaclinic.screening.models import EligibilityAssessment

#: Where the actions' field names appear on the open-course form.
OPEN_FIELDS = {
    "min_mg_per_kg": "min_bound",
    "min_amount_mg": "min_bound",
    "max_mg_per_kg": "max_bound",
    "max_amount_mg": "max_bound",
}


def _can(request: HttpRequest, *perms: Perm) -> bool:
    user: Any = request.user
    return any(user.can(p) for p in perms)


def chart_url(patient_id: int) -> str:
    """The patient chart (the patients app's URL name is the contract)."""
    try:
        return reverse("patients:chart", args=[patient_id])
    except NoReverseMatch:  # pragma: no cover - the patients app is installed
        return f"/patients/{patient_id}/"


def _fail(form: Form, error: CourseError, mapping: dict[str, str] | None = None) -> None:
    """Show an action's refusal next to the field it names (or above the form)."""
    name = (mapping or {}).get(error.field, error.field)
    if name in form.fields:
        form.add_error(name, error.message[:1].upper() + error.message[1:])
    else:
        form.add_error(None, f"{error.field.replace('_', ' ').capitalize()}: {error.message}")


def _base(request: HttpRequest, patient: Patient, **extra: Any) -> dict[str, Any]:
    return {
        "patient": patient,
        "chart_url": chart_url(patient.pk),
        "clinical": can_see_clinical(request.user),
        "can_prescribe": _can(request, Perm.PRESCRIBE),
        "can_book": _can(request, *BOOKERS),
        "can_start": _can(request, Perm.RECORD_SESSION),
        **extra,
    }


def describe_phase(phase: Phase) -> str:
    """e.g. "Induction: weeks 1–3, 2–3 a week, 6 sessions (six sessions over 2–3 weeks)"."""
    if phase.last_week is None:
        weeks = f"from week {phase.first_week}"
    elif phase.last_week == phase.first_week:
        weeks = f"week {phase.first_week}"
    else:
        weeks = f"weeks {phase.first_week}–{phase.last_week}"
    low, high = phase.sessions_per_week_min, phase.sessions_per_week_max
    if high < 1:
        often = "every 2 weeks"
    elif low == high:
        often = f"{high:g} a week"
    elif low < 1:
        often = f"every 2 weeks to {high:g} a week"
    else:
        often = f"{low:g}–{high:g} a week"
    text = f"{phase.name.capitalize()}: {weeks}, {often}"
    if phase.total_sessions:
        text += f", {phase.total_sessions} session{'s' if phase.total_sessions != 1 else ''}"
    return text + (f" ({phase.note})" if phase.note else "")


def protocol_cards(patient: Patient | None = None) -> list[dict[str, Any]]:
    """Each protocol with its dose rule, phases and sources, for the protocol picker; with ``patient``, whether a
    signed approving eligibility assessment is in force for its route."""
    approved: set[str] = set()
    if patient is not None:
        approved = {a.route for a in EligibilityAssessment.objects.signed().filter(patient=patient) if a.is_approved}
    cards = []
    for proto in PROTOCOLS.values():
        rule = proto.dose_rule
        if isinstance(rule, PerKgDose):
            dose = f"{rule.default_mg_per_kg:g} mg/kg (range {rule.min_mg_per_kg:g}–{rule.max_mg_per_kg:g} mg/kg)" + (
                f" over {proto.infusion_min:g} min" if proto.infusion_min else ""
            )
        else:
            dose = f"{rule.default_mg:g} mg (allowed: {', '.join(f'{a:g}' for a in rule.allowed_mg)} mg)"
        phases = [describe_phase(p) for p in proto.phases]
        cards.append(
            {
                "id": proto.id,
                "title": proto.title,
                "route": proto.route.value,
                "dose": dose,
                "phases": phases,
                "sources": [str(c) for c in proto.citations],
                "notes": list(proto.notes),
                "evidence": proto.evidence.value,
                "eligible": proto.route.value in approved,
            }
        )
    return cards


# --- List and opening ----------------------------------------------------------------------------------------------


def course_list(request: HttpRequest, patient_id: int) -> HttpResponse:
    """Every course of the patient, the active one first."""
    patient = access_courses(request.user, patient_id)
    courses = list(Course.objects.filter(patient=patient).select_related("opened_by"))
    courses.sort(key=lambda c: (not c.is_active, -c.opened_at.timestamp()))
    return render(request, "courses/list.html", _base(request, patient, courses=courses))


def _open_kwargs(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "protocol": data["protocol"],
        "indication": data["indication"],
        "jurisdiction": data["jurisdiction"],
        "mg_per_kg": data.get("mg_per_kg"),
        "amount_mg": data.get("amount_mg"),
        "weight_basis": data["weight_basis"],
        "min_bound": data.get("min_bound"),
        "max_bound": data.get("max_bound"),
        "bounds_override_reason": data.get("bounds_override_reason") or "",
        "planned_induction_sessions": data.get("planned_induction_sessions"),
        "review_points": data.get("review_points"),
        "prior_sessions": data.get("prior_sessions") or 0,
    }


def open_course(request: HttpRequest, patient_id: int) -> HttpResponse:
    """The "Open course" form (prescribers); a valid POST opens the course and shows it."""
    if request.method == "POST":
        patient = access_courses(request.user, patient_id, need=Perm.PRESCRIBE, write=True)
        form = OpenCourseForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            # Only the dose field that fits the protocol counts; the other may hold a value from switching protocols.
            per_kg = isinstance(get_protocol(data["protocol"]).dose_rule, PerKgDose)
            data["amount_mg" if per_kg else "mg_per_kg"] = None
            try:
                course = actions.open_course(patient, by=request.user, **_open_kwargs(data))
            except CourseError as error:
                _fail(form, error, OPEN_FIELDS)
            else:
                messages.success(request, f"Course opened: {course.protocol_title}.")
                return redirect("courses:detail", patient_id=patient.pk, course_id=course.pk)
        status = 400
    else:
        patient = access_courses(request.user, patient_id, need=Perm.PRESCRIBE)
        form = OpenCourseForm(initial={k: v for k, v in request.GET.items() if k in OpenCourseForm.base_fields})
        status = 200
    preview = _preview(patient, form.data if form.is_bound else form.initial)
    context = _base(request, patient, form=form, protocols=protocol_cards(patient), preview=preview)
    return render(request, "courses/open.html", context, status=status)


def _preview(patient: Patient, data: Any) -> dict[str, Any]:
    """The starting dose ``clinical.dose`` gives for the form's current choices, or why it cannot."""
    protocol = (data.get("protocol") or "") if data else ""
    if protocol not in PROTOCOLS:
        return {"message": "Choose a protocol to see the starting dose."}
    per_kg = isinstance(PROTOCOLS[protocol].dose_rule, PerKgDose)
    raw = data.get("mg_per_kg" if per_kg else "amount_mg") or None
    try:
        value = float(raw) if raw is not None else None
    except ValueError:
        return {"message": "Enter the dose as a number."}
    try:
        result = actions.preview_starting_dose(
            patient,
            protocol=protocol,
            jurisdiction=data.get("jurisdiction") or "US",
            weight_basis=data.get("weight_basis") or "actual",
            mg_per_kg=value if per_kg else None,
            amount_mg=None if per_kg else value,
        )
    except CourseError as error:
        return {"error": f"{error.field.replace('_', ' ').capitalize()}: {error.message}", "field": error.field}
    return {"dose": result, "per_kg": per_kg, "protocol": PROTOCOLS[protocol]}


def dose_preview(request: HttpRequest, patient_id: int) -> HttpResponse:
    """The live starting-dose preview of the open-course form (htmx)."""
    patient = access_courses(request.user, patient_id, need=Perm.PRESCRIBE)
    context = {"patient": patient, "chart_url": chart_url(patient.pk), "preview": _preview(patient, request.GET)}
    return render(request, "courses/_dose_preview.html", context)


# --- The course page -----------------------------------------------------------------------------------------------


def session_rows(course: Course) -> list[dict[str, Any]]:
    """Every session of the course with its spacing check (standing sessions) and missed-session record."""
    rows = list(sessions.appointments(course))
    standing = [a.starts_at for a in rows if a.status in Appointment.HOLDING]
    proto = actions.effective_protocol(course)
    first = course.started_at or (min(standing) if standing else None)
    checked = dict(planning.check_series(proto, standing, course_start=first, zone=course.site.zone))
    missed = {m.appointment_ref: m for m in MissedSession.objects.filter(course=course)}
    now = timezone.now()
    out = []
    for appointment in rows:
        holding = appointment.status in Appointment.HOLDING
        week = planning.week_of(first, appointment.starts_at, course.site.zone) if first else None
        out.append(
            {
                "appointment": appointment,
                "holding": holding,
                "problems": checked.get(appointment.starts_at, ()) if holding else (),
                "missed": missed.get(appointment.pk),
                "week": week,
                "phase": planning_phase(proto, week),
                "movable": appointment.status == Appointment.Status.BOOKED and appointment.starts_at > now,
                "past": appointment.status == Appointment.Status.BOOKED and appointment.starts_at <= now,
                "needs_rule": not holding
                and appointment.pk not in missed
                and not appointment.cancel_reason.startswith(actions.DECISION_CANCEL_PREFIX),
            }
        )
    return out


def planning_phase(proto: Any, week: int | None) -> str:
    if not week:
        return ""
    phase = phase_for_week(proto, week)
    return phase.name if phase else "after the schedule"


def course_detail(request: HttpRequest, patient_id: int, course_id: int) -> HttpResponse:
    """The course page: status, dose, precautions, sessions and their spacing, REMS, review and decisions.

    The front desk (no chart access) sees the schedule and the REMS state only.
    """
    course = access_course(request.user, patient_id, course_id)
    clinical = can_see_clinical(request.user)
    context = _base(
        request,
        course.patient,
        course=course,
        zone=course.site.time_zone,
        sessions=session_rows(course),
        rems=actions.rems_enrolment(course) if course.is_esketamine else None,
        held=sessions.sessions_held(course),
        upcoming=sessions.upcoming(course),
    )
    if clinical:
        status = actions.review_status(course)
        context.update(
            orders=list(course.dose_orders.select_related("ordered_by")),
            order=course.current_dose_order(),
            bounds=actions.course_bounds(course),
            protocol_bounds=actions.protocol_bounds(course.clinical_protocol),
            review=status,
            review_due=actions.review_due(course),
            decisions=list(course.decisions.select_related("decided_by")),
            allowed=actions.allowed_decisions(course),
            decision_form=DecisionForm(course=course, initial={"version": course.version}),
            missed=list(course.missed_sessions.select_related("recorded_by")),
        )
    return render(request, "courses/detail.html", context)


def order_dose(request: HttpRequest, patient_id: int, course_id: int) -> HttpResponse:
    """The dose order form: bounds shown; an override reason is asked for outside them."""
    course = access_course(request.user, patient_id, course_id, need=Perm.PRESCRIBE, write=request.method == "POST")
    form = DoseOrderForm(request.POST or None, course=course)
    status = 200
    outside = False
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            value = {"mg_per_kg" if course.is_per_kg else "amount_mg": data["value"]}
            try:
                actions.order_dose(
                    course,
                    by=request.user,
                    reason=data["reason"],
                    override_reason=data["override_reason"],
                    effective_from_session=data["effective_from_session"],
                    **value,
                )
            except CourseError as error:
                outside = isinstance(error, actions.DoseOutOfBounds) or error.field == "override_reason"
                _fail(form, error, {"mg_per_kg": "value", "amount_mg": "value"})
            else:
                messages.success(request, "Dose order recorded.")
                return redirect("courses:detail", patient_id=course.patient_id, course_id=course.pk)
        status = 400
    context = _base(
        request,
        course.patient,
        course=course,
        form=form,
        order=course.current_dose_order(),
        bounds=actions.course_bounds(course),
        protocol_bounds=actions.protocol_bounds(course.clinical_protocol),
        show_override=outside or bool(form.data.get("override_reason")),
        next_session=sessions.next_session_number(course),
    )
    return render(request, "courses/dose.html", context, status=status)


# --- Planning and booking ------------------------------------------------------------------------------------------


def plan_sessions(request: HttpRequest, patient_id: int, course_id: int) -> HttpResponse:
    """Plan a phase (GET with the plan form's fields shows the dates, conflicts and alternatives) and book it (POST)."""
    course = access_course(request.user, patient_id, course_id, need=BOOKERS, write=request.method == "POST")
    phases = course.clinical_protocol.phases
    # A course in maintenance plans its maintenance sessions; any other plans its first phase.
    first_phase = phases[1].name if course.status == Course.Status.MAINTENANCE and len(phases) > 1 else phases[0].name
    status = 200
    preview = None
    conflict: BookingConflict | None = None
    book_form = None
    if request.method == "POST":
        chosen = [str(v) for k, v in sorted(request.POST.items()) if k.startswith("start_") and v]
        book_form = BookForm(request.POST, chosen=chosen)
        form = PlanForm(request.POST, course=course)
        form.is_valid()
        if book_form.is_valid():
            try:
                plan = actions.plan_from_starts(
                    course, book_form.cleaned_data["phase"], book_form.cleaned_data["start_times"]
                )
                booked = actions.book_plan(course, plan, by=request.user)
            except CourseError as error:
                _fail(book_form, error)
                status = 400
            except BookingConflict as error:
                conflict = error
                status = 409
            else:
                messages.success(request, f"{len(booked)} session(s) booked.")
                return redirect("courses:detail", patient_id=course.patient_id, course_id=course.pk)
        else:
            status = 400
    else:
        initial = {
            "phase": first_phase,
            "start_date": timezone.now().astimezone(course.site.zone).date() + dt.timedelta(days=1),
            "preferred_time": dt.time(9),
        }
        form = PlanForm(request.GET or None, course=course, initial=initial)
        if form.is_bound and form.is_valid():
            data = form.cleaned_data
            try:
                plan = actions.plan_phase(
                    course,
                    phase=data["phase"],
                    start_date=data["start_date"],
                    preferred_time=data["preferred_time"],
                    weekdays=data["weekdays"],
                    count=data["count"],
                    every_weeks=data["every_weeks"],
                )
            except CourseError as error:
                _fail(form, error)
                status = 400
            else:
                preview = actions.preview_booking(course, plan)
        elif form.is_bound:
            status = 400
    context = _base(
        request,
        course.patient,
        course=course,
        zone=course.site.time_zone,
        form=form,
        preview=preview,
        book_form=book_form,
        conflict=conflict,
        rems=actions.rems_enrolment(course) if course.is_esketamine else None,
        existing=session_rows(course),
    )
    return render(request, "courses/plan.html", context, status=status)


def _session(course: Course, appointment_id: int) -> Appointment:
    appointment = sessions.appointments(course).filter(pk=appointment_id).first()
    if appointment is None:
        raise Http404("No such session.")
    return appointment


def move_session(request: HttpRequest, patient_id: int, course_id: int, appointment_id: int) -> HttpResponse:
    """Move one session; afterwards the course page shows which later sessions need moving, with valid times."""
    course = access_course(request.user, patient_id, course_id, need=BOOKERS, write=request.method == "POST")
    appointment = _session(course, appointment_id)
    zone = course.site.zone
    local_start = appointment.starts_at.astimezone(zone).replace(tzinfo=None)
    form = MoveForm(request.POST or None, initial={"new_start": local_start, "version": appointment.version})
    status = 200
    replan = None
    conflict = None
    if request.method == "POST":
        status = 400
        if form.is_valid():
            new_start = form.cleaned_data["new_start"].replace(tzinfo=None)
            aware = planning.local(new_start.date(), new_start.time(), zone)
            try:
                replan = actions.move_session(
                    course, appointment, new_start=aware, by=request.user, expected_version=form.cleaned_data["version"]
                )
            except CourseError as error:
                _fail(form, error)
            except ValueError as error:  # the schedule's own argument checks (a time off the quarter hour …)
                form.add_error("new_start", str(error).split(": ", 1)[-1])
            except StaleAppointmentError as error:
                form.add_error(None, str(error))
                status = 409
            except BookingConflict as error:
                conflict = error
                status = 409
            else:
                appointment.refresh_from_db()
                status = 200
                if replan.ok:
                    messages.success(request, f"Session {appointment.sequence_number} moved; the spacing still holds.")
                    return redirect("courses:detail", patient_id=course.patient_id, course_id=course.pk)
    context = _base(
        request,
        course.patient,
        course=course,
        zone=course.site.time_zone,
        appointment=appointment,
        form=form,
        replan=replan,
        conflict=conflict,
    )
    return render(request, "courses/move.html", context, status=status)


def missed_session(request: HttpRequest, patient_id: int, course_id: int, appointment_id: int) -> HttpResponse:
    """Cancel a session, record a no-show, or apply the missed-session rule to one cancelled elsewhere."""
    needs = (*BOOKERS, Perm.RECORD_SESSION)
    course = access_course(request.user, patient_id, course_id, need=needs, write=request.method == "POST")
    appointment = _session(course, appointment_id)
    held = appointment.status in Appointment.HOLDING
    form = MissedForm(request.POST or None, initial={"action": "cancel" if held else "record"})
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            try:
                if data["action"] == "cancel":
                    if not _can(request, *BOOKERS):
                        raise PermissionDenied("Your role does not allow this: book and move appointments.")
                    row = actions.cancel_session(
                        course, appointment, by=request.user, reason=data["reason"], worsening=data["worsening_value"]
                    )
                elif data["action"] == "no_show":
                    row = actions.mark_session_missed(
                        course, appointment, by=request.user, worsening=data["worsening_value"]
                    )
                else:
                    row = actions.record_missed_session(
                        course, appointment, by=request.user, worsening=data["worsening_value"]
                    )
            except CourseError as error:
                _fail(form, error, {"appointment": "action"})
            else:
                messages.info(request, f"{row.guidance} {row.suggestion}".strip())
                return redirect("courses:detail", patient_id=course.patient_id, course_id=course.pk)
    context = _base(
        request,
        course.patient,
        course=course,
        zone=course.site.time_zone,
        appointment=appointment,
        form=form,
        held=held,
    )
    return render(request, "courses/missed.html", context, status=status)


# --- Starting and deciding -----------------------------------------------------------------------------------------


def start_course(request: HttpRequest, patient_id: int, course_id: int) -> HttpResponse:
    """Start the course with session 1 (nurses and prescribers); refused for esketamine without REMS enrolment."""
    course = access_course(
        request.user, patient_id, course_id, need=Perm.RECORD_SESSION, write=request.method == "POST"
    )
    error = ""
    status = 200
    if request.method == "POST":
        try:
            actions.start_course(course, by=request.user)
        except CourseError as refused:
            error = refused.message[:1].upper() + refused.message[1:]
            status = 400
        else:
            messages.success(request, "Induction started: the patient is in treatment.")
            return redirect("courses:detail", patient_id=course.patient_id, course_id=course.pk)
    rems = actions.rems_enrolment(course) if course.is_esketamine else None
    context = _base(request, course.patient, course=course, error=error, rems=rems)
    return render(request, "courses/start.html", context, status=status)


def record_decision(request: HttpRequest, patient_id: int, course_id: int) -> HttpResponse:
    """The decision form with the response evidence; a valid POST records the decision and moves the course."""
    course = access_course(request.user, patient_id, course_id, need=Perm.PRESCRIBE, write=request.method == "POST")
    form = DecisionForm(request.POST or None, course=course, initial={"version": course.version})
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            try:
                actions.record_decision(
                    course,
                    decision=data["decision"],
                    reason=data["reason"],
                    by=request.user,
                    extra_sessions=data["extra_sessions"],
                    expected_version=data["version"],
                )
            except CourseError as error:
                _fail(form, error)
            except StaleCourseError as error:
                form.add_error(None, str(error))
                status = 409
            else:
                messages.success(request, "Decision recorded.")
                return redirect("courses:detail", patient_id=course.patient_id, course_id=course.pk)
    context = _base(
        request,
        course.patient,
        course=course,
        form=form,
        review=actions.review_status(course),
        review_due=actions.review_due(course),
        held=sessions.sessions_held(course),
    )
    return render(request, "courses/decision.html", context, status=status)
