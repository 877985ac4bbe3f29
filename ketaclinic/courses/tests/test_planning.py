"""Series generation for every protocol and phase: site-local times, spacing, closed days and DST changes."""

from __future__ import annotations

import datetime as dt
import itertools
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ketaclinic.clinical import PROTOCOLS, get_protocol, phase_for_week
from ketaclinic.courses.planning import (
    DayHours,
    check_series,
    check_weekdays,
    default_weekdays,
    find_phase,
    fit_time,
    local,
    plan_series,
    quarter_starts,
    spacing_check,
    utc,
    week_of,
)

CHICAGO = ZoneInfo("America/Chicago")
NINE = dt.time(9)
IV_CHAIR = dt.timedelta(minutes=70)  # 40-min infusion + 30-min recovery
ESK_CHAIR = dt.timedelta(minutes=140)  # 20-min dosing + 120-min observation
CLOSED = {dt.date(2026, 12, 25): "Christmas Day", dt.date(2026, 11, 2): "Staff training"}


@pytest.fixture(autouse=True)
def frozen_clock():
    """Pure functions: no clock needed."""
    return None


def hours(day: dt.date) -> DayHours:
    """Mon–Fri 08:00–18:00, Sat 09:00–13:00, closed on Sunday and on the closed days."""
    if day in CLOSED:
        return DayHours((), f"closed ({CLOSED[day]})")
    if day.weekday() < 5:
        return DayHours(((dt.time(8), dt.time(18)),))
    if day.weekday() == 5:
        return DayHours(((dt.time(9), dt.time(13)),))
    return DayHours((), "no opening hours")


def plan(protocol, phase, start, **kwargs):
    proto = get_protocol(protocol)
    count = kwargs.pop("count") if "count" in kwargs else find_phase(proto, phase).total_sessions or 4
    return plan_series(
        proto,
        phase,
        start_date=start,
        preferred_time=kwargs.pop("preferred_time", NINE),
        zone=CHICAGO,
        hours=kwargs.pop("hours", hours),
        count=count,
        duration=kwargs.pop("duration", IV_CHAIR),
        **kwargs,
    )


def assert_valid(result, protocol, *, course_start=None, existing=()):
    """Every session: site-local, open, inside its phase, and clean under clinical.check_spacing."""
    proto = get_protocol(protocol)
    starts = [s.start for s in result.sessions]
    first = course_start or starts[0]
    for session in result.sessions:
        assert session.start.tzinfo == CHICAGO
        assert hours(session.start.date()).periods, f"{session.start:%Y-%m-%d} is closed"
        assert session.start.minute % 15 == 0
        phase = phase_for_week(proto, week_of(first, session.start, CHICAGO))
        assert phase is not None and phase.name == result.phase
    for index, start in enumerate(starts):
        others = [*existing, *starts[:index]]
        assert spacing_check(proto, others, start, course_start=first, zone=CHICAGO).ok
    # Elapsed hours (in UTC: Python measures same-zone differences on the wall clock).
    gaps = [(utc(b) - utc(a)) / dt.timedelta(hours=1) for a, b in itertools.pairwise(starts)]
    assert all(gap >= 48 for gap in gaps)


# (protocol, phase, start date, expected local dates) — Monday 26 October 2026 unless the phase needs a start.
FIRST_PHASES = [
    (
        "ketamine_iv_standard",
        "induction",
        ["2026-10-26", "2026-10-28", "2026-10-30", "2026-11-03", "2026-11-05", "2026-11-07"],
    ),
    ("ketamine_im", "induction", ["2026-10-26", "2026-10-28", "2026-10-30", "2026-11-03", "2026-11-05", "2026-11-07"]),
    (
        "ketamine_sublingual",
        "ongoing",
        [
            "2026-10-26",
            "2026-10-28",
            "2026-10-30",
            "2026-11-03",
            "2026-11-05",
            "2026-11-07",
            "2026-11-09",
            "2026-11-11",
        ],
    ),
    ("ketamine_intranasal_racemic", "single dose", ["2026-10-26"]),
    (
        "esketamine_trd",
        "induction",
        [
            "2026-10-26",
            "2026-10-29",
            "2026-11-03",
            "2026-11-05",
            "2026-11-09",
            "2026-11-12",
            "2026-11-16",
            "2026-11-19",
        ],
    ),
    (
        "esketamine_mdsi",
        "treatment",
        [
            "2026-10-26",
            "2026-10-29",
            "2026-11-03",
            "2026-11-05",
            "2026-11-09",
            "2026-11-12",
            "2026-11-16",
            "2026-11-19",
        ],
    ),
]


