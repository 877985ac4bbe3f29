"""How views and the API reach eligibility assessments: always through the patient's access rules.

An assessment of a patient at another site, or of another patient than the URL names, answers 404 exactly like a
missing one; a role without the needed capability gets 403. Reads are audited (as views of the assessment).
"""

from __future__ import annotations

from typing import Any

from django.http import Http404

from ketaclinic.accounts.roles import Perm
from ketaclinic.audit.actions import Action, Outcome, record
from ketaclinic.patients.access import access_patient
from ketaclinic.patients.models import Patient
from ketaclinic.screening.models import EligibilityAssessment

AUDIT_AS = "screening.eligibilityassessment"


def _pk(value: int | str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise Http404("No such assessment.") from None


def access_screening(user: Any, patient_id: int | str, *, need: Perm = Perm.VIEW_CHART, write: bool = False) -> Patient:
    """The patient whose screening ``user`` may work on with ``need`` (default: reading the chart).

    A read is audited as a view of the patient's screening (``object_id`` is the patient); with ``write`` the action
    that follows audits the change. Every role that may run (edit the chart) or sign also reads the chart.
    """
    return access_patient(user, patient_id, need=need, write=write, audit_as=AUDIT_AS)


def access_assessment(
    user: Any, patient_id: int | str, assessment_id: int | str, *, need: Perm = Perm.VIEW_CHART
) -> EligibilityAssessment:
    """Assessment ``assessment_id`` of patient ``patient_id`` if ``user`` may see it with ``need``; 404 otherwise."""
    patient = access_screening(user, patient_id, need=need, write=True)  # audited below, as this assessment
    assessment = (
        EligibilityAssessment.objects.filter(pk=_pk(assessment_id), patient=patient)
        .select_related("patient", "site", "signed_by", "created_by", "supersedes")
        .first()
    )
    if assessment is None:
        record(
            Action.VIEW,
            object_type=AUDIT_AS,
            object_id=str(assessment_id),
            patient_id=patient.pk,
            outcome=Outcome.NOT_FOUND,
            site=patient.site,
        )
        raise Http404("No such assessment.")
    record(Action.VIEW, obj=assessment, patient_id=patient.pk, site=patient.site)
    return assessment


def access_assessment_by_id(
    user: Any, assessment_id: int | str, *, need: Perm = Perm.VIEW_CHART
) -> EligibilityAssessment:
    """Assessment ``assessment_id`` wherever its patient is, under the same rules (the API's URLs have no patient)."""
    pk = _pk(assessment_id)
    patient_id = (
        EligibilityAssessment.objects.filter(pk=pk, patient__in=Patient.objects.visible_to(user))
        .values_list("patient_id", flat=True)
        .first()
    )
    if patient_id is None:
        record(Action.VIEW, object_type=AUDIT_AS, object_id=pk, outcome=Outcome.NOT_FOUND)
        raise Http404("No such assessment.")
    return access_assessment(user, patient_id, pk, need=need)
