"""Suicide-risk follow-up: due by tier, on the home screen, closed only with a documented structured assessment (and
only by a clinician who edits the chart); a missed high-risk follow-up escalates exactly once."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core import mail
from django.test import Client
from django.urls import reverse

from ketaclinic.accounts.clinic_policy import set_policy_value
from ketaclinic.audit.models import AuditEvent
from ketaclinic.conftest import Cast
from ketaclinic.measures import jobs
from ketaclinic.measures.actions import record_response
from ketaclinic.patients.actions import register_patient
from ketaclinic.patients.models import Patient
from ketaclinic.portal.tests.conftest import text_of
from ketaclinic.tasks.actions import close_risk_followup
from ketaclinic.tasks.models import FollowUpAssessment, Task

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 6, 1, 14, 30, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def clock() -> object:
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def patient(cast: Cast) -> Patient:
    return register_patient(
        site=cast.site_a,
        by=cast.coordinator,
        legal_first_name="Jordan",
        legal_last_name="Riskpatient",
        date_of_birth=dt.date(1990, 2, 3),
    )


def positive(patient: Patient, **answers: bool) -> Task:
    values = {"q1": False, "q2": False, "q6": False, **answers}
    record_response(patient, "cssrs_screener", values, respondent="clinician", channel="clinic")
    return Task.objects.get(kind=Task.Kind.SUICIDE_RISK, patient=patient, status="open")


@pytest.mark.parametrize(
    ("answers", "tier", "hours"),
    [
        ({"q1": True}, "low", 24),
        ({"q6": True, "q6_past_3_months": False}, "moderate", 4),
        ({"q6": True, "q6_past_3_months": True}, "high", 1),
    ],
)
def test_the_due_time_follows_the_tier(patient: Patient, answers: dict[str, bool], tier: str, hours: int) -> None:
    task = positive(patient, **answers)
    assert task.risk_tier == tier and task.due_at == NOW + dt.timedelta(hours=hours)


def test_the_tier_times_are_clinic_policy(patient: Patient, cast: Cast) -> None:
    set_policy_value(
        patient.site, name="suicide_followup_low_hours", value=8, reason="Medical director's rule.", by=cast.prescriber
    )
    assert positive(patient, q1=True).due_at == NOW + dt.timedelta(hours=8)


def test_the_task_is_on_the_clinicians_home_screen(patient: Patient, cast: Cast) -> None:
    positive(patient, q1=True)
    client = Client()
    client.force_login(cast.prescriber)
    home = client.get(reverse("tasks:widget"))
    assert "Suicide-risk follow-up" in text_of(home) and "Low risk" in text_of(home)


def test_closing_needs_the_structured_assessment(patient: Patient, cast: Cast) -> None:
    task = positive(patient, q6=True, q6_past_3_months=True)
    client = Client()
    client.force_login(cast.prescriber)
    url = reverse("tasks:detail", args=[task.pk])
    page = client.get(url)
    assert "Risk level assessed" in text_of(page) and "Emergency referral" in text_of(page)
    refused = client.post(url, {"assessed_risk": "high", "actions": ["safety_plan"], "note": "Spoke with patient."})
    assert refused.status_code == 400
    assert "a high risk needs same-day mental-health evaluation arranged or emergency referral" in text_of(refused)
    assert 'value="safety_plan"' in refused.content.decode()
    missing = client.post(url, {"note": "x"})
    assert missing.status_code == 400 and "Risk level assessed: choose" in text_of(missing)
    closed = client.post(
        url,
        {
            "assessed_risk": "high",
            "actions": ["emergency_referral", "crisis_resources"],
            "note": "Called: active plan. Escorted to the emergency department.",
        },
    )
    assert closed.status_code == 302
    task.refresh_from_db()
    assessment = FollowUpAssessment.objects.get(task=task)
    assert task.status == "done" and task.closed_by == cast.prescriber
    assert assessment.actions == ["emergency_referral", "crisis_resources"] and assessment.assessed_risk == "high"
    assert task.resolution.startswith("Risk assessed: high. Actions: Emergency referral")
    event = AuditEvent.objects.filter(object_type="tasks.followupassessment").get()
    assert event.detail == {"task": task.pk}  # identifiers only, no risk level in the audit trail
    assert "Documented assessment" in text_of(client.get(url))


def test_a_therapist_reads_but_cannot_close_a_follow_up(patient: Patient, cast: Cast) -> None:
    task = positive(patient, q1=True)
    client = Client()
    client.force_login(cast.therapist)
    assert client.get(reverse("tasks:detail", args=[task.pk])).status_code == 200
    data = {"assessed_risk": "low", "actions": ["safety_plan"], "note": "Safety plan reviewed by phone."}
    assert client.post(reverse("tasks:detail", args=[task.pk]), data).status_code == 403


def test_the_action_refuses_other_tasks_and_closed_ones(patient: Patient, cast: Cast) -> None:
    task = positive(patient, q1=True)
    other = Task.objects.create(
        patient=patient, site=patient.site, kind=Task.Kind.OTHER, title="Call", due_at=NOW, priority="routine"
    )
    with pytest.raises(ValueError, match="only a suicide-risk follow-up"):
        close_risk_followup(other, by=cast.prescriber, assessed_risk="none", actions=["no_further_action"], note="x")
    close_risk_followup(
        task, by=cast.prescriber, assessed_risk="low", actions=["safety_plan"], note="Safety plan reviewed."
    )
    with pytest.raises(ValueError, match="already closed"):
        close_risk_followup(
            task, by=cast.prescriber, assessed_risk="low", actions=["safety_plan"], note="Safety plan reviewed."
        )


def test_a_missed_high_risk_follow_up_escalates_exactly_once(
    patient: Patient, cast: Cast, clock: time_machine.Traveller
) -> None:
    high = positive(patient, q6=True, q6_past_3_months=True)
    other = register_patient(
        site=cast.site_a,
        by=cast.coordinator,
        legal_first_name="Ana",
        legal_last_name="Low",
        date_of_birth=dt.date(1985, 1, 1),
    )
    low = positive(other, q1=True)
    assert jobs.escalate_missed_followups() == 0
    clock.shift(dt.timedelta(hours=2))
    assert jobs.suicide_followup_escalation() == 1
    high.refresh_from_db()
    low.refresh_from_db()
    assert high.escalated_at is not None and low.escalated_at is None
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert cast.prescriber.email in message.to and cast.nurse.email not in message.to
    assert reverse("tasks:detail", args=[high.pk]) in message.body
    assert patient.legal_last_name not in message.body and "Jordan" not in message.body
    clock.shift(dt.timedelta(hours=2))
    assert jobs.escalate_missed_followups() == 0 and len(mail.outbox) == 1
    client = Client()
    client.force_login(cast.nurse)
    assert "Escalated" in text_of(client.get(reverse("tasks:widget")))


def test_a_failed_escalation_email_is_retried(patient: Patient, monkeypatch: pytest.MonkeyPatch) -> None:
    task = positive(patient, q4=True, q2=True, q3=False, q5=False)
    assert task.risk_tier == "high"

    def broken(*args: object, **kwargs: object) -> None:
        raise OSError("smtp down")

    monkeypatch.setattr(jobs, "send_mail", broken)
    assert jobs.escalate_missed_followups(NOW + dt.timedelta(hours=2)) == 0
    task.refresh_from_db()
    assert task.escalated_at is None


def test_flags_that_are_not_suicide_screens_raise_no_follow_up(patient: Patient) -> None:
    response = record_response(patient, "pcl5", [3] * 20, respondent="patient", channel="portal")
    assert response.flags and not Task.objects.filter(kind=Task.Kind.SUICIDE_RISK).exists()


def test_tasks_without_a_tier_never_escalate_and_no_prescriber_email_still_marks_once(
    patient: Patient, cast: Cast
) -> None:
    from ketaclinic.tasks.actions import raise_task

    by_hand = raise_task(patient, kind=Task.Kind.SUICIDE_RISK, title="Entered by hand", priority="urgent")
    assert jobs.escalate_missed_followups(NOW + dt.timedelta(hours=3)) == 0
    by_hand.status, by_hand.closed_at, by_hand.resolution = "done", NOW, "Handled by phone call."
    by_hand.save()
    high = positive(patient, q6=True, q6_past_3_months=True)
    cast.prescriber.email = ""
    cast.prescriber.save(update_fields=["email"])
    assert jobs.escalate_missed_followups(NOW + dt.timedelta(hours=3)) == 1
    high.refresh_from_db()
    assert high.escalated_at is not None and mail.outbox == []
    assessment = FollowUpAssessment(task=high, assessed_risk="low")
    assert str(assessment) == f"follow-up assessment (low) for task #{high.pk}"