@pytest.mark.parametrize(("protocol", "phase", "dates"), FIRST_PHASES)
def test_it_plans_the_first_phase_of_every_protocol(protocol, phase, dates):
    result = plan(protocol, phase, dt.date(2026, 10, 26), count=len(dates))
    assert result.ok, result.problems
    assert [f"{s.start:%Y-%m-%d}" for s in result.sessions] == dates
    assert [s.number for s in result.sessions] == list(range(1, len(dates) + 1))
    assert all(s.start.astimezone(CHICAGO).time() == NINE for s in result.sessions)
    assert_valid(result, protocol)


def test_it_covers_every_protocol_in_the_catalogue():
    assert {p for p, _, _ in FIRST_PHASES} == set(PROTOCOLS)


def test_it_keeps_the_local_time_across_the_autumn_dst_change():
    result = plan("ketamine_iv_standard", "induction", dt.date(2026, 10, 26))
    friday, monday = result.sessions[2].start, result.sessions[3].start
    assert friday.utcoffset() == dt.timedelta(hours=-5)  # CDT
    assert friday.astimezone(dt.UTC).hour == 14
    # Monday 2 November is a closed day: the session moves to Tuesday, still at 09:00 local, now CST.
    assert monday.utcoffset() == dt.timedelta(hours=-6)
    assert monday.astimezone(dt.UTC).hour == 15
    assert monday.time() == NINE
    assert "moved from Monday 2026-11-02" in result.sessions[3].note
    assert "Staff training" in result.sessions[3].note
    assert result.skipped == ()


def test_it_keeps_the_local_time_across_the_spring_dst_change():
    result = plan("esketamine_trd", "induction", dt.date(2027, 3, 1), duration=ESK_CHAIR)
    assert result.ok
    offsets = {s.start.utcoffset() for s in result.sessions}
    assert offsets == {dt.timedelta(hours=-6), dt.timedelta(hours=-5)}
    assert {s.start.time() for s in result.sessions} == {NINE}
    assert_valid(result, "esketamine_trd")


def test_it_moves_a_session_that_the_spring_change_would_bring_under_48_hours():
    # Saturday 13 March 09:00 CST → Monday 15 March 09:00 CDT is only 47 hours: Monday moves to Tuesday.
    result = plan("esketamine_trd", "induction", dt.date(2027, 3, 13), weekdays=[0, 5], count=3, duration=ESK_CHAIR)
    dates = [f"{s.start:%Y-%m-%d}" for s in result.sessions]
    assert dates == ["2027-03-13", "2027-03-16", "2027-03-20"]
    assert "47.0 h" in result.sessions[1].note


def test_it_moves_a_closed_day_to_the_next_open_day():
    result = plan("ketamine_iv_standard", "induction", dt.date(2026, 12, 21))
    dates = [f"{s.start:%a %Y-%m-%d %H:%M}" for s in result.sessions]
    # Friday 25 December is closed: Saturday 26th holds the session, within its 09:00–13:00 hours.
    assert dates[:3] == ["Mon 2026-12-21 09:00", "Wed 2026-12-23 09:00", "Sat 2026-12-26 09:00"]
    assert "Christmas Day" in result.sessions[2].note
    assert_valid(result, "ketamine_iv_standard")


def test_it_keeps_twice_weekly_esketamine_on_schedule_across_a_closed_monday():
    result = plan("esketamine_trd", "induction", dt.date(2026, 10, 29), duration=ESK_CHAIR)
    dates = [f"{s.start:%a %m-%d}" for s in result.sessions]
    assert dates[:3] == ["Thu 10-29", "Tue 11-03", "Thu 11-05"]
    assert result.ok
    weeks = [s.course_week for s in result.sessions]
    assert weeks == [1, 1, 2, 2, 3, 3, 4, 4]


