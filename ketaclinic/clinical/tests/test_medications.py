"""The drug-class catalogue and diazepam equivalents."""

from __future__ import annotations

import pytest

from ketaclinic.clinical.medications import (
    DIAZEPAM_EQUIVALENT_PER_MG,
    DRUG_CLASSES,
    DrugClass,
    Medication,
    diazepam_equivalent_mg,
    drug_class_of,
)


@pytest.mark.parametrize(
    ("name", "cls"),
    [
        ("Sertraline", DrugClass.SSRI),
        (" phenelzine ", DrugClass.MAOI),
        ("theophylline", DrugClass.METHYLXANTHINE),
        ("lorazepam", DrugClass.BENZODIAZEPINE),
        ("zolpidem", DrugClass.Z_DRUG),
        ("unknownol", None),
    ],
)
def test_it_classifies_generic_names(name, cls) -> None:
    assert drug_class_of(name) is cls


@pytest.mark.parametrize(
    ("name", "daily", "diazepam"),
    [
        ("diazepam", 10, 10),
        ("lorazepam", 1, 10),
        ("clonazepam", 0.5, 10),
        ("alprazolam", 0.5, 10),
        ("oxazepam", 20, 10),
        ("temazepam", 20, 10),
        ("chlordiazepoxide", 25, 10),
        ("zopiclone", 15, 10),
    ],
)
def test_it_converts_to_diazepam_equivalents(name, daily, diazepam) -> None:
    assert diazepam_equivalent_mg(name, daily) == pytest.approx(diazepam)


def test_it_has_no_equivalent_for_unlisted_drugs() -> None:
    assert diazepam_equivalent_mg("etizolam", 1) is None


def test_it_covers_every_catalogued_benzodiazepine_and_z_drug_but_eszopiclone() -> None:
    sedatives = {n for n, c in DRUG_CLASSES.items() if c in (DrugClass.BENZODIAZEPINE, DrugClass.Z_DRUG)}
    assert sedatives - set(DIAZEPAM_EQUIVALENT_PER_MG) == {"eszopiclone"}


def test_it_builds_medications_from_the_catalogue() -> None:
    med = Medication.named("Lorazepam", 2, as_needed=True)
    assert (med.drug_class, med.daily_dose_mg, med.as_needed) == (DrugClass.BENZODIAZEPINE, 2.0, True)
    assert Medication("new drug", "other", None).drug_class is DrugClass.OTHER  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("", DrugClass.SSRI), "name: a medication needs its generic name"),
        ((None, DrugClass.SSRI), "name: a medication needs its generic name"),
        (("phenelzine", DrugClass.OTHER), "drug_class: phenelzine is maoi, not other"),
        (("x", "pill"), "drug_class: 'pill' is not a drug class; allowed: ssri"),
        (("x", 3), "drug_class: 3 is not a drug class"),
        (("x", DrugClass.OTHER, 0), "daily_dose_mg: 0 is outside the allowed range"),
        (("x", DrugClass.OTHER, "5"), "daily_dose_mg: must be a number"),
    ],
)
def test_it_rejects_invalid_medications(args, message) -> None:
    with pytest.raises(ValueError, match=message):
        Medication(*args)


def test_it_refuses_to_guess_the_class_of_an_unknown_name() -> None:
    with pytest.raises(ValueError, match="name: 'unknownol' is not in the drug catalogue; give its drug_class"):
        Medication.named("unknownol")
