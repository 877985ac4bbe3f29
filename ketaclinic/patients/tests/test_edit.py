from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse

from ketaclinic.accounts.roles import Role
from ketaclinic.accounts.tests.matrix import PermissionMatrix
from ketaclinic.audit.models import AuditEvent
from ketaclinic.patients import actions
from ketaclinic.patients.models import (
    Allergy,
    AntidepressantTrial,
    BodyMeasurement,
    Diagnosis,
    MedicalCondition,
    MedicationEntry,
    Patient,
    SubstanceUseEntry,
)
from ketaclinic.patients.sections import SECTIONS
from ketaclinic.patients.tests import factories

pytestmark = pytest.mark.django_db

EDITORS = {Role.PRESCRIBER, Role.NURSE}
ROW_FACTORIES = {
    "measurements": factories.MeasurementFactory,
    "allergies": factories.AllergyFactory,
    "diagnoses": factories.DiagnosisFactory,
    "conditions": factories.ConditionFactory,
    "medications": factories.MedicationFactory,
    "trials": factories.TrialFactory,
    "substance-use": factories.SubstanceUseFactory,
}


def _patient(cast):
    return factories.PatientFactory.create(site=cast.site_a)


class TestDemographicsPermissions(PermissionMatrix):
    allowed = {Role.PRESCRIBER, Role.NURSE, Role.COORDINATOR}
    patient_scoped = True

    def url(self, cast):
        return reverse("patients:edit_demographics", args=[_patient(cast).pk])


class TestStatusPermissions(PermissionMatrix):
    allowed = EDITORS
    patient_scoped = True

    def url(self, cast):
        return reverse("patients:change_status", args=[_patient(cast).pk])


class TestDrugClassHintPermissions(PermissionMatrix):
    allowed = EDITORS

    def url(self, cast):
        return reverse("patients:drug_class_hint") + "?add-name=lorazepam"


class TestIcd10HintPermissions(PermissionMatrix):
    allowed = EDITORS

    def url(self, cast):
        return reverse("patients:icd10_hint") + "?add-icd10_code=F33.2"


def _section_matrix(kind: str, page: str) -> type[PermissionMatrix]:
    class Matrix(PermissionMatrix):
        allowed = EDITORS
        patient_scoped = True

        def url(self, cast):
            patient = _patient(cast)
            if page == "section":
                return reverse("patients:section", args=[patient.pk, kind])
            row = ROW_FACTORIES[kind].create(patient=patient)
            return reverse(f"patients:{page}", args=[patient.pk, kind, row.pk])

    Matrix.__name__ = Matrix.__qualname__ = f"Test{kind.title().replace('-', '')}{page.title()}Permissions"
    return Matrix


for _kind in SECTIONS:
    for _page in ("section", "edit_entry", "remove_entry"):
        _matrix = _section_matrix(_kind, _page)
        globals()[_matrix.__name__] = _matrix


def test_it_has_a_row_factory_for_every_section():
    assert set(ROW_FACTORIES) == set(SECTIONS)


def test_it_answers_404_for_an_unknown_section(client, cast, patient):
    client.force_login(cast.nurse)
    assert client.get(reverse("patients:section", args=[patient.pk, "horoscope"])).status_code == 404


# --- demographics ------------------------------------------------------------------------------------------------


def _demographics(patient, **overrides):
    data = {
        name: ("" if getattr(patient, name) is None else getattr(patient, name))
        for name in (
            "legal_first_name",
            "legal_last_name",
            "preferred_name",
            "sex_at_birth",
            "gender",
            "pronouns",
            "phone",
            "email",
            "address",
            "emergency_contact_name",
            "emergency_contact_phone",
            "emergency_contact_relationship",
            "referring_clinician",
            "referring_clinician_contact",
        )
    }
    data.update(date_of_birth=patient.date_of_birth.isoformat(), version=patient.version, pregnant="unknown")
    data["breastfeeding"] = "unknown"
    data.update(overrides)
    return data


def test_it_saves_demographics_and_returns_to_the_chart(client, cast, patient):
    client.force_login(cast.nurse)
    url = reverse("patients:edit_demographics", args=[patient.pk])
    response = client.post(url, _demographics(patient, phone="555-0177", pregnant="false"))
    assert response.status_code == 302 and response["Location"] == reverse("patients:chart", args=[patient.pk])
    patient.refresh_from_db()
    assert (patient.phone, patient.pregnant, patient.version) == ("555-0177", False, 2)
    assert sorted(AuditEvent.objects.get(action=AuditEvent.Action.UPDATE).detail["fields"]) == ["phone", "pregnant"]


