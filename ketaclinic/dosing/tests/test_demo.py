"""The demo's session day: every state on today's board, realistic vitals, one open alert, stock that balances."""

from __future__ import annotations

import datetime as dt
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command

from ketaclinic.dosing.board import day_board
from ketaclinic.dosing.models import DosingSession, LotMovement, RemsForm, SessionAlert, SessionState, VitalSign
from ketaclinic.dosing.stock import on_hand_mg
from ketaclinic.dosing.tests.conftest import NOW
from ketaclinic.tasks.models import Task

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "at",
    [NOW, dt.datetime(2026, 10, 25, 8, 0, tzinfo=dt.UTC)],
    ids=["wednesday-morning", "sunday-before-dawn"],
)
def test_the_demo_puts_a_session_in_every_state_on_todays_board(at: dt.datetime, frozen_clock: Any) -> None:
    frozen_clock.move_to(at)  # the day is placed around the moment of seeding, whatever the clinic's hours
    out = StringIO()
    call_command("seed_demo", stdout=out)
    sessions = DosingSession.objects.filter(site__code="riverside")
    assert set(sessions.values_list("state", flat=True)) == set(SessionState.values)
    # Realistic monitoring: the discharged esketamine session has its 40-minute reading and a REMS form due.
    done = sessions.get(state="discharged", discharge__disposition="home")
    assert done.route == "esketamine_nasal" and RemsForm.objects.filter(session=done, submitted_at=None).exists()
    assert VitalSign.objects.filter(session=done, timepoint_min=40).exists()
    # A patient who left against medical advice, with the prescriber's follow-up call on the task list.
    left = sessions.get(state="discharged", discharge__disposition="against_advice")
    assert (
        left.route == "esketamine_nasal"
        and left.discharge.minutes_observed == 70
        and left.discharge.prescriber_notified.username == "dr.rivera"
    )
    assert Task.objects.filter(source_type="dosing.discharge", source_id=left.discharge.pk, status="open").exists()
    # Exactly one open alert: the 40-minute blood-pressure rise of the session in monitoring.
    alert = SessionAlert.objects.get(acknowledged_at=None)
    assert (alert.session.state, alert.code) == ("monitoring", "safety.alert.bp_rise")
    # The doses drew from the stock log and no lot is below zero.
    assert LotMovement.objects.filter(kind="administered").exists()
    assert all(on_hand_mg(lot) >= 0 for lot in sessions.first().site.drug_lots.all())
    board = day_board(done.site)
    assert sum(1 for row in board.rows if row.session is not None) >= len(SessionState.values)

    call_command("seed_demo", stdout=StringIO())
    assert DosingSession.objects.filter(site__code="riverside").count() == sessions.count()
