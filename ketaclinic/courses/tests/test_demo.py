"""The courses demo: one course per phase at Riverside with dose orders, decisions and sessions; twice adds nothing."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from ketaclinic.accounts import demo as accounts_demo
from ketaclinic.consents.actions import valid_consent
from ketaclinic.courses import demo, sessions
from ketaclinic.courses.models import Course
from ketaclinic.patients import demo as patients_demo
from ketaclinic.scheduling import demo as scheduling_demo
from ketaclinic.scheduling.models import Appointment, Resource
from ketaclinic.screening import demo as screening_demo

#: Wednesday 2 December 2026, 14:00 in Chicago.
WEDNESDAY = dt.datetime(2026, 12, 2, 20, 0, tzinfo=dt.UTC)


@pytest.fixture
def frozen_clock():
    with time_machine.travel(WEDNESDAY, tick=False) as traveller:
        yield traveller


def quiet(_message: str) -> None:
    return None


def test_it_seeds_a_course_in_every_phase_once(db, frozen_clock):
    for module in (accounts_demo, patients_demo, screening_demo, scheduling_demo):
        module.seed(quiet)
    said: list[str] = []
    demo.seed(said.append)
    courses = {c.protocol + ":" + c.status: c for c in Course.objects.select_related("patient", "site")}
    assert set(courses) == {
        "ketamine_iv_standard:induction",
        "esketamine_trd:planned",
        "ketamine_iv_standard:maintenance",
        "ketamine_im:paused",
        "ketamine_intranasal_racemic:completed",
    }
    zone = courses["ketamine_iv_standard:induction"].site.zone

    induction = courses["ketamine_iv_standard:induction"]
    days = [a.starts_at.astimezone(zone).strftime("%a %m-%d %H:%M") for a in sessions.holding(induction)]
    assert days[:3] == ["Mon 11-30 09:00", "Wed 12-02 09:00", "Fri 12-04 09:00"]  # this week
    assert induction.started_at == sessions.holding(induction)[0].starts_at
    assert sessions.sessions_held(induction) == 2

    esketamine = courses["esketamine_trd:planned"]
    assert valid_consent(esketamine.patient, "esketamine_rems") is not None
    assert sessions.holding(esketamine).count() == demo.ESKETAMINE_BOOKED

    maintenance = courses["ketamine_iv_standard:maintenance"]
    assert maintenance.dose_orders.count() == 2
    assert maintenance.decisions.get().decision == "move_to_maintenance"
    assert sessions.upcoming(maintenance) is not None
    assert maintenance.patient.status == "maintenance"

    paused = courses["ketamine_im:paused"]
    assert paused.paused_from == "induction"
    assert courses["ketamine_intranasal_racemic:completed"].ended_at == WEDNESDAY
    assert all("not booked" not in line for line in said), said

    before = (Course.objects.count(), Appointment.objects.count())
    again: list[str] = []
    demo.seed(again.append)
    assert (Course.objects.count(), Appointment.objects.count()) == before
    assert all(line.endswith("already there") for line in again)


def test_it_opens_courses_without_booking_where_the_clinic_has_no_chairs(db, frozen_clock):
    said: list[str] = []
    demo.seed(said.append)
    assert said == ["  courses: the demo site or staff are missing; run the accounts demo first"]
    for module in (accounts_demo, patients_demo, screening_demo):
        module.seed(quiet)
    assert not Resource.objects.exists()
    demo.seed(said.append)
    assert Course.objects.count() == 5
    assert not Appointment.objects.exists()
    assert any("no chairs or rooms at the site (run the scheduling demo)" in line for line in said)
