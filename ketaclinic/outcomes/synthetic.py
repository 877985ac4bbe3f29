"""A seeded synthetic clinic network for the outcomes benchmark and tests: patients with one course each, dosed
sessions with doses, dissociation scores, alerts and adverse events, and months of PHQ-9 and GAD-7 scores (each
course's own measure, the GAD-7 for an anxiety course and the PHQ-9 for every other, tracked closely; the other one
now and then).

At ``scale=1`` it is the benchmark network of issue 7: 5,000 patients, about 30,000 dosed sessions and about
130,000 questionnaire responses at two sites. Vital signs are not generated: the dashboard does not read them.
Trajectories are a mix of remitters, responders, partial and non-responders and patients who lose their response.
Rows are bulk-inserted (no signals); :func:`generate` queues nothing — call ``rollup.rebuild_all()`` afterwards.
Everything is decided by ``random.Random(seed)`` and a fixed calendar, never the clock, so a seed gives the same
network every time.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

#: The first course starts on this day; courses start over the following :data:`SPREAD_DAYS`.
EPOCH = dt.datetime(2025, 1, 6, 15, 0, tzinfo=dt.UTC)
SPREAD_DAYS = 600
PATIENTS = 5000
BATCH = 2000
PASSWORD = "synthetic-only-password-not-secret"  # noqa: S105 - accounts of a throwaway benchmark database

# (kind, share, fraction of baseline left at best, relapses)
KINDS = (
    ("remitter", 0.22, 0.12, False),
    ("responder", 0.22, 0.4, False),
    ("lost", 0.16, 0.3, True),
    ("partial", 0.18, 0.65, False),
    ("non", 0.22, 0.9, False),
)


@dataclass
class Network:
    sites: list[Any]
    staff: dict[str, Any]
    patients: int = 0
    courses: int = 0
    sessions: int = 0
    responses: int = 0
    alerts: int = 0
    adverse_events: int = 0
    observations: int = 0


def _kind(rng: random.Random) -> tuple[str, float, bool]:
    draw, acc = rng.random(), 0.0
    for name, share, best, relapses in KINDS:
        acc += share
        if draw < acc:
            return name, best, relapses
    return KINDS[-1][0], KINDS[-1][2], KINDS[-1][3]


def _staff(site: Any, sites: list[Any], tag: str) -> dict[str, Any]:
    from ketaclinic.accounts.actions import create_staff_member
    from ketaclinic.accounts.roles import Role

    return {
        "prescriber": create_staff_member(
            username=f"{tag}.md", password=PASSWORD, roles=[Role.PRESCRIBER], sites=sites
        ),
        "nurse": create_staff_member(username=f"{tag}.rn1", password=PASSWORD, roles=[Role.NURSE], sites=sites),
        "witness": create_staff_member(username=f"{tag}.rn2", password=PASSWORD, roles=[Role.NURSE], sites=sites),
    }


def generate(
    *,
    scale: float = 1.0,
    seed: int = 2026,
    sites: list[Any] | None = None,
    tag: str = "synthetic",
    progress: Callable[[str], None] | None = None,
) -> Network:
    """Build the network at ``scale`` × 5,000 patients (at least 1) at ``sites`` (two new ones when not given)."""
    from ketaclinic.accounts.models import Site

    say = progress or (lambda _: None)
    if sites is None:
        sites = [
            Site.objects.create(code=f"{tag[:14]}-a", name=f"{tag} North", time_zone="America/Chicago"),
            Site.objects.create(code=f"{tag[:14]}-b", name=f"{tag} South", time_zone="America/New_York"),
        ]
    network = Network(sites=sites, staff=_staff(sites[0], sites, tag))
    rng = random.Random(seed)  # noqa: S311 - synthetic data, not security
    total = max(1, round(PATIENTS * scale))
    for start in range(0, total, BATCH):
        _batch(network, rng, start, min(total, start + BATCH), tag)
        say(f"  {min(total, start + BATCH):>6,} / {total:,} patients")
    return network


def _batch(network: Network, rng: random.Random, first: int, last: int, tag: str) -> None:
    from ketaclinic.courses.models import Course, DoseOrder
    from ketaclinic.dosing.models import (
        AdverseEvent,
        DoseAdministration,
        DosingSession,
        DrugLot,
        ScaleObservation,
        SessionAlert,
    )
    from ketaclinic.measures.models import QuestionnaireResponse
    from ketaclinic.patients.models import Patient
    from ketaclinic.scheduling.actions import appointment_type_for_route
    from ketaclinic.scheduling.models import Appointment
    from ketaclinic.screening.models import EligibilityAssessment

    staff = network.staff
    md, nurse, witness = staff["prescriber"], staff["nurse"], staff["witness"]
    lots = {}
    for site in network.sites:
        for drug, product, per_unit in (
            ("ketamine", "Ketamine HCl 50 mg/mL 10 mL", "500"),
            ("esketamine", "Spravato", "28"),
        ):
            lots[site.pk, drug] = DrugLot.objects.get_or_create(
                site=site,
                drug=drug,
                lot_number=f"{tag}-{drug}",
                defaults={
                    "product": product,
                    "mg_per_unit": Decimal(per_unit),
                    "expires_on": dt.date(2030, 1, 1),
                    "received_by": nurse,
                    "received_at": EPOCH - dt.timedelta(days=30),
                },
            )[0]
    types = {route: appointment_type_for_route(route) for route in ("iv", "esketamine_nasal")}

    plans = []
    patients = []
    for n in range(first, last):
        site = network.sites[n % len(network.sites)]
        patients.append(
            Patient(
                site=site,
                mrn=f"{tag[:6].upper()}-{n:06d}",
                legal_first_name="Synthetic",
                legal_last_name=f"Patient {n}",
                date_of_birth=dt.date(1960 + rng.randrange(40), 1 + rng.randrange(12), 1 + rng.randrange(28)),
            )
        )
    Patient.objects.bulk_create(patients, batch_size=BATCH)
    assessments, courses = [], []
    for patient in patients:
        esketamine = rng.random() < 0.3
        route = "esketamine_nasal" if esketamine else "iv"
        start = EPOCH + dt.timedelta(days=rng.randrange(SPREAD_DAYS), minutes=15 * rng.randrange(24))
        kind, best, relapses = _kind(rng)
        induction = 6 if rng.random() < 0.85 else rng.randrange(2, 6)
        maintenance = rng.randrange(0, 2) if induction == 6 else 0
        status = "stopped" if induction < 6 else rng.choice(("maintenance", "completed", "maintenance"))
        indication = "trd" if esketamine or rng.random() < 0.75 else rng.choice(("ptsd", "anxiety", "mdsi"))
        protocol = "esketamine_trd" if esketamine else "ketamine_iv_standard"
        plans.append((patient, route, start, kind, best, relapses, induction, maintenance, status, indication))
        assessments.append(
            EligibilityAssessment(
                patient=patient,
                site=patient.site,
                route="esketamine_nasal" if esketamine else "iv",
                indication=indication if indication in ("trd", "mdsi") else "trd",
                inputs={},
                decision="eligible",
                rules_version="synthetic",
                status="signed",
                prescriber_decision="approve",
                signed_by=md,
                signed_at=start - dt.timedelta(days=10),
                created_by=nurse,
                created_at=start - dt.timedelta(days=10),
            )
        )
        ended = start + dt.timedelta(days=3 * induction + 7) if status in ("stopped", "completed") else None
        courses.append(
            Course(
                patient=patient,
                site=patient.site,
                indication=indication,
                protocol=protocol,
                route=route,
                starting_mg_per_kg=None if esketamine else Decimal("0.5"),
                starting_amount_mg=Decimal("56") if esketamine else None,
                planned_induction_sessions=6,
                status=status,
                opened_by=md,
                opened_at=start - dt.timedelta(days=7),
                started_at=start,
                ended_at=ended,
            )
        )
    EligibilityAssessment.objects.bulk_create(assessments, batch_size=BATCH)
    for course, assessment in zip(courses, assessments, strict=True):
        course.eligibility_assessment = assessment
    Course.objects.bulk_create(courses, batch_size=BATCH)
    orders = [
        DoseOrder(
            course=course,
            ordered_by=md,
            ordered_at=course.opened_at,
            mg_per_kg=course.starting_mg_per_kg,
            amount_mg=Decimal("40") if course.starting_mg_per_kg else Decimal("56"),
            weight_kg=Decimal("80") if course.starting_mg_per_kg else None,
            reason="Starting dose",
        )
        for course in courses
    ]
    DoseOrder.objects.bulk_create(orders, batch_size=BATCH)

    appointments, sessions, doses, responses, obs, alerts, events = [], [], [], [], [], [], []
    for (patient, route, start, kind, best, relapses, induction, maintenance, _, indication), course, order in zip(
        plans, courses, orders, strict=True
    ):
        esketamine = route == "esketamine_nasal"
        # Twice weekly induction (3–4 days apart), then maintenance every 2 weeks.
        times = [start + dt.timedelta(days=(n // 2) * 7 + (n % 2) * 3) for n in range(induction)]
        times += [times[-1] + dt.timedelta(days=14 * (k + 1)) for k in range(maintenance)]
        level = Decimal("0.5")
        for seq, at in enumerate(times, start=1):
            appointment = Appointment(
                site=patient.site,
                patient=patient,
                appointment_type=types[route],
                starts_at=at,
                ends_at=at + dt.timedelta(minutes=120),
                status="completed",
                course_ref=0,  # set below, once the course has its id
                sequence_number=seq,
                created_by=nurse,
                created_at=start - dt.timedelta(days=7),
            )
            appointments.append(appointment)
            session = DosingSession(
                appointment=appointment,
                patient=patient,
                site=patient.site,
                course_ref=0,
                sequence_number=seq,
                route=route,
                state="discharged",
                opened_by=nurse,
                opened_at=at - dt.timedelta(minutes=30),
            )
            sessions.append((session, course))
            if esketamine:
                amount, per_kg = (Decimal("56") if seq <= 2 or rng.random() < 0.3 else Decimal("84")), None
            else:
                if seq > 1 and level < Decimal("1.0") and rng.random() < 0.35:
                    level += Decimal("0.25")
                per_kg, amount = level, (level * 80).quantize(Decimal("0.1"))
            doses.append(
                DoseAdministration(
                    session=session,
                    order=order,
                    drug="esketamine" if esketamine else "ketamine",
                    route=route,
                    weight_kg=None if esketamine else Decimal("80"),
                    mg_per_kg=per_kg,
                    amount_mg=amount,
                    amount_given_mg=amount,
                    lot=lots[patient.site_id, "esketamine" if esketamine else "ketamine"],
                    started_at=at + dt.timedelta(minutes=5),
                    administered_by=nurse,
                    witnessed_by=witness,
                    recorded_at=at + dt.timedelta(minutes=5),
                )
            )
            # Dissociation peaks with the dose: CADSS-6 (0–24) for most, the full CADSS for one session in ten.
            weight = float(per_kg) / 0.5 if per_kg is not None else float(amount) / 56
            full = rng.random() < 0.1
            peak = max(0.0, rng.gauss((14 if full else 5) * weight, 3))
            cap = 92 if full else 24
            for minute, share in ((40, 1.0), (90, 0.3)):
                obs.append(
                    ScaleObservation(
                        session=session,
                        instrument="cadss" if full else "cadss6",
                        total=Decimal(str(round(min(cap, peak * share)))),
                        timepoint_min=minute,
                        observed_at=at + dt.timedelta(minutes=5 + minute),
                        observed_by=nurse,
                    )
                )
            if rng.random() < 0.09:
                urgent = rng.random() < 0.2
                alerts.append(
                    SessionAlert(
                        session=session,
                        code="vitals.systolic_high" if not urgent else "vitals.spo2_low",
                        level="urgent" if urgent else "warning",
                        message="Synthetic alert",
                        raised_at=at + dt.timedelta(minutes=25),
                        acknowledged_at=at + dt.timedelta(minutes=27),
                        acknowledged_by=nurse,
                        action="observed",
                    )
                )
            if rng.random() < 0.12:
                events.append(
                    AdverseEvent(
                        session=session,
                        kind=rng.choice(("nausea_vomiting", "headache", "dizziness", "anxiety", "hypertension")),
                        severity=rng.choice(("mild", "mild", "moderate")),
                        onset_at=at + dt.timedelta(minutes=30),
                        serious=rng.random() < 0.02,
                        outcome="resolved",
                        recorded_by=nurse,
                        recorded_at=at + dt.timedelta(minutes=60),
                    )
                )
        tracked = "gad7" if indication == "anxiety" else "phq9"
        responses += _measures(rng, patient, times, kind, best, relapses, induction, tracked)
    for appointment, (session, course) in zip(appointments, sessions, strict=True):
        appointment.course_ref = session.course_ref = course.pk
    Appointment.objects.bulk_create(appointments, batch_size=BATCH)
    for appointment, (session, _) in zip(appointments, sessions, strict=True):
        session.appointment = appointment
    DosingSession.objects.bulk_create([s for s, _ in sessions], batch_size=BATCH)
    # bulk_create takes each saved parent's new id for the child rows assigned to it above.
    DoseAdministration.objects.bulk_create(doses, batch_size=BATCH)
    ScaleObservation.objects.bulk_create(obs, batch_size=BATCH)
    SessionAlert.objects.bulk_create(alerts, batch_size=BATCH)
    AdverseEvent.objects.bulk_create(events, batch_size=BATCH)
    QuestionnaireResponse.objects.bulk_create(responses, batch_size=BATCH)
    network.patients += len(patients)
    network.courses += len(courses)
    network.sessions += len(sessions)
    network.responses += len(responses)
    network.observations += len(obs)
    network.alerts += len(alerts)
    network.adverse_events += len(events)


def _measures(
    rng: random.Random,
    patient: Any,
    times: list[dt.datetime],
    kind: str,
    best: float,
    relapses: bool,
    induction: int,
    tracked: str,
) -> list[Any]:
    """The ``tracked`` measure (PHQ-9, or GAD-7 for an anxiety course) before the first dose (missing for 1 in 25),
    24 h after every dose and weekly for 12 weeks after the induction; the other of the two at baseline and every
    other week. Both follow the same trajectory, the GAD-7 at 0.7 of the PHQ-9 (0.75 when it is tracked)."""
    from ketaclinic.measures.models import QuestionnaireResponse

    baseline = rng.randrange(12, 26)
    if tracked == "gad7":
        # An anxiety course: GAD-7 baseline 9–19 (moderate to severe), PHQ-9 sampled now and then.
        tracked_base, other, other_base = round(baseline * 0.75), "phq9", baseline * 0.6
    else:
        tracked_base, other, other_base = baseline, "gad7", baseline * 0.7
    rows: list[Any] = []

    def add(instrument: str, at: dt.datetime, total: int) -> None:
        rows.append(
            QuestionnaireResponse(
                patient=patient,
                site=patient.site,
                instrument=instrument,
                answers={},
                total=max(0, min(27 if instrument == "phq9" else 21, total)),
                respondent="patient",
                channel="portal",
                completed_at=at,
            )
        )

    first = times[0]
    if rng.random() >= 0.04:
        add(tracked, first - dt.timedelta(days=rng.randrange(1, 6), hours=3), tracked_base)
    add(other, first - dt.timedelta(days=2, hours=2), round(other_base))
    induction_end = times[induction - 1]
    relapse_week = rng.randrange(3, 10)

    def level(at: dt.datetime) -> float:
        doses_so_far = sum(1 for t in times[:induction] if t <= at)
        reached = best + (1 - best) * max(0.0, 1 - doses_so_far / 4)
        if relapses and at > induction_end + dt.timedelta(weeks=relapse_week):
            reached = min(1.0, reached + 0.55)
        return reached

    for at in times:
        when = at + dt.timedelta(hours=24, minutes=rng.randrange(60))
        add(tracked, when, round(tracked_base * level(when) + rng.gauss(0, 1.5)))
    for week in range(1, 13):
        when = induction_end + dt.timedelta(weeks=week, hours=rng.randrange(1, 20))
        add(tracked, when, round(tracked_base * level(when) + rng.gauss(0, 1.5)))
        if week % 2 == 0:
            add(other, when + dt.timedelta(minutes=5), round(other_base * level(when) + rng.gauss(0, 1)))
    return rows
