"""CPT/HCPCS codes for a dosing session.

Codes follow the descriptors in the clinic's reference dossier (§6.5). Payers differ; every line carries its
source and evidence level so a biller can see which codes are verified and which need checking with the payer.
"""

from __future__ import annotations

from dataclasses import dataclass

from ketaclinic.clinical.protocols import Route, parse_enum
from ketaclinic.clinical.rules import Rule, rule
from ketaclinic.clinical.sources import Citation, Evidence, cite
from ketaclinic.clinical.vitals import number


@dataclass(frozen=True)
class BillingLine:
    """One code to report, with its units and description."""

    code: str
    units: int
    description: str
    citations: tuple[Citation, ...]
    evidence: Evidence


R_INFUSION = rule(
    "billing.iv_infusion",
    area="billing",
    title="IV infusion codes by infusion time",
    statement="Under 16 min → 96374 (IV push). 16 min up to 90 min → 96365. Each further hour → +96366 when more than "
    "30 min of it is used: 91–150 min → 96365 + 96366×1, 151–210 min → ×2, and so on.",
    citations=(cite("R48", "96365 initial up to 1 h (≥16 min; ≤15 min → 96374); +96366 each additional hour >30 min"),),
    note="The dossier's text says the extra interval must be more than 30 min while its example counts 1:30; AMA and "
    "CMS count a unit once the midpoint is passed (31 min), so 90 min bills 96365 only — the conservative reading "
    "that avoids over-billing.",
)
R_IM = rule(
    "billing.im_injection",
    area="billing",
    title="IM injection code",
    statement="An IM ketamine dose → 96372 (therapeutic injection, SC or IM).",
    citations=(cite("R48", "CPT descriptors"),),
    evidence=Evidence.BEST_KNOWLEDGE,
    note="Verify with the payer.",
)
R_DRUG = rule(
    "billing.racemic_drug",
    area="billing",
    title="Racemic ketamine drug code",
    statement="Racemic ketamine supplied for an IV or IM dose → J3490 (unclassified drugs).",
    citations=(cite("R48", "HCPCS descriptors"),),
    evidence=Evidence.BEST_KNOWLEDGE,
    note="Payers differ; verify.",
)
R_ESKETAMINE = rule(
    "billing.esketamine",
    area="billing",
    title="Esketamine supervision codes",
    statement="Supervised esketamine self-administration with 2 h observation (established patients): up to 56 mg → "
    "G2082; more than 56 mg → G2083.",
    citations=(cite("R48", "G2082 up to 56 mg; G2083 greater than 56 mg; includes 2 h observation"),),
)

_INFUSION_MIN = 16  # 96365 needs at least 16 minutes; anything shorter is a push
_MAX_INFUSION_MIN = 24 * 60


def _line(r: Rule, code: str, units: int, description: str) -> BillingLine:
    return BillingLine(code, units, description, r.citations, r.evidence)


def infusion_additional_hours(infusion_minutes: float) -> int:
    """Units of +96366 for an infusion of ``infusion_minutes``: hours after the first, each counted when >30 min."""
    extra = max(0.0, infusion_minutes - 60)
    full, part = divmod(extra, 60)
    return int(full) + (1 if part > 30 else 0)


def billing_codes(
    route: str,
    *,
    infusion_minutes: float | None = None,
    esketamine_dose_mg: float | None = None,
) -> list[BillingLine]:
    """The codes to report for one session given by ``route``.

    IV needs ``infusion_minutes`` (above 0, at most 1440); esketamine needs ``esketamine_dose_mg`` (28, 56 or 84).
    A value given for a route it does not apply to raises ``ValueError``, as do missing or out-of-range values.
    Routes with no administration code (sublingual, oral, rectal, racemic intranasal) return an empty list.
    """
    how = parse_enum(Route, "route", route)
    if infusion_minutes is not None and how is not Route.IV:
        raise ValueError(f"infusion_minutes: applies only to route iv, not {how.value}")
    if esketamine_dose_mg is not None and how is not Route.ESKETAMINE_NASAL:
        raise ValueError(f"esketamine_dose_mg: applies only to route esketamine_nasal, not {how.value}")

    if how is Route.IV:
        if infusion_minutes is None:
            raise ValueError("infusion_minutes: required for route iv")
        minutes = number("infusion_minutes", infusion_minutes)
        if not 0 < minutes <= _MAX_INFUSION_MIN:
            raise ValueError(
                f"infusion_minutes: {minutes:g} is outside the allowed range: above 0 and at most "
                f"{_MAX_INFUSION_MIN} min"
            )
        drug = _line(R_DRUG, "J3490", 1, "Ketamine (unclassified drug)")
        if minutes < _INFUSION_MIN:
            return [_line(R_INFUSION, "96374", 1, "IV push, single or initial substance/drug"), drug]
        lines = [_line(R_INFUSION, "96365", 1, "IV infusion for therapy, initial, up to 1 hour")]
        if extra := infusion_additional_hours(minutes):
            lines.append(_line(R_INFUSION, "96366", extra, "IV infusion for therapy, each additional hour"))
        return [*lines, drug]
    if how is Route.IM:
        return [
            _line(R_IM, "96372", 1, "Therapeutic injection, subcutaneous or intramuscular"),
            _line(R_DRUG, "J3490", 1, "Ketamine (unclassified drug)"),
        ]
    if how is Route.ESKETAMINE_NASAL:
        if esketamine_dose_mg is None:
            raise ValueError("esketamine_dose_mg: required for route esketamine_nasal")
        amount = number("esketamine_dose_mg", esketamine_dose_mg)
        if amount not in (28, 56, 84):
            raise ValueError(f"esketamine_dose_mg: {amount:g} is not allowed; allowed: 28, 56, 84 mg")
        if amount <= 56:
            return [
                _line(
                    R_ESKETAMINE,
                    "G2082",
                    1,
                    "Esketamine self-administration up to 56 mg, supervised, with "
                    "2 h observation (established patient)",
                )
            ]
        return [
            _line(
                R_ESKETAMINE,
                "G2083",
                1,
                "Esketamine self-administration over 56 mg, supervised, with 2 h observation (established patient)",
            )
        ]
    return []
