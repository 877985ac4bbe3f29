"""Planning the session datetimes of one phase of a course: pure functions, no database, no booking.

:func:`plan_series` walks the calendar from a start date in the site's time zone and proposes one session per
*target day* of a weekly pattern (Mon/Wed/Fri for three a week, Mon/Thu for two, one weekday for weekly or
fortnightly phases). A target day on which the site is closed, or has no opening hours, or that would break the
protocol's spacing (``clinical.check_spacing``: the minimum interval, the sessions per course week, the phase total),
slides to the next day that works before the following target day, so a closed Monday in a twice-weekly esketamine
induction becomes a Tuesday rather than a lost session. Each session keeps the preferred local time (the same wall
clock time across a DST change), moved only as far as needed to fit within the day's opening hours.

The callers in ``actions`` supply the site's hours and closed days, the existing sessions of the course and the
appointment duration; this module only reasons about dates.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from ketaclinic.clinical import ClinicPolicy, Phase, Protocol, SpacingCheck, check_spacing, course_week

#: The default weekly pattern for a phase that allows this many sessions a week (Monday = 0).
DEFAULT_PATTERNS: dict[int, tuple[int, ...]] = {3: (0, 2, 4), 2: (0, 3)}
#: How far a plan may look ahead for an open-ended phase before giving up.
HORIZON_WEEKS = 52
#: Appointments start on quarter hours (the scheduling app's slot).
QUARTER = 15
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True)
class DayHours:
    """A site's opening periods on one local date; ``closed_reason`` says why there are none (holiday …)."""

    periods: tuple[tuple[dt.time, dt.time], ...]
    closed_reason: str = ""


@dataclass(frozen=True)
class PlannedSession:
    """One proposed session: its number in the course, aware start/end in the site zone, week and phase."""

    number: int
    start: dt.datetime
    end: dt.datetime
    course_week: int
    phase: str
    note: str = ""


@dataclass(frozen=True)
class SkippedDay:
    """A target day of the pattern that could not hold a session, and why."""

    day: dt.date
    reason: str


@dataclass(frozen=True)
class SeriesPlan:
    """The proposed sessions of one phase. ``problems`` say why fewer than ``requested`` sessions fit (empty: all
    fit); ``skipped`` lists target days moved or dropped. ``appointment_type`` is the scheduling code to book them as.
    """

    protocol: str
    phase: str
    zone: str
    requested: int
    sessions: tuple[PlannedSession, ...]
    skipped: tuple[SkippedDay, ...]
    problems: tuple[str, ...]
    course_start: dt.datetime | None
    duration_min: int
    appointment_type: str = ""

    @property
    def ok(self) -> bool:
        return not self.problems and len(self.sessions) == self.requested

    @property
    def starts(self) -> list[dt.datetime]:
        return [s.start for s in self.sessions]

    @property
    def first_number(self) -> int:
        return self.sessions[0].number if self.sessions else 1

    def with_type(self, code: str) -> SeriesPlan:
        return dataclasses.replace(self, appointment_type=code)


def find_phase(protocol: Protocol, phase: str | int) -> Phase:
    """The phase named ``phase`` (or at that 0-based index); ``ValueError`` naming ``phase`` and the allowed names."""
    if isinstance(phase, int) and not isinstance(phase, bool) and 0 <= phase < len(protocol.phases):
        return protocol.phases[phase]
    for candidate in protocol.phases:
        if candidate.name == phase:
            return candidate
    names = ", ".join(p.name for p in protocol.phases)
    raise ValueError(f"phase: {phase!r} is not a phase of {protocol.id}; its phases are {names}")


def default_weekdays(phase: Phase, start_date: dt.date) -> tuple[int, ...]:
    """Three a week → Mon/Wed/Fri, two → Mon/Thu, at most one → the weekday of ``start_date``."""
    per_week = math.ceil(phase.sessions_per_week_max)
    return DEFAULT_PATTERNS.get(per_week, (start_date.weekday(),))


