"""Today's session day at Riverside: a dosing session in every state, around the moment the demo is seeded.

The day board needs a live day, and a demo is seeded at any hour, so today's sessions are placed relative to *now*
(even outside the clinic's opening hours): an esketamine session discharged three hours ago with its REMS form due,
an IV infusion ready for discharge, an esketamine session in monitoring whose 40-minute blood pressure raised an
alert nobody has acknowledged yet (the one open alert), an infusion running, sessions cleared, awaiting a
prescriber's review and on hold for a blood pressure of 186/102, one checked in, a no-show, a cancellation, later
arrivals, and an esketamine patient who left against medical advice at 70 minutes (the prescriber's follow-up call
is on the task list; the REMS form records the 70 minutes). Controlled-drug stock is received first (a ketamine lot
and an esketamine lot) so the doses draw from it.

Every step goes through the session-day actions, so the audit trail, the stock log and the alerts are real. The
actions do not accept times in the past for everything (the gate and the check-in happen "now"), so after each
step its rows are moved back to the time the step belongs to in the story (:func:`_at`); the audit trail keeps the
real time of seeding. Each patient gets a course of their own (opened, consented and started through the courses
actions) from the eligible demo patients without one; a scenario is skipped, with a note, when none is left.

Idempotent: if today's demo sessions exist (any session at the site today), nothing is added.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from ketaclinic.accounts.demo import DEMO_PASSWORD
from ketaclinic.accounts.models import Site, User
from ketaclinic.consents.actions import sign_consent, valid_consent
from ketaclinic.consents.models import Consent
from ketaclinic.courses import actions as courses
from ketaclinic.courses.demo import _approved
from ketaclinic.courses.models import Course
from ketaclinic.courses.sessions import next_sequence_number
from ketaclinic.dosing import actions, administration, discharge, documents, monitoring, stock
from ketaclinic.dosing.models import (
    CheckIn,
    Discharge,
    DosingSession,
    DrugLot,
    LotMovement,
    PredoseDecision,
    PredoseScreen,
    SessionState,
    VitalSign,
)
from ketaclinic.patients.actions import latest_weight_kg
from ketaclinic.patients.models import Patient
from ketaclinic.scheduling.actions import BookingConflict, _create, appointment_type_for_route
from ketaclinic.scheduling.models import Appointment, Resource, ResourceKind
from ketaclinic.scheduling.planning import Slot

SITE = "riverside"
NURSE, PRESCRIBER, DESK = "nurse.okafor", "dr.rivera", "desk.patel"
S = SessionState
ROUTE_PROTOCOL = {"iv": "ketamine_iv_standard", "esketamine_nasal": "esketamine_trd"}
CALM = {"systolic_mmhg": 124, "diastolic_mmhg": 78, "heart_rate_bpm": 72, "spo2_pct": 98, "resp_rate_per_min": 14}
WITNESS_REASON = "Drawn up for the dose and not given; wasted with a witness (demo)."


@dataclass(frozen=True)
class Scenario:
    """One of today's sessions: its story's end state, route, when its appointment starts (minutes from now) and how
    many minutes of the day its story needs before now."""

    state: str
    route: str
    start_min: int
    needs_min: int
    label: str
    #: A way of leaving other than a routine discharge (``Discharge.Disposition``), for a ``discharged`` story.
    departure: str = ""


#: In order of importance: with fewer eligible patients or chairs, the later ones are skipped.
SCENARIOS = (
    Scenario("monitoring", "esketamine_nasal", -60, 55, "esketamine in monitoring, 40-minute BP alert open"),
    Scenario("dosing", "iv", -30, 30, "IV infusion running"),
    Scenario("ready_for_discharge", "iv", -120, 110, "IV infusion over, ready for discharge"),
    Scenario("discharged", "esketamine_nasal", -210, 140, "esketamine discharged, REMS form due"),
    Scenario("on_hold", "iv", -15, 10, "on hold: blood pressure 186/102"),
    Scenario("review", "iv", -10, 10, "awaiting a prescriber's review: blood pressure 152/94"),
    Scenario("cleared", "iv", -20, 10, "cleared to dose"),
    Scenario("checked_in", "iv", -5, 0, "checked in"),
    Scenario("booked", "iv", 45, 0, "booked for later today"),
    Scenario("no_show", "iv", -180, 0, "did not come"),
    Scenario("cancelled", "iv", 90, 0, "cancelled by phone"),
    Scenario(
        "discharged",
        "esketamine_nasal",
        -100,
        80,
        "esketamine: left against medical advice at 70 min",
        "against_advice",
    ),
)
#: What the patient who leaves against advice says (the demo's departure story).
DEPARTURE_MIN = 70
DEPARTURE_REASON = "Feels fine and will not wait: has to collect her children from school (demo)."


def _quarter(moment: dt.datetime) -> dt.datetime:
    return moment.replace(minute=moment.minute - moment.minute % 15, second=0, microsecond=0)


@contextmanager
def _at(when: dt.datetime) -> Iterator[Callable[[QuerySet[Any], str], None]]:
    """Run a step now, then move the rows it wrote (named by the caller) back to ``when``."""
    moves: list[tuple[QuerySet[Any], str]] = []
    yield lambda rows, field: moves.append((rows, field))
    for rows, field in moves:
        rows.update(**{field: when})


def _stock(site: Site, nurse: User, today: dt.date) -> dict[str, DrugLot]:
    lots: dict[str, DrugLot] = {}
    for drug, product, number, mg_per_unit, units, concentration in (
        ("ketamine", "Ketamine HCl 50 mg/mL, 10 mL vial", "KET-DEMO-01", 500, 20, 50),
        ("esketamine", "Spravato 28 mg nasal spray device", "SPR-DEMO-01", 28, 60, None),
    ):
        lot = DrugLot.objects.filter(site=site, drug=drug, lot_number=number).first()
        if lot is None:
            stock.receive_lot(
                site,
                by=nurse,
                drug=drug,
                product=product,
                lot_number=number,
                expires_on=today + dt.timedelta(days=300),
                mg_per_unit=mg_per_unit,
                units=units,
                concentration_mg_per_ml=concentration,
            )
            lot = DrugLot.objects.get(site=site, drug=drug, lot_number=number)
        lots[drug] = lot
    return lots


def _patients(site: Site) -> list[Patient]:
    """Demo patients who can be dosed: eligible or in treatment, with a weight on the chart."""
    candidates = Patient.objects.filter(
        site=site, status__in=[Patient.Status.ELIGIBLE, Patient.Status.IN_TREATMENT, Patient.Status.MAINTENANCE]
    ).order_by("mrn")
    return [p for p in candidates if latest_weight_kg(p) is not None]


def _course(patient: Patient, route: str, staff: dict[str, User]) -> Course | None:
    """The patient's running course for ``route``, or a new one (approved, consented) if they have no active course
    (a patient whose earlier course ended may start another)."""
    protocol = ROUTE_PROTOCOL[route]
    running = Course.objects.filter(
        patient=patient, protocol=protocol, status__in=[Course.Status.PLANNED, Course.Status.INDUCTION]
    ).first()
    if running is not None:
        return running
    if Course.objects.filter(patient=patient, status__in=Course.ACTIVE_STATUSES).exists():
        return None
    with transaction.atomic():
        if not _approved(patient, route, staff["prescriber"]):
            return None
        kind = Consent.Kind.ESKETAMINE_REMS if route == "esketamine_nasal" else Consent.Kind.KETAMINE_TREATMENT
        if valid_consent(patient, kind) is None:
            sign_consent(
                patient,
                kind=kind,
                signed_name=patient.legal_name,
                channel=Consent.Channel.CLINIC,
                ip=None,
                by=staff["nurse"],
                witnessed_by=staff["nurse"],
            )
        return courses.open_course(patient, protocol=protocol, indication="trd", by=staff["prescriber"])


def _book(course: Course, route: str, start: dt.datetime, staff: dict[str, User]) -> Appointment | None:
    """Book today's session in the first free chair or room of its kind (outside opening hours if need be)."""
    atype = appointment_type_for_route(route)
    kinds = [atype.resource_kind, ResourceKind.TREATMENT_ROOM]  # a busy morning spills into the treatment rooms
    rooms = Resource.objects.filter(site=course.site, kind__in=kinds, active=True)
    for resource in sorted(rooms, key=lambda r: (kinds.index(r.kind), r.name)):
        # No named clinician: one nurse watches several chairs (the session shows who checked the patient in).
        slot = Slot(start, start + atype.total, resource, None)
        try:
            return _create(
                course.site,
                course.patient,
                atype,
                [slot],
                by=staff["desk"],
                course_ref=course.pk,
                sequence_numbers=[next_sequence_number(course)],
            )[0]
        except BookingConflict:
            continue
    return None


