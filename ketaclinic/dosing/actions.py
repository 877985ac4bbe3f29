"""Session-day actions: open a session, check in, record baseline vitals and the pre-session screen, run the pre-dose
gate, confirm a review, override a hold. Each is atomic, saves with ``update_fields`` and audits in the same
transaction.

The gate (:func:`run_predose_gate`) combines three sources of findings, each kept with its source:

* ``clinical.predose_check`` on the latest baseline vitals and the patient's screening precautions;
* the check-in (positive pregnancy test, no valid consent, no escort, fasting not long enough → hold; benzodiazepine
  not held as ordered, new medicines or substances → review);
* the pre-session screen: a positive PHQ-9 item 9 or C-SSRS screen (which opens an urgent suicide-risk task through
  ``measures.actions.record_response``) gives a ``review`` finding while that task is open, unless a prescriber has
  confirmed or overridden with a written reason since the screen was taken. The session therefore cannot be cleared
  until the task is closed and the gate re-run, or a prescriber confirms.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.utils import timezone

from ketaclinic import clinical
from ketaclinic.accounts.clinic_policy import clinic_policy
from ketaclinic.accounts.roles import Perm
from ketaclinic.audit.actions import record
from ketaclinic.audit.models import AuditEvent
from ketaclinic.clinical.eligibility import Condition
from ketaclinic.clinical.safety import R_DISCHARGE_ESCORT, R_FASTING, fasting_check
from ketaclinic.clinical.vitals import Vital, validate_vitals, validate_weight_kg
from ketaclinic.consents.actions import valid_consent
from ketaclinic.consents.models import Consent
from ketaclinic.courses.models import Course
from ketaclinic.dosing.models import (
    GATE_STATES,
    MIN_REASON_CHARS,
    CheckIn,
    DosingSession,
    HoldOverride,
    PredoseDecision,
    PredoseScreen,
    SessionState,
    VitalSign,
)
from ketaclinic.measures.actions import record_response, suicide_task_priority
from ketaclinic.measures.models import QuestionnaireResponse
from ketaclinic.scheduling import actions as scheduling
from ketaclinic.scheduling.models import Appointment
from ketaclinic.screening.actions import current_precautions
from ketaclinic.tasks.models import Task

Action = AuditEvent.Action
S = SessionState
LEVELS = ("go", "review", "hold")
#: Vital signs the session form stores (temperature is not taken at the chair).
STORED_VITALS = (Vital.SYSTOLIC, Vital.DIASTOLIC, Vital.HEART_RATE, Vital.SPO2, Vital.RESP_RATE)
REQUIRED_VITALS = (Vital.SYSTOLIC, Vital.DIASTOLIC, Vital.HEART_RATE, Vital.SPO2)
CONSENT_KIND = {"esketamine_nasal": Consent.Kind.ESKETAMINE_REMS}
_CONDITION_PREFIX = "eligibility.condition."
#: Findings no override can set aside: dosing without the patient's valid consent (for esketamine, the REMS
#: enrolment) is not a clinical judgement. Record the consent and re-run the gate instead.
HARD_STOPS = frozenset({"dosing.consent"})


class DosingError(ValueError):
    """A refused session-day action: ``field`` names what is wrong, ``message`` says what is allowed."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class StaleSessionError(Exception):
    """The session changed since the screen was loaded (another nurse saved first)."""

    def __init__(self, session: DosingSession) -> None:
        super().__init__(f"session {session.pk} changed since you loaded it (now version {session.version})")
        self.session = session


def _from_core(error: ValueError) -> DosingError:
    """A clinical-core ``ValueError`` ("field: message") as a :class:`DosingError`."""
    field, _, message = str(error).partition(": ")
    return DosingError(field, message) if message else DosingError("__all__", field)


def _require(by: Any, perm: Perm) -> None:
    if not by.can(perm):
        raise PermissionDenied(f"Your role does not allow this: {perm.label.lower()}.")


def _locked(session: DosingSession, version: int | None) -> DosingSession:
    """The session re-read under a row lock; :class:`StaleSessionError` if ``version`` is given and out of date."""
    fresh = (
        DosingSession.objects.select_for_update().select_related("patient", "site", "appointment").get(pk=session.pk)
    )
    if version is not None and int(version) != fresh.version:
        raise StaleSessionError(fresh)
    return fresh


