"""Approximate dose equivalence between routes of ketamine, always as a range.

Each route has a range of IV-equivalent fractions: the share of a milligram given by that route that acts like a
milligram of IV racemic ketamine. For racemic routes this is the bioavailability range (ASKP3 table). Esketamine is a
different molecule: its ~48 % bioavailability alone would make 84 mg ≈ 40 mg IV, while the clinical anchors in the
same table put 56 mg ≈ 0.5 mg/kg and 84 mg ≈ 1 mg/kg IV (35 and 70 mg at 70 kg); its range spans both readings.

A conversion multiplies by the source route's fractions and divides by the target's, taking the extremes, and rounds
outwards to 0.1 mg — so the true value under the stated assumptions is always inside the range, and no single
figure is ever presented as an equivalence.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from ketaclinic.clinical.protocols import Route, parse_enum
from ketaclinic.clinical.rules import rule
from ketaclinic.clinical.sources import Citation, Evidence, cite
from ketaclinic.clinical.vitals import number


@dataclass(frozen=True)
class RouteFraction:
    """IV-equivalent fraction range of a route, with the caveat that goes with it."""

    route: Route
    low: float
    high: float
    caveat: str


@dataclass(frozen=True)
class DoseRange:
    """An approximate equivalent dose by ``to_route`` of ``amount_mg`` by ``from_route``: ``low_mg`` ≤ ``high_mg``."""

    amount_mg: float
    from_route: Route
    to_route: Route
    low_mg: float
    high_mg: float
    caveats: tuple[str, ...]
    citations: tuple[Citation, ...]
    evidence: Evidence


ROUTE_FRACTIONS: Mapping[Route, RouteFraction] = {
    f.route: f
    for f in (
        RouteFraction(Route.IV, 1.0, 1.0, "IV is the reference (100 % bioavailable)."),
        RouteFraction(
            Route.IM, 0.93, 0.93, "IM bioavailability ~93 %; published tables differ (~33–38 mg ≈ 35 mg IV)."
        ),
        RouteFraction(
            Route.INTRANASAL,
            0.40,
            0.50,
            "Intranasal racemic absorption is variable (40–50 %) and depends on technique and nasal mucosa.",
        ),
        RouteFraction(
            Route.ESKETAMINE_NASAL,
            0.48,
            70 / 84,
            "Esketamine is a different molecule from racemic ketamine: bioavailability ~48 %, but the label doses "
            "were anchored clinically at 56 mg ≈ 0.5 mg/kg IV and 84 mg ≈ 1 mg/kg IV; conversions to or from "
            "racemic ketamine are approximate.",
        ),
        RouteFraction(
            Route.SUBLINGUAL,
            0.25,
            0.40,
            "Sublingual bioavailability 25–40 %; much of the dose is swallowed and absorbed orally.",
        ),
        RouteFraction(Route.RECTAL, 0.25, 0.40, "Rectal bioavailability 25–40 %."),
        RouteFraction(
            Route.ORAL,
            0.15,
            0.25,
            "Oral bioavailability 15–25 % after first-pass metabolism; more norketamine is formed, so effects differ "
            "from the same exposure given parenterally.",
        ),
    )
}

GENERAL_CAVEAT = (
    "Bioavailability-based estimate, not an established clinical equivalence: start at the low end and titrate "
    "to response and tolerability."
)

#: Largest single amount accepted for conversion (well above any published dose: oral up to 300 mg fixed).
MAX_CONVERTIBLE_MG = 1000.0

EQUIVALENCE_RULE = rule(
    "equivalence.route_ranges",
    area="equivalence",
    title="Cross-route ketamine doses are given as ranges from bioavailability",
    statement="IV-equivalent fraction per route: IV 1.0; IM 0.93; intranasal racemic 0.40–0.50; esketamine nasal "
    "0.48–0.83 (bioavailability to the 84 mg ≈ 1 mg/kg IV anchor); sublingual 0.25–0.40; rectal 0.25–0.40; oral "
    "0.15–0.25. Equivalent dose = amount × source fraction ÷ target fraction, taking the extremes, rounded outwards "
    "to 0.1 mg.",
    citations=(
        cite("R16", "ASKP3 routes-of-administration table"),
        cite("R1", "mean absolute bioavailability ~48 %"),
        cite("R15", "Andrade 2019: oral 2.0–2.5 mg/kg ≈ IV 0.5 mg/kg"),
    ),
    note="The esketamine upper fraction (70/84) comes from the table's 84 mg ≈ 1 mg/kg IV at 70 kg; the range is "
    "deliberately wide because no single conversion factor is supported.",
)


def _floor(value: float) -> float:
    return math.floor(value * 10 + 1e-9) / 10


def _ceil(value: float) -> float:
    return math.ceil(value * 10 - 1e-9) / 10


def equivalent_dose(amount_mg: float, from_route: str, to_route: str) -> DoseRange:
    """The approximate range of ``to_route`` milligrams equivalent to ``amount_mg`` given by ``from_route``.

    Guarantees ``low_mg ≤ high_mg``, a range containing the exact value under the table's assumptions, and
    ``low_mg == high_mg == amount_mg`` for the same route. ``amount_mg`` must be above 0 and at most 1000 mg; an
    unknown route raises ``ValueError`` listing the routes.
    """
    amount = number("amount_mg", amount_mg)
    if not 0 < amount <= MAX_CONVERTIBLE_MG:
        raise ValueError(
            f"amount_mg: {amount:g} is outside the allowed range: above 0 and at most {MAX_CONVERTIBLE_MG:g} mg"
        )
    source = ROUTE_FRACTIONS[parse_enum(Route, "from_route", from_route)]
    target = ROUTE_FRACTIONS[parse_enum(Route, "to_route", to_route)]
    citations = EQUIVALENCE_RULE.citations
    if source.route is target.route:
        return DoseRange(amount, source.route, target.route, amount, amount, (), citations, EQUIVALENCE_RULE.evidence)
    low = _floor(amount * source.low / target.high)
    high = _ceil(amount * source.high / target.low)
    caveats = (GENERAL_CAVEAT, *(f.caveat for f in (source, target) if f.route is not Route.IV))
    return DoseRange(amount, source.route, target.route, low, high, caveats, citations, EQUIVALENCE_RULE.evidence)