def test_it_lets_a_coordinator_edit_contacts_but_not_pregnancy(client, cast, patient):
    client.force_login(cast.coordinator)
    url = reverse("patients:edit_demographics", args=[patient.pk])
    assert 'name="pregnant"' not in client.get(url).content.decode()
    response = client.post(url, _demographics(patient, email="mo@example.invalid", pregnant="true"))
    assert response.status_code == 302
    patient.refresh_from_db()
    assert (patient.email, patient.pregnant) == ("mo@example.invalid", None)


def test_it_refuses_a_stale_edit_with_409_and_keeps_what_was_typed(client, cast, patient):
    client.force_login(cast.nurse)
    url = reverse("patients:edit_demographics", args=[patient.pk])
    typed = _demographics(patient, phone="555-0001", pronouns="they/them", breastfeeding="false")
    actions.update_patient(patient, by=cast.prescriber, expected_version=1, phone="555-0999", pregnant=True)
    response = client.post(url, typed)
    html = response.content.decode()
    assert response.status_code == 409
    assert "changed by someone else while you were editing — reload to see their change" in html
    assert 'value="555-0001"' in html and 'value="they/them"' in html  # what was typed is kept
    conflict = {c["label"]: (c["saved"], c["yours"]) for c in response.context["conflict"]}
    assert conflict["Phone"] == ("555-0999", "555-0001")
    assert conflict["Pregnant"] == ("Yes", "—") and conflict["Breast-feeding"] == ("—", "No")
    patient.refresh_from_db()
    assert (patient.phone, patient.pronouns, patient.version) == ("555-0999", "she/her", 2)


@time_machine.travel(dt.datetime(2026, 11, 2, 15, tzinfo=dt.UTC), tick=False)
def test_it_refuses_a_birth_date_that_makes_the_patient_17(client, cast, patient):
    client.force_login(cast.nurse)
    url = reverse("patients:edit_demographics", args=[patient.pk])
    response = client.post(url, _demographics(patient, date_of_birth="2009-01-01", phone="555-0123"))
    assert response.status_code == 400
    assert response.context["form"].errors["date_of_birth"] == [
        "Date of birth: patients must be 18 or older (born on or before 2008-11-02)."
    ]
    assert 'value="555-0123"' in response.content.decode()


# --- status ------------------------------------------------------------------------------------------------------


def test_it_changes_the_status_with_a_reason(client, cast, patient):
    client.force_login(cast.prescriber)
    url = reverse("patients:change_status", args=[patient.pk])
    response = client.post(url, {"status": "screening", "reason": "referral letter received"})
    assert response.status_code == 302
    patient.refresh_from_db()
    assert (patient.status, patient.status_reason) == ("screening", "referral letter received")
    response = client.post(url, {"status": "asleep"})
    assert response.status_code == 400 and "Select a valid choice" in response.content.decode()


# --- sections: add -----------------------------------------------------------------------------------------------


def _add(client, user, patient, kind, data, **headers):
    client.force_login(user)
    url = reverse("patients:section", args=[patient.pk, kind])
    return client.post(url, {f"add-{k}": v for k, v in data.items()}, headers=headers)


def _errors(response, field):
    return response.context["form"].errors[field]


@pytest.mark.parametrize(
    ("weight", "message"),
    [
        ("0", "Weight: must be above 0 kg and at most 350 kg (you entered 0)."),
        ("351", "Weight: must be above 0 kg and at most 350 kg (you entered 351)."),
        ("-2", "Weight: must be above 0 kg and at most 350 kg (you entered -2)."),
        ("0.05", "Ensure that there are no more than 1 decimal place."),
        ("heavy", "Weight: enter a number of kilograms, e.g. 72.5."),
    ],
)
def test_it_refuses_an_implausible_weight_next_to_the_field(client, cast, patient, weight, message):
    response = _add(client, cast.nurse, patient, "measurements", {"weight_kg": weight, "height_cm": "172"})
    assert response.status_code == 400
    assert _errors(response, "weight_kg") == [message]
    assert 'id="id_add-weight_kg_error"' in response.content.decode()
    assert 'value="172"' in response.content.decode()  # the height typed is kept
    assert not BodyMeasurement.objects.exists()