def _check_in(session: DosingSession, nurse: User, at: dt.datetime) -> None:
    with _at(at) as move:
        actions.check_in(
            session,
            by=nurse,
            identity_confirmed=True,
            weight_kg=latest_weight_kg(session.patient) or Decimal("75"),
            last_food_at=at - dt.timedelta(hours=4),
            last_liquid_at=at - dt.timedelta(hours=1),
            escort_name="Demo Escort",
            escort_phone="555-0142",
            escort_confirmed=True,
            pregnancy_test=CheckIn.PregnancyTest.NOT_APPLICABLE,
            benzodiazepine_held=CheckIn.BenzodiazepineHold.NOT_ORDERED,
        )
        move(DosingSession.objects.filter(pk=session.pk), "checked_in_at")
        move(CheckIn.objects.filter(session=session), "completed_at")


def _gate(session: DosingSession, staff: dict[str, User], vitals: dict[str, int], at: dt.datetime) -> None:
    with _at(at) as move:
        actions.record_baseline_vitals(session, by=staff["nurse"], vitals=vitals)
        move(VitalSign.objects.filter(session=session), "recorded_at")
    with _at(at + dt.timedelta(minutes=2)) as move:
        actions.run_predose_gate(session, by=staff["nurse"])
        move(PredoseDecision.objects.filter(session=session), "decided_at")
        move(PredoseScreen.objects.filter(session=session), "recorded_at")
    session.refresh_from_db()
    if session.state == S.REVIEW and vitals is CALM:
        # A precaution from screening asks for a review: the prescriber confirms, as a clinic would.
        actions.confirm_review(
            session, by=staff["prescriber"], reason="Precaution reviewed at the chair; dose as ordered (demo)."
        )


