"""A signed assessment is immutable: the model, the queryset and the database constraints guard it."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from ketaclinic.screening.actions import run_assessment, sign_assessment
from ketaclinic.screening.models import EligibilityAssessment, ImmutableAssessmentError
from ketaclinic.screening.tests.conftest import CALM_VITALS, new_patient

pytestmark = pytest.mark.django_db
Status = EligibilityAssessment.Status


@pytest.fixture
def signed(cast, complete_patient):
    a = run_assessment(complete_patient(), route="iv", by=cast.nurse, vitals=CALM_VITALS)
    return sign_assessment(a, by=cast.prescriber, decision="approve")


def test_it_refuses_any_change_to_a_signed_assessment(signed):
    signed.reason = "edited afterwards"
    with pytest.raises(ImmutableAssessmentError):
        signed.save()
    with pytest.raises(ImmutableAssessmentError):
        signed.save(update_fields=["reason"])
    signed.refresh_from_db()
    signed.status = Status.SUPERSEDED
    signed.reason = "sneaked in"
    with pytest.raises(ImmutableAssessmentError):
        signed.save(update_fields=["status", "reason"])
    signed.refresh_from_db()
    signed.status = Status.DRAFT
    with pytest.raises(ImmutableAssessmentError):
        signed.save(update_fields=["status"])
    signed.refresh_from_db()
    assert signed.reason == "" and signed.status == Status.SIGNED


def test_it_lets_a_signed_assessment_become_superseded_and_then_never_change(signed):
    signed.status = Status.SUPERSEDED
    signed.save(update_fields=["status"])
    signed.refresh_from_db()
    assert signed.status == Status.SUPERSEDED
    with pytest.raises(ImmutableAssessmentError):
        signed.save(update_fields=["status"])


def test_it_refuses_bulk_updates_and_deletes_of_signed_rows(signed):
    with pytest.raises(ImmutableAssessmentError):
        EligibilityAssessment.objects.filter(pk=signed.pk).update(reason="bulk")
    with pytest.raises(ImmutableAssessmentError):
        EligibilityAssessment.objects.all().delete()
    with pytest.raises(ImmutableAssessmentError):
        signed.delete()
    assert EligibilityAssessment.objects.filter(pk=signed.pk, reason="").exists()


def test_drafts_can_be_updated(cast):
    draft = run_assessment(new_patient(cast), route="iv", by=cast.nurse)
    assert EligibilityAssessment.objects.filter(pk=draft.pk).update(pending_patient_reported=2) == 1


def test_the_database_requires_signer_time_and_decision_on_a_signed_row(cast):
    draft = run_assessment(new_patient(cast), route="iv", by=cast.nurse)
    for changes in (
        {"status": Status.SIGNED},
        {"status": Status.SIGNED, "signed_by": cast.prescriber, "signed_at": timezone.now()},
        {"status": Status.SIGNED, "prescriber_decision": "decline", "signed_at": timezone.now()},
    ):
        with pytest.raises(IntegrityError), transaction.atomic():
            EligibilityAssessment.objects.filter(pk=draft.pk).update(**changes)


def test_the_database_refuses_an_approved_incomplete_or_unexplained_override(cast):
    draft = run_assessment(new_patient(cast), route="iv", by=cast.nurse)
    assert draft.decision == "incomplete"
    signed = {"status": Status.SIGNED, "signed_by": cast.prescriber, "signed_at": timezone.now()}
    with pytest.raises(IntegrityError), transaction.atomic():
        EligibilityAssessment.objects.filter(pk=draft.pk).update(**signed, prescriber_decision="approve")
    with pytest.raises(IntegrityError), transaction.atomic():
        EligibilityAssessment.objects.filter(pk=draft.pk).update(overridden=True)


def test_the_database_allows_one_signed_assessment_per_route(cast, signed):
    other = run_assessment(signed.patient, route="iv", by=cast.nurse, vitals=CALM_VITALS)
    with pytest.raises(IntegrityError), transaction.atomic():
        EligibilityAssessment.objects.filter(pk=other.pk).update(
            status=Status.SIGNED, signed_by=cast.prescriber, signed_at=timezone.now(), prescriber_decision="approve"
        )


def test_it_groups_findings_by_severity_most_restrictive_first(cast):
    a = run_assessment(new_patient(cast, pregnant=True), route="iv", by=cast.nurse)
    severities = [severity for severity, _label, _items in a.findings_by_severity()]
    assert severities == ["exclusion", "missing", "info"]
    assert a.findings_by_severity()[0][1] == "Exclusions"
    assert str(a).startswith("eligibility iv/trd")


def test_postgresql_itself_refuses_changes_to_signed_rows(signed):
    from django.db import DatabaseError, connection

    if connection.vendor != "postgresql":
        pytest.skip("the immutability trigger is PostgreSQL-only; SQLite relies on the model guards")
    assert EligibilityAssessment._meta.db_table == "screening_eligibilityassessment"
    for sql in (
        "UPDATE screening_eligibilityassessment SET reason = 'x' WHERE id = %s",
        "DELETE FROM screening_eligibilityassessment WHERE id = %s",
    ):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [signed.pk])
    with connection.cursor() as cursor:
        cursor.execute("UPDATE screening_eligibilityassessment SET status = 'superseded' WHERE id = %s", [signed.pk])
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE screening_eligibilityassessment SET status = 'signed' WHERE id = %s", [signed.pk])
    signed.refresh_from_db()
    assert signed.status == Status.SUPERSEDED and signed.reason == ""
