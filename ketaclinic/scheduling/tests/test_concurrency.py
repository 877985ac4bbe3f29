"""Two people booking the same chair at the same moment on PostgreSQL: exactly one wins, the other gets a clear
conflict, and nothing is half-booked — both through the site lock and, with the lock taken away, through the
database's unique constraints alone."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from ketaclinic.patients.tests.factories import PatientFactory
from ketaclinic.scheduling import actions, planning
from ketaclinic.scheduling.actions import BookingConflict, book_appointment
from ketaclinic.scheduling.models import Appointment, AppointmentType, Reservation
from ketaclinic.scheduling.tests.conftest import at, ensure_appointment_types

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="SQLite serialises write transactions, so two bookings cannot overlap; set DATABASE_URL=postgres://…",
    ),
]


@pytest.fixture(autouse=True)
def _types(transactional_db: None) -> None:
    ensure_appointment_types()


def race(*jobs: Callable[[], Any]) -> list[Any]:
    """Run ``jobs`` in threads at the same moment; each result is its return value or the exception it raised."""
    barrier = threading.Barrier(len(jobs))
    results: list[Any] = [None] * len(jobs)

    def run(index: int, job: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout=10)
            results[index] = job()
        except Exception as exc:  # the test inspects what each side got
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


def two_bookings(clinic, cast) -> list[Callable[[], Any]]:
    iv = AppointmentType.objects.get(code="ketamine_iv")
    chair = clinic.resources.get(name="Chair 1")
    patients = [PatientFactory.create(site=clinic), PatientFactory.create(site=clinic)]

    def booking(patient: Any) -> Callable[[], Any]:
        return lambda: book_appointment(
            patient=patient, appointment_type=iv, start=at("2026-11-02", "10:00"), by=cast.coordinator, resource=chair
        )

    return [booking(p) for p in patients]


def assert_exactly_one_won(results: list[Any]) -> None:
    won = [r for r in results if isinstance(r, Appointment)]
    lost = [r for r in results if isinstance(r, BookingConflict)]
    assert len(won) == 1 and len(lost) == 1, results
    assert lost[0].conflicts == ["Chair 1 is booked 10:00–11:10"]
    assert lost[0].alternatives  # the loser is offered the nearest free times
    assert Appointment.objects.count() == 1
    assert Reservation.objects.count() == 5
    assert set(Reservation.objects.values_list("appointment_id", flat=True)) == {won[0].pk}


def test_two_simultaneous_bookings_of_one_chair_one_wins(clinic, cast):
    assert_exactly_one_won(race(*two_bookings(clinic, cast)))


def test_the_unique_constraints_alone_let_exactly_one_win(clinic, cast, monkeypatch):
    """Without the site lock both requests pass the check; the database refuses the second writer."""
    monkeypatch.setattr(actions, "_lock", lambda site: None)
    checked = threading.Barrier(2)
    waited = threading.local()
    real_check = planning.Horizon.check

    def check_then_wait(self, *args, **kwargs):
        result = real_check(self, *args, **kwargs)
        if not getattr(waited, "done", False):
            waited.done = True
            checked.wait(timeout=10)  # both requests have passed their check before either writes
        return result

    monkeypatch.setattr(planning.Horizon, "check", check_then_wait)
    real_race_conflict = actions._race_conflict
    lost_at_the_database: list[int] = []

    def counted(*args, **kwargs):
        lost_at_the_database.append(1)
        return real_race_conflict(*args, **kwargs)

    monkeypatch.setattr(actions, "_race_conflict", counted)
    results = race(*two_bookings(clinic, cast))
    assert_exactly_one_won(results)
    assert lost_at_the_database == [1]  # the loser was stopped by the unique constraint, not by the check
