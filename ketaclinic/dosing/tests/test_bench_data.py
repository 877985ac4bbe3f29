"""A smoke test of the session-page benchmark's generator and floor handler at a tiny scale (the benchmark itself
never runs in the test suite): the rows pass every database constraint, the pages read them (every session dosed and
monitored: the monitoring fragment charts every reading, finds every timepoint done and lists the scales), and the
floor returns the same data as the ORM."""

from __future__ import annotations

import datetime as dt
import re
import sys
from pathlib import Path

import orjson
import pytest
from django.db import connection
from django.test import Client, RequestFactory
from django.urls import reverse

from ketaclinic import clinical
from ketaclinic.accounts.models import User
from ketaclinic.courses.models import Course, DoseOrder
from ketaclinic.dosing.models import (
    CheckIn,
    DoseAdministration,
    DosingSession,
    DrugLot,
    EsketamineDevice,
    ScaleObservation,
    SessionAlert,
    SessionNote,
    VitalSign,
)
from ketaclinic.measures.models import QuestionnaireResponse
from ketaclinic.patients.models import Patient
from ketaclinic.scheduling.models import Appointment
from ketaclinic.screening.models import EligibilityAssessment

SUPPORT = Path(__file__).resolve().parents[3] / "bench" / "support"
pytestmark = pytest.mark.django_db


@pytest.fixture
def bench_modules():
    sys.path.insert(0, str(SUPPORT))
    try:
        import session_page_data
        import session_page_urls

        yield session_page_data, session_page_urls
    finally:
        sys.path.remove(str(SUPPORT))


@pytest.fixture
def frozen_clock():
    """The generator writes fixed dates; no clock needed."""
    return None


def test_the_generator_fills_what_the_pages_read(bench_modules) -> None:
    data, urls = bench_modules
    said: list[str] = []

    made = data.generate(connection, scale=0.001, seed=7, say=said.append)
    connection.check_constraints()  # foreign keys too (deferred to a commit the test never makes)

    patients, sessions = 5, 5 * data.SESSIONS_PER_PATIENT
    assert made == {"patients": patients, "sessions": sessions, "rows": made["rows"]}
    assert Patient.objects.filter(site__code=data.SITE_CODE).count() == patients
    assert Appointment.objects.count() == DosingSession.objects.count() == sessions
    assert CheckIn.objects.count() == SessionNote.objects.count() == sessions
    assert QuestionnaireResponse.objects.filter(instrument="phq9").count() == sessions
    assert VitalSign.objects.count() == sessions * data.VITALS_PER_SESSION
    assert VitalSign.objects.filter(is_baseline=True).count() == sessions
    assert EligibilityAssessment.objects.count() == Course.objects.count() == DoseOrder.objects.count() == patients
    assert DoseAdministration.objects.count() == sessions
    per_session = EsketamineDevice.objects.count() + ScaleObservation.objects.count() + SessionAlert.objects.count()
    assert made["rows"] == patients * 4 + sessions * 6 + VitalSign.objects.count() + per_session
    assert said[-1].startswith(f"Generated {made['rows']:,} rows")
    # The ids continue after the generated ones (sequences were reset).
    session = DosingSession.objects.order_by("pk")[sessions - 1]
    reading = {"systolic_mmhg": 120, "diastolic_mmhg": 80, "heart_rate_bpm": 70, "spo2_pct": 98}
    extra = VitalSign.objects.create(session=session, **reading)
    assert extra.pk == sessions * data.VITALS_PER_SESSION + 1

    client = Client()
    client.force_login(User.objects.get(username=data.NURSE))
    page = client.get(reverse("dosing:session", args=[session.patient_id, session.pk]))
    assert page.status_code == 200 and session.patient.display_name in page.content.decode()

    floor = urls.raw_monitor(RequestFactory().get("/"), session.patient_id, session.pk)
    body = orjson.loads(floor.content)
    header = body["session"]
    assert header["session_id"] == session.pk and header["last_name"] == session.patient.legal_last_name
    assert len(body["vitals"]) == data.VITALS_PER_SESSION + 1
    assert [row[1] for row in body["vitals"][:3]] == list(
        session.vitals.order_by("recorded_at", "id").values_list("systolic_mmhg", flat=True)[:3]
    )
    phq9 = QuestionnaireResponse.objects.filter(patient=session.patient, instrument="phq9").order_by("completed_at")
    assert [row[1] for row in body["phq9"]] == [r.total for r in phq9]
    assert header["note_written_by"] == data.NURSE
    records = {(row[0], row[1]) for row in body["records"]}
    assert ("dose", session.administration.pk) in records
    assert {pk for kind, pk in records if kind == "scale"} == set(session.observations.values_list("pk", flat=True))
    assert {pk for kind, pk in records if kind == "alert"} == set(session.alerts.values_list("pk", flat=True))