def _start(session: DosingSession, staff: dict[str, User], lots: dict[str, DrugLot], at: dt.datetime) -> None:
    drug = "esketamine" if session.is_esketamine else "ketamine"
    administration.start_dose(
        session,
        by=staff["nurse"],
        lot=lots[drug],
        witness=staff["prescriber"],
        witness_password=DEMO_PASSWORD,
        started_at=at,
    )
    session.refresh_from_db()
    if session.is_esketamine:
        given = at
        while session.state == S.DOSING:
            given += dt.timedelta(minutes=5)
            administration.record_device(session, by=staff["nurse"], at=given)
            session.refresh_from_db()
    LotMovement.objects.filter(administration__session=session).update(at=at)


def _vitals(
    session: DosingSession, nurse: User, start: dt.datetime, minutes: list[int], bp: dict[int, tuple[int, int]]
) -> None:
    for minute in minutes:
        sbp, dbp = bp.get(minute, (126 + minute % 7, 80 + minute % 5))
        monitoring.record_session_vitals(
            session,
            by=nurse,
            vitals={**CALM, "systolic_mmhg": sbp, "diastolic_mmhg": dbp, "heart_rate_bpm": 74 + minute % 9},
            taken_at=start + dt.timedelta(minutes=minute),
            source="monitor",
        )