def _move(session: DosingSession, state: str) -> None:
    """Set ``state`` if the transitions table allows it, else ``ValueError`` (a same-state move is a no-op)."""
    if state == session.state:
        return
    if not session.can_become(state):
        raise ValueError(f"state: a session cannot go from {session.state} to {state}")
    session.state = state


def _save(session: DosingSession, *fields: str) -> None:
    session.version += 1
    session.save(update_fields=["version", *fields])


def _audit(action: str, obj: Any, session: DosingSession, by: Any, **detail: Any) -> None:
    record(action, obj=obj, patient_id=session.patient_id, site=session.site, user=by, detail=detail)


def consent_kind(route: str) -> str:
    """The consent a route needs before dosing: the REMS enrolment for esketamine, ketamine treatment otherwise."""
    return CONSENT_KIND.get(route, Consent.Kind.KETAMINE_TREATMENT)


@transaction.atomic
def open_session(appointment: Appointment, *, by: Any) -> DosingSession:
    """The dosing session of ``appointment`` (created on first call; later calls return the same session).

    Only a booked or checked-in dosing appointment can be opened; the route is the course's, else the type's. The
    session starts ``booked`` even when the front desk already checked the appointment in: the nurse's checklist
    (:func:`check_in`) is what checks the session in.
    """
    _require(by, Perm.RECORD_SESSION)
    existing = DosingSession.objects.filter(appointment=appointment).first()
    if existing is not None:
        return existing
    appointment = Appointment.objects.select_for_update().select_related("appointment_type").get(pk=appointment.pk)
    if not appointment.appointment_type.is_dosing:
        raise DosingError("appointment", "not a dosing appointment")
    if appointment.status not in (Appointment.Status.BOOKED, Appointment.Status.CHECKED_IN):
        raise DosingError("appointment", f"a {appointment.get_status_display().lower()} appointment has no session")
    course = Course.objects.filter(pk=appointment.course_ref).first() if appointment.course_ref else None
    route = course.route if course is not None else appointment.appointment_type.route
    try:
        with transaction.atomic():
            session = DosingSession.objects.create(
                appointment=appointment,
                patient_id=appointment.patient_id,
                site_id=appointment.site_id,
                course_ref=appointment.course_ref,
                sequence_number=appointment.sequence_number,
                route=route,
                state=S.BOOKED,
                opened_by=by,
            )
    except IntegrityError:  # pragma: no cover - a concurrent open won the race
        return DosingSession.objects.get(appointment=appointment)
    _audit(Action.CREATE, session, session, by, appointment_id=appointment.pk)
    return session


def _aware_past(field: str, value: Any, now: dt.datetime) -> dt.datetime | None:
    if value in (None, ""):
        return None
    if not isinstance(value, dt.datetime) or value.utcoffset() is None:
        raise DosingError(field, "a date and time is needed")
    if value > now:
        raise DosingError(field, "cannot be in the future")
    return value