def check_weekdays(phase: Phase, weekdays: Sequence[int]) -> tuple[int, ...]:
    """``weekdays`` sorted, if they are distinct weekday numbers 0–6 and no more than the phase allows a week."""
    days = tuple(sorted(set(weekdays)))
    if not days or any(isinstance(d, bool) or not isinstance(d, int) or not 0 <= d <= 6 for d in days):
        raise ValueError("weekdays: choose at least one weekday (0 = Monday … 6 = Sunday)")
    cap = max(1, math.ceil(phase.sessions_per_week_max))
    if len(days) > cap:
        raise ValueError(f"weekdays: the {phase.name} phase allows at most {cap} session(s) a week; {len(days)} chosen")
    return days


def utc(moment: dt.datetime) -> dt.datetime:
    """``moment`` in UTC. Python subtracts two datetimes of the *same* zone on the wall clock (Saturday 09:00 CST to
    Monday 09:00 CDT is "48 h"), so intervals are always measured between UTC times (47 h, as elapsed)."""
    return moment.astimezone(dt.UTC)


def week_origin(course_start: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    """Course week 1 begins at midnight (site time) of the day of session 1, in UTC: course weeks then follow the
    calendar across a DST change (Saturday 09:00 CDT is still a week after Saturday 09:00 CST)."""
    day = course_start.astimezone(zone).date()
    return local(day, dt.time(0), zone).astimezone(dt.UTC)


def week_of(course_start: dt.datetime, moment: dt.datetime, zone: ZoneInfo) -> int:
    """The 1-based course week of ``moment`` (0 before the course starts)."""
    origin = week_origin(course_start, zone)
    return course_week(origin, utc(moment)) if utc(moment) >= origin else 0


def spacing_check(
    protocol: Protocol,
    others: Sequence[dt.datetime],
    proposed: dt.datetime,
    *,
    course_start: dt.datetime | None,
    zone: ZoneInfo,
    policy: ClinicPolicy | None = None,
) -> SpacingCheck:
    """``clinical.check_spacing`` with elapsed-time intervals (UTC) and calendar course weeks (:func:`week_origin`).

    ``course_start`` None: ``proposed`` or the earliest of ``others`` starts the course. Sessions before the course
    start are ignored.
    """
    first = min([utc(s) for s in [*others, proposed]]) if course_start is None else utc(course_start)
    origin = week_origin(first, zone)
    earlier = [utc(s) for s in others if utc(s) >= origin]
    return check_spacing(protocol, earlier, utc(proposed), course_start=origin, policy=policy)


def local(day: dt.date, at: dt.time, zone: ZoneInfo) -> dt.datetime:
    """``day`` at wall-clock ``at`` in ``zone``, normalised (a time skipped by a DST change moves forward)."""
    naive = dt.datetime.combine(day, at)
    return naive.replace(tzinfo=zone).astimezone(dt.UTC).astimezone(zone)


def fit_time(hours: DayHours, preferred: dt.time, duration: dt.timedelta) -> tuple[dt.time | None, str]:
    """The start nearest ``preferred`` at which a session of ``duration`` fits in one opening period, and a note.

    Returns ``(None, reason)`` when no period is long enough (or the site is closed).
    """
    if not hours.periods:
        return None, hours.closed_reason or "closed"
    base = dt.date(2000, 1, 3)  # any date: only the wall-clock arithmetic matters here
    wanted = dt.datetime.combine(base, preferred)
    best: tuple[dt.timedelta, dt.datetime] | None = None
    for opens, closes in hours.periods:
        # Bookings start on quarter hours: the earliest start rounds up, the latest down.
        first = _quarter(dt.datetime.combine(base, opens), up=True)
        last = _quarter(dt.datetime.combine(base, closes) - duration, up=False)
        if last < first:
            continue
        start = min(max(wanted, first), last)
        distance = abs(start - wanted)
        if best is None or distance < best[0]:
            best = (distance, start)
    if best is None:
        minutes = int(duration.total_seconds() // 60)
        return None, f"open for less than the {minutes} min a session needs"
    start_time = best[1].time()
    note = "" if start_time == preferred else f"at {start_time:%H:%M} to fit the opening hours"
    return start_time, note


def _quarter(moment: dt.datetime, *, up: bool) -> dt.datetime:
    minutes = moment.hour * 60 + moment.minute
    if up:
        minutes += moment.second > 0 or moment.microsecond > 0
    steps = -(-minutes // QUARTER) if up else minutes // QUARTER
    return dt.datetime.combine(moment.date(), dt.time()) + dt.timedelta(minutes=steps * QUARTER)


def quarter_starts(hours: DayHours, duration: dt.timedelta) -> list[dt.time]:
    """Every quarter-hour start on a day at which a session of ``duration`` fits in one opening period."""
    base = dt.date(2000, 1, 3)
    out = []
    for opens, closes in hours.periods:
        start = _quarter(dt.datetime.combine(base, opens), up=True)
        end = dt.datetime.combine(base, closes)
        while start + duration <= end:
            out.append(start.time())
            start += dt.timedelta(minutes=QUARTER)
    return out


def _targets(start: dt.date, weekdays: tuple[int, ...], every_weeks: int, horizon: dt.date) -> list[dt.date]:
    week0 = start - dt.timedelta(days=start.weekday())
    out = []
    day = start
    while day <= horizon:
        if day.weekday() in weekdays and ((day - week0).days // 7) % every_weeks == 0:
            out.append(day)
        day += dt.timedelta(days=1)
    return out


def plan_series(
    protocol: Protocol,
    phase: str | int,
    *,
    start_date: dt.date,
    preferred_time: dt.time,
    zone: ZoneInfo,
    hours: Callable[[dt.date], DayHours],
    count: int,
    duration: dt.timedelta,
    weekdays: Sequence[int] | None = None,
    every_weeks: int = 1,
    existing: Sequence[dt.datetime] = (),
    course_start: dt.datetime | None = None,
    first_number: int = 1,
    policy: ClinicPolicy | None = None,
) -> SeriesPlan:
    """Propose ``count`` sessions of ``phase`` from ``start_date`` on (see the module docstring for the walk).

    ``existing`` are the course's other sessions (kept, and spaced against); ``course_start`` the start of course
    week 1 (``None`` before the course has a session: the first proposed session then starts week 1, which only the
    first phase may do). Sessions stay inside the phase's course weeks. Bad arguments raise ``ValueError`` naming the
    argument.
    """
    target_phase = find_phase(protocol, phase)
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 60:
        raise ValueError(f"count: must be a whole number from 1 to 60, got {count!r}")
    if every_weeks not in (1, 2):
        raise ValueError("every_weeks: 1 (weekly) or 2 (every 2 weeks)")
    if every_weeks == 2 and target_phase.sessions_per_week_min >= 1:
        raise ValueError(f"every_weeks: the {target_phase.name} phase needs at least one session a week")
    if duration <= dt.timedelta(0):
        raise ValueError("duration: must be positive")
    if course_start is None and target_phase.first_week != 1:
        raise ValueError(
            f"phase: the course has no session yet, so it starts with its first phase, not {target_phase.name}"
        )
    # A later phase begins at its first course week, whatever start date was asked for.
    window_start = start_date
    if course_start is not None:
        phase_begins = course_start.astimezone(zone).date() + dt.timedelta(weeks=target_phase.first_week - 1)
        window_start = max(start_date, phase_begins)
    days = default_weekdays(target_phase, window_start) if weekdays is None else check_weekdays(target_phase, weekdays)
    horizon = window_start + dt.timedelta(weeks=HORIZON_WEEKS)
    targets = _targets(window_start, days, every_weeks, horizon)

    sessions: list[PlannedSession] = []
    skipped: list[SkippedDay] = []
    problems: list[str] = []
    taken = sorted(existing)
    start_of_course = course_start
    number = first_number
    phase_ended = False
    for index, target in enumerate(targets):
        if len(sessions) >= count or phase_ended:
            break
        window_end = targets[index + 1] if index + 1 < len(targets) else target + dt.timedelta(days=7)
        reasons: list[str] = []
        day = target
        placed: PlannedSession | None = None
        while day < window_end and placed is None:
            placed, reason, phase_ended = _try_day(
                protocol, target_phase, day, preferred_time, zone, hours(day), duration, taken, start_of_course, policy
            )
            if phase_ended:
                break
            if placed is None:
                reasons.append(f"{day:%a %Y-%m-%d}: {reason}")
                day += dt.timedelta(days=1)
        if placed is not None:
            if day != target:
                moved = f"moved from {WEEKDAY_NAMES[target.weekday()]} {target:%Y-%m-%d} ({'; '.join(reasons)})"
                placed = dataclasses.replace(placed, note="; ".join(n for n in (moved, placed.note) if n))
            sessions.append(dataclasses.replace(placed, number=number))
            taken = sorted([*taken, placed.start])
            start_of_course = start_of_course or placed.start
            number += 1
        elif not phase_ended:
            skipped.append(SkippedDay(target, "; ".join(reasons)))
    if len(sessions) < count and phase_ended:
        weeks = (
            f"from course week {target_phase.first_week}"
            if target_phase.last_week is None
            else f"course weeks {target_phase.first_week}–{target_phase.last_week}"
        )
        problems.append(
            f"Only {len(sessions)} of {count} sessions fit in the {target_phase.name} phase ({weeks}); "
            "choose an earlier start or more weekdays."
        )
    elif len(sessions) < count:
        problems.append(f"No room for {count - len(sessions)} more session(s) within {HORIZON_WEEKS} weeks.")
    return SeriesPlan(
        protocol=protocol.id,
        phase=target_phase.name,
        zone=zone.key,
        requested=count,
        sessions=tuple(sessions),
        skipped=tuple(skipped),
        problems=tuple(problems),
        course_start=start_of_course,
        duration_min=int(duration.total_seconds() // 60),
    )


def _try_day(
    protocol: Protocol,
    phase: Phase,
    day: dt.date,
    preferred: dt.time,
    zone: ZoneInfo,
    hours: DayHours,
    duration: dt.timedelta,
    taken: list[dt.datetime],
    course_start: dt.datetime | None,
    policy: ClinicPolicy | None,
) -> tuple[PlannedSession | None, str, bool]:
    """(session or None, why not, whether ``day`` is already past the phase's last week)."""
    at, note = fit_time(hours, preferred, duration)
    start = local(day, at or preferred, zone)
    if (
        course_start is not None
        and phase.last_week is not None
        and week_of(course_start, start, zone) > phase.last_week
    ):
        return None, "after the phase", True
    if at is None:
        return None, note, False
    previous = [s for s in taken if course_start is None or s >= course_start]
    check = spacing_check(protocol, previous, start, course_start=course_start or start, zone=zone, policy=policy)
    if not check.ok:
        return None, check.problems[0], False
    return PlannedSession(0, start, start + duration, check.course_week, phase.name, note), "", False


def check_series(
    protocol: Protocol,
    starts: Sequence[dt.datetime],
    *,
    course_start: dt.datetime | None = None,
    zone: ZoneInfo | None = None,
    policy: ClinicPolicy | None = None,
) -> list[tuple[dt.datetime, tuple[str, ...]]]:
    """Each session of a course against all the others: ``(start, problems)`` in time order (problems may be empty).

    Used after a session moves: the spacing of every other session is checked again.
    """
    ordered = sorted(utc(s) for s in starts)
    if not ordered:
        return []
    first = utc(course_start) if course_start is not None else ordered[0]
    out: list[tuple[dt.datetime, tuple[str, ...]]] = []
    for index, start in enumerate(ordered):
        if start < first:
            out.append((start, ("Before the start of the course.",)))
            continue
        # Each session is checked against the ones before it: a pair too close together is reported on the later
        # one (the one to move), and a later session never makes an earlier one exceed its week or phase.
        earlier = [s for s in ordered[:index] if s >= first]
        check = spacing_check(protocol, earlier, start, course_start=first, zone=zone or ZoneInfo("UTC"), policy=policy)
        out.append((start, check.problems))
    return out
