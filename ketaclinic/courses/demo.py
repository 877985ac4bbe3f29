"""Demo treatment courses at Riverside, one in each phase, with dose orders, decisions and booked sessions.

* an IV induction running this week (Monday/Wednesday/Friday at 09:00 from this week's Monday, the earlier ones
  already held);
* an esketamine induction with the patient's SPRAVATO REMS enrolment signed, its first two weeks booked twice
  weekly from tomorrow (it starts with its first session);
* an IV course in maintenance: induction six weeks ago, a titrated dose, the decision to move to maintenance and weekly
  sessions around today;
* an IM course paused after four sessions;
* a completed single-dose intranasal course.

Everything goes through the actions (``open_course``, ``order_dose``, ``book_plan``, ``start_course``,
``record_decision``, ``sign_consent``), so the audit trail and the patients' statuses are real. Patients are taken
from the patients demo by status and MRN; one without a signed approval for the route is screened and signed like
the screening demo does, and skipped if the chart leaves the check incomplete or ineligible. Sessions are booked
only where the scheduling demo has put chairs and staff (otherwise a note is printed and the course stays unbooked).

Deterministic (dates follow from the day of seeding) and idempotent: a scenario whose patient already has a course
of its protocol is left alone.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from ketaclinic.accounts.models import ClosedDay, Site, User
from ketaclinic.clinical import Decision, get_protocol
from ketaclinic.clinical.protocols import PerKgDose
from ketaclinic.consents.actions import sign_consent, valid_consent
from ketaclinic.consents.models import Consent
from ketaclinic.courses import actions, planning
from ketaclinic.courses.actions import CourseError
from ketaclinic.courses.models import Course
from ketaclinic.patients.actions import latest_weight_kg
from ketaclinic.patients.models import Patient
from ketaclinic.scheduling.actions import BookingConflict
from ketaclinic.scheduling.models import Resource
from ketaclinic.screening.actions import current_assessment, run_assessment, sign_assessment

SITE = "riverside"
PRESCRIBER, DESK, NURSE = "dr.rivera", "desk.patel", "nurse.okafor"
CALM_VITALS = {"systolic_mmhg": 124, "diastolic_mmhg": 78, "heart_rate_bpm": 70, "spo2_pct": 98}
S = Patient.Status
#: Esketamine induction sessions booked by the demo (two weeks of the twice-weekly schedule).
ESKETAMINE_BOOKED = 4


@dataclass(frozen=True)
class Scenario:
    """One demo course: which patients may have it, and when its sessions fall (weeks relative to this Monday)."""

    key: str
    protocol: str
    statuses: tuple[str, ...]
    weekdays: tuple[int, ...]
    hour: int
    first_week: int  # 0 = this week, -6 = six weeks ago
    sessions: int
    label: str


SCENARIOS = (
    Scenario("iv_induction", "ketamine_iv_standard", (S.IN_TREATMENT,), (0, 2, 4), 9, 0, 6, "IV induction this week"),
    Scenario("esketamine", "esketamine_trd", (S.IN_TREATMENT,), (0, 3), 10, 0, 8, "esketamine induction"),
    Scenario("maintenance", "ketamine_iv_standard", (S.MAINTENANCE,), (0, 2, 4), 11, -6, 6, "IV in maintenance"),
    Scenario("paused", "ketamine_im", (S.IN_TREATMENT,), (0, 2, 4), 13, -2, 4, "IM course paused"),
    Scenario("completed", "ketamine_intranasal_racemic", (S.IN_TREATMENT,), (1,), 14, -3, 1, "single dose completed"),
)


def _approved(patient: Patient, route: str, prescriber: User) -> bool:
    """An approving signed assessment for ``route`` exists, or one is run and signed now (no overrides)."""
    current = current_assessment(patient, route)
    if current is not None and current.is_approved:
        return True
    assessment = run_assessment(patient, route=route, indication="trd", by=prescriber, vitals=CALM_VITALS)
    if assessment.decision not in (Decision.ELIGIBLE, Decision.ELIGIBLE_WITH_PRECAUTIONS):
        return False
    decision = "approve" if assessment.decision == Decision.ELIGIBLE else "approve_with_precautions"
    sign_assessment(assessment, by=prescriber, decision=decision)
    return True


def _patient_for(scenario: Scenario, site: Site, prescriber: User) -> tuple[Patient | None, bool]:
    """(patient, already done) for ``scenario``: the first by MRN with a course of its protocol (done), else the
    first without any course who is (or can be made) eligible for the route and, for per-kg doses, has a weight."""
    protocol = get_protocol(scenario.protocol)
    candidates = Patient.objects.filter(site=site, status__in=scenario.statuses).order_by("mrn")
    for patient in candidates:
        if Course.objects.filter(patient=patient, protocol=scenario.protocol).exists():
            return patient, True
    for patient in candidates:
        if Course.objects.filter(patient=patient).exists():
            continue
        if isinstance(protocol.dose_rule, PerKgDose) and latest_weight_kg(patient) is None:
            continue
        with transaction.atomic():
            if _approved(patient, protocol.route.value, prescriber):
                return patient, False
    return None, False


def _starts(scenario: Scenario, site: Site, monday: dt.date, count: int | None = None) -> list[dt.datetime]:
    """The scenario's session times: its weekdays from its first week, skipping the site's closed days."""
    closed = set(ClosedDay.objects.filter(site=site).values_list("date", flat=True))
    day = monday + dt.timedelta(weeks=scenario.first_week)
    out: list[dt.datetime] = []
    while len(out) < (count or scenario.sessions):
        if day.weekday() in scenario.weekdays and day not in closed:
            out.append(planning.local(day, dt.time(scenario.hour), site.zone))
        day += dt.timedelta(days=1)
    return out


def _book(course: Course, phase: str, starts: list[dt.datetime], desk: User, say: Callable[[str], None]) -> int:
    """Book ``starts`` for the course; a refusal is reported and leaves the course unbooked."""
    if not Resource.objects.filter(site=course.site, active=True).exists():
        say("    no chairs or rooms at the site (run the scheduling demo): sessions not booked")
        return 0
    try:
        with transaction.atomic():
            plan = actions.plan_from_starts(course, phase, starts)
            return len(actions.book_plan(course, plan, by=desk))
    except (BookingConflict, CourseError) as refused:
        say(f"    sessions not booked: {refused}")
        return 0


def _run(scenario: Scenario, patient: Patient, staff: dict[str, User], monday: dt.date, say: Any) -> str:
    prescriber, desk, nurse = staff["prescriber"], staff["desk"], staff["nurse"]
    site = patient.site
    now = timezone.now()
    course = actions.open_course(patient, protocol=scenario.protocol, indication="trd", by=prescriber)
    starts = _starts(scenario, site, monday)
    first_phase = course.clinical_protocol.phases[0].name

    if scenario.key == "esketamine":
        if valid_consent(patient, Consent.Kind.ESKETAMINE_REMS) is None:
            sign_consent(
                patient,
                kind=Consent.Kind.ESKETAMINE_REMS,
                signed_name=patient.legal_name,
                channel=Consent.Channel.CLINIC,
                ip=None,
                by=nurse,
                witnessed_by=nurse,
            )
        tomorrow = now.astimezone(site.zone).date() + dt.timedelta(days=1)
        # The first two weeks are booked; the front desk books the rest as the roster is published.
        plan = actions.plan_phase(
            course, phase=first_phase, start_date=tomorrow, preferred_time=dt.time(10), count=ESKETAMINE_BOOKED
        )
        booked = _book(course, first_phase, plan.starts, desk, say)
        first = f" from {plan.starts[0].astimezone(site.zone):%a %Y-%m-%d}" if booked else ""
        return (
            f"REMS enrolment signed; {booked} of {course.planned_induction_sessions} induction sessions booked{first}"
        )

    booked = _book(course, first_phase, starts, desk, say)
    if starts[0] <= now:
        actions.start_course(course, by=nurse, at=starts[0])
    if scenario.key == "iv_induction":
        return f"{booked} induction sessions booked this week and next"
    if scenario.key == "maintenance":
        actions.order_dose(
            course,
            by=prescriber,
            mg_per_kg=Decimal("0.6"),
            reason="Partial response at 0.5 mg/kg; titrated up (demo)",
            effective_from_session=4,
        )
        actions.record_decision(
            course,
            decision="move_to_maintenance",
            reason="Response after six infusions; weekly maintenance (demo)",
            by=prescriber,
        )
        # Weekly on Mondays from course week 4 (three weeks ago) to two weeks ahead.
        weekly = Scenario(scenario.key, scenario.protocol, (), (0,), scenario.hour, -3, 6, scenario.label)
        booked += _book(course, "maintenance", _starts(weekly, site, monday), desk, say)
        return f"{booked} sessions booked; moved to maintenance with a titrated dose"
    if scenario.key == "paused":
        actions.record_decision(
            course, decision="pause", reason="Travelling abroad for three weeks (demo)", by=prescriber
        )
        return f"{booked} sessions held, then paused"
    actions.record_decision(
        course, decision="complete", reason="Single-dose course completed; improvement held (demo)", by=prescriber
    )
    return "single dose held; course completed"


def seed(say: Callable[[str], None]) -> None:
    """Open one demo course per scenario where none exists yet (idempotent)."""
    site = Site.objects.filter(code=SITE).first()
    staff = {
        role: User.objects.filter(username=name).first()
        for role, name in (("prescriber", PRESCRIBER), ("desk", DESK), ("nurse", NURSE))
    }
    if site is None or any(user is None for user in staff.values()):
        say("  courses: the demo site or staff are missing; run the accounts demo first")
        return
    ready: dict[str, User] = {k: v for k, v in staff.items() if v is not None}
    today = timezone.now().astimezone(site.zone).date()
    monday = today - dt.timedelta(days=today.weekday())
    for scenario in SCENARIOS:
        patient, done = _patient_for(scenario, site, ready["prescriber"])
        if patient is None:
            say(f"  course ({scenario.label}): no suitable demo patient")
            continue
        if done:
            say(f"  course ({scenario.label}) {patient.mrn}: already there")
            continue
        with transaction.atomic():
            outcome = _run(scenario, patient, ready, monday, say)
        say(f"  course ({scenario.label}) {patient.mrn}: {outcome}")
