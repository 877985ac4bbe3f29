"""Leaving without a routine discharge: against medical advice and emergency transfer (record_departure), the
database's rules for each disposition, the prescriber's follow-up task, the audit and the REMS form."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from pypdf import PdfReader

from ketaclinic.audit.models import AuditEvent
from ketaclinic.conftest import Cast
from ketaclinic.dosing import discharge, documents
from ketaclinic.dosing.actions import DosingError, StaleSessionError
from ketaclinic.dosing.board import day_board
from ketaclinic.dosing.discharge import MISSING
from ketaclinic.dosing.models import AdverseEvent, Discharge, DosingSession, RemsForm
from ketaclinic.dosing.tests.session_data import (  # noqa: F401 (fixtures)
    Built,
    at,
    esk_fixture,
    esk_patient_fixture,
    iv_fixture,
    iv_patient_fixture,
    monitored_session,
    observe,
    recover,
    vitals,
)
from ketaclinic.tasks.models import Task

pytestmark = pytest.mark.django_db
AMA = Discharge.Disposition.AGAINST_ADVICE
TRANSFER = Discharge.Disposition.EMERGENCY_TRANSFER
SAID = "Says she feels fine and has to pick up her children; will not wait."
WHY = "Hypertensive crisis 212/124 with chest pain despite labetalol."
ER = "St. Mary's Hospital emergency department"


def leave(built: Built, by: Any = None, **kwargs: Any) -> Discharge:
    values: dict[str, Any] = {
        "disposition": AMA,
        "reason": SAID,
        "risks_explained": True,
        "escort_present": False,
        "prescriber_notified": built.cast.prescriber,
        **kwargs,
    }
    return discharge.record_departure(built.session, by=by or built.cast.nurse, **values)


def transfer(built: Built, **kwargs: Any) -> Discharge:
    values: dict[str, Any] = {"disposition": TRANSFER, "reason": WHY, "destination": ER, **kwargs}
    return leave(built, **{"prescriber_notified": None, "risks_explained": False, **values})


def adverse_event(built: Built) -> AdverseEvent:
    return AdverseEvent.objects.create(
        session=built.session,
        kind="hypertension",
        severity="severe",
        serious=True,
        onset_at=at(35),
        outcome="transferred",
        recorded_by=built.cast.nurse,
    )


# --- Against medical advice -----------------------------------------------------------------------------------------


def test_it_records_a_departure_against_advice_with_what_was_unmet(esk: Built, frozen_clock: Any) -> None:
    vitals(esk.session, 40, timepoint_min=40)
    frozen_clock.move_to(at(57))
    record = leave(esk, version=esk.session.version)
    esk.session.refresh_from_db()
    assert esk.session.state == "discharged"
    assert record.disposition == AMA and record.is_departure and not record.ready
    assert record.discharged_at == at(57) and record.discharged_by == esk.cast.nurse
    assert record.departure_reason == SAID and record.risks_explained and not record.escort_present
    assert record.prescriber_notified == esk.cast.prescriber and record.destination == ""
    # The snapshot: no recovery score yet, the 40-minute vitals, 57 minutes since the first device.
    assert record.recovery is None and record.vitals is not None and record.vitals.recorded_at == at(40)
    assert record.minutes_observed == 57
    codes = [u["code"] for u in record.unmet]
    assert codes == [MISSING, "safety.discharge.symptoms", "safety.discharge.escort", "safety.discharge.observation"]
    assert "Observed 57 min since the first device; at least 120 min are required." in record.unmet[-1]["message"]


def test_it_may_be_recorded_by_a_nurse_before_the_esketamine_two_hours(esk: Built, frozen_clock: Any) -> None:
    # Documentation, not an override: no prescriber permission needed, and the REMS hard stop does not apply.
    recover(esk, minutes=90)
    frozen_clock.move_to(at(90))
    record = leave(esk, escort_present=True)
    assert record.recovery is not None and record.recovery.instrument == "aldrete"
    assert [u["code"] for u in record.unmet] == ["safety.discharge.observation"]
    assert record.escort_present and record.advisories[0].startswith("No driving")


def test_it_raises_an_urgent_task_to_call_the_patient(esk: Built, frozen_clock: Any) -> None:
    frozen_clock.move_to(at(57))
    record = leave(esk)
    task = Task.objects.get(source_type=discharge.DEPARTURE_SOURCE)
    assert task.source_id == str(record.pk) and task.patient_id == esk.session.patient_id
    assert task.priority == Task.Priority.URGENT and task.due_at == at(57) + dt.timedelta(hours=1)
    assert task.title.startswith("Left against medical advice at 10:02") and "Call the patient" in task.detail
    # No clinical free text in the task's title; the reason stays on the session page.
    assert SAID not in task.title and SAID not in task.detail


def test_it_is_audited_with_codes_and_identifiers_only(esk: Built, frozen_clock: Any) -> None:
    frozen_clock.move_to(at(57))
    record = leave(esk)
    event = AuditEvent.objects.get(object_type="dosing.discharge", object_id=str(record.pk))
    assert event.action == "create" and event.patient_id == esk.session.patient_id
    task = Task.objects.get(source_type=discharge.DEPARTURE_SOURCE)
    assert event.detail == {
        "disposition": "against_advice",
        "codes": [u["code"] for u in record.unmet],
        "prescriber_notified": esk.cast.prescriber.pk,
        "task_id": task.pk,
    }
    assert SAID not in str(event.detail)


def test_the_rems_form_records_the_minutes_actually_observed(esk: Built, frozen_clock: Any) -> None:
    frozen_clock.move_to(at(57))
    leave(esk)
    form = RemsForm.objects.get(session=esk.session)
    assert form.values["total_monitoring_min"] == 57
    # Nothing was judged at the end: no recovery score or post-dose vitals, so these are "not recorded", not "yes".
    assert form.values["bp_before_completion"] is None
    assert form.values["vitals_acceptable_before_completion"] is None
    assert "Total monitoring time 57 min is under the required 120 min." in form.problems
    with form.pdf.open("rb") as handle:
        text = " ".join(page.extract_text() for page in PdfReader(handle).pages)
    assert "Left against medical advice at 10:02, 57 min after the start of the dose." in " ".join(text.split())
    assert "57 min" in text


def test_a_racemic_departure_generates_no_rems_form(iv: Built, frozen_clock: Any) -> None:
    frozen_clock.move_to(at(50))
    record = leave(iv)
    assert record.minutes_observed == 10  # from the end of the 40-minute infusion
    assert not RemsForm.objects.filter(session=iv.session).exists()


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"reason": "  wants to go  "}, "departure_reason", r"at least 20 characters \(got 11\)"),
        ({"risks_explained": False}, "risks_explained", "explain the risks to the patient"),
        ({"prescriber_notified": None}, "prescriber_notified", "tell a prescriber and choose who you told"),
        ({"reason": "x" * 2001}, "departure_reason", "at most 2000 characters"),
        ({"risks_explained": "yes"}, "risks_explained", "answer yes or no"),
        ({"disposition": "home"}, "disposition", "a routine discharge uses the discharge form"),
    ],
)
def test_against_advice_refuses_what_is_not_documented(
    esk: Built, frozen_clock: Any, changes: dict[str, Any], field: str, message: str
) -> None:
    frozen_clock.move_to(at(57))
    with pytest.raises(DosingError, match=message) as refused:
        leave(esk, **changes)
    assert refused.value.field == field
    assert not Discharge.objects.exists() and not Task.objects.filter(source_type=discharge.DEPARTURE_SOURCE).exists()


def test_the_prescriber_notified_must_prescribe_at_the_site(esk: Built, frozen_clock: Any) -> None:
    frozen_clock.move_to(at(57))
    with pytest.raises(DosingError, match="a prescriber who works at this site") as refused:
        leave(esk, prescriber_notified=esk.cast.nurse)
    assert refused.value.field == "prescriber_notified"
    esk.cast.prescriber.sites.remove(esk.cast.site_a)
    with pytest.raises(DosingError, match="a prescriber who works at this site"):
        leave(esk)


def test_the_time_it_happened_may_be_given_but_not_in_the_future_or_before_the_dose(
    esk: Built, frozen_clock: Any
) -> None:
    frozen_clock.move_to(at(70))
    with pytest.raises(DosingError, match="cannot be in the future") as future:
        leave(esk, left_at=at(71))
    assert future.value.field == "left_at"
    with pytest.raises(DosingError, match=r"cannot be before the dose started \(09:05\)"):
        leave(esk, left_at=at(-1))
    record = leave(esk, left_at=at(60))
    assert record.discharged_at == at(60) and record.minutes_observed == 60


def test_a_front_desk_user_cannot_record_a_departure(esk: Built, clinic: Cast) -> None:
    with pytest.raises(PermissionDenied):
        leave(esk, by=clinic.coordinator)
    assert not Discharge.objects.exists()


def test_a_stale_version_is_refused(esk: Built) -> None:
    with pytest.raises(StaleSessionError):
        leave(esk, version=esk.session.version - 1)
    assert not Discharge.objects.exists()


def test_it_is_refused_before_the_dose_and_after_discharge(esk: Built, make_session: Any, frozen_clock: Any) -> None:
    with pytest.raises(DosingError, match="after the dose, before discharge") as early:
        leave(Built(make_session(), esk.administration, esk.cast))
    assert early.value.field == "state"
    frozen_clock.move_to(at(57))
    leave(esk)
    with pytest.raises(DosingError, match=r"after the dose, before discharge \(now Discharged\)"):
        leave(esk)


@pytest.mark.parametrize(("route", "what"), [("iv", "stop the infusion"), ("esketamine_nasal", "end the dose")])
def test_it_is_refused_while_the_dose_is_running(esk: Built, iv: Built, route: str, what: str) -> None:
    built = iv if route == "iv" else esk
    DosingSession.objects.filter(pk=built.session.pk).update(state="dosing")
    built.session.refresh_from_db()
    with pytest.raises(DosingError, match=f"the dose is still running: {what}") as running:
        leave(built)
    assert running.value.field == "state"


def test_the_departure_shows_on_the_day_board_and_in_the_note(esk: Built, frozen_clock: Any) -> None:
    frozen_clock.move_to(at(57))
    leave(esk)
    row = next(r for r in day_board(esk.cast.site_a).rows if r.session and r.session.pk == esk.session.pk)
    assert row.state == "discharged" and row.state_label == "Left against medical advice" and row.tone == "danger"
    esk.session.refresh_from_db()
    text = documents.draft_note_text(esk.session)
    assert "Left against medical advice at 10:02 after 57 min of observation" in text
    assert f"Reason the patient gave: {SAID}" in text and "no recovery score; no vital signs since the dose" in text
    assert "Risks explained (no driving, not to be alone, when to seek help): yes" in text
    assert f"Prescriber notified: {esk.cast.prescriber}." in text


# --- Emergency transfer ---------------------------------------------------------------------------------------------


def test_a_transfer_needs_the_adverse_event_recorded_first(esk: Built, frozen_clock: Any) -> None:
    frozen_clock.move_to(at(45))
    with pytest.raises(DosingError, match="record the adverse event first") as refused:
        transfer(esk)
    assert refused.value.field == "adverse_event"
    assert not Discharge.objects.exists()


def test_it_records_a_transfer_to_emergency_care(esk: Built, frozen_clock: Any) -> None:
    adverse_event(esk)
    vitals(esk.session, 40, {"systolic_mmhg": 212, "diastolic_mmhg": 124, "heart_rate_bpm": 118, "spo2_pct": 96})
    frozen_clock.move_to(at(45))
    record = transfer(esk, reason=f"  {WHY}  ", destination=f" {ER} ", prescriber_notified=esk.cast.prescriber)
    esk.session.refresh_from_db()
    assert esk.session.state == "discharged" and record.disposition == TRANSFER
    assert record.destination == ER and record.departure_reason == WHY and not record.risks_explained
    assert record.vitals is not None and record.vitals.systolic_mmhg == 212 and record.minutes_observed == 45
    task = Task.objects.get(source_type=discharge.DEPARTURE_SOURCE, source_id=str(record.pk))
    assert task.priority == Task.Priority.HIGH and task.due_at == at(45) + dt.timedelta(hours=4)
    assert task.title.startswith("Transferred to emergency care at 09:50") and f"Taken to {ER}." in task.detail
    event = AuditEvent.objects.get(object_type="dosing.discharge", object_id=str(record.pk))
    assert event.detail["disposition"] == "emergency_transfer" and ER not in str(event.detail)
    assert RemsForm.objects.get(session=esk.session).values["total_monitoring_min"] == 45
    text = documents.draft_note_text(esk.session)
    assert "Transferred to emergency care at 09:50 after 45 min of observation" in text
    assert f"Taken to {ER}. Reason: {WHY}" in text


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"reason": " "}, "departure_reason", "say why the patient was transferred"),
        ({"destination": "  "}, "destination", "name where the patient was taken"),
        ({"destination": "x" * 201}, "destination", "at most 200 characters"),
    ],
)
def test_a_transfer_refuses_what_is_not_documented(
    esk: Built, frozen_clock: Any, changes: dict[str, Any], field: str, message: str
) -> None:
    adverse_event(esk)
    frozen_clock.move_to(at(45))
    with pytest.raises(DosingError, match=message) as refused:
        transfer(esk, **changes)
    assert refused.value.field == field


# --- The database ---------------------------------------------------------------------------------------------------


def _row(built: Built, **values: Any) -> None:
    base: dict[str, Any] = {
        "session": built.session,
        "minutes_observed": 60,
        "symptoms_resolved": False,
        "escort_present": False,
        "ready": False,
        "discharged_by": built.cast.nurse,
    }
    with transaction.atomic():
        Discharge.objects.create(**{**base, **values})


def test_the_database_keeps_a_routine_discharge_as_strict_as_before(esk: Built) -> None:
    recover(esk)
    result = discharge.readiness(esk.session, at=at(125))
    # A home discharge without vitals (or score, or minutes) is refused even when marked ready.
    for missing in ({"vitals": None}, {"recovery": None}, {"minutes_observed": None}):
        values = {"recovery": result.recovery, "vitals": result.vitals, "ready": True, **missing}
        with pytest.raises(IntegrityError):
            _row(esk, **values)
    with pytest.raises(IntegrityError):
        _row(esk, disposition="walked_out", recovery=result.recovery, vitals=result.vitals, ready=True)


@pytest.mark.parametrize(
    "values",
    [
        {"disposition": "against_advice", "departure_reason": "short", "risks_explained": True},
        {"disposition": "against_advice", "departure_reason": SAID, "risks_explained": False},
        {
            "disposition": "against_advice",
            "departure_reason": SAID,
            "risks_explained": True,
            "no_prescriber": True,
        },
        {"disposition": "emergency_transfer", "departure_reason": WHY, "destination": ""},
        {"disposition": "emergency_transfer", "departure_reason": "", "destination": ER},
    ],
)
def test_the_database_refuses_an_undocumented_departure(esk: Built, values: dict[str, Any]) -> None:
    # The parameters are built before the cast exists: the prescriber is filled in here.
    values = dict(values)
    values["prescriber_notified"] = None if values.pop("no_prescriber", False) else esk.cast.prescriber
    with pytest.raises(IntegrityError):
        _row(esk, **values)


def test_the_database_accepts_a_documented_departure_without_score_or_vitals(esk: Built) -> None:
    _row(
        esk,
        disposition="against_advice",
        departure_reason=SAID,
        risks_explained=True,
        prescriber_notified=esk.cast.prescriber,
        minutes_observed=None,
    )
    assert Discharge.objects.get().recovery is None


def test_the_advice_for_a_patient_who_left_against_advice_always_says_no_driving() -> None:
    from ketaclinic.clinical.safety import NO_DRIVING_ADVICE

    left = Discharge(disposition=Discharge.Disposition.AGAINST_ADVICE, advisories=[])
    advice = discharge.departure_advice(left)
    assert advice[1] == NO_DRIVING_ADVICE and "not have worn off" in advice[0] and "not be alone" in advice[-1]
    left.advisories = [NO_DRIVING_ADVICE, "Moderate hepatic impairment: consider observing for longer."]
    assert discharge.departure_advice(left).count(NO_DRIVING_ADVICE) == 1
    assert discharge.departure_advice(Discharge(disposition=Discharge.Disposition.EMERGENCY_TRANSFER)) == []
    assert discharge.departure_advice(Discharge()) == [] and discharge.departure_advice(None) == []
