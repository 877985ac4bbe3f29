"""The number of SQL queries of searching, checking and booking does not grow with the appointments already booked
(the horizon is read once and planned in Python). ``bench/schedule.py`` measures the time."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from ketaclinic.patients.tests.factories import PatientFactory
from ketaclinic.scheduling.actions import (
    BookingConflict,
    book_appointment,
    book_series,
    check_series,
    find_free_slots,
    move_appointment,
)
from ketaclinic.scheduling.models import Appointment, Reservation, Resource
from ketaclinic.scheduling.planning import slot_indexes, slot_start
from ketaclinic.scheduling.tests.conftest import at

SIX = [at(day, "10:00") for day in ("2026-11-02", "2026-11-04", "2026-11-06", "2026-11-09", "2026-11-11", "2026-11-13")]


class Rollback(Exception):
    pass


def fill(site, types, by, count: int, *, offset: int = 0) -> None:
    """``count`` more non-overlapping consults in a second consult room, weekdays 08:00–17:00 from 2 November."""
    room, _ = Resource.objects.get_or_create(site=site, name="Consult room 2", defaults={"kind": "consult_room"})
    patients = (
        list(PatientFactory.create_batch(5, site=site)) if not offset else list(site.patients.order_by("-pk")[:5])
    )
    rows: list[tuple[dt.datetime, Any]] = []
    day, index = dt.date(2026, 11, 2), 0
    while len(rows) < count + offset:
        if day.weekday() < 5:
            for hour in range(8, 17):
                if len(rows) >= count + offset:
                    break
                start = at(day.isoformat(), f"{hour:02d}:00")
                rows.append((start, patients[index % 5]))
                index += 1
        day += dt.timedelta(days=1)
    appointments = [
        Appointment(
            site=site,
            patient=patient,
            appointment_type=types["consult"],
            resource=room,
            starts_at=start,
            ends_at=start + dt.timedelta(minutes=60),
            created_by=by,
        )
        for start, patient in rows[offset:]
    ]
    Appointment.objects.bulk_create(appointments)
    Reservation.objects.bulk_create(
        [
            Reservation(appointment=a, slot_start=slot_start(i), resource=room, patient=a.patient)
            for a in appointments
            for i in slot_indexes(a.starts_at, a.ends_at)
        ]
    )


def queries(action: Callable[[], Any]) -> int:
    """How many queries ``action`` runs (its writes rolled back afterwards)."""
    with CaptureQueriesContext(connection) as captured:
        try:
            with transaction.atomic():
                with contextlib.suppress(BookingConflict):
                    action()
                raise Rollback
        except Rollback:
            pass
    return len(captured)


@pytest.fixture
def operations(clinic, types, patient, cast):
    iv = types["ketamine_iv"]
    booked = book_appointment(
        patient=patient, appointment_type=iv, start=at("2026-11-16", "10:00"), by=cast.coordinator
    )
    return {
        "find_free_slots": lambda: find_free_slots(clinic, iv, earliest=at("2026-11-02", "08:00"), patient=patient),
        "check_series": lambda: check_series(patient=patient, appointment_type=iv, starts=SIX),
        "book_series": lambda: book_series(patient=patient, appointment_type=iv, starts=SIX, by=cast.coordinator),
        "book_series refused": lambda: book_series(
            patient=patient, appointment_type=iv, starts=[*SIX, at("2026-12-25", "10:00")], by=cast.coordinator
        ),
        "book_appointment": lambda: book_appointment(
            patient=patient, appointment_type=iv, start=SIX[0], by=cast.coordinator
        ),
        "book_appointment refused": lambda: book_appointment(
            patient=patient, appointment_type=iv, start=at("2026-12-25", "10:00"), by=cast.coordinator
        ),
        "move_appointment": lambda: move_appointment(booked, new_start=SIX[2], by=cast.coordinator),
    }


def test_the_number_of_queries_does_not_grow_with_the_booked_appointments(clinic, types, cast, operations):
    fill(clinic, types, cast.coordinator, 20)
    few = {name: queries(op) for name, op in operations.items()}
    fill(clinic, types, cast.coordinator, 300, offset=20)
    assert Appointment.objects.count() == 321
    many = {name: queries(op) for name, op in operations.items()}
    assert many == few
    # a handful of reads (hours, closed days, policy, rooms, shifts, appointments) plus the savepoint of this test
    assert few["find_free_slots"] <= 10
    assert few["check_series"] <= 10


def test_the_calendars_run_a_constant_number_of_queries(client, clinic, types, cast):
    client.force_login(cast.coordinator)
    client.get(reverse("home"))  # the session's first request stores the acting site in it, once
    fill(clinic, types, cast.coordinator, 9)
    counts = {}
    for size in (9, 45):
        if size == 45:
            fill(clinic, types, cast.coordinator, 36, offset=9)
        counts[size] = [
            _count(client, reverse("scheduling:day") + "?date=2026-11-02"),
            _count(client, reverse("scheduling:week") + "?date=2026-11-02"),
            _count(client, reverse("scheduling:desk") + "?date=2026-11-02"),
        ]
    assert counts[9] == counts[45]


def _count(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)
