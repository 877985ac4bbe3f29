"""Progress letter and end-of-induction summary: what the PDF says, who may have it, and that it is audited."""

from __future__ import annotations

import datetime as dt
import io
from typing import ClassVar

import pytest
from django.test import Client
from django.urls import reverse
from pypdf import PdfReader

from ketaclinic.accounts.roles import Role
from ketaclinic.accounts.tests.matrix import PermissionMatrix
from ketaclinic.audit.models import AuditEvent
from ketaclinic.conftest import Cast
from ketaclinic.courses.models import Course, CourseDecision
from ketaclinic.measures.models import QuestionnaireResponse
from ketaclinic.outcomes import synthetic
from ketaclinic.outcomes.models import CourseOutcome, SessionOutcome


def text_of(pdf: bytes) -> str:
    return " ".join((page.extract_text() or "") for page in PdfReader(io.BytesIO(pdf)).pages)


@pytest.fixture
def treated(cast: Cast) -> Course:
    """A synthetic course at site A with six or more dosed sessions, and a PHQ-9 series written for it."""
    synthetic.generate(scale=0.001, seed=3, sites=[cast.site_a], tag="l")
    course = Course.objects.filter(patient__site=cast.site_a, status="maintenance").order_by("pk").first()
    assert course is not None
    from ketaclinic.outcomes.rollup import refresh_courses

    refresh_courses([course.pk])
    doses = list(SessionOutcome.objects.filter(course_id=course.pk).order_by("sequence"))
    assert len(doses) >= 6
    QuestionnaireResponse.objects.filter(patient=course.patient, instrument="phq9").delete()
    series = [(doses[0].dosed_at - dt.timedelta(days=3), 22), (doses[1].dosed_at + dt.timedelta(days=1), 15)]
    series += [(doses[3].dosed_at + dt.timedelta(days=1), 10), (doses[5].dosed_at + dt.timedelta(days=2), 3)]
    for at, total in series:
        QuestionnaireResponse.objects.create(
            patient=course.patient, site=course.site, instrument="phq9", answers={}, total=total,
            respondent="patient", channel="portal", completed_at=at,
        )  # fmt: skip
    course.patient.referring_clinician = "Dr Ada Referrer"
    course.patient.save(update_fields=["referring_clinician"])
    CourseDecision.objects.create(
        course=course, at_session=6, decision="move_to_maintenance", reason="Remission after induction; monthly.",
        from_status="induction", to_status="maintenance", decided_by=cast.prescriber,
    )  # fmt: skip
    return course


def _url(name: str, course: Course) -> str:
    return reverse(f"reports:{name}", args=[course.patient_id, course.pk])


@pytest.mark.django_db
def test_it_writes_the_progress_letter(client: Client, cast: Cast, treated: Course) -> None:
    client.force_login(cast.prescriber)
    page = client.get(_url("letter", treated))
    assert page.status_code == 200 and 'value="Dr Ada Referrer"' in page.content.decode()
    response = client.get(
        _url("progress_pdf", treated), {"recipient": "", "plan": "Monthly maintenance; review in 3 months."}
    )
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    text = text_of(response.content)
    for expected in (
        "Progress letter",
        "Dr Ada Referrer",
        treated.patient.legal_name,
        treated.protocol_title,
        "Current status: remitter",
        "baseline 22, latest 3 (86 % reduction)",
        "First response after 4 sessions",
        "Monthly maintenance; review in 3 months.",
    ):
        assert expected in " ".join(text.split()), expected
    event = AuditEvent.objects.filter(action="export", object_type="reports.progress_letter").get()
    assert (event.object_id, event.patient_id, event.detail) == (str(treated.pk), treated.patient_id, {"format": "pdf"})


@pytest.mark.django_db
def test_it_falls_back_to_the_latest_decision_for_the_plan(client: Client, cast: Cast, treated: Course) -> None:
    client.force_login(cast.prescriber)
    text = " ".join(text_of(client.get(_url("progress_pdf", treated)).content).split())
    assert "Move to maintenance" in text and "Remission after induction; monthly." in text


@pytest.mark.django_db
def test_it_writes_the_end_of_induction_summary(client: Client, cast: Cast, treated: Course) -> None:
    client.force_login(cast.nurse)
    response = client.get(_url("end_of_induction_pdf", treated))
    assert response.status_code == 200
    text = " ".join(text_of(response.content).split())
    outcome = CourseOutcome.objects.get(course_id=treated.pk)
    assert (outcome.baseline_score, outcome.eoi_score, outcome.eoi_remission) == (22, 3, True)
    assert "End-of-induction summary" in text
    assert "Baseline PHQ-9 22" in text and "End-of-induction PHQ-9 3" in text
    assert "At the end of induction remission" in text
    assert "reduction of at least 50 % from baseline, remission a score of 4 or less" in text
    assert AuditEvent.objects.filter(action="export", object_type="reports.end_of_induction").count() == 1


