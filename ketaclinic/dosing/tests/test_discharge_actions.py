"""Discharge actions: ready to leave, the criteria check, blocked discharge and the prescriber's override."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction

from ketaclinic.audit.models import AuditEvent
from ketaclinic.conftest import Cast
from ketaclinic.dosing import discharge
from ketaclinic.dosing.actions import DosingError, StaleSessionError
from ketaclinic.dosing.discharge import MISSING
from ketaclinic.dosing.models import Discharge, DosingSession, SessionAlert
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

pytestmark = pytest.mark.django_db
REASON = "Assessed at the chair: alert, steady gait, escort waiting; safe to leave now."


def discharge_now(built: Built, by: Any = None, **kwargs: Any) -> Discharge:
    values = {"symptoms_resolved": True, "escort_present": True, **kwargs}
    return discharge.discharge_patient(built.session, by=by or built.cast.nurse, **values)


def test_it_records_when_the_patient_would_have_been_ready_to_leave(esk: Built, frozen_clock: Any) -> None:
    frozen_clock.move_to(at(62))
    session = discharge.record_ready_to_leave(esk.session, by=esk.cast.nurse, version=esk.session.version)
    assert session.ready_to_leave_at == at(62) and session.ready_to_leave_by == esk.cast.nurse
    assert AuditEvent.objects.filter(object_id=str(session.pk), action="update").exists()
    with pytest.raises(DosingError, match="already recorded at 10:07"):
        discharge.record_ready_to_leave(session, by=esk.cast.nurse)


def test_it_refuses_ready_to_leave_before_the_dose(make_session: Any, clinic: Cast) -> None:
    session = make_session()
    with pytest.raises(DosingError, match="after the dose has started"):
        discharge.record_ready_to_leave(session, by=clinic.nurse)


def test_it_refuses_ready_to_leave_without_a_dose_record(esk: Built) -> None:
    esk.administration.devices.all().delete()
    esk.administration.delete()
    with pytest.raises(DosingError, match="record the dose first"):
        discharge.record_ready_to_leave(esk.session, by=esk.cast.nurse)


def test_it_refuses_a_stale_version(esk: Built) -> None:
    with pytest.raises(StaleSessionError):
        discharge.record_ready_to_leave(esk.session, by=esk.cast.nurse, version=esk.session.version - 1)


def test_it_reports_missing_data_as_unmet_criteria(esk: Built) -> None:
    result = discharge.readiness(esk.session)
    assert not result.ready
    assert result.missing == ["No modified Aldrete or PADSS score since the dose.", "No vital signs since the dose."]
    # No MOAA/S yet: symptoms are not proposed as resolved; the escort confirmed at check-in is.
    codes = [u["code"] for u in result.unmet]
    assert codes == [MISSING, MISSING, "safety.discharge.symptoms"]
    assert result.escort_present is True
    with pytest.raises(DosingError, match="No modified Aldrete"):
        discharge_now(esk, by=esk.cast.prescriber, override_reason=REASON)
    missing_escort = discharge.readiness(esk.session, escort_present=False)
    assert "safety.discharge.escort" in [u["code"] for u in missing_escort.unmet]


def test_esketamine_needs_two_hours_from_the_first_device(esk: Built, frozen_clock: Any) -> None:
    recover(esk, minutes=100)
    frozen_clock.move_to(at(100))
    result = discharge.check_discharge(esk.session, by=esk.cast.nurse, symptoms_resolved=True, escort_present=True)
    assert not result.ready
    assert [u["code"] for u in result.unmet] == ["safety.discharge.observation"]
    assert "Observed 100 min since the first device; at least 120 min" in result.unmet[0]["message"]
    assert result.unmet[0]["citations"] and result.unmet[0]["to_do"].startswith("Keep observing")
    esk.session.refresh_from_db()
    assert esk.session.state == "monitoring"
    # The REMS's 2 hours are not a clinical judgement: not even a prescriber's reason sets them aside.
    with pytest.raises(DosingError, match="cannot be overridden: Observed 100 min"):
        discharge_now(esk)
    with pytest.raises(DosingError, match="cannot be overridden: Observed 100 min"):
        discharge_now(esk, by=esk.cast.prescriber, override_reason=REASON)
    assert not Discharge.objects.exists()


def test_it_moves_to_ready_and_back_when_a_criterion_is_lost(esk: Built, frozen_clock: Any) -> None:
    recover(esk)
    frozen_clock.move_to(at(125))
    result = discharge.check_discharge(esk.session, by=esk.cast.nurse, symptoms_resolved=True, escort_present=True)
    assert result.ready and result.minutes_observed == 125
    esk.session.refresh_from_db()
    assert esk.session.state == "ready_for_discharge"
    # A later reading far above baseline: no longer ready.
    vitals(esk.session, 126, {"systolic_mmhg": 165, "diastolic_mmhg": 96, "heart_rate_bpm": 80, "spo2_pct": 97})
    frozen_clock.move_to(at(127))
    result = discharge.check_discharge(esk.session, by=esk.cast.nurse, symptoms_resolved=True, escort_present=True)
    assert not result.ready and {u["code"] for u in result.unmet} == {"safety.discharge.vitals"}
    esk.session.refresh_from_db()
    assert esk.session.state == "monitoring"
    states = AuditEvent.objects.filter(object_type="dosing.dosingsession", action="update")
    assert [e.detail["state"] for e in states.order_by("id") if "state" in e.detail] == [
        "ready_for_discharge",
        "monitoring",
    ]


def test_it_discharges_when_every_criterion_is_met(esk: Built, frozen_clock: Any, settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path
    recover(esk)
    frozen_clock.move_to(at(125))
    record = discharge_now(esk, version=esk.session.version)
    esk.session.refresh_from_db()
    assert esk.session.state == "discharged"
    assert record.ready and record.unmet == [] and record.minutes_observed == 125
    assert record.recovery.instrument == "aldrete" and record.vitals.recorded_at == at(120)
    assert record.advisories[0].startswith("No driving")
    assert AuditEvent.objects.filter(object_type="dosing.discharge", action="create").count() == 1
    # Esketamine: the REMS form is generated with the discharge.
    assert esk.session.rems_form.pdf_sha256


def test_a_nurse_cannot_discharge_with_unmet_criteria_even_with_a_reason(esk: Built, frozen_clock: Any) -> None:
    recover(esk, aldrete=7)
    frozen_clock.move_to(at(125))
    with pytest.raises(PermissionDenied):
        discharge_now(esk, override_reason=REASON)
    assert not Discharge.objects.exists()


def test_a_prescriber_override_needs_a_written_reason(esk: Built, frozen_clock: Any) -> None:
    recover(esk, aldrete=7)
    frozen_clock.move_to(at(125))
    with pytest.raises(DosingError, match="Recovery score 7 is below 9") as blocked:
        discharge_now(esk, by=esk.cast.prescriber)
    assert blocked.value.field == "override_reason"
    with pytest.raises(DosingError, match="at least 20 characters") as short:
        discharge_now(esk, by=esk.cast.prescriber, override_reason="fine")
    assert short.value.field == "reason"
    assert not Discharge.objects.exists()


def test_a_prescriber_override_is_recorded_and_audited(
    esk: Built, frozen_clock: Any, settings: Any, tmp_path: Any
) -> None:
    settings.MEDIA_ROOT = tmp_path
    recover(esk, aldrete=8)
    frozen_clock.move_to(at(125))
    record = discharge_now(esk, by=esk.cast.prescriber, override_reason=f"  {REASON}  ")
    assert not record.ready and record.override_by == esk.cast.prescriber and record.override_reason == REASON
    assert [u["code"] for u in record.unmet] == ["safety.discharge.recovery_score"]
    event = AuditEvent.objects.get(action="override")
    assert event.object_type == "dosing.discharge" and event.detail == {"codes": ["safety.discharge.recovery_score"]}
    assert REASON not in str(event.detail)
    esk.session.refresh_from_db()
    assert esk.session.state == "discharged"


def test_the_database_refuses_an_unready_discharge_without_an_override(esk: Built, frozen_clock: Any) -> None:
    recover(esk)
    result = discharge.readiness(esk.session, at=at(125))
    assert result.recovery is not None and result.vitals is not None
    with pytest.raises(IntegrityError), transaction.atomic():
        Discharge.objects.create(
            session=esk.session,
            recovery=result.recovery,
            vitals=result.vitals,
            minutes_observed=125,
            symptoms_resolved=True,
            escort_present=True,
            ready=False,
            discharged_by=esk.cast.nurse,
        )


def test_it_refuses_discharge_outside_recovery(make_session: Any, clinic: Cast) -> None:
    session = make_session()
    for act in (discharge.check_discharge, discharge.discharge_patient):
        with pytest.raises(DosingError, match="monitored"):
            act(session, by=clinic.nurse, symptoms_resolved=True, escort_present=True)


def test_it_wants_yes_or_no_for_the_confirmations(esk: Built) -> None:
    with pytest.raises(DosingError) as error:
        discharge.check_discharge(esk.session, by=esk.cast.nurse, symptoms_resolved="yes", escort_present=True)  # type: ignore[arg-type]
    assert error.value.field == "symptoms_resolved"


def test_a_role_without_session_recording_cannot_discharge(esk: Built) -> None:
    with pytest.raises(PermissionDenied):
        discharge_now(esk, by=esk.cast.therapist)


def test_symptoms_are_proposed_resolved_only_at_moaas_5_without_open_alerts(esk: Built) -> None:
    session, nurse = esk.session, esk.cast.nurse
    assert discharge.default_symptoms_resolved(session) is False
    observe(session, nurse, "moaas", 4, 30)
    assert discharge.default_symptoms_resolved(session) is False
    observe(session, nurse, "moaas", 5, 60)
    assert discharge.default_symptoms_resolved(session) is True
    SessionAlert.objects.create(session=session, code="safety.alert.spo2", level="urgent", message="SpO2 90 %.")
    assert discharge.default_symptoms_resolved(session) is False


def test_racemic_ketamine_counts_from_the_end_of_the_infusion(iv: Built, frozen_clock: Any) -> None:
    # Infusion 0–40 min; the clinic's racemic minimum counts from its end.
    needed = discharge.minutes_needed(iv.session)
    recover(iv, minutes=40 + needed)
    frozen_clock.move_to(at(40 + needed - 1))
    early = discharge.readiness(iv.session, symptoms_resolved=True, escort_present=True)
    assert [u["code"] for u in early.unmet] == ["safety.discharge.observation"]
    assert "since the end of the dose" in early.unmet[0]["message"]
    frozen_clock.move_to(at(40 + needed))
    assert discharge.readiness(iv.session, symptoms_resolved=True, escort_present=True).ready


def test_a_running_infusion_has_no_observation_time_yet(clinic: Cast, iv_patient: Any) -> None:
    built = monitored_session(clinic, iv_patient, route="iv", infusion_min=None)
    recover(built)
    result = discharge.readiness(built.session, at=at(125))
    assert result.minutes_observed is None
    assert result.missing == [
        "The infusion has not been stopped: the observation time counts from the end of the dose."
    ]


def test_an_injection_counts_from_when_it_was_given(clinic: Cast, iv_patient: Any) -> None:
    built = monitored_session(clinic, iv_patient, route="iv", infusion_min=None)
    DosingSession.objects.filter(pk=built.session.pk).update(route="im")
    built.session.refresh_from_db()
    assert discharge.observation_from(built.session, built.administration) == at(0)


def test_the_dose_start_falls_back_to_the_record_without_devices(esk: Built) -> None:
    esk.administration.devices.all().delete()
    assert discharge.dose_started_at(esk.administration) == esk.administration.started_at


def test_without_a_dose_record_or_baseline_nothing_can_be_judged(make_session: Any, esk: Built) -> None:
    session = make_session()
    result = discharge.readiness(session, symptoms_resolved=True, escort_present=True)
    assert result.missing == [
        "The dose is not recorded.",
        "No modified Aldrete or PADSS score since the dose.",
        "No vital signs since the dose.",
        "No baseline vital signs.",
    ]
    assert result.minutes_observed is None and not result.ready
    esk.session.vitals.filter(is_baseline=True).update(is_baseline=False)
    assert "No baseline vital signs." in discharge.readiness(esk.session).missing


def test_a_prescriber_may_shorten_racemic_observation_with_a_reason(iv: Built, frozen_clock: Any) -> None:
    recover(iv, minutes=60)
    frozen_clock.move_to(at(60))  # 20 min after the end of the infusion
    record = discharge_now(iv, by=iv.cast.prescriber, override_reason=REASON)
    assert not record.ready and [u["code"] for u in record.unmet] == ["safety.discharge.observation"]
