"""Trajectories: statuses on constructed series, change since baseline and since the last session, the SVG chart
with sessions and lines, the drill-down, the chart card, the course review flag, and a constant query count."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from ketaclinic.conftest import Cast
from ketaclinic.courses import actions
from ketaclinic.courses.models import Course
from ketaclinic.courses.tests.conftest import (  # noqa: F401 — fixtures
    NOW,
    clinic,
    eligible,
    frozen_clock,
    iv_course,
)
from ketaclinic.measures.actions import record_response
from ketaclinic.measures.svg import score_chart
from ketaclinic.measures.trajectory import load_trajectories
from ketaclinic.portal.tests.conftest import text_of
from ketaclinic.scheduling.models import Appointment
from ketaclinic.tasks.models import Task

pytestmark = pytest.mark.django_db

DAY = dt.timedelta(days=1)


def held_sessions(course: Course, starts: list[dt.datetime]) -> list[Appointment]:
    """Sessions in the past, recorded directly (booking refuses the past); status completed."""
    first = Appointment.objects.filter(course_ref__isnull=True).first()
    from ketaclinic.scheduling.actions import appointment_type_for_route

    kind = appointment_type_for_route("iv")
    out = []
    for n, start in enumerate(starts, start=1):
        out.append(
            Appointment.objects.create(
                patient=course.patient,
                site=course.site,
                appointment_type=kind,
                starts_at=start,
                ends_at=start + dt.timedelta(hours=2),
                status=Appointment.Status.COMPLETED,
                course_ref=course.pk,
                sequence_number=n,
                created_by=course.opened_by,
            )
        )
    assert first is None
    return out


def phq9(course: Course, total: int, at: dt.datetime, item9: int = 0) -> None:
    answers = [0] * 9
    remaining = total - item9
    for n in range(8):
        answers[n] = min(3, remaining)
        remaining -= answers[n]
    answers[8] = item9
    record_response(course.patient, "phq9", answers, respondent="patient", channel="portal", completed_at=at)


@pytest.fixture
def responder(iv_course: Course) -> Course:  # noqa: F811
    start = NOW - 30 * DAY
    held_sessions(iv_course, [start, start + 2 * DAY, start + 4 * DAY, start + 7 * DAY])
    phq9(iv_course, 20, start - DAY)
    for days, total in ((1, 14), (3, 9), (5, 8), (8, 6)):
        phq9(iv_course, total, start + days * DAY)
    return iv_course


def test_a_responder_has_status_change_and_lines(responder: Course) -> None:
    (series,) = load_trajectories(responder.patient).instruments
    assert series.baseline is not None and series.baseline.score == 20
    assert series.status is not None and series.status.value == "responder"
    assert series.since_baseline == -14 and series.since_baseline_pct == pytest.approx(70)
    assert series.since_last_session == -2  # 6 now vs 8 before session 4
    assert series.response_line == 10 and series.remission_line == 4
    assert series.badge == "ok" and "gone down by at least half" in series.plain_status


def test_loss_of_response_flags_the_course_for_review_with_evidence(responder: Course, cast: Cast) -> None:
    phq9(responder, 16, NOW - 10 * DAY)
    assert not Task.objects.filter(kind=Task.Kind.COURSE_REVIEW).exists()
    phq9(responder, 17, NOW - 3 * DAY)
    task = Task.objects.get(kind=Task.Kind.COURSE_REVIEW)
    assert task.title == "Booster / course review: loss of response on PHQ-9"
    assert "baseline 20" in task.detail and "16" in task.detail and "17" in task.detail
    phq9(responder, 18, NOW - DAY)
    assert Task.objects.filter(kind=Task.Kind.COURSE_REVIEW).count() == 1  # one open task per course
    client = Client()
    client.force_login(cast.prescriber)
    page = client.get(reverse("courses:detail", args=[responder.patient.pk, responder.pk]))
    assert "Booster / course review suggested" in text_of(page)
    detail = client.get(reverse("tasks:detail", args=[task.pk]))
    assert reverse("courses:detail", args=[responder.patient.pk, responder.pk]) in detail.content.decode()
    (series,) = load_trajectories(responder.patient).instruments
    assert series.status is not None and series.status.value == "loss of response" and series.badge == "danger"


def test_no_score_before_session_1_uses_the_first_as_baseline(iv_course: Course) -> None:  # noqa: F811
    start = NOW - 10 * DAY
    held_sessions(iv_course, [start])
    phq9(iv_course, 0, start + DAY)
    (series,) = load_trajectories(iv_course.patient).instruments
    assert series.notes and series.trajectory is None and series.response_line is None
    assert series.since_baseline_pct is None and series.since_last_session is None


def test_the_trajectory_page_charts_each_instrument_in_constant_queries(responder: Course, cast: Cast) -> None:
    client = Client()
    client.force_login(cast.prescriber)
    url = reverse("measures:trajectory", args=[responder.patient.pk])
    client.get(url)  # warm the session
    with CaptureQueriesContext(connection) as few:
        page = client.get(url)
    body = page.content.decode()
    assert page.status_code == 200
    assert body.count("<circle") == 5 and body.count("data-session=") == 4
    assert 'data-line="baseline"' in body and 'data-line="response"' in body and 'data-line="remission"' in body
    assert 'data-status="responder"' in body
    for days in range(20):
        phq9(responder, 5, NOW - DAY + dt.timedelta(minutes=days))
    with CaptureQueriesContext(connection) as many:
        client.get(url)
    # The user with their roles, the user's sites, the patient with every row of the page, and the audit row.
    assert len(many) == len(few) <= 5
    with CaptureQueriesContext(connection) as loader:
        load_trajectories(responder.patient)
    assert len(loader) == 1


def test_the_drill_down_shows_each_item_and_the_card_links_there(responder: Course, cast: Cast) -> None:
    client = Client()
    client.force_login(cast.nurse)
    page = client.get(reverse("measures:instrument", args=[responder.patient.pk, "phq9"]))
    assert page.status_code == 200
    body = page.content.decode()
    assert body.count('id="response-') == 5
    assert "Little interest or pleasure in doing things" in text_of(page)
    assert client.get(reverse("measures:instrument", args=[responder.patient.pk, "nope"])).status_code == 404
    chart = client.get(reverse("patients:chart", args=[responder.patient.pk]))
    assert reverse("measures:trajectory", args=[responder.patient.pk]) in chart.content.decode()
    assert re.search(r'id="chart-phq9"', chart.content.decode())


def test_the_chart_function_is_plain_svg_and_refuses_no_points() -> None:
    at = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    svg = score_chart([(at, 3)], y_max=27, title="A <b> chart", sessions=[at])
    assert svg.startswith("<svg") and "A &lt;b&gt; chart" in svg and "<polyline" not in svg
    with pytest.raises(ValueError, match="points"):
        score_chart([], y_max=27, title="empty")


def test_cssrs_screens_are_listed_not_charted(iv_course: Course, cast: Cast) -> None:  # noqa: F811
    record_response(
        iv_course.patient,
        "cssrs_screener",
        {"q1": False, "q2": False, "q6": False},
        respondent="patient",
        channel="portal",
    )
    data = load_trajectories(iv_course.patient)
    assert data.instruments == [] and len(data.screens) == 1 and data.get("phq9") is None
    client = Client()
    client.force_login(cast.nurse)
    page = client.get(reverse("measures:trajectory", args=[iv_course.patient.pk]))
    assert "No scored questionnaires yet" in text_of(page) and "Suicide screens" in text_of(page)


def test_the_chart_card_counts_the_questionnaires_open_now(iv_course: Course, clinic: Cast) -> None:  # noqa: F811
    plan = actions.plan_phase(iv_course, phase="induction", start_date=dt.date(2026, 10, 26), preferred_time=dt.time(9))
    actions.book_plan(iv_course, plan, by=clinic.coordinator)
    client = Client()
    client.force_login(clinic.nurse)
    chart = client.get(reverse("patients:chart", args=[iv_course.patient.pk]))
    # The baseline set (PHQ-9, C-SSRS, QIDS-SR16, MADRS) is open until session 1.
    assert "4 questionnaires open now" in text_of(chart)


def test_the_front_desk_gets_no_measures_card_and_the_patient_view_reads_plainly(responder: Course, cast: Cast) -> None:
    from ketaclinic.measures.chart import chart_card
    from ketaclinic.measures.portal_views import progress

    request = type("Request", (), {"user": cast.coordinator})()
    assert chart_card(request, responder.patient) is None
    record_response(responder.patient, "madrs", [3] * 10, respondent="clinician", channel="clinic")
    phq9(responder, 22, NOW - dt.timedelta(hours=1))
    (line,) = progress(responder.patient)  # the clinician-rated MADRS is not shown to the patient
    assert line["name"] == "PHQ-9" and line["trend"] == "up from 20 to 22" and not line["better"]


def test_a_reviewed_episode_is_not_flagged_again(responder: Course, cast: Cast) -> None:
    from ketaclinic.tasks.actions import close_task

    phq9(responder, 16, NOW - 10 * DAY)
    phq9(responder, 17, NOW - 3 * DAY)
    task = Task.objects.get(kind=Task.Kind.COURSE_REVIEW)
    close_task(task, by=cast.prescriber, resolution="Booster session booked for Friday.")
    phq9(responder, 18, NOW - DAY)
    assert Task.objects.filter(kind=Task.Kind.COURSE_REVIEW).count() == 1
