"""Monitoring actions: in-session vitals on timepoints, scales, alerts (acknowledge, escalate), adverse events."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied

from ketaclinic.audit.models import AuditEvent
from ketaclinic.conftest import Cast
from ketaclinic.dosing import monitoring
from ketaclinic.dosing.actions import DosingError, StaleSessionError
from ketaclinic.dosing.models import AdverseEvent, DosingSession, RescueMedication, SessionAlert, VitalSign
from ketaclinic.dosing.tests.conftest import CALM, NOW
from ketaclinic.dosing.tests.monitoring_helpers import Dosed
from ketaclinic.tasks.models import Task

pytestmark = pytest.mark.django_db


def vitals(**changes: Any) -> dict[str, Any]:
    return {**CALM, **changes}


def record(session: DosingSession, by: Any, **kwargs: Any) -> monitoring.Recorded:
    kwargs.setdefault("vitals", CALM)
    return monitoring.record_session_vitals(session, by=by, **kwargs)


# --- vital signs ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("systolic_mmhg", 400, "systolic_mmhg: 400 is outside the allowed range 50–300 mmHg"),
        ("spo2_pct", 120, "spo2_pct: 120 is outside the allowed range 50–100 %"),
        ("heart_rate_bpm", 0, "heart_rate_bpm: 0 is outside the allowed range 20–250 /min"),
        ("heart_rate_bpm", 72.5, "heart_rate_bpm: a whole number"),
        ("spo2_pct", None, "spo2_pct: required"),
        ("temperature_c", 37, "temperature_c: not a vital sign of this form"),
    ],
)
def test_it_rejects_implausible_vitals_with_the_range(dosed: Dosed, clinic: Cast, field, value, message) -> None:
    session = dosed(minutes_ago=10)
    with pytest.raises(DosingError, match=message) as error:
        record(session, clinic.nurse, vitals=vitals(**{field: value}))
    assert error.value.field == field
    assert not VitalSign.objects.filter(session=session, is_baseline=False).exists()


def test_it_stores_in_session_vitals_on_the_nearest_timepoint(dosed: Dosed, clinic: Cast) -> None:
    session = dosed(minutes_ago=12)
    before = session.version
    done = record(session, clinic.nurse)
    assert done.created and done.row.timepoint_min == 10 and not done.row.is_baseline and not done.alerts
    assert done.row.source == "typed" and done.row.recorded_by == clinic.nurse
    event = AuditEvent.objects.get(object_type="dosing.vitalsign", object_id=str(done.row.pk))
    assert event.detail == {"timepoint_min": 10}  # identifiers only, no readings
    session.refresh_from_db()
    assert session.version == before  # an appended observation does not bump the version


def test_it_raises_an_alert_for_a_40_minute_bp_rise_of_40(dosed: Dosed, clinic: Cast) -> None:
    session = dosed(route="esketamine_nasal", minutes_ago=40)
    done = record(session, clinic.nurse, vitals=vitals(systolic_mmhg=162), source="monitor")
    assert done.row.timepoint_min == 40 and done.row.source == "monitor"
    (alert,) = done.alerts
    assert (alert.code, alert.level, alert.vital_sign) == ("safety.alert.bp_rise", "warning", done.row)
    assert "rose 40 mmHg from baseline 122" in alert.message and alert.citations
    assert alert.is_open


def test_it_accepts_an_alarming_reading_and_does_not_repeat_an_open_alert(dosed: Dosed, clinic: Cast) -> None:
    session = dosed(minutes_ago=20)
    first = record(session, clinic.nurse, vitals=vitals(spo2_pct=88, systolic_mmhg=185))
    assert [a.level for a in first.alerts] == ["urgent", "urgent", "warning"]
    again = record(session, clinic.nurse, vitals=vitals(spo2_pct=87, systolic_mmhg=186))
    assert again.created and again.alerts == ()
    assert SessionAlert.objects.filter(session=session).count() == 3


def test_it_stores_a_resent_row_once(dosed: Dosed, clinic: Cast) -> None:
    session = dosed(minutes_ago=10)
    first = record(session, clinic.nurse, client_token="tok-1", vitals=vitals(spo2_pct=85))
    first.alerts[0].session = session
    monitoring.acknowledge_alert(first.alerts[0], by=clinic.nurse, action="observed", note="Re-measured")
    # Resent with the version the form was loaded at, after the acknowledgement moved the session on.
    again = record(session, clinic.nurse, client_token="tok-1", vitals=vitals(spo2_pct=85), version=session.version)
    assert again.row.pk == first.row.pk and not again.created and again.alerts == ()
    assert VitalSign.objects.filter(session=session, is_baseline=False).count() == 1
    with pytest.raises(DosingError, match="client_token: at most 40"):
        record(session, clinic.nurse, client_token="x" * 41)


def test_it_accepts_a_reading_taken_earlier_and_refuses_future_or_old_times(dosed: Dosed, clinic: Cast) -> None:
    session = dosed(minutes_ago=35)
    done = record(session, clinic.nurse, taken_at=NOW - dt.timedelta(minutes=15))
    assert done.row.timepoint_min == 20 and done.row.recorded_at == NOW - dt.timedelta(minutes=15)
    for when, message in (
        (NOW + dt.timedelta(minutes=1), "taken_at: cannot be in the future"),
        (NOW - dt.timedelta(hours=13), "taken_at: at most 12 hours ago"),
        (dt.datetime(2026, 10, 21, 8, 0), "taken_at: a date and time is needed"),
    ):
        with pytest.raises(DosingError, match=message):
            record(session, clinic.nurse, taken_at=when)


def test_it_refuses_vitals_outside_monitoring_and_bad_sources(make_session, dosed: Dosed, clinic: Cast) -> None:
    with pytest.raises(DosingError, match="state: in-session vital signs are recorded from the dose until discharge"):
        record(make_session(), clinic.nurse)
    with pytest.raises(DosingError, match="source: one of typed, monitor"):
        record(dosed(), clinic.nurse, source="fax")


def test_it_refuses_a_stale_version_and_other_roles(dosed: Dosed, clinic: Cast) -> None:
    session = dosed(minutes_ago=10)
    with pytest.raises(StaleSessionError):
        record(session, clinic.nurse, version=session.version - 1)
    with pytest.raises(PermissionDenied):
        record(session, clinic.therapist)
    assert record(session, clinic.nurse, version=session.version).created


def test_it_records_without_a_timepoint_before_the_dose_record_or_baseline(make_session, clinic: Cast) -> None:
    session = make_session()
    DosingSession.objects.filter(pk=session.pk).update(state="dosing")
    session.refresh_from_db()
    done = record(session, clinic.nurse, vitals=vitals(systolic_mmhg=190))
    assert done.row.timepoint_min is None
    assert [a.code for a in done.alerts] == ["safety.alert.bp_absolute"]  # no baseline, so no rise
    assert monitoring.fulfilled(session.vitals.all(), []) == {}


# --- timeline -------------------------------------------------------------------------------------------------------


def test_it_shows_missed_timepoints_as_overdue(dosed: Dosed, clinic: Cast) -> None:
    session = dosed(minutes_ago=27)
    record(session, clinic.nurse, taken_at=NOW - dt.timedelta(minutes=16))  # the 10-min set, a little late
    line = monitoring.timeline(session, session.vitals.all(), session.observations.all())
    states = {s.timepoint.minute: s.state.value for s in line.statuses}
    assert states[0] == "done"  # the baseline
    assert states[10] == "overdue"  # MOAA/S still missing
    assert states[20] == "overdue" and states[30] == "due" and states[40] == "upcoming"
    assert [s.timepoint.minute for s in line.overdue] == [10, 20]
    assert round(line.minute_now or 0) == 27


def test_it_counts_esketamine_from_the_first_device_and_stopped_infusions_by_length(dosed: Dosed) -> None:
    esk = dosed(route="esketamine_nasal", minutes_ago=50)
    assert monitoring.dose_start(esk) == NOW - dt.timedelta(minutes=50)
    assert monitoring.dose_minutes(esk) == 0
    iv = dosed(minutes_ago=30)
    assert monitoring.dose_minutes(iv) == 40
    administration = iv.administration
    administration.stopped_at = administration.started_at + dt.timedelta(minutes=25)
    administration.save(update_fields=["stopped_at"])
    assert monitoring.dose_minutes(iv) == 25
    assert [t.minute for t in monitoring.schedule(iv)][:5] == [0, 10, 20, 25, 40]


def test_it_counts_an_esketamine_dose_without_devices_from_its_start(dosed: Dosed) -> None:
    session = dosed(route="esketamine_nasal", minutes_ago=5)
    session.administration.devices.all().delete()
    assert monitoring.dose_start(session) == session.administration.started_at


def test_a_session_without_a_known_route_has_no_schedule() -> None:
    line = monitoring.timeline_for("", None, 0, {})
    assert line.statuses == () and line.overdue == []


def test_its_timeline_before_a_dose_is_all_upcoming(make_session) -> None:
    session = make_session()
    line = monitoring.timeline(session, [], [])
    assert line.start is None and line.minute_now is None
    assert {s.state.value for s in line.statuses} == {"upcoming"}


# --- scales ---------------------------------------------------------------------------------------------------------


def test_it_scores_moaas_and_raises_the_sedation_alert(dosed: Dosed, clinic: Cast) -> None:
    session = dosed(route="esketamine_nasal", minutes_ago=14)
    done = monitoring.record_scale(session, by=clinic.nurse, instrument="moaas", answers={"q1": 1})
    obs = done.row
    assert (obs.total, obs.band, obs.timepoint_min) == (Decimal("1"), "responds to pain only", 15)
    (alert,) = done.alerts
    assert (alert.level, alert.observation, alert.code) == ("urgent", obs, "safety.alert.sedation")
    assert monitoring.record_scale(session, by=clinic.nurse, instrument="moaas", answers={"q1": 5}).alerts == ()


def test_it_stores_cadss6_on_the_cadss_timepoint_and_discharge_scores_without_one(dosed: Dosed, clinic: Cast) -> None:
    session = dosed(route="esketamine_nasal", minutes_ago=41)
    answers = {f"q{i}": 1 for i in range(1, 7)}
    cadss = monitoring.record_scale(session, by=clinic.nurse, instrument="cadss6", answers=answers, client_token="c")
    assert (cadss.row.total, cadss.row.timepoint_min) == (Decimal("6"), 40)
    again = monitoring.record_scale(session, by=clinic.nurse, instrument="cadss6", answers={}, client_token="c")
    assert again.row.pk == cadss.row.pk and not again.created
    aldrete = monitoring.record_scale(
        session, by=clinic.nurse, instrument="aldrete", answers={f"q{i}": 2 for i in range(1, 6)}
    )
    assert (aldrete.row.total, aldrete.row.timepoint_min) == (Decimal("10"), None)
    assert monitoring.fulfilled(session.vitals.all(), session.observations.all()) == {0: {"vitals"}, 40: {"cadss"}}


def test_it_refuses_unknown_scales_bad_answers_and_closed_sessions(dosed: Dosed, clinic: Cast) -> None:
    session = dosed(minutes_ago=5)
    with pytest.raises(DosingError, match="instrument: one of moaas, cadss, cadss6, aldrete, padss"):
        monitoring.record_scale(session, by=clinic.nurse, instrument="phq9", answers={})
    with pytest.raises(DosingError) as error:
        monitoring.record_scale(session, by=clinic.nurse, instrument="moaas", answers={"q1": 7})
    assert error.value.field == "moaas item q1" and "allowed values: 0–5" in error.value.message
    DosingSession.objects.filter(pk=session.pk).update(state="discharged")
    with pytest.raises(DosingError, match="state: scales are recorded"):
        monitoring.record_scale(session, by=clinic.nurse, instrument="moaas", answers={"q1": 5})


# --- acknowledging alerts -------------------------------------------------------------------------------------------


def alert_of(session: DosingSession, by: Any, **reading: Any) -> SessionAlert:
    (alert, *_) = record(session, by, vitals=vitals(**(reading or {"spo2_pct": 88}))).alerts
    return alert


def test_acknowledging_requires_an_action_and_a_note(dosed: Dosed, clinic: Cast) -> None:
    session = dosed(minutes_ago=10)
    alert = alert_of(session, clinic.nurse)
    before = session.version
    with pytest.raises(DosingError, match="action: choose the action taken"):
        monitoring.acknowledge_alert(alert, by=clinic.nurse, action="", note="Repositioned")
    with pytest.raises(DosingError, match="note: say what was seen and done"):
        monitoring.acknowledge_alert(alert, by=clinic.nurse, action="observed", note="  ")
    with pytest.raises(DosingError, match="note: at most 400"):
        monitoring.acknowledge_alert(alert, by=clinic.nurse, action="observed", note="x" * 401)
    done = monitoring.acknowledge_alert(
        alert, by=clinic.nurse, action="observed", note="Chin lift, SpO2 back to 97 %", version=session.version
    )
    assert (done.action, done.acknowledged_by, done.acknowledged_at, done.is_open) == (
        "observed",
        clinic.nurse,
        NOW,
        False,
    )
    session.refresh_from_db()
    assert session.version == before + 1
    event = AuditEvent.objects.get(object_type="dosing.sessionalert", action="update")
    assert event.detail == {"event": "acknowledged", "action_taken": "observed"}


def test_acknowledging_twice_is_refused_not_overwritten(dosed: Dosed, clinic: Cast) -> None:
    session = dosed(minutes_ago=10)
    alert = alert_of(session, clinic.nurse)
    version = session.version
    monitoring.acknowledge_alert(alert, by=clinic.nurse, action="observed", note="Repositioned", version=version)
    with pytest.raises(StaleSessionError):
        monitoring.acknowledge_alert(alert, by=clinic.prescriber, action="emergency", note="Called", version=version)
    resent = monitoring.acknowledge_alert(
        alert, by=clinic.nurse, action="observed", note="Repositioned", version=version
    )  # the nurse's own form sent again: stored once, no 409
    assert (
        resent.pk == alert.pk
        and AuditEvent.objects.filter(object_type="dosing.sessionalert", action="update").count() == 1
    )
    with pytest.raises(DosingError, match=r"alert: already acknowledged by .* at 09:00"):
        monitoring.acknowledge_alert(alert, by=clinic.prescriber, action="emergency", note="Called")
    alert.refresh_from_db()
    assert (alert.action, alert.acknowledged_by) == ("observed", clinic.nurse)


def test_acknowledging_with_a_medication_records_it(dosed: Dosed, clinic: Cast) -> None:
    session = dosed(minutes_ago=20)
    alert = alert_of(session, clinic.nurse, systolic_mmhg=185)
    with pytest.raises(DosingError, match="medication: name the medication given"):
        monitoring.acknowledge_alert(alert, by=clinic.nurse, action="medication_given", note="Labetalol given")
    given = {"medication": "Labetalol", "dose": "10", "unit": "mg", "route": "iv"}
    monitoring.acknowledge_alert(
        alert, by=clinic.prescriber, action="medication_given", note="Labetalol given", medication=given
    )
    (rescue,) = RescueMedication.objects.filter(alert=alert)
    assert (rescue.medication, rescue.dose, rescue.route, rescue.given_by) == (
        "Labetalol",
        Decimal("10.00"),
        "iv",
        clinic.prescriber,
    )


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"dose": 1, "route": "iv"}, "medication: name the medication given"),
        ({"medication": "x" * 81, "dose": 1, "route": "iv"}, "medication: at most 80"),
        ({"medication": "Ondansetron", "dose": "four", "route": "iv"}, "medication_dose: a number above 0"),
        ({"medication": "Ondansetron", "dose": 0, "route": "iv"}, "medication_dose: a number above 0"),
        ({"medication": "Ondansetron", "dose": "NaN", "route": "iv"}, "medication_dose: a number above 0"),
        ({"medication": "Ondansetron", "dose": 4, "unit": "tabs", "route": "iv"}, "medication_unit: one of mg"),
        ({"medication": "Ondansetron", "dose": 4, "route": "rectal"}, "medication_route: one of iv"),
    ],
)
def test_it_checks_a_rescue_medication(dosed: Dosed, clinic: Cast, given, message) -> None:
    session = dosed(minutes_ago=20)
    with pytest.raises(DosingError, match=message):
        monitoring.record_adverse_event(
            session,
            by=clinic.nurse,
            kind="nausea_vomiting",
            severity="mild",
            outcome="resolved",
            serious=False,
            interventions=[given],
        )
    assert not AdverseEvent.objects.exists()


# --- escalation -----------------------------------------------------------------------------------------------------


def test_an_unacknowledged_alert_escalates_exactly_once(dosed: Dosed, clinic: Cast, frozen_clock) -> None:
    session = dosed(minutes_ago=10)
    alert = alert_of(session, clinic.nurse)
    acknowledged = alert_of(dosed(minutes_ago=10), clinic.nurse)
    monitoring.acknowledge_alert(acknowledged, by=clinic.nurse, action="observed", note="Fine")
    frozen_clock.move_to(NOW + dt.timedelta(minutes=4, seconds=59))
    assert monitoring.escalate_alerts() == 0
    frozen_clock.move_to(NOW + dt.timedelta(minutes=5))
    assert monitoring.escalate_alerts() == 1
    assert monitoring.escalate_alerts() == 0
    alert.refresh_from_db()
    task = alert.escalation_task
    assert alert.escalated_at == NOW + dt.timedelta(minutes=5)
    assert (task.priority, task.status, task.patient, task.source_type) == (
        "urgent",
        "open",
        session.patient,
        "dosing.sessionalert",
    )
    assert f"dosing session {session.pk}" in task.title
    assert Task.objects.filter(source_type="dosing.sessionalert").count() == 1
    event = AuditEvent.objects.get(object_type="dosing.sessionalert", object_id=str(alert.pk), action="update")
    assert event.detail == {"event": "escalated", "task_id": task.pk} and event.actor is None
    assert monitoring._escalate(alert.pk, NOW + dt.timedelta(minutes=6)) == 0
    monitoring.acknowledge_alert(alert, by=clinic.prescriber, action="prescriber_assessed", note="Seen at chair")
    task.refresh_from_db()
    assert task.status == "done" and "Prescriber assessed" in task.resolution


def test_escalation_skips_discharged_sessions_and_respects_the_time(dosed: Dosed, clinic: Cast) -> None:
    session = dosed(minutes_ago=10)
    alert = alert_of(session, clinic.nurse)
    assert monitoring._escalate(alert.pk, NOW + dt.timedelta(minutes=1)) == 0
    DosingSession.objects.filter(pk=session.pk).update(state="discharged")
    assert monitoring.escalate_alerts(NOW + dt.timedelta(minutes=30)) == 0


def test_the_escalation_job_is_registered(dosed: Dosed, clinic: Cast) -> None:
    from ketaclinic.processes.jobs import _JOBS

    alert_of(dosed(minutes_ago=10), clinic.nurse)
    SessionAlert.objects.update(raised_at=NOW - dt.timedelta(minutes=10))
    assert _JOBS["escalate_session_alerts"]() == 1


# --- adverse events -------------------------------------------------------------------------------------------------


def test_it_records_an_adverse_event_with_its_interventions(dosed: Dosed, clinic: Cast) -> None:
    session = dosed(minutes_ago=30)
    event = monitoring.record_adverse_event(
        session,
        by=clinic.nurse,
        kind="nausea_vomiting",
        severity="moderate",
        outcome="resolved",
        serious=False,
        onset_at=NOW - dt.timedelta(minutes=5),
        interventions=[{"medication": "Ondansetron", "dose": 4, "route": "iv"}],
        client_token="ae-1",
    )
    (given,) = event.interventions.all()
    assert (given.medication, given.dose, given.unit, given.session) == ("Ondansetron", Decimal("4.00"), "mg", session)
    assert event.onset_at == NOW - dt.timedelta(minutes=5) and event.recorded_by == clinic.nurse
    again = monitoring.record_adverse_event(
        session,
        by=clinic.nurse,
        kind="headache",
        severity="mild",
        outcome="resolved",
        serious=False,
        client_token="ae-1",
    )
    assert again.pk == event.pk and AdverseEvent.objects.count() == 1
    assert not Task.objects.filter(source_type="dosing.adverseevent").exists()


def test_a_serious_adverse_event_raises_a_task_for_the_prescriber(dosed: Dosed, clinic: Cast) -> None:
    session = dosed(route="esketamine_nasal", minutes_ago=30)
    event = monitoring.record_adverse_event(
        session,
        by=clinic.nurse,
        kind="respiratory_depression",
        severity="severe",
        outcome="transferred",
        serious=True,
    )
    task = Task.objects.get(source_type="dosing.adverseevent", source_id=str(event.pk))
    assert task.priority == "urgent" and "Respiratory depression" in task.title and task.patient == session.patient


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"kind": "itch"}, "kind: one of nausea_vomiting"),
        ({"severity": "awful"}, "severity: one of mild, moderate, severe"),
        ({"outcome": "gone"}, "outcome: one of resolved"),
        ({"serious": "no"}, "serious: yes or no"),
        ({"kind": "other"}, "description: describe the event"),
        ({"description": "x" * 401}, "description: at most 400"),
        ({"onset_at": NOW + dt.timedelta(minutes=2)}, "onset_at: cannot be in the future"),
    ],
)
def test_it_refuses_an_incomplete_adverse_event(dosed: Dosed, clinic: Cast, changes, message) -> None:
    session = dosed(minutes_ago=30)
    values: dict[str, Any] = {"kind": "headache", "severity": "mild", "outcome": "resolved", "serious": False}
    with pytest.raises(DosingError, match=message):
        monitoring.record_adverse_event(session, by=clinic.nurse, **{**values, **changes})


def test_it_refuses_adverse_events_outside_monitoring(make_session, clinic: Cast) -> None:
    with pytest.raises(DosingError, match="state: adverse events are recorded"):
        monitoring.record_adverse_event(
            make_session(), by=clinic.nurse, kind="headache", severity="mild", outcome="resolved", serious=False
        )


def test_an_esketamine_alert_is_not_acknowledged_with_an_infusion_action(dosed: Dosed, clinic: Cast) -> None:
    from ketaclinic.dosing.monitoring_forms import AckForm

    session = dosed(route="esketamine_nasal", minutes_ago=40)
    alert = alert_of(session, clinic.nurse)
    with pytest.raises(DosingError, match="action: choose the action taken: observed, medication_given"):
        monitoring.acknowledge_alert(alert, by=clinic.nurse, action="infusion_slowed", note="Slowed the pump")

    def offered(route: str) -> str:
        return str(AckForm(route=route)["action"])  # the radio buttons as rendered

    assert 'value="infusion_slowed"' not in offered("esketamine_nasal") and 'value="observed"' in offered(
        "esketamine_nasal"
    )
    assert 'value="infusion_stopped"' in offered("iv")
