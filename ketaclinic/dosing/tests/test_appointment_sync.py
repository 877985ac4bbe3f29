"""A session follows its appointment when the front desk cancels it or records a no-show, and a started dose
cannot be cancelled from the calendar."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from ketaclinic.audit.models import AuditEvent
from ketaclinic.conftest import Cast
from ketaclinic.dosing.models import DosingSession
from ketaclinic.dosing.tests.conftest import gate
from ketaclinic.scheduling import actions as scheduling

pytestmark = pytest.mark.django_db


def test_it_cancels_the_session_when_the_front_desk_cancels_the_appointment(make_session: Any, clinic: Cast) -> None:
    session = make_session()
    gate(session, clinic.nurse)
    scheduling.cancel_appointment(session.appointment, by=clinic.coordinator, reason="Patient phoned: unwell.")
    session.refresh_from_db()
    assert session.state == "cancelled"
    event = AuditEvent.objects.filter(object_type="dosing.dosingsession", object_id=str(session.pk)).latest("pk")
    assert event.actor_username == clinic.coordinator.username
    assert event.detail == {"state": "cancelled", "via": "appointment"}


def test_it_marks_the_session_a_no_show_with_its_appointment(
    make_session: Any, clinic: Cast, frozen_clock: Any
) -> None:
    session = make_session(checked_in=False)
    frozen_clock.move_to(session.appointment.starts_at + dt.timedelta(minutes=20))
    scheduling.mark_no_show(session.appointment, by=clinic.coordinator)
    session.refresh_from_db()
    assert session.state == "no_show"


def test_it_refuses_to_cancel_an_appointment_whose_dose_has_started(make_session: Any, clinic: Cast) -> None:
    session = make_session()
    DosingSession.objects.filter(pk=session.pk).update(state="dosing")
    with pytest.raises(ValueError, match="the dosing session is dosing: it cannot be cancelled; record its discharge"):
        scheduling.cancel_appointment(session.appointment, by=clinic.coordinator, reason="Mistake.")
    session.appointment.refresh_from_db()
    session.refresh_from_db()
    assert (session.appointment.status, session.state) == ("checked_in", "dosing")


def test_it_leaves_appointments_without_a_session_alone(make_session: Any, clinic: Cast) -> None:
    session = make_session(checked_in=False)
    other = session.appointment
    DosingSession.objects.filter(pk=session.pk).delete()
    scheduling.cancel_appointment(other, by=clinic.coordinator, reason="Rebooked.")
    other.refresh_from_db()
    assert other.status == "cancelled"


def test_it_ignores_status_changes_that_do_not_end_a_session(make_session: Any, clinic: Cast) -> None:
    session = make_session(checked_in=False)
    scheduling.check_in(session.appointment, by=clinic.coordinator)
    session.refresh_from_db()
    assert session.state == "booked"
