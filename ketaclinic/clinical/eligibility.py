"""Eligibility screening for ketamine and esketamine: contraindications, precautions, interactions and TRD.

:func:`assess_eligibility` reads a typed :class:`Intake` and returns an :class:`EligibilityDecision` with every
:class:`Finding` in plain language, each citing its source. Missing data are asked for, never guessed.

Decisions, from most to least restrictive:

* ``not_eligible`` — a label contraindication or an exclusion (a criterion not met, or a "not recommended" /
  trial-exclusion item where the safer reading is not to treat) applies. It wins even when data are missing.
* ``incomplete`` — nothing rules treatment out, but data needed to decide are missing (age, pregnancy, current
  medications, the weeks of a failed trial …). The brief offered three decisions; a fourth is deliberate: calling
  an intake with unanswered questions "eligible with precautions" would invite a prescriber to sign it. Screening
  must treat ``incomplete`` as "cannot sign yet" and show :attr:`EligibilityDecision.missing`.
* ``eligible_with_precautions`` — precautions or interactions need the prescriber's attention.
* ``eligible`` — only informational findings.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum

from ketaclinic.clinical.medications import (
    ANTIDEPRESSANT_CLASSES,
    CNS_DEPRESSANT_CLASSES,
    DrugClass,
    Medication,
    diazepam_equivalent_mg,
    drug_class_of,
)
from ketaclinic.clinical.policy import DEFAULT_POLICY, ClinicPolicy
from ketaclinic.clinical.protocols import Indication, Route, parse_enum
from ketaclinic.clinical.rules import AreaRules, Rule, rule
from ketaclinic.clinical.sources import Citation, Evidence, cite
from ketaclinic.clinical.vitals import Vital, in_range, validate_age_years, validate_vitals


class Condition(StrEnum):
    """A medical or psychiatric condition that bears on eligibility (recorded by staff at intake)."""

    HYPERSENSITIVITY_KETAMINE = "hypersensitivity_ketamine"
    ANEURYSM_OR_AVM = "aneurysm_or_avm"
    INTRACEREBRAL_HAEMORRHAGE = "intracerebral_haemorrhage"
    HYPERTENSION_UNCONTROLLED = "hypertension_uncontrolled"
    HYPERTENSION_CONTROLLED = "hypertension_controlled"
    CARDIOVASCULAR_DISEASE = "cardiovascular_disease"
    CEREBROVASCULAR_DISEASE = "cerebrovascular_disease"
    HYPERTENSIVE_ENCEPHALOPATHY_HISTORY = "hypertensive_encephalopathy_history"
    PSYCHOSIS = "psychosis"  # a history of psychosis or a psychotic disorder, not currently psychotic
    PSYCHOSIS_CURRENT = "psychosis_current"
    MANIA_CURRENT = "mania_current"
    BIPOLAR = "bipolar"
    LIVER_DISEASE_CHILD_PUGH_B = "liver_disease_child_pugh_b"
    LIVER_DISEASE_CHILD_PUGH_C = "liver_disease_child_pugh_c"  # severe hepatic impairment
    RAISED_ICP = "raised_icp"
    RAISED_IOP_GLAUCOMA = "raised_iop_glaucoma"
    HYPERTHYROIDISM_UNCONTROLLED = "hyperthyroidism_uncontrolled"
    CYSTITIS = "cystitis"  # ulcerative or interstitial cystitis
    SLEEP_APNOEA = "sleep_apnoea"


class Substance(StrEnum):
    """A substance whose use is asked about at intake."""

    ALCOHOL = "alcohol"
    CANNABIS = "cannabis"
    KETAMINE = "ketamine"
    PCP = "pcp"  # phencyclidine and related dissociatives
    OPIOIDS = "opioids"
    STIMULANTS = "stimulants"
    SEDATIVES = "sedatives"
    OTHER = "other"


class Severity(StrEnum):
    """How a finding bears on the decision (ordered from most to least restrictive)."""

    CONTRAINDICATION = "contraindication"  # the drug's label contraindicates it
    EXCLUSION = "exclusion"  # not recommended / criterion not met / trial exclusion: not treated (safer reading)
    MISSING = "missing"  # data needed for the decision are not recorded
    PRECAUTION = "precaution"
    INTERACTION = "interaction"
    INFO = "info"


class Decision(StrEnum):
    """The screening outcome (see the module docstring for what each means)."""

    ELIGIBLE = "eligible"
    ELIGIBLE_WITH_PRECAUTIONS = "eligible_with_precautions"
    INCOMPLETE = "incomplete"
    NOT_ELIGIBLE = "not_eligible"


class ThaseRushStage(IntEnum):
    """Thase–Rush stage of treatment resistance (0 = no adequate trial failed)."""

    STAGE_0 = 0
    STAGE_I = 1
    STAGE_II = 2
    STAGE_III = 3
    STAGE_IV = 4
    STAGE_V = 5


@dataclass(frozen=True)
class Finding:
    """One screening finding: ``code`` is the id of the catalogue rule behind it."""

    code: str
    severity: Severity
    message: str
    citations: tuple[Citation, ...]
    evidence: Evidence


@dataclass(frozen=True)
class AntidepressantTrial:
    """One antidepressant trial (or an ECT course, ``drug_class="ect"``) as recorded at intake.

    ``adequate_dose`` is the clinician's judgement that the dose was adequate; ``weeks`` are weeks at that dose;
    ``improvement_pct`` is the improvement from the start of the trial (negative = worse). ``None`` = not recorded.
    """

    drug: str
    drug_class: DrugClass
    daily_dose_mg: float | None = None
    adequate_dose: bool | None = None
    weeks: float | None = None
    improvement_pct: float | None = None
    current_episode: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.drug, str) or not self.drug.strip():
            raise ValueError("drug: a trial needs the drug's generic name (or 'ECT')")
        allowed = ANTIDEPRESSANT_CLASSES | {DrugClass.ECT, DrugClass.AUGMENTATION}
        cls = parse_enum(DrugClass, "drug_class", self.drug_class)
        if cls not in allowed:
            raise ValueError(
                f"drug_class: {cls.value} is not an antidepressant treatment; allowed: "
                f"{', '.join(sorted(c.value for c in allowed))}"
            )
        expected = drug_class_of(self.drug)
        if expected is not None and expected != cls:
            raise ValueError(f"drug_class: {self.drug} is {expected.value}, not {cls.value}")
        object.__setattr__(self, "drug_class", cls)
        if self.daily_dose_mg is not None:
            object.__setattr__(
                self, "daily_dose_mg", in_range("daily_dose_mg", self.daily_dose_mg, 0.001, 100_000, "mg")
            )
        if self.weeks is not None:
            object.__setattr__(self, "weeks", in_range("weeks", self.weeks, 0, 520, "weeks"))
        if self.improvement_pct is not None:
            object.__setattr__(
                self, "improvement_pct", in_range("improvement_pct", self.improvement_pct, -1000, 100, "%")
            )
        for name in ("adequate_dose", "current_episode"):
            value = getattr(self, name)
            if not (isinstance(value, bool) or (value is None and name == "adequate_dose")):
                raise ValueError(f"{name}: must be true or false, got {value!r}")


@dataclass(frozen=True)
class SubstanceUse:
    """Use of a substance: ``use_disorder`` if it meets criteria for a use disorder, ``current`` if in the past year."""

    substance: Substance
    use_disorder: bool
    current: bool

    def __post_init__(self) -> None:
        object.__setattr__(self, "substance", parse_enum(Substance, "substance", self.substance))
        for name in ("use_disorder", "current"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name}: must be true or false")


@dataclass(frozen=True)
class Intake:
    """What screening knows about a patient. ``None`` always means "not recorded" and is asked for.

    ``conditions``, ``medications``, ``substance_use`` and ``antidepressant_trials`` are ``None`` until reviewed;
    an empty collection means "reviewed: none". ``diagnoses`` are ICD-10-CM codes. ``vitals`` are the screening
    readings keyed by :class:`~ketaclinic.clinical.vitals.Vital` names. ``acute_suicidal_ideation`` is needed only
    for the MDSI indication.
    """

    age_years: float | None = None
    diagnoses: tuple[str, ...] = ()
    antidepressant_trials: tuple[AntidepressantTrial, ...] | None = None
    conditions: frozenset[Condition] | None = None
    medications: tuple[Medication, ...] | None = None
    pregnant: bool | None = None
    breastfeeding: bool | None = None
    substance_use: tuple[SubstanceUse, ...] | None = None
    vitals: Mapping[str, float] = field(default_factory=dict)
    acute_suicidal_ideation: bool | None = None

    def __post_init__(self) -> None:
        if self.age_years is not None:
            object.__setattr__(self, "age_years", validate_age_years(self.age_years))
        codes = []
        for i, code in enumerate(self.diagnoses):
            normal = code.strip().upper() if isinstance(code, str) else ""
            if not _ICD10.fullmatch(normal):
                raise ValueError(f"diagnoses[{i}]: {code!r} is not an ICD-10-CM code (e.g. F33.2)")
            codes.append(normal)
        object.__setattr__(self, "diagnoses", tuple(codes))
        if self.conditions is not None:
            object.__setattr__(
                self, "conditions", frozenset(parse_enum(Condition, "conditions", c) for c in self.conditions)
            )
        for name, kind in (
            ("antidepressant_trials", AntidepressantTrial),
            ("medications", Medication),
            ("substance_use", SubstanceUse),
        ):
            items = getattr(self, name)
            if items is None:
                continue
            items = tuple(items)
            for i, item in enumerate(items):
                if not isinstance(item, kind):
                    raise ValueError(f"{name}[{i}]: must be a {kind.__name__}, got {type(item).__name__}")
            object.__setattr__(self, name, items)
        for name in ("pregnant", "breastfeeding", "acute_suicidal_ideation"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, bool):
                raise ValueError(f"{name}: must be true, false or not recorded (None)")
        validate_vitals(self.vitals)


@dataclass(frozen=True)
class TrdAssessment:
    """Whether depression is treatment-resistant under the clinic's definition.

    ``met`` is ``None`` when unrecorded trial data could change the answer. ``failed_drugs`` are distinct drugs
    whose adequate trial failed in the current episode; ``undetermined_drugs`` could still count once completed.
    """

    met: bool | None
    failed_drugs: tuple[str, ...]
    undetermined_drugs: tuple[str, ...]
    required_failures: int
    definition: str


@dataclass(frozen=True)
class EligibilityDecision:
    """The screening result: the decision, every finding (most restrictive first) and the TRD assessment."""

    decision: Decision
    route: Route
    indication: Indication
    findings: tuple[Finding, ...]
    trd: TrdAssessment
    thase_rush_stage: ThaseRushStage

    @property
    def missing(self) -> tuple[Finding, ...]:
        """The findings that ask for missing data."""
        return tuple(f for f in self.findings if f.severity is Severity.MISSING)

    @property
    def codes(self) -> frozenset[str]:
        """The rule ids of every finding."""
        return frozenset(f.code for f in self.findings)


#: The callback each assessment step reports its findings through (a bound ``list.append``).
_Add = Callable[[Finding], None]

_ICD10 = re.compile(r"[A-Z][0-9][0-9A-Z](\.[0-9A-Z]{1,4})?")
#: ICD-10-CM codes of major depressive disorder (single episode or recurrent). F32.81/F32.89/F32.A are not MDD.
_MDD = re.compile(r"F32(\.[0-59])?|F33(\.([0-389]|4[0-2]?))?")
_PSYCHOTIC_FEATURES = frozenset({"F32.3", "F33.3"})


# --- Rules -----------------------------------------------------------------------------------------------------------

_C = Severity.CONTRAINDICATION
_X = Severity.EXCLUSION
_P = Severity.PRECAUTION


@dataclass(frozen=True)
class _ConditionRule:
    rule: Rule
    esketamine: Severity
    racemic: Severity
    message: str


def _condition_rule(
    condition: Condition,
    esketamine: Severity,
    racemic: Severity,
    *,
    title: str,
    message: str,
    citations: tuple[Citation, ...],
    evidence: Evidence = Evidence.PUBLISHED,
    note: str = "",
) -> _ConditionRule:
    statement = f"{title}: esketamine → {esketamine.value}; racemic ketamine → {racemic.value}."
    declared = rule(
        f"eligibility.condition.{condition.value}",
        area="eligibility",
        title=title,
        statement=statement,
        citations=citations,
        evidence=evidence,
        note=note,
    )
    return _ConditionRule(declared, esketamine, racemic, message)


CONDITION_RULES: Mapping[Condition, _ConditionRule] = {
    Condition.HYPERSENSITIVITY_KETAMINE: _condition_rule(
        Condition.HYPERSENSITIVITY_KETAMINE,
        _C,
        _C,
        title="Hypersensitivity to ketamine, esketamine or an excipient",
        message="Known hypersensitivity to ketamine, esketamine or an ingredient: contraindicated.",
        citations=(cite("R1", "§4 contraindications"), cite("R8", "contraindications: hypersensitivity")),
    ),
    Condition.ANEURYSM_OR_AVM: _condition_rule(
        Condition.ANEURYSM_OR_AVM,
        _C,
        _C,
        title="Aneurysmal vascular disease or arteriovenous malformation",
        message="Aneurysmal vascular disease or an arteriovenous malformation: contraindicated, because the blood-"
        "pressure rise after a dose could be catastrophic.",
        citations=(
            cite("R1", "§4 contraindications"),
            cite("R8", "contraindicated where a significant BP elevation would be a serious hazard"),
        ),
        note="Racemic ketamine's label contraindicates use wherever a significant rise in blood pressure would be a "
        "serious hazard; an aneurysm or AVM is such a case, so it is applied to both drugs.",
    ),
    Condition.INTRACEREBRAL_HAEMORRHAGE: _condition_rule(
        Condition.INTRACEREBRAL_HAEMORRHAGE,
        _C,
        _C,
        title="History of intracerebral haemorrhage",
        message="A history of intracerebral haemorrhage: contraindicated, because of the blood-pressure rise after "
        "a dose.",
        citations=(
            cite("R1", "§4 contraindications"),
            cite("R8", "contraindicated where a significant BP elevation would be a serious hazard"),
        ),
        note="Applied to racemic ketamine through its blood-pressure-hazard contraindication (safer reading).",
    ),
    Condition.HYPERTENSION_UNCONTROLLED: _condition_rule(
        Condition.HYPERTENSION_UNCONTROLLED,
        _C,
        _C,
        title="Uncontrolled hypertension",
        message="Uncontrolled hypertension: a significant blood-pressure rise would be a serious hazard. Treat the "
        "hypertension and screen again.",
        citations=(
            cite("R8", "contraindication: significant BP elevation a serious hazard"),
            cite("R1", "§5.6: do not administer if a BP increase poses a serious risk"),
            cite("R51", "uncontrolled hypertension excluded"),
            cite("R53", "clinic exclusions"),
        ),
        note="The esketamine label words this as a warning ('do not administer'); it is treated as a "
        "contraindication for both drugs.",
    ),
    Condition.HYPERTENSION_CONTROLLED: _condition_rule(
        Condition.HYPERTENSION_CONTROLLED,
        _P,
        _P,
        title="Controlled hypertension",
        message="Treated hypertension: severe rises are more frequent in hypertensive patients; check blood "
        "pressure before each dose and about 40 minutes after.",
        citations=(
            cite("R1", "§5.6 blood pressure"),
            cite("R23", "severe hypertension more common in hypertensive patients"),
        ),
    ),
    Condition.CARDIOVASCULAR_DISEASE: _condition_rule(
        Condition.CARDIOVASCULAR_DISEASE,
        _P,
        _P,
        title="Cardiovascular disease",
        message="Cardiovascular disease: assess the risk of a blood-pressure and heart-rate rise and monitor closely.",
        citations=(
            cite("R1", "§5.6 cardiovascular and cerebrovascular conditions"),
            cite("R8", "hemodynamic instability"),
            cite("R33", "ischaemic heart disease caution"),
        ),
    ),
    Condition.CEREBROVASCULAR_DISEASE: _condition_rule(
        Condition.CEREBROVASCULAR_DISEASE,
        _P,
        _P,
        title="Cerebrovascular disease",
        message="Cerebrovascular disease: assess the risk of a blood-pressure rise and monitor closely.",
        citations=(
            cite("R1", "§5.6 cardiovascular and cerebrovascular conditions"),
            cite("R33", "cerebrovascular disease caution"),
        ),
    ),
    Condition.HYPERTENSIVE_ENCEPHALOPATHY_HISTORY: _condition_rule(
        Condition.HYPERTENSIVE_ENCEPHALOPATHY_HISTORY,
        _P,
        _P,
        title="History of hypertensive encephalopathy",
        message="History of hypertensive encephalopathy: monitor blood pressure frequently during every session.",
        citations=(cite("R1", "MPR: history of hypertensive encephalopathy, monitor frequently"),),
    ),
    Condition.PSYCHOSIS: _condition_rule(
        Condition.PSYCHOSIS,
        _P,
        _P,
        title="History of psychosis",
        message="History of psychosis: ketamine can cause perceptual changes and emergence reactions; start only if "
        "the expected benefit outweighs the risk.",
        citations=(cite("R1", "§5: assess psychosis; benefit must outweigh risk"), cite("R8", "emergence reactions")),
    ),
    Condition.PSYCHOSIS_CURRENT: _condition_rule(
        Condition.PSYCHOSIS_CURRENT,
        _X,
        _X,
        title="Current psychosis",
        message="Current psychotic symptoms: not treated until they have resolved.",
        citations=(
            cite("R51", "current psychosis excluded"),
            cite("R33", "psychosis contraindication"),
            cite("R1", "§5: assess psychosis"),
        ),
        note="The esketamine label allows treatment when benefit outweighs risk; every trial excluded current "
        "psychosis, and that safer reading is applied.",
    ),
    Condition.MANIA_CURRENT: _condition_rule(
        Condition.MANIA_CURRENT,
        _X,
        _X,
        title="Current mania or hypomania",
        message="Current mania or hypomania: not treated until the mood episode has resolved.",
        citations=(cite("R51", "current mania excluded"), cite("R53", "clinic exclusions: mania")),
    ),
    Condition.BIPOLAR: _condition_rule(
        Condition.BIPOLAR,
        _P,
        _P,
        title="Bipolar disorder",
        message="Bipolar disorder: watch for a switch into mania or hypomania; a mood stabiliser should be in place.",
        citations=(cite("R51", "mania excluded"), cite("R53", "clinic exclusions: mania")),
        evidence=Evidence.POLICY,
        note="Sources exclude current mania, not bipolar disorder itself; the precaution is a clinic choice.",
    ),
    Condition.LIVER_DISEASE_CHILD_PUGH_B: _condition_rule(
        Condition.LIVER_DISEASE_CHILD_PUGH_B,
        _P,
        _P,
        title="Moderate hepatic impairment (Child-Pugh B)",
        message="Moderate hepatic impairment (Child-Pugh B): exposure is higher; longer monitoring after each dose "
        "may be needed.",
        citations=(
            cite("R1", "§8.6 Child-Pugh B: longer post-dose monitoring"),
            cite("R8", "drug-induced liver injury"),
        ),
    ),
    Condition.LIVER_DISEASE_CHILD_PUGH_C: _condition_rule(
        Condition.LIVER_DISEASE_CHILD_PUGH_C,
        _X,
        _X,
        title="Severe hepatic impairment (Child-Pugh C)",
        message="Severe hepatic impairment (Child-Pugh C): not studied and not recommended.",
        citations=(
            cite("R1", "§8.6 Child-Pugh C not recommended"),
            cite("R33", "advanced liver disease contraindication"),
        ),
        note="'Not recommended' is read as not eligible; racemic ketamine follows the ED protocol's exclusion.",
    ),
    Condition.RAISED_ICP: _condition_rule(
        Condition.RAISED_ICP,
        _X,
        _X,
        title="Raised intracranial pressure",
        message="Raised intracranial pressure: ketamine may raise it further; not treated.",
        citations=(
            cite("R1", "§5.6: do not administer if an ICP increase poses a serious risk"),
            cite("R8", "increase in cerebrospinal fluid pressure"),
            cite("R53", "clinic exclusions"),
        ),
        note="Known raised ICP is read as a case where a further rise poses a serious risk (safer reading).",
    ),
    Condition.RAISED_IOP_GLAUCOMA: _condition_rule(
        Condition.RAISED_IOP_GLAUCOMA,
        _P,
        _P,
        title="Raised intraocular pressure or glaucoma",
        message="Raised intraocular pressure or glaucoma: ketamine can raise intraocular pressure; confirm the "
        "glaucoma is controlled.",
        citations=(cite("R8", "elevation in intraocular pressure"), cite("R53", "clinic exclusions: glaucoma")),
    ),
    Condition.HYPERTHYROIDISM_UNCONTROLLED: _condition_rule(
        Condition.HYPERTHYROIDISM_UNCONTROLLED,
        _X,
        _X,
        title="Uncontrolled hyperthyroidism",
        message="Uncontrolled hyperthyroidism: heart-rate and blood-pressure rises are exaggerated; treat it and "
        "screen again.",
        citations=(cite("R53", "clinic exclusions: uncontrolled hyperthyroidism"),),
        note="Older Ketalar labels warned about hyperthyroidism (best knowledge); clinics exclude the uncontrolled "
        "state, and that safer reading is applied.",
    ),
    Condition.CYSTITIS: _condition_rule(
        Condition.CYSTITIS,
        _P,
        _P,
        title="Ulcerative or interstitial cystitis",
        message="Ulcerative or interstitial cystitis: monitor urinary symptoms during treatment.",
        citations=(cite("R1", "§5 cystitis: monitor urinary symptoms"), cite("R8", "lower urinary tract symptoms")),
    ),
    Condition.SLEEP_APNOEA: _condition_rule(
        Condition.SLEEP_APNOEA,
        _P,
        _P,
        title="Sleep apnoea",
        message="Sleep apnoea: higher risk of respiratory depression; monitor breathing and SpO2 closely.",
        citations=(cite("R24", "sleep-apnoea screen (STOP-BANG)"), cite("R1", "boxed warning: respiratory depression")),
    ),
}


_rule = AreaRules("eligibility")


R_AGE_MISSING = _rule(
    "age_missing",
    "Age is required",
    "Screening without a recorded age is incomplete.",
    (cite("R1", "not approved under 18 years"),),
)
R_AGE_MINIMUM = _rule(
    "age_minimum",
    "Minimum age",
    "Patients younger than the clinic's minimum age (never below 18) are not eligible.",
    (cite("R1", "not approved under 18 years"),),
)
R_AGE_REVIEW = _rule(
    "age_review",
    "Older patients",
    "Patients older than the clinic's review age are a precaution.",
    (cite("R33", "excludes >75 y"), cite("R3", "≥65 y lower esketamine start")),
    Evidence.POLICY,
)
R_PREGNANCY = _rule(
    "pregnancy",
    "Pregnancy",
    "Pregnancy → not eligible; pregnancy status not recorded → incomplete.",
    (
        cite("R1", "§5 embryo-fetal toxicity; not recommended"),
        cite("R8", "avoid in pregnancy"),
        cite("R53", "clinic exclusions: pregnancy"),
    ),
    note="'Not recommended' is read as not eligible.",
)
R_BREASTFEEDING = _rule(
    "breastfeeding",
    "Breastfeeding",
    "Breastfeeding → not eligible; breastfeeding status not recorded → incomplete.",
    (cite("R1", "§8.2 lactation: not recommended"), cite("R33", "breastfeeding contraindication")),
    note="'Not recommended' is read as not eligible, as for pregnancy.",
)
R_DIAGNOSIS = _rule(
    "diagnosis_mdd",
    "Major depressive disorder diagnosis",
    "Both indications are forms of MDD (ICD-10-CM F32.0–F32.5, F32.9, F33.x): no diagnosis recorded → "
    "incomplete; diagnoses without MDD → not eligible; MDD with psychotic features (F32.3, F33.3) → "
    "not eligible as current psychosis.",
    (cite("R1", "§1 indications"), cite("R13", "MDD in the current episode"), cite("R49", "F32/F33")),
)
R_TRD = _rule(
    "trd",
    "Treatment-resistant depression",
    "TRD = at least the clinic's number (default 2) of distinct antidepressants, each at an adequate dose for "
    "at least the clinic's weeks (default 6), with improvement at or below the clinic's maximum (default "
    "25 %) in the current episode. Not met → not eligible for the TRD indication; undecidable because of "
    "unrecorded trial data → incomplete, asking for each missing item.",
    (
        cite("R27", "≥2 antidepressants, adequate dose and ≥6 weeks, ≤25 % improvement"),
        cite("R13", "≥2 adequate courses, <50 % improvement"),
    ),
    note="ECT and augmentation are not antidepressant trials and do not count; repeated trials of one drug count once.",
)
R_THASE_RUSH = _rule(
    "thase_rush",
    "Thase–Rush stage",
    "Stage 0 none failed; I one class failed; II two classes; III stage II plus a TCA; IV stage III "
    "plus an MAOI; V stage IV plus ECT — counting adequate failed trials in the current episode.",
    (cite("R27", "Thase–Rush staging"),),
    note="Read strictly: stage III needs two non-TCA classes plus a TCA, stage IV adds an MAOI to "
    "that. Unrecorded trial data lower the stage; it is informational only.",
)
R_MDSI = _rule(
    "mdsi_suicidality",
    "Acute suicidal ideation or behaviour for the MDSI indication",
    "The MDSI indication needs current suicidal ideation or behaviour recorded: not recorded → incomplete; "
    "absent → not eligible for that indication. Esketamine for MDSI is given with an oral antidepressant; "
    "none listed → precaution.",
    (cite("R1", "§1 MDSI indication, with an oral antidepressant"),),
)
R_OFF_LABEL = _rule(
    "off_label_racemic",
    "Racemic ketamine is off-label for depression",
    "Racemic ketamine for depression is off-label: consent must cover off-label use and limited long-term data.",
    (cite("R9", "consensus statement"), cite("R25", "ASA: defined course, monitoring")),
    Evidence.BEST_KNOWLEDGE,
    "Consent content from Sanacora 2017, not read in full.",
)
R_REMS = _rule(
    "rems_enrolment",
    "Esketamine REMS enrolment",
    "Esketamine outpatients must be enrolled in the SPRAVATO REMS before the first session.",
    (cite("R4", "enrol patients before treatment"),),
)
R_HISTORY_MISSING = _rule(
    "history_missing",
    "Medical history, medicines and substance use must be reviewed",
    "Conditions, current medications and substance use not recorded → incomplete.",
    (
        cite("R24", "comprehensive medical, medication and substance history"),
        cite("R1", "assess SUD risk, hepatic function, BP"),
    ),
)
R_SCREENING_BP = _rule(
    "screening_bp",
    "Blood pressure at screening",
    "No screening BP → incomplete; at or above the clinic's hold limits (180/110) → not eligible "
    "until controlled; above the review limits (140/90) → precaution.",
    (cite("R1", "§5.6 elevated baseline e.g. >140/90"), cite("R34", "hypertensive urgency")),
    Evidence.POLICY,
    "Uses the clinic's pre-dose review and hold thresholds.",
)
R_SUD = _rule(
    "substance_use",
    "Substance use",
    "Current ketamine or PCP use disorder → not eligible; other current or past use disorders and current "
    "recreational ketamine/PCP use → precaution; current alcohol, opioid or sedative use → CNS-depressant "
    "interaction.",
    (
        cite("R1", "abuse and misuse; assess SUD risk"),
        cite("R2", "careful consideration"),
        cite("R8", "Schedule III abuse potential"),
        cite("R51", "more than rare ketamine/PCP use excluded"),
    ),
    note="A current ketamine use disorder is read as an exclusion (safer), following trial exclusions.",
)
R_BENZO = _rule(
    "benzodiazepine_dose",
    "Benzodiazepine dose",
    "Benzodiazepines and Z-drugs above the clinic's daily diazepam-equivalent threshold (default 8 mg) → "
    "interaction: response may be blunted; consider reducing or holding doses on dosing days. A missing "
    "daily dose → incomplete.",
    (
        cite("R26", "Andrashko 2020: >8 mg diazepam-equivalent"),
        cite("R52", "BZD held before infusion"),
        cite("R51", ">3 mg lorazepam-equivalent excluded"),
    ),
)
R_CNS = _rule(
    "cns_depressants",
    "CNS depressants",
    "Benzodiazepines, Z-drugs, opioids, other sedatives and alcohol add to sedation and respiratory "
    "depression → interaction: monitor closely.",
    (cite("R1", "§7 CNS depressants"), cite("R8", "profound sedation, respiratory depression")),
)
R_STIMULANT = _rule(
    "psychostimulants",
    "Psychostimulants",
    "Psychostimulants may raise blood pressure → interaction: monitor blood pressure closely.",
    (cite("R1", "§7 psychostimulants"),),
)
R_MAOI = _rule(
    "maoi",
    "MAOIs",
    "MAOIs may raise blood pressure → interaction: monitor blood pressure closely.",
    (cite("R6", "MAOI co-use"), cite("R1", "§7 MAOIs")),
)
R_SYMPATHOMIMETIC = _rule(
    "sympathomimetics",
    "Sympathomimetics and vasopressin",
    "Sympathomimetics and vasopressin → interaction: monitor vital signs closely.",
    (cite("R8", "drug interactions: sympathomimetics, vasopressin"),),
)
R_LAMOTRIGINE = _rule(
    "lamotrigine",
    "Lamotrigine",
    "Lamotrigine attenuates ketamine's perceptual effects; its effect on the antidepressant response "
    "is unknown → interaction.",
    (cite("R50", "Anand 2000; Andrade 2017"),),
)
R_THEOPHYLLINE = _rule(
    "theophylline",
    "Theophylline and aminophylline",
    "Theophylline or aminophylline → racemic ketamine: contraindication (do not co-administer); "
    "esketamine: not eligible while taking them.",
    (cite("R8", "do not co-administer: lowered seizure threshold"),),
    note="The esketamine label is silent; esketamine is the S-enantiomer of the same drug, so the "
    "racemic label's instruction is applied to both (safer reading).",
)
R_NASAL = _rule(
    "nasal_products",
    "Nasal corticosteroids and decongestants",
    "With a nasal route, give nasal corticosteroids or decongestants at least 1 hour before the dose.",
    (cite("R1", "§2 nasal corticosteroid or decongestant ≥1 h before"),),
    note="Stated for esketamine; applied to racemic intranasal ketamine as well (same absorption site).",
)
R_CYP = _rule(
    "cyp_modifiers",
    "CYP3A4/CYP2B6 inducers and inhibitors",
    "Inducers lower and inhibitors raise ketamine exposure → information for the prescriber.",
    (cite("R50", "Andrade 2017: CYP2B6/CYP3A4"),),
)


# --- Assessment ------------------------------------------------------------------------------------------------------

_ORDER = {s: i for i, s in enumerate(Severity)}


def _finding(r: Rule, severity: Severity, message: str) -> Finding:
    return Finding(r.id, severity, message, r.citations, r.evidence)


def _norm(name: str) -> str:
    return name.strip().lower()


def assess_eligibility(
    intake: Intake,
    *,
    route: str,
    indication: str = "trd",
    policy: ClinicPolicy | None = None,
) -> EligibilityDecision:
    """Screen ``intake`` for treatment by ``route`` for ``indication`` (``"trd"`` or ``"mdsi"``).

    Esketamine (``route="esketamine_nasal"``) follows the SPRAVATO label; every other route follows the racemic
    ketamine label. Guarantees: every finding cites its source; a contraindication or exclusion always yields
    ``not_eligible``; otherwise any missing datum yields ``incomplete``; "eligible" is never returned while data
    needed for the decision are missing. Invalid arguments raise ``ValueError`` naming the field.
    """
    if not isinstance(intake, Intake):
        raise ValueError(f"intake: must be an Intake, got {type(intake).__name__}")
    how = parse_enum(Route, "route", route)
    what = parse_enum(Indication, "indication", indication)
    policy = policy or DEFAULT_POLICY
    esketamine = how is Route.ESKETAMINE_NASAL
    findings: list[Finding] = []
    add = findings.append

    _assess_age(intake, policy, add)
    _assess_reproductive(intake, add)
    _assess_conditions(intake, esketamine, add)
    _assess_vitals(intake, policy, add)
    _assess_substances(intake, add)
    _assess_medications(intake, how, policy, add)
    _assess_diagnosis(intake, add)

    trd = assess_trd(intake.antidepressant_trials or (), policy=policy)
    stage = thase_rush_stage(intake.antidepressant_trials or (), policy=policy)
    if what is Indication.TRD:
        _assess_trd(intake, trd, policy, add)
    else:
        _assess_mdsi(intake, esketamine, add)
    if esketamine:
        add(_finding(R_REMS, Severity.INFO, "Enrol the patient in the SPRAVATO REMS before the first session."))
    else:
        add(
            _finding(
                R_OFF_LABEL,
                Severity.INFO,
                "Racemic ketamine for depression is off-label: the consent must "
                "cover off-label use and the limited long-term data.",
            )
        )

    findings.sort(key=lambda f: _ORDER[f.severity])
    severities = {f.severity for f in findings}
    if severities & {Severity.CONTRAINDICATION, Severity.EXCLUSION}:
        decision = Decision.NOT_ELIGIBLE
    elif Severity.MISSING in severities:
        decision = Decision.INCOMPLETE
    elif severities & {Severity.PRECAUTION, Severity.INTERACTION}:
        decision = Decision.ELIGIBLE_WITH_PRECAUTIONS
    else:
        decision = Decision.ELIGIBLE
    return EligibilityDecision(decision, how, what, tuple(findings), trd, stage)


def _assess_age(intake: Intake, policy: ClinicPolicy, add: _Add) -> None:
    age = intake.age_years
    if age is None:
        add(_finding(R_AGE_MISSING, Severity.MISSING, "Age not recorded."))
    elif age < policy.minimum_age_years:
        add(
            _finding(
                R_AGE_MINIMUM,
                Severity.EXCLUSION,
                f"Age {age:g} is below the minimum age of {policy.minimum_age_years:g} years.",
            )
        )
    elif age > policy.review_age_years:
        add(
            _finding(
                R_AGE_REVIEW,
                Severity.PRECAUTION,
                f"Age {age:g} is above {policy.review_age_years:g} years: review frailty, cardiovascular risk and "
                "cognition before treating.",
            )
        )


def _assess_reproductive(intake: Intake, add: _Add) -> None:
    if intake.pregnant is None:
        add(
            _finding(
                R_PREGNANCY,
                Severity.MISSING,
                "Pregnancy status not recorded (record 'not pregnant' when pregnancy is not possible).",
            )
        )
    elif intake.pregnant:
        add(
            _finding(
                R_PREGNANCY, Severity.EXCLUSION, "Pregnant: ketamine and esketamine are not recommended in pregnancy."
            )
        )
    if intake.breastfeeding is None:
        add(_finding(R_BREASTFEEDING, Severity.MISSING, "Breastfeeding status not recorded."))
    elif intake.breastfeeding:
        add(_finding(R_BREASTFEEDING, Severity.EXCLUSION, "Breastfeeding: not recommended during treatment."))


def _assess_conditions(intake: Intake, esketamine: bool, add: _Add) -> None:
    if intake.conditions is None:
        add(_finding(R_HISTORY_MISSING, Severity.MISSING, "Medical and psychiatric conditions not reviewed."))
        return
    for condition in sorted(intake.conditions):
        spec = CONDITION_RULES[condition]
        add(_finding(spec.rule, spec.esketamine if esketamine else spec.racemic, spec.message))


def _assess_vitals(intake: Intake, policy: ClinicPolicy, add: _Add) -> None:
    vitals = validate_vitals(intake.vitals)
    systolic, diastolic = vitals.get(Vital.SYSTOLIC), vitals.get(Vital.DIASTOLIC)
    if systolic is None or diastolic is None:
        add(_finding(R_SCREENING_BP, Severity.MISSING, "Blood pressure at screening not recorded."))
        return
    bp = f"{systolic:g}/{diastolic:g} mmHg"
    if systolic >= policy.predose_hold_systolic_mmhg or diastolic >= policy.predose_hold_diastolic_mmhg:
        add(
            _finding(
                R_SCREENING_BP,
                Severity.EXCLUSION,
                f"Blood pressure {bp} at screening is at or above the hold limit "
                f"({policy.predose_hold_systolic_mmhg:g}/{policy.predose_hold_diastolic_mmhg:g}): treat it and "
                "screen again.",
            )
        )
    elif systolic > policy.predose_review_systolic_mmhg or diastolic > policy.predose_review_diastolic_mmhg:
        add(
            _finding(
                R_SCREENING_BP,
                Severity.PRECAUTION,
                f"Blood pressure {bp} at screening is above {policy.predose_review_systolic_mmhg:g}/"
                f"{policy.predose_review_diastolic_mmhg:g}: assess hypertension control before treating.",
            )
        )


def _assess_substances(intake: Intake, add: _Add) -> None:
    if intake.substance_use is None:
        add(_finding(R_HISTORY_MISSING, Severity.MISSING, "Substance use not reviewed."))
        return
    dissociatives = {Substance.KETAMINE, Substance.PCP}
    depressants = {Substance.ALCOHOL, Substance.OPIOIDS, Substance.SEDATIVES}
    for use in intake.substance_use:
        name = use.substance.value
        if use.use_disorder and use.current and use.substance in dissociatives:
            add(_finding(R_SUD, Severity.EXCLUSION, f"Current {name} use disorder: not treated with ketamine."))
        elif use.use_disorder:
            when = "Current" if use.current else "Past"
            add(
                _finding(
                    R_SUD,
                    Severity.PRECAUTION,
                    f"{when} {name} use disorder: weigh the risk of misuse and monitor for it.",
                )
            )
        elif use.current and use.substance in dissociatives:
            add(
                _finding(
                    R_SUD, Severity.PRECAUTION, f"Current recreational {name} use: discuss it and monitor for misuse."
                )
            )
        if use.current and use.substance in depressants:
            add(
                _finding(
                    R_CNS,
                    Severity.INTERACTION,
                    f"Current {name} use adds to sedation and respiratory "
                    "depression: no use on dosing days; monitor closely.",
                )
            )


def _assess_medications(intake: Intake, route: Route, policy: ClinicPolicy, add: _Add) -> None:
    meds = intake.medications
    if meds is None:
        add(_finding(R_HISTORY_MISSING, Severity.MISSING, "Current medications not recorded."))
        return
    by_class: dict[DrugClass, list[Medication]] = {}
    for med in meds:
        by_class.setdefault(med.drug_class, []).append(med)

    def names(*classes: DrugClass) -> str:
        return ", ".join(m.name for c in classes for m in by_class.get(c, ()))

    _assess_benzodiazepines(by_class, policy, add)
    if depressants := names(*sorted(CNS_DEPRESSANT_CLASSES)):
        add(
            _finding(
                R_CNS,
                Severity.INTERACTION,
                f"{depressants}: adds to sedation and respiratory depression; monitor closely.",
            )
        )
    if stimulants := names(DrugClass.PSYCHOSTIMULANT):
        add(_finding(R_STIMULANT, Severity.INTERACTION, f"{stimulants}: may raise blood pressure; monitor it closely."))
    if maois := names(DrugClass.MAOI):
        add(_finding(R_MAOI, Severity.INTERACTION, f"{maois} (MAOI): may raise blood pressure; monitor it closely."))
    if pressors := names(DrugClass.SYMPATHOMIMETIC):
        add(_finding(R_SYMPATHOMIMETIC, Severity.INTERACTION, f"{pressors}: monitor vital signs closely."))
    if lamotrigine := names(DrugClass.LAMOTRIGINE):
        add(
            _finding(
                R_LAMOTRIGINE,
                Severity.INTERACTION,
                f"{lamotrigine}: may dampen ketamine's perceptual effects; effect on response unknown.",
            )
        )
    if xanthines := names(DrugClass.METHYLXANTHINE):
        if route is Route.ESKETAMINE_NASAL:
            add(
                _finding(
                    R_THEOPHYLLINE,
                    Severity.EXCLUSION,
                    f"{xanthines}: lowers the seizure threshold with ketamine; stop or replace it before esketamine.",
                )
            )
        else:
            add(
                _finding(
                    R_THEOPHYLLINE,
                    Severity.CONTRAINDICATION,
                    f"{xanthines}: do not co-administer with ketamine (lowers the seizure threshold).",
                )
            )
    nasal = names(DrugClass.NASAL_CORTICOSTEROID, DrugClass.NASAL_DECONGESTANT)
    if nasal and route in (Route.ESKETAMINE_NASAL, Route.INTRANASAL):
        add(_finding(R_NASAL, Severity.INTERACTION, f"{nasal}: give at least 1 hour before the nasal dose."))
    if cyp := names(DrugClass.CYP_INDUCER, DrugClass.CYP_INHIBITOR):
        add(_finding(R_CYP, Severity.INFO, f"{cyp}: changes ketamine exposure (CYP3A4/CYP2B6)."))


def _assess_benzodiazepines(by_class: dict[DrugClass, list[Medication]], policy: ClinicPolicy, add: _Add) -> None:
    benzos = by_class.get(DrugClass.BENZODIAZEPINE, []) + by_class.get(DrugClass.Z_DRUG, [])
    total = 0.0
    for med in benzos:
        if med.daily_dose_mg is None:
            add(
                _finding(
                    R_BENZO,
                    Severity.MISSING,
                    f"Daily dose of {med.name} not recorded (needed for the diazepam-equivalent total).",
                )
            )
            continue
        equivalent = diazepam_equivalent_mg(med.name, med.daily_dose_mg)
        if equivalent is None:
            add(
                _finding(
                    R_BENZO,
                    Severity.INTERACTION,
                    f"{med.name} has no diazepam equivalent in the table: the prescriber must judge whether "
                    f"the total exceeds {policy.benzodiazepine_diazepam_eq_mg:g} mg/day diazepam-equivalent.",
                )
            )
            continue
        total += equivalent
    if total > policy.benzodiazepine_diazepam_eq_mg:
        add(
            _finding(
                R_BENZO,
                Severity.INTERACTION,
                f"Benzodiazepines total {total:.1f} mg/day diazepam-equivalent, above "
                f"{policy.benzodiazepine_diazepam_eq_mg:g}: the antidepressant response may be blunted; consider "
                "reducing the dose or holding it on dosing days.",
            )
        )


def _assess_diagnosis(intake: Intake, add: _Add) -> None:
    if not intake.diagnoses:
        add(_finding(R_DIAGNOSIS, Severity.MISSING, "Diagnosis not recorded."))
        return
    if not any(_MDD.fullmatch(code) for code in intake.diagnoses):
        add(
            _finding(
                R_DIAGNOSIS,
                Severity.EXCLUSION,
                f"No major depressive disorder diagnosis among {', '.join(intake.diagnoses)}: both indications "
                "are forms of MDD (F32.0–F32.5, F32.9, F33.x).",
            )
        )
    if psychotic := sorted(_PSYCHOTIC_FEATURES & set(intake.diagnoses)):
        add(
            _finding(
                R_DIAGNOSIS,
                Severity.EXCLUSION,
                f"{', '.join(psychotic)}: depression with psychotic features is treated as current psychosis.",
            )
        )


def _assess_trd(intake: Intake, trd: TrdAssessment, policy: ClinicPolicy, add: _Add) -> None:
    if intake.antidepressant_trials is None:
        add(_finding(R_TRD, Severity.MISSING, "Antidepressant trials in the current episode not recorded."))
        return
    if trd.met is False:
        add(
            _finding(
                R_TRD,
                Severity.EXCLUSION,
                f"Treatment resistance not established: {len(trd.failed_drugs)} of the "
                f"{trd.required_failures} required adequate antidepressant trials failed in the current episode.",
            )
        )
        return
    if trd.met is None:
        for trial in intake.antidepressant_trials:
            if _norm(trial.drug) in trd.undetermined_drugs:
                for message in _trial_gaps(trial, policy):
                    add(_finding(R_TRD, Severity.MISSING, message))


def _assess_mdsi(intake: Intake, esketamine: bool, add: _Add) -> None:
    if intake.acute_suicidal_ideation is None:
        add(
            _finding(
                R_MDSI, Severity.MISSING, "Whether there is current suicidal ideation or behaviour is not recorded."
            )
        )
    elif not intake.acute_suicidal_ideation:
        add(
            _finding(
                R_MDSI,
                Severity.EXCLUSION,
                "No current suicidal ideation or behaviour: the MDSI indication does not apply.",
            )
        )
    meds = intake.medications
    if esketamine and meds is not None and not any(m.drug_class in ANTIDEPRESSANT_CLASSES for m in meds):
        add(
            _finding(
                R_MDSI,
                Severity.PRECAUTION,
                "No oral antidepressant listed: esketamine for MDSI is given with an oral antidepressant.",
            )
        )


# --- TRD and staging -------------------------------------------------------------------------------------------------


class _Status(StrEnum):
    # Ordered by precedence when one drug was tried more than once: any failure counts.
    FAILED = "failed"
    UNKNOWN = "unknown"
    NOT_FAILED = "not_failed"  # inadequate trial, or a response


def _trial_status(trial: AntidepressantTrial, policy: ClinicPolicy) -> _Status:
    """Whether the trial counts as an adequate failed trial; unknown only if recording the gaps could change it."""
    weeks_known_short = trial.weeks is not None and trial.weeks < policy.trd_minimum_trial_weeks
    needs_weeks = trial.drug_class is not DrugClass.ECT  # an ECT course's adequacy is judged by the clinician
    if (
        trial.adequate_dose is False
        or (needs_weeks and weeks_known_short)
        or (trial.improvement_pct is not None and trial.improvement_pct > policy.trd_maximum_improvement_pct)
    ):
        return _Status.NOT_FAILED
    if trial.adequate_dose is None or trial.improvement_pct is None or (needs_weeks and trial.weeks is None):
        return _Status.UNKNOWN
    return _Status.FAILED


def _trial_gaps(trial: AntidepressantTrial, policy: ClinicPolicy) -> list[str]:
    gaps = []
    if trial.adequate_dose is None:
        gaps.append(f"Whether the dose of {trial.drug} was adequate is not recorded.")
    if trial.weeks is None:
        gaps.append(
            f"Weeks on {trial.drug} at an adequate dose not recorded (at least "
            f"{policy.trd_minimum_trial_weeks:g} are needed)."
        )
    if trial.improvement_pct is None:
        gaps.append(f"Improvement on {trial.drug} not recorded.")
    return gaps


def assess_trd(trials: Iterable[AntidepressantTrial], *, policy: ClinicPolicy | None = None) -> TrdAssessment:
    """Treatment resistance from the trials of the current episode, per the clinic's TRD settings.

    Only antidepressant classes count (not ECT or augmentation); a drug tried twice counts once, as failed if any
    of its trials failed. ``met`` is ``None`` when completing unrecorded trial data could change the answer.
    """
    policy = policy or DEFAULT_POLICY
    required = int(policy.trd_minimum_failed_trials)
    status: dict[str, _Status] = {}
    for trial in trials:
        if not trial.current_episode or trial.drug_class not in ANTIDEPRESSANT_CLASSES:
            continue
        drug, now = _norm(trial.drug), _trial_status(trial, policy)
        before = status.get(drug, _Status.NOT_FAILED)
        status[drug] = min(before, now, key=lambda s: list(_Status).index(s))
    failed = tuple(sorted(d for d, s in status.items() if s is _Status.FAILED))
    unknown = tuple(sorted(d for d, s in status.items() if s is _Status.UNKNOWN))
    met: bool | None
    if len(failed) >= required:
        met, unknown = True, ()
    elif len(failed) + len(unknown) < required:
        met, unknown = False, ()
    else:
        met = None
    definition = (
        f"≥{required} distinct antidepressants at an adequate dose for ≥{policy.trd_minimum_trial_weeks:g} "
        f"weeks with ≤{policy.trd_maximum_improvement_pct:g} % improvement in the current episode"
    )
    return TrdAssessment(met, failed, unknown, required, definition)


def thase_rush_stage(trials: Iterable[AntidepressantTrial], *, policy: ClinicPolicy | None = None) -> ThaseRushStage:
    """Thase–Rush stage from the adequate failed trials (and ECT courses) of the current episode.

    Trials with unrecorded data are not counted, so the stage is a lower bound until the intake is complete.
    """
    policy = policy or DEFAULT_POLICY
    classes = {
        t.drug_class
        for t in trials
        if t.current_episode
        and t.drug_class is not DrugClass.AUGMENTATION
        and _trial_status(t, policy) is _Status.FAILED
    }
    antidepressants = classes & ANTIDEPRESSANT_CLASSES
    if not antidepressants:
        return ThaseRushStage.STAGE_0
    if len(antidepressants) < 2:
        return ThaseRushStage.STAGE_I
    others = antidepressants - {DrugClass.TCA, DrugClass.MAOI}
    if DrugClass.TCA not in antidepressants or len(others) < 2:
        return ThaseRushStage.STAGE_II
    if DrugClass.MAOI not in antidepressants:
        return ThaseRushStage.STAGE_III
    if DrugClass.ECT not in classes:
        return ThaseRushStage.STAGE_IV
    return ThaseRushStage.STAGE_V