@transaction.atomic
def check_in(
    session: DosingSession,
    *,
    by: Any,
    identity_confirmed: bool,
    weight_kg: Decimal | float | int,
    pregnancy_test: str,
    benzodiazepine_held: str,
    last_food_at: dt.datetime | None = None,
    last_liquid_at: dt.datetime | None = None,
    escort_name: str = "",
    escort_phone: str = "",
    escort_confirmed: bool = False,
    new_medications_or_substances: bool = False,
    new_medications_text: str = "",
    version: int | None = None,
) -> CheckIn:
    """Record the arrival checklist and check the patient (and their appointment) in.

    Refused with :class:`DosingError` naming the field: identity not confirmed, a weight outside 0–350 kg, an unknown
    pregnancy-test or benzodiazepine answer, new medicines without a description, a confirmed escort without a name
    and phone, fasting times in the future. Findings (positive pregnancy test, fasting, escort, consent) are the
    gate's to weigh, not reasons to refuse check-in.
    """
    _require(by, Perm.RECORD_SESSION)
    session = _locked(session, version)
    now = timezone.now()
    if session.state != S.BOOKED:
        raise DosingError("state", f"the session is already {session.get_state_display().lower()}")
    if not identity_confirmed:
        raise DosingError("identity_confirmed", "confirm the patient's identity with two identifiers first")
    try:
        weight = Decimal(str(validate_weight_kg(float(weight_kg)))).quantize(Decimal("0.1"))
    except (TypeError, ValueError) as error:
        raise DosingError("weight_kg", "must be above 0 and at most 350 kg") from error
    if pregnancy_test not in CheckIn.PregnancyTest.values:
        raise DosingError("pregnancy_test", f"one of {', '.join(CheckIn.PregnancyTest.values)}")
    if benzodiazepine_held not in CheckIn.BenzodiazepineHold.values:
        raise DosingError("benzodiazepine_held", f"one of {', '.join(CheckIn.BenzodiazepineHold.values)}")
    if new_medications_or_substances and not new_medications_text.strip():
        raise DosingError("new_medications_text", "describe the new medicines or substances")
    if escort_confirmed and not (escort_name.strip() and escort_phone.strip()):
        raise DosingError("escort_name", "a confirmed escort needs a name and a phone number")
    food = _aware_past("last_food_at", last_food_at, now)
    liquid = _aware_past("last_liquid_at", last_liquid_at, now)
    appointment = session.appointment
    if appointment.status == Appointment.Status.BOOKED:
        try:
            scheduling.check_in(appointment, by=by)
        except ValueError as error:
            raise DosingError("appointment", str(error)) from error
    checkin = CheckIn.objects.create(
        session=session,
        identity_confirmed=True,
        weight_kg=weight,
        last_food_at=food,
        last_liquid_at=liquid,
        escort_name=escort_name.strip(),
        escort_phone=escort_phone.strip(),
        escort_confirmed=escort_confirmed,
        pregnancy_test=pregnancy_test,
        new_medications_or_substances=new_medications_or_substances,
        new_medications_text=new_medications_text.strip() if new_medications_or_substances else "",
        benzodiazepine_held=benzodiazepine_held,
        consent_valid=valid_consent(session.patient, consent_kind(session.route), now) is not None,
        completed_by=by,
        completed_at=now,
    )
    _move(session, S.CHECKED_IN)
    session.checked_in_at, session.checked_in_by = now, by
    _save(session, "state", "checked_in_at", "checked_in_by")
    _audit(Action.CREATE, checkin, session, by)
    return checkin


@transaction.atomic
def record_baseline_vitals(
    session: DosingSession,
    *,
    by: Any,
    vitals: Mapping[str, Any],
    source: str = VitalSign.Source.TYPED,
    version: int | None = None,
) -> VitalSign:
    """Store the pre-dose vital signs (systolic, diastolic, heart rate, SpO2 required; respiratory rate optional).

    Implausible readings are refused with :class:`DosingError` naming the field and the allowed range (the
    clinical core's plausibility limits); alarming but plausible readings are stored for the gate to weigh. A new
    baseline after a gate decision means the gate must be run again before dosing (:func:`dosing_allowed`).
    """
    _require(by, Perm.RECORD_SESSION)
    session = _locked(session, version)
    if session.state not in GATE_STATES:
        raise DosingError("state", "baseline vitals are taken after check-in and before the dose")
    given = {k: v for k, v in vitals.items() if v not in (None, "")}
    for name in given:
        if name not in STORED_VITALS:
            raise DosingError(name, f"not a vital sign of this form; use {', '.join(STORED_VITALS)}")
    for vital in REQUIRED_VITALS:
        if vital not in given:
            raise DosingError(vital, "required before dosing")
    try:
        checked = validate_vitals(given)
    except ValueError as error:
        raise _from_core(error) from error
    for vital, value in checked.items():
        if value != int(value):
            raise DosingError(vital, "a whole number")
    if source not in VitalSign.Source.values:
        raise DosingError("source", f"one of {', '.join(VitalSign.Source.values)}")
    sign = VitalSign.objects.create(
        session=session,
        recorded_at=timezone.now(),
        recorded_by=by,
        source=source,
        is_baseline=True,
        **{str(vital): int(value) for vital, value in checked.items()},
    )
    _save(session)
    _audit(Action.CREATE, sign, session, by)
    return sign


def latest_baseline(session: DosingSession) -> VitalSign | None:
    return session.vitals.filter(is_baseline=True).order_by("-recorded_at", "-id").first()


def latest_decision(session: DosingSession) -> PredoseDecision | None:
    return session.decisions.order_by("-decided_at", "-id").first()


