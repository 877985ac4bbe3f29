"""The trajectory's one-statement read: the composed SQL reads what the ORM query reads, the trajectories equal what
the three ORM reads gave before, and the page checks access and audits exactly as ``access_patient`` does."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from ketaclinic import clinical
from ketaclinic.accounts.clinic_policy import clinic_policy
from ketaclinic.audit.models import AuditEvent
from ketaclinic.conftest import Cast
from ketaclinic.courses.models import Course
from ketaclinic.courses.tests.conftest import NOW, clinic, eligible, frozen_clock, iv_course  # noqa: F401 — fixtures
from ketaclinic.measures.actions import record_response
from ketaclinic.measures.models import QuestionnaireResponse
from ketaclinic.measures.tests.test_trajectory import DAY, held_sessions, phq9, responder  # noqa: F401 — fixtures
from ketaclinic.measures.trajectory import (
    SESSION_STATUSES,
    Point,
    _build,
    access_trajectories,
    load_trajectories,
    trajectory_query,
    trajectory_rows,
)
from ketaclinic.patients.access import may_read_chart
from ketaclinic.patients.models import Patient
from ketaclinic.scheduling.models import Appointment

pytestmark = pytest.mark.django_db


def the_three_orm_reads(patient: Patient, only: str | None = None) -> dict[str, Any]:
    """What ``load_trajectories`` read before it was one statement: responses, the latest course, its sessions."""
    rows = QuestionnaireResponse.objects.filter(patient=patient)
    if only is not None:
        rows = rows.filter(instrument=only)
    responses = list(rows.order_by("completed_at", "id"))
    course = Course.objects.filter(patient=patient).order_by("-opened_at", "-id").first()
    sessions = []
    if course is not None:
        sessions = list(
            Appointment.objects.filter(course_ref=course.pk, patient=patient, status__in=SESSION_STATUSES)
            .order_by("starts_at")
            .values_list("starts_at", flat=True)
        )
    by_instrument: dict[str, list[Any]] = {}
    for r in responses:
        if r.total is not None:
            by_instrument.setdefault(r.instrument, []).append((r.completed_at, r.total, r.pk, r.respondent))
    order = list(clinical.INSTRUMENTS)
    return {
        "course": course,
        "sessions": sessions,
        "points": dict(sorted(by_instrument.items(), key=lambda kv: order.index(kv[0]))),
        "screens": [
            (r.pk, r.instrument, r.band, r.flags, r.answers, r.completed_at, r.respondent)
            for r in responses
            if r.total is None
        ],
    }


@pytest.fixture
def busy(responder: Course, cast: Cast) -> Course:  # noqa: F811
    """The responder with a second scored instrument, C-SSRS screens, a clinician-rated MADRS, a cancelled session,
    an older course with sessions of its own, and another patient's responses at the same site."""
    patient = responder.patient
    start = NOW - 30 * DAY
    record_response(patient, "gad7", [2] * 7, respondent="patient", channel="portal", completed_at=start - DAY)
    record_response(patient, "gad7", [1] * 7, respondent="patient", channel="portal", completed_at=start + 6 * DAY)
    record_response(patient, "madrs", [3] * 10, respondent="clinician", channel="clinic", completed_at=start)
    for days, answer in ((2, False), (9, True)):
        record_response(
            patient,
            "cssrs_screener",
            {"q1": answer, "q2": False, "q6": False},
            respondent="patient",
            channel="portal",
            completed_at=start + days * DAY,
        )
    phq9(responder, 7, start + 8 * DAY)  # the same time as another PHQ-9: ordered by id
    older = Course.objects.get(pk=responder.pk)
    older.pk = None
    older.opened_at = responder.opened_at - 200 * DAY
    older.status, older.ended_at = "completed", responder.opened_at - 150 * DAY  # one open course at a time
    older.save()
    (old_session,) = held_sessions(responder, [start - 100 * DAY])
    Appointment.objects.filter(pk=old_session.pk).update(course_ref=older.pk)
    (cancelled,) = Appointment.objects.filter(course_ref=responder.pk).order_by("starts_at")[:1]
    Appointment.objects.filter(pk=cancelled.pk).update(status=Appointment.Status.CANCELLED)
    other = Patient.objects.exclude(pk=patient.pk).filter(site=patient.site).first()
    if other is not None:
        record_response(other, "phq9", [1] * 9, respondent="patient", channel="portal", completed_at=start)
    return responder


