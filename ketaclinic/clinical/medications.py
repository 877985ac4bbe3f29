"""Drug classes that matter to ketamine treatment, and diazepam equivalents of benzodiazepines and Z-drugs.

The catalogue maps common generic names to the class that drives a rule: antidepressant classes for treatment
resistance and Thase–Rush staging, and interacting classes (benzodiazepines, MAOIs, psychostimulants, theophylline …)
for eligibility findings. A medication whose declared class contradicts the catalogue is rejected: recording
phenelzine as "other" would hide the MAOI blood-pressure interaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from ketaclinic.clinical.rules import rule
from ketaclinic.clinical.sources import Evidence, cite
from ketaclinic.clinical.vitals import in_range


class DrugClass(StrEnum):
    """The class of a medication or treatment, as the eligibility rules use it."""

    # Antidepressant classes (Thase–Rush counts failures by class).
    SSRI = "ssri"
    SNRI = "snri"
    TCA = "tca"
    MAOI = "maoi"
    BUPROPION = "bupropion"
    MIRTAZAPINE = "mirtazapine"
    SEROTONIN_MODULATOR = "serotonin_modulator"  # trazodone, nefazodone, vilazodone, vortioxetine
    OTHER_ANTIDEPRESSANT = "other_antidepressant"
    ECT = "ect"  # electroconvulsive therapy, recorded as a "trial" for staging
    AUGMENTATION = "augmentation"  # antipsychotic, lithium, thyroid augmentation: not an antidepressant trial
    # Classes that interact with ketamine or esketamine.
    BENZODIAZEPINE = "benzodiazepine"
    Z_DRUG = "z_drug"  # non-benzodiazepine sedative-hypnotic
    OPIOID = "opioid"
    OTHER_SEDATIVE = "other_sedative"  # barbiturates, sedating antihistamines, gabapentinoids …
    PSYCHOSTIMULANT = "psychostimulant"
    LAMOTRIGINE = "lamotrigine"
    METHYLXANTHINE = "methylxanthine"  # theophylline, aminophylline
    SYMPATHOMIMETIC = "sympathomimetic"
    NASAL_CORTICOSTEROID = "nasal_corticosteroid"
    NASAL_DECONGESTANT = "nasal_decongestant"
    CYP_INDUCER = "cyp_inducer"  # CYP3A4/CYP2B6 inducers lower ketamine exposure
    CYP_INHIBITOR = "cyp_inhibitor"  # CYP3A4/CYP2B6 inhibitors raise ketamine exposure
    OTHER = "other"


#: Classes that count as an antidepressant trial for treatment resistance.
ANTIDEPRESSANT_CLASSES: frozenset[DrugClass] = frozenset(
    {
        DrugClass.SSRI,
        DrugClass.SNRI,
        DrugClass.TCA,
        DrugClass.MAOI,
        DrugClass.BUPROPION,
        DrugClass.MIRTAZAPINE,
        DrugClass.SEROTONIN_MODULATOR,
        DrugClass.OTHER_ANTIDEPRESSANT,
    }
)

#: Classes whose sedative effect adds to ketamine's (closely monitor sedation and breathing).
CNS_DEPRESSANT_CLASSES: frozenset[DrugClass] = frozenset(
    {DrugClass.BENZODIAZEPINE, DrugClass.Z_DRUG, DrugClass.OPIOID, DrugClass.OTHER_SEDATIVE}
)

_CATALOGUE: dict[DrugClass, tuple[str, ...]] = {
    DrugClass.SSRI: ("citalopram", "escitalopram", "fluoxetine", "fluvoxamine", "paroxetine", "sertraline"),
    DrugClass.SNRI: ("desvenlafaxine", "duloxetine", "levomilnacipran", "milnacipran", "venlafaxine"),
    DrugClass.TCA: (
        "amitriptyline",
        "amoxapine",
        "clomipramine",
        "desipramine",
        "dosulepin",
        "doxepin",
        "imipramine",
        "lofepramine",
        "nortriptyline",
        "protriptyline",
        "trimipramine",
    ),
    DrugClass.MAOI: ("isocarboxazid", "moclobemide", "phenelzine", "selegiline", "tranylcypromine"),
    DrugClass.BUPROPION: ("bupropion",),
    DrugClass.MIRTAZAPINE: ("mirtazapine",),
    DrugClass.SEROTONIN_MODULATOR: ("nefazodone", "trazodone", "vilazodone", "vortioxetine"),
    DrugClass.OTHER_ANTIDEPRESSANT: ("agomelatine", "reboxetine"),
    DrugClass.ECT: ("ect", "electroconvulsive therapy"),
    DrugClass.AUGMENTATION: (
        "aripiprazole",
        "brexpiprazole",
        "cariprazine",
        "lithium",
        "liothyronine",
        "olanzapine",
        "quetiapine",
        "risperidone",
    ),
    DrugClass.BENZODIAZEPINE: (
        "alprazolam",
        "bromazepam",
        "chlordiazepoxide",
        "clobazam",
        "clonazepam",
        "clorazepate",
        "diazepam",
        "estazolam",
        "flurazepam",
        "lorazepam",
        "lormetazepam",
        "midazolam",
        "nitrazepam",
        "oxazepam",
        "quazepam",
        "temazepam",
        "triazolam",
    ),
    DrugClass.Z_DRUG: ("eszopiclone", "zaleplon", "zolpidem", "zopiclone"),
    DrugClass.OPIOID: (
        "buprenorphine",
        "codeine",
        "fentanyl",
        "hydrocodone",
        "hydromorphone",
        "methadone",
        "morphine",
        "oxycodone",
        "tapentadol",
        "tramadol",
    ),
    DrugClass.OTHER_SEDATIVE: ("butalbital", "gabapentin", "phenobarbital", "pregabalin", "promethazine"),
    DrugClass.PSYCHOSTIMULANT: (
        "amphetamine",
        "armodafinil",
        "dexmethylphenidate",
        "dextroamphetamine",
        "lisdexamfetamine",
        "methylphenidate",
        "modafinil",
    ),
    DrugClass.LAMOTRIGINE: ("lamotrigine",),
    DrugClass.METHYLXANTHINE: ("aminophylline", "theophylline"),
    DrugClass.SYMPATHOMIMETIC: (
        "ephedrine",
        "epinephrine",
        "midodrine",
        "norepinephrine",
        "phenylephrine",
        "vasopressin",
    ),
    DrugClass.NASAL_CORTICOSTEROID: (
        "beclomethasone nasal",
        "budesonide nasal",
        "fluticasone nasal",
        "mometasone nasal",
    ),
    DrugClass.NASAL_DECONGESTANT: ("oxymetazoline", "xylometazoline"),
    DrugClass.CYP_INDUCER: ("carbamazepine", "phenytoin", "rifampicin", "rifampin", "st john's wort"),
    DrugClass.CYP_INHIBITOR: ("clarithromycin", "itraconazole", "ketoconazole", "ritonavir", "ticlopidine"),
}

#: Generic name (lower case) → class.
DRUG_CLASSES: Mapping[str, DrugClass] = {name: cls for cls, names in _CATALOGUE.items() for name in names}

#: Milligrams of oral diazepam equivalent to 1 mg of each drug. Where Ashton gives a range, the larger equivalent
#: is used (e.g. bromazepam 5 mg ≈ diazepam 10 mg, not 6 mg): a higher estimate flags the blunting precaution
#: sooner, which is the safer error.
DIAZEPAM_EQUIVALENT_PER_MG: Mapping[str, float] = {
    "alprazolam": 20.0,  # 0.5 mg ≈ diazepam 10 mg
    "bromazepam": 2.0,  # 5–6 mg
    "chlordiazepoxide": 0.4,  # 25 mg
    "clobazam": 0.5,  # 20 mg
    "clonazepam": 20.0,  # 0.5 mg
    "clorazepate": 10 / 15,  # 15 mg
    "diazepam": 1.0,
    "estazolam": 10.0,  # 1–2 mg
    "flurazepam": 10 / 15,  # 15–30 mg
    "lorazepam": 10.0,  # 1 mg
    "lormetazepam": 10.0,  # 1–2 mg
    "midazolam": 2.0,  # WHO 2009 table: 2.5 mg ≈ diazepam 5 mg (not in Ashton's oral table)
    "nitrazepam": 1.0,  # 10 mg
    "oxazepam": 0.5,  # 20 mg (other tables: 30 mg; the larger equivalent is kept)
    "quazepam": 0.5,  # 20 mg
    "temazepam": 0.5,  # 20 mg
    "triazolam": 20.0,  # 0.5 mg
    "zaleplon": 0.5,  # 20 mg
    "zolpidem": 0.5,  # 20 mg
    "zopiclone": 10 / 15,  # 15 mg
}

DIAZEPAM_EQUIVALENCE_RULE = rule(
    "medications.diazepam_equivalents",
    area="medications",
    title="Daily benzodiazepine and Z-drug doses are summed as diazepam equivalents",
    statement="Each benzodiazepine or Z-drug daily dose is converted to oral diazepam milligrams with the Ashton "
    "table (e.g. lorazepam ×10, clonazepam ×20, alprazolam ×20, oxazepam ×0.5, temazepam ×0.5, chlordiazepoxide "
    "×0.4) and the total compared with the clinic's benzodiazepine threshold.",
    citations=(
        cite("R26", "diazepam-equivalent doses (Andrashko 2020); conversion table: Ashton, benzo.org.uk/bzequiv.htm"),
        cite("R51", "lorazepam-equivalent threshold"),
    ),
    evidence=Evidence.BEST_KNOWLEDGE,
    note="Equivalences are approximate and differ between tables (VA/DoD: lorazepam 2 mg ≈ diazepam 10 mg); where "
    "Ashton gives a range the larger diazepam equivalent is used so the precaution is raised sooner. Z-drugs act "
    "at the same GABA-A site and are included. The Ashton table (revised 2007, "
    "https://www.benzo.org.uk/bzequiv.htm) is not in the reference dossier: verify before relying on it.",
)


def drug_class_of(name: str) -> DrugClass | None:
    """The catalogue class of a generic drug name (case and surrounding spaces ignored), or ``None`` if unknown."""
    return DRUG_CLASSES.get(name.strip().lower())


def diazepam_equivalent_mg(name: str, daily_dose_mg: float) -> float | None:
    """Daily oral diazepam-equivalent of ``daily_dose_mg`` of ``name``; ``None`` when the table lacks the drug."""
    factor = DIAZEPAM_EQUIVALENT_PER_MG.get(name.strip().lower())
    return None if factor is None else factor * daily_dose_mg


@dataclass(frozen=True)
class Medication:
    """A current medication: generic name, class, and total daily dose in mg (``None`` if not recorded).

    ``as_needed`` marks PRN use; its ``daily_dose_mg`` should be the usual daily amount actually taken.
    Construction raises ``ValueError`` for an empty name, a dose that is not a positive number, or a class that
    contradicts the catalogue for a known drug.
    """

    name: str
    drug_class: DrugClass
    daily_dose_mg: float | None = None
    as_needed: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise ValueError("name: a medication needs its generic name")
        object.__setattr__(self, "drug_class", _drug_class("drug_class", self.drug_class))
        expected = drug_class_of(self.name)
        if expected is not None and expected != self.drug_class:
            raise ValueError(f"drug_class: {self.name} is {expected.value}, not {self.drug_class.value}")
        if self.daily_dose_mg is not None:
            object.__setattr__(
                self, "daily_dose_mg", in_range("daily_dose_mg", self.daily_dose_mg, 0.001, 100_000, "mg")
            )

    @classmethod
    def named(cls, name: str, daily_dose_mg: float | None = None, *, as_needed: bool = False) -> Medication:
        """A medication whose class is looked up in the catalogue; an unknown name raises ``ValueError``."""
        found = drug_class_of(name)
        if found is None:
            raise ValueError(f"name: {name!r} is not in the drug catalogue; give its drug_class explicitly")
        return cls(name, found, daily_dose_mg, as_needed)


def _drug_class(field: str, value: object) -> DrugClass:
    """``value`` as a :class:`DrugClass`, accepting its string value; anything else raises ``ValueError``."""
    try:
        if not isinstance(value, str):
            raise ValueError
        return DrugClass(value)
    except ValueError:
        raise ValueError(f"{field}: {value!r} is not a drug class; allowed: {', '.join(DrugClass)}") from None
