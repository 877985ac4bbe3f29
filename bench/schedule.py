"""Benchmark: plan and book a 6-session series for one patient at a site with 8 chairs and 2,000 appointments in the
horizon, against the floor of reading that horizon once with a single indexed query.

    DJANGO_SETTINGS_MODULE=ketaclinic.settings_test .venv/bin/python bench/schedule.py            # SQLite (temp file)
    DATABASE_URL=postgres://user:pass@host/db  … .venv/bin/python bench/schedule.py              # PostgreSQL

It builds its own throwaway database (Django's test-database machinery, under a name of its own, so it never touches a
real database or another run's test database) and drops it at the end. Each measured run is rolled back.

"Plan and book" is what the front desk (or the courses app) does: ``check_series`` on the wanted starts, take the
nearest alternative for any refused one, then ``book_series`` — every start in one transaction, all or nothing.
Reported: p50/p95 over the runs, the SQL queries of one run (at 500 and at 2,000 existing appointments, to show the
count does not grow), and the ratio of p95 to the floor's p95. Target: under 10×.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ketaclinic.settings_test")
_TMP = tempfile.mkdtemp(prefix="ketaclinic-bench-")
os.environ.setdefault("KETACLINIC_VAR_DIR", _TMP)  # static/media scratch space, never the project's var/
if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
    os.environ["DATABASE_URL"] = f"sqlite:///{_TMP}/bench.sqlite3"

import django  # noqa: E402

django.setup()

from django.db import connection, transaction  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

RUNS = int(os.environ.get("BENCH_RUNS", "40"))
CHAIRS = 8
ROOMS = 6
EXISTING = 2000
SMALL = 500
ZONE_NAME = "America/Chicago"
SEED = 2026


class Rollback(Exception):
    pass


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def build() -> dict:
    """The site, staff, rooms, patients, and every position an existing appointment may take (shuffled)."""
    from ketaclinic.accounts.actions import create_staff_member
    from ketaclinic.accounts.models import OpeningHours, Site
    from ketaclinic.accounts.roles import Role
    from ketaclinic.patients.models import Patient
    from ketaclinic.scheduling.models import AppointmentType, Resource, StaffShift

    site = Site.objects.create(code="bench", name="Bench Clinic", time_zone=ZONE_NAME)
    zone = site.zone
    for weekday in range(6):
        OpeningHours.objects.create(site=site, weekday=weekday, opens_at=dt.time(7), closes_at=dt.time(21))
    password = "bench-only-password-not-secret"  # noqa: S105
    coordinator = create_staff_member(username="bench.desk", password=password, roles=[Role.COORDINATOR], sites=[site])
    nurses = [
        create_staff_member(username=f"bench.nurse{i}", password=password, roles=[Role.NURSE], sites=[site])
        for i in (1, 2)
    ]
    prescriber = create_staff_member(username="bench.md", password=password, roles=[Role.PRESCRIBER], sites=[site])
    chairs = [
        Resource.objects.create(site=site, kind="infusion_chair", name=f"Chair {n}") for n in range(1, CHAIRS + 1)
    ]
    rooms = [Resource.objects.create(site=site, kind="consult_room", name=f"Room {n}") for n in range(1, ROOMS + 1)]
    # The horizon: three weeks from the Monday after next, open Monday–Saturday 07:00–21:00.
    today = dt.date.today()
    monday = today + dt.timedelta(days=14 - today.weekday())
    days = [monday + dt.timedelta(days=d) for d in range(19) if (monday + dt.timedelta(days=d)).weekday() < 6]
    shifts = []
    for day in days:
        start = dt.datetime.combine(day, dt.time(7), tzinfo=zone)
        end = dt.datetime.combine(day, dt.time(21), tzinfo=zone)
        shifts += [StaffShift(user=u, site=site, starts_at=start, ends_at=end, role_on_shift="nurse") for u in nurses]
        shifts.append(StaffShift(user=prescriber, site=site, starts_at=start, ends_at=end, role_on_shift="prescriber"))
    StaffShift.objects.bulk_create(shifts)
    patients = Patient.objects.bulk_create(
        [
            Patient(
                site=site,
                mrn=f"BEN-{n:06d}",
                legal_first_name="Bench",
                legal_last_name=f"Patient{n}",
                date_of_birth=dt.date(1980, 1, 1),
            )
            for n in range(1, 402)
        ]
    )
    iv = AppointmentType.objects.get(code="ketamine_iv")
    consult = AppointmentType.objects.get(code="consult")
    chair_positions = [
        (chair, dt.datetime.combine(day, dt.time(7), tzinfo=zone) + dt.timedelta(minutes=75 * k))
        for day in days
        for chair in chairs
        for k in range(11)  # 07:00 … 19:30, each ends by 20:40
    ]
    room_positions = [
        (room, dt.datetime.combine(day, dt.time(7 + k), tzinfo=zone))
        for day in days
        for room in rooms
        for k in range(14)
    ]
    # Keep one chair free at 10:00 on the series' days, so that every run books the same way (no alternatives needed)
    # at 500 and at 2,000 existing appointments alike; the rest of the horizon fills up around it.
    series_days = {monday + dt.timedelta(days=7 * week + offset) for week in range(3) for offset in (0, 3)}
    chair_positions = [
        (chair, start)
        for chair, start in chair_positions
        if not (
            chair == chairs[-1]
            and start.date() in series_days
            and start < dt.datetime.combine(start.date(), dt.time(11, 15), tzinfo=zone)
            and start + dt.timedelta(minutes=75) > dt.datetime.combine(start.date(), dt.time(10), tzinfo=zone)
        )
    ]
    rng = random.Random(SEED)
    rng.shuffle(chair_positions)
    rng.shuffle(room_positions)
    return {
        "site": site,
        "coordinator": coordinator,
        "iv": iv,
        "consult": consult,
        "pool": patients[:-1],
        "series_patient": patients[-1],
        "monday": monday,
        "chair_positions": chair_positions,
        "room_positions": room_positions,
        "added": 0,
    }


def add_existing(world: dict, total: int) -> None:
    """Add existing appointments (3 in 5 IV sessions in chairs, the rest consults in rooms) until ``total`` exist.

    Positions never overlap in a chair or room; a patient who would be booked twice at once is skipped (the unique
    constraint would refuse it) and the next patient takes the position.
    """
    from ketaclinic.scheduling.models import Appointment, Reservation
    from ketaclinic.scheduling.planning import slot_indexes, slot_start

    taken: set[tuple[int, int]] = world.setdefault("taken", set())
    pool = world["pool"]
    kept = []
    while world["added"] + len(kept) < total:
        n = world["added"] + len(kept)
        if n % 5 < 3:
            resource, start = world["chair_positions"][world.setdefault("chair_next", 0)]
            world["chair_next"] += 1
            atype, minutes = world["iv"], 70
        else:
            resource, start = world["room_positions"][world.setdefault("room_next", 0)]
            world["room_next"] += 1
            atype, minutes = world["consult"], 60
        end = start + dt.timedelta(minutes=minutes)
        slots = list(slot_indexes(start, end))
        for attempt in range(len(pool)):
            patient = pool[(world.setdefault("patient_next", 0) + attempt) % len(pool)]
            if not any((patient.pk, i) in taken for i in slots):
                break
        world["patient_next"] = (world["patient_next"] + attempt + 1) % len(pool)
        taken.update((patient.pk, i) for i in slots)
        kept.append(
            Appointment(
                site=world["site"],
                patient=patient,
                appointment_type=atype,
                resource=resource,
                starts_at=start,
                ends_at=end,
                created_by=world["coordinator"],
            )
        )
    Appointment.objects.bulk_create(kept)
    Reservation.objects.bulk_create(
        [
            Reservation(appointment=a, slot_start=slot_start(i), resource=a.resource, patient=a.patient)
            for a in kept
            for i in slot_indexes(a.starts_at, a.ends_at)
        ],
        batch_size=2000,
    )
    world["added"] = total


def wanted_starts(world: dict) -> list[dt.datetime]:
    """Six IV sessions at 10:00: Monday and Thursday of three weeks."""
    zone = world["site"].zone
    monday = world["monday"]
    return [
        dt.datetime.combine(monday + dt.timedelta(days=7 * week + offset), dt.time(10), tzinfo=zone)
        for week in range(3)
        for offset in (0, 3)
    ]


def plan_and_book(world: dict) -> list:
    from ketaclinic.scheduling.actions import book_series, check_series

    starts = wanted_starts(world)
    check = check_series(patient=world["series_patient"], appointment_type=world["iv"], starts=starts)
    chosen = [
        (check.alternatives_by_start[s][0].start if s in check.conflicts_by_start else s)
        for s in starts
        if s not in check.conflicts_by_start or check.alternatives_by_start[s]
    ]
    booked = book_series(
        patient=world["series_patient"], appointment_type=world["iv"], starts=chosen, by=world["coordinator"]
    )
    assert len(booked) == 6, "the series must be booked"
    return booked


def read_horizon(world: dict) -> list:
    """The floor: one indexed query reading the horizon the planner reads (appointment_site_start index)."""
    from ketaclinic.scheduling.models import MAX_APPOINTMENT_MINUTES, Appointment

    starts = wanted_starts(world)
    lo = min(starts) - dt.timedelta(minutes=MAX_APPOINTMENT_MINUTES)
    hi = max(starts) + dt.timedelta(minutes=70)
    return list(
        Appointment.objects.filter(site=world["site"], starts_at__gte=lo, starts_at__lt=hi).values_list(
            "pk", "patient_id", "resource_id", "staff_id", "starts_at", "ends_at", "status"
        )
    )


def timed(action, world: dict) -> float:
    try:
        with transaction.atomic():
            began = time.perf_counter()
            action(world)
            elapsed = time.perf_counter() - began
            raise Rollback
    except Rollback:
        pass
    return elapsed


def queries(action, world: dict) -> int:
    with CaptureQueriesContext(connection) as captured:
        timed(action, world)
    return len(captured) - 2  # less the savepoint/transaction bookkeeping of this harness


def in_horizon(world: dict) -> int:
    from ketaclinic.scheduling.models import Appointment

    starts = wanted_starts(world)
    return Appointment.objects.filter(
        site=world["site"], starts_at__gte=min(starts) - dt.timedelta(days=1), starts_at__lt=max(starts)
    ).count()


def main() -> None:
    settings_db = connection.settings_dict
    vendor = connection.vendor
    settings_db.setdefault("TEST", {})
    settings_db["TEST"]["NAME"] = (
        f"{_TMP}/bench_test.sqlite3" if vendor == "sqlite" else f"bench_schedule_{os.getpid()}"
    )
    print(f"Preparing a throwaway {vendor} database…", flush=True)
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        world = build()
        add_existing(world, SMALL)
        small_counts = {
            "plan and book": queries(plan_and_book, world),
            "floor": queries(read_horizon, world),
        }
        add_existing(world, EXISTING)
        big_counts = {
            "plan and book": queries(plan_and_book, world),
            "floor": queries(read_horizon, world),
        }
        rows_read = len(read_horizon(world))
        for _ in range(3):  # warm up caches and the connection
            timed(plan_and_book, world)
            timed(read_horizon, world)
        op_times, floor_times = [], []
        for _ in range(RUNS):
            op_times.append(timed(plan_and_book, world))
            floor_times.append(timed(read_horizon, world))
        report(vendor, world, rows_read, op_times, floor_times, small_counts, big_counts)
    finally:
        connection.creation.destroy_test_db(settings_db["NAME"], verbosity=0)


def report(vendor, world, rows_read, op_times, floor_times, small_counts, big_counts) -> None:
    from ketaclinic.scheduling.models import Appointment

    ms = 1000
    op50, op95 = statistics.median(op_times) * ms, percentile(op_times, 95) * ms
    fl50, fl95 = statistics.median(floor_times) * ms, percentile(floor_times, 95) * ms
    ratio = op95 / fl95
    print()
    print(f"bench/schedule.py · {vendor} · {os.cpu_count()} CPUs · {RUNS} runs each, rolled back")
    print(
        f"site: {CHAIRS} chairs, {ROOMS} rooms · existing appointments: {Appointment.objects.count()} "
        f"({rows_read} rows in the planner's horizon)"
    )
    print(f"{'':28}{'p50 ms':>10}{'p95 ms':>10}{'queries':>10}")
    print(f"{'plan + book 6 sessions':28}{op50:>10.1f}{op95:>10.1f}{big_counts['plan and book']:>10}")
    print(f"{'floor: read the horizon':28}{fl50:>10.1f}{fl95:>10.1f}{big_counts['floor']:>10}")
    print(f"ratio p95 / floor p95: {ratio:.1f}×  (target < 10×: {'met' if ratio < 10 else 'NOT met'})")
    print(
        f"queries at {SMALL} vs {EXISTING} existing appointments: plan + book {small_counts['plan and book']} vs "
        f"{big_counts['plan and book']}, floor {small_counts['floor']} vs {big_counts['floor']} "
        f"({'constant' if small_counts == big_counts else 'NOT constant'})"
    )


if __name__ == "__main__":
    main()
