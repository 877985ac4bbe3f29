"""Eligible patients, an open clinic with chairs and staff on shift, and courses built through the real actions."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
import time_machine

from ketaclinic.accounts.models import OpeningHours, Site
from ketaclinic.conftest import Cast
from ketaclinic.consents.models import Consent
from ketaclinic.courses.actions import open_course
from ketaclinic.courses.models import Course
from ketaclinic.patients.actions import add_entry, register_patient
from ketaclinic.patients.models import BodyMeasurement, Patient
from ketaclinic.scheduling.models import Resource, ResourceKind, StaffShift
from ketaclinic.screening.actions import mark_section_reviewed, run_assessment, sign_assessment
from ketaclinic.screening.tests.conftest import CALM_VITALS, add_trd_history

#: Wednesday 21 October 2026, 09:00 in Chicago (CDT): a fixed clock so plans and ages never drift.
NOW = dt.datetime(2026, 10, 21, 14, 0, tzinfo=dt.UTC)
CHICAGO = "America/Chicago"


@pytest.fixture(autouse=True)
def frozen_clock() -> Any:
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def open_clinic(site: Site, cast: Cast, *, weeks: int = 10, start: dt.date | None = None) -> None:
    """Mon–Fri 08:00–18:00 and Sat 09:00–13:00 local, two chairs and a room, a nurse and a prescriber on shift."""
    site.time_zone = CHICAGO
    site.save(update_fields=["time_zone"])
    for weekday in range(5):
        OpeningHours.objects.get_or_create(site=site, weekday=weekday, opens_at=dt.time(8), closes_at=dt.time(18))
    OpeningHours.objects.get_or_create(site=site, weekday=5, opens_at=dt.time(9), closes_at=dt.time(13))
    for name in ("Chair 1", "Chair 2"):
        Resource.objects.get_or_create(site=site, name=name, defaults={"kind": ResourceKind.INFUSION_CHAIR})
    Resource.objects.get_or_create(site=site, name="Room 1", defaults={"kind": ResourceKind.TREATMENT_ROOM})
    zone = site.zone
    first = start or NOW.astimezone(zone).date() - dt.timedelta(days=7)
    shifts = []
    for offset in range(weeks * 7):
        day = first + dt.timedelta(days=offset)
        if day.weekday() == 6:
            continue
        opens, closes = (dt.time(8), dt.time(18)) if day.weekday() < 5 else (dt.time(9), dt.time(13))
        begin = dt.datetime.combine(day, opens, tzinfo=zone)
        end = dt.datetime.combine(day, closes, tzinfo=zone)
        shifts.append(StaffShift(user=cast.nurse, site=site, starts_at=begin, ends_at=end, role_on_shift="nurse"))
        shifts.append(
            StaffShift(user=cast.prescriber, site=site, starts_at=begin, ends_at=end, role_on_shift="prescriber")
        )
    StaffShift.objects.bulk_create(shifts)


@pytest.fixture
def clinic(cast: Cast) -> Cast:
    open_clinic(cast.site_a, cast)
    return cast


def new_patient(cast: Cast, *, site: Site | None = None, **fields: Any) -> Patient:
    defaults: dict[str, Any] = {
        "legal_first_name": "Robin",
        "legal_last_name": "Testperson",
        "date_of_birth": dt.date(1980, 5, 1),
        "sex_at_birth": Patient.SexAtBirth.FEMALE,
        "pregnant": False,
        "breastfeeding": False,
    }
    defaults.update(fields)
    return register_patient(site=site or cast.site_a, by=cast.coordinator, status=Patient.Status.SCREENING, **defaults)


def weigh(patient: Patient, by: Any, kg: str = "80") -> None:
    add_entry(BodyMeasurement, patient, by=by, weight_kg=Decimal(kg), measured_at=NOW - dt.timedelta(hours=1))


def make_eligible(patient: Patient, cast: Cast, *, route: str = "iv", indication: str = "trd") -> Any:
    """Run and sign an approving eligibility assessment for ``route`` (with precautions when the rules found any)."""
    assessment = run_assessment(
        patient,
        route=route,
        indication=indication,
        by=cast.nurse,
        vitals=CALM_VITALS,
        acute_suicidal_ideation=True if indication == "mdsi" else None,
    )
    decision = "approve" if assessment.decision == "eligible" else "approve_with_precautions"
    assert assessment.decision in ("eligible", "eligible_with_precautions"), assessment.missing
    return sign_assessment(assessment, by=cast.prescriber, decision=decision)


@pytest.fixture
def eligible(cast: Cast) -> Callable[..., Patient]:
    """A factory: a patient with a complete chart, a weight and a signed approving assessment for ``route``."""

    def make(
        *,
        route: str = "iv",
        indication: str = "trd",
        weight: str | None = "80",
        site: Site | None = None,
        **fields: Any,
    ) -> Patient:
        patient = new_patient(cast, site=site, **fields)
        nurse = cast.nurse if patient.site == cast.site_a else cast.nurse_b
        add_trd_history(patient, nurse)
        for section in ("conditions", "medications", "substance_use"):
            mark_section_reviewed(patient, section, by=nurse)
        if weight is not None:
            weigh(patient, nurse, weight)
        if patient.site == cast.site_a:
            make_eligible(patient, cast, route=route, indication=indication)
        return patient

    return make


def enrol_rems(patient: Patient, cast: Cast, *, at: dt.datetime | None = None) -> Consent:
    """A signed SPRAVATO REMS enrolment (stored directly: the consents app renders the PDF, not needed here)."""
    return Consent.objects.create(
        patient=patient,
        site=patient.site,
        kind=Consent.Kind.ESKETAMINE_REMS,
        text_version="2026-11-27",
        signed_name=patient.legal_name,
        signed_at=at or NOW - dt.timedelta(days=1),
        channel=Consent.Channel.CLINIC,
        witnessed_by=cast.nurse,
        recorded_by=cast.nurse,
    )


@pytest.fixture
def iv_course(clinic: Cast, eligible: Callable[..., Patient]) -> Course:
    patient = eligible(route="iv")
    return open_course(patient, protocol="ketamine_iv_standard", indication="trd", by=clinic.prescriber)


@pytest.fixture
def esk_course(clinic: Cast, eligible: Callable[..., Patient]) -> Course:
    patient = eligible(route="esketamine_nasal")
    return open_course(patient, protocol="esketamine_trd", indication="trd", by=clinic.prescriber)
