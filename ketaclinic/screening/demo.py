"""Demo eligibility assessments: signed decisions for the demo patients whose status says they were screened.

For each demo patient who is eligible, declined, in treatment or in maintenance and has no assessment yet, the demo
prescriber (``dr.rivera``) records "reviewed: none" for empty history sections, records "not pregnant / not
breast-feeding" where unknown, runs a check with plausible screening vitals, and signs it consistently with the
patient's status. Route and vitals are derived from the MRN, so a re-seed of the same patients gives the same
result; patients who already have an assessment are left alone, so running it again adds nothing.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable

from django.db import transaction

from ketaclinic.accounts.models import User
from ketaclinic.clinical import Decision
from ketaclinic.patients.actions import update_patient
from ketaclinic.patients.models import Patient
from ketaclinic.screening.actions import mark_section_reviewed, run_assessment, sign_assessment
from ketaclinic.screening.intake import section_rows
from ketaclinic.screening.models import ChartReview, EligibilityAssessment

#: Demo prescribers; each signs for the patients of the sites they work at.
PRESCRIBERS = ("dr.rivera", "dr.hale")
SCREENED = (
    Patient.Status.ELIGIBLE,
    Patient.Status.DECLINED,
    Patient.Status.IN_TREATMENT,
    Patient.Status.MAINTENANCE,
)
ROUTES = ("iv", "esketamine_nasal", "iv", "im", "intranasal", "sublingual")
PD = EligibilityAssessment.PrescriberDecision


def _screen(patient: Patient, prescriber: User) -> str:
    for section in ChartReview.Section.values:
        if not section_rows(patient, section).exists():
            mark_section_reviewed(patient, section, by=prescriber)
    if patient.sex_at_birth != Patient.SexAtBirth.MALE and (patient.pregnant is None or patient.breastfeeding is None):
        update_patient(
            patient,
            by=prescriber,
            pregnant=bool(patient.pregnant),
            breastfeeding=bool(patient.breastfeeding),
        )
    seed = zlib.crc32(patient.mrn.encode())
    vitals = {
        "systolic_mmhg": 112 + seed % 24,
        "diastolic_mmhg": 68 + seed % 16,
        "heart_rate_bpm": 62 + seed % 24,
        "spo2_pct": 96 + seed % 4,
    }
    number = int("".join(ch for ch in patient.mrn if ch.isdigit()) or 0)
    route = ROUTES[number % len(ROUTES)]
    assessment = run_assessment(patient, route=route, indication="trd", by=prescriber, vitals=vitals)
    if patient.status == Patient.Status.DECLINED:
        sign_assessment(
            assessment,
            by=prescriber,
            decision=PD.DECLINE,
            reason="Declined after reviewing the findings with the patient (demo).",
        )
        return f"declined ({assessment.decision})"
    if assessment.decision == Decision.INCOMPLETE:
        return "left awaiting completion (the chart is incomplete)"
    if assessment.decision == Decision.ELIGIBLE:
        sign_assessment(assessment, by=prescriber, decision=PD.APPROVE)
        return "approved"
    overriding = assessment.decision == Decision.NOT_ELIGIBLE
    sign_assessment(
        assessment,
        by=prescriber,
        decision=PD.APPROVE_WITH_PRECAUTIONS,
        reason="Benefit judged to outweigh the risk after specialist review (demo override)." if overriding else "",
    )
    return "approved as an override" if overriding else "approved with precautions"


def seed(say: Callable[[str], None]) -> None:
    """Run and sign an assessment for each screened demo patient without one, by a demo prescriber at their site."""
    prescribers = list(User.objects.filter(username__in=PRESCRIBERS).order_by("username"))
    if not prescribers:
        say("  no demo prescriber: nothing to sign")
        return
    done = 0
    left = 0
    patients = (
        Patient.objects.filter(status__in=SCREENED, eligibility_assessments__isnull=True)
        .select_related("site")
        .order_by("site__code", "mrn")
    )
    for patient in patients:
        prescriber = next((u for u in prescribers if u.works_at(patient.site)), None)
        if prescriber is None:
            left += 1
            continue
        with transaction.atomic():
            outcome = _screen(patient, prescriber)
        say(f"  eligibility {patient.mrn}: {outcome} (signed by {prescriber.username})")
        done += 1
    if not done:
        say("  eligibility: every screened demo patient already has an assessment")
    if left:
        say(f"  eligibility: {left} screened patient(s) left unsigned (no demo prescriber at their site)")
