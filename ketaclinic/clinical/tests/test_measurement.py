"""Measure schedules generated from a course's sessions: timepoints, merging, moves, cancellations, sets, licences."""

from __future__ import annotations

import datetime as dt

import pytest

from ketaclinic import clinical
from ketaclinic.clinical.measurement import Delivery, SessionTime, Timepoint, delivery, measure_schedule, measure_set

UTC = dt.UTC
MONDAY = dt.datetime(2026, 10, 5, 14, 0, tzinfo=UTC)
OPENED = MONDAY - dt.timedelta(days=7)


def sessions(*days: float) -> list[SessionTime]:
    return [SessionTime(n, MONDAY + dt.timedelta(days=d), 100 + n) for n, d in enumerate(days, start=1)]


def keys(schedule: tuple[clinical.DueMeasure, ...], instrument: str = "phq9") -> list[str]:
    return [d.key for d in schedule if d.instrument == instrument]


def test_before_any_session_only_the_baseline_is_due_and_stays_open() -> None:
    schedule = measure_schedule("trd", "ketamine_iv_standard", [], opened_at=OPENED)
    assert {d.timepoint for d in schedule} == {Timepoint.BASELINE}
    assert {d.instrument for d in schedule} == {"phq9", "cssrs_screener", "qids_sr16", "madrs"}
    assert all(d.closes_at is None and d.due_at == OPENED for d in schedule)


def test_an_induction_gets_baseline_pre_session_24h_7d_and_weekly_measures() -> None:
    schedule = measure_schedule("trd", "ketamine_iv_standard", sessions(0, 2, 4, 7, 9, 11), opened_at=OPENED)
    phq9 = {d.key: d for d in schedule if d.instrument == "phq9"}
    baseline = phq9["baseline:course:phq9"]
    assert (baseline.opens_at, baseline.due_at, baseline.closes_at) == (OPENED, MONDAY, MONDAY)
    assert baseline.session_number == 1
    # Session 1's pre-session measure is the baseline; the others each have one that closes when the session starts.
    assert "pre_session:101:phq9" not in phq9
    pre = phq9["pre_session:102:phq9"]
    assert pre.due_at == MONDAY + dt.timedelta(days=2) == pre.closes_at
    assert pre.opens_at == pre.due_at - dt.timedelta(hours=48)
    post = phq9["post_24h:101:phq9"]
    assert post.due_at == MONDAY + dt.timedelta(hours=24)
    twelve = dt.timedelta(hours=12)
    assert (post.opens_at, post.closes_at) == (post.due_at - twelve, post.due_at + twelve)
    # 7 days after session 1 falls on session 4's pre-session measure: asked once.
    assert "post_7d:101:phq9" not in phq9
    assert phq9["post_7d:104:phq9"].due_at == MONDAY + dt.timedelta(days=14)
    # Weekly anchors of induction that coincide with a session are merged into its pre-session measure.
    assert "weekly:week2:phq9" not in phq9
    assert "weekly:week3:qids_sr16" in keys(schedule, "qids_sr16")
    assert all(d.delivery is Delivery.PORTAL for d in phq9.values())
    madrs = [d for d in schedule if d.instrument == "madrs"]
    assert {d.timepoint for d in madrs} == {Timepoint.BASELINE, Timepoint.PRE_SESSION}
    assert all(d.delivery is Delivery.CLINIC for d in madrs)
    # The C-SSRS screener goes with every PHQ-9.
    assert [k.replace("phq9", "x") for k in keys(schedule)] == [
        k.replace("cssrs_screener", "x") for k in keys(schedule, "cssrs_screener")
    ]
    assert [d.due_at for d in schedule] == sorted(d.due_at for d in schedule)


def test_a_moved_session_moves_its_measures_and_a_cancelled_one_drops_them() -> None:
    before = measure_schedule("trd", "ketamine_iv_standard", sessions(0, 2, 4), opened_at=OPENED)
    moved = sessions(0, 2, 4)
    moved[1] = SessionTime(2, MONDAY + dt.timedelta(days=3), moved[1].ref)
    after = {d.key: d for d in measure_schedule("trd", "ketamine_iv_standard", moved, opened_at=OPENED)}
    old = {d.key: d for d in before}
    assert after["pre_session:102:phq9"].due_at == old["pre_session:102:phq9"].due_at + dt.timedelta(days=1)
    assert after["post_7d:102:phq9"].due_at == MONDAY + dt.timedelta(days=10)
    cancelled = [s for s in sessions(0, 2, 4) if s.ref != 102]
    remaining = {d.key for d in measure_schedule("trd", "ketamine_iv_standard", cancelled, opened_at=OPENED)}
    assert not any(":102:" in key for key in remaining)
    # Same sessions, same schedule: regeneration is idempotent.
    assert measure_schedule("trd", "ketamine_iv_standard", sessions(0, 2, 4), opened_at=OPENED) == before


