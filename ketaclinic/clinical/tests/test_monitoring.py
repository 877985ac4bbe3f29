"""Monitoring timepoints: the protocol's schedule per route, and which timepoints are done, due or overdue."""

from __future__ import annotations

import pytest

from ketaclinic import clinical
from ketaclinic.clinical import DEFAULT_POLICY, Due, TimepointState
from ketaclinic.clinical.monitoring import match_timepoint, monitoring_timepoints, observation_end_min, timepoint_status

V, M, C = Due.VITALS, Due.MOAAS, Due.CADSS


def schedule(route: str, **kwargs: object) -> dict[int, set[Due]]:
    return {tp.minute: set(tp.due) for tp in monitoring_timepoints(route, **kwargs)}  # type: ignore[arg-type]


def test_it_schedules_esketamine_bp_before_at_40_and_before_discharge() -> None:
    plan = schedule("esketamine_nasal")
    assert [m for m, due in plan.items() if V in due] == [0, 40, 120]
    assert [m for m, due in plan.items() if C in due] == [40, 120]
    assert [m for m, due in plan.items() if M in due] == [15, 30, 40, 45, 60, 75, 90, 105, 120]
    labels = {tp.minute: tp.label for tp in monitoring_timepoints("esketamine_nasal")}
    assert labels[0] == "Before the dose" and labels[120] == "Before discharge" and "peak" in labels[40]
    assert all("R1" in {c.source.id for c in tp.citations} for tp in monitoring_timepoints("esketamine_nasal"))


def test_it_never_ends_esketamine_observation_before_120_min_and_follows_a_longer_policy() -> None:
    assert observation_end_min("esketamine_nasal", dose_minutes=300) == 120
    longer = DEFAULT_POLICY.with_overrides({"esketamine_min_observation_min": 150, "monitoring_bp_peak_min": 45})
    plan = schedule("esketamine_nasal", policy=longer)
    assert max(plan) == 150 and V in plan[45] and 40 not in plan


def test_it_schedules_iv_every_10_min_during_and_every_15_after() -> None:
    plan = schedule("iv", dose_minutes=40)
    assert [m for m, due in plan.items() if V in due] == [0, 10, 20, 30, 40, 55, 70, 85, 100]
    assert [m for m, due in plan.items() if C in due] == [40, 100]
    assert all(M in due for m, due in plan.items() if m > 0)
    labels = {tp.minute: tp.label for tp in monitoring_timepoints("iv", dose_minutes=40)}
    assert (labels[10], labels[40], labels[55]) == ("During the infusion", "End of infusion", "After the infusion")


def test_it_schedules_an_iv_dose_of_unknown_length_from_its_start() -> None:
    assert sorted(schedule("iv")) == [0, 15, 30, 45, 60]


def test_it_uses_a_policy_schedule_for_other_routes() -> None:
    plan = schedule("im")
    assert plan == {0: {V}, 15: {V, M}, 30: {V, M}, 40: {C}, 45: {V, M}, 60: {V, M, C}}
    (tp,) = [t for t in monitoring_timepoints("im") if t.minute == 15]
    assert tp.evidence is clinical.Evidence.POLICY and tp.label == "15 min"


def test_it_skips_the_peak_cadss_when_observation_ends_first() -> None:
    short = DEFAULT_POLICY.with_overrides({"ketamine_min_observation_min": 30})
    assert schedule("sublingual", policy=short) == {0: {V}, 15: {V, M}, 30: {V, M, C}}


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: monitoring_timepoints("iv", dose_minutes=-1), "dose_minutes: -1 is outside the allowed range"),
        (lambda: monitoring_timepoints("tablet"), "route: 'tablet' is not allowed"),
        (lambda: observation_end_min("iv", dose_minutes=601), "dose_minutes: 601 is outside"),
        (lambda: timepoint_status((), minute_now=float("nan"), fulfilled={}), "minute_now: must be a finite"),
        (lambda: match_timepoint((), "vitals", minute=True, fulfilled={}), "minute: must be a number"),
        (lambda: match_timepoint((), "pulse", minute=1, fulfilled={}), "'pulse' is not a valid Due"),
    ],
)
def test_it_rejects_bad_input(call, message) -> None:
    with pytest.raises(ValueError, match=message):
        call()