def _finding(code: str, level: str, message: str, source: str, citations: Any = ()) -> dict[str, Any]:
    return {
        "code": code,
        "level": level,
        "message": message,
        "citations": [str(c) for c in citations],
        "source": source,
    }


def _precaution_conditions(session: DosingSession) -> list[str]:
    """The screening precautions in force that name a clinical condition (what ``predose_check`` understands)."""
    known = {c.value for c in Condition}
    codes = [p.get("code", "") for p in current_precautions(session.patient, session.route)]
    return sorted({c.removeprefix(_CONDITION_PREFIX) for c in codes if c.removeprefix(_CONDITION_PREFIX) in known})


def checkin_findings(session: DosingSession, checkin: CheckIn, now: dt.datetime) -> list[dict[str, Any]]:
    """What the check-in adds to the gate (source ``check-in``)."""
    out: list[dict[str, Any]] = []
    src = "check-in"
    if checkin.pregnancy_test == CheckIn.PregnancyTest.POSITIVE:
        out.append(_finding("dosing.pregnancy_positive", "hold", "Positive pregnancy test: do not dose.", src))
    if valid_consent(session.patient, consent_kind(session.route), now) is None:
        kind = Consent.Kind(consent_kind(session.route)).label
        out.append(_finding("dosing.consent", "hold", f"No valid consent on file: {kind}.", src))
    if not checkin.escort_confirmed:
        out.append(
            _finding(
                "dosing.escort",
                "hold",
                "No escort confirmed: the patient must be accompanied home by a responsible adult.",
                src,
                R_DISCHARGE_ESCORT.citations,
            )
        )
    fasting = fasting_check(
        dose_at=now,
        last_food_at=checkin.last_food_at,
        last_liquid_at=checkin.last_liquid_at,
        policy=clinic_policy(session.site_id),
    )
    if not fasting.ok:
        when = (
            f" Earliest dose: {timezone.localtime(fasting.earliest_dose_at, session.site.zone):%H:%M}."
            if fasting.earliest_dose_at
            else ""
        )
        out.append(_finding(R_FASTING.id, "hold", " ".join(fasting.problems) + when, src, R_FASTING.citations))
    if checkin.benzodiazepine_held == CheckIn.BenzodiazepineHold.NO:
        out.append(
            _finding(
                "dosing.benzodiazepine_not_held",
                "review",
                "The ordered benzodiazepine hold was not kept: a prescriber must review.",
                src,
            )
        )
    if checkin.new_medications_or_substances:
        out.append(
            _finding(
                "dosing.new_medications",
                "review",
                "New medicines or substances since the last visit: a prescriber must review interactions.",
                src,
            )
        )
    return out


def open_screen_tasks(session: DosingSession) -> list[Task]:
    """Open suicide-risk tasks raised by this session's positive pre-session screens that no prescriber has
    confirmed since (a confirmation or override written after the screen was taken)."""
    tasks: list[Task] = []
    for screen in session.screens.filter(positive=True):
        if session.overrides.filter(at__gte=screen.recorded_at).exists():
            continue
        tasks.extend(
            Task.objects.filter(
                kind=Task.Kind.SUICIDE_RISK,
                status=Task.Status.OPEN,
                source_type="measures.questionnaireresponse",
                source_id=str(screen.response_id),
            )
        )
    return tasks


#: The pre-session screen's instruments, taken at the clinic or through the portal that morning.
SCREEN_INSTRUMENTS = ("phq9", "cssrs_screener")


def link_portal_screens(session: DosingSession, now: dt.datetime) -> list[PredoseScreen]:
    """Link the PHQ-9 and C-SSRS screener the patient completed through the portal today (site-local day, before
    ``now``) to the session, so a positive one gates the dose exactly like one taken at the clinic."""
    zone = session.site.zone
    day_start = dt.datetime.combine(now.astimezone(zone).date(), dt.time(0), tzinfo=zone)
    linked = session.screens.values_list("response_id", flat=True)
    responses = QuestionnaireResponse.objects.filter(
        patient_id=session.patient_id,
        instrument__in=SCREEN_INSTRUMENTS,
        channel=QuestionnaireResponse.Channel.PORTAL,
        completed_at__gte=day_start,
        completed_at__lte=now,
    ).exclude(pk__in=linked)
    return [
        PredoseScreen.objects.create(
            session=session,
            response=response,
            positive=suicide_task_priority(response.flags) is not None,
            recorded_at=response.completed_at,
        )
        for response in responses.order_by("completed_at", "pk")
    ]


