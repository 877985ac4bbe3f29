"""In real Chromium: a prescriber opens an IV course, the coordinator books the induction series and moves session 3,
and the course page and the patient's schedule show the new time."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING

import pytest
from django.utils import timezone

from ketaclinic.courses.models import Course
from ketaclinic.courses.tests.conftest import make_eligible, new_patient, open_clinic, weigh
from ketaclinic.scheduling.models import Appointment
from ketaclinic.screening.actions import mark_section_reviewed
from ketaclinic.screening.tests.conftest import add_trd_history
from ketaclinic.tests.browser import expect, shot, sign_in, sign_out

if TYPE_CHECKING:
    pass

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def frozen_clock():
    """The browser and the live server run on the real clock."""
    return None


def next_monday(site) -> dt.date:
    today = timezone.now().astimezone(site.zone).date()
    return today + dt.timedelta(days=7 - today.weekday())


def test_a_prescriber_opens_an_iv_course_and_the_coordinator_books_and_moves_a_session(page, live_server, cast):
    site = cast.site_a
    monday = next_monday(site)
    open_clinic(site, cast, start=monday - dt.timedelta(days=7), weeks=5)
    patient = new_patient(cast)
    add_trd_history(patient, cast.nurse)
    for section in ("conditions", "medications", "substance_use"):
        mark_section_reviewed(patient, section, by=cast.nurse)
    weigh(patient, cast.nurse, "72.4")
    make_eligible(patient, cast)
    base = live_server.url

    # The prescriber opens the course; the starting dose is previewed from the chart's weight as they choose.
    sign_in(page, base, "prescriber", cast.password)
    page.goto(f"{base}/patients/{patient.pk}/courses/open/")
    page.get_by_label("Racemic ketamine 0.5 mg/kg IV over 40 min").check()
    preview = page.locator("#dose-preview")
    preview.get_by_text("36.2 mg").wait_for()  # 0.5 mg/kg × 72.4 kg
    expect(preview).to_contain_text("actual weight 72.4 kg")
    page.get_by_label("Starting dose (mg/kg)").fill("0.6")
    page.get_by_label("Starting dose (mg/kg)").press("Tab")  # leaving the field updates the preview
    preview.get_by_text("43.4 mg").wait_for()
    # Viewport-only: after a full-page capture of this long form, Chromium ignored the next click on its button.
    shot(page, "courses-0-open", full_page=False)
    page.get_by_role("button", name="Open course").click()
    page.get_by_text("Course opened: Racemic ketamine 0.5 mg/kg IV over 40 min.").wait_for()
    course = Course.objects.get(patient=patient)
    assert course.current_dose_order().mg_per_kg == Decimal("0.600")
    expect(page.locator("#status .course-status")).to_have_text("Planned")
    sign_out(page)

    # The coordinator previews the induction dates and books them in one step.
    sign_in(page, base, "coordinator", cast.password)
    page.goto(f"{base}/patients/{patient.pk}/courses/{course.pk}/")
    expect(page.locator("#dose")).to_have_count(0)  # the front desk does not see the dose
    page.get_by_role("link", name="Plan and book sessions").click()
    page.get_by_label("First session on or after").fill(monday.isoformat())
    page.get_by_label("Preferred time (clinic time)").fill("09:00")
    page.get_by_role("button", name="Show the dates").click()
    page.get_by_role("button", name="Book these 6 sessions").click()
    page.get_by_text("6 session(s) booked.").wait_for()
    shot(page, "courses-1-booked", full_page=False)
    third = Appointment.objects.get(course_ref=course.pk, sequence_number=3)
    friday = third.starts_at.astimezone(site.zone)
    assert f"{friday:%a %H:%M}" == "Fri 09:00"

    # Session 3 moves to Friday afternoon: the course page shows the new time and the spacing still holds.
    page.locator("#session-3").get_by_role("link", name="Move").click()
    page.get_by_label("New date and time (clinic time)").fill(f"{friday:%Y-%m-%d}T14:00")
    page.get_by_role("button", name="Move the session").click()
    page.get_by_text("Session 3 moved; the spacing still holds.").wait_for()
    row = page.locator("#session-3")
    expect(row).to_contain_text(f"{friday:%a %Y-%m-%d} 14:00")
    expect(row).to_contain_text("OK")
    shot(page, "courses-2-moved", full_page=False)
    third.refresh_from_db()
    assert f"{third.starts_at.astimezone(site.zone):%H:%M}" == "14:00"

    # The patient's schedule shows the moved session too.
    page.goto(f"{base}/schedule/patients/{patient.pk}/")
    expect(page.get_by_text("14:00").first).to_be_visible()