def test_it_fits_the_time_into_short_opening_hours():
    result = plan(
        "ketamine_iv_standard", "induction", dt.date(2026, 10, 31), preferred_time=dt.time(15), count=1, weekdays=[5]
    )
    session = result.sessions[0]
    assert f"{session.start:%a %H:%M}" == "Sat 11:45"  # 11:45 + 70 min = 12:55, before the 13:00 close
    assert "to fit the opening hours" in session.note


def test_it_reports_sessions_that_do_not_fit_in_the_phase():
    # Only Fridays chosen: one session a week cannot make six in the three induction weeks.
    result = plan("ketamine_iv_standard", "induction", dt.date(2026, 10, 30), weekdays=[4])
    assert not result.ok
    assert len(result.sessions) == 3
    assert "Only 3 of 6 sessions fit in the induction phase (course weeks 1–3)" in result.problems[0]


def test_it_plans_later_phases_from_the_course_start():
    start = local(dt.date(2026, 10, 26), NINE, CHICAGO)
    induction = plan("ketamine_iv_standard", "induction", dt.date(2026, 10, 26))
    existing = induction.starts
    result = plan(
        "ketamine_iv_standard",
        "maintenance",
        dt.date(2026, 10, 28),  # asked too early: maintenance starts in course week 4
        existing=existing,
        course_start=start,
        first_number=7,
    )
    assert result.ok
    assert [f"{s.start:%Y-%m-%d}" for s in result.sessions] == ["2026-11-16", "2026-11-23", "2026-11-30", "2026-12-07"]
    assert [s.number for s in result.sessions] == [7, 8, 9, 10]
    assert_valid(result, "ketamine_iv_standard", course_start=start, existing=existing)


@pytest.mark.parametrize(
    ("phase", "every", "expected"),
    [
        ("maintenance weekly", 1, ["2026-11-23", "2026-11-30", "2026-12-07", "2026-12-14"]),
        ("maintenance individualised", 1, ["2026-12-21", "2026-12-28", "2027-01-04", "2027-01-11"]),
        ("maintenance individualised", 2, ["2026-12-21", "2027-01-04", "2027-01-18", "2027-02-01"]),
    ],
)
def test_it_plans_esketamine_maintenance_weekly_or_every_two_weeks(phase, every, expected):
    start = local(dt.date(2026, 10, 26), NINE, CHICAGO)
    result = plan(
        "esketamine_trd",
        phase,
        dt.date(2026, 11, 20),
        course_start=start,
        every_weeks=every,
        duration=ESK_CHAIR,
        count=4,
    )
    assert [f"{s.start:%Y-%m-%d}" for s in result.sessions] == expected
    assert all(s.start.weekday() == 0 for s in result.sessions)


def test_it_stops_a_weekly_phase_at_its_last_week():
    start = local(dt.date(2026, 10, 26), NINE, CHICAGO)
    result = plan("esketamine_trd", "maintenance weekly", dt.date(2026, 11, 23), course_start=start, count=6)
    assert len(result.sessions) == 4
    assert "Only 4 of 6" in result.problems[0]


