"""Reaching assessments: through the patient's access rules, 404 alike for missing and other-site, reads audited."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404

from ketaclinic.accounts.roles import Perm
from ketaclinic.audit.models import AuditEvent
from ketaclinic.screening.access import access_assessment, access_assessment_by_id, access_screening
from ketaclinic.screening.actions import run_assessment
from ketaclinic.screening.tests.conftest import new_patient

pytestmark = pytest.mark.django_db


@pytest.fixture
def draft(cast):
    return run_assessment(new_patient(cast), route="iv", by=cast.nurse)


def test_it_finds_an_assessment_by_id_and_audits_the_read(cast, draft):
    before = AuditEvent.objects.count()
    assert access_assessment_by_id(cast.therapist, draft.pk) == draft
    assert AuditEvent.objects.count() == before + 1
    event = AuditEvent.objects.order_by("-id").first()
    assert event is not None
    assert (event.action, event.object_type, event.object_id, event.patient_id) == (
        "view",
        "screening.eligibilityassessment",
        str(draft.pk),
        draft.patient_id,
    )


@pytest.mark.parametrize("bad_id", ["abc", None, 999999])
def test_it_answers_404_for_junk_or_missing_ids(cast, draft, bad_id):
    with pytest.raises(Http404):
        access_assessment_by_id(cast.prescriber, bad_id)
    with pytest.raises(Http404):
        access_assessment(cast.prescriber, draft.patient_id, bad_id)


def test_it_answers_404_at_another_site_and_403_without_the_capability(cast, draft):
    with pytest.raises(Http404):
        access_assessment_by_id(cast.nurse_b, draft.pk)
    with pytest.raises(PermissionDenied):
        access_assessment_by_id(cast.nurse, draft.pk, need=Perm.SIGN_ELIGIBILITY)
    with pytest.raises(PermissionDenied):
        access_screening(cast.coordinator, draft.patient_id)
    refused = AuditEvent.objects.filter(object_type="screening.eligibilityassessment")
    assert refused.filter(outcome="not_found", object_id=str(draft.pk)).exists()
    assert refused.filter(outcome="denied", patient_id=draft.patient_id).count() == 2


def test_a_write_is_not_audited_as_a_read(cast, draft):
    before = AuditEvent.objects.count()
    assert access_screening(cast.nurse, draft.patient_id, need=Perm.EDIT_CHART, write=True) == draft.patient
    assert AuditEvent.objects.count() == before
