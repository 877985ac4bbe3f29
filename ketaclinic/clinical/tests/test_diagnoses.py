from __future__ import annotations

import pytest

from ketaclinic.clinical.diagnoses import ICD10_CODES, lookup_icd10
from ketaclinic.clinical.sources import Evidence


@pytest.mark.parametrize(("typed", "code"), [("F33.2", "F33.2"), (" f33.2 ", "F33.2"), ("f32.a", "F32.A")])
def test_it_finds_catalogued_codes_whatever_the_case(typed: str, code: str) -> None:
    assert lookup_icd10(typed).code == code


def test_it_refuses_unknown_codes_naming_the_field() -> None:
    with pytest.raises(ValueError, match=r"icd10_code: 'F33\.22' is not a catalogued ICD-10-CM code"):
        lookup_icd10("F33.22")


def test_depressive_codes_say_which_episode() -> None:
    assert lookup_icd10("F33.2").episode == "recurrent"
    assert lookup_icd10("F32.1").episode == "single"
    assert lookup_icd10("F41.1").episode == "n/a"


def test_unverified_codes_are_marked_best_knowledge() -> None:
    assert lookup_icd10("G43.909").evidence is Evidence.BEST_KNOWLEDGE
    assert lookup_icd10("F10.20").evidence is Evidence.PUBLISHED
    assert all(code == entry.code for code, entry in ICD10_CODES.items())
