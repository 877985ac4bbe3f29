"""How screens reach consents: always through ``patients.access.access_patient`` (404 for other sites), then the
consent capability.

* reading consents and their PDFs: anyone who may open the patient at all (VIEW_DEMOGRAPHICS) — the front desk runs
  consent paperwork, and a signed consent says what was agreed, not clinical findings;
* signing in clinic: EDIT_CHART (nurses, prescribers) or REGISTER_PATIENT (coordinators);
* revoking: EDIT_CHART.

Every read is audited (the list as a view of the patient's consents, a PDF as a view of that consent); refusals are
audited as denied.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404

from ketaclinic.accounts.roles import Perm
from ketaclinic.audit.actions import Action, Outcome, record
from ketaclinic.consents.models import Consent
from ketaclinic.patients.access import access_patient
from ketaclinic.patients.models import Patient

AUDIT_AS = "consents.consent"

#: Either capability lets a member of staff run an in-clinic signing.
SIGNING_PERMS = (Perm.EDIT_CHART, Perm.REGISTER_PATIENT)


def _can(user: Any, *perms: Perm) -> bool:
    # Fail closed: anonymous users (and anything else without roles) can do nothing.
    return bool(getattr(user, "is_authenticated", False)) and any(user.can(perm) for perm in perms)


def can_read(user: Any) -> bool:
    """May ``user`` see consents (and their PDFs) of the patients they can open?"""
    return _can(user, Perm.VIEW_DEMOGRAPHICS)


def can_sign(user: Any) -> bool:
    """May ``user`` run an in-clinic signing and witness it?"""
    return _can(user, *SIGNING_PERMS)


def can_revoke(user: Any) -> bool:
    """May ``user`` record that a patient withdrew a consent?"""
    return _can(user, Perm.EDIT_CHART)


def _denied(patient: Patient, what: str) -> PermissionDenied:
    record(
        Action.VIEW,
        object_type=AUDIT_AS,
        object_id=patient.pk,
        patient_id=patient.pk,
        outcome=Outcome.DENIED,
        site=patient.site,
    )
    return PermissionDenied(f"Your role does not allow this: {what}.")


def access_patient_consents(user: Any, patient_id: int | str) -> Patient:
    """The patient whose consents ``user`` may list (audited as a view of their consents); 404 / 403 otherwise."""
    return access_patient(user, patient_id, need=Perm.VIEW_DEMOGRAPHICS, audit_as=AUDIT_AS)


def access_patient_for_signing(user: Any, patient_id: int | str, *, audit_read: bool = True) -> Patient:
    """The patient for whom ``user`` may run an in-clinic signing; 404 for other sites, 403 without the capability.

    With ``audit_read`` the opening of the signing screen is audited as a view; the signature itself is audited by
    ``actions.sign_consent``.
    """
    patient = access_patient(user, patient_id, write=True, need=Perm.VIEW_DEMOGRAPHICS)
    if not can_sign(user):
        raise _denied(patient, "run consent signing in clinic")
    if audit_read:
        record(Action.VIEW, object_type=AUDIT_AS, object_id=patient.pk, patient_id=patient.pk, site=patient.site)
    return patient


def access_consent(user: Any, patient_id: int | str, consent_id: int | str, *, revoke: bool = False) -> Consent:
    """One consent of the patient, if ``user`` may read it (or revoke it, with ``revoke``).

    Reading is audited as a VIEW of the consent (with ``revoke``, the revocation is audited by the action). A consent
    of another patient, or of a patient at another site, is a 404 alike.
    """
    patient = access_patient(user, patient_id, write=True, need=Perm.VIEW_DEMOGRAPHICS)
    if revoke and not can_revoke(user):
        raise _denied(patient, "withdraw consents")
    try:
        pk = int(consent_id)
    except (TypeError, ValueError):
        raise Http404("No such consent.") from None
    consent = Consent.objects.select_related("patient", "site", "witnessed_by").filter(pk=pk, patient=patient).first()
    if consent is None:
        record(
            Action.VIEW,
            object_type=AUDIT_AS,
            object_id=pk,
            patient_id=patient.pk,
            outcome=Outcome.NOT_FOUND,
            site=patient.site,
        )
        raise Http404("No such consent.")
    if not revoke:
        record(Action.VIEW, obj=consent, patient_id=patient.pk, site=patient.site)
    return consent
