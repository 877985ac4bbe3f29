"""The planner behind the booking API: which starts are valid, and why the others are not.

:class:`Horizon` reads everything it needs about one site over a window of time in a fixed number of queries (opening
hours, closed days, policy, resources, shifts, and the appointments that hold a chair, the patient or a clinician),
then answers every question in Python. The number of queries of a search or a series check therefore does not grow
with the number of appointments already booked (``bench/schedule.py`` measures it).

Rules checked for a start (all in the site's time zone): the site is open that day and the appointment ends by
closing time; a chair or room of the right kind is free; the patient is not booked elsewhere; a nurse is on shift
and the nurse-to-patient ratio holds for dosing sessions; a prescriber is on site when the type needs one; the booked
clinician is on shift and free. The clinical spacing of a course's sessions is the courses app's rule, not this one.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from django.db.models import Q
from django.utils import timezone

from ketaclinic.accounts.models import ClosedDay, OpeningHours, Site
from ketaclinic.scheduling.models import (
    MAX_APPOINTMENT_MINUTES,
    SLOT,
    SLOT_MINUTES,
    Appointment,
    AppointmentType,
    Resource,
    ResourceKind,
    ShiftRole,
    SitePolicy,
    StaffShift,
)

SLOT_SECONDS = SLOT_MINUTES * 60
#: How far before and after a refused start the nearest alternatives are looked for.
ALTERNATIVES_BEFORE = dt.timedelta(days=3)
ALTERNATIVES_AFTER = dt.timedelta(days=14)
ALTERNATIVES_COUNT = 5
ALTERNATIVES_PER_DAY = 2
MAX_APPOINTMENT = dt.timedelta(minutes=MAX_APPOINTMENT_MINUTES)


@dataclass
class Slot:
    """A start the clinic can book: its end (start + duration + recovery), the chair or room and the clinician."""

    start: dt.datetime
    end: dt.datetime
    resource: Resource | None
    staff: Any | None  # accounts.User

    def label(self, zone: dt.tzinfo) -> str:
        """e.g. "Tue 03 Nov 10:15–11:25 · Chair 2" in the site's time zone."""
        local = self.start.astimezone(zone)
        text = f"{local:%a %d %b} {local:%H:%M}–{self.end.astimezone(zone):%H:%M}"
        if self.resource is not None:
            text += f" · {self.resource.name}"
        if self.staff is not None:
            text += f" · {self.staff}"
        return text


