"""Session-day actions: opening, check-in, baseline vitals, the pre-dose gate, review, override, pre-session screen."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction

from ketaclinic.audit.models import AuditEvent
from ketaclinic.conftest import Cast
from ketaclinic.dosing import actions
from ketaclinic.dosing.actions import DosingError, StaleSessionError
from ketaclinic.dosing.models import CheckIn, DosingSession, HoldOverride, VitalSign
from ketaclinic.dosing.tests.conftest import CALM, NOW, book_today, checklist, gate
from ketaclinic.measures.actions import record_response
from ketaclinic.scheduling.actions import book_appointment
from ketaclinic.scheduling.models import Appointment, AppointmentType
from ketaclinic.tasks.actions import close_risk_followup
from ketaclinic.tasks.models import Task

pytestmark = pytest.mark.django_db
MakeSession = Callable[..., DosingSession]
REASON = "Rechecked after rest, asymptomatic; benefit outweighs the risk today."


# --- open_session ----------------------------------------------------------------------------------------------------


def test_it_opens_one_session_per_appointment(make_session: MakeSession, clinic: Cast) -> None:
    session = make_session(checked_in=False)
    again = actions.open_session(session.appointment, by=clinic.nurse)
    assert again.pk == session.pk
    assert (session.state, session.route, session.patient_id) == ("booked", "iv", session.appointment.patient_id)
    assert AuditEvent.objects.filter(object_type="dosing.dosingsession", action="create").count() == 1


def test_it_copies_the_course_route(make_session: MakeSession) -> None:
    assert make_session(route="esketamine_nasal", checked_in=False).route == "esketamine_nasal"


def test_it_refuses_to_open_non_dosing_or_closed_appointments(make_session: MakeSession, clinic: Cast) -> None:
    session = make_session(checked_in=False)
    consult = AppointmentType.objects.create(code="phone-check", name="Phone check", duration_min=15)
    start = session.appointment.starts_at + dt.timedelta(hours=3)
    other = book_appointment(patient=session.patient, appointment_type=consult, start=start, by=clinic.coordinator)
    with pytest.raises(DosingError, match="appointment: not a dosing appointment"):
        actions.open_session(other, by=clinic.nurse)
    cancelled = book_today(session.patient, clinic, hour=15)
    Appointment.objects.filter(pk=cancelled.pk).update(status="cancelled")
    with pytest.raises(DosingError, match="cancelled appointment has no session"):
        actions.open_session(cancelled, by=clinic.nurse)


def test_it_refuses_roles_that_do_not_record_sessions(make_session: MakeSession, clinic: Cast) -> None:
    session = make_session(checked_in=False)
    with pytest.raises(PermissionDenied):
        actions.open_session(session.appointment, by=clinic.therapist)


# --- check_in -------------------------------------------------------------------------------------------------------


def test_it_checks_the_patient_and_the_appointment_in(make_session: MakeSession, clinic: Cast) -> None:
    session = make_session()
    session.appointment.refresh_from_db()
    assert (session.state, session.checked_in_by, session.version) == ("checked_in", clinic.nurse, 2)
    assert session.appointment.status == "checked_in"
    checkin = session.checkin
    assert (checkin.weight_kg, checkin.consent_valid, checkin.escort_confirmed) == (Decimal("80.0"), True, True)


def test_it_keeps_an_appointment_the_front_desk_checked_in(make_session: MakeSession, clinic: Cast) -> None:
    session = make_session(checked_in=False)
    Appointment.objects.filter(pk=session.appointment_id).update(status="checked_in")
    session.refresh_from_db()
    actions.check_in(session, by=clinic.nurse, **checklist())
    session.refresh_from_db()
    assert session.state == "checked_in"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"identity_confirmed": False}, "identity_confirmed: confirm"),
        ({"weight_kg": 0}, "weight_kg: must be above 0 and at most 350 kg"),
        ({"weight_kg": 351}, "weight_kg: must be above 0 and at most 350 kg"),
        ({"weight_kg": "heavy"}, "weight_kg: must be above 0"),
        ({"pregnancy_test": "maybe"}, "pregnancy_test: one of n/a, negative, positive"),
        ({"benzodiazepine_held": "?"}, "benzodiazepine_held: one of yes, no, not_ordered"),
        ({"new_medications_or_substances": True}, "new_medications_text: describe"),
        ({"escort_name": ""}, "escort_name: a confirmed escort needs a name"),
        ({"last_food_at": NOW + dt.timedelta(hours=1)}, "last_food_at: cannot be in the future"),
        ({"last_liquid_at": dt.datetime(2026, 10, 21, 8)}, "last_liquid_at: a date and time is needed"),
    ],
)
def test_it_refuses_an_invalid_checklist(
    make_session: MakeSession, clinic: Cast, change: dict[str, Any], message: str
) -> None:
    session = make_session(checked_in=False)
    with pytest.raises(DosingError, match=message):
        actions.check_in(session, by=clinic.nurse, **checklist(**change))
    session.refresh_from_db()
    assert session.state == "booked"
    assert not CheckIn.objects.exists()


def test_it_refuses_a_second_check_in_and_a_stale_version(make_session: MakeSession, clinic: Cast) -> None:
    session = make_session()
    with pytest.raises(DosingError, match="state: the session is already checked in"):
        actions.check_in(session, by=clinic.nurse, **checklist())
    with pytest.raises(StaleSessionError):
        actions.record_baseline_vitals(session, by=clinic.nurse, vitals=CALM, version=1)


def test_it_refuses_check_in_on_another_day(make_session: MakeSession, clinic: Cast, frozen_clock: Any) -> None:
    session = make_session(checked_in=False)
    frozen_clock.move_to(NOW - dt.timedelta(days=1))
    earlier = NOW - dt.timedelta(days=1, hours=3)
    with pytest.raises(DosingError, match="appointment: check-in is for today's appointments"):
        actions.check_in(session, by=clinic.nurse, **checklist(last_food_at=earlier, last_liquid_at=earlier))


# --- baseline vitals -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("systolic_mmhg", 400, "systolic_mmhg: 400 is outside the allowed range 50–300 mmHg"),
        ("spo2_pct", 120, "spo2_pct: 120 is outside the allowed range 50–100 %"),
        ("heart_rate_bpm", 0, "heart_rate_bpm: 0 is outside the allowed range 20–250 /min"),
        ("diastolic_mmhg", 130, "diastolic_mmhg: 130 must be below systolic_mmhg 122"),
        ("spo2_pct", 97.5, "spo2_pct: a whole number"),
        ("spo2_pct", None, "spo2_pct: required before dosing"),
        ("temperature_c", 37, "temperature_c: not a vital sign of this form"),
    ],
)
def test_it_rejects_implausible_vitals_naming_the_field(
    make_session: MakeSession, clinic: Cast, field: str, value: Any, message: str
) -> None:
    session = make_session()
    with pytest.raises(DosingError, match=message) as refused:
        actions.record_baseline_vitals(session, by=clinic.nurse, vitals={**CALM, field: value})
    assert refused.value.field == field
    assert not VitalSign.objects.exists()


def test_it_refuses_vitals_before_check_in_and_an_unknown_source(make_session: MakeSession, clinic: Cast) -> None:
    with pytest.raises(DosingError, match="state: baseline vitals are taken after check-in"):
        actions.record_baseline_vitals(make_session(checked_in=False), by=clinic.nurse, vitals=CALM)
    with pytest.raises(DosingError, match="source: one of typed, monitor"):
        actions.record_baseline_vitals(make_session(), by=clinic.nurse, vitals=CALM, source="fax")


def test_the_database_refuses_implausible_vitals(make_session: MakeSession, clinic: Cast) -> None:
    session = make_session()
    with pytest.raises(IntegrityError), transaction.atomic():
        VitalSign.objects.create(session=session, systolic_mmhg=400, diastolic_mmhg=80, heart_rate_bpm=70, spo2_pct=98)


def test_it_accepts_alarming_vitals_and_holds(make_session: MakeSession, clinic: Cast) -> None:
    session = make_session()
    decision = gate(session, clinic.nurse, {**CALM, "systolic_mmhg": 185, "diastolic_mmhg": 100})
    assert VitalSign.objects.get().systolic_mmhg == 185
    assert (decision.decision, session.state) == ("hold", "on_hold")
    assert decision.findings[0]["code"] == "safety.predose.bp_hold"
    assert decision.findings[0]["source"] == "clinical.predose_check"
    assert decision.findings[0]["citations"]
    assert not actions.dosing_allowed(session)


# --- the gate -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("route", "vitals", "decision", "state"),
    [
        ("esketamine_nasal", {"systolic_mmhg": 150, "diastolic_mmhg": 92}, "review", "review"),
        ("iv", {"systolic_mmhg": 185, "diastolic_mmhg": 100}, "hold", "on_hold"),
        ("iv", {"spo2_pct": 91}, "hold", "on_hold"),
        ("iv", {}, "go", "cleared"),
        ("esketamine_nasal", {}, "go", "cleared"),
    ],
)
def test_it_gates_the_reference_cases(
    make_session: MakeSession, clinic: Cast, route: str, vitals: dict[str, int], decision: str, state: str
) -> None:
    session = make_session(route=route)
    result = gate(session, clinic.nurse, {**CALM, **vitals})
    assert (result.decision, session.state) == (decision, state)
    assert actions.dosing_allowed(session) is (state == "cleared")


@pytest.mark.parametrize(
    ("check", "code", "level"),
    [
        ({"pregnancy_test": "positive"}, "dosing.pregnancy_positive", "hold"),
        ({"escort_confirmed": False}, "dosing.escort", "hold"),
        ({"last_food_at": NOW - dt.timedelta(minutes=30)}, "safety.fasting", "hold"),
        ({"last_food_at": None}, "safety.fasting", "hold"),
        ({"benzodiazepine_held": "no"}, "dosing.benzodiazepine_not_held", "review"),
        (
            {"new_medications_or_substances": True, "new_medications_text": "Started sertraline"},
            "dosing.new_medications",
            "review",
        ),
    ],
)
def test_it_adds_check_in_findings(
    make_session: MakeSession, clinic: Cast, check: dict[str, Any], code: str, level: str
) -> None:
    session = make_session(**check)
    decision = gate(session, clinic.nurse)
    assert decision.decision == level
    assert [(f["code"], f["level"], f["source"]) for f in decision.findings] == [(code, level, "check-in")]


def test_it_holds_without_a_valid_consent(make_session: MakeSession, clinic: Cast) -> None:
    session = make_session(route="esketamine_nasal", consented=False)
    assert session.checkin.consent_valid is False
    decision = gate(session, clinic.nurse)
    assert decision.findings[0]["code"] == "dosing.consent"
    assert "SPRAVATO REMS" in decision.findings[0]["message"]
    with pytest.raises(DosingError, match="decision: cannot be overridden: No valid consent on file"):
        actions.override_hold(session, by=clinic.prescriber, reason=REASON)
    session.refresh_from_db()
    assert session.state == "on_hold"


def test_it_needs_check_in_and_vitals_before_the_gate(make_session: MakeSession, clinic: Cast) -> None:
    with pytest.raises(DosingError, match="state: the gate runs after check-in"):
        actions.run_predose_gate(make_session(checked_in=False), by=clinic.nurse)
    with pytest.raises(DosingError, match="vitals: record the baseline"):
        actions.run_predose_gate(make_session(), by=clinic.nurse)
    session = make_session()
    VitalSign.objects.create(
        session=session, systolic_mmhg=120, diastolic_mmhg=80, heart_rate_bpm=70, spo2_pct=98, is_baseline=True
    )
    CheckIn.objects.filter(session=session).delete()
    with pytest.raises(DosingError, match="checkin: complete the check-in first"):
        actions.run_predose_gate(session, by=clinic.nurse)


def test_a_new_baseline_needs_a_new_gate(make_session: MakeSession, clinic: Cast) -> None:
    session = make_session()
    gate(session, clinic.nurse)
    assert actions.dosing_allowed(session)
    actions.record_baseline_vitals(session, by=clinic.nurse, vitals=CALM)
    assert not actions.dosing_allowed(session)
    actions.run_predose_gate(session, by=clinic.nurse)
    session.refresh_from_db()
    assert actions.dosing_allowed(session)


def test_a_rerun_gate_clears_a_hold_when_the_vitals_settle(make_session: MakeSession, clinic: Cast) -> None:
    session = make_session()
    gate(session, clinic.nurse, {**CALM, "spo2_pct": 91})
    assert gate(session, clinic.nurse).decision == "go"
    assert session.state == "cleared"


# --- review and override -------------------------------------------------------------------------------------------


def test_a_prescriber_confirms_a_review(make_session: MakeSession, clinic: Cast) -> None:
    session = make_session(route="esketamine_nasal")
    gate(session, clinic.nurse, {**CALM, "systolic_mmhg": 150, "diastolic_mmhg": 92})
    with pytest.raises(PermissionDenied):
        actions.confirm_review(session, by=clinic.nurse, reason=REASON)
    with pytest.raises(DosingError, match="reason: write at least 20 characters"):
        actions.confirm_review(session, by=clinic.prescriber, reason="fine")
    confirmation = actions.confirm_review(session, by=clinic.prescriber, reason=REASON)
    session.refresh_from_db()
    assert (session.state, confirmation.kind) == ("cleared", HoldOverride.Kind.REVIEW_CONFIRMED)
    assert AuditEvent.objects.filter(action="sign", object_type="dosing.holdoverride").exists()
    with pytest.raises(DosingError, match="state: only a session awaiting review"):
        actions.confirm_review(session, by=clinic.prescriber, reason=REASON)


def test_only_a_prescriber_overrides_a_hold_with_a_reason(make_session: MakeSession, clinic: Cast) -> None:
    session = make_session()
    gate(session, clinic.nurse, {**CALM, "systolic_mmhg": 185, "diastolic_mmhg": 100})
    for user in (clinic.nurse, clinic.therapist, clinic.admin):
        with pytest.raises(PermissionDenied):
            actions.override_hold(session, by=user, reason=REASON)
    with pytest.raises(DosingError, match=r"reason: write at least 20 characters \(got 18\)"):
        actions.override_hold(session, by=clinic.prescriber, reason="  too short a reason  ")
    assert not HoldOverride.objects.exists()
    override = actions.override_hold(session, by=clinic.prescriber, reason=REASON)
    session.refresh_from_db()
    assert (session.state, override.prescriber, override.reason) == ("cleared", clinic.prescriber, REASON)
    event = AuditEvent.objects.get(action=AuditEvent.Action.OVERRIDE)
    assert (event.actor, event.patient_id, event.object_id) == (clinic.prescriber, session.patient_id, str(override.pk))
    assert event.detail["codes"] == ["safety.predose.bp_hold"]
    assert REASON not in str(event.detail)
    with pytest.raises(DosingError, match="state: only a session on hold"):
        actions.override_hold(session, by=clinic.prescriber, reason=REASON)


def test_the_database_refuses_a_short_override_reason(make_session: MakeSession, clinic: Cast) -> None:
    session = make_session()
    decision = gate(session, clinic.nurse, {**CALM, "spo2_pct": 91})
    with pytest.raises(IntegrityError), transaction.atomic():
        HoldOverride.objects.create(
            session=session, decision=decision, kind="hold_override", prescriber=clinic.prescriber, reason="short"
        )


# --- the pre-session screen ----------------------------------------------------------------------------------------

NEGATIVE_PHQ9 = [1, 1, 0, 1, 0, 0, 0, 0, 0]
POSITIVE_PHQ9 = [1, 1, 0, 1, 0, 0, 0, 0, 2]
NEGATIVE_CSSRS = {"q1": False, "q2": False, "q6": False}


def test_a_negative_screen_does_not_hold(make_session: MakeSession, clinic: Cast) -> None:
    session = make_session()
    screens = actions.record_predose_screen(
        session, by=clinic.nurse, phq9_answers=NEGATIVE_PHQ9, cssrs_answers=NEGATIVE_CSSRS
    )
    assert [s.positive for s in screens] == [False, False]
    assert [s.response.channel for s in screens] == ["clinic", "clinic"]
    assert gate(session, clinic.nurse).decision == "go"


def test_a_positive_phq9_item_9_raises_a_task_and_blocks_clearing(make_session: MakeSession, clinic: Cast) -> None:
    session = make_session()
    actions.record_predose_screen(session, by=clinic.nurse, phq9_answers=POSITIVE_PHQ9, cssrs_answers=NEGATIVE_CSSRS)
    task = Task.objects.get(kind=Task.Kind.SUICIDE_RISK, patient=session.patient)
    assert task.priority in ("urgent", "high")
    decision = gate(session, clinic.nurse)
    assert (decision.decision, session.state) == ("review", "review")
    assert decision.findings[-1] == {
        "code": "dosing.suicide_screen",
        "level": "review",
        "message": decision.findings[-1]["message"],
        "citations": [],
        "source": "pre-session screen",
    }
    assert not actions.dosing_allowed(session)
    # Closing the task and re-running the gate clears the session.
    close_risk_followup(
        task,
        by=clinic.prescriber,
        assessed_risk="low",
        actions=["safety_plan"],
        note="Assessed in person: no current plan or intent.",
    )
    assert gate(session, clinic.nurse).decision == "go"
    assert actions.dosing_allowed(session)


def test_a_prescriber_confirms_a_positive_screen(make_session: MakeSession, clinic: Cast) -> None:
    session = make_session()
    gate(session, clinic.nurse)
    assert session.state == "cleared"
    actions.record_predose_screen(session, by=clinic.nurse, phq9_answers=POSITIVE_PHQ9, cssrs_answers=NEGATIVE_CSSRS)
    session.refresh_from_db()
    assert session.state == "review"  # the screen after the gate re-ran it
    actions.confirm_review(session, by=clinic.prescriber, reason=REASON)
    session.refresh_from_db()
    assert actions.dosing_allowed(session)
    assert not actions.open_screen_tasks(session)
    assert Task.objects.filter(kind=Task.Kind.SUICIDE_RISK, status="open").exists()  # the task itself stays open


def test_it_rejects_invalid_screen_answers_naming_the_item(make_session: MakeSession, clinic: Cast) -> None:
    session = make_session()
    with pytest.raises(DosingError) as refused:
        actions.record_predose_screen(session, by=clinic.nurse, phq9_answers=[0] * 8 + [4], cssrs_answers={})
    assert "phq9" in str(refused.value)
    session.state = "dosing"
    DosingSession.objects.filter(pk=session.pk).update(state="dosing")
    with pytest.raises(DosingError, match="state: the pre-session screen is taken before the dose"):
        actions.record_predose_screen(
            session, by=clinic.nurse, phq9_answers=NEGATIVE_PHQ9, cssrs_answers=NEGATIVE_CSSRS
        )


def test_it_carries_condition_precautions_into_the_gate(
    make_session: MakeSession, clinic: Cast, monkeypatch: pytest.MonkeyPatch
) -> None:
    precautions = [
        {"code": "eligibility.condition.hypertension_controlled", "message": "Controlled hypertension."},
        {"code": "eligibility.interaction.benzodiazepine", "message": "Benzodiazepine."},
        {"code": "prescriber", "message": "Watch closely."},
    ]
    monkeypatch.setattr(actions, "current_precautions", lambda patient, route: precautions)
    session = make_session()
    decision = gate(session, clinic.nurse, {**CALM, "systolic_mmhg": 150, "diastolic_mmhg": 92})
    assert decision.decision == "review"
    codes = [f["code"] for f in decision.findings]
    assert codes == ["safety.predose.bp_review", "safety.predose.bp_precautions"]
    assert "The patient has hypertension controlled." in decision.findings[0]["message"]


# --- cancel and no-show ---------------------------------------------------------------------------------------------


def test_it_cancels_a_session_and_its_appointment(make_session: MakeSession, clinic: Cast) -> None:
    session = make_session()
    gate(session, clinic.nurse, {**CALM, "spo2_pct": 91})
    with pytest.raises(DosingError, match="reason: say why"):
        actions.cancel_session(session, by=clinic.nurse, reason=" ")
    actions.cancel_session(session, by=clinic.nurse, reason="SpO2 stayed low; rebook next week.")
    session.refresh_from_db()
    session.appointment.refresh_from_db()
    assert (session.state, session.appointment.status) == ("cancelled", "cancelled")
    with pytest.raises(DosingError, match="state: a session that is cancelled cannot be cancelled"):
        actions.cancel_session(session, by=clinic.nurse, reason="again")


def test_it_cancels_a_session_whose_appointment_is_already_cancelled(make_session: MakeSession, clinic: Cast) -> None:
    session = make_session(checked_in=False)
    Appointment.objects.filter(pk=session.appointment_id).update(status="cancelled")
    session.refresh_from_db()
    assert actions.cancel_session(session, by=clinic.nurse, reason="Cancelled by phone.").state == "cancelled"


def test_it_marks_a_no_show_once_the_time_has_begun(make_session: MakeSession, clinic: Cast, frozen_clock: Any) -> None:
    make_session(checked_in=False)  # 09:00, now
    session = make_session(checked_in=False)  # 10:00
    with pytest.raises(DosingError, match="appointment: a no-show can be recorded once the appointment time"):
        actions.mark_no_show(session, by=clinic.nurse)
    frozen_clock.move_to(session.appointment.starts_at + dt.timedelta(minutes=30))
    actions.mark_no_show(session, by=clinic.nurse)
    session.refresh_from_db()
    session.appointment.refresh_from_db()
    assert (session.state, session.appointment.status) == ("no_show", "no_show")
    with pytest.raises(DosingError, match="state: a session that is no-show cannot be a no-show"):
        actions.mark_no_show(session, by=clinic.nurse)


def test_it_keeps_a_front_desk_no_show(make_session: MakeSession, clinic: Cast) -> None:
    session = make_session(checked_in=False)
    Appointment.objects.filter(pk=session.appointment_id).update(status="no_show")
    session.refresh_from_db()
    assert actions.mark_no_show(session, by=clinic.nurse).state == "no_show"


def test_it_gates_on_the_screen_the_patient_took_through_the_portal_this_morning(
    make_session: MakeSession, clinic: Cast
) -> None:
    session = make_session()
    morning = NOW - dt.timedelta(hours=2)  # 07:00 in Chicago, the same clinic day
    yesterday = NOW - dt.timedelta(days=1)
    record_response(
        session.patient, "phq9", NEGATIVE_PHQ9, respondent="patient", channel="portal", completed_at=yesterday
    )
    positive = record_response(
        session.patient, "phq9", POSITIVE_PHQ9, respondent="patient", channel="portal", completed_at=morning
    )
    record_response(session.patient, "gad7", [1] * 7, respondent="patient", channel="portal", completed_at=morning)
    decision = gate(session, clinic.nurse)
    assert session.state == "review"
    assert "dosing.suicide_screen" in [f["code"] for f in decision.findings]
    assert [(s.response_id, s.positive) for s in session.screens.all()] == [(positive.pk, True)]
    gate(session, clinic.nurse)
    assert session.screens.count() == 1  # linked once, however often the gate runs
