"""Test helpers for the dose record and the controlled-substance log: courses with a session cleared to dose today,
and stock received at the site. Import the fixtures into a test module to use them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from ketaclinic.accounts.models import Site
from ketaclinic.conftest import Cast
from ketaclinic.consents.models import Consent
from ketaclinic.courses.actions import open_course
from ketaclinic.courses.tests.conftest import NOW, eligible  # noqa: F401
from ketaclinic.dosing import actions, stock
from ketaclinic.dosing.models import DosingSession, DrugLot
from ketaclinic.dosing.tests.conftest import checklist, consent, gate
from ketaclinic.patients.models import Patient
from ketaclinic.scheduling.actions import appointment_type_for_route, book_appointment

PROTOCOL = {
    "iv": "ketamine_iv_standard",
    "im": "ketamine_im",
    "sublingual": "ketamine_sublingual",
    "intranasal": "ketamine_intranasal_racemic",
    "esketamine_nasal": "esketamine_trd",
}
EXPIRES = dt.date(2027, 6, 30)
LOCAL_TODAY = dt.date(2026, 10, 21)
CHECKED_IN = NOW - dt.timedelta(minutes=45)


def receive(
    cast: Cast,
    *,
    drug: str = "ketamine",
    units: int = 10,
    lot_number: str = "K-100",
    expires_on: dt.date = EXPIRES,
    site: Site | None = None,
    by: Any = None,
) -> DrugLot:
    """Receive a lot: ketamine 50 mg/mL in 10 mL vials (500 mg a vial), or esketamine 28 mg devices."""
    ketamine = drug == "ketamine"
    movement = stock.receive_lot(
        site or cast.site_a,
        by=by or cast.nurse,
        drug=drug,
        product="Ketamine HCl 50 mg/mL, 10 mL vial" if ketamine else "Spravato 28 mg device",
        lot_number=lot_number,
        expires_on=expires_on,
        mg_per_unit=500 if ketamine else 28,
        units=units,
        concentration_mg_per_ml=50 if ketamine else None,
        at=NOW - dt.timedelta(days=1),
    )
    return movement.lot


@pytest.fixture
def dose_session(
    clinic: Cast,
    eligible: Callable[..., Patient],  # noqa: F811
    frozen_clock: Any,
) -> Callable[..., DosingSession]:
    """A factory: a patient on a course of ``route`` booked today as session 1, checked in (``weight_kg``) and cleared
    to dose at 08:15 (45 minutes before the clock's now). ``cleared=False`` stops after check-in; ``course=False``
    books without a course."""
    hours = iter(range(9, 17))

    def make(
        *, route: str = "iv", weight_kg: Any = 80, cleared: bool = True, course: bool = True, **course_args: Any
    ) -> DosingSession:
        patient = eligible(route=route)
        kind = Consent.Kind.ESKETAMINE_REMS if route == "esketamine_nasal" else Consent.Kind.KETAMINE_TREATMENT
        consent(patient, clinic, kind)
        opened = (
            open_course(patient, protocol=PROTOCOL[route], indication="trd", by=clinic.prescriber, **course_args)
            if course
            else None
        )
        zone = patient.site.zone
        start = dt.datetime.combine(NOW.astimezone(zone).date(), dt.time(next(hours)), tzinfo=zone)
        appointment = book_appointment(
            patient=patient,
            appointment_type=appointment_type_for_route(route),
            start=start,
            by=clinic.coordinator,
            course_ref=opened.pk if opened else None,
            sequence_number=1 if opened else None,
        )
        session = actions.open_session(appointment, by=clinic.nurse)
        frozen_clock.move_to(CHECKED_IN)
        fasted = {"last_food_at": NOW - dt.timedelta(hours=6), "last_liquid_at": NOW - dt.timedelta(hours=3)}
        actions.check_in(session, by=clinic.nurse, **checklist(weight_kg=weight_kg, **fasted))
        session.refresh_from_db()
        if cleared:
            decision = gate(session, clinic.nurse)
            assert decision.decision == "go", decision.findings
        frozen_clock.move_to(NOW)
        return session

    return make


def mg(value: Any) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))
