from __future__ import annotations

import pytest

from ketaclinic.accounts.roles import Role
from ketaclinic.accounts.tests.matrix import PermissionMatrix
from ketaclinic.audit.models import AuditEvent
from ketaclinic.consents.actions import revoke_consent, sign_consent
from ketaclinic.consents.tests.test_views import new_patient

pytestmark = pytest.mark.django_db


class TestConsentsApi(PermissionMatrix):
    allowed = {Role.PRESCRIBER, Role.NURSE, Role.THERAPIST, Role.COORDINATOR, Role.CLINIC_ADMIN}
    patient_scoped = True
    api = True

    def url(self, cast):
        return f"/api/consents?patient={new_patient(cast).pk}"


def test_it_lists_consents_and_the_state_of_each_kind(client, cast) -> None:
    patient = new_patient(cast)
    rems = sign_consent(
        patient, kind="esketamine_rems", signed_name="Ines Marlowe", channel="clinic", ip=None, witnessed_by=cast.nurse
    )
    therapy = sign_consent(patient, kind="psychotherapy", signed_name="Ines Marlowe", channel="portal", ip="10.0.0.1")
    revoke_consent(therapy, by=cast.nurse, reason="Stopped therapy")
    client.force_login(cast.coordinator)

    data = client.get("/api/consents", {"patient": patient.pk}).json()

    assert data["kinds"] == [
        {"kind": "ketamine_treatment", "state": "missing", "consent": None},
        {"kind": "esketamine_rems", "state": "valid", "consent": rems.pk},
        {"kind": "psychotherapy", "state": "revoked", "consent": therapy.pk},
    ]
    assert [(c["kind"], c["state"], c["witnessed_by"]) for c in data["consents"]] == [
        ("psychotherapy", "revoked", None),
        ("esketamine_rems", "valid", "nurse"),
    ]
    assert data["consents"][1]["expires_at"] is None and data["consents"][1]["pdf_sha256"] == rems.pdf_sha256
    assert AuditEvent.objects.filter(action="view", object_type="consents.consent", actor=cast.coordinator).exists()
