"""CPT/HCPCS codes for dosing sessions."""

from __future__ import annotations

import pytest

from ketaclinic.clinical.billing import billing_codes, infusion_additional_hours
from ketaclinic.clinical.sources import Evidence


def _codes(lines) -> list[tuple[str, int]]:
    return [(line.code, line.units) for line in lines]


@pytest.mark.parametrize(
    ("minutes", "expected"),
    [
        (1, [("96374", 1)]),
        (15, [("96374", 1)]),
        (15.5, [("96374", 1)]),
        (16, [("96365", 1)]),
        (40, [("96365", 1)]),
        (60, [("96365", 1)]),
        (89, [("96365", 1)]),
        (90, [("96365", 1)]),
        (91, [("96365", 1), ("96366", 1)]),
        (149, [("96365", 1), ("96366", 1)]),
        (150, [("96365", 1), ("96366", 1)]),
        (151, [("96365", 1), ("96366", 2)]),
        (211, [("96365", 1), ("96366", 3)]),
        (1440, [("96365", 1), ("96366", 23)]),
    ],
)
def test_it_codes_iv_infusions_by_time(minutes, expected) -> None:
    lines = billing_codes("iv", infusion_minutes=minutes)
    assert _codes(lines) == [*expected, ("J3490", 1)]
    assert all(line.citations and line.description for line in lines)
    assert lines[-1].evidence is Evidence.BEST_KNOWLEDGE


@pytest.mark.parametrize(("minutes", "units"), [(0, 0), (60, 0), (90, 0), (90.5, 1), (150, 1), (150.5, 2)])
def test_it_counts_additional_hours_only_past_the_midpoint(minutes, units) -> None:
    assert infusion_additional_hours(minutes) == units


@pytest.mark.parametrize(("amount", "code"), [(28, "G2082"), (56, "G2082"), (84, "G2083")])
def test_it_codes_esketamine_by_dose(amount, code) -> None:
    (line,) = billing_codes("esketamine_nasal", esketamine_dose_mg=amount)
    assert (line.code, line.units, line.evidence) == (code, 1, Evidence.PUBLISHED)
    assert "2 h observation" in line.description


def test_it_codes_im_injections_as_best_knowledge() -> None:
    lines = billing_codes("im")
    assert _codes(lines) == [("96372", 1), ("J3490", 1)]
    assert {line.evidence for line in lines} == {Evidence.BEST_KNOWLEDGE}


@pytest.mark.parametrize("route", ["sublingual", "oral", "rectal", "intranasal"])
def test_it_returns_no_codes_for_routes_without_an_administration_code(route) -> None:
    assert billing_codes(route) == []


@pytest.mark.parametrize(
    ("route", "kwargs", "message"),
    [
        ("iv", {}, "infusion_minutes: required for route iv"),
        ("iv", {"infusion_minutes": 0}, "infusion_minutes: 0 is outside the allowed range: above 0 and at most 1440"),
        ("iv", {"infusion_minutes": 1441}, "infusion_minutes: 1441 is outside"),
        ("iv", {"infusion_minutes": "40"}, "infusion_minutes: must be a number"),
        ("im", {"infusion_minutes": 40}, "infusion_minutes: applies only to route iv, not im"),
        ("iv", {"infusion_minutes": 40, "esketamine_dose_mg": 56}, "esketamine_dose_mg: applies only to route"),
        ("esketamine_nasal", {}, "esketamine_dose_mg: required for route esketamine_nasal"),
        ("esketamine_nasal", {"esketamine_dose_mg": 60}, "esketamine_dose_mg: 60 is not allowed; allowed: 28, 56, 84"),
        ("nasal", {}, "route: 'nasal' is not allowed"),
    ],
)
def test_it_rejects_invalid_billing_input(route, kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        billing_codes(route, **kwargs)
