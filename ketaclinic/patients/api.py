"""JSON API for patients and their chart rows (mounted at /api/patients in ketaclinic/api.py).

Same rules as the screens: patients of other sites answer 404, roles without the capability 403, and every read of a
patient is audited through ``access_patient``. Writes go through the same actions as the screens. Bad input answers
422 naming the field (the schemas carry the ranges, so the OpenAPI document shows them); a stale PATCH answers 409.
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal
from typing import Any, Literal

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import Model
from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status
from ninja.errors import ValidationError

from ketaclinic.accounts.access import require, sites_for
from ketaclinic.accounts.roles import Perm
from ketaclinic.clinical.eligibility import Condition, Substance
from ketaclinic.clinical.medications import DrugClass, drug_class_of
from ketaclinic.patients import actions
from ketaclinic.patients.access import DEMOGRAPHICS_EDITORS, access_patient, audit_patient_list
from ketaclinic.patients.forms import CLINICAL_DEMOGRAPHIC_FIELDS
from ketaclinic.patients.models import (
    HEIGHT_CM_RANGE,
    WEIGHT_KG_RANGE,
    Allergy,
    AntidepressantTrial,
    BodyMeasurement,
    ChartEntry,
    Diagnosis,
    MedicalCondition,
    MedicationEntry,
    Patient,
    SubstanceUseEntry,
)

router = Router(tags=["patients"])

StatusName = Literal["referral", "screening", "eligible", "declined", "in_treatment", "maintenance", "discharged"]
SexAtBirthName = Literal["female", "male", "intersex", "unknown"]
SeverityName = Literal["mild", "moderate", "severe", "unknown"]
EpisodeName = Literal["single", "recurrent", "n/a"]


def _errors(error: DjangoValidationError) -> ValidationError:
    """A model's validation error as the API's 422, one entry per field."""
    found = []
    for name, messages in error.message_dict.items():
        for message in messages:
            found.append({"loc": [] if name == "__all__" else [name], "msg": message})
    return ValidationError(found)


def _user(request: HttpRequest) -> Any:
    return request.user


# --- schemas -----------------------------------------------------------------------------------------------------


class Detail(Schema):
    detail: str


class PatientSummaryOut(Schema):
    id: int
    mrn: str
    site: str = Field(..., description="Site code")
    legal_first_name: str
    legal_last_name: str
    preferred_name: str
    date_of_birth: dt.date
    age_years: int
    status: str

    @staticmethod
    def resolve_site(obj: Patient) -> str:
        return obj.site.code


class PatientPage(Schema):
    count: int
    page: int
    pages: int
    page_size: int
    results: list[PatientSummaryOut]


class PatientOut(PatientSummaryOut):
    sex_at_birth: str
    gender: str
    pronouns: str
    phone: str
    email: str
    address: str
    emergency_contact_name: str
    emergency_contact_phone: str
    emergency_contact_relationship: str
    referring_clinician: str
    referring_clinician_contact: str
    pregnant: bool | None = Field(None, description="Null when not known, or when your role does not read the chart")
    breastfeeding: bool | None = Field(
        None, description="Null when not known, or when your role does not read the chart"
    )
    status_reason: str
    version: int = Field(..., description="Send it back with PATCH: a stale version answers 409")


class _Demographics(Schema):
    preferred_name: str = Field("", max_length=80)
    sex_at_birth: SexAtBirthName = "unknown"
    gender: str = Field("", max_length=60)
    pronouns: str = Field("", max_length=30)
    phone: str = Field("", max_length=30)
    email: str = Field("", max_length=254)
    address: str = Field("", max_length=1000)
    emergency_contact_name: str = Field("", max_length=120)
    emergency_contact_phone: str = Field("", max_length=30)
    emergency_contact_relationship: str = Field("", max_length=60)
    referring_clinician: str = Field("", max_length=120)
    referring_clinician_contact: str = Field("", max_length=200)
    pregnant: bool | None = Field(None, description="Chart editors only; null = not known")
    breastfeeding: bool | None = Field(None, description="Chart editors only; null = not known")


class PatientIn(_Demographics):
    legal_first_name: str = Field(..., min_length=1, max_length=80)
    legal_last_name: str = Field(..., min_length=1, max_length=80)
    date_of_birth: dt.date = Field(..., description="Not in the future; patients must be 18 or older")
    confirm_not_duplicate: bool = Field(
        False, description="Register even though a patient with this last name and date of birth exists at the site"
    )


class PatientPatch(Schema):
    version: int = Field(..., ge=1, description="The version you read; a stale version answers 409")
    legal_first_name: str | None = Field(None, min_length=1, max_length=80)
    legal_last_name: str | None = Field(None, min_length=1, max_length=80)
    date_of_birth: dt.date | None = Field(None, description="Not in the future; patients must be 18 or older")
    preferred_name: str | None = Field(None, max_length=80)
    sex_at_birth: SexAtBirthName | None = None
    gender: str | None = Field(None, max_length=60)
    pronouns: str | None = Field(None, max_length=30)
    phone: str | None = Field(None, max_length=30)
    email: str | None = Field(None, max_length=254)
    address: str | None = Field(None, max_length=1000)
    emergency_contact_name: str | None = Field(None, max_length=120)
    emergency_contact_phone: str | None = Field(None, max_length=30)
    emergency_contact_relationship: str | None = Field(None, max_length=60)
    referring_clinician: str | None = Field(None, max_length=120)
    referring_clinician_contact: str | None = Field(None, max_length=200)
    pregnant: bool | None = Field(None, description="Chart editors only; null = not known")
    breastfeeding: bool | None = Field(None, description="Chart editors only; null = not known")


class DuplicateOut(Schema):
    detail: str
    duplicates: list[PatientSummaryOut]


class ConflictOut(Schema):
    detail: str
    current_version: int


class EntryOut(Schema):
    id: int
    source: str = Field(..., description="staff, or patient (reported through the portal)")
    pending_review: bool = Field(..., description="Patient-reported and not yet accepted: not counted in the chart")
    created_at: dt.datetime

    @staticmethod
    def resolve_pending_review(obj: ChartEntry) -> bool:
        return obj.is_pending_review


class MeasurementIn(Schema):
    measured_at: dt.datetime | None = Field(None, description="Default: now")
    weight_kg: Decimal | None = Field(
        None, gt=0, le=WEIGHT_KG_RANGE[1], max_digits=5, decimal_places=1, description="Kilograms, above 0 and ≤ 350"
    )
    height_cm: Decimal | None = Field(
        None,
        ge=HEIGHT_CM_RANGE[0],
        le=HEIGHT_CM_RANGE[1],
        max_digits=5,
        decimal_places=1,
        description="Centimetres, 50 to 250",
    )


class MeasurementOut(EntryOut):
    measured_at: dt.datetime
    weight_kg: Decimal | None
    height_cm: Decimal | None


class AllergyIn(Schema):
    substance: str = Field(..., min_length=1, max_length=120)
    reaction: str = Field("", max_length=200)
    severity: SeverityName = "unknown"


class AllergyOut(EntryOut):
    substance: str
    reaction: str
    severity: str


class DiagnosisIn(Schema):
    icd10_code: str = Field(..., min_length=1, max_length=10, description="ICD-10-CM in the clinic's catalogue")
    description: str = Field("", max_length=200, description="Default: the catalogue's description")
    episode: EpisodeName | None = Field(None, description="Default: what the code says (single/recurrent)")
    is_primary: bool = Field(False, description="At most one current primary diagnosis")
    onset_date: dt.date | None = None
    current_episode_start: dt.date | None = None


class DiagnosisOut(EntryOut):
    icd10_code: str
    description: str
    episode: str
    is_primary: bool
    onset_date: dt.date | None
    current_episode_start: dt.date | None


class ConditionIn(Schema):
    condition: Condition
    notes: str = Field("", max_length=300)


class ConditionOut(EntryOut):
    condition: str
    notes: str


class SubstanceUseIn(Schema):
    substance: Substance
    current: bool = Field(True, description="Used in the past year")
    use_disorder: bool = False
    pattern: str = Field("", max_length=200)
    last_use: dt.date | None = None


class SubstanceUseOut(EntryOut):
    substance: str
    current: bool
    use_disorder: bool
    pattern: str
    last_use: dt.date | None


class MedicationIn(Schema):
    name: str = Field(..., min_length=1, max_length=120, description="Generic name")
    drug_class: DrugClass | None = Field(None, description="Default: the drug catalogue's class, else other")
    daily_dose_mg: Decimal | None = Field(None, gt=0, max_digits=8, decimal_places=2, description="mg per day, > 0")
    dose_text: str = Field("", max_length=120)
    started_on: dt.date | None = None
    stopped_on: dt.date | None = None


class MedicationOut(EntryOut):
    name: str
    drug_class: str
    daily_dose_mg: Decimal | None
    dose_text: str
    started_on: dt.date | None
    stopped_on: dt.date | None


class TrialIn(Schema):
    drug: str = Field(..., min_length=1, max_length=120, description="Generic name (or 'ECT')")
    drug_class: DrugClass | None = Field(None, description="Default: the drug catalogue's class (required if unknown)")
    daily_dose_mg: Decimal | None = Field(None, gt=0, max_digits=8, decimal_places=2, description="mg per day, > 0")
    adequate_dose: bool | None = Field(None, description="null = not known")
    weeks: Decimal | None = Field(
        None, gt=0, le=520, max_digits=5, decimal_places=1, description="Weeks on the drug: more than 0, at most 520"
    )
    improvement_pct: int | None = Field(None, ge=0, le=100, description="0 = none, 100 = full recovery")
    current_episode: bool = True
    started_on: dt.date | None = None
    notes: str = Field("", max_length=300)


class TrialOut(EntryOut):
    drug: str
    drug_class: str
    daily_dose_mg: Decimal | None
    adequate_dose: bool | None
    weeks: Decimal | None
    improvement_pct: int | None
    current_episode: bool
    started_on: dt.date | None
    notes: str


# --- patients ----------------------------------------------------------------------------------------------------


class PatientFilters(Schema):
    q: str = Field("", max_length=100, description="Words of a legal or preferred name, or of the MRN")
    mrn: str = Field("", max_length=20, description="Exact MRN")
    date_of_birth: dt.date | None = None
    status: StatusName | None = None
    site: int | None = Field(None, description="Site id (one of yours); default: your acting site")
    all_sites: bool = Field(False, description="All your sites")
    page: int = Field(1, ge=1)
    page_size: int = Field(25, ge=1, le=100)


@router.get("", response=PatientPage, summary="Search patients at your sites")
def list_patients(request: HttpRequest, filters: Query[PatientFilters]) -> dict[str, Any]:
    user = _user(request)
    require(user, Perm.VIEW_DEMOGRAPHICS)
    chosen = sites_for(user)
    if not filters.all_sites:
        acting = getattr(request, "site", None)
        wanted = filters.site if filters.site is not None else (acting.pk if acting else 0)
        chosen = chosen.filter(pk=wanted)
    found = (
        Patient.objects.visible_to(user)
        .filter(site__in=chosen)
        .search(filters.q, date_of_birth=filters.date_of_birth, status=filters.status or "", mrn=filters.mrn)
        .select_related("site")
    )
    page, page_size = filters.page, filters.page_size
    count = found.count()
    pages = max(1, math.ceil(count / page_size))
    start = (page - 1) * page_size
    used = {
        k: str(v)
        for k, v in filters.dict(include={"q", "mrn", "date_of_birth", "status", "site", "all_sites"}).items()
        if v
    }
    with transaction.atomic():
        audit_patient_list(user, count=count, query=used)
    return {
        "count": count,
        "page": page,
        "pages": pages,
        "page_size": page_size,
        "results": list(found[start : start + page_size]),
    }


def _patient_out(patient: Patient, user: Any) -> Patient:
    if not user.can(Perm.VIEW_CHART):
        # The front desk sees identity and contacts, not pregnancy status.
        patient.pregnant = patient.breastfeeding = None
    return patient


@router.post(
    "",
    response={201: PatientOut, 409: DuplicateOut},
    summary="Register a patient at your acting site",
)
def register_patient(request: HttpRequest, payload: PatientIn) -> Any:
    user = _user(request)
    require(user, Perm.REGISTER_PATIENT)
    site = getattr(request, "site", None)
    if site is None:
        raise PermissionDenied("You are not assigned to a clinic site.")
    fields = payload.dict(exclude={"confirm_not_duplicate"})
    if not user.can(Perm.EDIT_CHART):
        for name in CLINICAL_DEMOGRAPHIC_FIELDS:
            if fields.pop(name) is not None:
                raise PermissionDenied(f"Your role does not record {name}.")
    duplicates = list(
        Patient.objects.possible_duplicates(
            site=site, legal_last_name=payload.legal_last_name, date_of_birth=payload.date_of_birth
        ).select_related("site")[:5]
    )
    if duplicates and not payload.confirm_not_duplicate:
        return Status(
            409,
            {
                "detail": "Possible duplicate: a patient with this last name and date of birth is registered at this "
                "site. Send confirm_not_duplicate: true if this is a different person.",
                "duplicates": duplicates,
            },
        )
    try:
        patient = actions.register_patient(site=site, by=user, **fields)
    except DjangoValidationError as error:
        raise _errors(error) from None
    return Status(201, _patient_out(patient, user))


@router.get("/{patient_id}", response=PatientOut, summary="A patient's demographics")
def get_patient(request: HttpRequest, patient_id: int) -> Patient:
    user = _user(request)
    return _patient_out(access_patient(user, patient_id, need=Perm.VIEW_DEMOGRAPHICS), user)


@router.patch(
    "/{patient_id}",
    response={200: PatientOut, 409: ConflictOut},
    summary="Change demographics (optimistic locking: send the version you read)",
)
def patch_patient(request: HttpRequest, patient_id: int, payload: PatientPatch) -> Any:
    user = _user(request)
    patient = access_patient(user, patient_id, write=True, need=DEMOGRAPHICS_EDITORS)
    changes = payload.dict(exclude_unset=True, exclude={"version"})
    if not user.can(Perm.EDIT_CHART) and set(changes) & set(CLINICAL_DEMOGRAPHIC_FIELDS):
        raise PermissionDenied("Your role may change identity and contacts only.")
    nulls = [
        {"loc": [k], "msg": f"{k}: may not be null"}
        for k, v in changes.items()
        if v is None and k not in CLINICAL_DEMOGRAPHIC_FIELDS
    ]
    if nulls:
        raise ValidationError(nulls)
    try:
        actions.update_patient(patient, by=user, expected_version=payload.version, **changes)
    except actions.StaleEditError as stale:
        patient.refresh_from_db(fields=["version"])
        return Status(409, {"detail": str(stale), "current_version": patient.version})
    except DjangoValidationError as error:
        raise _errors(error) from None
    patient.refresh_from_db()
    return Status(200, _patient_out(patient, user))


# --- chart rows --------------------------------------------------------------------------------------------------


def _rows(request: HttpRequest, patient_id: int, model: type[ChartEntry], audit_as: str) -> list[Any]:
    patient = access_patient(_user(request), patient_id, audit_as=audit_as)
    return list(model.objects.filter(patient=patient, removed_at__isnull=True))


def _add(request: HttpRequest, patient_id: int, model: type[ChartEntry], fields: dict[str, Any]) -> Model:
    user = _user(request)
    patient = access_patient(user, patient_id, write=True)
    try:
        return actions.add_entry(model, patient, by=user, **fields)
    except DjangoValidationError as error:
        raise _errors(error) from None


@router.get("/{patient_id}/measurements", response=list[MeasurementOut], summary="Heights and weights")
def list_measurements(request: HttpRequest, patient_id: int) -> list[Any]:
    return _rows(request, patient_id, BodyMeasurement, "patients.bodymeasurement")


@router.post("/{patient_id}/measurements", response={201: MeasurementOut}, summary="Record a height and/or weight")
def add_measurement(request: HttpRequest, patient_id: int, payload: MeasurementIn) -> Any:
    fields = payload.dict(exclude_none=True)
    return Status(201, _add(request, patient_id, BodyMeasurement, fields))


@router.get("/{patient_id}/allergies", response=list[AllergyOut], summary="Allergies")
def list_allergies(request: HttpRequest, patient_id: int) -> list[Any]:
    return _rows(request, patient_id, Allergy, "patients.allergy")


@router.post("/{patient_id}/allergies", response={201: AllergyOut}, summary="Record an allergy")
def add_allergy(request: HttpRequest, patient_id: int, payload: AllergyIn) -> Any:
    return Status(201, _add(request, patient_id, Allergy, payload.dict()))


@router.get("/{patient_id}/diagnoses", response=list[DiagnosisOut], summary="Diagnoses (ICD-10-CM)")
def list_diagnoses(request: HttpRequest, patient_id: int) -> list[Any]:
    return _rows(request, patient_id, Diagnosis, "patients.diagnosis")


@router.post("/{patient_id}/diagnoses", response={201: DiagnosisOut}, summary="Record a diagnosis")
def add_diagnosis(request: HttpRequest, patient_id: int, payload: DiagnosisIn) -> Any:
    fields = payload.dict()
    fields["episode"] = fields["episode"] or Diagnosis.Episode.NOT_APPLICABLE
    return Status(201, _add(request, patient_id, Diagnosis, fields))


@router.get("/{patient_id}/conditions", response=list[ConditionOut], summary="Medical conditions")
def list_conditions(request: HttpRequest, patient_id: int) -> list[Any]:
    return _rows(request, patient_id, MedicalCondition, "patients.medicalcondition")


@router.post("/{patient_id}/conditions", response={201: ConditionOut}, summary="Record a medical condition")
def add_condition(request: HttpRequest, patient_id: int, payload: ConditionIn) -> Any:
    fields = payload.dict()
    fields["condition"] = Condition(fields["condition"]).value
    return Status(201, _add(request, patient_id, MedicalCondition, fields))


@router.get("/{patient_id}/substance-use", response=list[SubstanceUseOut], summary="Substance use")
def list_substance_use(request: HttpRequest, patient_id: int) -> list[Any]:
    return _rows(request, patient_id, SubstanceUseEntry, "patients.substanceuseentry")


@router.post("/{patient_id}/substance-use", response={201: SubstanceUseOut}, summary="Record substance use")
def add_substance_use(request: HttpRequest, patient_id: int, payload: SubstanceUseIn) -> Any:
    fields = payload.dict()
    fields["substance"] = Substance(fields["substance"]).value
    return Status(201, _add(request, patient_id, SubstanceUseEntry, fields))


@router.get("/{patient_id}/medications", response=list[MedicationOut], summary="Medications")
def list_medications(request: HttpRequest, patient_id: int) -> list[Any]:
    return _rows(request, patient_id, MedicationEntry, "patients.medicationentry")


@router.post("/{patient_id}/medications", response={201: MedicationOut}, summary="Record a medication")
def add_medication(request: HttpRequest, patient_id: int, payload: MedicationIn) -> Any:
    fields = payload.dict()
    fields["drug_class"] = (fields["drug_class"] or drug_class_of(payload.name) or DrugClass.OTHER).value
    return Status(201, _add(request, patient_id, MedicationEntry, fields))


@router.get("/{patient_id}/trials", response=list[TrialOut], summary="Antidepressant trials")
def list_trials(request: HttpRequest, patient_id: int) -> list[Any]:
    return _rows(request, patient_id, AntidepressantTrial, "patients.antidepressanttrial")


@router.post("/{patient_id}/trials", response={201: TrialOut}, summary="Record an antidepressant trial")
def add_trial(request: HttpRequest, patient_id: int, payload: TrialIn) -> Any:
    fields = payload.dict()
    drug_class = fields["drug_class"] or drug_class_of(payload.drug)
    if drug_class is None:
        raise ValidationError(
            [{"loc": ["drug_class"], "msg": f"drug_class: {payload.drug} is not in the drug catalogue; give its class"}]
        )
    fields["drug_class"] = DrugClass(drug_class).value
    return Status(201, _add(request, patient_id, AntidepressantTrial, fields))
