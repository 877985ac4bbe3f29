"""In real Chromium: the front desk books, meets a conflict, takes an offered alternative, reschedules from the
offered free times, and the day calendar shows the appointment where it now is."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest
from django.utils import timezone

from ketaclinic.scheduling.actions import book_appointment
from ketaclinic.scheduling.models import Appointment, AppointmentType
from ketaclinic.scheduling.tests.conftest import CHICAGO, ensure_appointment_types, put_on_shift
from ketaclinic.tests.browser import expect, shot, sign_in

if TYPE_CHECKING:
    pass

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def _frozen_clock() -> Iterator[None]:
    """The browser and the live server run on the real clock."""
    yield None


@pytest.fixture(autouse=True)
def _types(transactional_db: None) -> None:
    ensure_appointment_types()


def test_the_front_desk_books_takes_an_alternative_and_reschedules(page, live_server, cast, site, chairs, patient):
    today = timezone.now().astimezone(CHICAGO).date()
    monday = today + dt.timedelta(days=7 - today.weekday() + 7)  # the Monday after next: always ahead
    put_on_shift(cast.nurse, site, "nurse", monday, monday + dt.timedelta(days=4))
    iv = AppointmentType.objects.get(code="ketamine_iv")
    from ketaclinic.patients.tests.factories import PatientFactory

    book_appointment(
        patient=PatientFactory.create(site=site),
        appointment_type=iv,
        start=dt.datetime.combine(monday, dt.time(10), tzinfo=CHICAGO),
        by=cast.coordinator,
        resource=chairs[0],
    )
    base = live_server.url
    sign_in(page, base, "coordinator", cast.password)

    page.goto(f"{base}/schedule/book/")
    page.get_by_label("Patient").fill("Quill")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name="Book for Morgan Quill").click()
    page.get_by_label("Appointment type").select_option(label="IV infusion session")
    page.get_by_label("Date").fill(monday.isoformat())
    page.get_by_label("Time").fill("10:30")
    page.get_by_label("Chair or room").select_option(label="Chair 1")
    page.get_by_role("button", name="Book", exact=True).click()

    expect(page.get_by_text("Chair 1 is booked 10:00–11:10")).to_be_visible()
    assert page.locator("#id_time").input_value() == "10:30"  # what was typed is kept
    shot(page, "schedule-0-conflict")
    page.get_by_role("button", name=f"{monday:%a %d %b} 10:30–11:40 · Chair 2").click()
    expect(page.get_by_text("Booked IV infusion session for Morgan Quill")).to_be_visible()
    booked = Appointment.objects.get(patient=patient)
    assert booked.resource == chairs[1]

    page.get_by_role("link", name="Reschedule").click()
    wednesday = monday + dt.timedelta(days=2)
    page.get_by_label("Free times from").fill(wednesday.isoformat())
    page.get_by_role("button", name="Show free times from this day").click()
    page.get_by_role("button", name=f"{wednesday:%a %d %b} 08:00–09:10 · Chair 2").click()
    expect(page.get_by_text(f"Moved to {wednesday:%a %d %b %Y} at 08:00.")).to_be_visible()
    shot(page, "schedule-1-moved")

    page.goto(f"{base}/schedule/?date={wednesday.isoformat()}")
    block = page.locator("a.block", has_text="Morgan Quill")
    expect(block).to_be_visible()
    expect(block).to_contain_text("08:00–09:10")
    shot(page, "schedule-2-day")
