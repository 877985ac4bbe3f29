"""In real Chromium: a patient completes the PHQ-9 due 7 days after their dose on a phone, answers item 9 with
'several days' and sees crisis help at once; the clinician then sees the suicide-risk task on the home screen and the
new point on the trajectory chart, with the dosing session marked."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import pytest
from django.utils import timezone

from ketaclinic.conftest import Cast
from ketaclinic.courses.actions import open_course
from ketaclinic.courses.tests.conftest import make_eligible, new_patient, weigh
from ketaclinic.measures.actions import record_response
from ketaclinic.measures.models import MeasureDue, QuestionnaireResponse
from ketaclinic.measures.schedule import sync_schedule
from ketaclinic.portal import actions as portal_actions
from ketaclinic.portal.models import PortalLink
from ketaclinic.scheduling.actions import appointment_type_for_route
from ketaclinic.scheduling.models import Appointment
from ketaclinic.screening.actions import mark_section_reviewed
from ketaclinic.screening.tests.conftest import add_trd_history
from ketaclinic.tasks.models import Task
from ketaclinic.tests.browser import choose, expect, shot, sign_in

if TYPE_CHECKING:
    from playwright.sync_api import Page
    from pytest_django.live_server_helper import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_patient_completes_a_due_phq9_on_a_phone_and_the_clinician_sees_point_and_task(
    page: Page, live_server: LiveServer, cast: Cast
) -> None:
    now = timezone.now()
    patient = new_patient(cast, legal_first_name="Robin", email="robin@example.invalid")
    add_trd_history(patient, cast.nurse)
    for section in ("conditions", "medications", "substance_use"):
        mark_section_reviewed(patient, section, by=cast.nurse)
    weigh(patient, cast.nurse)
    make_eligible(patient, cast)
    course = open_course(patient, protocol="ketamine_iv_standard", indication="trd", by=cast.prescriber)
    dosed = now - dt.timedelta(days=7)
    Appointment.objects.create(
        patient=patient,
        site=patient.site,
        appointment_type=appointment_type_for_route("iv"),
        starts_at=dosed,
        ends_at=dosed + dt.timedelta(hours=2),
        status=Appointment.Status.COMPLETED,
        course_ref=course.pk,
        sequence_number=1,
        created_by=cast.coordinator,
    )
    record_response(patient, "phq9", [3, 3, 2, 2, 3, 2, 2, 3, 0], respondent="patient", channel="portal",
                    completed_at=dosed - dt.timedelta(days=1))  # fmt: skip
    sync_schedule(course)
    due = MeasureDue.objects.get(course=course, key=f"post_7d:{Appointment.objects.get().pk}:phq9")
    assert due.is_open_at(now)
    _, token = portal_actions.create_link(
        patient, purpose=PortalLink.Purpose.QUESTIONNAIRE, by=cast.coordinator, email=None, landing="questionnaire/"
    )

    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/p/{token}/")
    page.wait_for_url(f"**/p/{token}/questionnaire/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Your questionnaires")
    page.get_by_role("link", name="PHQ-9").click()
    for n in range(1, 9):
        choose(page, f"q{n}", "Several days")
    page.get_by_role("button", name="Send").click()
    # A half-finished form: item 9 is marked, the other answers stay chosen.
    expect(page.get_by_text("Some questions still need an answer")).to_be_visible()
    assert page.locator("#q-q1 input[value='1']").is_checked()
    choose(page, "q9", "Several days")
    page.get_by_role("button", name="Send").click()
    page.wait_for_url(f"**/p/{token}/questionnaire/support/")
    expect(page.get_by_text("If you are in danger now call 911.")).to_be_visible()
    call = page.get_by_role("link", name="Call 988")
    box = call.bounding_box()
    assert box is not None and box["height"] >= 44
    shot(page, "measures-phone-crisis")
    page.get_by_role("link", name="Continue the form").click()
    page.wait_for_url(f"**/p/{token}/questionnaire/")

    stored = QuestionnaireResponse.objects.get(patient=patient, instrument="phq9", channel="portal", total=9)
    assert stored.answers["q9"] == 1
    task = Task.objects.get(patient=patient, kind=Task.Kind.SUICIDE_RISK)
    assert task.status == "open" and task.priority == "urgent"

    page.set_viewport_size({"width": 1024, "height": 768})
    sign_in(page, live_server.url, cast.prescriber.username, cast.password)
    expect(page.locator("#task-alerts").get_by_text("Suicide-risk follow-up: positive PHQ-9")).to_be_visible()
    page.goto(f"{live_server.url}/patients/{patient.pk}/measures/trajectory/")
    chart = page.locator("#chart-phq9")
    expect(chart.locator("circle")).to_have_count(2)
    expect(chart.locator("circle[data-score='9']")).to_have_count(1)
    expect(chart.locator("path[data-session]")).to_have_count(1)
    expect(chart.locator("[data-latest]")).to_have_text("9")
    expect(chart.locator("[data-status]")).to_have_text("Responder")
    shot(page, "measures-trajectory")
    chart.get_by_role("link", name="PHQ-9").click()
    page.wait_for_url("**/measures/trajectory/phq9/")
    expect(page.locator(f"#response-{stored.pk}")).to_be_visible()