def test_every_generated_session_is_dosed_and_monitored(bench_modules) -> None:
    """What a nurse sees of a past session: the dose, every reading on the chart, every timepoint done, the scales
    and the acknowledged alerts (seed 7 at this scale has both routes and some alerts)."""
    data, _urls = bench_modules
    data.generate(connection, scale=0.002, seed=7, say=lambda _: None)
    sessions = DosingSession.objects.select_related("patient", "administration__lot", "administration__order__course")
    routes = set()
    for session in sessions:
        dose = session.administration
        baseline = session.vitals.get(is_baseline=True)
        course = dose.order.course
        assert dose.started_at == baseline.recorded_at + dt.timedelta(minutes=1)
        assert session.course_ref == session.appointment.course_ref == course.pk
        assert course.patient_id == session.patient_id and course.route == dose.route == session.route
        assert dose.lot.drug == dose.drug and dose.witnessed_by_id != dose.administered_by_id
        routes.add(session.route)
        if session.is_esketamine:
            devices = list(dose.devices.values_list("at", flat=True))
            assert len(devices) == int(dose.amount_mg) // 28 in (2, 3) and devices[0] == dose.started_at
        else:
            assert dose.stopped_at == dose.started_at + dt.timedelta(minutes=40)
    assert routes == {"iv", "esketamine_nasal"}
    assert DrugLot.objects.count() == 2
    alerted = set(SessionAlert.objects.values_list("session_id", flat=True))
    assert 0 < len(alerted) < len(sessions) / 4
    assert not SessionAlert.objects.filter(acknowledged_at__isnull=True).exists()

    client = Client()
    client.force_login(User.objects.get(username=data.NURSE))
    shown = {}
    for session in sessions:
        if session.route in shown and (session.pk not in alerted or "alert" in shown):
            continue
        page = client.get(reverse("dosing:monitor", args=[session.patient_id, session.pk]))
        assert page.status_code == 200
        html = page.content.decode()
        assert f"{data.VITALS_PER_SESSION} sets recorded." in html
        series = re.findall(r'<polyline class="series-\w+" points="([^"]*)"', html)
        assert len(series) >= 4 and all(len(points.split()) == data.VITALS_PER_SESSION for points in series)
        planned = clinical.monitoring_timepoints(session.route, dose_minutes=40 if session.route == "iv" else 0)
        assert html.count('class="tp tp-done"') == len(planned) and "tp-overdue" not in html
        ratings = session.observations.count()
        assert ratings >= len(planned) - 1 and html.count("-min timepoint</li>") == ratings
        assert "MOAA/S <strong>" in html and "CADSS-6 <strong>" in html
        if session.pk in alerted:
            assert "Observed; repeat measurement" in html
            shown["alert"] = session.pk
        shown[session.route] = session.pk
    assert set(shown) == {"iv", "esketamine_nasal", "alert"}


def test_the_floor_answers_404_for_a_session_of_another_patient(bench_modules) -> None:
    data, urls = bench_modules
    data.generate(connection, scale=0.0002, seed=7, say=lambda _: None)
    session = DosingSession.objects.first()
    with pytest.raises(Exception, match="No such session"):
        urls.raw_monitor(RequestFactory().get("/"), session.patient_id + 1000, session.pk)


def test_the_audited_floor_answers_as_the_floor_and_commits_one_audit_row(bench_modules) -> None:
    from ketaclinic.audit.models import AuditEvent

    data, urls = bench_modules
    data.generate(connection, scale=0.0002, seed=7, say=lambda _: None)
    session = DosingSession.objects.first()
    request = RequestFactory().get("/")
    request.user = User.objects.get(username="bench.nurse")
    before = AuditEvent.objects.count()
    audited = urls.raw_monitor_audited(request, session.patient_id, session.pk)
    plain = urls.raw_monitor(request, session.patient_id, session.pk)
    assert audited.content == plain.content
    row = AuditEvent.objects.latest("id")
    assert AuditEvent.objects.count() == before + 1
    assert (row.action, row.patient_id, row.actor_id) == ("view", session.patient_id, request.user.pk)


def test_the_joint_p50_limit_follows_from_sqlites_figures() -> None:
    saved = list(sys.path)
    sys.path.insert(0, str(SUPPORT.parent))
    try:
        import session_page  # it puts bench/support on the path itself
    finally:
        sys.path[:] = saved
    budget, limit = session_page.joint_p50_limit({"floor_p50": 2.0, "audited_floor_p50": 2.4})
    # The page's own work may take 1.5 × 2.0 − 2.4 = 0.6 ms; with it PostgreSQL's page (a_PG + 0.6) must stay within
    # 1.3 × (2.4 + 0.6) = 3.9 ms, so its floor + audit row within 3.3 ms.
    assert budget == pytest.approx(0.6) and limit == pytest.approx(3.3)
    assert limit + budget == pytest.approx(1.3 * (2.4 + budget))
