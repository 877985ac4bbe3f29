"""JSON API for consents (mounted at /api/consents in ketaclinic/api.py): read-only; signing needs the patient.

Same rules as the screens (``consents.access``): a patient of another site answers 404; reads are audited.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Query, Router, Schema

from ketaclinic.consents.access import access_patient_consents
from ketaclinic.consents.models import Consent

router = Router(tags=["consents"])


class ConsentOut(Schema):
    id: int
    kind: str = Field(..., description="ketamine_treatment, esketamine_rems or psychotherapy")
    text_version: str
    signed_name: str
    signed_at: dt.datetime
    channel: str = Field(..., description="clinic or portal")
    witnessed_by: str | None = Field(None, description="Username of the witness (in-clinic signatures)")
    expires_at: dt.datetime | None = Field(None, description="None: valid until revoked")
    revoked_at: dt.datetime | None
    state: str = Field(..., description="valid, expired or revoked, now")
    pdf_sha256: str


class KindStateOut(Schema):
    kind: str
    state: str = Field(..., description="valid, expiring (within 30 days), expired, revoked or missing")
    consent: int | None = Field(None, description="The valid consent, else the latest one signed")


class PatientConsentsOut(Schema):
    kinds: list[KindStateOut]
    consents: list[ConsentOut]


@router.get(
    "",
    response=PatientConsentsOut,
    summary="A patient's consents and where they stand for each kind",
    description="Anyone who may open the patient (VIEW_DEMOGRAPHICS). A patient of another site answers 404.",
)
def list_consents(request: HttpRequest, patient: int = Query(..., description="Patient id")) -> dict[str, Any]:
    found = access_patient_consents(request.user, patient)
    now = timezone.now()
    consents = list(Consent.objects.filter(patient=found).select_related("witnessed_by").order_by("-signed_at", "-id"))
    return {
        "kinds": [
            {"kind": s.kind, "state": s.state, "consent": s.consent.pk if s.consent else None}
            for s in Consent.objects.filter(patient=found).status_by_kind(now)
        ],
        "consents": [
            {
                "id": c.pk,
                "kind": c.kind,
                "text_version": c.text_version,
                "signed_name": c.signed_name,
                "signed_at": c.signed_at,
                "channel": c.channel,
                "witnessed_by": c.witnessed_by.get_username() if c.witnessed_by else None,
                "expires_at": c.expires_at,
                "revoked_at": c.revoked_at,
                "state": c.state_on(now),
                "pdf_sha256": c.pdf_sha256,
            }
            for c in consents
        ],
    }