def test_maintenance_sessions_get_fortnightly_measures_after_induction() -> None:
    days = (0, 2, 4, 7, 9, 11, 28, 42, 56)
    schedule = measure_schedule("trd", "ketamine_iv_standard", sessions(*days), opened_at=OPENED)
    qids = [d for d in schedule if d.instrument == "qids_sr16"]
    fortnightly = [d.due_at for d in qids if d.timepoint is Timepoint.FORTNIGHTLY]
    assert fortnightly == [MONDAY + dt.timedelta(days=d) for d in (35, 49, 63)]
    weekly = [d.due_at for d in qids if d.timepoint is Timepoint.WEEKLY]
    assert weekly == [MONDAY + dt.timedelta(days=d) for d in (7, 14, 21)]


def test_an_open_ended_protocol_stays_weekly() -> None:
    schedule = measure_schedule("ptsd", "ketamine_sublingual", sessions(0, 7, 14, 21), opened_at=OPENED)
    assert [d.timepoint for d in schedule] == [Timepoint.BASELINE] + [Timepoint.WEEKLY] * 4
    assert {d.instrument for d in schedule} == {"pcl5"}


def test_long_recall_instruments_repeat_every_90_days() -> None:
    schedule = measure_schedule("migraine", "ketamine_iv_standard", sessions(0, 30, 60, 90), opened_at=OPENED)
    assert [(d.timepoint, d.due_at) for d in schedule] == [
        (Timepoint.BASELINE, MONDAY),
        (Timepoint.PERIODIC, MONDAY + dt.timedelta(days=90)),
    ]


def test_a_shorter_merge_window_keeps_coinciding_timepoints_apart() -> None:
    policy = clinical.DEFAULT_POLICY.with_overrides({"measure_merge_hours": 0})
    schedule = measure_schedule("anxiety", "ketamine_iv_standard", sessions(0, 7), opened_at=OPENED, policy=policy)
    assert "post_7d:101:gad7" in keys(schedule, "gad7")
    assert "pre_session:102:gad7" in keys(schedule, "gad7")


@pytest.mark.parametrize(
    ("indication", "instruments"),
    [
        ("mdsi", {"phq9", "cssrs_screener", "qids_sr16", "madrs"}),
        ("depression", {"phq9", "cssrs_screener", "qids_sr16", "madrs"}),
        ("anxiety", {"gad7"}),
        ("ptsd", {"pcl5"}),
        ("ocd", set()),
        ("chronic_pain", {"nrs_pain"}),
        ("migraine", {"midas"}),
        ("alcohol_use", {"audit"}),
    ],
)
def test_each_indication_has_its_instruments(indication: str, instruments: set[str]) -> None:
    assert {i for i, _ in measure_set(indication)} == instruments


def test_ybocs_only_where_the_clinic_is_licensed() -> None:
    assert measure_set("ocd") == ()
    (entry,) = measure_set("ocd", licensed={"ybocs"})
    assert entry[0] == "ybocs" and delivery("ybocs") is Delivery.CLINIC


def test_the_cssrs_screener_goes_to_the_patient_and_madrs_to_staff() -> None:
    assert delivery("cssrs_screener") is Delivery.PORTAL
    assert delivery("madrs") is Delivery.CLINIC
    assert delivery("gad7") is Delivery.PORTAL


def test_bad_input_names_the_field() -> None:
    with pytest.raises(ValueError, match="indication: unknown 'flu'"):
        measure_set("flu")
    with pytest.raises(ValueError, match="opened_at"):
        measure_schedule("trd", "ketamine_iv_standard", [], opened_at=dt.datetime(2026, 1, 1))
    naive = [SessionTime(1, dt.datetime(2026, 1, 1), 1)]
    with pytest.raises(ValueError, match=r"sessions\[0\].at"):
        measure_schedule("trd", "ketamine_iv_standard", naive, opened_at=OPENED)
