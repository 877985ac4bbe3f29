"""Recording questionnaire responses: the clinical core's score is stored with its LOINC codes, a resent form stores
once, and a positive suicide screen raises a follow-up task of the right priority."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from typing import Any

import pytest
import time_machine
from django.db import IntegrityError

from ketaclinic.audit.models import AuditEvent
from ketaclinic.conftest import Cast
from ketaclinic.measures.actions import RISK_PRIORITY, record_response, suicide_task_priority
from ketaclinic.measures.models import QuestionnaireResponse
from ketaclinic.patients.actions import register_patient
from ketaclinic.patients.models import Patient
from ketaclinic.tasks.models import Task

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 6, 1, 14, 30, tzinfo=dt.UTC)


@pytest.fixture
def patient(cast: Cast) -> Patient:
    return register_patient(
        site=cast.site_a,
        by=cast.coordinator,
        legal_first_name="Jordan",
        legal_last_name="Measurepatient",
        date_of_birth=dt.date(1990, 2, 3),
    )


def test_it_stores_the_core_score_with_loinc_codes(patient: Patient, cast: Cast) -> None:
    with time_machine.travel(NOW, tick=False):
        response = record_response(
            patient, "phq9", [3, 3, 2, 2, 1, 1, 0, 0, 0], respondent="clinician", channel="clinic", by=cast.nurse
        )
    response.refresh_from_db()
    assert (response.total, response.band, response.flags) == (12, "moderate", [])
    assert response.answers == {"q1": 3, "q2": 3, "q3": 2, "q4": 2, "q5": 1, "q6": 1, "q7": 0, "q8": 0, "q9": 0}
    assert (response.loinc_panel, response.loinc_total) == ("44249-1", "44261-6")
    assert (response.respondent, response.channel, response.entered_by) == ("clinician", "clinic", cast.nurse)
    assert response.completed_at == NOW and response.site == patient.site and response.submission_key is None
    event = AuditEvent.objects.get(object_type="measures.questionnaireresponse")
    assert event.detail == {"instrument": "phq9", "channel": "clinic"}  # no answers or scores in the audit trail
    assert event.actor == cast.nurse and event.patient_id == patient.pk
    assert not Task.objects.exists()


@pytest.mark.parametrize(
    ("instrument", "answers", "total", "band", "panel", "total_code"),
    [
        ("gad7", {f"q{n}": 3 for n in range(1, 8)}, 21, "severe", "69737-5", "70274-6"),
        ("cssrs_screener", {"q1": False, "q2": False, "q6": False}, None, "none", "93373-9", ""),
    ],
)
def test_it_stores_each_instrument_with_its_codes(
    patient: Patient,
    instrument: str,
    answers: dict[str, Any],
    total: int | None,
    band: str,
    panel: str,
    total_code: str,
) -> None:
    response = record_response(patient, instrument, answers, respondent="patient", channel="portal")
    assert (response.total, response.band, response.loinc_panel, response.loinc_total) == (
        total,
        band,
        panel,
        total_code,
    )
    assert response.entered_by is None
    assert AuditEvent.objects.get(object_type="measures.questionnaireresponse").actor is None


def test_it_keeps_an_explicit_completion_time(patient: Patient) -> None:
    when = NOW - dt.timedelta(days=2)
    response = record_response(patient, "gad7", [0] * 7, respondent="patient", channel="portal", completed_at=when)
    assert response.completed_at == when


def test_it_refuses_invalid_answers_naming_the_item_and_stores_nothing(patient: Patient) -> None:
    with pytest.raises(ValueError, match="phq9 item q9: 4 is not an allowed answer; allowed values: 0–3"):
        record_response(patient, "phq9", [0] * 8 + [4], respondent="patient", channel="portal")
    with pytest.raises(ValueError, match="cssrs_screener item q3: must be left unanswered"):
        record_response(
            patient, "cssrs_screener", {"q1": False, "q2": False, "q3": True, "q6": False}, respondent="patient",
            channel="portal",
        )  # fmt: skip
    assert not QuestionnaireResponse.objects.exists()
    assert not Task.objects.exists()


def test_a_resent_submission_stores_once(patient: Patient) -> None:
    first = record_response(patient, "phq9", [0] * 8 + [1], respondent="patient", channel="portal", submission_key="k1")
    again = record_response(patient, "phq9", [0] * 9, respondent="patient", channel="portal", submission_key="k1")
    assert again.pk == first.pk and again.answers["q9"] == 1
    assert QuestionnaireResponse.objects.count() == 1
    assert Task.objects.count() == 1
    assert AuditEvent.objects.filter(object_type="measures.questionnaireresponse").count() == 1


def test_a_concurrent_resend_returns_the_winner(patient: Patient, monkeypatch: pytest.MonkeyPatch) -> None:
    winner = record_response(patient, "gad7", [1] * 7, respondent="patient", channel="portal", submission_key="race")
    real = QuestionnaireResponse.objects

    class LateLookup:
        """The pre-check ran before the other request committed: it saw nothing."""

        def filter(self, **kwargs: Any) -> Any:
            return SimpleNamespace(first=lambda: None)

        def create(self, **kwargs: Any) -> QuestionnaireResponse:
            return real.create(**kwargs)

        def get(self, **kwargs: Any) -> QuestionnaireResponse:
            return real.get(**kwargs)

    monkeypatch.setattr(QuestionnaireResponse, "objects", LateLookup())
    loser = record_response(patient, "gad7", [2] * 7, respondent="patient", channel="portal", submission_key="race")
    assert loser.pk == winner.pk


def test_an_integrity_error_without_a_key_is_not_hidden(patient: Patient, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(**kwargs: Any) -> None:
        raise IntegrityError("simulated")

    monkeypatch.setattr(QuestionnaireResponse.objects, "create", broken)
    with pytest.raises(IntegrityError):
        record_response(patient, "gad7", [1] * 7, respondent="patient", channel="portal")


@pytest.mark.parametrize(
    ("flags", "priority"),
    [
        ([], None),
        (["suicidal_behaviour"], None),
        (["cssrs_risk_low"], Task.Priority.HIGH),
        (["cssrs_risk_moderate"], Task.Priority.URGENT),
        (["cssrs_risk_high"], Task.Priority.URGENT),
        (["suicidal_ideation"], Task.Priority.URGENT),
        (["cssrs_risk_low", "cssrs_risk_high"], Task.Priority.URGENT),
    ],
)
def test_the_task_priority_follows_the_most_severe_flag(flags: list[str], priority: str | None) -> None:
    assert suicide_task_priority(flags) == priority


def test_every_risk_flag_maps_to_a_task_priority() -> None:
    assert set(RISK_PRIORITY.values()) <= {Task.Priority.URGENT, Task.Priority.HIGH}


@pytest.mark.parametrize("item9", [1, 2, 3])
def test_phq9_item_9_raises_an_urgent_task_linked_to_the_response(patient: Patient, item9: int) -> None:
    with time_machine.travel(NOW, tick=False):
        response = record_response(patient, "phq9", [0] * 8 + [item9], respondent="patient", channel="portal")
    task = Task.objects.get()
    assert (task.kind, task.priority, task.status) == (Task.Kind.SUICIDE_RISK, Task.Priority.URGENT, Task.Status.OPEN)
    assert (task.source_type, task.source_id) == ("measures.questionnaireresponse", str(response.pk))
    assert task.due_at == NOW + dt.timedelta(hours=1)
    assert task.title.startswith("Suicide-risk follow-up: positive PHQ-9")
    assert response.is_positive_suicide_screen


@pytest.mark.parametrize(
    ("answers", "band", "priority"),
    [
        ({"q1": False, "q2": False, "q6": True, "q6_past_3_months": True}, "high", Task.Priority.URGENT),
        ({"q1": False, "q2": False, "q6": True, "q6_past_3_months": False}, "moderate", Task.Priority.URGENT),
        # Q1 alone is the low tier (Columbia triage): high priority, due within the policy's 24 h.
        ({"q1": True, "q2": False, "q6": False}, "low", Task.Priority.HIGH),
    ],
)
def test_a_positive_cssrs_raises_a_task(patient: Patient, answers: dict[str, bool], band: str, priority: str) -> None:
    response = record_response(patient, "cssrs_screener", answers, respondent="clinician", channel="clinic")
    assert response.band == band
    assert Task.objects.get().priority == priority


def test_a_negative_screen_raises_no_task(patient: Patient) -> None:
    answers = [False, False, None, None, None, False]
    response = record_response(patient, "cssrs_screener", answers, respondent="clinician", channel="clinic")
    assert response.band == "none" and not response.is_positive_suicide_screen
    assert not Task.objects.exists()
    assert str(response).startswith("cssrs_screener none (")
    assert response.as_dict() == {"instrument": "cssrs_screener", "total": None, "band": "none", "flags": []}


def test_latest_per_instrument(patient: Patient) -> None:
    with time_machine.travel(NOW - dt.timedelta(days=7), tick=False):
        record_response(patient, "phq9", [2] * 8 + [0], respondent="patient", channel="portal")
        record_response(patient, "gad7", [1] * 7, respondent="patient", channel="portal")
    with time_machine.travel(NOW, tick=False):
        newest = record_response(patient, "phq9", [1] * 8 + [0], respondent="patient", channel="portal")
    latest = QuestionnaireResponse.objects.filter(patient=patient).latest_per_instrument()
    assert [r.instrument for r in latest] == ["phq9", "gad7"] and latest[0] == newest
