"""In real Chromium: a nurse is typing vitals when a second screen records an alarming set; the panel's poll brings
the alert in without wiping what she typed; she saves her row and acknowledges the alert with the action taken."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from ketaclinic.consents.models import Consent
from ketaclinic.courses.tests.conftest import new_patient
from ketaclinic.dosing import actions, monitoring
from ketaclinic.dosing.models import DosingSession, SessionAlert, VitalSign
from ketaclinic.dosing.tests.conftest import CALM, consent
from ketaclinic.scheduling.models import Appointment, AppointmentType
from ketaclinic.scheduling.tests.conftest import ensure_appointment_types
from ketaclinic.tests.browser import expect, shot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def frozen_clock():
    """The browser and the live server run on the real clock."""
    return None


def test_a_poll_brings_a_new_alert_without_losing_typed_values(page, live_server, cast):
    ensure_appointment_types()
    now = timezone.now().replace(microsecond=0)
    patient = new_patient(cast)
    consent(patient, cast, Consent.Kind.KETAMINE_TREATMENT)
    appointment = Appointment.objects.create(
        site=patient.site,
        patient=patient,
        appointment_type=AppointmentType.objects.get(route="iv", is_dosing=True),
        starts_at=now - dt.timedelta(minutes=20),
        ends_at=now + dt.timedelta(minutes=50),
        created_by=cast.coordinator,
    )
    session = actions.open_session(appointment, by=cast.nurse)
    # The dose itself is recorded by another screen; here the session is simply being monitored.
    VitalSign.objects.create(session=session, recorded_by=cast.nurse, is_baseline=True, **CALM)
    DosingSession.objects.filter(pk=session.pk).update(state="monitoring")
    base = live_server.url

    sign_in(page, base, "nurse", cast.password)
    page.goto(f"{base}/patients/{patient.pk}/sessions/{session.pk}/")
    expect(page.locator("#monitoring")).to_contain_text("No in-session vital signs yet.")
    form = page.locator("#mon-vitals-form")
    form.get_by_label("Systolic (mmHg)").fill("134")
    form.get_by_label("Diastolic (mmHg)").fill("82")

    session.refresh_from_db()
    monitoring.record_session_vitals(session, by=cast.prescriber, vitals={**CALM, "spo2_pct": 88}, source="monitor")
    # What the 15-second poll does, without waiting for it.
    page.evaluate(
        "url => htmx.ajax('GET', url, {source: '#monitoring', target: '#monitoring', swap: 'outerHTML'})",
        f"{base}/patients/{patient.pk}/sessions/{session.pk}/monitor/",
    )
    expect(page.locator(".alert-card.alert-urgent")).to_contain_text("SpO2 88 % is below 92 %")
    expect(form.get_by_label("Systolic (mmHg)")).to_have_value("134")
    expect(form.get_by_label("Diastolic (mmHg)")).to_have_value("82")
    shot(page, "dosing-monitor-0-alert")

    form.get_by_label("Heart rate (/min)").fill("76")
    form.get_by_label("SpO2 (%)").fill("97")
    form.get_by_role("button", name="Save vitals").click()
    expect(page.locator(".vitals-table")).to_contain_text("134/82")

    alert = SessionAlert.objects.get(session=session)
    ack = page.locator(f"#ack-form-{alert.pk}")
    ack.get_by_label("Observed; repeat measurement").check()
    ack.get_by_label("What you saw and did").fill("Probe slipped; repositioned, SpO2 97 % on repeat.")
    ack.get_by_role("button", name="Acknowledge").click()
    expect(page.locator(".acked")).to_contain_text("Observed; repeat measurement")
    expect(page.locator(".alert-card")).to_have_count(0)
    shot(page, "dosing-monitor-1-acknowledged")
    alert.refresh_from_db()
    assert alert.acknowledged_by == cast.nurse and alert.action == "observed"
