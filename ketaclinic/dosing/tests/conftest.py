"""A clinic open today with a nurse and prescriber on shift, a patient with consent, and a dosing appointment today.

The clock is the courses tests' (Wednesday 21 October 2026, 09:00 in Chicago)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ketaclinic.conftest import Cast
from ketaclinic.consents.models import Consent
from ketaclinic.courses.tests.conftest import NOW, frozen_clock, new_patient, open_clinic  # noqa: F401
from ketaclinic.dosing import actions
from ketaclinic.dosing.models import DosingSession
from ketaclinic.patients.models import Patient
from ketaclinic.scheduling.actions import appointment_type_for_route, book_appointment
from ketaclinic.scheduling.models import Appointment


@pytest.fixture(autouse=True)
def media_root(settings: Any, tmp_path: Path) -> Path:
    """Documents (REMS forms, notes, PDFs) a test generates go to its own directory, never the real media root."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return Path(settings.MEDIA_ROOT)


CALM = {"systolic_mmhg": 122, "diastolic_mmhg": 78, "heart_rate_bpm": 72, "spo2_pct": 98, "resp_rate_per_min": 14}


def consent(patient: Patient, cast: Cast, kind: str) -> Consent:
    return Consent.objects.create(
        patient=patient,
        site=patient.site,
        kind=kind,
        text_version="2026-10-01",
        signed_name=patient.legal_name,
        signed_at=NOW - dt.timedelta(days=2),
        channel=Consent.Channel.CLINIC,
        witnessed_by=cast.nurse,
        recorded_by=cast.nurse,
    )


def book_today(patient: Patient, cast: Cast, route: str = "iv", hour: int = 10) -> Appointment:
    zone = patient.site.zone
    start = dt.datetime.combine(NOW.astimezone(zone).date(), dt.time(hour), tzinfo=zone)
    return book_appointment(
        patient=patient, appointment_type=appointment_type_for_route(route), start=start, by=cast.coordinator
    )


def checklist(**overrides: Any) -> dict[str, Any]:
    """A complete, unremarkable check-in: fasted 3 h / 1 h, escort confirmed, no new medicines."""
    values: dict[str, Any] = {
        "identity_confirmed": True,
        "weight_kg": 80,
        "pregnancy_test": "negative",
        "benzodiazepine_held": "not_ordered",
        "last_food_at": NOW - dt.timedelta(hours=3),
        "last_liquid_at": NOW - dt.timedelta(hours=1),
        "escort_name": "Sam Escort",
        "escort_phone": "555-0199",
        "escort_confirmed": True,
    }
    values.update(overrides)
    return values


@pytest.fixture
def clinic(cast: Cast) -> Cast:
    open_clinic(cast.site_a, cast)
    return cast


@pytest.fixture
def make_session(clinic: Cast) -> Callable[..., DosingSession]:
    """A factory: a consented patient booked today for ``route``, with the session opened (and checked in)."""

    hours = iter(range(9, 17))

    def make(*, route: str = "iv", checked_in: bool = True, consented: bool = True, **check: Any) -> DosingSession:
        patient = new_patient(clinic)
        if consented:
            kind = Consent.Kind.ESKETAMINE_REMS if route == "esketamine_nasal" else Consent.Kind.KETAMINE_TREATMENT
            consent(patient, clinic, kind)
        session = actions.open_session(book_today(patient, clinic, route, next(hours)), by=clinic.nurse)
        if checked_in:
            actions.check_in(session, by=clinic.nurse, **checklist(**check))
            session.refresh_from_db()
        return session

    return make


def gate(session: DosingSession, by: Any, vitals: dict[str, Any] | None = None) -> Any:
    actions.record_baseline_vitals(session, by=by, vitals=vitals or CALM)
    decision = actions.run_predose_gate(session, by=by)
    session.refresh_from_db()
    return decision


# The monitoring tests' dosed-session factory (and the course fixtures it rests on).
from ketaclinic.dosing.tests.monitoring_helpers import dosed, eligible, iv_course  # noqa: E402, F401