def _gate(session: DosingSession, by: Any) -> PredoseDecision:
    link_portal_screens(session, timezone.now())
    baseline = latest_baseline(session)
    checkin = CheckIn.objects.filter(session=session).first()
    if checkin is None:
        raise DosingError("checkin", "complete the check-in first")
    if baseline is None:
        raise DosingError("vitals", "record the baseline vital signs first")
    now = timezone.now()
    result = clinical.predose_check(
        session.route,
        baseline.as_mapping(),
        precautions=_precaution_conditions(session),
        policy=clinic_policy(session.site_id),
    )
    findings = [
        _finding(f.code, f.level.value, f.message, "clinical.predose_check", f.citations) for f in result.findings
    ]
    findings += checkin_findings(session, checkin, now)
    if open_screen_tasks(session):
        findings.append(
            _finding(
                "dosing.suicide_screen",
                "review",
                "Positive pre-session suicide screen: close the suicide-risk task, or a prescriber must confirm "
                "with a reason, before dosing.",
                "pre-session screen",
            )
        )
    findings.sort(key=lambda f: -LEVELS.index(f["level"]))
    level = max((f["level"] for f in findings), key=LEVELS.index, default="go")
    decision = PredoseDecision.objects.create(
        session=session, decision=level, findings=findings, baseline=baseline, decided_by=by, decided_at=now
    )
    _move(session, {"go": S.CLEARED, "review": S.REVIEW, "hold": S.ON_HOLD}[level])
    _save(session, "state")
    _audit(Action.CREATE, decision, session, by, decision=level, codes=[f["code"] for f in findings])
    return decision


@transaction.atomic
def run_predose_gate(session: DosingSession, *, by: Any, version: int | None = None) -> PredoseDecision:
    """Run the pre-dose gate on the latest baseline: go → cleared; review → review (a prescriber confirms);
    hold → on hold (dosing blocked; only a prescriber's override clears it). May be re-run (new vitals, a closed
    task, fasting time passed)."""
    _require(by, Perm.RECORD_SESSION)
    session = _locked(session, version)
    if session.state not in GATE_STATES:
        raise DosingError("state", f"the gate runs after check-in and before the dose (now {session.state})")
    return _gate(session, by)


def _reason(reason: str) -> str:
    text = (reason or "").strip()
    if len(text) < MIN_REASON_CHARS:
        raise DosingError("reason", f"write at least {MIN_REASON_CHARS} characters (got {len(text)})")
    return text


@transaction.atomic
def confirm_review(session: DosingSession, *, by: Any, reason: str, version: int | None = None) -> HoldOverride:
    """A prescriber confirms dosing despite the gate's review findings, with a written reason: review → cleared."""
    _require(by, Perm.PRESCRIBE)
    session = _locked(session, version)
    if session.state != S.REVIEW:
        raise DosingError("state", "only a session awaiting review can be confirmed")
    text = _reason(reason)
    decision = latest_decision(session)
    assert decision is not None  # a session reaches review only through the gate
    confirmation = HoldOverride.objects.create(
        session=session, decision=decision, kind=HoldOverride.Kind.REVIEW_CONFIRMED, prescriber=by, reason=text
    )
    _move(session, S.CLEARED)
    _save(session, "state")
    _audit(Action.SIGN, confirmation, session, by, decision_id=decision.pk)
    return confirmation


@transaction.atomic
def override_hold(session: DosingSession, *, by: Any, reason: str, version: int | None = None) -> HoldOverride:
    """A prescriber overrides a hold with a written reason (≥ 20 characters): on hold → cleared, audited as an
    override in the same transaction. Refused (``PermissionDenied``) for anyone without the override capability, and
    refused for a hard stop (:data:`HARD_STOPS`: no valid consent)."""
    _require(by, Perm.OVERRIDE_HOLD)
    session = _locked(session, version)
    if session.state != S.ON_HOLD:
        raise DosingError("state", "only a session on hold can be overridden")
    decision = latest_decision(session)
    assert decision is not None  # a session reaches on_hold only through the gate
    hard = [f["message"] for f in decision.findings if f["code"] in HARD_STOPS]
    if hard:
        raise DosingError("decision", f"cannot be overridden: {' '.join(hard)} Record it, then run the gate again")
    text = _reason(reason)
    override = HoldOverride.objects.create(
        session=session, decision=decision, kind=HoldOverride.Kind.HOLD_OVERRIDE, prescriber=by, reason=text
    )
    _move(session, S.CLEARED)
    _save(session, "state")
    _audit(
        Action.OVERRIDE,
        override,
        session,
        by,
        decision_id=decision.pk,
        codes=[f["code"] for f in decision.findings if f["level"] == "hold"],
    )
    return override


