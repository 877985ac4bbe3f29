from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.core.exceptions import ValidationError

from ketaclinic.audit.models import AuditEvent
from ketaclinic.patients import actions
from ketaclinic.patients.models import (
    AntidepressantTrial,
    BodyMeasurement,
    Diagnosis,
    MedicationEntry,
    MrnCounter,
    Patient,
    Source,
)
from ketaclinic.patients.tests.factories import (
    DiagnosisFactory,
    MeasurementFactory,
    MedicationFactory,
    PatientFactory,
)

pytestmark = pytest.mark.django_db

TODAY = dt.datetime(2026, 11, 2, 15, 0, tzinfo=dt.UTC)


def _register(cast, **overrides):
    fields: dict[str, Any] = {
        "legal_first_name": "Robin",
        "legal_last_name": "Ashe",
        "date_of_birth": dt.date(1980, 1, 31),
    }
    fields.update(overrides)
    return actions.register_patient(site=fields.pop("site", cast.site_a), by=cast.coordinator, **fields)


def test_it_numbers_mrns_per_site_in_sequence(cast):
    first, second = _register(cast), _register(cast, legal_last_name="Birch")
    other_site = _register(cast, site=cast.site_b)
    assert (first.mrn, second.mrn) == ("SIT-000001", "SIT-000002")
    assert other_site.mrn == "SIT-000001"  # a separate sequence per site (and unique per site)
    assert MrnCounter.objects.get(site=cast.site_a).next_number == 3


def test_it_registers_with_an_audit_event_and_history(cast):
    patient = _register(cast, preferred_name="Rob")
    assert patient.status == Patient.Status.REFERRAL and patient.site == cast.site_a
    event = AuditEvent.objects.get(action=AuditEvent.Action.CREATE, object_type="patients.patient")
    assert (event.patient_id, event.actor, event.site) == (patient.pk, cast.coordinator, cast.site_a)
    assert patient.history.count() == 1


@time_machine.travel(TODAY, tick=False)
def test_it_refuses_a_birth_date_in_the_future_or_under_18(cast):
    with pytest.raises(ValidationError) as future:
        _register(cast, date_of_birth=dt.date(2026, 11, 3))
    assert "in the future" in future.value.message_dict["date_of_birth"][0]
    with pytest.raises(ValidationError) as minor:
        _register(cast, date_of_birth=dt.date(2008, 11, 3))
    assert minor.value.message_dict["date_of_birth"] == [
        "Date of birth: patients must be 18 or older (born on or before 2008-11-02)."
    ]
    assert _register(cast, date_of_birth=dt.date(2008, 11, 2)).age_years == 18
    assert not Patient.objects.filter(date_of_birth__gt=dt.date(2008, 11, 2)).exists()


def test_it_refuses_unknown_patient_fields(cast, patient):
    with pytest.raises(ValueError, match="unknown patient fields: mrn"):
        _register(cast, mrn="X")
    with pytest.raises(ValueError, match="unknown patient fields: status"):
        actions.update_patient(patient, by=cast.nurse, status="eligible")


def test_it_updates_demographics_and_bumps_the_version(cast, patient):
    updated = actions.update_patient(patient, by=cast.nurse, expected_version=1, phone="555-0199", pronouns="he/him")
    patient.refresh_from_db()
    assert (patient.phone, patient.pronouns, patient.version, updated.version) == ("555-0199", "he/him", 2, 2)
    event = AuditEvent.objects.get(action=AuditEvent.Action.UPDATE)
    assert sorted(event.detail["fields"]) == ["phone", "pronouns"]  # field names, never the values


def test_it_does_nothing_when_nothing_changes(cast, patient):
    actions.update_patient(patient, by=cast.nurse, expected_version=1, phone=patient.phone)
    patient.refresh_from_db()
    assert patient.version == 1
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.UPDATE).exists()


def test_it_refuses_a_stale_edit_without_overwriting(cast, patient):
    actions.update_patient(patient, by=cast.nurse, expected_version=1, phone="555-0111")
    stale = Patient.objects.get(pk=patient.pk)
    stale.version = 1
    with pytest.raises(actions.StaleEditError):
        actions.update_patient(stale, by=cast.prescriber, expected_version=1, phone="555-0222")
    patient.refresh_from_db()
    assert (patient.phone, patient.version) == ("555-0111", 2)