def test_it_tells_done_upcoming_due_and_overdue() -> None:
    plan = monitoring_timepoints("esketamine_nasal")
    fulfilled: dict[int, set[Due | str]] = {0: {"vitals"}, 15: {M}, 40: {V}}
    states = {s.timepoint.minute: s for s in timepoint_status(plan, minute_now=50, fulfilled=fulfilled)}
    assert states[0].state is TimepointState.DONE and not states[0].missing
    assert states[15].state is TimepointState.DONE
    assert states[30].state is TimepointState.OVERDUE and states[30].overdue_by_min == 20
    assert states[40].state is TimepointState.OVERDUE and states[40].missing == {M, C}
    assert states[45].state is TimepointState.DUE and states[45].overdue_by_min == 0
    assert states[60].state is TimepointState.UPCOMING


def test_it_keeps_a_timepoint_due_until_the_grace_has_passed() -> None:
    plan = [tp for tp in monitoring_timepoints("iv", dose_minutes=40) if tp.minute == 10]
    assert timepoint_status(plan, minute_now=4.9, fulfilled={})[0].state is TimepointState.UPCOMING
    assert timepoint_status(plan, minute_now=5, fulfilled={})[0].state is TimepointState.DUE
    assert timepoint_status(plan, minute_now=15, fulfilled={})[0].state is TimepointState.DUE
    assert timepoint_status(plan, minute_now=15.1, fulfilled={})[0].state is TimepointState.OVERDUE
    strict = DEFAULT_POLICY.with_overrides({"monitoring_grace_min": 1})
    assert timepoint_status(plan, minute_now=11.5, fulfilled={}, policy=strict)[0].state is TimepointState.OVERDUE


def test_it_matches_an_observation_to_the_nearest_open_timepoint() -> None:
    plan = monitoring_timepoints("iv", dose_minutes=40)
    assert match_timepoint(plan, V, minute=12, fulfilled={}) == 10
    assert match_timepoint(plan, V, minute=27, fulfilled={}) == 30
    assert match_timepoint(plan, "vitals", minute=15, fulfilled={}) == 10  # a tie goes to the earlier one
    assert match_timepoint(plan, V, minute=12, fulfilled={10: {"vitals"}}) is None  # too early for 20
    assert match_timepoint(plan, V, minute=24, fulfilled={10: {"vitals"}}) == 20
    assert match_timepoint(plan, C, minute=38, fulfilled={}) == 40
    assert match_timepoint(plan, C, minute=20, fulfilled={}) is None  # too early for the 40-min CADSS


def test_it_never_matches_the_pre_dose_timepoint() -> None:
    plan = monitoring_timepoints("esketamine_nasal")
    assert match_timepoint(plan, V, minute=-2, fulfilled={}) is None
    assert match_timepoint(plan, V, minute=2, fulfilled={}) is None
    assert match_timepoint(plan, V, minute=200, fulfilled={40: {V}, 120: {V}}) is None


def test_its_rules_are_in_the_catalogue_with_citations() -> None:
    ids = {r.id for r in clinical.catalogue() if r.area == "monitoring"}
    assert ids == {
        "monitoring.timepoints.esketamine",
        "monitoring.timepoints.iv",
        "monitoring.timepoints.other_routes",
        "monitoring.timepoints.overdue",
    }
    settings = {s.name: s for s in clinical.ClinicPolicy.settings()}
    assert settings["iv_vitals_during_infusion_every_min"].default == 10
    assert settings["iv_vitals_after_infusion_every_min"].default == 15
    assert settings["monitoring_bp_peak_min"].citations[0].source.id == "R1"