@transaction.atomic
def record_predose_screen(
    session: DosingSession,
    *,
    by: Any,
    phq9_answers: Any,
    cssrs_answers: Any,
    version: int | None = None,
) -> list[PredoseScreen]:
    """Store the pre-session PHQ-9 and C-SSRS screener (channel ``clinic``) and link them to the session.

    A positive screen raises the urgent suicide-risk task (``record_response`` does) and, if the gate has already
    run, re-runs it so the session moves to review. Invalid answers raise :class:`DosingError` naming the item.
    """
    _require(by, Perm.RECORD_SESSION)
    session = _locked(session, version)
    if session.state not in (S.BOOKED, *GATE_STATES):
        raise DosingError("state", "the pre-session screen is taken before the dose")
    screens = []
    for instrument, answers in zip(SCREEN_INSTRUMENTS, (phq9_answers, cssrs_answers), strict=True):
        try:
            response = record_response(
                session.patient, instrument, answers, respondent="patient", channel="clinic", by=by
            )
        except ValueError as error:
            raise _from_core(error) from error
        screens.append(
            PredoseScreen.objects.create(
                session=session, response=response, positive=suicide_task_priority(response.flags) is not None
            )
        )
    _save(session)
    if any(s.positive for s in screens) and session.state in (S.CLEARED, S.REVIEW, S.ON_HOLD):
        _gate(session, by)
    return screens


def dosing_allowed(session: DosingSession) -> bool:
    """True when a dose may start: cleared, on a decision made on the latest baseline, no unconfirmed screen."""
    if session.state != S.CLEARED:
        return False
    decision, baseline = latest_decision(session), latest_baseline(session)
    if decision is None or baseline is None or decision.baseline_id != baseline.pk:
        return False
    return not open_screen_tasks(session)


@transaction.atomic
def cancel_session(session: DosingSession, *, by: Any, reason: str, version: int | None = None) -> DosingSession:
    """Cancel a session before the dose (booked, checked in, cleared, review or on hold), saying why; the
    appointment is cancelled with it so its chair is free again. A session that has started dosing cannot be
    cancelled (it is discharged instead)."""
    _require(by, Perm.RECORD_SESSION)
    session = _locked(session, version)
    if not session.can_become(S.CANCELLED):
        raise DosingError("state", f"a session that is {session.get_state_display().lower()} cannot be cancelled")
    # The session moves first, so the appointment's own signal finds it already cancelled.
    _move(session, S.CANCELLED)
    _save(session, "state")
    appointment = session.appointment
    if appointment.is_active:
        try:
            scheduling.cancel_appointment(appointment, by=by, reason=reason)
        except ValueError as error:
            raise _from_core(error) from error
    _audit(Action.UPDATE, session, session, by, state=S.CANCELLED)
    return session


@transaction.atomic
def mark_no_show(session: DosingSession, *, by: Any, version: int | None = None) -> DosingSession:
    """The patient did not come: a booked session (and its appointment, once its time has begun) becomes a no-show."""
    _require(by, Perm.RECORD_SESSION)
    session = _locked(session, version)
    if not session.can_become(S.NO_SHOW):
        raise DosingError("state", f"a session that is {session.get_state_display().lower()} cannot be a no-show")
    _move(session, S.NO_SHOW)
    _save(session, "state")
    appointment = session.appointment
    if appointment.status == Appointment.Status.BOOKED:
        try:
            scheduling.mark_no_show(appointment, by=by)
        except ValueError as error:
            raise DosingError("appointment", str(error)) from error
    _audit(Action.UPDATE, session, session, by, state=S.NO_SHOW)
    return session
