"""ClinicPolicy overrides are validated: unknown names and out-of-range or non-numeric values are rejected."""

from __future__ import annotations

import pytest

from ketaclinic.clinical.policy import DEFAULT_POLICY, ClinicPolicy


def test_it_applies_a_valid_override_as_a_copy() -> None:
    changed = DEFAULT_POLICY.with_overrides({"session_min_spacing_hours": "72"})
    assert changed.session_min_spacing_hours == 72 and DEFAULT_POLICY.session_min_spacing_hours == 48


def test_no_override_gives_the_same_policy_and_a_tuned_one_keeps_its_own_values() -> None:
    assert DEFAULT_POLICY.with_overrides({}) is DEFAULT_POLICY  # frozen: nothing to copy
    tuned = DEFAULT_POLICY.with_overrides({"session_min_spacing_hours": 72})
    assert tuned.with_overrides({}) is tuned and tuned.with_overrides({}).session_min_spacing_hours == 72


def test_it_describes_the_session_spacing_setting() -> None:
    (spacing,) = [s for s in ClinicPolicy.settings() if s.name == "session_min_spacing_hours"]
    assert (spacing.default, spacing.minimum, spacing.maximum, spacing.unit) == (48, 20, 168, "hours")
    assert spacing.citations and spacing.note


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"session_spacing": 48}, "session_spacing: unknown policy setting; known settings are"),
        ({"session_min_spacing_hours": True}, "session_min_spacing_hours: must be a number between 20 and 168 hours"),
        ({"session_min_spacing_hours": None}, "session_min_spacing_hours: must be a number between 20 and 168"),
        ({"session_min_spacing_hours": "two days"}, "session_min_spacing_hours: must be a number between 20"),
        ({"session_min_spacing_hours": 12}, "session_min_spacing_hours: 12 is outside the allowed range 20–168 hours"),
    ],
)
def test_it_rejects_invalid_overrides(overrides, message) -> None:
    with pytest.raises(ValueError, match=message):
        DEFAULT_POLICY.with_overrides(overrides)
