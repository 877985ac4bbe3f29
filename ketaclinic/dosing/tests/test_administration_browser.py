"""In real Chromium on a tablet-sized screen: a nurse starts today's IV dose with a prescriber witnessing, pauses and
resumes it, stops it early with the rest wasted under the witness's password, and the lot's ledger shows it all."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from ketaclinic.consents.models import Consent
from ketaclinic.courses.actions import open_course
from ketaclinic.courses.tests.conftest import make_eligible, new_patient, weigh
from ketaclinic.dosing import actions
from ketaclinic.dosing.tests.conftest import CALM, checklist, consent
from ketaclinic.dosing.tests.doses import receive
from ketaclinic.scheduling.models import Appointment, AppointmentType
from ketaclinic.scheduling.tests.conftest import ensure_appointment_types
from ketaclinic.screening.actions import mark_section_reviewed
from ketaclinic.screening.tests.conftest import add_trd_history
from ketaclinic.tests.browser import expect, shot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def frozen_clock():
    """The browser and the live server run on the real clock."""
    return None


def test_a_nurse_gives_an_iv_dose_and_the_log_follows(page, live_server, cast):
    ensure_appointment_types()
    now = timezone.now().replace(microsecond=0)
    cast.site_a.time_zone = "UTC"
    cast.site_a.save(update_fields=["time_zone"])
    patient = new_patient(cast)
    add_trd_history(patient, cast.nurse)
    for section in ("conditions", "medications", "substance_use"):
        mark_section_reviewed(patient, section, by=cast.nurse)
    weigh(patient, cast.nurse, "80")
    make_eligible(patient, cast, route="iv")
    consent(patient, cast, Consent.Kind.KETAMINE_TREATMENT)
    course = open_course(patient, protocol="ketamine_iv_standard", indication="trd", by=cast.prescriber)
    appointment = Appointment.objects.create(
        site=patient.site,
        patient=patient,
        appointment_type=AppointmentType.objects.get(route="iv", is_dosing=True),
        starts_at=now,
        ends_at=now + dt.timedelta(minutes=70),
        created_by=cast.coordinator,
        course_ref=course.pk,
        sequence_number=1,
    )
    session = actions.open_session(appointment, by=cast.nurse)
    fasted = {"last_food_at": now - dt.timedelta(hours=8), "last_liquid_at": now - dt.timedelta(hours=3)}
    actions.check_in(session, by=cast.nurse, **checklist(weight_kg="82.3", **fasted))
    actions.record_baseline_vitals(session, by=cast.nurse, vitals=CALM)
    assert actions.run_predose_gate(session, by=cast.nurse).decision == "go"
    lot = receive(cast)
    base = live_server.url

    sign_in(page, base, "nurse", cast.password)
    page.goto(f"{base}/patients/{patient.pk}/sessions/{session.pk}/")
    panel = page.locator("#administration")
    expect(panel).to_contain_text("0.5 mg/kg × 82.3 kg")
    expect(panel).to_contain_text("41.2 mg")
    expect(panel).to_contain_text("151.2 mL/h")
    panel.get_by_label("Lot", exact=True).select_option(str(lot.pk))
    start = page.locator("form[action$='/dose/start/']")
    start.get_by_label("Witness", exact=True).select_option(str(cast.prescriber.pk))
    start.get_by_label("Witness's password").fill(cast.password)
    shot(page, "dose-0-start")
    page.get_by_role("button", name="Start the dose").click()
    expect(page.locator("#state")).to_have_text("Dosing")
    expect(page.locator("#dose-status")).to_contain_text("Running")

    page.get_by_label("Why pause").fill("Nausea")
    page.get_by_role("button", name="Pause the infusion").click()
    expect(page.locator("#dose-status")).to_contain_text("Paused")
    page.get_by_role("button", name="Resume the infusion").click()
    expect(page.locator("#dose-status")).to_contain_text("Running")

    page.get_by_text("Stop the infusion", exact=True).first.click()
    stop = page.locator("form[action$='/dose/stop/']")
    stop.get_by_label("Amount given (mg)").fill("30")
    stop.get_by_label("Why stopped early").fill("Hypertension 182/104 despite slowing")
    stop.get_by_label("Witness", exact=True).select_option(str(cast.prescriber.pk))
    stop.get_by_label("Witness's password").fill(cast.password)
    shot(page, "dose-1-stop")
    stop.get_by_role("button", name="Stop the infusion").click()
    expect(page.locator("#state")).to_have_text("Monitoring")
    expect(panel).to_contain_text("Wasted 11.2 mg")

    page.goto(f"{base}/dosing/stock/{lot.pk}/")
    ledger = page.locator("table").first
    expect(ledger).to_contain_text("Administered")
    expect(ledger).to_contain_text("Wasted")
    expect(page.locator(".session-band")).to_contain_text("4958.8 mg on hand")
    shot(page, "dose-2-ledger")
