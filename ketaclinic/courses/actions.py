"""Treatment-course actions. Each state change is atomic and audited in the same transaction.

* :func:`open_course` — a prescriber opens a course on a signed, approving eligibility assessment for the protocol's
  route, with the starting dose computed by ``clinical.dose`` and titration bounds inside the protocol's.
* :func:`order_dose` — a new dose order from a session on; outside the bounds only with an override reason
  (audited as OVERRIDE).
* :func:`start_course` — session 1 begins: the course moves to induction and the patient to "in treatment". An
  esketamine course without a valid SPRAVATO REMS enrolment is refused (hard stop).
* :func:`record_decision` — continue / extend induction / move to maintenance / taper / pause / resume / complete /
  stop, with a reason and the response evidence of :func:`review_status`; illegal moves raise ``ValueError``.
* :func:`plan_phase` (reads only) and :func:`book_plan` — the session datetimes of a phase and booking them in one
  step through ``scheduling.actions.book_series``; :func:`replan_after_move`, :func:`move_session`,
  :func:`record_missed_session` keep the plan true to the protocol when the calendar changes.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from ketaclinic import clinical
from ketaclinic.accounts.clinic_policy import clinic_policy
from ketaclinic.accounts.models import ClosedDay, OpeningHours
from ketaclinic.accounts.roles import Perm
from ketaclinic.audit.actions import Action, record
from ketaclinic.clinical import Assessment, Drug, Protocol, get_protocol
from ketaclinic.clinical.protocols import PerKgDose
from ketaclinic.consents.actions import valid_consent
from ketaclinic.consents.models import Consent
from ketaclinic.courses import planning, sessions
from ketaclinic.courses.models import Course, CourseDecision, DoseOrder, Indication, MissedSession
from ketaclinic.courses.planning import SeriesPlan
from ketaclinic.measures.models import QuestionnaireResponse
from ketaclinic.patients.actions import latest_weight_kg, set_status
from ketaclinic.patients.models import Patient
from ketaclinic.scheduling.actions import (
    BookingConflict,
    Slot,
    appointment_type_for_route,
    book_series,
    cancel_appointment,
    check_series,
    mark_no_show,
    move_appointment,
)
from ketaclinic.scheduling.models import Appointment, AppointmentType
from ketaclinic.screening.actions import current_assessment
from ketaclinic.screening.models import ROUTE_CHOICES
from ketaclinic.tasks.actions import raise_task
from ketaclinic.tasks.models import Task

Status = Course.Status
D = CourseDecision.Decision

#: An order or bounds outside the protocol's or the course's limits needs a written reason at least this long.
OVERRIDE_REASON_MIN_CHARS = 20
#: Entry-error guards that no override passes (POLICY): twice the top of the IV trial range (R13: 0.1–1.0 mg/kg);
#: the top of the oral racemic range in the literature for fixed racemic doses (R15: 25–300 mg); esketamine comes
#: in 28-mg devices up to the label's 84 mg (R1).
HARD_MAX_MG_PER_KG = Decimal("2.0")
HARD_MAX_RACEMIC_FIXED_MG = Decimal("300")
ESKETAMINE_MAX_MG = Decimal("84")
#: Sessions planned for a first phase with no fixed total (sublingual "every 2–3 days or weekly").
OPEN_ENDED_PLANNED_SESSIONS = 8
#: Sessions planned by default for an open-ended later phase (Phillips 2019: four weekly maintenance infusions, R12).
DEFAULT_LATER_PHASE_SESSIONS = 4
#: Responses used for the response status, in order of preference (REFERENCE §5).
REVIEW_INSTRUMENTS = ("phq9", "madrs")
RULE_MISSED_ESKETAMINE = "protocols.esketamine_missed_dose"
RULE_MISSED_SPACING = "protocols.session_spacing"
ROUTE_LABELS = dict(ROUTE_CHOICES)

#: decision → {status it may be taken in → status it leads to}; ``resume`` returns to the status before the pause.
TRANSITIONS: dict[str, dict[str, str]] = {
    D.CONTINUE: {Status.INDUCTION: Status.INDUCTION, Status.MAINTENANCE: Status.MAINTENANCE},
    D.EXTEND_INDUCTION: {Status.INDUCTION: Status.INDUCTION},
    D.MOVE_TO_MAINTENANCE: {Status.INDUCTION: Status.MAINTENANCE},
    D.TAPER: {Status.MAINTENANCE: Status.MAINTENANCE},
    D.PAUSE: {Status.INDUCTION: Status.PAUSED, Status.MAINTENANCE: Status.PAUSED},
    D.RESUME: {Status.PAUSED: ""},
    D.COMPLETE: {Status.INDUCTION: Status.COMPLETED, Status.MAINTENANCE: Status.COMPLETED},
    D.STOP: {
        Status.PLANNED: Status.STOPPED,
        Status.INDUCTION: Status.STOPPED,
        Status.MAINTENANCE: Status.STOPPED,
        Status.PAUSED: Status.STOPPED,
    },
}


class CourseError(ValueError):
    """A course action the rules refuse; ``field`` names the input to correct, ``message`` says how."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class EligibilityRequired(CourseError):
    """No signed, approving eligibility assessment is in force for the protocol's route."""


class WeightRequired(CourseError):
    """A per-kilogram dose needs a recorded weight."""


class DoseOutOfBounds(CourseError):
    """The dose lies outside the protocol's or the course's bounds and no (adequate) override reason was given."""


class RemsEnrolmentRequired(CourseError):
    """Esketamine without a valid SPRAVATO REMS patient enrolment: the hard stop before any session."""


class StaleCourseError(Exception):
    """The course changed since the form was loaded; nothing was saved."""


def _require(by: Any, patient: Patient, *perms: Perm) -> None:
    """Defence in depth behind the views: one of ``perms`` and work at the patient's site."""
    if not getattr(by, "is_authenticated", False) or not any(by.can(p) for p in perms):
        raise PermissionDenied(f"Your role does not allow this: {perms[0].label.lower()}.")
    if not Patient.objects.visible_to(by).filter(pk=patient.pk).exists():
        raise PermissionDenied("You do not work at this patient's site.")


def _from_core(error: ValueError, default_field: str) -> CourseError:
    """The clinical core's ``"field: message"`` errors as a :class:`CourseError` naming the field."""
    text = str(error)
    match = re.match(r"^([a-z_]+): (.*)$", text, re.S)
    if match:
        return CourseError(match.group(1), match.group(2))
    return CourseError(default_field, text)


def _dec(value: float | Decimal | int | None, places: str = "0.001") -> Decimal | None:
    if value is None:
        return None
    return Decimal(str(value)).quantize(Decimal(places), rounding=ROUND_HALF_UP)


def _bump(course: Course) -> None:
    Course.objects.filter(pk=course.pk).update(version=F("version") + 1)
    course.refresh_from_db(fields=["version"])


def _audit(action: str, obj: Any, course: Course, by: Any, **detail: Any) -> None:
    record(action, obj=obj, patient_id=course.patient_id, site=course.site, user=by, detail=detail)


# --- Protocol shape of a course ----------------------------------------------------------------------------------


