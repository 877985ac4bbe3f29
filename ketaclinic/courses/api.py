"""JSON API for treatment courses (mounted at /api/courses in ketaclinic/api.py).

Same rules as the screens: other-site patients answer 404, roles without the capability 403. Clinicians and the
front desk list and read courses (the front desk without doses and precautions); prescribers open courses, order
doses and record decisions; the front desk and prescribers plan and book. Refusals answer 422 naming the field and
the allowed range (``{"detail", "errors": [{"field", "message"}]}``); a booking the schedule refuses answers 409 with
the conflicts and, per refused start, the nearest alternatives that keep the protocol's spacing.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Field, Router, Schema
from ninja.errors import ValidationError
from ninja.responses import Status

from ketaclinic.accounts.roles import Perm
from ketaclinic.audit.actions import Action, record
from ketaclinic.courses import actions, sessions
from ketaclinic.courses.access import AUDIT_AS, BOOKERS, access_course_by_id, access_courses, can_see_clinical
from ketaclinic.courses.actions import CourseError, StaleCourseError
from ketaclinic.courses.models import Course, DoseOrder
from ketaclinic.scheduling.actions import BookingConflict, Slot
from ketaclinic.scheduling.models import Appointment

router = Router(tags=["courses"])

ProtocolName = Literal[
    "ketamine_iv_standard",
    "ketamine_im",
    "ketamine_sublingual",
    "ketamine_intranasal_racemic",
    "esketamine_trd",
    "esketamine_mdsi",
]
IndicationName = Literal[
    "trd", "mdsi", "depression", "anxiety", "ptsd", "ocd", "chronic_pain", "migraine", "alcohol_use"
]
DecisionName = Literal[
    "continue", "extend_induction", "move_to_maintenance", "taper", "pause", "resume", "complete", "stop"
]
#: Where the actions' field names appear in the request bodies.
OPEN_FIELDS = {
    "min_mg_per_kg": "min_bound",
    "min_amount_mg": "min_bound",
    "max_mg_per_kg": "max_bound",
    "max_amount_mg": "max_bound",
}


def _invalid(error: CourseError, mapping: dict[str, str] | None = None) -> ValidationError:
    field = (mapping or {}).get(error.field, error.field)
    return ValidationError([{"loc": [field], "msg": error.message}])


class OpenIn(Schema):
    patient: int = Field(..., description="Patient id")
    protocol: ProtocolName
    indication: IndicationName = "trd"
    jurisdiction: Literal["US", "EU", "HK"] = "US"
    mg_per_kg: Decimal | None = Field(None, gt=0, le=2, description="Starting dose, per-kg protocols (default 0.5)")
    amount_mg: Decimal | None = Field(None, gt=0, le=300, description="Starting dose, fixed-dose protocols")
    weight_basis: Literal["actual", "ideal", "adjusted"] = "actual"
    min_bound: Decimal | None = Field(None, gt=0, le=300, description="Titration minimum (mg/kg or mg)")
    max_bound: Decimal | None = Field(None, gt=0, le=300, description="Titration maximum (mg/kg or mg)")
    bounds_override_reason: str = Field("", max_length=2000, description="Bounds outside the protocol (≥20 chars)")
    planned_induction_sessions: int | None = Field(None, ge=1, le=52)
    review_points: list[int] | None = Field(None, description="Session numbers, e.g. [4, 6]")
    prior_sessions: int = Field(0, ge=0, le=200, description="Sessions given before (a transferred course)")


class DoseIn(Schema):
    mg_per_kg: Decimal | None = Field(None, gt=0, le=2, description="Per-kg courses")
    amount_mg: Decimal | None = Field(None, gt=0, le=300, description="Fixed-dose courses")
    reason: str = Field(..., min_length=1, max_length=300)
    override_reason: str = Field("", max_length=2000, description="Outside the bounds only (≥20 characters)")
    effective_from_session: int | None = Field(None, ge=1, le=1000, description="Default: the next session")


class PlanIn(Schema):
    phase: str = Field(..., description="A phase name of the protocol, e.g. induction")
    start_date: dt.date
    preferred_time: dt.time = Field(dt.time(9), description="Clinic time, on a quarter hour")
    weekdays: list[int] | None = Field(None, description="0 = Monday … 6 = Sunday; default from the phase")
    count: int | None = Field(None, ge=1, le=52)
    every_weeks: Literal[1, 2] = 1


class BookIn(Schema):
    phase: str
    starts: list[dt.datetime] = Field(..., min_length=1, max_length=52, description="Aware datetimes")


class DecisionIn(Schema):
    decision: DecisionName
    reason: str = Field(..., min_length=1, max_length=4000)
    extra_sessions: int | None = Field(None, ge=1, le=8)
    expected_version: int | None = None


class DoseOrderOut(Schema):
    id: int
    effective_from_session: int
    mg_per_kg: Decimal | None
    amount_mg: Decimal
    weight_kg: Decimal | None
    weight_basis: str
    duration_min: Decimal | None
    devices: int | None
    reason: str
    override_reason: str
    ordered_by: str
    ordered_at: dt.datetime

    @staticmethod
    def resolve_override_reason(obj: DoseOrder) -> str:
        return obj.out_of_bounds_override_reason

    @staticmethod
    def resolve_ordered_by(obj: DoseOrder) -> str:
        return obj.ordered_by.get_username()


class SessionOut(Schema):
    id: int
    sequence_number: int | None
    starts_at: dt.datetime
    ends_at: dt.datetime
    status: str
    resource: str | None


class CourseOut(Schema):
    id: int
    patient: int
    site: str
    protocol: str
    route: str
    indication: str
    jurisdiction: str
    status: str
    status_reason: str
    planned_induction_sessions: int
    prior_sessions: int
    review_points: list[int]
    opened_by: str
    opened_at: dt.datetime
    started_at: dt.datetime | None
    version: int
    rems_enrolled: bool | None = Field(None, description="Esketamine only: a valid REMS enrolment is recorded")
    sessions: list[SessionOut]
    precautions: list[dict[str, Any]] | None = Field(None, description="Clinicians only")
    current_dose: DoseOrderOut | None = Field(None, description="Clinicians only")
    titration_bounds: dict[str, Any] | None = Field(None, description="Clinicians only")


class PlannedOut(Schema):
    number: int
    start: dt.datetime
    course_week: int
    note: str
    conflicts: list[str]
    spacing: list[str]
    alternatives: list[dt.datetime]


class PlanOut(Schema):
    phase: str
    appointment_type: str
    requested: int
    ok: bool
    rems_missing: bool
    problems: list[str]
    skipped: list[str]
    sessions: list[PlannedOut]


class ConflictOut(Schema):
    detail: str
    conflicts: list[str]
    alternatives_by_start: dict[str, list[dt.datetime]]


class DecisionOut(Schema):
    id: int
    decision: str
    reason: str
    at_session: int
    from_status: str
    to_status: str
    evidence: dict[str, Any]
    decided_at: dt.datetime


class DetailOut(Schema):
    detail: str


def _course_out(course: Course, user: Any) -> dict[str, Any]:
    clinical = can_see_clinical(user)
    out: dict[str, Any] = {
        "id": course.pk,
        "patient": course.patient_id,
        "site": course.site.code,
        "protocol": course.protocol,
        "route": course.route,
        "indication": course.indication,
        "jurisdiction": course.jurisdiction,
        "status": course.status,
        "status_reason": course.status_reason,
        "planned_induction_sessions": course.planned_induction_sessions,
        "prior_sessions": course.prior_sessions,
        "review_points": course.review_points,
        "opened_by": course.opened_by.get_username(),
        "opened_at": course.opened_at,
        "started_at": course.started_at,
        "version": course.version,
        "rems_enrolled": (actions.rems_enrolment(course) is not None) if course.is_esketamine else None,
        "sessions": [
            {
                "id": a.pk,
                "sequence_number": a.sequence_number,
                "starts_at": a.starts_at,
                "ends_at": a.ends_at,
                "status": a.status,
                "resource": a.resource.name if a.resource else None,
            }
            for a in sessions.appointments(course)
        ],
    }
    if clinical:
        low, high, unit = actions.course_bounds(course)
        out.update(
            precautions=course.precautions,
            current_dose=course.current_dose_order(),
            titration_bounds={"min": low, "max": high, "unit": unit, "override_reason": course.bounds_override_reason},
        )
    return out


def _plan_out(preview: actions.BookingPreview) -> dict[str, Any]:
    plan = preview.plan
    return {
        "phase": plan.phase,
        "appointment_type": plan.appointment_type,
        "requested": plan.requested,
        "ok": preview.ok and plan.ok,
        "rems_missing": preview.rems_missing,
        "problems": list(plan.problems),
        "skipped": [f"{s.day:%Y-%m-%d}: {s.reason}" for s in plan.skipped],
        "sessions": [
            {
                "number": s.number,
                "start": s.start,
                "course_week": s.course_week,
                "note": s.note,
                "conflicts": preview.conflicts_by_start.get(s.start, []),
                "spacing": list(preview.spacing_by_start.get(s.start, ())),
                "alternatives": [slot.start for slot in preview.alternatives_by_start.get(s.start, [])],
            }
            for s in plan.sessions
        ],
    }


def _alternatives(by_start: dict[dt.datetime, list[Slot]]) -> dict[str, list[dt.datetime]]:
    return {start.isoformat(): [slot.start for slot in slots] for start, slots in by_start.items()}


@router.get("", response=list[CourseOut], summary="A patient's treatment courses, newest first")
def list_courses(request: HttpRequest, patient: int) -> list[dict[str, Any]]:
    found = access_courses(request.user, patient)
    record(Action.LIST, object_type=AUDIT_AS, patient_id=found.pk, site=found.site)
    courses = Course.objects.filter(patient=found).select_related("site", "opened_by", "patient")
    return [_course_out(c, request.user) for c in courses]


@router.get("/{course_id}", response=CourseOut, summary="One course with its sessions (and dose, for clinicians)")
def get_course(request: HttpRequest, course_id: int) -> dict[str, Any]:
    return _course_out(access_course_by_id(request.user, course_id), request.user)


@router.post("", response={201: CourseOut}, summary="Open a course (prescribers; needs a signed approving eligibility)")
def open_course(request: HttpRequest, payload: OpenIn) -> Status[dict[str, Any]]:
    patient = access_courses(request.user, payload.patient, need=Perm.PRESCRIBE, write=True)
    data = payload.dict(exclude={"patient"})
    try:
        course = actions.open_course(patient, by=request.user, **data)
    except CourseError as error:
        raise _invalid(error, OPEN_FIELDS) from None
    return Status(201, _course_out(course, request.user))


@router.post("/{course_id}/doses", response={201: DoseOrderOut}, summary="Order a dose (prescribers)")
def order_dose(request: HttpRequest, course_id: int, payload: DoseIn) -> Status[DoseOrder]:
    course = access_course_by_id(request.user, course_id, need=Perm.PRESCRIBE, write=True)
    try:
        order = actions.order_dose(course, by=request.user, **payload.dict())
    except CourseError as error:
        raise _invalid(error) from None
    return Status(201, order)


@router.post("/{course_id}/plan", response=PlanOut, summary="Plan a phase's session dates and check them (no booking)")
def plan(request: HttpRequest, course_id: int, payload: PlanIn) -> dict[str, Any]:
    course = access_course_by_id(request.user, course_id, need=BOOKERS)
    try:
        series = actions.plan_phase(course, **payload.dict())
    except CourseError as error:
        raise _invalid(error) from None
    return _plan_out(actions.preview_booking(course, series))


@router.post(
    "/{course_id}/book",
    response={201: list[SessionOut], 409: ConflictOut},
    summary="Book chosen session times in one step (all or nothing)",
)
def book(request: HttpRequest, course_id: int, payload: BookIn) -> Any:
    course = access_course_by_id(request.user, course_id, need=BOOKERS, write=True)
    if any(s.tzinfo is None for s in payload.starts):
        raise ValidationError([{"loc": ["starts"], "msg": "give each start with its time zone offset"}])
    try:
        series = actions.plan_from_starts(course, payload.phase, payload.starts)
        booked = actions.book_plan(course, series, by=request.user)
    except CourseError as error:
        raise _invalid(error) from None
    except BookingConflict as conflict:
        return Status(
            409,
            {
                "detail": conflict.message,
                "conflicts": conflict.conflicts,
                "alternatives_by_start": _alternatives(conflict.alternatives_by_start),
            },
        )
    return Status(201, [_session_out(a) for a in booked])


def _session_out(appointment: Appointment) -> dict[str, Any]:
    return {
        "id": appointment.pk,
        "sequence_number": appointment.sequence_number,
        "starts_at": appointment.starts_at,
        "ends_at": appointment.ends_at,
        "status": appointment.status,
        "resource": appointment.resource.name if appointment.resource else None,
    }


@router.post(
    "/{course_id}/decisions",
    response={201: DecisionOut, 409: DetailOut},
    summary="Record a decision (prescribers): continue, extend induction, move to maintenance, taper, pause, …",
)
def decide(request: HttpRequest, course_id: int, payload: DecisionIn) -> Any:
    course = access_course_by_id(request.user, course_id, need=Perm.PRESCRIBE, write=True)
    try:
        row = actions.record_decision(course, by=request.user, **payload.dict())
    except CourseError as error:
        raise _invalid(error) from None
    except StaleCourseError as error:
        return Status(409, {"detail": str(error)})
    return Status(201, row)
