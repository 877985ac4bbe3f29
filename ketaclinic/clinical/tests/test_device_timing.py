"""Esketamine devices: 5-minute rests between devices, never more devices than ordered (R1, R2)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ketaclinic.clinical.protocols import PROTOCOLS, R_ESK_DEVICE, device_timing

T0 = datetime(2026, 10, 21, 14, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)


def test_it_allows_the_first_device_at_any_time() -> None:
    timing = device_timing("esketamine_trd", [], T0, devices=2)
    assert (timing.ok, timing.number, timing.earliest_at, timing.problems) == (True, 1, None, ())


@pytest.mark.parametrize(
    ("after", "ok"),
    [(0, False), (4.9, False), (5, True), (12, True)],
)
def test_it_requires_five_minutes_after_the_previous_device(after: float, ok: bool) -> None:
    timing = device_timing("esketamine_mdsi", [T0], T0 + after * MIN, devices=3)
    assert timing.ok is ok
    assert timing.number == 2
    assert timing.earliest_at == T0 + 5 * MIN
    if not ok:
        assert timing.problems == (f"Device 2 is {after:.1f} minutes after device 1; rest 5 minutes between devices.",)


def test_it_measures_from_the_latest_device() -> None:
    timing = device_timing("esketamine_trd", [T0, T0 + 6 * MIN], T0 + 9 * MIN, devices=3)
    assert (timing.ok, timing.number, timing.earliest_at) == (False, 3, T0 + 11 * MIN)


def test_it_refuses_a_device_before_the_previous_one() -> None:
    timing = device_timing("esketamine_trd", [T0], T0 - MIN, devices=2)
    assert not timing.ok
    assert timing.problems == ("Device 2 cannot be given before device 1.",)


def test_it_refuses_more_devices_than_ordered() -> None:
    with pytest.raises(ValueError, match="given_at: all 2 devices of this dose have been given"):
        device_timing("esketamine_trd", [T0, T0 + 5 * MIN], T0 + 20 * MIN, devices=2)


@pytest.mark.parametrize("devices", [0, 4, True, 2.0, None])
def test_it_rejects_device_counts_outside_one_to_three(devices: object) -> None:
    with pytest.raises(ValueError, match="devices: a whole number from 1 to 3"):
        device_timing("esketamine_trd", [], T0, devices=devices)  # type: ignore[arg-type]


def test_it_rejects_protocols_not_given_in_devices_and_naive_times() -> None:
    with pytest.raises(ValueError, match="protocol: ketamine_iv_standard is not given in devices"):
        device_timing("ketamine_iv_standard", [], T0, devices=1)
    with pytest.raises(ValueError, match="proposed"):
        device_timing("esketamine_trd", [], T0.replace(tzinfo=None), devices=1)
    with pytest.raises(ValueError, match=r"given_at\[0\]"):
        device_timing("esketamine_trd", [T0.replace(tzinfo=None)], T0, devices=2)


def test_it_cites_the_label() -> None:
    assert {c.source.id for c in R_ESK_DEVICE.citations} == {"R1", "R2"}
    assert PROTOCOLS["esketamine_trd"].rest_between_devices_min == 5.0


@given(st.floats(min_value=0, max_value=120, allow_nan=False))
def test_it_is_ok_exactly_when_the_rest_has_passed(minutes: float) -> None:
    timing = device_timing("esketamine_trd", [T0], T0 + minutes * MIN, devices=2)
    assert timing.ok is (T0 + minutes * MIN >= T0 + 5 * MIN)