def effective_protocol(course: Course) -> Protocol:
    """The catalogue protocol as this course runs it: the first phase holds ``planned_induction_sessions``.

    An induction extended beyond the catalogue's total takes the extra weeks it needs at its slowest frequency, and
    the later phases move back by as many weeks.
    """
    proto = course.clinical_protocol
    first = proto.phases[0]
    planned = course.planned_induction_sessions
    if first.total_sessions is None or planned == first.total_sessions:
        return proto
    extra_weeks = 0
    if planned > first.total_sessions and first.last_week is not None:
        extra_weeks = math.ceil((planned - first.total_sessions) / max(first.sessions_per_week_min, 1))
    new_first = dataclasses.replace(
        first,
        total_sessions=planned,
        last_week=None if first.last_week is None else first.last_week + extra_weeks,
    )
    later = tuple(
        dataclasses.replace(
            p,
            first_week=p.first_week + extra_weeks,
            last_week=None if p.last_week is None else p.last_week + extra_weeks,
        )
        for p in proto.phases[1:]
    )
    return dataclasses.replace(proto, phases=(new_first, *later))


def default_review_points(planned: int) -> list[int]:
    """After session 4 and at the end of induction (just the end for short inductions)."""
    return [4, planned] if planned > 4 else [planned]


def protocol_bounds(proto: Protocol) -> tuple[Decimal, Decimal, str]:
    """The protocol's dose range: (min, max, unit) in mg/kg or mg."""
    rule = proto.dose_rule
    if isinstance(rule, PerKgDose):
        return _dec(rule.min_mg_per_kg), _dec(rule.max_mg_per_kg), "mg/kg"  # type: ignore[return-value]
    return _dec(min(rule.allowed_mg), "0.1"), _dec(max(rule.allowed_mg), "0.1"), "mg"  # type: ignore[return-value]


def course_bounds(course: Course) -> tuple[Decimal, Decimal, str]:
    """The course's titration range: (min, max, unit)."""
    if course.is_per_kg:
        return course.min_mg_per_kg, course.max_mg_per_kg, "mg/kg"  # type: ignore[return-value]
    return course.min_amount_mg, course.max_amount_mg, "mg"  # type: ignore[return-value]


def _hard_max(proto: Protocol) -> Decimal:
    if isinstance(proto.dose_rule, PerKgDose):
        return HARD_MAX_MG_PER_KG
    return ESKETAMINE_MAX_MG if proto.drug is Drug.ESKETAMINE else HARD_MAX_RACEMIC_FIXED_MG


def _fmt(value: Decimal | float) -> str:
    return f"{Decimal(str(value)).normalize():f}"


def _check_hard(proto: Protocol, value: Decimal, name: str) -> None:
    """Limits no override passes: positive, under the entry-error guard, whole esketamine devices."""
    unit = "mg/kg" if isinstance(proto.dose_rule, PerKgDose) else "mg"
    ceiling = _hard_max(proto)
    if value <= 0 or value > ceiling:
        raise CourseError(name, f"{_fmt(value)} {unit} is outside 0–{_fmt(ceiling)} {unit}, which no override passes")
    if proto.drug is Drug.ESKETAMINE and value % (proto.device_mg or 28) != 0:
        raise CourseError(name, f"{_fmt(value)} mg is not a whole number of 28-mg esketamine devices (28, 56, 84 mg)")


def _check_override_reason(reason: str, name: str = "override_reason") -> str:
    reason = reason.strip()
    if len(reason) < OVERRIDE_REASON_MIN_CHARS:
        raise CourseError(
            name, f"an override needs a written reason of at least {OVERRIDE_REASON_MIN_CHARS} characters"
        )
    return reason


# --- Opening a course ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DosePreview:
    """The starting dose ``clinical.dose`` computes, and what it was computed from (shown before opening)."""

    order: clinical.DoseOrder
    weight_kg: Decimal | None
    weight_measured_at: dt.datetime | None
    age_years: int


def _weight(patient: Patient) -> tuple[Decimal | None, dt.datetime | None]:
    from ketaclinic.patients.models import BodyMeasurement

    weight = latest_weight_kg(patient)
    if weight is None:
        return None, None
    row = (
        BodyMeasurement.objects.current()
        .filter(patient=patient, weight_kg__isnull=False)
        .order_by("-measured_at", "-id")
        .first()
    )
    return weight, row.measured_at if row else None


def preview_starting_dose(
    patient: Patient,
    *,
    protocol: str,
    jurisdiction: str = "US",
    mg_per_kg: float | Decimal | None = None,
    amount_mg: float | Decimal | None = None,
    weight_basis: str = "actual",
    session_number: int = 1,
    previous_amount_mg: float | Decimal | None = None,
) -> DosePreview:
    """The dose ``clinical.dose`` gives this patient (latest weight, age today); :class:`CourseError` naming the field.

    A per-kilogram protocol without a recorded weight raises :class:`WeightRequired`.
    """
    try:
        proto = get_protocol(protocol)
    except ValueError as error:
        raise _from_core(error, "protocol") from None
    weight, measured_at = _weight(patient)
    if isinstance(proto.dose_rule, PerKgDose) and weight is None:
        raise WeightRequired(
            "weight", "record today's weight first: a per-kilogram dose needs the patient's weight in the chart"
        )
    age = patient.age_years
    try:
        order = clinical.dose(
            proto,
            weight_kg=None if weight is None else float(weight),
            age_years=age,
            session_number=session_number,
            jurisdiction=jurisdiction,
            mg_per_kg=None if mg_per_kg is None else float(mg_per_kg),
            amount_mg=None if amount_mg is None else float(amount_mg),
            policy=clinic_policy(patient.site_id),
            previous_amount_mg=None if previous_amount_mg is None else float(previous_amount_mg),
            weight_basis=weight_basis,
        )
    except ValueError as error:
        raise _from_core(error, "mg_per_kg" if isinstance(proto.dose_rule, PerKgDose) else "amount_mg") from None
    return DosePreview(order, weight, measured_at, age)


def _titration_bounds(
    proto: Protocol, low: Decimal | None, high: Decimal | None, override_reason: str, start: Decimal
) -> tuple[Decimal, Decimal, str]:
    """Validated (min, max, override reason) for the course; the starting dose must lie within them."""
    per_kg = isinstance(proto.dose_rule, PerKgDose)
    names = ("min_mg_per_kg", "max_mg_per_kg") if per_kg else ("min_amount_mg", "max_amount_mg")
    p_low, p_high, unit = protocol_bounds(proto)
    low = p_low if low is None else Decimal(str(low))
    high = p_high if high is None else Decimal(str(high))
    _check_hard(proto, low, names[0])
    _check_hard(proto, high, names[1])
    if low > high:
        raise CourseError(names[0], f"the minimum {_fmt(low)} {unit} is above the maximum {_fmt(high)} {unit}")
    if not (low <= start <= high):
        raise CourseError(
            names[0] if start < low else names[1],
            f"the starting dose {_fmt(start)} {unit} must lie within the titration bounds "
            f"{_fmt(low)}–{_fmt(high)} {unit}",
        )
    outside = low < p_low or high > p_high
    if outside:
        if not override_reason.strip():
            name = names[0] if low < p_low else names[1]
            raise DoseOutOfBounds(
                name,
                f"titration bounds must lie within the protocol's {_fmt(p_low)}–{_fmt(p_high)} {unit}; "
                "to go outside them, give an override reason",
            )
        override_reason = _check_override_reason(override_reason, "bounds_override_reason")
    else:
        override_reason = ""
    return low, high, override_reason


