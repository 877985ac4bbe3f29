"""In real Chromium: the day board follows a session through the day without a reload, on the staff view and on the
wall screen (initials only)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from ketaclinic.courses.tests.conftest import new_patient
from ketaclinic.dosing.models import DosingSession, SessionAlert
from ketaclinic.scheduling.models import Appointment, AppointmentType, Resource
from ketaclinic.scheduling.tests.conftest import ensure_appointment_types
from ketaclinic.tests.browser import expect, shot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def frozen_clock():
    """The browser and the live server run on the real clock."""
    return None


def poll(page):
    """Move the page's clock past one refresh interval and let htmx swap the answer in."""
    page.wait_for_load_state("load")  # htmx has set its polling timer
    with page.expect_response(lambda response: "/dosing/board/rows/" in response.url, timeout=20_000):
        page.clock.run_for(11_000)
    page.clock.run_for(1_000)


def test_the_board_updates_in_place_as_the_session_moves_on(page, live_server, cast):
    ensure_appointment_types()
    now = timezone.now().replace(microsecond=0)
    cast.site_a.time_zone = "UTC"
    cast.site_a.save(update_fields=["time_zone"])
    chair = Resource.objects.create(site=cast.site_a, name="Chair 3", kind="infusion_chair")
    patient = new_patient(cast, legal_first_name="Ana", legal_last_name="Lopez")
    appointment = Appointment.objects.create(
        site=patient.site,
        patient=patient,
        appointment_type=AppointmentType.objects.get(route="iv", is_dosing=True),
        resource=chair,
        starts_at=now,
        ends_at=now + dt.timedelta(minutes=70),
        created_by=cast.coordinator,
    )
    session = DosingSession.objects.create(
        appointment=appointment,
        patient=patient,
        site=patient.site,
        route="iv",
        state="checked_in",
        checked_in_at=now,
        checked_in_by=cast.nurse,
        opened_by=cast.nurse,
    )
    base = live_server.url
    sign_in(page, base, "nurse", cast.password)
    page.clock.install()  # the board's polling timer runs on a clock the test moves forward
    page.get_by_role("link", name="Day board", exact=True).click()
    row = page.locator(f"#appt-{appointment.pk}")
    expect(row).to_contain_text("Ana Lopez")
    expect(row).to_contain_text("Checked in")
    expect(page.locator("#chair-1")).to_have_text("Chair 3")

    page.evaluate("window.stillTheSamePage = true")
    session.state = "monitoring"
    session.save(update_fields=["state"])
    SessionAlert.objects.create(session=session, code="spo2_low", level="urgent", message="SpO2 89 %", raised_at=now)
    poll(page)
    expect(row).to_contain_text("Monitoring")
    expect(row).to_contain_text("1 open alert")
    expect(row).to_contain_text("SpO2 89 %")
    assert page.evaluate("window.stillTheSamePage") is True  # updated in place: no reload happened
    shot(page, "board-0-staff")

    page.goto(f"{base}/dosing/board/?wall=1")
    row = page.locator(f"#appt-{appointment.pk}")
    expect(row).to_contain_text("AL")
    expect(row).not_to_contain_text("Ana")
    session.state = "ready_for_discharge"
    session.save(update_fields=["state"])
    poll(page)
    expect(row).to_contain_text("Ready for discharge")
    shot(page, "board-1-wall")
