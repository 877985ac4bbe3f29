"""The booking API and every other change to the schedule. Each action is atomic and audited in its transaction.

Other apps (the courses app books a course's sessions) code against these signatures:

- :func:`find_free_slots` — the nearest bookable starts for a type at a site;
- :func:`book_appointment` / :func:`book_series` — book one start, or a series all-or-nothing; a refusal raises
  :class:`BookingConflict` naming every clash and offering the nearest valid alternatives;
- :func:`check_series` — the same rules without booking ("show conflicts before booking");
- :func:`move_appointment`, :func:`cancel_appointment`, :func:`mark_no_show`, :func:`check_in`,
  :func:`complete_appointment` — status changes; an illegal one raises ``ValueError``.

Concurrency: bookings, moves and series at one site take a row lock on the site's :class:`SitePolicy` first, so the
nurse-ratio and prescriber-on-site rules (counts, not pairs) hold under concurrent requests; the reservation table's
unique constraints are the last line: if two writers ever race past the check, exactly one commits and the other gets
a :class:`BookingConflict`, with nothing half-booked.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from ketaclinic.accounts.models import Site
from ketaclinic.accounts.roles import Role
from ketaclinic.audit.actions import Action, record
from ketaclinic.patients.actions import StaleEditError
from ketaclinic.patients.models import Patient
from ketaclinic.scheduling import signals
from ketaclinic.scheduling.models import (
    Appointment,
    AppointmentType,
    FeedToken,
    Reservation,
    Resource,
    ResourceKind,
    ShiftRole,
    SitePolicy,
    StaffShift,
    kind_phrase,
    new_feed_token,
)
from ketaclinic.scheduling.planning import (
    ALTERNATIVES_COUNT,
    BookingConflict,
    Check,
    Horizon,
    Slot,
    alternatives_window,
    is_quarter_hour,
    next_quarter_hour,
    now_quarter,
    slot_indexes,
    slot_start,
)

__all__ = [
    "BookingConflict",
    "SeriesCheck",
    "Slot",
    "StaleAppointmentError",
    "add_resource",
    "add_shift",
    "appointment_type_for_route",
    "book_appointment",
    "book_series",
    "cancel_appointment",
    "check_in",
    "check_series",
    "complete_appointment",
    "feed_token_for",
    "find_free_slots",
    "mark_no_show",
    "move_appointment",
    "regenerate_feed_token",
    "remove_shift",
    "update_resource",
    "update_site_policy",
]

#: Which staff role may work which kind of shift.
SHIFT_ROLES: dict[str, Role] = {
    ShiftRole.PRESCRIBER: Role.PRESCRIBER,
    ShiftRole.NURSE: Role.NURSE,
    ShiftRole.THERAPIST: Role.THERAPIST,
}
MAX_SHIFT = dt.timedelta(hours=16)
MAX_SERIES = 52
MAX_FREE_SLOTS = 50


class StaleAppointmentError(StaleEditError):
    """The appointment changed (moved, cancelled) since the screen showing it was loaded; nothing was changed."""


class SeriesCheck(list[str]):
    """The conflicts of a planned series: a list of messages, one per clash, each starting with its date and time
    (empty when every start can be booked), plus the details by start.

    ``conflicts_by_start`` and ``alternatives_by_start`` cover the refused starts; ``slots`` are the slots the
    bookable starts would get (chair and clinician chosen).
    """

    def __init__(
        self,
        conflicts: Iterable[str] = (),
        *,
        conflicts_by_start: dict[dt.datetime, list[str]] | None = None,
        alternatives_by_start: dict[dt.datetime, list[Slot]] | None = None,
        slots: dict[dt.datetime, Slot] | None = None,
        message: str = "",
    ) -> None:
        super().__init__(conflicts)
        self.conflicts_by_start = conflicts_by_start or {}
        self.alternatives_by_start = alternatives_by_start or {}
        self.slots = slots or {}
        self.message = message

    @property
    def ok(self) -> bool:
        return not self

    @property
    def conflicts(self) -> list[str]:
        return list(self)


# --- validation ---------------------------------------------------------------------------------------------------


def _aware(name: str, value: Any) -> dt.datetime:
    if not isinstance(value, dt.datetime) or timezone.is_naive(value):
        raise ValueError(f"{name}: must be a date and time with a time zone (got {value!r})")
    return value.astimezone(dt.UTC)


def _start(name: str, value: Any, zone: dt.tzinfo) -> dt.datetime:
    start = _aware(name, value)
    if not is_quarter_hour(start):
        raise ValueError(
            f"{name}: {start.astimezone(zone):%Y-%m-%d %H:%M} is not on a quarter hour; "
            f"appointments start at :00, :15, :30 or :45"
        )
    return start


def _check_type(appointment_type: AppointmentType) -> None:
    if not appointment_type.active:
        raise ValueError(f"appointment_type: {appointment_type.name} is no longer offered")


def _check_resource(resource: Resource | None, appointment_type: AppointmentType, site: Site) -> None:
    if resource is None:
        return
    if resource.site_id != site.pk:
        raise ValueError(f"resource: {resource.name} is not at {site.name}")
    if not appointment_type.resource_kind:
        raise ValueError(f"resource: the {appointment_type.name} needs no chair or room")
    if resource.kind != appointment_type.resource_kind:
        raise ValueError(
            f"resource: {resource.name} is {kind_phrase(resource.kind)}; the {appointment_type.name} needs "
            f"{kind_phrase(appointment_type.resource_kind)}"
        )
    if not resource.active:
        raise ValueError(f"resource: {resource.name} is out of service")


def _check_staff(staff: Any | None, site: Site) -> None:
    if staff is not None and not staff.sites.filter(pk=site.pk).exists():
        raise ValueError(f"staff: {staff} does not work at {site.name}")


def _check_sequence(sequence_number: int | None) -> None:
    if sequence_number is not None and (isinstance(sequence_number, bool) or sequence_number < 1):
        raise ValueError(f"sequence_number: must be 1 or more (got {sequence_number!r})")


def _lock(site: Site) -> SitePolicy:
    """Serialise bookings at ``site`` for the rest of the transaction (a row lock on its policy)."""
    SitePolicy.objects.get_or_create(site=site)
    return SitePolicy.objects.select_for_update().get(site=site)


# --- reading --------------------------------------------------------------------------------------------------------


def find_free_slots(
    site: Site,
    appointment_type: AppointmentType,
    *,
    earliest: dt.datetime,
    latest: dt.datetime | None = None,
    patient: Patient | None = None,
    count: int = 5,
    exclude_appointment: Appointment | None = None,
) -> list[Slot]:
    """The first ``count`` starts from ``earliest`` (never before now) to ``latest`` (default: the site policy's
    ``search_days`` ahead) at which ``appointment_type`` can be booked at ``site`` — nearest first.

    Respects opening hours (the visit ends by closing), closed days, a free chair or room of the right kind, a nurse on
    shift and the nurse ratio, a prescriber on site when needed, a free therapist when needed, and, with ``patient``,
    the patient's other appointments (``exclude_appointment``: one being moved). A fixed number of queries.
    """
    _check_type(appointment_type)
    if isinstance(count, bool) or not 1 <= count <= MAX_FREE_SLOTS:
        raise ValueError(f"count: from 1 to {MAX_FREE_SLOTS} (got {count!r})")
    lo = max(next_quarter_hour(_aware("earliest", earliest)), now_quarter())
    if latest is None:
        days = SitePolicy.objects.filter(site=site).values_list("search_days", flat=True).first()
        hi = lo + dt.timedelta(days=days or SitePolicy._meta.get_field("search_days").default)
    else:
        hi = _aware("latest", latest) + dt.timedelta(microseconds=1)  # ``latest`` is the last allowed start
    horizon = Horizon(
        site,
        lo,
        hi + appointment_type.total,
        patient_ids=[patient.pk] if patient is not None else [],
        exclude=[exclude_appointment.pk] if exclude_appointment is not None else [],
    )
    return horizon.free_slots(
        appointment_type,
        earliest=lo,
        latest=hi,
        patient_id=patient.pk if patient is not None else None,
        count=count,
        resource=exclude_appointment.resource if exclude_appointment is not None else None,
    )


def appointment_type_for_route(route: str) -> AppointmentType:
    """The dosing appointment type of a clinical route (``iv``, ``im``, ``sublingual``, ``intranasal``,
    ``esketamine_nasal``); ``ValueError`` naming the known routes otherwise."""
    found = AppointmentType.objects.filter(route=route, is_dosing=True, active=True).order_by("pk").first()
    if found is None:
        known = sorted(set(AppointmentType.objects.filter(is_dosing=True, active=True).values_list("route", flat=True)))
        raise ValueError(f"route: no dosing appointment type for {route!r}; known routes: {', '.join(known)}")
    return found


# --- booking --------------------------------------------------------------------------------------------------------


def _conflict_message(
    horizon: Horizon, appointment_type: AppointmentType, start: dt.datetime, problems: list[str]
) -> str:
    return f"Cannot book the {appointment_type.name} on {horizon.when(start)}: {'; '.join(problems)}."


def _series_message(refused: int, total: int, appointment_type: AppointmentType, conflicts: list[str]) -> str:
    return f"{refused} of {total} sessions ({appointment_type.name}) cannot be booked: {'; '.join(conflicts)}."


def _alternatives(
    site: Site,
    appointment_type: AppointmentType,
    patient_id: int,
    starts: Sequence[dt.datetime],
    *,
    planned: Iterable[Slot] = (),
    resource: Resource | None = None,
    staff: Any | None = None,
    exclude: Iterable[int] = (),
) -> tuple[Horizon, dict[dt.datetime, list[Slot]]]:
    """The nearest valid slots around each of ``starts``, avoiding the ``planned`` slots of the same request."""
    lo, hi = alternatives_window(starts)
    horizon = Horizon(site, min(lo, hi), hi, patient_ids=[patient_id], staff=[staff], exclude=exclude)
    for slot in planned:
        horizon.hold_slot(slot, appointment_type, patient_id)
    not_before = now_quarter()
    found = {
        start: horizon.nearest(
            start,
            appointment_type,
            patient_id=patient_id,
            not_before=not_before,
            count=ALTERNATIVES_COUNT,
            resource=resource,
            staff=staff,
        )
        for start in starts
    }
    return horizon, found


def _refuse(
    site: Site,
    appointment_type: AppointmentType,
    patient_id: int,
    check: Check,
    *,
    resource: Resource | None,
    staff: Any | None,
    exclude: Iterable[int] = (),
) -> BookingConflict:
    horizon, found = _alternatives(
        site, appointment_type, patient_id, [check.start], resource=resource, staff=staff, exclude=exclude
    )
    alternatives = found[check.start]
    return BookingConflict(
        _conflict_message(horizon, appointment_type, check.start, check.problems),
        check.problems,
        alternatives,
        alternatives_by_start={check.start: alternatives},
        conflicts_by_start={check.start: check.problems},
    )


def _reservations(appointment: Appointment) -> list[Reservation]:
    holds_patient = not appointment.appointment_type.accompanies_dosing
    return [
        Reservation(
            appointment=appointment,
            slot_start=slot_start(index),
            resource_id=appointment.resource_id,
            patient_id=appointment.patient_id if holds_patient else None,
            staff_id=appointment.staff_id,
        )
        for index in slot_indexes(appointment.starts_at, appointment.ends_at)
    ]


def _write(write: Any, recheck: Any) -> None:
    """Run ``write()`` (the rows of a booking) in a savepoint; if a concurrent booking took one of its slots, the
    unique constraints refuse it and ``recheck()`` builds the :class:`BookingConflict` from a fresh read (the winner is
    committed by then). Nothing of the refused booking remains."""
    try:
        with transaction.atomic():
            write()
    except IntegrityError:
        raise recheck() from None


def _race_conflict(
    site: Site, appointment_type: AppointmentType, patient: Patient, slots: Sequence[Slot], exclude: Iterable[int] = ()
) -> BookingConflict:
    """The conflict of slots someone else booked between our check and our write, found by checking again."""
    starts = [slot.start for slot in slots]
    horizon = Horizon(
        site,
        min(starts),
        max(starts) + appointment_type.total,
        patient_ids=[patient.pk],
        staff=[s.staff for s in slots],
        exclude=exclude,
    )
    by_start: dict[dt.datetime, list[str]] = {}
    for slot in slots:
        check = horizon.check(
            slot.start,
            appointment_type,
            patient_id=patient.pk,
            resource=slot.resource,
            resource_fixed=slot.resource is not None,
            staff=slot.staff,
            staff_fixed=slot.staff is not None,
        )
        if check.problems:
            by_start[slot.start] = check.problems
    if not by_start:
        by_start[starts[0]] = ["booked by someone else a moment ago; choose the time again"]
    _, alternatives = _alternatives(site, appointment_type, patient.pk, list(by_start), exclude=exclude)
    first = min(by_start)
    conflicts = [f"{horizon.when(s)}: {p}" if len(slots) > 1 else p for s, ps in sorted(by_start.items()) for p in ps]
    return BookingConflict(
        _conflict_message(horizon, appointment_type, first, by_start[first])
        if len(slots) == 1
        else _series_message(len(by_start), len(slots), appointment_type, conflicts),
        conflicts,
        alternatives[first],
        alternatives_by_start=alternatives,
        conflicts_by_start=by_start,
    )


def _create(
    site: Site,
    patient: Patient,
    appointment_type: AppointmentType,
    slots: Sequence[Slot],
    *,
    by: Any,
    course_ref: int | None,
    sequence_numbers: Sequence[int | None],
) -> list[Appointment]:
    appointments = [
        Appointment(
            site=site,
            patient=patient,
            appointment_type=appointment_type,
            resource=slot.resource,
            staff=slot.staff,
            starts_at=slot.start,
            ends_at=slot.end,
            course_ref=course_ref,
            sequence_number=number,
            created_by=by,
        )
        for slot, number in zip(slots, sequence_numbers, strict=True)
    ]

    def write() -> None:
        Appointment.objects.bulk_create(appointments)
        Reservation.objects.bulk_create([row for a in appointments for row in _reservations(a)])

    _write(write, lambda: _race_conflict(site, appointment_type, patient, slots))
    for appointment in appointments:
        record(
            Action.CREATE,
            obj=appointment,
            patient_id=patient.pk,
            site=site,
            user=by,
            detail={
                "appointment_type": appointment_type.code,
                "resource": appointment.resource_id,
                "staff": appointment.staff_id,
                "course_ref": course_ref,
                "sequence_number": appointment.sequence_number,
            },
        )
    return appointments


@transaction.atomic
def book_appointment(
    *,
    patient: Patient,
    appointment_type: AppointmentType,
    start: dt.datetime,
    by: Any,
    resource: Resource | None = None,
    staff: Any | None = None,
    course_ref: int | None = None,
    sequence_number: int | None = None,
) -> Appointment:
    """Book ``patient`` for ``appointment_type`` at ``start`` (aware, on a quarter hour) at the patient's site.

    Without ``resource`` a free chair or room of the type's kind is chosen; without ``staff`` a free therapist on
    shift is chosen for types that need one. Refused with :class:`BookingConflict` (every clash, nearest
    alternatives); bad arguments (wrong kind of room, staff of another site, a start not on a quarter hour) raise
    ``ValueError`` naming the argument.
    """
    site = patient.site
    start = _start("start", start, site.zone)
    _check_type(appointment_type)
    _check_resource(resource, appointment_type, site)
    _check_staff(staff, site)
    _check_sequence(sequence_number)
    _lock(site)
    horizon = Horizon(site, start, start + appointment_type.total, patient_ids=[patient.pk], staff=[staff])
    check = horizon.check(
        start,
        appointment_type,
        patient_id=patient.pk,
        resource=resource,
        resource_fixed=resource is not None,
        staff=staff,
        staff_fixed=staff is not None,
    )
    if check.slot is None:
        raise _refuse(site, appointment_type, patient.pk, check, resource=resource, staff=staff)
    return _create(
        site, patient, appointment_type, [check.slot], by=by, course_ref=course_ref, sequence_numbers=[sequence_number]
    )[0]


def _plan_series(
    patient: Patient,
    appointment_type: AppointmentType,
    starts: Sequence[dt.datetime],
    *,
    first_sequence_number: int,
    resource: Resource | None,
) -> tuple[Site, list[dt.datetime], SeriesCheck]:
    site = patient.site
    if not starts:
        raise ValueError("starts: give at least one start")
    if len(starts) > MAX_SERIES:
        raise ValueError(f"starts: at most {MAX_SERIES} sessions in one series (got {len(starts)})")
    ordered = sorted(_start(f"starts[{i}]", s, site.zone) for i, s in enumerate(starts))
    if len(set(ordered)) != len(ordered):
        raise ValueError("starts: the same start is given twice")
    _check_type(appointment_type)
    _check_resource(resource, appointment_type, site)
    _check_sequence(first_sequence_number)
    horizon = Horizon(site, ordered[0], ordered[-1] + appointment_type.total, patient_ids=[patient.pk])
    slots: dict[dt.datetime, Slot] = {}
    by_start: dict[dt.datetime, list[str]] = {}
    preferred = resource
    for start in ordered:
        check = horizon.check(
            start,
            appointment_type,
            patient_id=patient.pk,
            resource=preferred,
            resource_fixed=resource is not None,
        )
        if check.slot is None:
            by_start[start] = check.problems
            continue
        slots[start] = check.slot
        horizon.hold_slot(check.slot, appointment_type, patient.pk)
        preferred = check.slot.resource  # keep the patient in the same chair when it is free
    if not by_start:
        return site, ordered, SeriesCheck(slots=slots)
    _, alternatives = _alternatives(
        site, appointment_type, patient.pk, list(by_start), planned=slots.values(), resource=resource
    )
    conflicts = [f"{horizon.when(start)}: {problem}" for start, problems in by_start.items() for problem in problems]
    message = _series_message(len(by_start), len(ordered), appointment_type, conflicts)
    return (
        site,
        ordered,
        SeriesCheck(
            conflicts,
            conflicts_by_start=by_start,
            alternatives_by_start=alternatives,
            slots=slots,
            message=message,
        ),
    )


def check_series(
    *,
    patient: Patient,
    appointment_type: AppointmentType,
    starts: list[dt.datetime],
    by: Any = None,
    course_ref: int | None = None,
    first_sequence_number: int = 1,
    resource: Resource | None = None,
) -> SeriesCheck:
    """What :func:`book_series` would refuse, without booking: a :class:`SeriesCheck` (a list of conflict messages,
    empty when the whole series can be booked, with ``conflicts_by_start`` and ``alternatives_by_start``)."""
    return _plan_series(
        patient, appointment_type, starts, first_sequence_number=first_sequence_number, resource=resource
    )[2]


@transaction.atomic
def book_series(
    *,
    patient: Patient,
    appointment_type: AppointmentType,
    starts: list[dt.datetime],
    by: Any,
    course_ref: int | None = None,
    first_sequence_number: int = 1,
    resource: Resource | None = None,
) -> list[Appointment]:
    """Book every start of a series in one transaction, or none.

    The appointments come back in time order, numbered ``first_sequence_number``, +1, … in that order; the patient
    keeps the same chair whenever it is free (or ``resource`` throughout). If any start cannot be booked, raises
    :class:`BookingConflict` whose ``conflicts`` name every refused date and whose ``alternatives_by_start`` offer the
    nearest valid slots for each; nothing is booked.
    """
    site = patient.site
    _lock(site)
    site, ordered, plan = _plan_series(
        patient, appointment_type, starts, first_sequence_number=first_sequence_number, resource=resource
    )
    if not plan.ok:
        first = min(plan.conflicts_by_start)
        raise BookingConflict(
            plan.message,
            plan.conflicts,
            plan.alternatives_by_start[first],
            alternatives_by_start=plan.alternatives_by_start,
            conflicts_by_start=plan.conflicts_by_start,
        )
    return _create(
        site,
        patient,
        appointment_type,
        [plan.slots[start] for start in ordered],
        by=by,
        course_ref=course_ref,
        sequence_numbers=[first_sequence_number + i for i in range(len(ordered))],
    )


# --- changing a booking -------------------------------------------------------------------------------------------


def _locked(appointment: Appointment) -> Appointment:
    return (
        Appointment.objects.select_for_update(of=("self",))
        .select_related("appointment_type", "site", "resource", "staff", "patient")
        .get(pk=appointment.pk)
    )


@transaction.atomic
def move_appointment(
    appointment: Appointment,
    *,
    new_start: dt.datetime,
    by: Any,
    expected_version: int | None = None,
    resource: Resource | None = None,
) -> Appointment:
    """Move a booked appointment to ``new_start``, keeping its chair and clinician when they are free then.

    With ``expected_version``, refuse (:class:`StaleAppointmentError`) if it changed since it was read; refused with
    :class:`BookingConflict` like a booking; ``ValueError`` unless it is still booked. ``resource`` asks for a
    particular chair or room.
    """
    current = _locked(appointment)
    site = current.site
    new_start = _start("new_start", new_start, site.zone)
    if expected_version is not None and current.version != expected_version:
        raise StaleAppointmentError(
            "This appointment was changed by someone else while you were looking at it. Reload to see it."
        )
    if current.status != Appointment.Status.BOOKED:
        raise ValueError(f"only a booked appointment can be moved; this one is {current.get_status_display().lower()}")
    atype = current.appointment_type
    _check_resource(resource, atype, site)
    _lock(site)
    staff_fixed = current.staff is not None and not atype.needs_therapist
    horizon = Horizon(
        site,
        new_start,
        new_start + atype.total,
        patient_ids=[current.patient_id],
        staff=[current.staff],
        exclude=[current.pk],
    )
    check = horizon.check(
        new_start,
        atype,
        patient_id=current.patient_id,
        resource=resource or current.resource,
        resource_fixed=resource is not None,
        staff=current.staff,
        staff_fixed=staff_fixed,
    )
    if check.slot is None:
        raise _refuse(
            site, atype, current.patient_id, check, resource=current.resource, staff=current.staff, exclude=[current.pk]
        )
    slot = check.slot
    previous = (current.starts_at, current.resource_id, current.staff_id)
    current.starts_at, current.ends_at = slot.start, slot.end
    current.resource, current.staff = slot.resource, slot.staff
    current.version += 1

    def write() -> None:
        Reservation.objects.filter(appointment=current).delete()
        current.save(update_fields=["starts_at", "ends_at", "resource", "staff", "version", "updated_at"])
        Reservation.objects.bulk_create(_reservations(current))

    _write(write, lambda: _race_conflict(site, atype, current.patient, [slot], exclude=[current.pk]))
    changed = [
        name
        for name, old, new in zip(
            ("starts_at", "resource", "staff"),
            previous,
            (slot.start, current.resource_id, current.staff_id),
            strict=True,
        )
        if old != new
    ]
    record(Action.UPDATE, obj=current, patient_id=current.patient_id, site=site, user=by, detail={"fields": changed})
    return current


def _transition(appointment: Appointment, status: str, *, by: Any, fields: dict[str, Any]) -> Appointment:
    current = _locked(appointment)
    if not current.can_become(status):
        raise ValueError(
            f"a {current.get_status_display().lower()} appointment cannot become "
            f"{Appointment.Status(status).label.lower()}"
        )
    signals.appointment_status_changing.send(sender=Appointment, appointment=current, status=status, by=by)
    for name, value in fields.items():
        setattr(current, name, value)
    current.status = status
    current.version += 1
    current.save(update_fields=[*fields, "status", "version", "updated_at"])
    if status not in Appointment.HOLDING:
        Reservation.objects.filter(appointment=current).delete()  # the chair, patient and clinician are free again
    record(
        Action.UPDATE,
        obj=current,
        patient_id=current.patient_id,
        site=current.site,
        user=by,
        detail={"status": status, "fields": ["status", *fields]},
    )
    signals.appointment_status_changed.send(sender=Appointment, appointment=current, by=by)
    return current


@transaction.atomic
def cancel_appointment(appointment: Appointment, *, by: Any, reason: str) -> Appointment:
    """Cancel a booked or checked-in appointment, saying why; its chair and time are free again."""
    reason = (reason or "").strip()
    if not reason:
        raise ValueError("reason: say why the appointment is cancelled")
    if len(reason) > 300:
        raise ValueError(f"reason: at most 300 characters (got {len(reason)})")
    return _transition(
        appointment,
        Appointment.Status.CANCELLED,
        by=by,
        fields={"cancel_reason": reason, "cancelled_at": timezone.now()},
    )


@transaction.atomic
def mark_no_show(appointment: Appointment, *, by: Any) -> Appointment:
    """Record that the patient did not come to a booked appointment (possible once its time has begun)."""
    if timezone.now() < appointment.starts_at:
        raise ValueError("a no-show can be recorded once the appointment time has begun")
    return _transition(appointment, Appointment.Status.NO_SHOW, by=by, fields={})


@transaction.atomic
def check_in(appointment: Appointment, *, by: Any) -> Appointment:
    """The patient has arrived: a booked appointment of today (clinic time) becomes checked in."""
    zone = appointment.site.zone
    today = timezone.now().astimezone(zone).date()
    day = appointment.starts_at.astimezone(zone).date()
    if day != today:
        raise ValueError(f"check-in is for today's appointments; this one is on {day:%Y-%m-%d}")
    return _transition(appointment, Appointment.Status.CHECKED_IN, by=by, fields={"checked_in_at": timezone.now()})


@transaction.atomic
def complete_appointment(appointment: Appointment, *, by: Any) -> Appointment:
    """A checked-in appointment is over (the session-day record completes it)."""
    return _transition(appointment, Appointment.Status.COMPLETED, by=by, fields={})


# --- staff shifts, resources and the site policy ------------------------------------------------------------------


@transaction.atomic
def add_shift(
    *, user: Any, site: Site, starts_at: dt.datetime, ends_at: dt.datetime, role_on_shift: str, by: Any
) -> StaffShift:
    """Put ``user`` on shift at ``site`` in ``role_on_shift`` (one of their roles) from ``starts_at`` to ``ends_at``.

    Quarter-hour times, at most 16 hours, no overlap with another shift of theirs.
    """
    start = _start("starts_at", starts_at, site.zone)
    end = _start("ends_at", ends_at, site.zone)
    if end <= start:
        raise ValueError("ends_at: the shift must end after it starts")
    if end - start > MAX_SHIFT:
        raise ValueError(f"ends_at: a shift is at most {MAX_SHIFT.seconds // 3600} hours")
    if role_on_shift not in SHIFT_ROLES:
        raise ValueError(f"role_on_shift: one of {', '.join(SHIFT_ROLES)} (got {role_on_shift!r})")
    if not user.has_role(SHIFT_ROLES[role_on_shift]):
        raise ValueError(f"role_on_shift: {user} does not hold the {SHIFT_ROLES[role_on_shift].label.lower()} role")
    _check_staff(user, site)
    overlap = StaffShift.objects.filter(user=user, starts_at__lt=end, ends_at__gt=start).first()
    if overlap is not None:
        zone = site.zone
        raise ValueError(
            f"starts_at: {user} already has a shift {overlap.starts_at.astimezone(zone):%Y-%m-%d %H:%M}–"
            f"{overlap.ends_at.astimezone(zone):%H:%M}"
        )
    shift = StaffShift.objects.create(
        user=user, site=site, starts_at=start, ends_at=end, role_on_shift=role_on_shift, created_by=by
    )
    record(Action.CREATE, obj=shift, site=site, user=by, detail={"user": user.pk, "role_on_shift": role_on_shift})
    return shift


@transaction.atomic
def remove_shift(shift: StaffShift, *, by: Any) -> None:
    """Take a shift off the roster. Bookings already made stay; new ones see the change at once."""
    record(Action.DELETE, obj=shift, site=shift.site, user=by, detail={"user": shift.user_id})
    shift.delete()


@transaction.atomic
def add_resource(*, site: Site, kind: str, name: str, by: Any, monitor_label: str = "") -> Resource:
    """Add a bookable chair or room to ``site`` (names are unique per site)."""
    name = name.strip()
    if kind not in ResourceKind.values:
        raise ValueError(f"kind: one of {', '.join(ResourceKind.values)} (got {kind!r})")
    if not name:
        raise ValueError("name: give the chair or room a name, e.g. Chair 7")
    if Resource.objects.filter(site=site, name__iexact=name).exists():
        raise ValueError(f"name: {site.name} already has a {name}")
    resource = Resource.objects.create(site=site, kind=kind, name=name, monitor_label=monitor_label.strip())
    record(Action.CREATE, obj=resource, site=site, user=by, detail={"kind": kind})
    return resource


@transaction.atomic
def update_resource(
    resource: Resource,
    *,
    by: Any,
    name: str | None = None,
    active: bool | None = None,
    monitor_label: str | None = None,
) -> Resource:
    """Rename a resource, assign its monitor, or take it out of (or back into) service.

    Taking it out of service is refused while future appointments hold it: move them first.
    """
    changed: list[str] = []
    if name is not None and name.strip() != resource.name:
        name = name.strip()
        if not name:
            raise ValueError("name: give the chair or room a name, e.g. Chair 7")
        if Resource.objects.filter(site=resource.site_id, name__iexact=name).exclude(pk=resource.pk).exists():
            raise ValueError(f"name: this site already has a {name}")
        resource.name = name
        changed.append("name")
    if monitor_label is not None and monitor_label.strip() != resource.monitor_label:
        resource.monitor_label = monitor_label.strip()
        changed.append("monitor_label")
    if active is not None and active != resource.active:
        if not active:
            upcoming = Appointment.objects.filter(
                resource=resource, status=Appointment.Status.BOOKED, starts_at__gte=timezone.now()
            ).count()
            if upcoming:
                raise ValueError(
                    f"active: {resource.name} has {upcoming} upcoming appointment{'s' if upcoming > 1 else ''}; "
                    "move them to another chair or room first"
                )
        resource.active = active
        changed.append("active")
    if changed:
        resource.save(update_fields=changed)
        record(Action.UPDATE, obj=resource, site=resource.site, user=by, detail={"fields": changed})
    return resource


@transaction.atomic
def update_site_policy(site: Site, *, by: Any, nurse_ratio: int, search_days: int | None = None) -> SitePolicy:
    """Set a site's nurse-to-patient ratio (1 nurse : 1–12 dosing patients) and how far the slot finder looks."""
    if isinstance(nurse_ratio, bool) or not 1 <= nurse_ratio <= 12:
        raise ValueError(f"nurse_ratio: 1 to 12 dosing patients per nurse (got {nurse_ratio!r})")
    if search_days is not None and (isinstance(search_days, bool) or not 1 <= search_days <= 180):
        raise ValueError(f"search_days: 1 to 180 days (got {search_days!r})")
    policy = _lock(site)
    policy.nurse_ratio = nurse_ratio
    fields = ["nurse_ratio", "updated_at"]
    if search_days is not None:
        policy.search_days = search_days
        fields.append("search_days")
    policy.save(update_fields=fields)
    record(Action.UPDATE, obj=policy, site=site, user=by, detail={"fields": fields[:1] + fields[2:]})
    return policy


# --- calendar feeds -----------------------------------------------------------------------------------------------


@transaction.atomic
def feed_token_for(*, by: Any, patient: Patient | None = None, user: Any | None = None) -> FeedToken:
    """The calendar feed secret of ``patient`` or of staff member ``user`` (created on first use; audited then)."""
    if (patient is None) == (user is None):
        raise ValueError("give either patient or user")
    if patient is not None:
        token, created = FeedToken.objects.get_or_create(patient=patient)
    else:
        token, created = FeedToken.objects.get_or_create(user=user)
    if created:
        record(
            Action.CREATE,
            obj=token,
            patient_id=patient.pk if patient is not None else None,
            site=patient.site if patient is not None else None,
            user=by,
        )
    return token


@transaction.atomic
def regenerate_feed_token(token: FeedToken, *, by: Any) -> FeedToken:
    """Replace the feed's secret: the old calendar URL stops working at once."""
    token.token = new_feed_token()
    token.created_at = timezone.now()
    token.save(update_fields=["token", "created_at"])
    record(Action.UPDATE, obj=token, patient_id=token.patient_id, user=by, detail={"fields": ["token"]})
    return token