@transaction.atomic
def open_course(
    patient: Patient,
    *,
    protocol: str,
    indication: str,
    by: Any,
    jurisdiction: str = "US",
    mg_per_kg: float | Decimal | None = None,
    amount_mg: float | Decimal | None = None,
    weight_basis: str = "actual",
    min_bound: float | Decimal | None = None,
    max_bound: float | Decimal | None = None,
    bounds_override_reason: str = "",
    planned_induction_sessions: int | None = None,
    review_points: Sequence[int] | None = None,
    prior_sessions: int = 0,
) -> Course:
    """A prescriber opens a course of ``protocol`` for ``patient`` (audited; an override of the bounds as OVERRIDE).

    Guarantees: only holders of the prescribe capability at the patient's site open courses; a signed, approving
    eligibility assessment for the protocol's route is in force (its precautions are copied to the course); the
    starting dose is ``clinical.dose``'s for session 1 (per-kg protocols use the latest recorded weight; none recorded
    raises :class:`WeightRequired`); titration bounds (``min_bound``/``max_bound`` in the protocol's unit, default the
    protocol's range) contain the starting dose and stay in the protocol's range unless ``bounds_override_reason``
    says why; one active course per patient. ``prior_sessions`` are sessions given before the course was kept here (a
    transfer from another clinic). The first :class:`DoseOrder` is written with the course. Refusals raise
    :class:`CourseError` naming the field.
    """
    _require(by, patient, Perm.PRESCRIBE)
    try:
        proto = get_protocol(protocol)
    except ValueError as error:
        raise _from_core(error, "protocol") from None
    if indication not in Indication.values:
        raise CourseError("indication", f"{indication!r} is not one of {', '.join(Indication.values)}")
    if proto.drug is Drug.ESKETAMINE and indication not in {i.value for i in proto.indications}:
        allowed = ", ".join(Indication(i.value).label for i in proto.indications)
        raise CourseError("indication", f"{proto.title} is licensed for {allowed} only")
    if jurisdiction not in ("US", "EU", "HK"):
        raise CourseError("jurisdiction", f"{jurisdiction!r} is not one of US, EU, HK")
    assessment = current_assessment(patient, proto.route.value)
    route_label = ROUTE_LABELS.get(proto.route.value, proto.route.value)
    if assessment is None or not assessment.is_approved:
        state = "was declined" if assessment is not None else "has no signed eligibility assessment"
        raise EligibilityRequired(
            "eligibility",
            f"the patient {state} for {route_label}: a prescriber must sign an approving eligibility assessment "
            "for this route before a course can be opened",
        )
    if proto.drug is Drug.ESKETAMINE and assessment.indication != indication:
        raise EligibilityRequired(
            "eligibility",
            f"the signed eligibility assessment is for {assessment.indication_label}; run and sign one for "
            f"{Indication(indication).label} first",
        )
    if Course.objects.active().filter(patient=patient).exists():
        raise CourseError("protocol", "the patient already has an active course: complete or stop it first")

    preview = preview_starting_dose(
        patient,
        protocol=proto.id,
        jurisdiction=jurisdiction,
        mg_per_kg=mg_per_kg,
        amount_mg=amount_mg,
        weight_basis=weight_basis,
    )
    order = preview.order
    per_kg = isinstance(proto.dose_rule, PerKgDose)
    start_value = _dec(order.mg_per_kg) if per_kg else _dec(order.amount_mg, "0.1")
    assert start_value is not None
    low, high, override = _titration_bounds(
        proto, _dec(min_bound), _dec(max_bound), bounds_override_reason, start_value
    )

    first = proto.phases[0]
    limit = first.total_sessions or 52
    if planned_induction_sessions is None:
        planned = first.total_sessions or OPEN_ENDED_PLANNED_SESSIONS
    elif isinstance(planned_induction_sessions, bool) or not 1 <= planned_induction_sessions <= limit:
        raise CourseError(
            "planned_induction_sessions",
            f"must be from 1 to {limit} for {proto.id} (extend induction later with a decision, if needed)",
        )
    else:
        planned = planned_induction_sessions
    points = _review_points(review_points, planned)
    if isinstance(prior_sessions, bool) or not isinstance(prior_sessions, int) or not 0 <= prior_sessions <= 200:
        raise CourseError("prior_sessions", "a number of sessions from 0 to 200")

    course = Course(
        patient=patient,
        site=patient.site,
        indication=indication,
        protocol=proto.id,
        route=proto.route.value,
        jurisdiction=jurisdiction,
        eligibility_assessment=assessment,
        precautions=[dict(p) for p in assessment.precautions],
        weight_basis=weight_basis,
        starting_mg_per_kg=start_value if per_kg else None,
        starting_amount_mg=_dec(order.amount_mg, "0.1") if not per_kg else None,
        min_mg_per_kg=low if per_kg else None,
        max_mg_per_kg=high if per_kg else None,
        min_amount_mg=None if per_kg else low,
        max_amount_mg=None if per_kg else high,
        bounds_override_reason=override,
        planned_induction_sessions=planned,
        review_points=points,
        prior_sessions=prior_sessions,
        opened_by=by,
    )
    try:
        with transaction.atomic():
            course.save()
    except IntegrityError:
        raise CourseError("protocol", "the patient already has an active course: complete or stop it first") from None
    _audit(Action.CREATE, course, course, by, protocol=proto.id, eligibility_assessment=assessment.pk)
    if override:
        _audit(Action.OVERRIDE, course, course, by, rules=["titration_bounds"])
    dose_order = _write_order(course, order, by=by, effective_from=1, reason="Starting dose", override="")
    _audit(Action.CREATE, dose_order, course, by, effective_from_session=1)
    return course


def _review_points(points: Sequence[int] | None, planned: int) -> list[int]:
    if points is None:
        return default_review_points(planned)
    chosen = sorted(set(points))
    if any(isinstance(p, bool) or not isinstance(p, int) or not 1 <= p <= planned for p in chosen):
        raise CourseError("review_points", f"session numbers from 1 to {planned} (the planned induction sessions)")
    return chosen


def _write_order(
    course: Course, order: clinical.DoseOrder, *, by: Any, effective_from: int, reason: str, override: str
) -> DoseOrder:
    return DoseOrder.objects.create(
        course=course,
        ordered_by=by,
        effective_from_session=effective_from,
        mg_per_kg=_dec(order.mg_per_kg) if course.is_per_kg else None,
        amount_mg=Decimal(str(order.amount_mg)).quantize(Decimal("0.1")),
        weight_kg=_dec(order.weight_basis_kg, "0.1") if course.is_per_kg else None,
        weight_basis=order.weight_basis.value if order.weight_basis and course.is_per_kg else "",
        duration_min=_dec(order.duration_min, "0.1"),
        devices=order.devices,
        reason=reason[:300],
        out_of_bounds_override_reason=override,
    )


# --- Dose orders ---------------------------------------------------------------------------------------------------


