"""The Kaplan–Meier estimator against hand-computed values (no Django)."""

from __future__ import annotations

import math

import pytest

from ketaclinic.outcomes.km import kaplan_meier, median_time


def test_it_computes_the_product_limit_estimate_with_censoring() -> None:
    # Ten subjects: events at 3, 5, 5, 8 and 12; censored at 4, 7, 9, 12 and 15.
    groups = [(3, 1, 0), (4, 0, 1), (5, 2, 0), (7, 0, 1), (8, 1, 0), (9, 0, 1), (12, 1, 1), (15, 0, 1)]
    steps = kaplan_meier(groups)
    assert [s.time for s in steps] == [3, 4, 5, 7, 8, 9, 12, 15]
    assert [s.at_risk for s in steps] == [10, 9, 8, 6, 5, 4, 3, 1]
    expected = 1.0
    for (_, events, _), step in zip(groups, steps, strict=True):
        expected *= 1 - events / step.at_risk
        assert step.survival == pytest.approx(expected)
    assert steps[0].survival == pytest.approx(0.9)
    assert steps[2].survival == pytest.approx(0.9 * 6 / 8)  # 0.675
    assert steps[-2].survival == pytest.approx(0.9 * 0.75 * 0.8 * 2 / 3)  # 0.36
    assert median_time(steps) == 12  # 0.54 at day 8 is still above one half


def test_it_finds_the_median_where_the_curve_first_reaches_one_half() -> None:
    steps = kaplan_meier([(3, 1, 0), (4, 0, 1), (5, 2, 0), (7, 0, 1), (8, 1, 0), (9, 0, 1), (12, 1, 1), (15, 0, 1)])
    by_time = {s.time: s.survival for s in steps}
    assert by_time[8] == pytest.approx(0.54)
    assert by_time[12] == pytest.approx(0.36)
    assert median_time(steps) == 12


def test_it_merges_repeated_times_and_ignores_order() -> None:
    merged = kaplan_meier([(5, 1, 0), (2, 0, 1), (5, 1, 1), (1, 1, 0)])
    assert [(s.time, s.at_risk, s.events, s.censored) for s in merged] == [(1, 5, 1, 0), (2, 4, 0, 1), (5, 3, 2, 1)]
    assert merged[-1].survival == pytest.approx(0.8 * (1 - 2 / 3))


def test_it_gives_a_greenwood_interval_inside_zero_and_one() -> None:
    steps = kaplan_meier([(t, 1, 1) for t in range(1, 20)])
    for step in steps:
        assert 0 <= step.lower <= step.survival <= step.upper <= 1
    # Log(−log) interval at the first step: S = 37/38, Greenwood variance term 1/(38·37).
    first = steps[0]
    s, v = 37 / 38, 1 / (38 * 37)
    half = 1.959963984540054 * math.sqrt(v) / abs(math.log(s))
    assert first.lower == pytest.approx(s ** math.exp(half))
    assert first.upper == pytest.approx(s ** math.exp(-half))


def test_it_reports_no_median_when_the_curve_stays_above_one_half() -> None:
    steps = kaplan_meier([(10, 1, 0), (20, 0, 9)])
    assert steps[0].survival == pytest.approx(0.9)
    assert median_time(steps) is None
    assert kaplan_meier([]) == []


def test_it_drops_to_zero_when_everyone_has_the_event() -> None:
    steps = kaplan_meier([(1, 1, 0), (2, 1, 0)])
    assert [s.survival for s in steps] == [0.5, 0.0]
    assert steps[-1].lower == steps[-1].upper == 0.0
    assert median_time(steps) == 1


@pytest.mark.parametrize("group", [(-1, 1, 0), (1, -1, 0), (1, 0, -2)])
def test_it_refuses_negative_input(group: tuple[int, int, int]) -> None:
    with pytest.raises(ValueError, match="must not be negative"):
        kaplan_meier([group])
