"""Eligibility screening: contraindications, exclusions, precautions, interactions, missing data, TRD and staging."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from ketaclinic.clinical.eligibility import (
    CONDITION_RULES,
    AntidepressantTrial,
    Condition,
    Decision,
    Intake,
    Severity,
    Substance,
    SubstanceUse,
    ThaseRushStage,
    assess_eligibility,
    assess_trd,
    thase_rush_stage,
)
from ketaclinic.clinical.medications import DrugClass, Medication
from ketaclinic.clinical.policy import DEFAULT_POLICY
from ketaclinic.clinical.protocols import Indication, Route
from ketaclinic.clinical.rules import catalogue
from ketaclinic.clinical.sources import Evidence

ESK, IV = "esketamine_nasal", "iv"


def failed(drug: str, cls: str, weeks: float | None = 8, improvement: float | None = 10, **kw) -> AntidepressantTrial:
    return AntidepressantTrial(
        drug, DrugClass(cls), adequate_dose=kw.pop("adequate", True), weeks=weeks, improvement_pct=improvement, **kw
    )


TWO_FAILED = (failed("sertraline", "ssri"), failed("venlafaxine", "snri"))
COMPLETE = Intake(
    age_years=45,
    diagnoses=("F33.2",),
    antidepressant_trials=TWO_FAILED,
    conditions=frozenset(),
    medications=(Medication.named("sertraline", 100),),
    pregnant=False,
    breastfeeding=False,
    substance_use=(),
    vitals={"systolic_mmhg": 128, "diastolic_mmhg": 82},
)


def screen(route: str = ESK, indication: str = "trd", policy=None, **changes):
    return assess_eligibility(
        dataclasses.replace(COMPLETE, **changes), route=route, indication=indication, policy=policy
    )


def codes(decision, severity: Severity | None = None) -> set[str]:
    return {f.code for f in decision.findings if severity is None or f.severity is severity}


# --- Overall decision ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("route", [ESK, IV])
def test_it_finds_a_complete_trd_intake_eligible(route) -> None:
    result = screen(route)
    assert result.decision is Decision.ELIGIBLE
    assert result.route is Route(route) and result.indication is Indication.TRD
    assert result.trd.met is True and result.trd.failed_drugs == ("sertraline", "venlafaxine")
    assert result.thase_rush_stage is ThaseRushStage.STAGE_II
    assert {f.severity for f in result.findings} == {Severity.INFO}
    expected = "eligibility.rems_enrolment" if route == ESK else "eligibility.off_label_racemic"
    assert codes(result) == {expected} and result.missing == ()


def test_it_cites_a_source_for_every_finding() -> None:
    result = screen(conditions=frozenset(Condition), medications=(Medication.named("theophylline", 400),))
    assert result.findings and all(f.citations and isinstance(f.evidence, Evidence) for f in result.findings)
    ids = {r.id for r in catalogue()}
    assert codes(result) <= ids


def test_it_lets_a_contraindication_win_over_missing_data() -> None:
    result = screen(age_years=None, conditions=frozenset({Condition.ANEURYSM_OR_AVM}))
    assert result.decision is Decision.NOT_ELIGIBLE
    assert result.findings[0].severity is Severity.CONTRAINDICATION
    assert result.missing and result.missing[0].message == "Age not recorded."


def test_it_is_never_eligible_while_data_are_missing() -> None:
    result = assess_eligibility(Intake(), route=ESK)
    assert result.decision is Decision.INCOMPLETE
    assert [f.message for f in result.missing] == [
        "Age not recorded.",
        "Pregnancy status not recorded (record 'not pregnant' when pregnancy is not possible).",
        "Breastfeeding status not recorded.",
        "Medical and psychiatric conditions not reviewed.",
        "Blood pressure at screening not recorded.",
        "Substance use not reviewed.",
        "Current medications not recorded.",
        "Diagnosis not recorded.",
        "Antidepressant trials in the current episode not recorded.",
    ]


def test_it_marks_precautions_for_the_prescriber() -> None:
    result = screen(conditions=frozenset({Condition.CYSTITIS}))
    assert result.decision is Decision.ELIGIBLE_WITH_PRECAUTIONS
    result = screen(medications=(Medication.named("methylphenidate", 20),))
    assert result.decision is Decision.ELIGIBLE_WITH_PRECAUTIONS


# --- Conditions ------------------------------------------------------------------------------------------------------

C, X, P = Severity.CONTRAINDICATION, Severity.EXCLUSION, Severity.PRECAUTION
CONDITION_TABLE = [
    (Condition.HYPERSENSITIVITY_KETAMINE, C, C),
    (Condition.ANEURYSM_OR_AVM, C, C),
    (Condition.INTRACEREBRAL_HAEMORRHAGE, C, C),
    (Condition.HYPERTENSION_UNCONTROLLED, C, C),
    (Condition.HYPERTENSION_CONTROLLED, P, P),
    (Condition.CARDIOVASCULAR_DISEASE, P, P),
    (Condition.CEREBROVASCULAR_DISEASE, P, P),
    (Condition.HYPERTENSIVE_ENCEPHALOPATHY_HISTORY, P, P),
    (Condition.PSYCHOSIS, P, P),
    (Condition.PSYCHOSIS_CURRENT, X, X),
    (Condition.MANIA_CURRENT, X, X),
    (Condition.BIPOLAR, P, P),
    (Condition.LIVER_DISEASE_CHILD_PUGH_B, P, P),
    (Condition.LIVER_DISEASE_CHILD_PUGH_C, X, X),
    (Condition.RAISED_ICP, X, X),
    (Condition.RAISED_IOP_GLAUCOMA, P, P),
    (Condition.HYPERTHYROIDISM_UNCONTROLLED, X, X),
    (Condition.CYSTITIS, P, P),
    (Condition.SLEEP_APNOEA, P, P),
]


def test_it_covers_every_condition() -> None:
    assert {row[0] for row in CONDITION_TABLE} == set(Condition) == set(CONDITION_RULES)


@pytest.mark.parametrize(("condition", "esketamine", "racemic"), CONDITION_TABLE)
def test_it_grades_each_condition_per_route(condition, esketamine, racemic) -> None:
    code = f"eligibility.condition.{condition.value}"
    for route, severity in ((ESK, esketamine), (IV, racemic), ("oral", racemic)):
        result = screen(route, conditions=frozenset({condition}))
        (finding,) = [f for f in result.findings if f.code == code]
        assert finding.severity is severity and finding.message
        expected = Decision.ELIGIBLE_WITH_PRECAUTIONS if severity is P else Decision.NOT_ELIGIBLE
        assert result.decision is expected


def test_it_explains_the_esketamine_psychosis_precaution() -> None:
    (finding,) = [f for f in screen(conditions=frozenset({"psychosis"})).findings if f.severity is P]
    assert "benefit outweighs the risk" in finding.message


# --- Age, pregnancy, breastfeeding, vitals ---------------------------------------------------------------------------


@pytest.mark.parametrize(("age", "severity"), [(17.9, X), (18, None), (75, None), (75.5, P), (100, P)])
def test_it_checks_age_against_policy(age, severity) -> None:
    result = screen(age_years=age)
    found = {f.severity for f in result.findings if f.code.startswith("eligibility.age_")}
    assert found == ({severity} if severity else set())


def test_it_follows_age_policy_overrides() -> None:
    policy = DEFAULT_POLICY.with_overrides({"minimum_age_years": 21, "review_age_years": 65})
    assert "eligibility.age_minimum" in codes(screen(age_years=20, policy=policy))
    assert "eligibility.age_review" in codes(screen(age_years=66, policy=policy))


@pytest.mark.parametrize("route", [ESK, IV])
def test_it_excludes_pregnancy_and_breastfeeding(route) -> None:
    pregnant = screen(route, pregnant=True)
    assert pregnant.decision is Decision.NOT_ELIGIBLE and "eligibility.pregnancy" in codes(pregnant, X)
    nursing = screen(route, breastfeeding=True)
    assert nursing.decision is Decision.NOT_ELIGIBLE and "eligibility.breastfeeding" in codes(nursing, X)


@pytest.mark.parametrize(
    ("bp", "severity"),
    [((140, 90), None), ((141, 80), P), ((130, 91), P), ((179, 109), P), ((180, 100), X), ((170, 110), X)],
)
def test_it_grades_blood_pressure_at_screening(bp, severity) -> None:
    result = screen(vitals={"systolic_mmhg": bp[0], "diastolic_mmhg": bp[1], "heart_rate_bpm": 70})
    assert {f.severity for f in result.findings if f.code == "eligibility.screening_bp"} == (
        {severity} if severity else set()
    )


def test_it_asks_for_screening_blood_pressure() -> None:
    result = screen(vitals={"systolic_mmhg": 120})
    assert result.decision is Decision.INCOMPLETE and result.missing[0].code == "eligibility.screening_bp"


# --- Diagnosis and indications ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("code", ["F32.0", "F32.5", "F32.9", "F32", "F33", "F33.1", "F33.40", "F33.42", "f33.9 "])
def test_it_recognises_major_depression_codes(code) -> None:
    assert "eligibility.diagnosis_mdd" not in codes(screen(diagnoses=(code,)))


@pytest.mark.parametrize("code", ["F32.81", "F32.A", "F31.4", "F43.10", "F33.43"])
def test_it_excludes_intakes_without_major_depression(code) -> None:
    result = screen(diagnoses=(code,))
    assert result.decision is Decision.NOT_ELIGIBLE and "eligibility.diagnosis_mdd" in codes(result, X)


@pytest.mark.parametrize("code", ["F32.3", "F33.3"])
def test_it_treats_psychotic_features_as_current_psychosis(code) -> None:
    result = screen(diagnoses=(code,))
    assert result.decision is Decision.NOT_ELIGIBLE
    assert any("psychotic features" in f.message for f in result.findings)


@pytest.mark.parametrize("code", ["", "33.2", "FF3.2", "F33.23456", 332])
def test_it_rejects_malformed_diagnosis_codes(code) -> None:
    with pytest.raises(ValueError, match=r"diagnoses\[0\]: .* is not an ICD-10-CM code"):
        Intake(diagnoses=(code,))


def test_it_screens_the_mdsi_indication() -> None:
    base: dict[str, Any] = {"antidepressant_trials": (), "acute_suicidal_ideation": True}
    ok = screen(indication="mdsi", **base)
    assert ok.decision is Decision.ELIGIBLE and ok.indication is Indication.MDSI
    assert ok.trd.met is False  # TRD is not required for MDSI
    missing = screen(indication="mdsi", antidepressant_trials=None)
    assert [f.code for f in missing.missing] == ["eligibility.mdsi_suicidality"]
    absent = screen(indication="mdsi", antidepressant_trials=(), acute_suicidal_ideation=False)
    assert absent.decision is Decision.NOT_ELIGIBLE
    no_ad = screen(indication="mdsi", medications=(), **base)
    assert no_ad.decision is Decision.ELIGIBLE_WITH_PRECAUTIONS
    assert "oral antidepressant" in no_ad.findings[0].message
    assert screen(IV, indication="mdsi", medications=(), **base).decision is Decision.ELIGIBLE


# --- TRD -------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("trials", "met"),
    [
        ((), False),
        ((failed("sertraline", "ssri"),), False),
        (TWO_FAILED, True),
        ((failed("sertraline", "ssri"), failed("sertraline", "ssri", weeks=12)), False),
        ((failed("sertraline", "ssri"), failed("venlafaxine", "snri", weeks=5.9)), False),
        ((failed("sertraline", "ssri"), failed("venlafaxine", "snri", weeks=6)), True),
        ((failed("sertraline", "ssri"), failed("venlafaxine", "snri", improvement=25)), True),
        ((failed("sertraline", "ssri"), failed("venlafaxine", "snri", improvement=26)), False),
        ((failed("sertraline", "ssri"), failed("venlafaxine", "snri", improvement=-30)), True),
        ((failed("sertraline", "ssri"), failed("venlafaxine", "snri", adequate=False)), False),
        ((failed("sertraline", "ssri"), failed("venlafaxine", "snri", current_episode=False)), False),
        ((failed("sertraline", "ssri"), failed("ECT", "ect")), False),
        ((failed("sertraline", "ssri"), failed("aripiprazole", "augmentation")), False),
        ((failed("sertraline", "ssri"), failed("venlafaxine", "snri", weeks=None)), None),
        ((failed("sertraline", "ssri"), failed("venlafaxine", "snri", improvement=None)), None),
        ((failed("sertraline", "ssri"), failed("venlafaxine", "snri", adequate=None)), None),
        ((failed("sertraline", "ssri", weeks=None), failed("venlafaxine", "snri", weeks=None)), None),
        # A known disqualifier settles the trial even when another field is missing.
        ((failed("sertraline", "ssri"), failed("venlafaxine", "snri", weeks=3, improvement=None)), False),
        ((failed("sertraline", "ssri"), failed("venlafaxine", "snri", weeks=None, improvement=60)), False),
        # A drug tried twice counts once, as failed if either trial failed.
        ((failed("sertraline", "ssri", weeks=2), failed("Sertraline ", "ssri"), failed("venlafaxine", "snri")), True),
        (
            (
                failed("sertraline", "ssri", weeks=None),
                failed("sertraline", "ssri", weeks=2),
                failed("venlafaxine", "snri"),
            ),
            None,
        ),
        # Once the required failures are known, unrecorded extra trials no longer matter.
        ((*TWO_FAILED, failed("bupropion", "bupropion", weeks=None)), True),
    ],
)
def test_it_applies_the_trd_definition(trials, met) -> None:
    assert assess_trd(trials).met is met


def test_it_asks_for_exactly_the_missing_trial_data() -> None:
    trials = (failed("sertraline", "ssri"), failed("venlafaxine", "snri", weeks=None, adequate=None, improvement=None))
    result = screen(antidepressant_trials=trials)
    assert result.decision is Decision.INCOMPLETE
    assert result.trd.undetermined_drugs == ("venlafaxine",)
    assert [f.message for f in result.missing] == [
        "Whether the dose of venlafaxine was adequate is not recorded.",
        "Weeks on venlafaxine at an adequate dose not recorded (at least 6 are needed).",
        "Improvement on venlafaxine not recorded.",
    ]


def test_it_asks_only_for_what_is_missing() -> None:
    trials = (failed("sertraline", "ssri", weeks=None), failed("venlafaxine", "snri"))
    result = screen(antidepressant_trials=trials)
    assert [f.message for f in result.missing] == [
        "Weeks on sertraline at an adequate dose not recorded (at least 6 are needed)."
    ]
    assert result.codes == {"eligibility.trd", "eligibility.rems_enrolment"}
    trials = (failed("sertraline", "ssri", improvement=None), failed("venlafaxine", "snri"))
    assert [f.message for f in screen(antidepressant_trials=trials).missing] == [
        "Improvement on sertraline not recorded."
    ]


def test_it_excludes_when_trd_is_not_established() -> None:
    result = screen(antidepressant_trials=(failed("sertraline", "ssri"),))
    assert result.decision is Decision.NOT_ELIGIBLE
    assert "1 of the 2 required" in next(f.message for f in result.findings if f.code == "eligibility.trd")


def test_it_follows_the_clinics_trd_definition() -> None:
    fava = DEFAULT_POLICY.with_overrides({"trd_maximum_improvement_pct": 49, "trd_minimum_trial_weeks": 4})
    trials = (failed("sertraline", "ssri", improvement=40), failed("venlafaxine", "snri", weeks=5))
    assert assess_trd(trials).met is False
    assert assess_trd(trials, policy=fava).met is True
    one = DEFAULT_POLICY.with_overrides({"trd_minimum_failed_trials": 1})
    assert assess_trd(trials[:1], policy=fava.with_overrides({"trd_minimum_failed_trials": 1})).met is True
    assert "≥1 distinct" in assess_trd((), policy=one).definition


@pytest.mark.parametrize(
    ("trials", "stage"),
    [
        ((), 0),
        ((failed("sertraline", "ssri", improvement=60),), 0),
        ((failed("sertraline", "ssri"), failed("escitalopram", "ssri")), 1),
        ((failed("sertraline", "ssri"), failed("venlafaxine", "snri")), 2),
        ((failed("sertraline", "ssri"), failed("nortriptyline", "tca")), 2),
        ((failed("sertraline", "ssri"), failed("venlafaxine", "snri"), failed("nortriptyline", "tca")), 3),
        ((failed("sertraline", "ssri"), failed("venlafaxine", "snri"), failed("phenelzine", "maoi")), 2),
        (
            (
                failed("sertraline", "ssri"),
                failed("venlafaxine", "snri"),
                failed("nortriptyline", "tca"),
                failed("phenelzine", "maoi"),
            ),
            4,
        ),
        (
            (
                failed("sertraline", "ssri"),
                failed("venlafaxine", "snri"),
                failed("nortriptyline", "tca"),
                failed("phenelzine", "maoi"),
                failed("ECT", "ect", weeks=None),
            ),
            5,
        ),
        (
            (
                failed("sertraline", "ssri"),
                failed("venlafaxine", "snri"),
                failed("nortriptyline", "tca"),
                failed("phenelzine", "maoi"),
                failed("ECT", "ect", improvement=None),
            ),
            4,
        ),
        ((failed("sertraline", "ssri"), failed("aripiprazole", "augmentation")), 1),
        ((failed("sertraline", "ssri"), failed("venlafaxine", "snri", current_episode=False)), 1),
        ((failed("sertraline", "ssri"), failed("venlafaxine", "snri", weeks=None)), 1),
    ],
)
def test_it_stages_treatment_resistance(trials, stage) -> None:
    assert thase_rush_stage(trials) == stage


# --- Substances and medications --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("use", "expected"),
    [
        (SubstanceUse(Substance.KETAMINE, use_disorder=True, current=True), {("eligibility.substance_use", X)}),
        (SubstanceUse(Substance.PCP, use_disorder=True, current=True), {("eligibility.substance_use", X)}),
        (SubstanceUse(Substance.KETAMINE, use_disorder=True, current=False), {("eligibility.substance_use", P)}),
        (SubstanceUse(Substance.CANNABIS, use_disorder=True, current=True), {("eligibility.substance_use", P)}),
        (SubstanceUse(Substance.KETAMINE, use_disorder=False, current=True), {("eligibility.substance_use", P)}),
        (SubstanceUse(Substance.CANNABIS, use_disorder=False, current=True), set()),
        (
            SubstanceUse(Substance.ALCOHOL, use_disorder=False, current=True),
            {("eligibility.cns_depressants", Severity.INTERACTION)},
        ),
        (
            SubstanceUse(Substance.ALCOHOL, use_disorder=True, current=True),
            {("eligibility.substance_use", P), ("eligibility.cns_depressants", Severity.INTERACTION)},
        ),
        (SubstanceUse(Substance.OPIOIDS, use_disorder=False, current=False), set()),
    ],
)
def test_it_grades_substance_use(use, expected) -> None:
    result = screen(substance_use=(use,))
    assert {(f.code, f.severity) for f in result.findings if f.severity is not Severity.INFO} == expected


@pytest.mark.parametrize(
    ("medication", "route", "code", "severity"),
    [
        (Medication.named("oxycodone", 20), ESK, "eligibility.cns_depressants", Severity.INTERACTION),
        (Medication.named("zolpidem", 10), ESK, "eligibility.cns_depressants", Severity.INTERACTION),
        (Medication.named("modafinil", 200), ESK, "eligibility.psychostimulants", Severity.INTERACTION),
        (Medication.named("phenelzine", 45), IV, "eligibility.maoi", Severity.INTERACTION),
        (Medication.named("midodrine", 10), IV, "eligibility.sympathomimetics", Severity.INTERACTION),
        (Medication.named("lamotrigine", 200), IV, "eligibility.lamotrigine", Severity.INTERACTION),
        (Medication.named("theophylline", 400), IV, "eligibility.theophylline", Severity.CONTRAINDICATION),
        (Medication.named("aminophylline", 400), ESK, "eligibility.theophylline", Severity.EXCLUSION),
        (Medication.named("fluticasone nasal"), ESK, "eligibility.nasal_products", Severity.INTERACTION),
        (Medication.named("oxymetazoline"), "intranasal", "eligibility.nasal_products", Severity.INTERACTION),
        (Medication.named("rifampicin", 600), IV, "eligibility.cyp_modifiers", Severity.INFO),
        (Medication.named("clarithromycin", 1000), ESK, "eligibility.cyp_modifiers", Severity.INFO),
    ],
)
def test_it_flags_interacting_medications(medication, route, code, severity) -> None:
    result = screen(route, medications=(medication,))
    (finding,) = [f for f in result.findings if f.code == code]
    assert finding.severity is severity and medication.name in finding.message


def test_it_ignores_nasal_products_for_other_routes() -> None:
    assert "eligibility.nasal_products" not in codes(screen(IV, medications=(Medication.named("oxymetazoline"),)))


@pytest.mark.parametrize(
    ("medications", "over"),
    [
        ((Medication.named("diazepam", 8),), False),
        ((Medication.named("diazepam", 8.5),), True),
        ((Medication.named("lorazepam", 0.8),), False),
        ((Medication.named("lorazepam", 1),), True),
        ((Medication.named("clonazepam", 0.5),), True),
        ((Medication.named("alprazolam", 0.25), Medication.named("zolpidem", 10)), True),
        ((Medication.named("temazepam", 10), Medication.named("oxazepam", 5)), False),
    ],
)
def test_it_sums_benzodiazepines_as_diazepam_equivalents(medications, over) -> None:
    result = screen(medications=medications)
    flagged = [f for f in result.findings if f.code == "eligibility.benzodiazepine_dose"]
    assert bool(flagged) is over
    assert "eligibility.cns_depressants" in codes(result)


def test_it_asks_for_an_unrecorded_benzodiazepine_dose() -> None:
    result = screen(medications=(Medication.named("lorazepam"),))
    assert result.decision is Decision.INCOMPLETE
    assert result.missing[0].message.startswith("Daily dose of lorazepam not recorded")


def test_it_hands_unconvertible_benzodiazepines_to_the_prescriber() -> None:
    result = screen(medications=(Medication("etizolam", DrugClass.BENZODIAZEPINE, 1),))
    assert "has no diazepam equivalent" in next(
        f.message for f in result.findings if f.code.endswith("benzodiazepine_dose")
    )


def test_it_follows_the_benzodiazepine_threshold_policy() -> None:
    strict = DEFAULT_POLICY.with_overrides({"benzodiazepine_diazepam_eq_mg": 2})
    assert "eligibility.benzodiazepine_dose" in codes(
        screen(medications=(Medication.named("diazepam", 5),), policy=strict)
    )


# --- Input validation ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"age_years": 200}, "age_years: 200 is outside the allowed range 0–130 years"),
        ({"conditions": frozenset({"gout"})}, "conditions: 'gout' is not allowed"),
        ({"medications": ("sertraline",)}, r"medications\[0\]: must be a Medication, got str"),
        ({"antidepressant_trials": [object()]}, r"antidepressant_trials\[0\]: must be a AntidepressantTrial"),
        ({"substance_use": (1,)}, r"substance_use\[0\]"),
        ({"pregnant": "no"}, "pregnant: must be true, false or not recorded"),
        ({"vitals": {"systolic_mmhg": 20}}, "systolic_mmhg: 20 is outside"),
    ],
)
def test_it_rejects_an_invalid_intake(kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        Intake(**kwargs)


def test_it_normalises_collections_in_the_intake() -> None:
    intake = Intake(
        conditions=["cystitis"],  # type: ignore[arg-type]
        medications=[Medication.named("sertraline")],  # type: ignore[arg-type]
        diagnoses=(" f33.2",),
    )
    assert intake.conditions == frozenset({Condition.CYSTITIS})
    assert isinstance(intake.medications, tuple) and intake.diagnoses == ("F33.2",)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"drug": " ", "drug_class": "ssri"}, "drug: a trial needs the drug's generic name"),
        ({"drug": "x", "drug_class": "benzodiazepine"}, "drug_class: benzodiazepine is not an antidepressant"),
        ({"drug": "x", "drug_class": "pill"}, "drug_class: 'pill' is not allowed"),
        ({"drug": "sertraline", "drug_class": "snri"}, "drug_class: sertraline is ssri, not snri"),
        ({"drug": "x", "drug_class": "ssri", "daily_dose_mg": 0}, "daily_dose_mg: 0 is outside"),
        ({"drug": "x", "drug_class": "ssri", "weeks": -1}, "weeks: -1 is outside the allowed range 0–520 weeks"),
        ({"drug": "x", "drug_class": "ssri", "improvement_pct": 101}, "improvement_pct: 101 is outside"),
        ({"drug": "x", "drug_class": "ssri", "adequate_dose": "yes"}, "adequate_dose: must be true or false"),
        ({"drug": "x", "drug_class": "ssri", "current_episode": None}, "current_episode: must be true or false"),
    ],
)
def test_it_rejects_an_invalid_trial(kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        AntidepressantTrial(**kwargs)


def test_it_accepts_trial_class_strings_and_unknown_drugs() -> None:
    trial = AntidepressantTrial("gepirone", "other_antidepressant", daily_dose_mg=20)  # type: ignore[arg-type]
    assert trial.drug_class is DrugClass.OTHER_ANTIDEPRESSANT and trial.daily_dose_mg == 20


def test_it_rejects_invalid_substance_use() -> None:
    with pytest.raises(ValueError, match="substance: 'glue' is not allowed"):
        SubstanceUse("glue", use_disorder=True, current=True)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="current: must be true or false"):
        SubstanceUse(Substance.ALCOHOL, use_disorder=True, current="yes")  # type: ignore[arg-type]


def test_it_rejects_invalid_assessment_arguments() -> None:
    with pytest.raises(ValueError, match="intake: must be an Intake, got dict"):
        assess_eligibility({}, route=ESK)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="route: 'nasal' is not allowed"):
        assess_eligibility(COMPLETE, route="nasal")
    with pytest.raises(ValueError, match="indication: 'ptsd' is not allowed; allowed values are trd, mdsi"):
        assess_eligibility(COMPLETE, route=ESK, indication="ptsd")
