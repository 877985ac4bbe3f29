"""Sessions that reached monitoring, built for the discharge and document tests.

Check-in, baseline vitals and the gate go through the real actions; the dose, in-session vitals, scales, alerts and
adverse events (recorded by other parts of the session day) are inserted as rows, as those parts would store them.
The clock is the shared frozen one (Wed 21 Oct 2026 09:00 Chicago): the dose starts 5 minutes after the gate and
tests move the clock on with ``frozen_clock.move_to(at(minutes))``.

Test modules import the fixture functions (``esk_fixture``, ``iv_fixture``, ``esk_patient_fixture``,
``iv_patient_fixture``) to register them and request them by their short names (``esk``, ``iv``, …).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest

from ketaclinic.conftest import Cast
from ketaclinic.consents.models import Consent
from ketaclinic.courses.actions import open_course
from ketaclinic.courses.tests.conftest import NOW, make_eligible, new_patient, weigh
from ketaclinic.dosing import actions
from ketaclinic.dosing.models import (
    DoseAdministration,
    DosingSession,
    DrugLot,
    EsketamineDevice,
    ScaleObservation,
    VitalSign,
)
from ketaclinic.dosing.tests.conftest import CALM, checklist, consent
from ketaclinic.patients.models import Patient
from ketaclinic.scheduling.actions import appointment_type_for_route, book_appointment
from ketaclinic.screening.actions import mark_section_reviewed
from ketaclinic.screening.tests.conftest import add_trd_history

#: Calm in-session vitals close to the CALM baseline.
RECOVERED = {"systolic_mmhg": 126, "diastolic_mmhg": 80, "heart_rate_bpm": 74, "spo2_pct": 97, "resp_rate_per_min": 14}
DOSE_AT = NOW + dt.timedelta(minutes=5)


def at(minutes: float) -> dt.datetime:
    """``minutes`` after the start of the dose."""
    return DOSE_AT + dt.timedelta(minutes=minutes)


@dataclass
class Built:
    session: DosingSession
    administration: DoseAdministration
    cast: Cast


def lot(cast: Cast, drug: str) -> DrugLot:
    if drug == "esketamine":
        values = {"product": "Spravato 28 mg nasal device", "mg_per_unit": Decimal("28"), "lot_number": "ESK-2291A"}
    else:
        values = {
            "product": "Ketamine HCl 50 mg/mL, 10 mL vial",
            "mg_per_unit": Decimal("500"),
            "concentration_mg_per_ml": Decimal("50"),
            "lot_number": "KET-7781",
        }
    found, _ = DrugLot.objects.get_or_create(
        site=cast.site_a,
        drug=drug,
        lot_number=values.pop("lot_number"),
        defaults={**values, "expires_on": dt.date(2027, 6, 30), "received_by": cast.nurse},
    )
    return found


def vitals(session: DosingSession, minutes: float, values: dict[str, int] | None = None, **extra: Any) -> VitalSign:
    return VitalSign.objects.create(
        session=session, recorded_at=at(minutes), recorded_by=None, **(values or RECOVERED), **extra
    )


def observe(session: DosingSession, by: Any, instrument: str, total: float, minutes: float) -> ScaleObservation:
    return ScaleObservation.objects.create(
        session=session, instrument=instrument, total=Decimal(str(total)), observed_at=at(minutes), observed_by=by
    )


def monitored_session(
    cast: Cast,
    patient: Patient,
    *,
    route: str,
    devices: int = 2,
    infusion_min: int | None = 40,
    baseline: dict[str, int] | None = None,
    day_offset: int = 0,
) -> Built:
    """A session of ``patient``'s open course that was gated, dosed (at :data:`DOSE_AT`, ``day_offset`` days later)
    and is now monitored. With a ``day_offset`` the clock must already be on that day."""
    course = patient.courses.get()
    shift = dt.timedelta(days=day_offset)

    def when(minutes: float) -> dt.datetime:
        return at(minutes) + shift

    zone = patient.site.zone
    start = dt.datetime.combine((NOW + shift).astimezone(zone).date(), dt.time(10), tzinfo=zone)
    appointment = book_appointment(
        patient=patient, appointment_type=appointment_type_for_route(route), start=start, by=cast.coordinator
    )
    session = actions.open_session(appointment, by=cast.nurse)
    actions.check_in(session, by=cast.nurse, **checklist())
    actions.record_baseline_vitals(session, by=cast.nurse, vitals=baseline or CALM)
    actions.run_predose_gate(session, by=cast.nurse)
    session.refresh_from_db()
    if session.state == "review":
        actions.confirm_review(session, by=cast.prescriber, reason="Rechecked; asymptomatic and benefit outweighs.")
    elif session.state == "on_hold":
        actions.override_hold(session, by=cast.prescriber, reason="Rechecked; asymptomatic and benefit outweighs.")
    order = course.current_dose_order()
    assert order is not None
    esketamine = route == "esketamine_nasal"
    stop = 10 if esketamine else infusion_min
    administration = DoseAdministration.objects.create(
        session=session,
        order=order,
        drug="esketamine" if esketamine else "ketamine",
        route=route,
        amount_mg=Decimal(28 * devices) if esketamine else Decimal("40.0"),
        amount_given_mg=Decimal(28 * devices) if esketamine else Decimal("40.0"),
        lot=lot(cast, "esketamine" if esketamine else "ketamine"),
        started_at=when(0),
        stopped_at=when(stop) if stop is not None else None,
        administered_by=cast.nurse,
        witnessed_by=cast.prescriber,
        recorded_at=when(0),
    )
    if esketamine:
        for number in range(1, devices + 1):
            EsketamineDevice.objects.create(
                administration=administration, number=number, at=when(5 * (number - 1)), by=cast.nurse
            )
    # The administration part of the session day moves the session on; here the rows are inserted directly.
    DosingSession.objects.filter(pk=session.pk).update(state="monitoring", version=session.version + 2)
    session.refresh_from_db()
    return Built(session, administration, cast)


def recover(built: Built, *, minutes: float = 125, aldrete: int = 10) -> None:
    """Calm vitals at 40 min and near the end, MOAA/S 5 and a recovery score: a patient ready to leave."""
    session, nurse = built.session, built.cast.nurse
    vitals(session, 40, timepoint_min=40)
    vitals(session, minutes - 5)
    observe(session, nurse, "moaas", 5, minutes - 5)
    observe(session, nurse, "aldrete", aldrete, minutes - 5)


def eligible_patient(cast: Cast, route: str) -> Patient:
    """A patient with a complete chart, a weight and a signed approving assessment for ``route`` (as the courses
    tests build one)."""
    patient = new_patient(cast)
    add_trd_history(patient, cast.nurse)
    for section in ("conditions", "medications", "substance_use"):
        mark_section_reviewed(patient, section, by=cast.nurse)
    weigh(patient, cast.nurse)
    make_eligible(patient, cast, route=route)
    return patient


@pytest.fixture(name="esk_patient")
def esk_patient_fixture(clinic: Cast) -> Patient:
    patient = eligible_patient(clinic, "esketamine_nasal")
    consent(patient, clinic, Consent.Kind.ESKETAMINE_REMS)
    open_course(patient, protocol="esketamine_trd", indication="trd", by=clinic.prescriber)
    return patient


@pytest.fixture(name="iv_patient")
def iv_patient_fixture(clinic: Cast) -> Patient:
    patient = eligible_patient(clinic, "iv")
    consent(patient, clinic, Consent.Kind.KETAMINE_TREATMENT)
    open_course(patient, protocol="ketamine_iv_standard", indication="trd", by=clinic.prescriber)
    return patient


@pytest.fixture(name="esk")
def esk_fixture(clinic: Cast, esk_patient: Patient) -> Built:
    return monitored_session(clinic, esk_patient, route="esketamine_nasal")


@pytest.fixture(name="iv")
def iv_fixture(clinic: Cast, iv_patient: Patient) -> Built:
    return monitored_session(clinic, iv_patient, route="iv")
