"""A positive suicide screen is acted on at its own step: stored, an urgent task raised, crisis resources shown."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from ketaclinic.measures.models import QuestionnaireResponse
from ketaclinic.portal.models import IntakeDraft, PortalLink
from ketaclinic.portal.tests.conftest import GAD7, phq9, step_url, text_of, walk
from ketaclinic.tasks.models import Task

pytestmark = pytest.mark.django_db


def support_url(token: str, step: str) -> str:
    return reverse("portal:intake_support", kwargs={"token": token, "step": step})


def test_phq9_item_9_shows_crisis_help_and_raises_the_urgent_task_at_once(intake: tuple[PortalLink, str]) -> None:
    link, token = intake
    client = Client()
    walk(client, token, until="phq9")
    response = client.post(step_url(token, "phq9"), phq9(q9=1))
    assert response.status_code == 302 and response["Location"] == support_url(token, "phq9")
    # Before the intake is submitted, the clinic already has the urgent task.
    task = Task.objects.get(patient=link.patient, kind=Task.Kind.SUICIDE_RISK)
    assert task.priority == Task.Priority.URGENT and task.status == Task.Status.OPEN
    assert link.patient.questionnaire_responses.get(instrument="phq9").answers["q9"] == 1
    link.refresh_from_db()
    assert link.completed_at is None
    crisis = client.get(response["Location"])
    assert crisis.status_code == 200
    body = text_of(crisis)
    assert "If you are in danger now call 911" in body
    assert "Call or text 988 (Suicide & Crisis Lifeline), available 24/7" in body
    assert 'href="tel:988"' in crisis.content.decode() and 'href="sms:988"' in crisis.content.decode()
    assert "312 555 0100" in body and 'href="tel:3125550100"' in crisis.content.decode()
    assert "The clinic team has been told about your answers and will contact you" in body
    assert f'href="{step_url(token, "gad7")}"' in crisis.content.decode()  # they may carry on
    # The reminder stays on the following steps.
    assert "Help is available now" in text_of(client.get(step_url(token, "gad7")))
    assert IntakeDraft.objects.get(link=link).safety_shown_at is not None


def test_a_resent_phq9_stores_once_and_keeps_the_first_answers(intake: tuple[PortalLink, str]) -> None:
    link, token = intake
    client = Client()
    walk(client, token, until="phq9")
    client.post(step_url(token, "phq9"), phq9(q9=1))
    again = client.post(step_url(token, "phq9"), phq9(q9=0))
    assert again.status_code == 302 and again["Location"] == step_url(token, "gad7")
    assert QuestionnaireResponse.objects.filter(patient=link.patient, instrument="phq9").count() == 1
    assert Task.objects.filter(patient=link.patient, kind=Task.Kind.SUICIDE_RISK).count() == 1
    assert link.patient.questionnaire_responses.get(instrument="phq9").answers["q9"] == 1
    locked = text_of(client.get(step_url(token, "phq9")))
    assert "Your answers here were sent to the clinic" in locked


def test_a_negative_phq9_goes_straight_on_without_a_task(intake: tuple[PortalLink, str]) -> None:
    _link, token = intake
    client = Client()
    walk(client, token, until="phq9")
    response = client.post(step_url(token, "phq9"), phq9(q9=0))
    assert response["Location"] == step_url(token, "gad7")
    assert not Task.objects.filter(kind=Task.Kind.SUICIDE_RISK).exists()
    assert "Help is available now" not in text_of(client.get(step_url(token, "gad7")))


@pytest.mark.parametrize(
    ("answers", "priority"),
    [
        # Low tier (Columbia triage): high priority, due within ClinicPolicy.suicide_followup_low_hours.
        ({"q1": "yes", "q2": "no", "q6": "no"}, Task.Priority.HIGH),
        ({"q1": "yes", "q2": "yes", "q3": "yes", "q4": "yes", "q5": "no", "q6": "no"}, Task.Priority.URGENT),
        ({"q1": "no", "q2": "no", "q6": "yes", "q6_past_3_months": "yes"}, Task.Priority.URGENT),
    ],
)
def test_a_positive_cssrs_shows_crisis_help_at_its_step(
    intake: tuple[PortalLink, str], answers: dict[str, str], priority: str
) -> None:
    link, token = intake
    client = Client()
    walk(client, token, until="cssrs")
    response = client.post(step_url(token, "cssrs"), answers)
    assert response.status_code == 302 and response["Location"] == support_url(token, "cssrs")
    assert Task.objects.get(patient=link.patient, kind=Task.Kind.SUICIDE_RISK).priority == priority
    crisis = client.get(response["Location"])
    assert "Call or text 988" in text_of(crisis)
    assert reverse("portal:intake_review", kwargs={"token": token}) in crisis.content.decode()


def test_the_thank_you_page_repeats_crisis_help_after_a_positive_screen(intake: tuple[PortalLink, str]) -> None:
    _, token = intake
    client = Client()
    walk(client, token, phq9=phq9(q9=2))
    thanks = text_of(client.post(reverse("portal:intake_review", kwargs={"token": token})))
    assert "Thank you" in thanks and "Call or text 988" in thanks


def test_gad7_is_recorded_without_crisis_help(intake: tuple[PortalLink, str]) -> None:
    _, token = intake
    client = Client()
    walk(client, token, until="gad7")
    assert client.post(step_url(token, "gad7"), GAD7)["Location"] == step_url(token, "cssrs")
