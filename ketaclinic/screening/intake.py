"""Turning a patient's chart into the clinical core's :class:`~ketaclinic.clinical.Intake`.

Only counted chart rows are used (``Model.objects.current()``): patient-reported rows that no clinician has accepted
yet are left out and counted, so the screen can say "3 items reported by the patient await review and were not used".

How each part is read:

* **Age** — whole years from the date of birth, on today's date at the patient's site.
* **Diagnoses** — the ICD-10-CM codes of counted diagnoses (a code that is not in ICD-10-CM form is left out and
  noted, never guessed).
* **Conditions, current medications, substance use, antidepressant trials (current episode)** — counted rows if there
  are any; an empty section is "reviewed: none" (an empty collection) only when a clinician marked it so with a
  :class:`~ketaclinic.screening.models.ChartReview` at least as recent as the last removal of a row from it, and
  "not recorded" (``None``, which the engine asks for) otherwise. Medications count while not stopped. A counted
  allergy to ketamine or esketamine adds the hypersensitivity condition once conditions have been reviewed.
* **Drug classes** — the catalogue class wins over the recorded one when they disagree (the interaction rules must see
  a benzodiazepine recorded as "other"); the disagreement is noted. A trial whose class is not an antidepressant
  treatment is left out and noted.
* **Pregnancy and breast-feeding** — ``Patient.pregnant`` / ``breastfeeding``; unknown stays unknown, except that for
  male sex at birth they are taken as ``False`` (not asked) and the snapshot says so.
* **Screening vitals** — typed in on the run form (systolic/diastolic/heart rate/SpO2), validated by the core.
* **Acute suicidal ideation** (MDSI only) — the clinician's answer on the run form; not taken from questionnaires.

:func:`build_intake` returns the :class:`Intake` and a JSON-safe snapshot of every input used, which an assessment
stores as its ``inputs``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from django.db.models import Max, Q
from django.utils import timezone

from ketaclinic import clinical
from ketaclinic.clinical.medications import ANTIDEPRESSANT_CLASSES
from ketaclinic.patients.models import (
    Allergy,
    AntidepressantTrial,
    Diagnosis,
    MedicalCondition,
    MedicationEntry,
    Patient,
    SubstanceUseEntry,
)
from ketaclinic.screening.models import ChartReview

Section = ChartReview.Section

#: ICD-10-CM code shape (the clinical core refuses anything else).
_ICD10 = re.compile(r"[A-Z][0-9][0-9A-Z](\.[0-9A-Z]{1,4})?")
_KETAMINE_ALLERGY = re.compile(r"ketamin|ketalar|spravato", re.IGNORECASE)
_TRIAL_CLASSES = ANTIDEPRESSANT_CLASSES | {clinical.DrugClass.ECT, clinical.DrugClass.AUGMENTATION}

#: Models whose patient-reported rows bear on eligibility (pending ones are counted, not used).
PENDING_MODELS: dict[str, type[Any]] = {
    "diagnoses": Diagnosis,
    "conditions": MedicalCondition,
    "allergies": Allergy,
    "medications": MedicationEntry,
    "substance_use": SubstanceUseEntry,
    "antidepressant_trials": AntidepressantTrial,
}

#: Vital-sign fields the run form offers (the engine needs the blood pressure; the rest document the baseline).
SCREENING_VITALS = (
    clinical.Vital.SYSTOLIC,
    clinical.Vital.DIASTOLIC,
    clinical.Vital.HEART_RATE,
    clinical.Vital.SPO2,
)


def _num(value: Decimal | int | float | None) -> float | None:
    return None if value is None else float(value)


def section_rows(patient: Patient, section: str) -> Any:
    """The counted rows of a reviewable chart section (medications: not stopped; trials: current episode)."""
    rows = PENDING_MODELS[section].objects.current().filter(patient=patient)
    if section == Section.MEDICATIONS:
        today = timezone.localdate(timezone=patient.site.zone)
        rows = rows.filter(Q(stopped_on__isnull=True) | Q(stopped_on__gte=today))
    elif section == Section.ANTIDEPRESSANT_TRIALS:
        rows = rows.filter(current_episode=True)
    return rows


def none_review(patient: Patient, section: str) -> ChartReview | None:
    """The review that makes an empty ``section`` read as "reviewed: none", if one is still valid.

    The latest review counts unless a row of the section was removed after it (the section changed since, so the
    question is asked again). Callers check that the section has no counted rows.
    """
    review = (
        ChartReview.objects.filter(patient=patient, section=section)
        .select_related("reviewed_by")
        .order_by("-reviewed_at", "-id")
        .first()
    )
    if review is None:
        return None
    last_removal = PENDING_MODELS[section].objects.filter(patient=patient).aggregate(last=Max("removed_at"))["last"]
    if last_removal is not None and last_removal > review.reviewed_at:
        return None
    return review


def _section_state(patient: Patient, section: str, has_rows: bool) -> dict[str, Any]:
    """Whether a section is recorded, "reviewed: none" (and by whom), or not recorded, for the snapshot."""
    if has_rows:
        return {"state": "recorded"}
    review = none_review(patient, section)
    if review is None:
        return {"state": "not_recorded"}
    return {
        "state": "reviewed_none",
        "review_id": review.pk,
        "reviewed_by": review.reviewed_by.get_username(),
        "reviewed_at": review.reviewed_at.isoformat(),
    }


def pending_counts(patient: Patient) -> dict[str, int]:
    """Patient-reported rows awaiting a clinician's review, per section (only sections with some)."""
    counts = {
        name: model.objects.pending_review().filter(patient=patient).count() for name, model in PENDING_MODELS.items()
    }
    return {name: n for name, n in counts.items() if n}


