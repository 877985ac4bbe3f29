"""Submitting the intake: patient-reported rows that wait for a clinician, proposals, the review task, a spent link."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from ketaclinic.patients.models import (
    AntidepressantTrial,
    MedicalCondition,
    MedicationEntry,
    Patient,
    SubstanceUseEntry,
)
from ketaclinic.portal import actions
from ketaclinic.portal.intake import chart_rows, proposed_changes, trial_drug_class
from ketaclinic.portal.models import IntakeSubmission, PortalLink
from ketaclinic.portal.tests.conftest import history, walk
from ketaclinic.tasks.models import Task

pytestmark = pytest.mark.django_db


def submit(token: str, **overrides: Any) -> IntakeSubmission:
    client = Client()
    walk(client, token, **overrides)
    response = client.post(reverse("portal:intake_review", kwargs={"token": token}))
    assert response.status_code == 200
    return IntakeSubmission.objects.get(link__token_hash=actions.hash_token(token))


def test_submit_creates_patient_reported_rows_that_do_not_count_until_accepted(
    intake: tuple[PortalLink, str],
) -> None:
    link, token = intake
    submission = submit(
        token,
        history=history(
            condition_blood_pressure="uncontrolled",
            condition_glaucoma="unsure",
            condition_psychosis="no",
            substance_alcohol_past_year="on",
            substance_alcohol_problem="on",
        ),
    )
    patient = link.patient
    conditions = MedicalCondition.objects.filter(patient=patient)
    assert sorted(conditions.values_list("condition", flat=True)) == [
        "hypertension_uncontrolled",
        "raised_iop_glaucoma",
    ]
    assert conditions.get(condition="raised_iop_glaucoma").notes == "Patient was not sure — please confirm."
    substance = SubstanceUseEntry.objects.get(patient=patient)
    assert (substance.substance, substance.current, substance.use_disorder) == ("alcohol", True, True)
    medication = MedicationEntry.objects.get(patient=patient)
    assert (medication.name, medication.dose_text, medication.drug_class) == (
        "lorazepam",
        "1 mg at night",
        "benzodiazepine",
    )
    trials = {t.drug: t for t in AntidepressantTrial.objects.filter(patient=patient)}
    assert trials["sertraline"].drug_class == "ssri"
    assert trials["sertraline"].weeks == Decimal("8") and trials["sertraline"].improvement_pct == 25
    assert trials["Wellbutrin"].drug_class == "other"  # a brand name: classified by the clinician, not guessed
    assert trials["Wellbutrin"].weeks is None and trials["Wellbutrin"].improvement_pct == 0
    for model in (MedicalCondition, SubstanceUseEntry, MedicationEntry, AntidepressantTrial):
        rows = model.objects.filter(patient=patient)
        assert all(row.source == "patient" and row.is_pending_review for row in rows)
        assert model.objects.filter(patient=patient).current().count() == 0
        assert model.objects.filter(patient=patient).pending_review().count() == rows.count() > 0
    assert len(submission.entries) == 6
    task = submission.task
    assert task is not None
    assert (task.kind, task.priority, task.status) == (Task.Kind.INTAKE_REVIEW, Task.Priority.ROUTINE, Task.Status.OPEN)
    link.refresh_from_db()
    assert link.completed_at is not None


def test_submit_keeps_contact_and_pregnancy_proposals_for_staff(intake: tuple[PortalLink, str]) -> None:
    link, token = intake
    submission = submit(token, history=history(pregnant="unsure", breastfeeding="not_applicable"))
    assert submission.contact_changes["email"] == {
        "old": "robin@example.invalid",
        "new": "robin.new@example.invalid",
        "label": "robin.new@example.invalid",
    }
    assert submission.contact_changes["phone"]["new"] == "312 555 0123"
    assert "address" not in submission.contact_changes  # unchanged
    assert submission.contact_changes["pregnant"] == {"old": None, "new": None, "label": "Not sure"}
    assert submission.contact_changes["breastfeeding"] == {"old": None, "new": False, "label": "Does not apply to me"}
    link.patient.refresh_from_db()
    assert link.patient.email == "robin@example.invalid"


def test_submit_needs_every_step_and_a_live_intake_link(intake: tuple[PortalLink, str], patient: Patient, cast) -> None:
    link, token = intake
    walk(Client(), token, until="gad7")
    with pytest.raises(actions.IntakeError, match="finish these steps first: gad7, cssrs"):
        actions.submit_intake(link)
    consent, _ = actions.create_link(patient, purpose="consent", by=cast.nurse, email=None)
    with pytest.raises(actions.IntakeError, match="only an intake link"):
        actions.submit_intake(consent)
    actions.revoke_link(link, by=cast.nurse)
    with pytest.raises(actions.IntakeError, match="revoked"):
        actions.submit_intake(link)
    with pytest.raises(actions.IntakeError, match="revoked"):
        actions.save_step(link, "contact", {})
    with pytest.raises(ValueError, match="not an intake step"):
        actions.save_step(link, "review", {})


def test_a_double_submit_creates_one_intake(intake: tuple[PortalLink, str]) -> None:
    link, token = intake
    submit(token)
    with pytest.raises(actions.IntakeError, match="completed"):
        actions.submit_intake(link)
    assert IntakeSubmission.objects.count() == 1
    assert Task.objects.filter(kind=Task.Kind.INTAKE_REVIEW).count() == 1


def test_a_race_lost_at_submit_shows_the_used_page(intake: tuple[PortalLink, str], monkeypatch) -> None:
    _, token = intake
    client = Client()
    walk(client, token)

    def lost(link: PortalLink) -> None:
        raise actions.IntakeError("this link is completed")

    monkeypatch.setattr(actions, "submit_intake", lost)
    response = client.post(reverse("portal:intake_review", kwargs={"token": token}))
    assert response.status_code == 410


def test_the_mapping_of_answers_to_rows_is_deduplicated_and_explicit() -> None:
    answers = {
        "history": {
            "conditions": {"psychosis": "yes", "psychosis_now": "no", "blood_pressure": "unsure", "bipolar": "maybe"},
            "substances": {"cannabis": {"past_year": False, "problem": False}},
        },
        "medications": {"rows": [{"name": "Zoloft"}]},
    }
    rows = chart_rows(answers)
    assert rows == [
        ("condition", {"condition": "psychosis", "notes": ""}),
        ("medication", {"name": "Zoloft", "dose_text": "", "drug_class": "other"}),
    ]
    assert trial_drug_class(" Bupropion ") == "bupropion"
    assert proposed_changes({"phone": "1"}, {}) == {}