def test_it_refuses_an_implausible_height_or_an_empty_measurement(client, cast, patient):
    response = _add(client, cast.nurse, patient, "measurements", {"height_cm": "40"})
    assert _errors(response, "height_cm") == ["Height: must be between 50 and 250 cm (you entered 40)."]
    response = _add(client, cast.nurse, patient, "measurements", {"weight_kg": "", "height_cm": ""})
    assert response.status_code == 400
    assert _errors(response, "weight_kg") == ["Weight: enter a weight or a height (or both)."]


@time_machine.travel(dt.datetime(2026, 11, 2, 15, tzinfo=dt.UTC), tick=False)
def test_it_records_a_measurement_and_shows_the_bmi(client, cast, patient):
    response = _add(
        client,
        cast.nurse,
        patient,
        "measurements",
        {"measured_at": "2026-11-02T08:30", "weight_kg": "350", "height_cm": "250"},
    )
    assert response.status_code == 302
    row = BodyMeasurement.objects.get()
    assert (row.weight_kg, row.height_cm, row.recorded_by) == (Decimal("350.0"), Decimal("250.0"), cast.nurse)
    page = client.get(response["Location"])
    assert "Added measurement" in page.content.decode() and "<strong>56.0</strong> kg/m²" in page.content.decode()
    future = _add(client, cast.nurse, patient, "measurements", {"measured_at": "2026-11-03T08:30", "weight_kg": "70"})
    assert _errors(future, "measured_at") == ["Measured at: cannot be in the future."]


def test_it_refuses_a_trial_with_0_weeks_naming_the_field(client, cast, patient):
    response = _add(
        client, cast.nurse, patient, "trials", {"drug": "sertraline", "weeks": "0", "improvement_pct": "20"}
    )
    assert response.status_code == 400
    assert _errors(response, "weeks") == [
        "Weeks: a trial must last more than 0 weeks and at most 520 (you entered 0); leave it blank if not known."
    ]
    assert 'value="sertraline"' in response.content.decode()
    assert not AntidepressantTrial.objects.exists()


def test_it_refuses_an_improvement_over_100_and_a_dose_of_0(client, cast, patient):
    response = _add(
        client, cast.nurse, patient, "trials", {"drug": "sertraline", "improvement_pct": "101", "daily_dose_mg": "0"}
    )
    assert _errors(response, "improvement_pct") == ["Improvement: must be from 0 to 100 % (you entered 101)."]
    assert _errors(response, "daily_dose_mg") == ["Daily dose: must be more than 0 mg (leave blank if not known)."]


def test_it_records_a_trial_with_the_catalogue_class_and_unknowns_left_unknown(client, cast, patient):
    response = _add(
        client,
        cast.prescriber,
        patient,
        "trials",
        {
            "drug": "Venlafaxine",
            "daily_dose_mg": "225",
            "adequate_dose": "unknown",
            "weeks": "6",
            "current_episode": "on",
        },
    )
    assert response.status_code == 302
    trial = AntidepressantTrial.objects.get()
    assert (trial.drug_class, trial.adequate_dose, trial.weeks, trial.improvement_pct) == (
        "snri",
        None,
        Decimal("6"),
        None,
    )
    assert trial.current_episode


def test_it_asks_for_the_class_of_a_drug_the_catalogue_does_not_know(client, cast, patient):
    response = _add(client, cast.nurse, patient, "trials", {"drug": "Brandix"})
    assert _errors(response, "drug_class") == ["Drug class: Brandix is not in the drug catalogue; choose its class."]
    response = _add(client, cast.nurse, patient, "trials", {"drug": "Brandix", "drug_class": "other_antidepressant"})
    assert response.status_code == 302


def test_it_refuses_an_unknown_icd10_code_and_offers_the_catalogue(client, cast, patient):
    response = _add(client, cast.nurse, patient, "diagnoses", {"icd10_code": "F33.22", "episode": "n/a"})
    html = response.content.decode()
    assert response.status_code == 400
    assert _errors(response, "icd10_code") == [
        "ICD-10-CM code: F33.22 is not in the clinic's catalogue; pick one from the list, e.g. F33.2."
    ]
    assert '<datalist id="icd10-codes">' in html and '<option value="F33.2">F33.2 — Major depressive' in html
    assert not Diagnosis.objects.exists()