def _scale(session: DosingSession, nurse: User, instrument: str, answers: dict[str, int], at: dt.datetime) -> None:
    monitoring.record_scale(session, by=nurse, instrument=instrument, answers=answers, taken_at=at)


def _stop_infusion(session: DosingSession, nurse: User, at: dt.datetime) -> None:
    administration.stop_infusion(session, by=nurse, stopped_at=at)


def _discharge(session: DosingSession, staff: dict[str, User], ready_at: dt.datetime, at: dt.datetime) -> None:
    with _at(ready_at) as move:
        discharge.record_ready_to_leave(session, by=staff["nurse"])
        move(DosingSession.objects.filter(pk=session.pk), "ready_to_leave_at")
    discharge.check_discharge(session, by=staff["nurse"], symptoms_resolved=True, escort_present=True)
    session.refresh_from_db()
    with _at(at) as move:
        discharge.discharge_patient(session, by=staff["nurse"], symptoms_resolved=True, escort_present=True)
        move(Discharge.objects.filter(session=session), "discharged_at")
    documents.sign_note(session, by=staff["nurse"], text=documents.draft_note_text(session))


def _play(
    scenario: Scenario, course: Course, appointment: Appointment, staff: dict[str, User], lots: dict[str, DrugLot]
) -> None:
    """Play ``scenario``'s story on its opened appointment."""
    nurse = staff["nurse"]
    t0 = appointment.starts_at
    if scenario.state == S.NO_SHOW:
        actions.mark_no_show(actions.open_session(appointment, by=nurse), by=nurse)
        return
    session = actions.open_session(appointment, by=nurse)
    if scenario.state == S.CANCELLED:
        actions.cancel_session(session, by=nurse, reason="Patient phoned: flu symptoms; rebook next week.")
        return
    if scenario.state == S.BOOKED:
        return
    if course.status == Course.Status.PLANNED:
        courses.start_course(course, by=nurse)
    _check_in(session, nurse, t0)
    if scenario.state == S.CHECKED_IN:
        return
    pressures: dict[str, dict[str, int]] = {
        S.ON_HOLD: {**CALM, "systolic_mmhg": 186, "diastolic_mmhg": 102},
        S.REVIEW: {**CALM, "systolic_mmhg": 152, "diastolic_mmhg": 94},
    }
    vitals = pressures.get(scenario.state, CALM)
    _gate(session, staff, vitals, t0 + dt.timedelta(minutes=5))
    session.refresh_from_db()
    if scenario.state in (S.CLEARED, S.REVIEW, S.ON_HOLD) or session.state != S.CLEARED:
        return
    start = t0 + dt.timedelta(minutes=10)
    _start(session, staff, lots, start)
    now = timezone.now()
    if session.is_esketamine:
        # The departure story: the patient leaves at 70 minutes, and nothing is recorded after that.
        left = start + dt.timedelta(minutes=DEPARTURE_MIN)
        last = min(left, now) if scenario.departure else now
        minutes = [m for m in (15, 30, 40, 55, 70, 85, 100, 115, 125) if start + dt.timedelta(minutes=m) <= last]
        alarm = {40: (172, 104)} if scenario.state == S.MONITORING else {40: (138, 86)}
        _vitals(session, nurse, start, minutes, alarm)
        for minute, moaas in ((15, 4), (40, 4), (70, 5), (115, 5)):
            if start + dt.timedelta(minutes=minute) <= last:
                _scale(session, nurse, "moaas", {"q1": moaas}, start + dt.timedelta(minutes=minute))
        if start + dt.timedelta(minutes=40) <= now:
            cadss = {"q1": 1, "q2": 1, "q3": 0, "q4": 1, "q5": 0, "q6": 0}
            _scale(session, nurse, "cadss6", cadss, start + dt.timedelta(minutes=40))
        if scenario.departure:
            discharge.record_departure(
                session,
                by=nurse,
                disposition=scenario.departure,
                reason=DEPARTURE_REASON,
                left_at=left,
                risks_explained=True,
                prescriber_notified=staff["prescriber"],
            )
        elif scenario.state == S.DISCHARGED:
            _scale(session, nurse, "aldrete", {f"q{i}": 2 for i in range(1, 6)}, start + dt.timedelta(minutes=118))
            _discharge(session, staff, start + dt.timedelta(minutes=95), start + dt.timedelta(minutes=125))
        return
    # IV: the order's 40-minute infusion, vitals every 10 min during it and every 15 min after.
    end = start + dt.timedelta(minutes=40)
    during = [m for m in range(10, 41, 10) if start + dt.timedelta(minutes=m) <= now]
    _vitals(session, nurse, start, during, {30: (146, 90)})
    if scenario.state == S.DOSING:
        return
    _stop_infusion(session, nurse, end)
    after = [m for m in range(55, 121, 15) if start + dt.timedelta(minutes=m) <= now]
    _vitals(session, nurse, start, after, {})
    for minute in (20, 40, 55):
        _scale(session, nurse, "moaas", {"q1": 4 if minute < 50 else 5}, start + dt.timedelta(minutes=minute))
    _scale(session, nurse, "aldrete", {f"q{i}": 2 for i in range(1, 6)}, start + dt.timedelta(minutes=100))
    with _at(start + dt.timedelta(minutes=95)) as move:
        discharge.record_ready_to_leave(session, by=nurse)
        move(DosingSession.objects.filter(pk=session.pk), "ready_to_leave_at")
    discharge.check_discharge(session, by=nurse, symptoms_resolved=True, escort_present=True)


