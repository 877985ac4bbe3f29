"""The course screens: forms keep what was typed and name the field; actions' refusals become 400/409, never 500."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.test import RequestFactory
from django.urls import reverse

from ketaclinic.courses import actions, chart
from ketaclinic.courses.models import Course, CourseDecision, MissedSession
from ketaclinic.courses.tests.conftest import enrol_rems
from ketaclinic.scheduling.models import Appointment, StaffShift

IV = "ketamine_iv_standard"
MONDAY = dt.date(2026, 10, 26)


def url(name, course, **extra):
    return reverse(f"courses:{name}", kwargs={"patient_id": course.patient_id, "course_id": course.pk, **extra})


def plan_query(**extra):
    return {"phase": "induction", "start_date": "2026-10-26", "preferred_time": "09:00", "every_weeks": "1", **extra}


def chosen_starts(html):
    return dict(re.findall(r'name="(start_\d+)" value="([^"]+)"(?: checked)?', html))


def book(course, by):
    plan = actions.plan_phase(course, phase="induction", start_date=MONDAY, preferred_time=dt.time(9))
    return actions.book_plan(course, plan, by=by)


# --- Opening -------------------------------------------------------------------------------------------------------


def test_the_prescriber_opens_a_course_from_the_form(client, clinic, eligible):
    patient = eligible(route="iv")
    client.force_login(clinic.prescriber)
    page = client.get(reverse("courses:open", kwargs={"patient_id": patient.pk}))
    html = page.content.decode()
    assert "0.5 mg/kg (range 0.1–1 mg/kg) over 40 min" in html  # the dose rule of each protocol
    assert "Induction: weeks 1–3, 2–3 a week, 6 sessions" in html
    assert "[R14]" in html  # sources
    response = client.post(
        reverse("courses:open", kwargs={"patient_id": patient.pk}),
        {
            "protocol": IV,
            "indication": "trd",
            "jurisdiction": "US",
            "mg_per_kg": "0.5",
            "amount_mg": "56",  # left over from choosing esketamine first: ignored for a per-kg protocol
            "weight_basis": "actual",
            "review_points": "3, 6",
        },
    )
    course = Course.objects.get(patient=patient)
    assert response.status_code == 302
    assert response["Location"] == url("detail", course)
    assert course.review_points == [3, 6]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"max_bound": "1.2"}, "Titration bounds must lie within the protocol&#x27;s 0.1–1 mg/kg"),
        ({"mg_per_kg": "1.5"}, "1.5 is outside the allowed range"),
        ({"review_points": "four"}, "Review points: session numbers separated by commas"),
        ({"protocol": ""}, "This field is required"),
    ],
)
def test_it_shows_refusals_next_to_the_field_and_keeps_the_input(client, clinic, eligible, data, message):
    patient = eligible(route="iv")
    client.force_login(clinic.prescriber)
    form = {"protocol": IV, "indication": "trd", "jurisdiction": "US", "weight_basis": "actual", **data}
    response = client.post(reverse("courses:open", kwargs={"patient_id": patient.pk}), form)
    assert response.status_code == 400
    html = response.content.decode()
    assert message in html
    for value in data.values():
        if value:
            assert f'value="{value}"' in html
    assert not Course.objects.exists()


def test_it_explains_a_missing_eligibility_above_the_form(client, clinic, eligible):
    patient = eligible(route="iv")
    client.force_login(clinic.prescriber)
    response = client.post(
        reverse("courses:open", kwargs={"patient_id": patient.pk}),
        {"protocol": "esketamine_trd", "indication": "trd", "jurisdiction": "US", "weight_basis": "actual"},
    )
    assert response.status_code == 400
    assert "Eligibility: the patient has no signed eligibility assessment" in response.content.decode()


def test_the_dose_preview_follows_the_form(client, clinic, eligible):
    patient = eligible(route="iv", weight=None)
    client.force_login(clinic.prescriber)
    preview = reverse("courses:dose_preview", kwargs={"patient_id": patient.pk})
    assert "Choose a protocol" in client.get(preview).content.decode()
    missing = client.get(preview, {"protocol": IV}).content.decode()
    assert "Weight: record today&#x27;s weight first" in missing
    assert reverse("patients:section", args=[patient.pk, "measurements"]) in missing
    assert "Enter the dose as a number" in client.get(preview, {"protocol": IV, "mg_per_kg": "x"}).content.decode()
    fixed = client.get(preview, {"protocol": "esketamine_trd", "amount_mg": "56"}).content.decode()
    assert "<strong>56 mg</strong>" in fixed
    assert "2 devices of 28 mg, 5 min apart" in fixed


# --- The course page -----------------------------------------------------------------------------------------------


def test_the_course_page_shows_dose_precautions_sessions_and_review(client, clinic, iv_course):
    booked = book(iv_course, clinic.coordinator)
    client.force_login(clinic.prescriber)
    html = client.get(url("detail", iv_course)).content.decode()
    assert "Precautions from eligibility" in html
    assert "0.5 mg/kg (40.0 mg at 80.0 kg, actual body weight)" in html
    assert "Titration bounds 0.1–1 mg/kg (protocol 0.1–1 mg/kg)" in html
    assert 'id="session-6"' in html
    assert "Mon 2026-11-02 09:00" in html  # clinic time after the DST change
    assert "2026-11-02T09:00:00-06:00" in html
    assert "Not enough measures yet" in html
    assert f'href="{url("move", iv_course, appointment_id=booked[2].pk)}"' in html
    assert 'id="next-session">Mon 2026-10-26 09:00' in html


def test_the_front_desk_sees_the_schedule_not_the_chart(client, clinic, iv_course):
    book(iv_course, clinic.coordinator)
    client.force_login(clinic.coordinator)
    html = client.get(url("detail", iv_course)).content.decode()
    assert "Sessions" in html and "Plan and book sessions" in html
    assert "Precautions from eligibility" not in html
    assert 'id="dose"' not in html and 'id="review"' not in html
    assert "Order a dose" not in html


def test_the_esketamine_page_shows_the_rems_hard_stop(client, clinic, esk_course):
    client.force_login(clinic.coordinator)
    html = client.get(url("detail", esk_course)).content.decode()
    assert "Hard stop: SPRAVATO REMS enrolment missing" in html
    plan_page = client.get(url("plan", esk_course), plan_query()).content.decode()
    assert "Hard stop: SPRAVATO REMS enrolment missing" in plan_page
    assert "Book these" not in plan_page
    data = {**chosen_starts(plan_page), "phase": "induction"}
    refused = client.post(url("plan", esk_course), data)
    assert refused.status_code == 400
    assert "REMS enrolment is not recorded for this patient" in refused.content.decode()
    enrol_rems(esk_course.patient, clinic)
    assert "Enrolled" in client.get(url("detail", esk_course)).content.decode()


def test_the_course_list_puts_the_active_course_first(client, clinic, iv_course):
    actions.record_decision(iv_course, decision="stop", reason="Wrong protocol chosen", by=clinic.prescriber)
    second = actions.open_course(iv_course.patient, protocol=IV, indication="trd", by=clinic.prescriber)
    client.force_login(clinic.nurse)
    html = client.get(reverse("courses:list", kwargs={"patient_id": iv_course.patient_id})).content.decode()
    assert html.index(url("detail", second)) < html.index(url("detail", iv_course))
    assert "Open a course" not in html


# --- Dose orders ---------------------------------------------------------------------------------------------------


def test_a_dose_outside_the_bounds_asks_for_an_override(client, clinic, iv_course):
    client.force_login(clinic.prescriber)
    page = client.get(url("dose", iv_course)).content.decode()
    assert "Allowed without an override: <strong>0.1–1 mg/kg</strong>" in page
    refused = client.post(url("dose", iv_course), {"value": "1.2", "reason": "Titrate up"})
    assert refused.status_code == 400
    html = refused.content.decode()
    assert "1.2 is outside the allowed range 0.1–1 mg/kg" in html
    assert 'id="override"' in html
    assert 'value="1.2"' in html
    ordered = client.post(
        url("dose", iv_course),
        {"value": "1.2", "reason": "Titrate up", "override_reason": "No response at 1.0 mg/kg after 4 sessions."},
    )
    assert ordered.status_code == 302
    assert iv_course.current_dose_order().is_override


def test_a_fixed_dose_is_ordered_in_mg(client, clinic, esk_course):
    client.force_login(clinic.prescriber)
    response = client.post(
        url("dose", esk_course), {"value": "84", "reason": "Tolerated 56 mg", "effective_from_session": "2"}
    )
    assert response.status_code == 302
    assert esk_course.current_dose_order().devices == 3
    assert "Dose (mg)" in client.get(url("dose", esk_course)).content.decode()


# --- Planning and booking ------------------------------------------------------------------------------------------


def test_the_coordinator_previews_and_books_in_one_step(client, clinic, iv_course):
    client.force_login(clinic.coordinator)
    page = client.get(url("plan", iv_course), plan_query())
    html = page.content.decode()
    assert page.status_code == 200
    assert "Book these 6 sessions" in html
    assert "Mon 2026-11-02 09:00" in html
    response = client.post(url("plan", iv_course), {**chosen_starts(html), "phase": "induction"})
    assert response.status_code == 302
    assert Appointment.objects.filter(course_ref=iv_course.pk).count() == 6


def test_a_conflict_offers_alternatives_to_choose_before_booking(client, clinic, iv_course):
    wednesday = dt.date(2026, 10, 28)
    StaffShift.objects.filter(
        role_on_shift="nurse", starts_at__date__gte=wednesday, starts_at__date__lt=wednesday + dt.timedelta(days=1)
    ).delete()
    client.force_login(clinic.coordinator)
    html = client.get(url("plan", iv_course), plan_query()).content.decode()
    assert "Conflict" in html and "choose instead" in html
    assert "Book with the chosen times" in html
    response = client.post(url("plan", iv_course), {**chosen_starts(html), "phase": "induction"})
    assert response.status_code == 302
    times = [a.starts_at.astimezone(clinic.site_a.zone) for a in Appointment.objects.filter(course_ref=iv_course.pk)]
    assert len(times) == 6
    assert all(t.date() != wednesday for t in times)


def test_a_booking_beaten_by_the_schedule_books_nothing(client, clinic, iv_course):
    client.force_login(clinic.coordinator)
    html = client.get(url("plan", iv_course), plan_query()).content.decode()
    StaffShift.objects.filter(role_on_shift="nurse").delete()  # the roster changed meanwhile
    response = client.post(url("plan", iv_course), {**chosen_starts(html), "phase": "induction"})
    assert response.status_code == 409
    assert "Not booked: the schedule changed" in response.content.decode()
    assert not Appointment.objects.exists()


@pytest.mark.parametrize(
    ("data", "status", "message"),
    [
        ({"phase": "induction"}, 400, "Choose at least one session time."),
        ({"phase": "induction", "start_001": "yesterday"}, 400, "A chosen time could not be read"),
        ({"phase": "induction", "start_001": "2026-10-26T09:00:00"}, 400, "A chosen time has no time zone"),
        (
            {"phase": "induction", "start_001": "2026-10-26T09:00:00-05:00", "start_002": "2026-10-27T09:00:00-05:00"},
            400,
            "breaks the protocol: Only 24.0 h",
        ),
    ],
)
def test_bad_booking_posts_are_refused_with_a_reason(client, clinic, iv_course, data, status, message):
    client.force_login(clinic.coordinator)
    response = client.post(url("plan", iv_course), data)
    assert response.status_code == status
    assert message in response.content.decode()


def test_bad_plans_are_refused_naming_the_field(client, clinic, iv_course):
    client.force_login(clinic.coordinator)
    past = client.get(url("plan", iv_course), plan_query(start_date="2026-10-01"))
    assert past.status_code == 400
    assert "2026-10-01 is in the past" in past.content.decode()
    broken = client.get(url("plan", iv_course), plan_query(start_date="not a date"))
    assert broken.status_code == 400
    assert "Enter a valid date" in broken.content.decode()


# --- Moves and missed sessions -------------------------------------------------------------------------------------


def test_moving_session_3_shows_the_new_time_and_what_else_must_move(client, clinic, iv_course):
    booked = book(iv_course, clinic.coordinator)
    client.force_login(clinic.coordinator)
    move = url("move", iv_course, appointment_id=booked[2].pk)
    assert 'value="2026-10-30T09:00"' in client.get(move).content.decode()
    response = client.post(move, {"new_start": "2026-10-31T11:30", "version": booked[2].version})
    assert response.status_code == 200
    html = response.content.decode()
    assert "These later sessions now break the spacing" in html
    assert "Session 4 on Mon 2026-11-02 09:00" in html
    assert "Nearest valid times:" in html
    detail = client.get(url("detail", iv_course)).content.decode()
    assert "Sat 2026-10-31 11:30" in detail
    assert "Needs moving" in detail


def test_a_move_that_keeps_the_spacing_returns_to_the_course(client, clinic, iv_course):
    booked = book(iv_course, clinic.coordinator)
    client.force_login(clinic.prescriber)
    response = client.post(url("move", iv_course, appointment_id=booked[5].pk), {"new_start": "2026-11-06T13:00"})
    assert response.status_code == 302
    booked[5].refresh_from_db()
    assert f"{booked[5].starts_at.astimezone(clinic.site_a.zone):%H:%M}" == "13:00"


@pytest.mark.parametrize(
    ("data", "status", "message"),
    [
        ({"new_start": "2026-10-29T09:00"}, 400, "Only 24.0 h"),
        ({"new_start": "2026-10-30T09:10"}, 400, "is not on a quarter hour"),
        ({"new_start": "2026-10-30T14:00", "version": "99"}, 409, "changed by someone else"),
        ({"new_start": "2026-11-01T09:00"}, 409, "That time cannot be booked"),
        ({"new_start": "soon"}, 400, "Enter a valid date/time"),
    ],
)
def test_bad_moves_are_refused(client, clinic, iv_course, data, status, message):
    booked = book(iv_course, clinic.coordinator)
    client.force_login(clinic.coordinator)
    response = client.post(url("move", iv_course, appointment_id=booked[2].pk), data)
    assert response.status_code == status
    assert message in response.content.decode()


def test_a_session_of_another_course_is_not_found(client, clinic, iv_course):
    client.force_login(clinic.coordinator)
    assert client.get(url("move", iv_course, appointment_id=999)).status_code == 404


def test_cancelling_applies_the_missed_session_rule(client, clinic, iv_course):
    booked = book(iv_course, clinic.coordinator)
    client.force_login(clinic.coordinator)
    missed = url("missed", iv_course, appointment_id=booked[1].pk)
    refused = client.post(missed, {"action": "cancel", "reason": ""})
    assert refused.status_code == 400
    assert "Reason: say why the session is cancelled." in refused.content.decode()
    response = client.post(missed, {"action": "cancel", "reason": "Unwell", "worsening": "no"}, follow=True)
    assert "The series continues" in response.content.decode()
    row = MissedSession.objects.get(appointment_ref=booked[1].pk)
    assert row.worsening is False


def test_a_no_show_is_recorded_once_the_session_has_begun(client, clinic, iv_course, frozen_clock):
    booked = book(iv_course, clinic.coordinator)
    client.force_login(clinic.nurse)
    missed = url("missed", iv_course, appointment_id=booked[0].pk)
    early = client.post(missed, {"action": "no_show"})
    assert early.status_code == 400
    assert "no-show can be recorded once the appointment time has begun" in early.content.decode()
    assert client.post(missed, {"action": "cancel", "reason": "x"}).status_code == 403  # nurses do not cancel
    assert client.post(missed, {"action": "record"}).status_code == 400
    frozen_clock.move_to(booked[0].starts_at + dt.timedelta(minutes=20))
    client.force_login(clinic.nurse)  # a new day, a new sign-in (idle sign-out)
    assert client.post(missed, {"action": "no_show", "worsening": "yes"}).status_code == 302
    assert MissedSession.objects.get().kind == "missed"


def test_a_session_cancelled_elsewhere_can_have_the_rule_applied(client, clinic, iv_course):
    booked = book(iv_course, clinic.coordinator)
    actions.cancel_appointment(booked[3], by=clinic.coordinator, reason="Called to cancel")
    client.force_login(clinic.prescriber)
    detail = client.get(url("detail", iv_course)).content.decode()
    assert "Apply missed-session rule" in detail
    page = client.get(url("missed", iv_course, appointment_id=booked[3].pk)).content.decode()
    assert "Cancel this session" not in page
    assert client.post(url("missed", iv_course, appointment_id=booked[3].pk), {"action": "record"}).status_code == 302


# --- Starting and deciding -----------------------------------------------------------------------------------------


def test_starting_the_course_from_the_page(client, clinic, iv_course):
    client.force_login(clinic.nurse)
    assert client.post(url("start", iv_course)).status_code == 302
    iv_course.refresh_from_db()
    assert iv_course.status == Course.Status.INDUCTION
    again = client.get(url("start", iv_course)).content.decode()
    assert "The course is induction." in again


def test_starting_esketamine_without_rems_is_refused_on_the_page(client, clinic, esk_course):
    client.force_login(clinic.nurse)
    response = client.post(url("start", esk_course))
    assert response.status_code == 400
    assert "SPRAVATO REMS enrolment is not recorded" in response.content.decode()


def test_a_decision_is_recorded_with_its_reason(client, clinic, iv_course):
    actions.start_course(iv_course, by=clinic.nurse)
    client.force_login(clinic.prescriber)
    page = client.get(url("decision", iv_course)).content.decode()
    assert "Move to maintenance" in page and "Resume" not in page
    blank = client.post(
        url("decision", iv_course), {"decision": "continue", "reason": "", "version": iv_course.version}
    )
    assert blank.status_code == 400
    illegal = client.post(
        url("decision", iv_course), {"decision": "resume", "reason": "x", "version": iv_course.version}
    )
    assert illegal.status_code == 400
    assert "Select a valid choice" in illegal.content.decode()
    extend = client.post(
        url("decision", iv_course), {"decision": "extend_induction", "reason": "Partial", "version": iv_course.version}
    )
    assert extend.status_code == 400
    assert "Extend induction by 1 to 8 sessions" in extend.content.decode()
    stale = client.post(url("decision", iv_course), {"decision": "continue", "reason": "x", "version": "99"})
    assert stale.status_code == 409
    done = client.post(
        url("decision", iv_course), {"decision": "continue", "reason": "Improving", "version": iv_course.version}
    )
    assert done.status_code == 302
    assert CourseDecision.objects.get().reason == "Improving"


def test_an_ended_course_offers_no_decision(client, clinic, iv_course):
    actions.record_decision(iv_course, decision="stop", reason="x", by=clinic.prescriber)
    client.force_login(clinic.prescriber)
    assert "The course has ended" in client.get(url("decision", iv_course)).content.decode()


# --- Chart card ----------------------------------------------------------------------------------------------------


def card(user, patient):
    request = RequestFactory().get("/")
    request.user = user
    return chart.chart_card(request, patient)


def test_the_chart_card_shows_the_active_course(clinic, iv_course):
    book(iv_course, clinic.coordinator)
    context = card(clinic.prescriber, iv_course.patient)
    assert context["course"] == iv_course
    assert context["next_session"].sequence_number == 1
    assert context["order"].amount_mg == 40
    assert context["review_due"] is None
    front = card(clinic.coordinator, iv_course.patient)
    assert "order" not in front and front["next_session"] is not None
    assert card(clinic.admin, iv_course.patient) is None


def test_the_chart_card_renders_with_and_without_a_course(client, clinic, iv_course, eligible):
    from django.template.loader import render_to_string

    html = render_to_string(
        "courses/_chart_card.html", {**card(clinic.prescriber, iv_course.patient), "patient": iv_course.patient}
    )
    assert "Racemic ketamine 0.5 mg/kg IV over 40 min" in html and "none booked" in html
    other = eligible(route="iv", legal_first_name="Sam")
    empty = card(clinic.prescriber, other)
    assert empty["course"] is None
    html = render_to_string("courses/_chart_card.html", {**empty, "patient": other})
    assert "No active course" in html and "Open a course" in html


def test_a_plan_with_nothing_bookable_offers_no_booking(client, clinic, iv_course):
    StaffShift.objects.filter(role_on_shift="nurse").delete()
    client.force_login(clinic.coordinator)
    html = client.get(url("plan", iv_course), plan_query()).content.decode()
    assert "None of these sessions can be booked" in html
    assert "No time within two weeks keeps the protocol" in html
    assert "Book with the chosen times" not in html


def test_a_course_in_maintenance_plans_maintenance_by_default(client, clinic, iv_course):
    actions.start_course(iv_course, by=clinic.nurse)
    actions.record_decision(iv_course, decision="move_to_maintenance", reason="Responder", by=clinic.prescriber)
    client.force_login(clinic.coordinator)
    html = client.get(url("plan", iv_course)).content.decode()
    assert '<option value="maintenance" selected>' in html