def test_it_updates_without_a_version_check_when_none_is_given(cast, patient):
    actions.update_patient(patient, by=cast.nurse, email="mo@example.invalid")
    patient.refresh_from_db()
    assert (patient.email, patient.version) == ("mo@example.invalid", 2)


def test_it_sets_the_status_with_a_reason(cast, patient):
    actions.set_status(patient, Patient.Status.SCREENING, by=cast.nurse, reason="intake complete")
    patient.refresh_from_db()
    assert (patient.status, patient.status_reason, patient.version) == ("screening", "intake complete", 2)
    event = AuditEvent.objects.get(action=AuditEvent.Action.UPDATE)
    assert event.detail == {"fields": ["status"], "from": "referral", "to": "screening"}
    with pytest.raises(ValueError, match="status: 'asleep'"):
        actions.set_status(patient, "asleep", by=cast.nurse)


def test_it_adds_staff_entries_as_counted_and_patient_reports_as_pending(cast, patient):
    staff = actions.add_entry(BodyMeasurement, patient, by=cast.nurse, weight_kg=Decimal("80.5"))
    reported = actions.add_entry(
        MedicationEntry, patient, by=None, source=Source.PATIENT, name="Lorazepam", dose_text="1 mg"
    )
    assert (staff.recorded_by, staff.site, staff.is_pending_review) == (cast.nurse, cast.site_a, False)
    assert reported.recorded_by is None and reported.is_pending_review
    assert reported.drug_class == "benzodiazepine"  # "other" for a catalogued drug takes the catalogue's class
    assert list(MedicationEntry.objects.current()) == []
    assert list(MedicationEntry.objects.pending_review()) == [reported]
    created = AuditEvent.objects.filter(action=AuditEvent.Action.CREATE).order_by("id")
    assert [e.detail for e in created] == [{"source": "staff"}, {"source": "patient"}]
    assert created[1].actor is None


def test_it_refuses_an_invalid_entry_and_saves_nothing(cast, patient):
    with pytest.raises(ValidationError) as error:
        actions.add_entry(Diagnosis, patient, by=cast.nurse, icd10_code="F33.22")
    assert "F33.22 is not in the clinic's catalogue" in error.value.message_dict["icd10_code"][0]
    assert not Diagnosis.objects.exists() and not AuditEvent.objects.exists()


def test_it_updates_an_entry_and_keeps_the_old_values_in_history(cast, patient):
    row = MeasurementFactory.create(patient=patient, weight_kg=Decimal("70.0"))
    actions.update_entry(row, by=cast.nurse, weight_kg=Decimal("71.5"))
    row.refresh_from_db()
    assert row.weight_kg == Decimal("71.5")
    assert [h.weight_kg for h in row.history.order_by("history_id")] == [Decimal("70.0"), Decimal("71.5")]
    assert AuditEvent.objects.get(action=AuditEvent.Action.UPDATE).detail == {"fields": ["weight_kg"]}


def test_it_saves_fields_the_row_derives_when_updating(cast, patient):
    row = MedicationFactory.create(patient=patient, name="unknown-brand", drug_class="other")
    actions.update_entry(row, by=cast.nurse, name="phenelzine")
    row.refresh_from_db()
    assert (row.name, row.drug_class) == ("phenelzine", "maoi")
    diagnosis = DiagnosisFactory.create(patient=patient, icd10_code="F32.1", description="", episode="n/a")
    actions.update_entry(diagnosis, by=cast.nurse, icd10_code="f33.1 ")
    diagnosis.refresh_from_db()
    assert (diagnosis.icd10_code, diagnosis.episode) == ("F33.1", "recurrent")
    assert diagnosis.description == "Major depressive disorder, recurrent, moderate"
    fields = AuditEvent.objects.filter(object_type="patients.diagnosis").get().detail["fields"]
    assert sorted(fields) == ["description", "episode", "icd10_code"]