def seed(say: Callable[[str], None]) -> None:
    site = Site.objects.filter(code=SITE).first()
    found = {u.username: u for u in User.objects.filter(username__in=[NURSE, PRESCRIBER, DESK])}
    if site is None or len(found) < 3:
        say("  no Riverside site or staff: run the accounts demo first")
        return
    staff = {"nurse": found[NURSE], "prescriber": found[PRESCRIBER], "desk": found[DESK]}
    now = timezone.now()
    today = now.astimezone(site.zone).date()
    day_start = dt.datetime.combine(today, dt.time(0), tzinfo=site.zone)
    if DosingSession.objects.filter(site=site, appointment__starts_at__gte=day_start).exists():
        say("  today's sessions already seeded")
        return
    lots = _stock(site, staff["nurse"], today)
    say(f"  stock: {', '.join(f'{lot.product} lot {lot.lot_number}' for lot in lots.values())}")
    patients = _patients(site)
    used: set[int] = set()
    for scenario in SCENARIOS:
        start = _quarter(now + dt.timedelta(minutes=scenario.start_min))
        if start < day_start:  # seeded just after midnight: the story starts at the beginning of the day
            start = day_start
        if start.astimezone(site.zone).date() != today:  # seeded just before midnight
            start = _quarter(now)
        where = f"{start.astimezone(site.zone):%H:%M}"
        if scenario.start_min < 0 and now - start < dt.timedelta(minutes=scenario.needs_min):
            say(f"  {scenario.label}: too early in the day for its story (skipped)")
            continue
        for patient in patients:
            if patient.pk in used:
                continue
            course = _course(patient, scenario.route, staff)
            if course is None:
                continue
            with transaction.atomic():
                # A clash (the patient's own session, or every chair taken) tries the next patient.
                appointment = _book(course, scenario.route, start, staff)
                if appointment is not None:
                    _play(scenario, course, appointment, staff, lots)
            if appointment is not None:
                used.add(patient.pk)
                say(f"  {patient.mrn} at {where}: {scenario.label}")
                break
        else:
            say(f"  {scenario.label}: no free chair or eligible patient at {where} (skipped)")
