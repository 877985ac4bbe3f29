"""Fixtures for the scheduling tests: site A's hours, chairs and rooms, staff on shift, patients and a frozen clock.

The clock stands at Wednesday 2026-10-28 07:00 in Chicago (site A's zone), the week before the US DST change of
Sunday 2026-11-01; Monday 2026-11-02 is the first day after it.
"""

from __future__ import annotations

import datetime as dt
import importlib
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import pytest
import time_machine

from ketaclinic.accounts.models import ClosedDay, OpeningHours, Site
from ketaclinic.conftest import Cast
from ketaclinic.patients.models import Patient
from ketaclinic.patients.tests.factories import PatientFactory
from ketaclinic.scheduling.models import AppointmentType, Resource, StaffShift

CHICAGO = ZoneInfo("America/Chicago")
NOW = dt.datetime(2026, 10, 28, 7, 0, tzinfo=CHICAGO)


def at(day: str, time: str, zone: dt.tzinfo = CHICAGO) -> dt.datetime:
    """An aware datetime from a local date and time, e.g. at("2026-11-02", "10:00")."""
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time.fromisoformat(time), tzinfo=zone)


@pytest.fixture(autouse=True)
def _frozen_clock() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


def ensure_appointment_types() -> None:
    """Re-create the seeded appointment types (a transactional test starts after another one's flush emptied them)."""
    from django.apps import apps

    importlib.import_module("ketaclinic.scheduling.migrations.0002_appointment_types").seed_types(apps, None)


def open_site(site: Site, *, saturday: bool = True) -> Site:
    for weekday in range(5):
        OpeningHours.objects.create(site=site, weekday=weekday, opens_at=dt.time(8), closes_at=dt.time(18))
    if saturday:
        OpeningHours.objects.create(site=site, weekday=5, opens_at=dt.time(9), closes_at=dt.time(13))
    ClosedDay.objects.create(site=site, date=dt.date(2026, 12, 25), reason="Christmas Day")
    return site


def put_on_shift(user, site: Site, role: str, first: dt.date, last: dt.date, hours=("08:00", "18:00")) -> None:
    """Shifts for ``user`` on every weekday from ``first`` to ``last``."""
    day = first
    while day <= last:
        if day.weekday() < 5:
            StaffShift.objects.create(
                user=user,
                site=site,
                role_on_shift=role,
                starts_at=at(day.isoformat(), hours[0], site.zone),
                ends_at=at(day.isoformat(), hours[1], site.zone),
            )
        day += dt.timedelta(days=1)


@pytest.fixture
def site(cast: Cast) -> Site:
    return open_site(cast.site_a)


@pytest.fixture
def chairs(site: Site) -> list[Resource]:
    return [
        Resource.objects.create(site=site, kind="infusion_chair", name=f"Chair {n}", monitor_label=f"Monitor M{n}")
        for n in (1, 2, 3)
    ]


@pytest.fixture
def rooms(site: Site) -> dict[str, Resource]:
    return {
        kind: Resource.objects.create(site=site, kind=kind, name=name)
        for kind, name in (
            ("treatment_room", "Treatment room 1"),
            ("therapy_room", "Therapy room 1"),
            ("consult_room", "Consult room 1"),
        )
    }


@pytest.fixture
def staffed(cast: Cast, site: Site) -> None:
    """Nurse, prescriber and therapist on weekday shifts 08:00–18:00 from 2026-10-26 to 2027-03-31."""
    first, last = dt.date(2026, 10, 26), dt.date(2027, 3, 31)
    put_on_shift(cast.nurse, site, "nurse", first, last)
    put_on_shift(cast.prescriber, site, "prescriber", first, last)
    put_on_shift(cast.therapist, site, "therapist", first, last)


@pytest.fixture
def clinic(site, chairs, rooms, staffed) -> Site:
    """Site A open, with its chairs and rooms and its staff on shift."""
    return site


@pytest.fixture
def types(db: None) -> dict[str, AppointmentType]:
    return {t.code: t for t in AppointmentType.objects.all()}


@pytest.fixture
def patient(cast: Cast) -> Patient:
    return PatientFactory.create(
        site=cast.site_a,
        legal_first_name="Morgan",
        legal_last_name="Quill",
        phone="555-0100",
        email="morgan@example.invalid",
    )


@pytest.fixture
def other_patient(cast: Cast) -> Patient:
    return PatientFactory.create(site=cast.site_a, legal_first_name="Robin", legal_last_name="Vale")


@pytest.fixture
def patient_b(cast: Cast) -> Patient:
    return PatientFactory.create(site=cast.site_b, legal_first_name="Other", legal_last_name="Site")
