"""JSON API for eligibility assessments (mounted at /api/assessments in ketaclinic/api.py).

Same rules as the screens: other-site patients answer 404, roles without the capability 403; running needs the
chart-editing capability, signing the sign-eligibility capability (prescribers). Refused sign-offs answer 422 naming
the field (``decision``, ``reason``, ``precautions``); signing an assessment that is no longer a current draft
answers 409.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Field, Router, Schema
from ninja.errors import ValidationError
from ninja.responses import Status

from ketaclinic.accounts.roles import Perm
from ketaclinic.audit.actions import Action, record
from ketaclinic.clinical import Vital
from ketaclinic.clinical.vitals import VITAL_SPECS
from ketaclinic.screening.access import AUDIT_AS, access_assessment_by_id, access_screening
from ketaclinic.screening.actions import SigningConflict, SigningError, run_assessment, sign_assessment
from ketaclinic.screening.models import EligibilityAssessment

router = Router(tags=["screening"])

RouteName = Literal["iv", "im", "sublingual", "intranasal", "esketamine_nasal"]
IndicationName = Literal["trd", "mdsi"]
DecisionName = Literal["approve", "approve_with_precautions", "decline"]


def _vital(vital: Vital) -> Any:
    spec = VITAL_SPECS[vital]
    return Field(None, ge=spec.minimum, le=spec.maximum, description=f"{spec.label} ({spec.unit})")


class VitalsIn(Schema):
    """Screening readings; the blood pressure (both values) is needed for a decision."""

    systolic_mmhg: float | None = _vital(Vital.SYSTOLIC)
    diastolic_mmhg: float | None = _vital(Vital.DIASTOLIC)
    heart_rate_bpm: float | None = _vital(Vital.HEART_RATE)
    spo2_pct: float | None = _vital(Vital.SPO2)


class RunIn(Schema):
    patient: int = Field(..., description="Patient id")
    route: RouteName
    indication: IndicationName = "trd"
    vitals: VitalsIn | None = None
    acute_suicidal_ideation: bool | None = Field(
        None, description="Clinician's assessment today; needed for the MDSI indication"
    )


class PrecautionIn(Schema):
    code: str = Field(..., max_length=80, description="A finding's code, or 'prescriber' for your own")
    message: str = Field(..., max_length=300)


class SignIn(Schema):
    decision: DecisionName
    reason: str = Field("", max_length=4000, description="Required to decline, and (≥20 characters) to override")
    precautions: list[PrecautionIn] | None = Field(
        None, description="Carried to every session; default: every precaution and interaction finding"
    )


class FindingOut(Schema):
    code: str
    severity: str
    message: str
    citations: list[str]
    evidence: str


class MissingOut(Schema):
    code: str
    message: str


class PrecautionOut(Schema):
    code: str
    message: str


class AssessmentOut(Schema):
    id: int
    patient: int
    site: str
    route: str
    indication: str
    status: str
    decision: str
    findings: list[FindingOut]
    missing: list[MissingOut]
    trd: dict[str, Any]
    thase_rush_stage: int
    pending_patient_reported: int
    rules_version: str
    inputs: dict[str, Any]
    prescriber_decision: str | None
    overridden: bool
    reason: str
    precautions: list[PrecautionOut]
    signed_by: str | None
    signed_at: dt.datetime | None
    supersedes: int | None
    created_by: str
    created_at: dt.datetime

    @staticmethod
    def resolve_patient(obj: EligibilityAssessment) -> int:
        return obj.patient_id

    @staticmethod
    def resolve_site(obj: EligibilityAssessment) -> str:
        return obj.site.code

    @staticmethod
    def resolve_prescriber_decision(obj: EligibilityAssessment) -> str | None:
        return obj.prescriber_decision or None

    @staticmethod
    def resolve_signed_by(obj: EligibilityAssessment) -> str | None:
        return obj.signed_by.get_username() if obj.signed_by else None

    @staticmethod
    def resolve_supersedes(obj: EligibilityAssessment) -> int | None:
        return obj.supersedes_id

    @staticmethod
    def resolve_created_by(obj: EligibilityAssessment) -> str:
        return obj.created_by.get_username()


class ConflictOut(Schema):
    detail: str


def _invalid(field: str, message: str) -> ValidationError:
    return ValidationError([{"loc": field.split("."), "msg": message}])


@router.get("", response=list[AssessmentOut], summary="A patient's eligibility assessments, newest first")
def list_assessments(request: HttpRequest, patient: int) -> list[EligibilityAssessment]:
    found = access_screening(request.user, patient)
    record(Action.LIST, object_type=AUDIT_AS, patient_id=found.pk, site=found.site)
    return list(EligibilityAssessment.objects.filter(patient=found).select_related("site", "signed_by", "created_by"))


@router.get("/{assessment_id}", response=AssessmentOut, summary="One assessment with its findings and inputs")
def get_assessment(request: HttpRequest, assessment_id: int) -> EligibilityAssessment:
    return access_assessment_by_id(request.user, assessment_id)


@router.post("", response={201: AssessmentOut}, summary="Run an eligibility check on the patient's chart")
def run(request: HttpRequest, payload: RunIn) -> Status[EligibilityAssessment]:
    patient = access_screening(request.user, payload.patient, need=Perm.EDIT_CHART, write=True)
    vitals = {k: v for k, v in (payload.vitals.dict() if payload.vitals else {}).items() if v is not None}
    systolic, diastolic = Vital.SYSTOLIC.value, Vital.DIASTOLIC.value
    if (systolic in vitals) != (diastolic in vitals):
        missing = diastolic if systolic in vitals else systolic
        raise _invalid(f"vitals.{missing}", "give both blood-pressure readings, or neither")
    try:
        assessment = run_assessment(
            patient,
            route=payload.route,
            indication=payload.indication,
            by=request.user,
            vitals=vitals,
            acute_suicidal_ideation=payload.acute_suicidal_ideation,
        )
    except ValueError as exc:
        name, _, message = str(exc).partition(": ")
        raise _invalid(f"vitals.{name}" if name in vitals else name, message or str(exc)) from None
    return Status(201, assessment)


@router.post(
    "/{assessment_id}/sign",
    response={200: AssessmentOut, 409: ConflictOut},
    summary="Sign an assessment: approve, approve with precautions, or decline (prescribers)",
)
def sign(request: HttpRequest, assessment_id: int, payload: SignIn) -> Any:
    assessment = access_assessment_by_id(request.user, assessment_id, need=Perm.SIGN_ELIGIBILITY)
    precautions = [p.dict() for p in payload.precautions] if payload.precautions is not None else None
    try:
        signed = sign_assessment(
            assessment, by=request.user, decision=payload.decision, reason=payload.reason, precautions=precautions
        )
    except SigningError as exc:
        raise _invalid(exc.field, exc.message) from None
    except SigningConflict as exc:
        return Status(409, {"detail": str(exc)})
    return Status(200, signed)
