"""JSON API for scheduling (mounted at /api/schedule in ketaclinic/api.py).

Same rules as the screens: calendars of the caller's sites only; booking, moving and cancelling need
``MANAGE_SCHEDULE``; another site's patient or appointment is 404. A refused booking or move answers 409 with the
conflicts and the nearest alternatives; an illegal status change 409 naming the status; bad fields 422 naming the
field. Times are ISO 8601 with an offset (UTC in answers).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Query, Router, Schema
from ninja.errors import ValidationError
from ninja.responses import Status

from ketaclinic.accounts.roles import Perm
from ketaclinic.scheduling import access
from ketaclinic.scheduling.actions import (
    BookingConflict,
    Slot,
    StaleAppointmentError,
    book_appointment,
    cancel_appointment,
    find_free_slots,
    move_appointment,
)
from ketaclinic.scheduling.forms import staff_at
from ketaclinic.scheduling.models import Appointment, AppointmentType, Resource

router = Router(tags=["scheduling"])


class SlotOut(Schema):
    start: dt.datetime
    end: dt.datetime
    resource_id: int | None
    resource: str | None
    staff_id: int | None
    staff: str | None


class AppointmentOut(Schema):
    id: int
    site: str
    patient: int
    patient_name: str
    appointment_type: str
    resource: str | None
    resource_id: int | None
    staff: str | None
    staff_id: int | None
    starts_at: dt.datetime
    ends_at: dt.datetime
    status: str
    course_ref: int | None
    sequence_number: int | None
    cancel_reason: str
    version: int


class AppointmentTypeOut(Schema):
    code: str
    name: str
    duration_min: int
    recovery_min: int
    total_min: int
    resource_kind: str
    needs_nurse: bool
    needs_prescriber_on_site: bool
    needs_therapist: bool
    is_dosing: bool
    route: str
    reminder_hours_before: list[int]


class ConflictOut(Schema):
    detail: str
    conflicts: list[str]
    alternatives: list[SlotOut]


class DetailOut(Schema):
    detail: str


class DayQuery(Schema):
    site: int | None = Field(None, description="Site id (default: your acting site)")
    date: dt.date | None = Field(None, description="Local date at the site (default: today there)")


class SlotQuery(Schema):
    appointment_type: str = Field(..., description="Appointment type code, e.g. ketamine_iv")
    earliest: dt.datetime = Field(..., description="First possible start, with an offset")
    latest: dt.datetime | None = Field(None, description="Last possible start (default: the site policy's horizon)")
    site: int | None = None
    patient: int | None = Field(None, description="Avoid this patient's other appointments")
    count: int = Field(5, ge=1, le=50)


class BookIn(Schema):
    patient: int
    appointment_type: str = Field(..., description="Appointment type code, e.g. ketamine_iv")
    start: dt.datetime = Field(..., description="Start with an offset, on a quarter hour")
    resource: int | None = Field(None, description="Chair or room id (default: any free one of the right kind)")
    staff: int | None = Field(None, description="Clinician id booked one-to-one")
    course_ref: int | None = Field(None, ge=1)
    sequence_number: int | None = Field(None, ge=1)


class MoveIn(Schema):
    new_start: dt.datetime
    version: int | None = Field(None, description="The version you read; 409 if it changed since")
    resource: int | None = None


class CancelIn(Schema):
    reason: str = Field(..., min_length=1, max_length=300)


def _user(request: HttpRequest) -> Any:
    return request.user


def _invalid(field: str, message: str) -> ValidationError:
    return ValidationError([{"loc": [field], "msg": message}])


def _value_error(exc: ValueError) -> ValidationError:
    """``ValueError("start: …")`` from an action → 422 naming ``start``."""
    field, _, _ = str(exc).partition(":")
    return _invalid(field if field.isidentifier() else "(request)", str(exc))


def _type(code: str) -> AppointmentType:
    found = AppointmentType.objects.filter(code=code, active=True).first()
    if found is None:
        raise _invalid("appointment_type", f"appointment_type: no such appointment type {code!r}")
    return found


def _slot(slot: Slot) -> dict[str, Any]:
    return {
        "start": slot.start,
        "end": slot.end,
        "resource_id": slot.resource.pk if slot.resource else None,
        "resource": slot.resource.name if slot.resource else None,
        "staff_id": slot.staff.pk if slot.staff else None,
        "staff": str(slot.staff) if slot.staff else None,
    }


def _out(a: Appointment) -> dict[str, Any]:
    return {
        "id": a.pk,
        "site": a.site.code,
        "patient": a.patient_id,
        "patient_name": a.patient.display_name,
        "appointment_type": a.appointment_type.code,
        "resource": a.resource.name if a.resource else None,
        "resource_id": a.resource_id,
        "staff": str(a.staff) if a.staff else None,
        "staff_id": a.staff_id,
        "starts_at": a.starts_at,
        "ends_at": a.ends_at,
        "status": a.status,
        "course_ref": a.course_ref,
        "sequence_number": a.sequence_number,
        "cancel_reason": a.cancel_reason,
        "version": a.version,
    }


def _conflict(exc: BookingConflict) -> Status:
    return Status(
        409, {"detail": exc.message, "conflicts": exc.conflicts, "alternatives": [_slot(s) for s in exc.alternatives]}
    )


@router.get("/types", response=list[AppointmentTypeOut], summary="Appointment types and what each needs")
def list_types(request: HttpRequest) -> list[AppointmentType]:
    access.require_any(_user(request), (Perm.VIEW_DEMOGRAPHICS,))
    return list(AppointmentType.objects.filter(active=True).order_by("name"))


@router.get("/appointments", response=list[AppointmentOut], summary="A site's appointments on one day")
def list_appointments(request: HttpRequest, filters: Query[DayQuery]) -> list[dict[str, Any]]:
    site = access.schedule_site(_user(request), filters.site, default=getattr(request, "site", None))
    day = filters.date or timezone.now().astimezone(site.zone).date()
    zone = site.zone
    lo = dt.datetime.combine(day, dt.time(0), tzinfo=zone)
    hi = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=zone)
    rows = list(
        Appointment.objects.filter(site=site, starts_at__gte=lo, starts_at__lt=hi)
        .select_related("site", "patient", "appointment_type", "resource", "staff")
        .order_by("starts_at", "pk")
    )
    access.audit_schedule_list(_user(request), site, view="api", count=len(rows), day=day.isoformat())
    return [_out(a) for a in rows]


@router.get("/appointments/{appointment_id}", response=AppointmentOut, summary="One appointment")
def get_appointment(request: HttpRequest, appointment_id: int) -> dict[str, Any]:
    return _out(access.access_appointment(_user(request), appointment_id))


@router.get("/slots", response=list[SlotOut], summary="Free slots for an appointment type, nearest first")
def free_slots(request: HttpRequest, filters: Query[SlotQuery]) -> list[dict[str, Any]]:
    user = _user(request)
    site = access.schedule_site(user, filters.site, default=getattr(request, "site", None))
    patient = None
    if filters.patient is not None:
        patient = access.access_schedule_patient(user, filters.patient)
    try:
        slots = find_free_slots(
            site,
            _type(filters.appointment_type),
            earliest=filters.earliest,
            latest=filters.latest,
            patient=patient,
            count=filters.count,
        )
    except ValueError as exc:
        raise _value_error(exc) from None
    return [_slot(s) for s in slots]


@router.post(
    "/appointments",
    response={201: AppointmentOut, 409: ConflictOut},
    summary="Book an appointment (409 with conflicts and the nearest alternatives)",
)
def book(request: HttpRequest, payload: BookIn) -> Any:
    user = _user(request)
    patient = access.access_schedule_patient(user, payload.patient, need=Perm.MANAGE_SCHEDULE, write=True)
    resource = None
    if payload.resource is not None:
        resource = Resource.objects.filter(pk=payload.resource, site=patient.site).first()
        if resource is None:
            raise _invalid("resource", f"resource: no chair or room {payload.resource} at {patient.site.name}")
    staff = None
    if payload.staff is not None:
        staff = staff_at(patient.site).filter(pk=payload.staff).first()
        if staff is None:
            raise _invalid("staff", f"staff: no clinician {payload.staff} works at {patient.site.name}")
    try:
        appointment = book_appointment(
            patient=patient,
            appointment_type=_type(payload.appointment_type),
            start=payload.start,
            by=user,
            resource=resource,
            staff=staff,
            course_ref=payload.course_ref,
            sequence_number=payload.sequence_number,
        )
    except BookingConflict as exc:
        return _conflict(exc)
    except ValueError as exc:
        raise _value_error(exc) from None
    return Status(201, _out(appointment))


@router.post(
    "/appointments/{appointment_id}/move",
    response={200: AppointmentOut, 409: ConflictOut},
    summary="Move an appointment (409 with conflicts and alternatives, or if it changed since you read it)",
)
def move(request: HttpRequest, appointment_id: int, payload: MoveIn) -> Any:
    user = _user(request)
    appointment = access.access_appointment(user, appointment_id, need=Perm.MANAGE_SCHEDULE, write=True)
    resource = None
    if payload.resource is not None:
        resource = Resource.objects.filter(pk=payload.resource, site=appointment.site).first()
        if resource is None:
            raise _invalid("resource", f"resource: no chair or room {payload.resource} at {appointment.site.name}")
    try:
        moved = move_appointment(
            appointment, new_start=payload.new_start, by=user, expected_version=payload.version, resource=resource
        )
    except BookingConflict as exc:
        return _conflict(exc)
    except StaleAppointmentError as exc:
        return Status(409, {"detail": str(exc), "conflicts": [str(exc)], "alternatives": []})
    except ValueError as exc:
        if str(exc).startswith("only a booked"):
            return Status(409, {"detail": str(exc), "conflicts": [str(exc)], "alternatives": []})
        raise _value_error(exc) from None
    return Status(200, _out(moved))


@router.post(
    "/appointments/{appointment_id}/cancel",
    response={200: AppointmentOut, 409: DetailOut},
    summary="Cancel an appointment with a reason (409 if it can no longer be cancelled)",
)
def cancel(request: HttpRequest, appointment_id: int, payload: CancelIn) -> Any:
    user = _user(request)
    appointment = access.access_appointment(user, appointment_id, need=Perm.MANAGE_SCHEDULE, write=True)
    if not appointment.can_become(Appointment.Status.CANCELLED):
        return Status(409, {"detail": f"a {appointment.get_status_display().lower()} appointment cannot be cancelled"})
    try:
        cancelled = cancel_appointment(appointment, by=user, reason=payload.reason)
    except ValueError as exc:
        raise _value_error(exc) from None
    return Status(200, _out(cancelled))
