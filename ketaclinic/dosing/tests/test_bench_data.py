"""A smoke test of the session-page benchmark's generator and floor handler at a tiny scale (the benchmark itself
never runs in the test suite): the rows pass every database constraint, the pages read them, and the floor returns
the same data as the ORM."""

from __future__ import annotations

import sys
from pathlib import Path

import orjson
import pytest
from django.db import connection
from django.test import Client, RequestFactory
from django.urls import reverse

from ketaclinic.accounts.models import User
from ketaclinic.dosing.models import CheckIn, DosingSession, SessionNote, VitalSign
from ketaclinic.measures.models import QuestionnaireResponse
from ketaclinic.patients.models import Patient
from ketaclinic.scheduling.models import Appointment

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

    patients, sessions = 5, 5 * data.SESSIONS_PER_PATIENT
    assert made == {"patients": patients, "sessions": sessions, "rows": made["rows"]}
    assert Patient.objects.filter(site__code=data.SITE_CODE).count() == patients
    assert Appointment.objects.count() == DosingSession.objects.count() == sessions
    assert CheckIn.objects.count() == SessionNote.objects.count() == sessions
    assert QuestionnaireResponse.objects.filter(instrument="phq9").count() == sessions
    assert VitalSign.objects.count() == sessions * data.VITALS_PER_SESSION == made["rows"] - patients - 5 * sessions
    assert VitalSign.objects.filter(is_baseline=True).count() == sessions
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


def test_the_floor_answers_404_for_a_session_of_another_patient(bench_modules) -> None:
    data, urls = bench_modules
    data.generate(connection, scale=0.0002, seed=7, say=lambda _: None)
    session = DosingSession.objects.first()
    with pytest.raises(Exception, match="No such session"):
        urls.raw_monitor(RequestFactory().get("/"), session.patient_id + 1000, session.pk)