def _catalogue_class(name: str, recorded: str, notes: list[str], what: str) -> clinical.DrugClass:
    known = clinical.drug_class_of(name)
    if known is not None and known.value != recorded:
        notes.append(
            f"{name} is recorded as {recorded.replace('_', ' ')}; the catalogue class "
            f"{known.value.replace('_', ' ')} was used for the {what}."
        )
        return known
    return known or clinical.DrugClass(recorded)


def build_intake(
    patient: Patient,
    *,
    vitals: Mapping[str, float] | None = None,
    acute_suicidal_ideation: bool | None = None,
) -> tuple[clinical.Intake, dict[str, Any]]:
    """The clinical core's intake for ``patient`` from counted chart rows, and a JSON-safe snapshot of every input.

    ``vitals`` are screening readings keyed by :class:`~ketaclinic.clinical.Vital` names; an invalid reading raises
    ``ValueError`` naming the field and the allowed range. Never raises for chart data the core would refuse: such a
    row is left out and explained in ``snapshot["notes"]``.
    """
    notes: list[str] = []
    today = timezone.localdate(timezone=patient.site.zone)
    readings = clinical.validate_vitals(dict(vitals or {}))
    age = patient.age_on(today)

    # Pregnancy and breast-feeding: unknown stays unknown; not asked after male sex at birth.
    pregnant, breastfeeding = patient.pregnant, patient.breastfeeding
    inferred = []
    if patient.sex_at_birth == Patient.SexAtBirth.MALE:
        if pregnant is None:
            pregnant = False
            inferred.append("pregnant")
        if breastfeeding is None:
            breastfeeding = False
            inferred.append("breastfeeding")

    diagnoses_rows = list(Diagnosis.objects.current().filter(patient=patient).order_by("-is_primary", "icd10_code"))
    codes: list[str] = []
    for row in diagnoses_rows:
        code = row.icd10_code.strip().upper()
        if _ICD10.fullmatch(code):
            if code not in codes:
                codes.append(code)
        else:
            notes.append(f"Diagnosis code {row.icd10_code!r} is not an ICD-10-CM code and was not used.")

    condition_rows = list(MedicalCondition.objects.current().filter(patient=patient))
    conditions_state = _section_state(patient, Section.CONDITIONS, bool(condition_rows))
    conditions: frozenset[clinical.Condition] | None = None
    ketamine_allergies = [
        a for a in Allergy.objects.current().filter(patient=patient) if _KETAMINE_ALLERGY.search(a.substance)
    ]
    if conditions_state["state"] != "not_recorded":
        found = {clinical.Condition(row.condition) for row in condition_rows}
        if ketamine_allergies:
            found.add(clinical.Condition.HYPERSENSITIVITY_KETAMINE)
            notes.append("A recorded allergy to ketamine or esketamine was read as hypersensitivity to ketamine.")
        conditions = frozenset(found)
    elif ketamine_allergies:
        notes.append(
            "A recorded allergy to ketamine or esketamine will count as hypersensitivity once the medical conditions "
            "are reviewed."
        )

    medication_rows = list(section_rows(patient, Section.MEDICATIONS).order_by("name", "id"))
    medications_state = _section_state(patient, Section.MEDICATIONS, bool(medication_rows))
    medications: tuple[clinical.Medication, ...] | None = None
    medications_snapshot = []
    if medications_state["state"] != "not_recorded":
        meds = []
        for med_row in medication_rows:
            cls = _catalogue_class(med_row.name, med_row.drug_class, notes, "interaction rules")
            dose = _num(med_row.daily_dose_mg)
            meds.append(clinical.Medication(med_row.name, cls, dose))
            medications_snapshot.append(
                {"id": med_row.pk, "name": med_row.name, "drug_class": cls.value, "daily_dose_mg": dose}
            )
        medications = tuple(meds)

    substance_rows = list(SubstanceUseEntry.objects.current().filter(patient=patient).order_by("substance", "id"))
    substance_state = _section_state(patient, Section.SUBSTANCE_USE, bool(substance_rows))
    substance_use: tuple[clinical.SubstanceUse, ...] | None = None
    if substance_state["state"] != "not_recorded":
        substance_use = tuple(
            clinical.SubstanceUse(clinical.Substance(row.substance), row.use_disorder, row.current)
            for row in substance_rows
        )

    trial_rows = list(section_rows(patient, Section.ANTIDEPRESSANT_TRIALS).order_by("started_on", "id"))
    trials_state = _section_state(patient, Section.ANTIDEPRESSANT_TRIALS, bool(trial_rows))
    trials: tuple[clinical.AntidepressantTrial, ...] | None = None
    trials_snapshot = []
    if trials_state["state"] != "not_recorded":
        kept = []
        for trial_row in trial_rows:
            cls = _catalogue_class(trial_row.drug, trial_row.drug_class, notes, "trial")
            if cls not in _TRIAL_CLASSES:
                notes.append(
                    f"The trial of {trial_row.drug} ({cls.value.replace('_', ' ')}) is not an antidepressant "
                    "treatment and was not counted."
                )
                continue
            trial = clinical.AntidepressantTrial(
                drug=trial_row.drug,
                drug_class=cls,
                daily_dose_mg=_num(trial_row.daily_dose_mg),
                adequate_dose=trial_row.adequate_dose,
                weeks=_num(trial_row.weeks),
                improvement_pct=_num(trial_row.improvement_pct),
                current_episode=True,
            )
            kept.append(trial)
            trials_snapshot.append(
                {
                    "id": trial_row.pk,
                    "drug": trial.drug,
                    "drug_class": cls.value,
                    "daily_dose_mg": trial.daily_dose_mg,
                    "adequate_dose": trial.adequate_dose,
                    "weeks": trial.weeks,
                    "improvement_pct": trial.improvement_pct,
                }
            )
        trials = tuple(kept)

    intake = clinical.Intake(
        age_years=age,
        diagnoses=tuple(codes),
        antidepressant_trials=trials,
        conditions=conditions,
        medications=medications,
        pregnant=pregnant,
        breastfeeding=breastfeeding,
        substance_use=substance_use,
        vitals={v.value: readings[v] for v in readings},
        acute_suicidal_ideation=acute_suicidal_ideation,
    )
    pending = pending_counts(patient)
    snapshot: dict[str, Any] = {
        "as_of": today.isoformat(),
        "age_years": age,
        "sex_at_birth": patient.sex_at_birth,
        "pregnant": pregnant,
        "breastfeeding": breastfeeding,
        "not_asked_after_male_sex_at_birth": inferred,
        "diagnoses": [
            {"id": row.pk, "code": row.icd10_code, "description": row.description, "is_primary": row.is_primary}
            for row in diagnoses_rows
        ],
        "conditions": {
            **conditions_state,
            "items": [{"id": row.pk, "condition": row.condition} for row in condition_rows],
            "ketamine_allergy_ids": [a.pk for a in ketamine_allergies],
        },
        "medications": {**medications_state, "items": medications_snapshot},
        "substance_use": {
            **substance_state,
            "items": [
                {"id": row.pk, "substance": row.substance, "current": row.current, "use_disorder": row.use_disorder}
                for row in substance_rows
            ],
        },
        "antidepressant_trials": {**trials_state, "items": trials_snapshot},
        "vitals": {v.value: readings[v] for v in readings},
        "acute_suicidal_ideation": acute_suicidal_ideation,
        "pending_patient_reported": pending,
        "notes": notes,
    }
    return intake, snapshot


def pending_total(snapshot: Mapping[str, Any]) -> int:
    """The number of patient-reported rows a snapshot left out."""
    counts: Iterable[int] = (snapshot.get("pending_patient_reported") or {}).values()
    return sum(counts)