def test_it_fills_a_diagnosis_from_the_catalogue_and_keeps_one_primary(client, cast, patient):
    response = _add(
        client, cast.nurse, patient, "diagnoses", {"icd10_code": "f33.1", "episode": "n/a", "is_primary": "on"}
    )
    assert response.status_code == 302
    diagnosis = Diagnosis.objects.get()
    assert (diagnosis.icd10_code, diagnosis.episode, diagnosis.is_primary) == ("F33.1", "recurrent", True)
    assert diagnosis.description == "Major depressive disorder, recurrent, moderate"
    response = _add(
        client, cast.nurse, patient, "diagnoses", {"icd10_code": "F41.1", "episode": "n/a", "is_primary": "on"}
    )
    assert response.status_code == 400
    assert _errors(response, "is_primary") == [
        "Primary: F33.1 is already the primary diagnosis; untick it there first."
    ]


def test_it_fills_a_medications_class_and_refuses_a_contradicting_one(client, cast, patient):
    response = _add(client, cast.nurse, patient, "medications", {"name": "clonazepam", "daily_dose_mg": "1"})
    assert response.status_code == 302
    assert MedicationEntry.objects.get().drug_class == "benzodiazepine"
    response = _add(client, cast.nurse, patient, "medications", {"name": "phenelzine", "drug_class": "ssri"})
    assert _errors(response, "drug_class") == ["Drug class: phenelzine is MAOI in the drug catalogue, not SSRI."]
    response = _add(client, cast.nurse, patient, "medications", {"name": "Vitamin D"})
    assert response.status_code == 302
    assert MedicationEntry.objects.get(name="Vitamin D").drug_class == "other"
    response = _add(client, cast.nurse, patient, "medications", {"name": "x", "daily_dose_mg": "-1"})
    assert _errors(response, "daily_dose_mg") == ["Daily dose: must be more than 0 mg (leave blank if not known)."]


def test_it_records_allergies_conditions_and_substance_use(client, cast, patient):
    assert (
        _add(client, cast.nurse, patient, "allergies", {"substance": "Latex", "severity": "severe"}).status_code == 302
    )
    response = _add(client, cast.nurse, patient, "conditions", {"condition": "sleep_apnoea", "notes": "CPAP"})
    assert response.status_code == 302
    response = _add(client, cast.nurse, patient, "substance-use", {"substance": "alcohol", "current": "on"})
    assert response.status_code == 302
    assert Allergy.objects.get().substance == "Latex"
    assert MedicalCondition.objects.get().get_condition_display() == "Sleep apnoea"
    assert SubstanceUseEntry.objects.get().current


def test_it_offers_conditions_in_plain_language(client, cast, patient):
    client.force_login(cast.nurse)
    html = client.get(reverse("patients:section", args=[patient.pk, "conditions"])).content.decode()
    assert "Raised eye pressure or glaucoma" in html and "Liver disease, severe (Child-Pugh C)" in html


