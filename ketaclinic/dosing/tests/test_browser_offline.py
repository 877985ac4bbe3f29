"""In real Chromium: the connection drops while a nurse submits the check-in and the baseline vitals. What was typed
stays in the form, a banner says it is not saved yet, and it is sent as soon as the connection returns (or when
"Try again" is pressed once it is back); the rows are then in the database and on the page."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.utils import timezone

from ketaclinic.consents.models import Consent
from ketaclinic.courses.tests.conftest import new_patient
from ketaclinic.dosing import actions
from ketaclinic.dosing.models import CheckIn, VitalSign
from ketaclinic.dosing.tests.conftest import checklist, consent
from ketaclinic.scheduling.models import Appointment, AppointmentType
from ketaclinic.scheduling.tests.conftest import ensure_appointment_types
from ketaclinic.tests.browser import expect, shot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
BANNER = "Not saved yet — no connection. Will send when the connection returns."


@pytest.fixture
def frozen_clock():
    """The browser and the live server run on the real clock."""
    return None


def test_check_in_and_vitals_typed_offline_are_sent_when_the_connection_returns(page, live_server, cast):
    ensure_appointment_types()
    now = timezone.now().replace(microsecond=0)
    cast.site_a.time_zone = "UTC" if now.hour >= 4 else "Asia/Tokyo"
    cast.site_a.save(update_fields=["time_zone"])
    patient = new_patient(cast)
    consent(patient, cast, Consent.Kind.KETAMINE_TREATMENT)
    appointment = Appointment.objects.create(
        site=patient.site,
        patient=patient,
        appointment_type=AppointmentType.objects.get(route="iv", is_dosing=True),
        starts_at=now,
        ends_at=now + dt.timedelta(minutes=70),
        created_by=cast.coordinator,
    )
    session = actions.open_session(appointment, by=cast.nurse)
    earlier = (now - dt.timedelta(hours=3)).astimezone(patient.site.zone)
    base = live_server.url
    sign_in(page, base, "nurse", cast.password)
    page.goto(f"{base}/patients/{patient.pk}/sessions/{session.pk}/")

    # The check-in: the connection drops before "Check in"; it is sent by itself when the connection returns.
    page.context.set_offline(True)
    page.get_by_label("Identity confirmed").check()
    page.get_by_label("Weight today (kg)").fill("81.5")
    page.get_by_label("Last food (time today)").fill(earlier.strftime("%H:%M"))
    page.get_by_label("Last liquid (time today)").fill(earlier.strftime("%H:%M"))
    page.get_by_label("Escort or driver").fill("Sam Escort")
    page.get_by_label("Escort's phone").fill("555-0199")
    page.get_by_label("Escort confirmed for the ride home").check()
    page.get_by_label("Negative").check()
    page.get_by_label("No hold ordered").check()
    page.get_by_role("button", name="Check in").click()
    banner = page.locator("#checklist .offline-banner")
    expect(banner).to_be_visible()
    expect(banner).to_have_text(f"{BANNER}Try again")
    shot(page, "dosing-offline-0-checkin-banner")
    assert not CheckIn.objects.filter(session=session).exists()
    expect(page.get_by_label("Weight today (kg)")).to_have_value("81.5")
    expect(page.get_by_label("Escort or driver")).to_have_value("Sam Escort")

    page.context.set_offline(False)
    expect(page.locator("#state")).to_have_text("Checked in")
    expect(page.locator("#checklist")).to_contain_text("81.5 kg")
    checkin = CheckIn.objects.get(session=session)
    assert str(checkin.weight_kg) == "81.5" and checkin.escort_name == "Sam Escort"

    # Baseline vitals: "Try again" while still offline keeps the banner; pressed once back online, it saves.
    page.context.set_offline(True)
    page.get_by_label("Systolic (mmHg)").fill("128")
    page.get_by_label("Diastolic (mmHg)").fill("82")
    page.get_by_label("Heart rate (/min)").fill("76")
    page.get_by_label("SpO2 (%)").fill("97")
    page.get_by_role("button", name="Save baseline vitals").click()
    banner = page.locator("#vitals .offline-banner")
    expect(banner).to_contain_text("Not saved yet — no connection.")
    banner.get_by_role("button", name="Try again").click()
    expect(banner).to_be_visible()
    expect(page.get_by_label("Systolic (mmHg)")).to_have_value("128")
    assert not VitalSign.objects.filter(session=session).exists()
    shot(page, "dosing-offline-1-vitals-banner")

    page.context.set_offline(False)
    expect(page.locator("#vitals")).to_contain_text("128/82 mmHg")
    vitals = VitalSign.objects.get(session=session)
    assert (vitals.systolic_mmhg, vitals.diastolic_mmhg, vitals.heart_rate_bpm, vitals.spo2_pct) == (128, 82, 76, 97)
    assert vitals.is_baseline and vitals.recorded_by == cast.nurse


def test_a_form_sent_in_the_background_still_shows_the_server_s_errors(page, live_server, cast):
    ensure_appointment_types()
    now = timezone.now().replace(microsecond=0)
    patient = new_patient(cast)
    appointment = Appointment.objects.create(
        site=patient.site,
        patient=patient,
        appointment_type=AppointmentType.objects.get(route="iv", is_dosing=True),
        starts_at=now,
        ends_at=now + dt.timedelta(minutes=70),
        created_by=cast.coordinator,
    )
    session = actions.open_session(appointment, by=cast.nurse)
    sign_in(page, live_server.url, "nurse", cast.password)
    page.goto(f"{live_server.url}/patients/{patient.pk}/sessions/{session.pk}/")

    page.get_by_label("Weight today (kg)").fill("81.5")
    page.get_by_label("Negative").check()
    page.get_by_label("No hold ordered").check()
    page.get_by_role("button", name="Check in").click()  # identity not confirmed: refused, what was typed kept

    expect(page.locator("#checklist")).to_contain_text("Identity")
    expect(page.locator("#checklist .error").first).to_be_visible()
    expect(page.get_by_label("Weight today (kg)")).to_have_value("81.5")
    expect(page.locator(".offline-banner")).to_have_count(0)
    assert not CheckIn.objects.filter(session=session).exists()


def test_values_typed_offline_survive_a_sign_out_while_away(page, live_server, cast):
    """Away longer than the idle sign-out: the resend meets the sign-in page; the values stay until signed in again."""
    ensure_appointment_types()
    now = timezone.now().replace(microsecond=0)
    patient = new_patient(cast)
    appointment = Appointment.objects.create(
        site=patient.site,
        patient=patient,
        appointment_type=AppointmentType.objects.get(route="iv", is_dosing=True),
        starts_at=now,
        ends_at=now + dt.timedelta(minutes=70),
        created_by=cast.coordinator,
    )
    session = actions.open_session(appointment, by=cast.nurse)
    actions.check_in(session, by=cast.nurse, **checklist(last_food_at=None, last_liquid_at=None))
    sign_in(page, live_server.url, "nurse", cast.password)
    page.goto(f"{live_server.url}/patients/{patient.pk}/sessions/{session.pk}/")

    page.context.set_offline(True)
    page.get_by_label("Systolic (mmHg)").fill("131")
    page.get_by_label("Diastolic (mmHg)").fill("84")
    page.get_by_label("Heart rate (/min)").fill("70")
    page.get_by_label("SpO2 (%)").fill("99")
    page.get_by_role("button", name="Save baseline vitals").click()
    banner = page.locator("#vitals .offline-banner")
    expect(banner).to_contain_text("no connection")
    Session.objects.all().delete()  # signed out while away (the sessions' cached copies too)
    cache.clear()
    page.context.set_offline(False)
    expect(banner).to_contain_text("Not saved yet — you were signed out.")
    expect(page.get_by_label("Systolic (mmHg)")).to_have_value("131")
    assert not VitalSign.objects.filter(session=session).exists()
    shot(page, "dosing-offline-2-signed-out")

    other = page.context.new_page()
    sign_in(other, live_server.url, "nurse", cast.password)
    other.close()
    banner.get_by_role("button", name="Try again").click()
    expect(page.locator("#vitals")).to_contain_text("131/84 mmHg")
    assert VitalSign.objects.get(session=session).systolic_mmhg == 131