def test_it_gives_up_after_the_horizon():
    result = plan("ketamine_sublingual", "ongoing", dt.date(2026, 10, 26), hours=lambda day: DayHours((), "closed"))
    assert result.sessions == ()
    assert "within 52 weeks" in result.problems[0]
    assert result.skipped
    assert result.first_number == 1


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"count": 0}, "count: must be a whole number from 1 to 60"),
        ({"every_weeks": 3}, "every_weeks: 1 (weekly) or 2"),
        ({"every_weeks": 2}, "every_weeks: the induction phase needs at least one session a week"),
        ({"duration": dt.timedelta(0)}, "duration: must be positive"),
        ({"weekdays": [0, 2, 4, 5]}, "weekdays: the induction phase allows at most 3 session(s) a week; 4 chosen"),
        ({"weekdays": []}, "weekdays: choose at least one weekday"),
        ({"weekdays": [7]}, "weekdays: choose at least one weekday"),
    ],
)
def test_it_refuses_bad_arguments_naming_them(kwargs, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        plan("ketamine_iv_standard", "induction", dt.date(2026, 10, 26), **kwargs)


def test_it_refuses_an_unknown_phase_and_a_later_phase_without_a_course():
    with pytest.raises(ValueError, match="phase: 'booster' is not a phase of ketamine_iv_standard"):
        plan("ketamine_iv_standard", "booster", dt.date(2026, 10, 26), count=1)
    with pytest.raises(ValueError, match="phase: the course has no session yet"):
        plan("ketamine_iv_standard", "maintenance", dt.date(2026, 10, 26), count=1)
    assert find_phase(get_protocol("esketamine_trd"), 1).name == "maintenance weekly"


def test_it_picks_the_weekly_pattern_from_the_phase():
    iv, esk = get_protocol("ketamine_iv_standard"), get_protocol("esketamine_trd")
    assert default_weekdays(iv.phases[0], dt.date(2026, 10, 28)) == (0, 2, 4)
    assert default_weekdays(esk.phases[0], dt.date(2026, 10, 28)) == (0, 3)
    assert default_weekdays(esk.phases[1], dt.date(2026, 10, 28)) == (2,)
    assert check_weekdays(iv.phases[0], [4, 0, 0]) == (0, 4)


def test_it_reports_days_too_short_for_a_session():
    short = DayHours(((dt.time(9), dt.time(9, 30)),))
    assert fit_time(short, NINE, IV_CHAIR) == (None, "open for less than the 70 min a session needs")
    assert fit_time(DayHours((), "closed (Christmas Day)"), NINE, IV_CHAIR) == (None, "closed (Christmas Day)")
    assert fit_time(DayHours(()), NINE, IV_CHAIR) == (None, "closed")
    lunch = DayHours(((dt.time(8), dt.time(12)), (dt.time(13), dt.time(17))))
    assert fit_time(lunch, dt.time(12, 30), IV_CHAIR) == (dt.time(13), "at 13:00 to fit the opening hours")
    assert fit_time(lunch, NINE, IV_CHAIR) == (NINE, "")
    assert quarter_starts(lunch, dt.timedelta(hours=3, minutes=30))[:3] == [dt.time(8), dt.time(8, 15), dt.time(8, 30)]
    assert len(quarter_starts(lunch, dt.timedelta(hours=3, minutes=30))) == 3 + 3


def test_it_checks_a_series_against_itself():
    iv = get_protocol("ketamine_iv_standard")
    mon = local(dt.date(2026, 10, 26), NINE, CHICAGO)
    starts = [mon, mon + dt.timedelta(days=1), mon + dt.timedelta(days=3)]
    result = check_series(iv, starts)
    assert result[0][1] == ()
    assert "Only 24.0 h" in result[1][1][0]
    assert result[2][1] == ()
    assert check_series(iv, []) == []
    early = check_series(iv, [mon], course_start=mon + dt.timedelta(days=1))
    assert early == [(mon, ("Before the start of the course.",))]


@settings(max_examples=40, deadline=None)
@given(
    start=st.dates(min_value=dt.date(2026, 1, 1), max_value=dt.date(2028, 12, 31)),
    minute=st.sampled_from([0, 15, 30, 45]),
    hour=st.integers(min_value=6, max_value=20),
    protocol=st.sampled_from(["ketamine_iv_standard", "esketamine_trd", "esketamine_mdsi", "ketamine_sublingual"]),
)
def test_it_never_plans_a_session_that_breaks_the_rules(start, minute, hour, protocol):
    phase = get_protocol(protocol).phases[0].name
    result = plan(protocol, phase, start, preferred_time=dt.time(hour, minute), count=6, duration=IV_CHAIR)
    assert result.sessions
    assert_valid(result, protocol)
    for session in result.sessions:
        periods = hours(session.start.date()).periods
        assert any(o <= session.start.time() and session.end.time() <= c for o, c in periods)