@transaction.atomic
def order_dose(
    course: Course,
    *,
    by: Any,
    reason: str,
    mg_per_kg: float | Decimal | None = None,
    amount_mg: float | Decimal | None = None,
    override_reason: str = "",
    effective_from_session: int | None = None,
) -> DoseOrder:
    """A prescriber orders the dose from session ``effective_from_session`` (default: the next session) on.

    Guarantees: only prescribers at the site order; per-kilogram courses order ``mg_per_kg``, fixed-dose courses
    ``amount_mg``; an order inside the course's titration bounds and the protocol's rules (``clinical.dose`` for that
    session, including esketamine's day-1 and 28-mg-step rules against the previous order) needs only a reason; one
    outside needs ``override_reason`` (≥ :data:`OVERRIDE_REASON_MIN_CHARS` characters; audited as OVERRIDE) and never
    passes the entry-error guards. Refusals raise :class:`DoseOutOfBounds`/:class:`CourseError` naming the field and
    the allowed range. Earlier orders are kept; this one supersedes them from its session on.
    """
    _require(by, course.patient, Perm.PRESCRIBE)
    if not course.is_active:
        raise CourseError("course", f"the course is {course.get_status_display().lower()}; no further orders")
    reason = reason.strip()
    if not reason:
        raise CourseError("reason", "say why the dose is ordered or changed")
    proto = course.clinical_protocol
    per_kg = course.is_per_kg
    name = "mg_per_kg" if per_kg else "amount_mg"
    given, other = (mg_per_kg, amount_mg) if per_kg else (amount_mg, mg_per_kg)
    if other is not None:
        wrong = "amount_mg" if per_kg else "mg_per_kg"
        raise CourseError(wrong, f"not used by {proto.id}; order {name}")
    if given is None:
        raise CourseError(name, "enter the dose")
    value = Decimal(str(given))
    _check_hard(proto, value, name)
    session = effective_from_session or sessions.next_session_number(course)
    if isinstance(session, bool) or not isinstance(session, int) or not 1 <= session <= 1000:
        raise CourseError("effective_from_session", "a session number from 1 to 1000")
    current = course.current_dose_order()
    previous = current.amount_mg if (current is not None and session > 1 and proto.drug is Drug.ESKETAMINE) else None

    violations: list[str] = []
    rules: list[str] = []
    try:
        preview = preview_starting_dose(
            course.patient,
            protocol=proto.id,
            jurisdiction=course.jurisdiction,
            mg_per_kg=value if per_kg else None,
            amount_mg=None if per_kg else value,
            weight_basis=course.weight_basis,
            session_number=session,
            previous_amount_mg=previous,
        )
        core_order = preview.order
    except WeightRequired:
        raise
    except CourseError as error:
        violations.append(f"{error.message}")
        rules.append("protocol")
        # Outside the protocol's rules: compute the amount from the default order, then apply the value.
        base = preview_starting_dose(
            course.patient,
            protocol=proto.id,
            jurisdiction=course.jurisdiction,
            weight_basis=course.weight_basis,
            session_number=session,
        ).order
        core_order = _with_value(base, value, per_kg)
    low, high, unit = course_bounds(course)
    if not (low <= value <= high):
        violations.append(
            f"{_fmt(value)} {unit} is outside the course's titration bounds {_fmt(low)}–{_fmt(high)} {unit}"
        )
        rules.append("titration_bounds")
    override = ""
    if violations:
        p_low, p_high, _ = protocol_bounds(proto)
        if not override_reason.strip():
            raise DoseOutOfBounds(
                name,
                f"{'; '.join(violations)} (protocol {_fmt(p_low)}–{_fmt(p_high)} {unit}, course "
                f"{_fmt(low)}–{_fmt(high)} {unit}); to order it anyway, give an override reason",
            )
        override = _check_override_reason(override_reason)
    order = _write_order(course, core_order, by=by, effective_from=session, reason=reason, override=override)
    _bump(course)
    _audit(Action.CREATE, order, course, by, effective_from_session=session)
    if override:
        _audit(Action.OVERRIDE, order, course, by, rules=rules)
    return order