class BookingConflict(Exception):
    """A booking (or a series) that cannot be made, with every reason and the nearest starts that would work.

    ``conflicts`` name what clashes ("Chair 3 is booked 10:00–11:10", "closed on 2026-12-25 (Christmas Day)");
    ``alternatives`` are the nearest valid slots (for a series: those of its first refused start);
    ``alternatives_by_start`` and ``conflicts_by_start`` give them for each refused start of a series.
    """

    def __init__(
        self,
        message: str,
        conflicts: list[str],
        alternatives: list[Slot] | None = None,
        *,
        alternatives_by_start: dict[dt.datetime, list[Slot]] | None = None,
        conflicts_by_start: dict[dt.datetime, list[str]] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.conflicts = conflicts
        self.alternatives = alternatives if alternatives is not None else []
        self.alternatives_by_start = alternatives_by_start if alternatives_by_start is not None else {}
        self.conflicts_by_start = conflicts_by_start if conflicts_by_start is not None else {}

    def __str__(self) -> str:
        return self.message


def slot_index(moment: dt.datetime) -> int:
    """The quarter hour containing ``moment`` (counted from the Unix epoch)."""
    return int(moment.timestamp()) // SLOT_SECONDS


def slot_indexes(start: dt.datetime, end: dt.datetime) -> range:
    """Every quarter hour that ``[start, end)`` touches."""
    return range(slot_index(start), -(-int(end.timestamp()) // SLOT_SECONDS))


def slot_start(index: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(index * SLOT_SECONDS, tz=dt.UTC)


def is_quarter_hour(moment: dt.datetime) -> bool:
    return moment.second == 0 and moment.microsecond == 0 and int(moment.timestamp()) % SLOT_SECONDS == 0


def next_quarter_hour(moment: dt.datetime) -> dt.datetime:
    """``moment`` rounded up to a quarter hour (unchanged when it is one)."""
    seconds = -(-int(moment.timestamp()) // SLOT_SECONDS) * SLOT_SECONDS
    if seconds < moment.timestamp():
        seconds += SLOT_SECONDS
    return dt.datetime.fromtimestamp(seconds, tz=dt.UTC)


class Held(NamedTuple):
    """An appointment (booked, or planned in this run) as the planner sees it (a tuple: thousands are made)."""

    id: int | None
    site_id: int
    patient_id: int | None  # None: it does not take the patient's time (dosing-day support)
    resource_id: int | None
    staff_id: int | None
    starts_at: dt.datetime
    ends_at: dt.datetime
    is_dosing: bool


@dataclass
class Check:
    """The outcome of checking one start: the problems, or the slot that would be booked."""

    start: dt.datetime
    problems: list[str] = field(default_factory=list)
    slot: Slot | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


class Horizon:
    """One site's schedule between ``lo`` and ``hi``, read once; answers "can this start be booked, and how?".

    ``patient_ids`` and ``staff`` are the people whose other appointments (at any site) must be avoided; the
    therapists and other staff on shift at the site are added automatically. ``exclude`` are appointment ids to
    ignore (the one being moved).
    """

    def __init__(
        self,
        site: Site,
        lo: dt.datetime,
        hi: dt.datetime,
        *,
        patient_ids: Iterable[int] = (),
        staff: Iterable[Any] = (),
        exclude: Iterable[int] = (),
    ) -> None:
        self.site = site
        self.zone = site.zone
        self.lo, self.hi = lo, hi
        local_lo, local_hi = lo.astimezone(self.zone).date(), hi.astimezone(self.zone).date()
        self.hours: dict[int, list[tuple[dt.time, dt.time]]] = defaultdict(list)
        for weekday, opens, closes in (
            OpeningHours.objects.filter(site=site)
            .order_by("weekday", "opens_at")
            .values_list("weekday", "opens_at", "closes_at")
        ):
            self.hours[weekday].append((opens, closes))
        self.closed: dict[dt.date, str] = dict(
            ClosedDay.objects.filter(
                site=site, date__gte=local_lo - dt.timedelta(days=1), date__lte=local_hi + dt.timedelta(days=1)
            )
            .order_by()
            .values_list("date", "reason")
        )
        self.policy: SitePolicy = SitePolicy.objects.filter(site=site).first() or SitePolicy(site=site)
        self.resources: list[Resource] = list(Resource.objects.filter(site=site).order_by("name", "pk"))
        self.resource_by_id = {r.pk: r for r in self.resources}

        self.users: dict[int, Any] = {u.pk: u for u in staff if u is not None}
        # on_shift[(slot, role)] = ids of the staff on shift in that role for the whole quarter hour. One flat dict of
        # tuples: thousands of small sets would each be tracked by the garbage collector and slow every request.
        self.on_shift: dict[tuple[int, str], tuple[int, ...]] = {}
        for shift in StaffShift.objects.filter(site=site, starts_at__lt=hi, ends_at__gt=lo).select_related("user"):
            self.users.setdefault(shift.user_id, shift.user)
            first = -(-int(shift.starts_at.timestamp()) // SLOT_SECONDS)
            for index in range(first, slot_index(shift.ends_at)):
                key = (index, shift.role_on_shift)
                self.on_shift[key] = (*self.on_shift.get(key, ()), shift.user_id)

        self.patient_ids = set(patient_ids)
        staff_ids = set(self.users)
        excluded = set(exclude)
        self.res_busy: dict[int, dict[int, Held]] = defaultdict(dict)
        self.patient_busy: dict[int, dict[int, Held]] = defaultdict(dict)
        self.staff_busy: dict[int, dict[int, Held]] = defaultdict(dict)
        self.dosing: Counter[int] = Counter()
        who = Q(site=site) | Q(patient_id__in=self.patient_ids) | Q(staff_id__in=staff_ids)
        rows = (
            Appointment.objects.filter(
                who,
                status__in=Appointment.HOLDING,
                starts_at__gte=lo - MAX_APPOINTMENT,
                starts_at__lt=hi,
                ends_at__gt=lo,
            )
            .exclude(pk__in=excluded)
            .values_list(
                "pk",
                "site_id",
                "patient_id",
                "resource_id",
                "staff_id",
                "starts_at",
                "ends_at",
                "appointment_type__is_dosing",
                "appointment_type__accompanies_dosing",
            )
        )
        for pk, site_id, patient_id, resource_id, staff_id, starts_at, ends_at, is_dosing, accompanies in rows:
            self.hold(
                Held(
                    pk,
                    site_id,
                    None if accompanies else patient_id,
                    resource_id,
                    staff_id,
                    starts_at,
                    ends_at,
                    is_dosing,
                )
            )

    # --- occupancy --------------------------------------------------------------------------------------------

    def hold(self, held: Held) -> None:
        """Count ``held`` as occupying its chair, patient and clinician (also for starts planned in this run)."""
        slots = slot_indexes(held.starts_at, held.ends_at)
        if held.site_id == self.site.pk:
            if held.resource_id is not None:
                busy = self.res_busy[held.resource_id]
                for index in slots:
                    busy[index] = held
            if held.is_dosing:
                dosing = self.dosing
                for index in slots:
                    dosing[index] += 1
        if held.patient_id is not None and held.patient_id in self.patient_ids:
            busy = self.patient_busy[held.patient_id]
            for index in slots:
                busy[index] = held
        if held.staff_id is not None and held.staff_id in self.users:
            busy = self.staff_busy[held.staff_id]
            for index in slots:
                busy[index] = held

    def hold_slot(self, slot: Slot, appointment_type: AppointmentType, patient_id: int) -> None:
        self.hold(
            Held(
                None,
                self.site.pk,
                None if appointment_type.accompanies_dosing else patient_id,
                slot.resource.pk if slot.resource is not None else None,
                slot.staff.pk if slot.staff is not None else None,
                slot.start,
                slot.end,
                appointment_type.is_dosing,
            )
        )

    # --- formatting ---------------------------------------------------------------------------------------------

    def hm(self, moment: dt.datetime) -> str:
        return f"{moment.astimezone(self.zone):%H:%M}"

    def span(self, start: dt.datetime, end: dt.datetime) -> str:
        return f"{self.hm(start)}–{self.hm(end)}"

    def when(self, moment: dt.datetime) -> str:
        """e.g. "Tue 2026-11-03 10:00" in the site's time zone."""
        return f"{moment.astimezone(self.zone):%a %Y-%m-%d %H:%M}"

    # --- opening hours --------------------------------------------------------------------------------------------

    def periods_on(self, day: dt.date) -> list[tuple[dt.datetime, dt.datetime]]:
        """Opening periods on local date ``day`` as aware datetimes (empty when closed)."""
        if day in self.closed:
            return []
        return [
            (dt.datetime.combine(day, opens, tzinfo=self.zone), dt.datetime.combine(day, closes, tzinfo=self.zone))
            for opens, closes in self.hours.get(day.weekday(), [])
        ]

    def opening_problem(self, start: dt.datetime, end: dt.datetime) -> str | None:
        day = start.astimezone(self.zone).date()
        if day in self.closed:
            reason = self.closed[day]
            return f"closed on {day:%Y-%m-%d}" + (f" ({reason})" if reason else "")
        periods = self.periods_on(day)
        if not periods:
            return f"closed on {day:%A} {day:%Y-%m-%d} (no opening hours)"
        if any(opens <= start and end <= closes for opens, closes in periods):
            return None
        hours = ", ".join(self.span(o, c) for o, c in periods)
        return f"outside opening hours {hours} (this visit needs {self.span(start, end)})"

    def candidates(self, lo: dt.datetime, hi: dt.datetime, total: dt.timedelta) -> Iterator[dt.datetime]:
        """Quarter-hour starts from ``lo`` (inclusive) to ``hi`` (exclusive) at which the site is open throughout."""
        day = lo.astimezone(self.zone).date()
        last = hi.astimezone(self.zone).date()
        while day <= last:
            for opens, closes in self.periods_on(day):
                moment = max(next_quarter_hour(opens.astimezone(dt.UTC)), next_quarter_hour(lo))
                while moment < hi and moment + total <= closes:
                    yield moment
                    moment += SLOT
            day += dt.timedelta(days=1)

    # --- the rules ----------------------------------------------------------------------------------------------

    def check(
        self,
        start: dt.datetime,
        appointment_type: AppointmentType,
        *,
        patient_id: int | None,
        resource: Resource | None = None,
        resource_fixed: bool = False,
        staff: Any | None = None,
        staff_fixed: bool = False,
    ) -> Check:
        """Whether ``start`` can be booked; a given ``resource``/``staff`` is required when ``*_fixed``, else
        preferred (a move keeps its chair and therapist when they are free)."""
        end = start + appointment_type.total
        result = Check(start)
        problems = result.problems
        opening = self.opening_problem(start, end)
        if opening:
            problems.append(opening)
        slots = slot_indexes(start, end)
        if patient_id is not None and not appointment_type.accompanies_dosing:
            clash = _first(self.patient_busy.get(patient_id, {}), slots)
            if clash is not None:
                problems.append(f"patient already booked {self.span(clash.starts_at, clash.ends_at)}")
        chosen_resource = self._pick_resource(appointment_type, start, end, slots, resource, resource_fixed, problems)
        self._check_nurse(appointment_type, start, end, slots, problems)
        if appointment_type.needs_prescriber_on_site and not all(
            self.on_shift.get((i, ShiftRole.PRESCRIBER)) for i in slots
        ):
            problems.append(f"no prescriber on site {self.span(start, end)} for the {appointment_type.name.lower()}")
        chosen_staff = self._pick_staff(appointment_type, start, end, slots, staff, staff_fixed, problems)
        if not problems:
            result.slot = Slot(start, end, chosen_resource, chosen_staff)
        return result

    def _pick_resource(
        self,
        appointment_type: AppointmentType,
        start: dt.datetime,
        end: dt.datetime,
        slots: range,
        resource: Resource | None,
        fixed: bool,
        problems: list[str],
    ) -> Resource | None:
        kind = appointment_type.resource_kind
        if not kind:
            return None
        label = ResourceKind(kind).label.lower()
        if fixed and resource is not None:
            clash = _first(self.res_busy.get(resource.pk, {}), slots)
            if clash is None:
                return resource
            problems.append(f"{resource.name} is booked {self.span(clash.starts_at, clash.ends_at)}")
            return None
        pool = [r for r in self.resources if r.kind == kind and r.active]
        if resource is not None:
            pool.sort(key=lambda r: r.pk != resource.pk)
        if not pool:
            problems.append(f"no {label} at {self.site.name}")
            return None
        busy: list[str] = []
        for candidate in pool:
            clash = _first(self.res_busy.get(candidate.pk, {}), slots)
            if clash is None:
                return candidate
            busy.append(f"{candidate.name} is booked {self.span(clash.starts_at, clash.ends_at)}")
        shown = "; ".join(busy[:3]) + ("; …" if len(busy) > 3 else "")
        problems.append(f"every {label} is booked {self.span(start, end)} ({shown})")
        return None

    def _check_nurse(
        self, appointment_type: AppointmentType, start: dt.datetime, end: dt.datetime, slots: range, problems: list[str]
    ) -> None:
        if not appointment_type.needs_nurse:
            return
        ratio = self.policy.nurse_ratio
        for index in slots:
            nurses = len(self.on_shift.get((index, ShiftRole.NURSE), ()))
            if not nurses:
                problems.append(f"no nurse on shift {self.span(start, end)}")
                return
            if appointment_type.is_dosing and self.dosing[index] + 1 > nurses * ratio:
                moment = slot_start(index)
                problems.append(
                    f"nurse ratio 1:{ratio} reached at {self.hm(max(moment, start))} "
                    f"({self.dosing[index]} dosing patients, {nurses} nurse{'s' if nurses > 1 else ''} on shift)"
                )
                return

    def _pick_staff(
        self,
        appointment_type: AppointmentType,
        start: dt.datetime,
        end: dt.datetime,
        slots: range,
        staff: Any | None,
        fixed: bool,
        problems: list[str],
    ) -> Any | None:
        role = ShiftRole.THERAPIST if appointment_type.needs_therapist else None
        if staff is not None and (fixed or not appointment_type.needs_therapist):
            on_shift = all(
                any(staff.pk in self.on_shift.get((i, r), ()) for r in ([role] if role else ShiftRole.values))
                for i in slots
            )
            if not on_shift:
                problems.append(f"{staff} is not on shift{' as a therapist' if role else ''} {self.span(start, end)}")
                return None
            clash = _first(self.staff_busy.get(staff.pk, {}), slots)
            if clash is not None:
                problems.append(f"{staff} is booked {self.span(clash.starts_at, clash.ends_at)}")
                return None
            return staff
        if role is None:
            return None
        ids = set.intersection(*(set(self.on_shift.get((i, role), ())) for i in slots))
        if not ids:
            problems.append(f"no therapist on shift {self.span(start, end)}")
            return None
        pool = sorted((self.users[i] for i in ids), key=lambda u: (str(u), u.pk))
        if staff is not None:
            pool.sort(key=lambda u: u.pk != staff.pk)
        busy: list[str] = []
        for person in pool:
            clash = _first(self.staff_busy.get(person.pk, {}), slots)
            if clash is None:
                return person
            busy.append(f"{person} is booked {self.span(clash.starts_at, clash.ends_at)}")
        problems.append(f"every therapist on shift is booked {self.span(start, end)} ({'; '.join(busy[:3])})")
        return None

    # --- searching ----------------------------------------------------------------------------------------------

    def free_slots(
        self,
        appointment_type: AppointmentType,
        *,
        earliest: dt.datetime,
        latest: dt.datetime,
        patient_id: int | None,
        count: int,
        resource: Resource | None = None,
        staff: Any | None = None,
    ) -> list[Slot]:
        """The first ``count`` bookable starts from ``earliest`` up to ``latest`` (chronological)."""
        found: list[Slot] = []
        for start in self.candidates(earliest, latest, appointment_type.total):
            check = self.check(start, appointment_type, patient_id=patient_id, resource=resource, staff=staff)
            if check.slot is not None:
                found.append(check.slot)
                if len(found) >= count:
                    break
        return found

    def nearest(
        self,
        target: dt.datetime,
        appointment_type: AppointmentType,
        *,
        patient_id: int | None,
        not_before: dt.datetime,
        count: int = ALTERNATIVES_COUNT,
        resource: Resource | None = None,
        staff: Any | None = None,
    ) -> list[Slot]:
        """The ``count`` bookable starts nearest to ``target``, never before ``not_before``, in time order.

        "Nearest" as a coordinator means it: the same day at the closest time first, then the closest days at the
        closest time of day, at most :data:`ALTERNATIVES_PER_DAY` a day, so a closed day offers the days around it.
        """
        lo = max(target - ALTERNATIVES_BEFORE, not_before)
        hi = target + ALTERNATIVES_AFTER
        local = target.astimezone(self.zone)
        minute = local.hour * 60 + local.minute

        def distance(start: dt.datetime) -> tuple[int, int, dt.datetime]:
            there = start.astimezone(self.zone)
            return abs((there.date() - local.date()).days), abs(there.hour * 60 + there.minute - minute), start

        per_day: Counter[dt.date] = Counter()
        found: list[Slot] = []
        for start in sorted(self.candidates(lo, hi, appointment_type.total), key=distance):
            day = start.astimezone(self.zone).date()
            if per_day[day] >= ALTERNATIVES_PER_DAY:
                continue
            check = self.check(start, appointment_type, patient_id=patient_id, resource=resource, staff=staff)
            if check.slot is not None:
                found.append(check.slot)
                per_day[day] += 1
                if len(found) >= count:
                    break
        return sorted(found, key=lambda s: s.start)


def _first(busy: dict[int, Held], slots: range) -> Held | None:
    for index in slots:
        held = busy.get(index)
        if held is not None:
            return held
    return None


def window_for(starts: Sequence[dt.datetime], appointment_type: AppointmentType) -> tuple[dt.datetime, dt.datetime]:
    """The window a set of starts needs read: from their earliest to the end of their latest."""
    return min(starts), max(starts) + appointment_type.total


def alternatives_window(starts: Sequence[dt.datetime]) -> tuple[dt.datetime, dt.datetime]:
    """The window the nearest alternatives of these starts may come from (plus the longest appointment)."""
    return (
        max(min(starts) - ALTERNATIVES_BEFORE, now_quarter()),
        max(starts) + ALTERNATIVES_AFTER + MAX_APPOINTMENT,
    )


def now_quarter() -> dt.datetime:
    """Now, rounded up to the next quarter hour: the earliest start ever offered."""
    return next_quarter_hour(timezone.now())