@pytest.mark.django_db
def test_it_explains_why_a_course_without_doses_has_no_documents(client: Client, cast: Cast, iv_course: Course) -> None:
    client.force_login(cast.prescriber)
    letter = client.get(_url("progress_pdf", iv_course))
    assert letter.status_code == 409
    assert "No dose has been given in this course yet" in letter.content.decode()
    summary = client.get(_url("end_of_induction_pdf", iv_course))
    assert summary.status_code == 409
    assert "0 of 6 induction sessions have been given" in summary.content.decode()
    assert not AuditEvent.objects.filter(action="export").exists()


@pytest.mark.django_db
def test_it_refuses_an_overlong_plan_and_keeps_the_text(client: Client, cast: Cast, treated: Course) -> None:
    client.force_login(cast.prescriber)
    response = client.get(_url("progress_pdf", treated), {"recipient": "Dr B", "plan": "x" * 2001})
    assert response.status_code == 400
    html = response.content.decode()
    assert "at most 2000 characters" in html and "Dr B" in html


@pytest.mark.django_db
def test_it_answers_404_for_another_patients_course(
    client: Client, cast: Cast, treated: Course, iv_course: Course
) -> None:
    client.force_login(cast.prescriber)
    mixed = reverse("reports:progress_pdf", args=[iv_course.patient_id, treated.pk])
    assert client.get(mixed).status_code == 404


class TestLetterPageAccess(PermissionMatrix):
    allowed: ClassVar = {Role.PRESCRIBER, Role.NURSE, Role.THERAPIST}
    denied_status = 403
    patient_scoped = True

    def url(self, cast: Cast) -> str:
        course = _course_for(cast)
        return _url("letter", course)


class TestProgressLetterAccess(PermissionMatrix):
    allowed: ClassVar = {Role.PRESCRIBER}
    patient_scoped = True

    def url(self, cast: Cast) -> str:
        return _url("progress_pdf", _course_for(cast))

    def _get(self, client: Client, url: str) -> int:
        status = client.get(url).status_code
        return 200 if status == 409 else status  # allowed, but the course has no dose yet


class TestEndOfInductionAccess(TestProgressLetterAccess):
    allowed: ClassVar = {Role.PRESCRIBER, Role.NURSE, Role.THERAPIST}

    def url(self, cast: Cast) -> str:
        return _url("end_of_induction_pdf", _course_for(cast))


def _course_for(cast: Cast) -> Course:
    synthetic.generate(scale=0.0002, seed=1, sites=[cast.site_a], tag=f"m{Course.objects.count()}")
    return Course.objects.filter(patient__site=cast.site_a).latest("pk")


@pytest.mark.django_db
def test_the_chart_links_each_course_to_its_documents(client: Client, cast: Cast, iv_course: Course) -> None:
    client.force_login(cast.nurse)
    html = client.get(reverse("patients:chart", args=[iv_course.patient_id])).content.decode()
    assert "Course documents" in html
    assert _url("letter", iv_course) in html
    client.force_login(cast.coordinator)  # front desk: no clinical chart, no card
    assert "Course documents" not in client.get(reverse("patients:chart", args=[iv_course.patient_id])).content.decode()


@pytest.mark.django_db
def test_it_reports_an_anxiety_course_on_the_gad7_and_a_ptsd_course_as_not_evaluable(
    client: Client, cast: Cast, treated: Course
) -> None:
    client.force_login(cast.nurse)
    Course.objects.filter(pk=treated.pk).update(indication="anxiety")
    doses = list(SessionOutcome.objects.filter(course_id=treated.pk).order_by("sequence"))
    QuestionnaireResponse.objects.filter(patient=treated.patient, instrument="gad7").delete()
    for at, total in ((doses[0].dosed_at - dt.timedelta(days=2), 16), (doses[5].dosed_at + dt.timedelta(days=2), 6)):
        QuestionnaireResponse.objects.create(
            patient=treated.patient, site=treated.site, instrument="gad7", answers={}, total=total,
            respondent="patient", channel="portal", completed_at=at,
        )  # fmt: skip
    text = " ".join(text_of(client.get(_url("end_of_induction_pdf", treated)).content).split())
    assert "Baseline GAD-7 16" in text and "End-of-induction GAD-7 6" in text  # not the PHQ-9's 22 and 3
    assert "At the end of induction response" in text and "GAD-7 over time" in text
    Course.objects.filter(pk=treated.pk).update(indication="ptsd")
    text = " ".join(text_of(client.get(_url("end_of_induction_pdf", treated)).content).split())
    assert "Not evaluable: no sourced response definition for PCL-5" in text
    assert "At the end of induction not evaluable" in text and "Baseline PCL-5 not judged" in text
    assert "PCL-5 over time" in text and "remission a score of" not in text
    assert "Baseline PHQ-9" not in text and "PHQ-9 over time" not in text