@pytest.mark.parametrize("only", [None, "phq9", "cssrs_screener"])
def test_it_gives_what_the_three_orm_reads_gave(busy: Course, only: str | None) -> None:
    patient = busy.patient
    expected = the_three_orm_reads(patient, only)
    with CaptureQueriesContext(connection) as read:
        data = load_trajectories(patient, only=only)
    assert len(read) == 1
    assert data.course.pk == busy.pk and data.course.started_at == expected["course"].started_at
    assert data.sessions == expected["sessions"] and len(data.sessions) == 3
    got = {s.id: [(p.at, p.score, p.response_id, p.respondent) for p in s.points] for s in data.instruments}
    assert got == expected["points"] and list(got) == list(expected["points"])
    screens = [(r.pk, r.instrument, r.band, r.flags, r.answers, r.completed_at, r.respondent) for r in data.screens]
    assert screens == expected["screens"]
    assert all(r.total is None for r in data.screens)
    if only != "cssrs_screener":
        assert [r.is_positive_suicide_screen for r in data.screens] == ([False, True] if only is None else [])
    # Everything derived from the rows is what the shared code derives from the ORM's reads.
    for series in data.instruments:
        points = [Point(*p) for p in expected["points"][series.id]]
        reference = _build(
            clinical.get_instrument(series.id),
            points,
            expected["sessions"],
            expected["course"],
            lambda: clinic_policy(patient.site_id),
        )
        assert series == reference
    if only is None:
        assert [s.id for s in data.instruments] == ["phq9", "gad7", "madrs"]


def test_a_patient_without_course_or_responses(cast: Cast) -> None:
    patient = Patient.objects.create(
        site=cast.site_a, mrn="T1", legal_first_name="A", legal_last_name="B", date_of_birth=dt.date(1980, 1, 1)
    )
    data = load_trajectories(patient)
    assert data.course is None and data.sessions == [] and data.instruments == [] and data.screens == []


@pytest.mark.parametrize(("sites", "only"), [(1, None), (2, None), (2, "gad7")])
def test_the_composed_sql_reads_exactly_what_the_orm_query_reads(busy: Course, cast: Cast, sites: int, only) -> None:
    patient = busy.patient
    site_ids = [patient.site_id, cast.site_b.pk][:sites]
    expected = sorted(trajectory_query(patient.pk, site_ids, only), key=repr)
    got = sorted(trajectory_rows(patient.pk, site_ids, only), key=repr)
    assert got == expected and len(got) > 5
    kinds = {row[0] for row in got}
    assert kinds >= {"patient", "point", "course", "session"} and ("screen" in kinds) == (only is None)
    assert not [r for r in trajectory_rows(patient.pk, [cast.site_b.pk], only) if r[0] == "patient"]


def audit_rows(patient_id: int) -> list[tuple[Any, ...]]:
    """The audit events of reads of ``patient_id``'s measures, without their time, id and path."""
    return list(
        AuditEvent.objects.filter(patient_id=patient_id)
        .order_by("id")
        .values_list(
            "actor_id", "actor_username", "acting_role", "site_id", "action", "object_type", "object_id", "outcome"
        )
    )


@pytest.mark.parametrize(
    ("who", "status"), [("prescriber", 200), ("therapist", 200), ("coordinator", 403), ("nurse_b", 404)]
)
def test_the_page_checks_and_audits_as_access_patient_does(busy: Course, cast: Cast, who: str, status: int) -> None:
    """The instrument drill-down reaches the patient through ``access_patient`` with the same audit type: the
    trajectory page must answer and audit exactly as it does."""
    patient = busy.patient
    client = Client()
    client.force_login(getattr(cast, who))
    before = len(audit_rows(patient.pk))
    drill = client.get(reverse("measures:instrument", args=[patient.pk, "phq9"]))
    page = client.get(reverse("measures:trajectory", args=[patient.pk]))
    assert drill.status_code == page.status_code == status
    via_access_patient, via_trajectory = audit_rows(patient.pk)[before:]
    assert via_trajectory == via_access_patient
    assert via_trajectory[-1] == ("success" if status == 200 else "denied" if status == 403 else "not_found")


def test_a_missing_patient_is_a_404_audited_like_any_other(cast: Cast) -> None:
    client = Client()
    client.force_login(cast.nurse)
    assert client.get(reverse("measures:instrument", args=[987654, "phq9"])).status_code == 404
    assert client.get(reverse("measures:trajectory", args=[987654])).status_code == 404
    first, second = audit_rows(987654)
    assert first == second and first[-1] == "not_found"


def test_the_page_costs_the_same_few_statements_with_no_responses_or_many(iv_course: Course, cast: Cast) -> None:  # noqa: F811
    client = Client()
    client.force_login(cast.nurse)
    url = reverse("measures:trajectory", args=[iv_course.patient.pk])
    client.get(url)  # the session, the clinic policy
    with CaptureQueriesContext(connection) as none:
        assert client.get(url).status_code == 200
    for n in range(30):
        phq9(iv_course, n % 27, NOW - 60 * DAY + n * DAY)
    with CaptureQueriesContext(connection) as many:
        assert "<circle" in client.get(url).content.decode()
    assert len(none) == len(many) <= 5


def test_without_the_readers_sites_it_takes_the_authoritative_path(busy: Course, cast: Cast) -> None:
    patient, data = access_trajectories(cast.prescriber, busy.patient.pk, [], audit_as="measures.questionnaireresponse")
    assert patient.pk == busy.patient.pk and data.get("phq9") is not None
    assert AuditEvent.objects.filter(patient_id=patient.pk, outcome="success").exists()


def test_who_may_read_the_chart(cast: Cast) -> None:
    assert may_read_chart(cast.prescriber) and may_read_chart(cast.therapist)
    assert not may_read_chart(cast.coordinator)
    assert not may_read_chart(None) and not may_read_chart(AnonymousUser())