def test_it_skips_an_update_that_changes_nothing(cast, patient):
    row = MeasurementFactory.create(patient=patient)
    assert actions.update_entry(row, by=cast.nurse, weight_kg=row.weight_kg) is row
    assert not AuditEvent.objects.exists()


def test_it_removes_an_entry_softly_with_a_reason(cast, patient):
    row = MeasurementFactory.create(patient=patient)
    with pytest.raises(ValueError, match="reason: say why"):
        actions.remove_entry(row, by=cast.nurse, reason="   ")
    actions.remove_entry(row, by=cast.nurse, reason=" entered in error ")
    row.refresh_from_db()
    assert row.removed_at is not None and row.removed_reason == "entered in error"
    assert BodyMeasurement.objects.filter(pk=row.pk).exists() and not BodyMeasurement.objects.current().exists()
    assert AuditEvent.objects.get(action=AuditEvent.Action.DELETE).detail == {"soft": True}


def test_it_accepts_a_patient_report_with_corrections(cast, patient):
    reported = actions.add_entry(
        AntidepressantTrial, patient, by=None, source=Source.PATIENT, drug="sertraline", drug_class="ssri"
    )
    accepted = actions.accept_entry(reported, by=cast.prescriber, changes={"weeks": Decimal("8")})
    accepted.refresh_from_db()
    assert (accepted.weeks, accepted.accepted_by, accepted.is_pending_review) == (
        Decimal("8.0"),
        cast.prescriber,
        False,
    )
    assert list(AntidepressantTrial.objects.current()) == [accepted]
    event = AuditEvent.objects.filter(action=AuditEvent.Action.UPDATE).get()
    assert event.detail == {"event": "accepted_patient_report", "fields": ["weeks"]}
    with pytest.raises(ValueError, match="awaiting review"):
        actions.accept_entry(accepted, by=cast.prescriber)


def test_it_refuses_to_accept_a_staff_entry(cast, patient):
    row = MeasurementFactory.create(patient=patient)
    with pytest.raises(ValueError, match="only patient-reported"):
        actions.accept_entry(row, by=cast.prescriber)


def test_it_accepts_a_patient_report_as_given(cast, patient):
    reported = actions.add_entry(BodyMeasurement, patient, by=None, source=Source.PATIENT, weight_kg=Decimal("60"))
    actions.accept_entry(reported, by=cast.nurse)
    assert AuditEvent.objects.filter(action=AuditEvent.Action.UPDATE).get().detail["fields"] == []


def test_it_finds_the_latest_counted_weight(cast, patient):
    assert actions.latest_weight_kg(patient) is None
    day = dt.datetime(2026, 10, 1, 9, tzinfo=dt.UTC)
    MeasurementFactory.create(patient=patient, weight_kg=Decimal("80"), measured_at=day)
    MeasurementFactory.create(patient=patient, weight_kg=None, height_cm=Decimal("170"), measured_at=day.replace(day=5))
    MeasurementFactory.create(patient=patient, weight_kg=Decimal("78"), measured_at=day.replace(day=10))
    removed = MeasurementFactory.create(patient=patient, weight_kg=Decimal("10"), measured_at=day.replace(day=20))
    actions.remove_entry(removed, by=cast.nurse, reason="entered in error")
    actions.add_entry(
        BodyMeasurement,
        patient,
        by=None,
        source=Source.PATIENT,
        weight_kg=Decimal("99"),
        measured_at=day.replace(day=25),
    )
    other = PatientFactory.create(site=cast.site_a)
    MeasurementFactory.create(patient=other, weight_kg=Decimal("55"), measured_at=day.replace(day=28))
    assert actions.latest_weight_kg(patient) == Decimal("78")
    assert actions.latest_weight_kg(patient, on_or_before=day.replace(day=9)) == Decimal("80")
    assert actions.latest_weight_kg(patient, on_or_before=day.replace(month=9)) is None


def test_it_reserves_the_next_mrn_inside_the_transaction(cast):
    assert actions.next_mrn(cast.site_b) == "SIT-000001"
    assert actions.next_mrn(cast.site_b) == "SIT-000002"
