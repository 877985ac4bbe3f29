"""The rule catalogue: every clinical rule the system applies, with the sources it rests on.

Modules declare their rules at import time with :func:`rule`; :func:`catalogue` gathers them all. The generated
``docs/clinical-rules.md`` is rendered from this catalogue, so the documentation cannot drift from the code.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from ketaclinic.clinical.sources import Citation, Evidence

_REGISTRY: dict[str, Rule] = {}

#: Modules whose import registers rules; the catalogue imports them all so none is missed.
RULE_MODULES: tuple[str, ...] = (
    "ketaclinic.clinical.policy",
    "ketaclinic.clinical.instruments",
    "ketaclinic.clinical.outcomes",
    "ketaclinic.clinical.measurement",
    "ketaclinic.clinical.suicide_risk",
    "ketaclinic.clinical.eligibility",
    "ketaclinic.clinical.protocols",
    "ketaclinic.clinical.equivalence",
    "ketaclinic.clinical.safety",
    "ketaclinic.clinical.monitoring",
    "ketaclinic.clinical.billing",
    "ketaclinic.clinical.diagnoses",
)


@dataclass(frozen=True)
class Rule:
    """One clinical rule: what it says, which area it belongs to, and its sources."""

    id: str
    area: str
    title: str
    statement: str
    citations: tuple[Citation, ...]
    evidence: Evidence = Evidence.PUBLISHED
    note: str = ""


def rule(
    id: str,
    *,
    area: str,
    title: str,
    statement: str,
    citations: tuple[Citation, ...],
    evidence: Evidence = Evidence.PUBLISHED,
    note: str = "",
) -> Rule:
    """Declare a rule; ids are unique and every rule cites at least one source."""
    if not citations:
        raise ValueError(f"rule {id!r} has no citation")
    if id in _REGISTRY and _REGISTRY[id].statement != statement:
        raise ValueError(f"rule id {id!r} declared twice")
    declared = Rule(id, area, title, statement, citations, evidence, note)
    _REGISTRY[id] = declared
    return declared


class AreaRules:
    """Declares the rules of one area, prefixing their ids with it: ``AreaRules("safety")("alert.spo2", …)``."""

    def __init__(self, area: str) -> None:
        self.area = area

    def __call__(
        self,
        id: str,
        title: str,
        statement: str,
        citations: tuple[Citation, ...],
        evidence: Evidence = Evidence.PUBLISHED,
        note: str = "",
    ) -> Rule:
        return rule(
            f"{self.area}.{id}",
            area=self.area,
            title=title,
            statement=statement,
            citations=citations,
            evidence=evidence,
            note=note,
        )


def catalogue() -> list[Rule]:
    """Every declared rule, ordered by area then id."""
    for module in RULE_MODULES:
        importlib.import_module(module)
    return sorted(_REGISTRY.values(), key=lambda r: (r.area, r.id))
