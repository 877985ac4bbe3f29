"""The ICD-10-CM diagnoses a ketamine clinic records, with their descriptions and how firmly each code is sourced.

Intake accepts only codes in this catalogue, so a typo (``F33.22``) is caught at entry rather than silently
defeating the eligibility rules. Codes marked best-knowledge are listed in REFERENCE §6.4 as unverified: they are
accepted, and the catalogue says so.
"""

from __future__ import annotations

from dataclasses import dataclass

from ketaclinic.clinical.rules import rule
from ketaclinic.clinical.sources import Evidence, cite


@dataclass(frozen=True)
class Icd10Code:
    """One ICD-10-CM code the clinic may record."""

    code: str
    description: str
    group: str
    evidence: Evidence = Evidence.PUBLISHED
    episode: str = "n/a"  # "single", "recurrent" or "n/a": what a depressive-episode code says about the episode


_B = Evidence.BEST_KNOWLEDGE

_CODES: tuple[Icd10Code, ...] = (
    Icd10Code("F32.0", "Major depressive disorder, single episode, mild", "depression", episode="single"),
    Icd10Code("F32.1", "Major depressive disorder, single episode, moderate", "depression", episode="single"),
    Icd10Code(
        "F32.2",
        "Major depressive disorder, single episode, severe without psychotic features",
        "depression",
        episode="single",
    ),
    Icd10Code(
        "F32.3",
        "Major depressive disorder, single episode, severe with psychotic features",
        "depression",
        episode="single",
    ),
    Icd10Code(
        "F32.4", "Major depressive disorder, single episode, in partial remission", "depression", episode="single"
    ),
    Icd10Code("F32.5", "Major depressive disorder, single episode, in full remission", "depression", episode="single"),
    Icd10Code("F32.9", "Major depressive disorder, single episode, unspecified", "depression", episode="single"),
    Icd10Code("F32.81", "Premenstrual dysphoric disorder", "depression", _B),
    Icd10Code("F32.89", "Other specified depressive episodes", "depression", _B),
    Icd10Code("F32.A", "Depression, unspecified", "depression", _B),
    Icd10Code("F33.0", "Major depressive disorder, recurrent, mild", "depression", episode="recurrent"),
    Icd10Code("F33.1", "Major depressive disorder, recurrent, moderate", "depression", episode="recurrent"),
    Icd10Code(
        "F33.2",
        "Major depressive disorder, recurrent, severe without psychotic features",
        "depression",
        episode="recurrent",
    ),
    Icd10Code(
        "F33.3",
        "Major depressive disorder, recurrent, severe with psychotic symptoms",
        "depression",
        episode="recurrent",
    ),
    Icd10Code(
        "F33.40", "Major depressive disorder, recurrent, in remission, unspecified", "depression", episode="recurrent"
    ),
    Icd10Code(
        "F33.41", "Major depressive disorder, recurrent, in partial remission", "depression", episode="recurrent"
    ),
    Icd10Code("F33.42", "Major depressive disorder, recurrent, in full remission", "depression", episode="recurrent"),
    Icd10Code("F33.8", "Other recurrent depressive disorders", "depression", episode="recurrent"),
    Icd10Code("F33.9", "Major depressive disorder, recurrent, unspecified", "depression", episode="recurrent"),
    Icd10Code("F41.1", "Generalized anxiety disorder", "anxiety"),
    Icd10Code("F43.10", "Post-traumatic stress disorder, unspecified", "ptsd"),
    Icd10Code("F43.11", "Post-traumatic stress disorder, acute", "ptsd", _B),
    Icd10Code("F43.12", "Post-traumatic stress disorder, chronic", "ptsd", _B),
    Icd10Code("F42.2", "Mixed obsessional thoughts and acts", "ocd", _B),
    Icd10Code("F42.8", "Other obsessive-compulsive disorder", "ocd", _B),
    Icd10Code("F42.9", "Obsessive-compulsive disorder, unspecified", "ocd", _B),
    Icd10Code("F10.10", "Alcohol abuse, uncomplicated", "alcohol"),
    Icd10Code("F10.11", "Alcohol abuse, in remission", "alcohol", _B),
    Icd10Code("F10.20", "Alcohol dependence, uncomplicated", "alcohol"),
    Icd10Code("F10.21", "Alcohol dependence, in remission", "alcohol", _B),
    Icd10Code("G89.29", "Other chronic pain", "pain", _B),
    Icd10Code("G89.4", "Chronic pain syndrome", "pain", _B),
    Icd10Code("G43.909", "Migraine, unspecified, not intractable, without status migrainosus", "migraine", _B),
)

ICD10_CODES: dict[str, Icd10Code] = {c.code: c for c in _CODES}

ICD10_CATALOGUE_RULE = rule(
    "diagnoses.icd10_catalogue",
    area="diagnoses",
    title="Recordable ICD-10-CM diagnoses",
    statement=(
        "Diagnoses are recorded by ICD-10-CM code from a fixed catalogue: MDD single episode F32.0–F32.5, F32.9 and "
        "recurrent F33.0–F33.3, F33.40–F33.42, F33.8, F33.9; GAD F41.1; PTSD F43.10; alcohol use F10.10, F10.20; "
        "plus best-knowledge codes (F32.81, F32.89, F32.A, F43.11, F43.12, F42.x, F10.11, F10.21, G89.29, G89.4, "
        "G43.909). An unknown code is refused."
    ),
    citations=(cite("R49", "ICD-10-CM FY2026 F32/F33"), cite("R54", "public code lists")),
    note="Best-knowledge codes are accepted but flagged in the catalogue; verify them against CMS before billing.",
)


def lookup_icd10(code: str) -> Icd10Code:
    """The catalogue entry for ``code`` (case and surrounding spaces ignored); ``ValueError`` if not catalogued."""
    normalised = code.strip().upper().replace(" ", "")
    entry = ICD10_CODES.get(normalised)
    if entry is None:
        raise ValueError(
            f"icd10_code: {code!r} is not a catalogued ICD-10-CM code; use one such as F33.2 "
            f"({len(ICD10_CODES)} codes: F32.x, F33.x, F41.1, F43.1x, F42.x, F10.x, G89.x, G43.909)"
        )
    return entry
