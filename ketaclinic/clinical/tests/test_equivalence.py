"""Cross-route dose equivalence is always a range."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ketaclinic.clinical.equivalence import GENERAL_CAVEAT, ROUTE_FRACTIONS, equivalent_dose
from ketaclinic.clinical.protocols import Route

ROUTES = [r.value for r in Route]


@pytest.mark.parametrize(
    ("amount", "source", "target", "low", "high"),
    [
        (35, "iv", "im", 37.6, 37.7),
        (35, "iv", "intranasal", 70.0, 87.5),
        (35, "iv", "sublingual", 87.5, 140.0),
        (35, "iv", "rectal", 87.5, 140.0),
        (35, "iv", "oral", 140.0, 233.4),
        (56, "esketamine_nasal", "iv", 26.8, 46.7),
        (84, "esketamine_nasal", "iv", 40.3, 70.0),
        (200, "oral", "iv", 30.0, 50.0),
        (10, "sublingual", "iv", 2.5, 4.0),
    ],
)
def test_it_converts_with_the_bioavailability_table(amount, source, target, low, high) -> None:
    result = equivalent_dose(amount, source, target)
    assert (result.low_mg, result.high_mg) == (low, high)
    assert result.caveats[0] == GENERAL_CAVEAT and result.citations


def test_it_brackets_the_published_anchors() -> None:
    # ASKP3 (70 kg, 0.5 mg/kg IV = 35 mg): IN ~75 mg, SL ~100 mg, PO ~200 mg; esketamine 56 mg ≈ 35 mg IV.
    for route, anchor in (("intranasal", 75), ("sublingual", 100), ("oral", 200)):
        r = equivalent_dose(35, "iv", route)
        assert r.low_mg <= anchor <= r.high_mg
    r = equivalent_dose(56, "esketamine_nasal", "iv")
    assert r.low_mg <= 35 <= r.high_mg


def test_it_states_the_esketamine_caveat() -> None:
    caveats = " ".join(equivalent_dose(56, "esketamine_nasal", "iv").caveats)
    assert "different molecule" in caveats and "56 mg ≈ 0.5 mg/kg" in caveats


def test_it_returns_the_same_amount_for_the_same_route() -> None:
    r = equivalent_dose(50, "oral", "oral")
    assert (r.low_mg, r.high_mg, r.caveats) == (50, 50, ())


@pytest.mark.parametrize("amount", [0, -5, 1000.5, float("nan"), "10", True])
def test_it_rejects_invalid_amounts(amount) -> None:
    with pytest.raises(ValueError, match="amount_mg"):
        equivalent_dose(amount, "iv", "oral")


def test_it_rejects_unknown_routes() -> None:
    with pytest.raises(ValueError, match="from_route: 'nasal' is not allowed; allowed values are iv, im"):
        equivalent_dose(10, "nasal", "iv")
    with pytest.raises(ValueError, match="to_route: 3 is not allowed"):
        equivalent_dose(10, "iv", 3)  # type: ignore[arg-type]


def test_it_has_ordered_fractions_for_every_route() -> None:
    assert set(ROUTE_FRACTIONS) == set(Route)
    assert all(0 < f.low <= f.high <= 1 for f in ROUTE_FRACTIONS.values())


@given(st.floats(min_value=0.1, max_value=1000), st.sampled_from(ROUTES), st.sampled_from(ROUTES))
def test_it_always_returns_an_ordered_range(amount, source, target) -> None:
    r = equivalent_dose(amount, source, target)
    assert 0 <= r.low_mg <= r.high_mg


@given(st.floats(min_value=1, max_value=300), st.sampled_from(ROUTES), st.sampled_from(ROUTES))
def test_it_round_trips_consistently(amount, source, target) -> None:
    # Converting each end of the range back must bracket the original amount (allowing for 0.1 mg rounding).
    there = equivalent_dose(amount, source, target)
    if 0 < there.low_mg <= 1000:
        assert equivalent_dose(there.low_mg, target, source).low_mg <= amount + 0.1
    if there.high_mg <= 1000:
        assert equivalent_dose(there.high_mg, target, source).high_mg >= amount - 0.1


@given(
    st.floats(min_value=1, max_value=500),
    st.floats(min_value=0, max_value=100),
    st.sampled_from(ROUTES),
    st.sampled_from(ROUTES),
)
def test_it_never_lowers_the_range_for_a_larger_amount(amount, extra, source, target) -> None:
    small, large = equivalent_dose(amount, source, target), equivalent_dose(amount + extra, source, target)
    assert small.low_mg <= large.low_mg and small.high_mg <= large.high_mg