def test_it_swaps_the_section_in_place_for_htmx(client, cast, patient):
    response = _add(
        client, cast.nurse, patient, "allergies", {"substance": "Iodine", "severity": "unknown"}, HX_Request="true"
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "Added allergy: Iodine." in html and "<td>Iodine</td>" in html
    assert response.context["form"]["substance"].value() in (None, "")  # ready for the next one
    response = _add(client, cast.nurse, patient, "allergies", {"substance": ""}, HX_Request="true")
    assert response.status_code == 400 and "This field is required." in response.content.decode()


def test_it_marks_patient_reported_rows_awaiting_review(client, cast, patient):
    actions.add_entry(Allergy, patient, by=None, source="patient", substance="Peanuts")
    client.force_login(cast.nurse)
    html = client.get(reverse("patients:section", args=[patient.pk, "allergies"])).content.decode()
    assert "Patient-reported, not yet reviewed" in html


# --- sections: edit and remove -----------------------------------------------------------------------------------


def test_it_corrects_a_row(client, cast, patient):
    row = factories.MeasurementFactory.create(patient=patient, weight_kg=Decimal("70"), height_cm=Decimal("170"))
    client.force_login(cast.nurse)
    url = reverse("patients:edit_entry", args=[patient.pk, "measurements", row.pk])
    assert 'value="70.0"' in client.get(url).content.decode()
    response = client.post(url, {"measured_at": "2026-01-01T09:00", "weight_kg": "72.5", "height_cm": "170"})
    assert response.status_code == 302
    row.refresh_from_db()
    assert row.weight_kg == Decimal("72.5")
    update = AuditEvent.objects.get(action=AuditEvent.Action.UPDATE)
    assert "weight_kg" in update.detail["fields"]


def test_it_keeps_a_correction_that_does_not_validate(client, cast, patient):
    row = factories.TrialFactory.create(patient=patient)
    client.force_login(cast.nurse)
    url = reverse("patients:edit_entry", args=[patient.pk, "trials", row.pk])
    response = client.post(url, {"drug": "sertraline", "drug_class": "ssri", "weeks": "0", "notes": "typed note"})
    assert response.status_code == 400
    assert "Weeks: a trial must last more than 0 weeks" in response.content.decode()
    assert 'value="typed note"' in response.content.decode()
    row.refresh_from_db()
    assert row.weeks == Decimal("8")


def test_it_removes_a_row_with_a_reason(client, cast, patient):
    row = factories.AllergyFactory.create(patient=patient)
    client.force_login(cast.nurse)
    url = reverse("patients:remove_entry", args=[patient.pk, "allergies", row.pk])
    response = client.post(url, {"reason": ""})
    assert response.status_code == 400
    assert "Reason for removal: say why the entry is removed" in response.content.decode()
    response = client.post(url, {"reason": "entered in error"})
    assert response.status_code == 302
    row.refresh_from_db()
    assert row.removed_reason == "entered in error" and row.removed_at is not None
    assert client.get(url).status_code == 404  # a removed row cannot be edited or removed again


def test_it_does_not_pair_a_patient_with_another_patients_row(client, cast, patient):
    other_row = factories.AllergyFactory.create(patient=factories.PatientFactory.create(site=cast.site_a))
    client.force_login(cast.nurse)
    assert client.get(reverse("patients:edit_entry", args=[patient.pk, "allergies", other_row.pk])).status_code == 404


# --- htmx hints --------------------------------------------------------------------------------------------------


def test_it_hints_the_catalogue_class_of_a_drug(client, cast):
    client.force_login(cast.nurse)
    url = reverse("patients:drug_class_hint")
    assert (
        "<strong>Benzodiazepine</strong> in the drug catalogue"
        in client.get(url, {"add-name": "Lorazepam"}).content.decode()
    )
    assert "not in the drug catalogue" in client.get(url, {"drug": "Brandix"}).content.decode()
    assert client.get(url).content.decode().strip() == ""


def test_it_hints_the_description_of_an_icd10_code(client, cast):
    client.force_login(cast.nurse)
    url = reverse("patients:icd10_hint")
    assert "Generalized anxiety disorder" in client.get(url, {"add-icd10_code": "f41.1"}).content.decode()
    assert "F33.22 is not in the clinic" in client.get(url, {"icd10_code": "F33.22"}).content.decode()
    assert client.get(url).content.decode().strip() == ""


def test_it_wires_the_hints_to_the_fields(client, cast, patient):
    client.force_login(cast.nurse)
    html = client.get(reverse("patients:section", args=[patient.pk, "medications"])).content.decode()
    assert f'hx-get="{reverse("patients:drug_class_hint")}"' in html and 'id="drug-class-hint"' in html
    assert '<option value="lorazepam">' in html


def test_it_leaves_the_patient_unchanged_when_an_edit_page_is_only_read(client, cast, patient):
    client.force_login(cast.nurse)
    client.get(reverse("patients:edit_demographics", args=[patient.pk]))
    assert Patient.objects.get().version == 1


def test_it_marks_only_clinically_needed_blanks_as_not_recorded(client, cast, patient):
    factories.MedicationFactory.create(
        patient=patient, name="lamotrigine", drug_class="lamotrigine", daily_dose_mg=None
    )
    client.force_login(cast.nurse)
    response = client.get(reverse("patients:section", args=[patient.pk, "medications"]))
    ((_, cells),) = response.context["rows"]
    shown = {c.label: (c.text, c.missing) for c in cells}
    assert shown["Daily dose"] == ("not recorded", True)
    assert shown["As prescribed"] == ("—", False)
    assert response.context["form"]["drug_class"].value() == ""  # a new row starts from the catalogue
