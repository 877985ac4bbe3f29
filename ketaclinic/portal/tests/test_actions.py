"""Edge cases of the portal actions not reached through the screens (each guarantee in its docstring)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from ketaclinic.audit.models import AuditEvent
from ketaclinic.conftest import Cast
from ketaclinic.patients.models import MedicalCondition
from ketaclinic.portal import actions
from ketaclinic.portal.models import IntakeSubmission, PortalLink
from ketaclinic.portal.tests.conftest import history, walk
from ketaclinic.tasks.actions import close_task

pytestmark = pytest.mark.django_db


@pytest.fixture
def submission(intake: tuple[PortalLink, str]) -> IntakeSubmission:
    _, token = intake
    client = Client()
    walk(client, token, history=history(condition_bladder="yes"))
    client.post(reverse("portal:intake_review", kwargs={"token": token}))
    return IntakeSubmission.objects.get()


def test_opening_twice_is_recorded_once(intake: tuple[PortalLink, str]) -> None:
    link, _ = intake
    actions.mark_opened(link)
    first = link.first_opened_at
    actions.mark_opened(link)
    assert link.first_opened_at == first
    assert AuditEvent.objects.filter(detail__event="opened").count() == 1


def test_revoke_and_complete_are_idempotent(intake: tuple[PortalLink, str], cast: Cast) -> None:
    link, _ = intake
    actions.complete_link(link)
    done_at = link.completed_at
    actions.complete_link(link)
    assert link.completed_at == done_at
    other, _ = actions.create_link(link.patient, purpose="questionnaire", by=cast.nurse, email=None)
    actions.revoke_link(other, by=cast.nurse)
    revoked_at = other.revoked_at
    actions.revoke_link(other, by=cast.prescriber)
    assert other.revoked_at == revoked_at and other.revoked_by == cast.nurse


def test_saving_a_step_twice_keeps_the_order_of_steps(intake: tuple[PortalLink, str]) -> None:
    link, _ = intake
    actions.save_step(link, "history", {"a": 1})
    actions.save_step(link, "contact", {"b": 2})
    draft = actions.save_step(link, "history", {"a": 3})
    assert draft.done == ["contact", "history"]
    assert draft.answers == {"history": {"a": 3}, "contact": {"b": 2}}
    assert actions.first_incomplete_step(draft) == "welcome"


def test_decisions_on_a_completed_review_are_refused(submission: IntakeSubmission, cast: Cast) -> None:
    condition = MedicalCondition.objects.get(patient=submission.patient)
    actions.reject_reported_entry(submission, condition, by=cast.nurse, reason="not confirmed")
    with pytest.raises(actions.IntakeError, match="already decided"):
        actions.reject_reported_entry(submission, condition, by=cast.nurse, reason="again")
    for _kind, entry in actions.submission_entries(submission):
        if entry.is_pending_review:
            actions.accept_reported_entry(submission, entry, by=cast.nurse)
    for field in submission.pending_contact_fields:
        actions.decide_contact_change(submission, field, accept=True, by=cast.nurse)
    with pytest.raises(actions.IntakeError, match="no change"):
        actions.decide_contact_change(submission, "gender", accept=True, by=cast.nurse)
    with pytest.raises(actions.IntakeError, match="at least 10 characters"):
        actions.complete_review(submission, by=cast.nurse, resolution="  done  ")
    # The review task was closed from the tasks screen first: completing the review still works.
    assert submission.task is not None
    close_task(submission.task, by=cast.prescriber, resolution="Handled on the phone with the patient.")
    actions.complete_review(submission, by=cast.nurse, resolution="All items decided at review.")
    with pytest.raises(actions.IntakeError, match="already complete"):
        actions.complete_review(submission, by=cast.nurse, resolution="All items decided at review.")
    with pytest.raises(actions.IntakeError, match="already complete"):
        actions.accept_reported_entry(submission, condition, by=cast.nurse)
    with pytest.raises(actions.IntakeError, match="already complete"):
        actions.decide_contact_change(submission, "phone", accept=True, by=cast.nurse)


def test_find_entry_only_finds_rows_of_this_intake(submission: IntakeSubmission) -> None:
    condition = MedicalCondition.objects.get(patient=submission.patient)
    assert actions.find_entry(submission, "condition", condition.pk) == condition
    with pytest.raises(LookupError):
        actions.find_entry(submission, "condition", condition.pk + 1000)
    with pytest.raises(LookupError):
        actions.find_entry(submission, "allergy", condition.pk)


def test_link_addresses(settings) -> None:
    assert actions.link_path("abc") == "/p/abc/"
    assert actions.link_path("abc", "/consent/ketamine/") == "/p/abc/consent/ketamine/"
    settings.PORTAL_BASE_URL = "https://clinic.example/"
    assert actions.link_url("abc") == "https://clinic.example/p/abc/"
    assert actions.link_url("abc", base_url="http://testserver/") == "http://testserver/p/abc/"


def test_models_describe_themselves(submission: IntakeSubmission) -> None:
    assert str(submission) == f"intake #{submission.pk} (Awaiting review)"
    assert str(submission.link.draft) == f"intake draft for link #{submission.link_id}"