def _with_value(base: clinical.DoseOrder, value: Decimal, per_kg: bool) -> clinical.DoseOrder:
    """``base`` with the ordered value applied (for overrides the clinical core will not compute)."""
    if per_kg:
        assert base.weight_basis_kg is not None
        amount = float((value * Decimal(str(base.weight_basis_kg))).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))
        rate = None if base.duration_min is None else round(amount / base.duration_min, 3)
        return dataclasses.replace(base, amount_mg=amount, mg_per_kg=float(value), rate_mg_per_min=rate)
    devices = None if base.devices is None else int(value // 28)
    return dataclasses.replace(base, amount_mg=float(value), devices=devices)


# --- Starting and deciding -----------------------------------------------------------------------------------------


def rems_enrolment(course: Course, at: dt.datetime | None = None) -> Consent | None:
    """The SPRAVATO REMS enrolment in force for the course's patient (None also for non-esketamine courses)."""
    if not course.is_esketamine:
        return None
    return valid_consent(course.patient, Consent.Kind.ESKETAMINE_REMS, at)


def ensure_rems(course: Course, at: dt.datetime | None = None) -> None:
    """The hard stop: an esketamine course without a valid REMS enrolment raises :class:`RemsEnrolmentRequired`."""
    if course.is_esketamine and rems_enrolment(course, at) is None:
        raise RemsEnrolmentRequired(
            "rems",
            "SPRAVATO REMS enrolment is not recorded for this patient: record the signed REMS patient enrolment "
            "(consents) before any esketamine session is booked or given",
        )


@transaction.atomic
def start_course(course: Course, *, by: Any, at: dt.datetime | None = None) -> Course:
    """Session 1 begins: planned → induction (audited); the patient becomes "in treatment".

    Refused for an esketamine course without a valid REMS enrolment at ``at`` (hard stop), and for a course that is
    not planned. Nurses and prescribers (session recording) start courses.
    """
    _require(by, course.patient, Perm.RECORD_SESSION)
    moment = at or timezone.now()
    locked = Course.objects.select_for_update().get(pk=course.pk)
    if locked.status != Status.PLANNED:
        raise CourseError("status", f"the course is {locked.get_status_display().lower()}, not planned")
    ensure_rems(locked, moment)
    locked.status = Status.INDUCTION
    locked.status_reason = "Session 1 started"
    locked.started_at = moment
    locked.save(update_fields=["status", "status_reason", "started_at"])
    _bump(locked)
    _audit(Action.UPDATE, locked, locked, by, fields=["status", "started_at"], to=Status.INDUCTION)
    patient = locked.patient
    if patient.status != Patient.Status.IN_TREATMENT:
        set_status(patient, Patient.Status.IN_TREATMENT, by=by, reason="Treatment course started")
    _refresh(course, locked)
    return locked


def _refresh(stale: Course, fresh: Course) -> None:
    for name in ("status", "status_reason", "started_at", "ended_at", "paused_from", "version"):
        setattr(stale, name, getattr(fresh, name))
    stale.planned_induction_sessions = fresh.planned_induction_sessions
    stale.review_points = fresh.review_points


def allowed_decisions(course: Course) -> list[str]:
    """The decisions the course's status allows (move to maintenance only where the protocol has a later phase)."""
    out = [d for d, moves in TRANSITIONS.items() if course.status in moves]
    if len(course.clinical_protocol.phases) < 2 and D.MOVE_TO_MAINTENANCE in out:
        out.remove(D.MOVE_TO_MAINTENANCE)
    return out


@transaction.atomic
def record_decision(
    course: Course,
    *,
    decision: str,
    reason: str,
    by: Any,
    extra_sessions: int | None = None,
    expected_version: int | None = None,
) -> CourseDecision:
    """A prescriber records a decision and the course moves accordingly (audited; the evidence is stored).

    ``extend_induction`` adds ``extra_sessions`` (1–8) to the planned induction and a review point at its new end;
    ``pause``/``resume`` return to the status before the pause; ``move_to_maintenance`` puts the patient in
    maintenance; ``resume`` into induction puts them back in treatment. A decision the status does not allow raises
    ``ValueError`` (:class:`CourseError` naming ``decision``) listing the allowed ones; a missing reason names
    ``reason``; a stale ``expected_version`` raises :class:`StaleCourseError`.
    """
    _require(by, course.patient, Perm.PRESCRIBE)
    locked = Course.objects.select_for_update().select_related("patient").get(pk=course.pk)
    if expected_version is not None and locked.version != expected_version:
        raise StaleCourseError("The course was changed by someone else while you were deciding. Reload to see it.")
    if decision not in D.values:
        raise CourseError("decision", f"{decision!r} is not one of {', '.join(D.values)}")
    allowed = allowed_decisions(locked)
    if decision not in allowed:
        label = D(decision).label.lower()
        options = ", ".join(D(a).label.lower() for a in allowed) or "none (the course has ended)"
        raise CourseError(
            "decision", f"cannot {label} a course that is {locked.get_status_display().lower()}; allowed: {options}"
        )
    reason = reason.strip()
    if not reason:
        raise CourseError("reason", "say why (the reason is part of the record)")
    previous = locked.status
    target = TRANSITIONS[decision][previous] or locked.paused_from
    fields = ["status", "status_reason"]
    if decision == D.EXTEND_INDUCTION:
        if isinstance(extra_sessions, bool) or not isinstance(extra_sessions, int) or not 1 <= extra_sessions <= 8:
            raise CourseError("extra_sessions", "extend induction by 1 to 8 sessions")
        locked.planned_induction_sessions += extra_sessions
        locked.review_points = sorted({*locked.review_points, locked.planned_induction_sessions})
        fields += ["planned_induction_sessions", "review_points"]
    if target == Status.PAUSED:
        locked.paused_from = previous
        fields.append("paused_from")
    elif previous == Status.PAUSED:
        locked.paused_from = ""
        fields.append("paused_from")
    if target in (Status.COMPLETED, Status.STOPPED):
        locked.ended_at = timezone.now()
        fields.append("ended_at")
    evidence = review_status(locked).as_evidence()
    locked.status = target
    locked.status_reason = reason[:300]
    locked.save(update_fields=fields)
    _bump(locked)
    row = CourseDecision.objects.create(
        course=locked,
        at_session=sessions.sessions_held(locked),
        decision=decision,
        reason=reason,
        from_status=previous,
        to_status=target,
        decided_by=by,
        evidence=evidence,
    )
    _audit(Action.CREATE, row, locked, by, decision=decision)
    _audit(Action.UPDATE, locked, locked, by, fields=fields, to=target)
    if target in (Status.PAUSED, Status.COMPLETED, Status.STOPPED) and previous != target:
        _cancel_future(locked, by=by, why=f"{target}: {reason}")
    patient = locked.patient
    patient_status: dict[str, str] = {
        Status.MAINTENANCE: Patient.Status.MAINTENANCE,
        Status.INDUCTION: Patient.Status.IN_TREATMENT,
    }
    wanted = patient_status.get(target)
    if wanted is not None and previous != target and patient.status != wanted:
        set_status(patient, wanted, by=by, reason=f"Course: {D(decision).label.lower()}")
    _refresh(course, locked)
    return row


# --- Response evidence ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReviewStatus:
    """The response status of a course on one instrument: baseline before session 1 and the assessments since."""

    instrument: str | None
    baseline: Assessment | None
    assessments: tuple[Assessment, ...]
    trajectory: clinical.Trajectory | None
    message: str

    @property
    def has_evidence(self) -> bool:
        return self.trajectory is not None

    @property
    def instrument_name(self) -> str:
        return clinical.get_instrument(self.instrument).name if self.instrument else ""

    def as_evidence(self) -> dict[str, Any]:
        """The JSON stored with a decision (scores and dates: the decision's clinical record)."""
        if self.trajectory is None:
            return {"instrument": self.instrument, "status": None, "message": self.message}
        latest = self.trajectory.latest
        assert self.baseline is not None
        return {
            "instrument": self.instrument,
            "status": self.trajectory.status.value,
            "reason": self.trajectory.reason,
            "baseline": {"at": self.baseline.at.isoformat(), "score": self.baseline.score},
            "latest": {
                "at": self.assessments[-1].at.isoformat(),
                "score": latest.current,
                "percent_change": None if latest.percent_change is None else round(latest.percent_change, 1),
            },
            "assessments": len(self.assessments),
            "message": self.message,
        }


def course_start(course: Course) -> dt.datetime | None:
    """The start of course week 1: when session 1 began, else the first booked session, else None."""
    if course.started_at is not None:
        return course.started_at
    starts = sessions.active_starts(course)
    return min(starts) if starts else None


def review_status(course: Course) -> ReviewStatus:
    """Response evidence from ``clinical.classify_trajectory`` on the patient's PHQ-9 (else MADRS) responses.

    Baseline: the latest response before session 1; assessments: responses since. Without a baseline or a later
    assessment the status is empty, with a message saying what is missing ("not enough measures yet").
    """
    start = course_start(course)
    if start is None:
        return ReviewStatus(None, None, (), None, "Not enough measures yet: the course has not started.")
    fallback: ReviewStatus | None = None
    for instrument in REVIEW_INSTRUMENTS:
        rows = list(
            QuestionnaireResponse.objects.filter(
                patient_id=course.patient_id, instrument=instrument, total__isnull=False
            ).order_by("completed_at", "id")
        )
        if not rows:
            continue
        before = [r for r in rows if r.completed_at < start]
        after = tuple(Assessment(r.completed_at, int(r.total)) for r in rows if r.completed_at >= start)  # type: ignore[arg-type]
        name = clinical.get_instrument(instrument).name
        if not before:
            fallback = fallback or ReviewStatus(
                instrument, None, after, None, f"Not enough measures yet: no {name} baseline before session 1."
            )
            continue
        baseline = Assessment(before[-1].completed_at, int(before[-1].total))  # type: ignore[arg-type]
        if not after:
            fallback = fallback or ReviewStatus(
                instrument, baseline, (), None, f"Not enough measures yet: no {name} since session 1."
            )
            continue
        trajectory = clinical.classify_trajectory(instrument, baseline.score, after)
        return ReviewStatus(instrument, baseline, after, trajectory, f"{name}: {trajectory.reason}")
    return fallback or ReviewStatus(None, None, (), None, "Not enough measures yet: no PHQ-9 or MADRS recorded.")


def review_due(course: Course) -> int | None:
    """The first review point reached (sessions held) without a decision recorded at or after it, else None."""
    held = sessions.sessions_held(course)
    decided = {d.at_session for d in course.decisions.all()}
    latest_decision = max(decided, default=-1)
    for point in sorted(course.review_points):
        if point <= held and latest_decision < point:
            return point
    return None


# --- Planning and booking sessions ---------------------------------------------------------------------------------

#: Cancellations made by a decision (pause, complete, stop) start with this; they are not missed sessions.
DECISION_CANCEL_PREFIX = "Course "
#: How many spacing-valid alternatives to offer for a session that needs moving.
ALTERNATIVES_SHOWN = 3


def appointment_type(course: Course) -> AppointmentType:
    """The scheduling appointment type that doses the course's route; :class:`CourseError` if the clinic has none."""
    try:
        return appointment_type_for_route(course.route)
    except ValueError as error:
        raise CourseError("appointment_type", str(error).split(": ", 1)[-1]) from None


def _site_hours(course: Course) -> Any:
    """A ``day → DayHours`` reader over the site's weekly hours and closed days (read once)."""
    site = course.site
    weekly: dict[int, list[tuple[dt.time, dt.time]]] = {}
    for weekday, opens, closes in OpeningHours.objects.filter(site=site).values_list(
        "weekday", "opens_at", "closes_at"
    ):
        weekly.setdefault(weekday, []).append((opens, closes))
    closed = dict(ClosedDay.objects.filter(site=site, date__gte=timezone.localdate()).values_list("date", "reason"))

    def hours(day: dt.date) -> planning.DayHours:
        if day in closed:
            return planning.DayHours((), f"closed ({closed[day] or 'closed day'})")
        periods = tuple(sorted(weekly.get(day.weekday(), [])))
        return planning.DayHours(periods, "" if periods else "no opening hours")

    return hours


def _phase_sessions(
    course: Course, phase: clinical.Phase, starts: Sequence[dt.datetime], first: dt.datetime | None
) -> int:
    if first is None:
        return 0
    zone = course.site.zone
    return sum(1 for s in starts if s >= first and phase.covers(planning.week_of(first, s, zone)))


def plan_phase(
    course: Course,
    *,
    phase: str,
    start_date: dt.date,
    preferred_time: dt.time,
    weekdays: Sequence[int] | None = None,
    count: int | None = None,
    every_weeks: int = 1,
) -> SeriesPlan:
    """The session datetimes of ``phase`` from ``start_date`` at ``preferred_time`` (site time): reads, never writes.

    Follows the course's protocol (``effective_protocol``: the planned induction count) and the site's opening
    hours and closed days, spaced against the course's standing sessions with ``clinical.check_spacing``. ``count``
    defaults to what the phase still needs (the planned induction sessions, or the phase's total, or
    :data:`DEFAULT_LATER_PHASE_SESSIONS` for an open-ended phase). Bad input raises :class:`CourseError` naming it.
    """
    proto = effective_protocol(course)
    try:
        target = planning.find_phase(proto, phase)
    except ValueError as error:
        raise _from_core(error, "phase") from None
    zone = course.site.zone
    if start_date < timezone.now().astimezone(zone).date():
        raise CourseError("start_date", f"{start_date:%Y-%m-%d} is in the past")
    if preferred_time.minute % 15 or preferred_time.second or preferred_time.microsecond:
        raise CourseError("preferred_time", f"{preferred_time:%H:%M} is not on a quarter hour (:00, :15, :30, :45)")
    atype = appointment_type(course)
    existing = sessions.active_starts(course)
    first = course_start(course)
    if count is None:
        wanted = target.total_sessions or DEFAULT_LATER_PHASE_SESSIONS
        count = max(wanted - _phase_sessions(course, target, existing, first), 0)
        if count == 0:
            raise CourseError("phase", f"every session of the {target.name} phase is already booked")
    try:
        plan = planning.plan_series(
            proto,
            target.name,
            start_date=start_date,
            preferred_time=preferred_time,
            zone=zone,
            hours=_site_hours(course),
            count=count,
            duration=atype.total,
            weekdays=weekdays,
            every_weeks=every_weeks,
            existing=existing,
            course_start=first,
            first_number=sessions.next_sequence_number(course),
            policy=clinic_policy(course.site_id),
        )
    except ValueError as error:
        raise _from_core(error, "phase") from None
    return plan.with_type(atype.code)


def plan_from_starts(course: Course, phase: str, starts: Sequence[dt.datetime]) -> SeriesPlan:
    """A plan of chosen ``starts`` (e.g. with alternatives picked on the preview); spacing problems name ``starts``."""
    proto = effective_protocol(course)
    try:
        target = planning.find_phase(proto, phase)
    except ValueError as error:
        raise _from_core(error, "phase") from None
    if not starts:
        raise CourseError("starts", "choose at least one session time")
    atype = appointment_type(course)
    ordered = sorted(starts)
    existing = sessions.active_starts(course)
    first = course_start(course) or min([*existing, *ordered])
    number = sessions.next_sequence_number(course)
    planned = tuple(
        planning.PlannedSession(
            number + i, s, s + atype.total, planning.week_of(first, s, course.site.zone), target.name
        )
        for i, s in enumerate(ordered)
    )
    return SeriesPlan(
        protocol=proto.id,
        phase=target.name,
        zone=course.site.time_zone,
        requested=len(planned),
        sessions=planned,
        skipped=(),
        problems=(),
        course_start=first,
        duration_min=atype.total_min,
        appointment_type=atype.code,
    )


def spacing_problems(
    course: Course, starts: Sequence[dt.datetime], *, exclude: Sequence[dt.datetime] = ()
) -> dict[dt.datetime, tuple[str, ...]]:
    """Spacing problems of each of ``starts`` among the course's standing sessions (minus ``exclude``)."""
    proto = effective_protocol(course)
    existing = [s for s in sessions.active_starts(course) if s not in set(exclude)]
    everything = sorted({*existing, *starts})
    first = course.started_at or (everything[0] if everything else None)
    wanted = set(starts)
    return {
        start: problems
        for start, problems in planning.check_series(proto, everything, course_start=first, zone=course.site.zone)
        if start in wanted and problems
    }


@dataclass(frozen=True)
class BookingPreview:
    """A plan checked against the schedule: conflicts and spacing-valid alternatives per refused start."""

    plan: SeriesPlan
    conflicts_by_start: dict[dt.datetime, list[str]]
    alternatives_by_start: dict[dt.datetime, list[Slot]]
    spacing_by_start: dict[dt.datetime, tuple[str, ...]]
    rems_missing: bool

    @property
    def ok(self) -> bool:
        return not self.conflicts_by_start and not self.spacing_by_start and not self.rems_missing

    @property
    def bookable(self) -> int:
        """Sessions that can be booked as planned or at an offered alternative."""
        return sum(
            1
            for s in self.plan.sessions
            if s.start not in self.spacing_by_start
            and (s.start not in self.conflicts_by_start or self.alternatives_by_start.get(s.start))
        )


#: Days around a refused time searched for alternatives: 3 before and 14 after, nearest first.
ALTERNATIVE_DAYS = sorted(range(-3, 15), key=lambda d: (abs(d), d < 0))
#: Candidate times checked against the schedule in one call (one per day).
ALTERNATIVE_CANDIDATES = 10


def _spacing_ok(course: Course, proto: Protocol, others: Sequence[dt.datetime], candidate: dt.datetime) -> bool:
    first = course.started_at or min([*others, candidate])
    base = first if first <= candidate else None
    return planning.spacing_check(
        proto, others, candidate, course_start=base, zone=course.site.zone, policy=clinic_policy(course.site_id)
    ).ok


def _minutes(moment: dt.datetime) -> int:
    return moment.hour * 60 + moment.minute


def _candidate_starts(
    course: Course, atype: AppointmentType, target: dt.datetime, others: Sequence[dt.datetime]
) -> list[dt.datetime]:
    """One start a day near ``target`` (its wall-clock time if possible) that is open, in the future and keeps the
    protocol's spacing with ``others`` — nearest day first. Pure reasoning over the site's hours: no booking check."""
    proto = effective_protocol(course)
    zone = course.site.zone
    hours = _site_hours(course)
    now = timezone.now()
    wanted = target.astimezone(zone)
    found: list[dt.datetime] = []
    for offset in ALTERNATIVE_DAYS:
        day = wanted.date() + dt.timedelta(days=offset)
        options = [
            candidate
            for at in planning.quarter_starts(hours(day), atype.total)
            if (candidate := planning.local(day, at, zone)) > now and _spacing_ok(course, proto, others, candidate)
        ]
        if options:
            found.append(min(options, key=lambda c: abs(_minutes(c) - _minutes(wanted))))
        if len(found) >= ALTERNATIVE_CANDIDATES:
            break
    return found


def _valid_alternatives(
    course: Course, atype: AppointmentType, target: dt.datetime, others: Sequence[dt.datetime]
) -> list[Slot]:
    """The nearest times to ``target`` that keep the protocol's spacing with ``others`` *and* are free in the
    schedule (one ``scheduling.check_series`` call over the candidates, so a fixed number of queries)."""
    candidates = _candidate_starts(course, atype, target, others)
    if not candidates:
        return []
    result = check_series(patient=course.patient, appointment_type=atype, starts=candidates, course_ref=course.pk)
    return [result.slots[c] for c in candidates if c in result.slots][:ALTERNATIVES_SHOWN]


def preview_booking(course: Course, plan: SeriesPlan) -> BookingPreview:
    """What booking ``plan`` would meet: the schedule's conflicts (``scheduling.check_series``) with alternatives that
    also keep the protocol's spacing, spacing problems among the course's sessions, and a missing REMS enrolment."""
    atype = AppointmentType.objects.get(code=plan.appointment_type)
    starts = plan.starts
    spacing = spacing_problems(course, starts)
    conflicts: dict[dt.datetime, list[str]] = {}
    alternatives: dict[dt.datetime, list[Slot]] = {}
    if starts:
        result = check_series(
            patient=course.patient,
            appointment_type=atype,
            starts=starts,
            course_ref=course.pk,
            first_sequence_number=plan.first_number,
        )
        conflicts = dict(result.conflicts_by_start)
        existing = sessions.active_starts(course)
        for start in result.conflicts_by_start:
            others = [s for s in [*existing, *starts] if s != start]
            alternatives[start] = _valid_alternatives(course, atype, start, others)
    missing = course.is_esketamine and rems_enrolment(course) is None
    return BookingPreview(plan, conflicts, alternatives, spacing, missing)


def _require_bookable(course: Course) -> None:
    if course.status in (Status.COMPLETED, Status.STOPPED):
        raise CourseError("course", f"the course is {course.get_status_display().lower()}; nothing can be booked")
    if course.status == Status.PAUSED:
        raise CourseError("course", "the course is paused: resume it (a prescriber's decision) before booking")


@transaction.atomic
def book_plan(course: Course, plan: SeriesPlan, *, by: Any) -> list[Appointment]:
    """Book every session of ``plan`` in one step through ``scheduling.book_series`` (all or nothing; audited).

    Guarantees: the front desk or a prescriber at the site books; an esketamine course without a valid REMS
    enrolment is refused (:class:`RemsEnrolmentRequired`, the hard stop); sessions that break the protocol's
    spacing among the course's standing sessions are refused (:class:`CourseError` naming ``starts``); a schedule
    conflict raises ``scheduling``'s :class:`BookingConflict` with, for each refused start, the nearest alternatives
    that also keep the spacing. Nothing is half-booked.
    """
    _require(by, course.patient, Perm.MANAGE_SCHEDULE, Perm.PRESCRIBE)
    locked = Course.objects.select_for_update().select_related("patient", "site").get(pk=course.pk)
    _require_bookable(locked)
    ensure_rems(locked)
    if not plan.sessions:
        raise CourseError("starts", "the plan has no sessions to book")
    spacing = spacing_problems(locked, plan.starts)
    if spacing:
        first = min(spacing)
        when = first.astimezone(locked.site.zone)
        raise CourseError("starts", f"the session on {when:%a %Y-%m-%d %H:%M} breaks the protocol: {spacing[first][0]}")
    atype = AppointmentType.objects.get(code=plan.appointment_type)
    try:
        booked = book_series(
            patient=locked.patient,
            appointment_type=atype,
            starts=plan.starts,
            by=by,
            course_ref=locked.pk,
            first_sequence_number=plan.first_number,
        )
    except BookingConflict as conflict:
        existing = sessions.active_starts(locked)
        filtered = {
            start: _valid_alternatives(locked, atype, start, [s for s in [*existing, *plan.starts] if s != start])
            for start in conflict.conflicts_by_start
        }
        first_refused = min(filtered) if filtered else None
        raise BookingConflict(
            conflict.message,
            conflict.conflicts,
            filtered.get(first_refused, []) if first_refused else [],
            alternatives_by_start=filtered,
            conflicts_by_start=conflict.conflicts_by_start,
        ) from None
    _audit(
        Action.UPDATE,
        locked,
        locked,
        by,
        event="sessions_booked",
        phase=plan.phase,
        appointments=[a.pk for a in booked],
    )
    return booked


# --- When the calendar changes -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReplanItem:
    """A standing session after a move: its spacing problems and, if any, the nearest valid times."""

    appointment: Appointment
    problems: tuple[str, ...]
    alternatives: tuple[Slot, ...] = ()

    @property
    def needs_moving(self) -> bool:
        return bool(self.problems)


@dataclass(frozen=True)
class Replan:
    """The course's remaining sessions re-checked after ``moved`` changed time."""

    moved: Appointment
    items: tuple[ReplanItem, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return not any(i.needs_moving for i in self.items)

    @property
    def to_move(self) -> list[ReplanItem]:
        return [i for i in self.items if i.needs_moving]


def _nearest_valid(course: Course, appointment: Appointment, others: Sequence[dt.datetime]) -> list[Slot]:
    """Bookable times near ``appointment`` that keep the spacing with ``others``."""
    return _valid_alternatives(course, appointment.appointment_type, appointment.starts_at, others)


def replan_after_move(course: Course, moved_appointment: Appointment) -> Replan:
    """Re-check the spacing of the course's sessions from the moved one on; offer the nearest valid times for any
    that now need moving (reads only)."""
    standing = list(sessions.holding(course))
    proto = effective_protocol(course)
    starts = [a.starts_at for a in standing]
    first = course.started_at or (min(starts) if starts else None)
    checked = dict(planning.check_series(proto, starts, course_start=first, zone=course.site.zone))
    items = []
    for appointment in standing:
        if appointment.starts_at < moved_appointment.starts_at and appointment.pk != moved_appointment.pk:
            continue
        problems = checked.get(appointment.starts_at, ())
        alternatives: tuple[Slot, ...] = ()
        if problems:
            others = [s for s in starts if s != appointment.starts_at]
            alternatives = tuple(_nearest_valid(course, appointment, others))
        items.append(ReplanItem(appointment, tuple(problems), alternatives))
    return Replan(moved_appointment, tuple(items))


def _course_appointment(course: Course, appointment: Appointment) -> Appointment:
    if appointment.course_ref != course.pk or appointment.patient_id != course.patient_id:
        raise CourseError("appointment", "this appointment is not a session of the course")
    return appointment


@transaction.atomic
def move_session(
    course: Course,
    appointment: Appointment,
    *,
    new_start: dt.datetime,
    by: Any,
    expected_version: int | None = None,
) -> Replan:
    """Move one session (``scheduling.move_appointment``) and re-check the rest (:func:`replan_after_move`).

    A new time that breaks the spacing with an earlier session is refused (:class:`CourseError` naming
    ``new_start``, with the nearest valid times); one that crowds later sessions is allowed and the replan says
    which of them need moving. Schedule conflicts raise ``BookingConflict``; a stale version
    ``StaleAppointmentError``.
    """
    _require(by, course.patient, Perm.MANAGE_SCHEDULE, Perm.PRESCRIBE)
    _course_appointment(course, appointment)
    _require_bookable(course)
    proto = effective_protocol(course)
    standing = [a for a in sessions.holding(course) if a.pk != appointment.pk]
    earlier = [a.starts_at for a in standing if a.starts_at <= new_start]
    first = course.started_at or min([*earlier, new_start])
    if new_start >= first:
        check = planning.spacing_check(
            proto, earlier, new_start, course_start=first, zone=course.site.zone, policy=clinic_policy(course.site_id)
        )
        problems = list(check.problems)
    else:
        problems = ["it would come before the start of the course"]
    if problems:
        others = [a.starts_at for a in standing]
        nearest = _nearest_valid(course, appointment, others)
        zone = course.site.zone
        offer = ", ".join(f"{s.start.astimezone(zone):%a %Y-%m-%d %H:%M}" for s in nearest) or "none found"
        raise CourseError("new_start", f"{problems[0]} Nearest valid times: {offer}.")
    moved = move_appointment(appointment, new_start=new_start, by=by, expected_version=expected_version)
    return replan_after_move(course, moved)


def _missed_rule(course: Course, appointment: Appointment, worsening: bool | None) -> tuple[int, str, str, str, str]:
    """(course week, phase, rule, guidance, suggestion) for a missed session of ``course``."""
    proto = effective_protocol(course)
    first = course_start(course) or appointment.starts_at
    week = max(planning.week_of(first, appointment.starts_at, course.site.zone), 1)
    phase = clinical.phase_for_week(proto, week)
    phase_name = phase.name if phase else ""
    in_first_phase = phase is not None and phase == proto.phases[0]
    if proto.drug is Drug.ESKETAMINE:
        if in_first_phase:
            return (
                week,
                phase_name,
                RULE_MISSED_ESKETAMINE,
                f"Missed in course week {week} (weeks 1–4): continue the current twice-weekly schedule; no catch-up "
                "dose is added (R6).",
                "",
            )
        guidance = f"Missed during maintenance (course week {week}): continue the current schedule (R6)."
        if worsening:
            suggestion = (
                "The patient is worse: consider returning to the previous, more frequent schedule (for example "
                "weekly → twice weekly, or every 2 weeks → weekly). The prescriber decides (R6)."
            )
        elif worsening is None:
            suggestion = (
                "Ask whether the patient is worse: with worsening, consider returning to the previous schedule (R6)."
            )
        else:
            suggestion = ""
        return week, phase_name, RULE_MISSED_ESKETAMINE, guidance, suggestion
    standing = [a for a in sessions.holding(course) if a.pk != appointment.pk]
    starts = [a.starts_at for a in standing]
    later = [a for a in standing if a.starts_at > appointment.starts_at]
    first_start = course.started_at or (min(starts) if starts else None)
    checked = dict(planning.check_series(proto, starts, course_start=first_start, zone=course.site.zone))
    crowded = [a for a in later if checked.get(a.starts_at)]
    guidance = "The series continues: the remaining sessions keep their times" + (
        f"; {len(crowded)} of them now break the spacing and need moving." if crowded else " and keep the spacing."
    )
    suggestion = ""
    if in_first_phase:
        in_phase = _phase_sessions(course, proto.phases[0], starts, first_start)
        planned = course.planned_induction_sessions
        if in_phase < planned:
            suggestion = (
                f"Induction now has {in_phase} of {planned} sessions: book a replacement after the last one to "
                "complete it."
            )
    return week, phase_name, RULE_MISSED_SPACING, guidance, suggestion


@transaction.atomic
def record_missed_session(
    course: Course, appointment: Appointment, *, by: Any, worsening: bool | None = None
) -> MissedSession:
    """Apply the protocol's rule to a cancelled or no-show session of the course and record it (audited).

    Esketamine (R6): missed in weeks 1–4 → continue the schedule; missed in maintenance → continue, and with
    worsening a suggestion to return to the previous frequency (and a task for the prescriber). Racemic courses: the
    series continues and the spacing of the remaining sessions is re-checked; an induction short of its planned
    sessions is told to book a replacement. One record per appointment (a second call returns the first).
    """
    _require(by, course.patient, Perm.MANAGE_SCHEDULE, Perm.PRESCRIBE, Perm.RECORD_SESSION)
    _course_appointment(course, appointment)
    existing = MissedSession.objects.filter(appointment_ref=appointment.pk).first()
    if existing is not None:
        return existing
    kinds: dict[str, str] = {
        Appointment.Status.CANCELLED: MissedSession.Kind.CANCELLED,
        Appointment.Status.NO_SHOW: MissedSession.Kind.MISSED,
    }
    if appointment.status not in kinds:
        raise CourseError("appointment", "only a cancelled or missed (no-show) session can be recorded as missed")
    week, phase, rule, guidance, suggestion = _missed_rule(course, appointment, worsening)
    row = MissedSession.objects.create(
        course=course,
        appointment_ref=appointment.pk,
        sequence_number=appointment.sequence_number,
        scheduled_for=appointment.starts_at,
        kind=kinds[appointment.status],
        course_week=week,
        phase=phase,
        worsening=worsening,
        rule=rule,
        guidance=guidance,
        suggestion=suggestion,
        recorded_by=by,
    )
    _audit(Action.CREATE, row, course, by, appointment=appointment.pk, rule=rule)
    if worsening and course.is_esketamine and rule == RULE_MISSED_ESKETAMINE and suggestion:
        raise_task(
            course.patient,
            kind=Task.Kind.OTHER,
            title="Missed esketamine maintenance session with worsening: review the schedule",
            priority=Task.Priority.HIGH,
            by=by,
            source_type="courses.missed_session",
            source_id=course.pk,
        )
    return row


@transaction.atomic
def cancel_session(
    course: Course, appointment: Appointment, *, by: Any, reason: str, worsening: bool | None = None
) -> MissedSession:
    """Cancel a session of the course (``scheduling.cancel_appointment``) and apply the missed-session rule."""
    _require(by, course.patient, Perm.MANAGE_SCHEDULE, Perm.PRESCRIBE)
    _course_appointment(course, appointment)
    try:
        cancelled = cancel_appointment(appointment, by=by, reason=reason)
    except ValueError as error:
        raise _from_core(error, "reason") from None
    return record_missed_session(course, cancelled, by=by, worsening=worsening)


@transaction.atomic
def mark_session_missed(
    course: Course, appointment: Appointment, *, by: Any, worsening: bool | None = None
) -> MissedSession:
    """Record a no-show (``scheduling.mark_no_show``) for a session of the course and apply the missed-session rule."""
    _require(by, course.patient, Perm.MANAGE_SCHEDULE, Perm.PRESCRIBE, Perm.RECORD_SESSION)
    _course_appointment(course, appointment)
    try:
        missed = mark_no_show(appointment, by=by)
    except ValueError as error:
        raise _from_core(error, "appointment") from None
    return record_missed_session(course, missed, by=by, worsening=worsening)


def needs_missed_rule(course: Course) -> list[Appointment]:
    """Cancelled or no-show sessions of the course with no missed-session record (cancelled elsewhere), excluding
    the ones a decision cancelled."""
    recorded = set(MissedSession.objects.filter(course=course).values_list("appointment_ref", flat=True))
    return [
        a
        for a in sessions.appointments(course).filter(
            status__in=[Appointment.Status.CANCELLED, Appointment.Status.NO_SHOW]
        )
        if a.pk not in recorded and not a.cancel_reason.startswith(DECISION_CANCEL_PREFIX)
    ]


def _cancel_future(course: Course, *, by: Any, why: str) -> list[int]:
    """Cancel the course's booked sessions that have not started (a pause, completion or stop)."""
    ids = []
    for appointment in sessions.holding(course).filter(status=Appointment.Status.BOOKED, starts_at__gte=timezone.now()):
        cancel_appointment(appointment, by=by, reason=f"{DECISION_CANCEL_PREFIX}{why}"[:300])
        ids.append(appointment.pk)
    return ids
