"""Staff review of a submitted intake: accept, correct-and-accept, reject; contact proposals; completion."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from ketaclinic.accounts.roles import Role
from ketaclinic.accounts.tests.matrix import PermissionMatrix
from ketaclinic.audit.models import AuditEvent
from ketaclinic.conftest import Cast
from ketaclinic.patients.actions import register_patient
from ketaclinic.patients.models import AntidepressantTrial, MedicalCondition, MedicationEntry
from ketaclinic.portal import actions
from ketaclinic.portal.models import IntakeSubmission
from ketaclinic.portal.tests.conftest import history, phq9, text_of, walk

pytestmark = pytest.mark.django_db


def submitted(patient, cast: Cast, **overrides) -> IntakeSubmission:
    _, token = actions.create_link(patient, purpose="intake", by=cast.nurse, email=None)
    client = Client()
    walk(client, token, **overrides)
    assert client.post(reverse("portal:intake_review", kwargs={"token": token})).status_code == 200
    return IntakeSubmission.objects.get(patient=patient)


@pytest.fixture
def submission(patient, cast: Cast) -> IntakeSubmission:
    return submitted(
        patient,
        cast,
        history=history(condition_sleep_apnoea="yes", pregnant="yes", substance_alcohol_problem="on"),
        phq9=phq9(q9=1),
    )


def entry_url(submission: IntakeSubmission, kind: str, entry_id: int, decision: str) -> str:
    return reverse("portal:review_entry", args=[submission.pk, kind, entry_id, decision])


def review_url(submission: IntakeSubmission) -> str:
    return reverse("portal:review", args=[submission.pk])


class TestReviewScreen(PermissionMatrix):
    allowed = {Role.PRESCRIBER, Role.NURSE}
    patient_scoped = True

    def url(self, cast: Cast) -> str:
        patient = register_patient(
            site=cast.site_a, by=cast.coordinator, legal_first_name="Matrix", legal_last_name="Patient",
            date_of_birth="1980-01-01",
        )  # fmt: skip
        return review_url(submitted(patient, cast))


def test_the_review_shows_reported_items_scores_and_proposals(
    client: Client, cast: Cast, submission: IntakeSubmission
) -> None:
    client.force_login(cast.nurse)
    response = client.get(review_url(submission))
    assert response.status_code == 200
    body = text_of(response)
    assert "Sleep apnoea" in body and "Pending review" in body
    assert "lorazepam — 1 mg at night (" in body
    assert "sertraline (SSRI) — 8 weeks, 25 % better" in body
    assert "Wellbutrin (Other) — weeks not recorded, 0 % better" in body
    assert "Positive suicide screen" in body
    assert "Alcohol — not in the past year — reports it has been a problem" in body
    assert "Pregnant Unknown Yes" in body
    assert "robin@example.invalid robin.new@example.invalid" in body
    assert AuditEvent.objects.filter(object_type="portal.intakesubmission", actor=cast.nurse, action="view").exists()


def test_accept_puts_the_row_in_the_chart(client: Client, cast: Cast, submission: IntakeSubmission) -> None:
    client.force_login(cast.nurse)
    condition = MedicalCondition.objects.get(patient=submission.patient)
    response = client.post(entry_url(submission, "condition", condition.pk, "accept"))
    assert response.status_code == 302 and response["Location"] == review_url(submission)
    condition.refresh_from_db()
    assert condition.accepted_by == cast.nurse and condition.accepted_at is not None
    assert MedicalCondition.objects.filter(patient=submission.patient).current().get() == condition
    again = client.post(entry_url(submission, "condition", condition.pk, "accept"), follow=True)
    assert "already decided" in text_of(again)


def test_correct_and_accept_changes_the_row_first(client: Client, cast: Cast, submission: IntakeSubmission) -> None:
    client.force_login(cast.prescriber)
    trial = AntidepressantTrial.objects.get(patient=submission.patient, drug="Wellbutrin")
    prefix = f"trial-{trial.pk}"
    data = {
        f"{prefix}-drug": "bupropion",
        f"{prefix}-drug_class": "bupropion",
        f"{prefix}-daily_dose_mg": "300",
        f"{prefix}-adequate_dose": "true",
        f"{prefix}-weeks": "10",
        f"{prefix}-improvement_pct": "10",
    }
    response = client.post(entry_url(submission, "trial", trial.pk, "correct"), data)
    assert response.status_code == 302
    trial.refresh_from_db()
    assert (trial.drug, trial.drug_class, trial.weeks, trial.daily_dose_mg) == (
        "bupropion",
        "bupropion",
        Decimal("10"),
        Decimal("300"),
    )
    assert trial.accepted_by == cast.prescriber
    event = AuditEvent.objects.filter(
        object_type="patients.antidepressanttrial", detail__event="accepted_patient_report"
    )
    assert set(event.get().detail["fields"]) >= {"drug", "drug_class", "weeks"}


def test_a_bad_correction_answers_400_with_the_error_and_keeps_the_row_pending(
    client: Client, cast: Cast, submission: IntakeSubmission
) -> None:
    client.force_login(cast.nurse)
    trial = AntidepressantTrial.objects.get(patient=submission.patient, drug="sertraline")
    prefix = f"trial-{trial.pk}"
    data = {f"{prefix}-drug": "sertraline", f"{prefix}-drug_class": "ssri", f"{prefix}-weeks": "0"}
    response = client.post(entry_url(submission, "trial", trial.pk, "correct"), data)
    assert response.status_code == 400
    body = response.content.decode()
    assert "Ensure this value is greater than or equal to 0.1." in body
    assert f'name="{prefix}-weeks" value="0"' in body
    trial.refresh_from_db()
    assert trial.is_pending_review and trial.weeks == Decimal("8")


def test_reject_keeps_the_row_out_of_the_chart_with_a_reason(
    client: Client, cast: Cast, submission: IntakeSubmission
) -> None:
    client.force_login(cast.nurse)
    medication = MedicationEntry.objects.get(patient=submission.patient)
    url = entry_url(submission, "medication", medication.pk, "reject")
    missing = client.post(url, {})
    assert missing.status_code == 400
    assert "Reason: say why this item is rejected" in text_of(missing)
    assert client.post(url, {f"reject-medication-{medication.pk}-reason": "Stopped last year"}).status_code == 302
    medication.refresh_from_db()
    assert medication.removed_reason == "Rejected at intake review: Stopped last year"
    assert not MedicationEntry.objects.filter(patient=submission.patient).current().exists()
    assert not MedicationEntry.objects.filter(patient=submission.patient).pending_review().exists()


def test_entry_urls_answer_404_for_items_of_other_intakes(
    client: Client, cast: Cast, submission: IntakeSubmission
) -> None:
    client.force_login(cast.nurse)
    condition = MedicalCondition.objects.get(patient=submission.patient)
    assert client.post(entry_url(submission, "trial", 99999, "accept")).status_code == 404
    assert client.post(entry_url(submission, "allergy", condition.pk, "accept")).status_code == 404
    assert client.post(entry_url(submission, "condition", condition.pk, "shred")).status_code == 404
    client.force_login(cast.nurse_b)
    assert client.post(entry_url(submission, "condition", condition.pk, "accept")).status_code == 404
    client.force_login(cast.coordinator)
    assert client.post(entry_url(submission, "condition", condition.pk, "accept")).status_code == 403


def test_contact_proposals_are_accepted_or_ignored(client: Client, cast: Cast, submission: IntakeSubmission) -> None:
    client.force_login(cast.nurse)
    url = reverse("portal:review_contact", args=[submission.pk, "email"])
    assert client.post(url, {"decision": "accept"}).status_code == 302
    submission.patient.refresh_from_db()
    assert submission.patient.email == "robin.new@example.invalid"
    phone = reverse("portal:review_contact", args=[submission.pk, "phone"])
    client.post(phone, {"decision": "ignore"})
    submission.patient.refresh_from_db()
    assert submission.patient.phone == "312 555 0199"
    submission.refresh_from_db()
    assert submission.contact_decisions == {"email": "accepted", "phone": "ignored"}
    twice = client.post(url, {"decision": "ignore"}, follow=True)
    assert "already decided" in text_of(twice)
    nonsense = client.post(url, {"decision": "shrug"}, follow=True)
    assert "Choose Accept or Ignore." in text_of(nonsense)
    unknown = client.post(reverse("portal:review_contact", args=[submission.pk, "gender"]), {"decision": "accept"})
    assert unknown.status_code == 302


def test_an_invalid_proposal_cannot_be_accepted(client: Client, cast: Cast, submission: IntakeSubmission) -> None:
    submission.contact_changes = {**submission.contact_changes, "email": {"old": "", "new": "broken", "label": "x"}}
    submission.save()
    client.force_login(cast.nurse)
    response = client.post(
        reverse("portal:review_contact", args=[submission.pk, "email"]), {"decision": "accept"}, follow=True
    )
    assert "Not accepted: Enter a valid email address." in text_of(response)


def test_completing_the_review_needs_every_item_decided_and_closes_the_task(
    client: Client, cast: Cast, submission: IntakeSubmission
) -> None:
    client.force_login(cast.nurse)
    url = reverse("portal:review_complete", args=[submission.pk])
    early = client.post(url, {"resolution": "Reviewed everything with the patient."})
    assert early.status_code == 400
    assert "decide every item first" in text_of(early)
    for _, entry in actions.submission_entries(submission):
        actions.accept_reported_entry(submission, entry, by=cast.nurse)
    for field in submission.pending_contact_fields:
        actions.decide_contact_change(submission, field, accept=False, by=cast.nurse)
    short = client.post(url, {"resolution": "ok"})
    assert short.status_code == 400
    assert "at least 10 characters" in text_of(short)
    done = client.post(url, {"resolution": "Reviewed everything with the patient."})
    assert done.status_code == 302
    submission.refresh_from_db()
    assert submission.status == "reviewed" and submission.reviewed_by == cast.nurse
    task = submission.task
    assert task is not None
    task.refresh_from_db()
    assert task.status == "done" and task.resolution == "Reviewed everything with the patient."
    page = text_of(client.get(review_url(submission)))
    assert "Review completed" in page and "Mark review complete" not in page


def test_an_intake_with_nothing_reported_reviews_in_one_step(client: Client, cast: Cast, patient) -> None:
    from ketaclinic.portal.tests.conftest import CONTACT

    blank = dict.fromkeys(("pronouns", "emergency_contact_name", "emergency_contact_phone"), "")
    unchanged = {
        **CONTACT,
        **blank,
        "phone": "312 555 0199",
        "email": "robin@example.invalid",
        "emergency_contact_relationship": "",
    }
    submission = submitted(
        patient,
        cast,
        contact=unchanged,
        history=history(pregnant="no", breastfeeding="no"),
        medications={"rows": "3", "none": "on"},
        antidepressants={"rows": "3", "none": "on"},
    )
    assert submission.entries == []
    assert set(submission.contact_changes) == {"pregnant", "breastfeeding"}
    client.force_login(cast.nurse)
    body = text_of(client.get(review_url(submission)))
    assert "The patient reported no conditions" in body
