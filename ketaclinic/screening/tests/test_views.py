"""Screening screens: who may open them, what they show, and how bad input is answered."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils.html import escape

from ketaclinic.accounts.roles import Role
from ketaclinic.accounts.tests.matrix import PermissionMatrix
from ketaclinic.audit.models import AuditEvent
from ketaclinic.patients.actions import add_entry
from ketaclinic.patients.models import MedicalCondition, Patient, Source
from ketaclinic.screening.actions import run_assessment, sign_assessment
from ketaclinic.screening.models import ChartReview, EligibilityAssessment
from ketaclinic.screening.tests.conftest import CALM_VITALS, new_patient

pytestmark = pytest.mark.django_db


def _draft(cast, patient=None, **kwargs):
    patient = patient or new_patient(cast)
    return run_assessment(patient, route="iv", by=cast.nurse, vitals=kwargs.pop("vitals", CALM_VITALS), **kwargs)


class TestListPermissions(PermissionMatrix):
    allowed = {Role.PRESCRIBER, Role.NURSE, Role.THERAPIST}
    patient_scoped = True

    def url(self, cast):
        return reverse("screening:list", args=[new_patient(cast).pk])


class TestRunPermissions(PermissionMatrix):
    allowed = {Role.PRESCRIBER, Role.NURSE}
    patient_scoped = True

    def url(self, cast):
        return reverse("screening:run", args=[new_patient(cast).pk])


class TestReviewPermissions(PermissionMatrix):
    allowed = {Role.PRESCRIBER, Role.NURSE}
    patient_scoped = True

    def url(self, cast):
        return reverse("screening:review", args=[new_patient(cast).pk])


class TestDetailPermissions(PermissionMatrix):
    allowed = {Role.PRESCRIBER, Role.NURSE, Role.THERAPIST}
    patient_scoped = True

    def url(self, cast):
        a = _draft(cast)
        return reverse("screening:detail", args=[a.patient_id, a.pk])


class TestSignPermissions(PermissionMatrix):
    allowed = {Role.PRESCRIBER}
    patient_scoped = True

    def url(self, cast):
        a = _draft(cast)
        return reverse("screening:sign", args=[a.patient_id, a.pk])


# --- list --------------------------------------------------------------------------------------------------------


def test_the_list_puts_the_signed_check_first_and_greys_superseded_ones(client, cast, complete_patient, frozen_clock):
    patient = complete_patient()
    old = _draft(cast, patient)
    sign_assessment(old, by=cast.prescriber, decision="approve")
    frozen_clock.shift(dt.timedelta(days=1))
    current = _draft(cast, patient)
    sign_assessment(current, by=cast.prescriber, decision="approve")
    frozen_clock.shift(dt.timedelta(days=1))
    draft = _draft(cast, patient)
    client.force_login(cast.therapist)
    body = client.get(reverse("screening:list", args=[patient.pk])).content.decode()
    positions = [body.index(reverse("screening:detail", args=[patient.pk, a.pk])) for a in (current, draft, old)]
    assert positions == sorted(positions)
    assert 'class="superseded"' in body and "In force" in body and "Awaiting signature" in body
    assert "Run eligibility check" not in body  # therapists read, they do not run
    assert AuditEvent.objects.filter(actor=cast.therapist, patient_id=patient.pk, action="view").exists()


def test_a_patient_id_that_is_not_a_number_or_an_assessment_of_another_patient_is_404(client, cast):
    a = _draft(cast)
    other = new_patient(cast)
    client.force_login(cast.prescriber)
    assert client.get(reverse("screening:detail", args=[other.pk, a.pk])).status_code == 404
    assert client.get(reverse("screening:detail", args=[a.patient_id, 999999])).status_code == 404


# --- run -------------------------------------------------------------------------------------------------------------


def test_running_a_check_opens_its_result(client, cast, complete_patient):
    patient = complete_patient()
    client.force_login(cast.nurse)
    response = client.post(
        reverse("screening:run", args=[patient.pk]),
        {
            "route": "esketamine_nasal",
            "indication": "trd",
            "systolic_mmhg": "128",
            "diastolic_mmhg": "82",
            "heart_rate_bpm": "70",
            "spo2_pct": "98",
        },
    )
    a = EligibilityAssessment.objects.get(patient=patient)
    assert response.status_code == 302
    assert response["Location"] == reverse("screening:detail", args=[patient.pk, a.pk])
    assert a.route == "esketamine_nasal" and a.inputs["vitals"]["systolic_mmhg"] == 128.0
    assert a.decision == "eligible"


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (
            {"systolic_mmhg": "400", "diastolic_mmhg": "80"},
            "systolic_mmhg",
            "Systolic blood pressure: 400 is outside the allowed range 50–300 mmHg",
        ),
        (
            {"systolic_mmhg": "120", "diastolic_mmhg": "80", "spo2_pct": "101"},
            "spo2_pct",
            "Oxygen saturation (pulse oximetry): 101 is outside the allowed range 50–100 %",
        ),
        (
            {"systolic_mmhg": "80", "diastolic_mmhg": "90"},
            "diastolic_mmhg",
            "Diastolic blood pressure: 90 must be below systolic_mmhg 80",
        ),
        ({"systolic_mmhg": "120"}, "diastolic_mmhg", "Enter both blood-pressure readings, or neither."),
        ({"heart_rate_bpm": "fast"}, "heart_rate_bpm", "Enter a number."),
    ],
)
def test_bad_vitals_are_answered_next_to_the_field_and_kept(client, cast, data, field, message):
    patient = new_patient(cast)
    client.force_login(cast.nurse)
    response = client.post(reverse("screening:run", args=[patient.pk]), {"route": "iv", "indication": "trd", **data})
    assert response.status_code == 400
    form = response.context["form"]
    assert form.errors[field] == [message]
    body = response.content.decode()
    assert f'id="id_{field}_error"' in body
    for name, value in data.items():
        assert f'name="{name}" value="{value}"' in body
    assert not EligibilityAssessment.objects.exists()


def test_the_run_form_is_prefilled_for_a_re_run(client, cast):
    a = run_assessment(
        new_patient(cast),
        route="esketamine_nasal",
        indication="mdsi",
        by=cast.nurse,
        vitals=CALM_VITALS,
        acute_suicidal_ideation=True,
    )
    client.force_login(cast.nurse)
    detail = client.get(reverse("screening:detail", args=[a.patient_id, a.pk]))
    rerun = detail.context["rerun_url"]
    assert "systolic_mmhg=122" in rerun and "acute_suicidal_ideation=yes" in rerun
    body = client.get(rerun).content.decode()
    assert 'name="systolic_mmhg" value="122"' in body
    assert 'value="esketamine_nasal" id="id_route_4" required checked' in body
    assert 'value="mdsi" id="id_indication_1" required checked' in body
    assert 'value="yes" selected' in body


# --- detail ----------------------------------------------------------------------------------------------------------


def test_the_page_shows_the_decision_in_words_and_every_finding_with_its_sources(client, cast, complete_patient):
    patient = complete_patient()
    add_entry(MedicalCondition, patient, by=cast.nurse, condition="bipolar")
    a = _draft(cast, patient)
    client.force_login(cast.therapist)
    response = client.get(reverse("screening:detail", args=[patient.pk, a.pk]))
    body = response.content.decode()
    assert "decision-eligible_with_precautions" in body and "The rules say: Eligible with precautions" in body
    for finding in a.findings:
        assert finding["message"] in body
        for citation in finding["citations"]:
            assert escape(citation) in body
    assert "Clinic policy" in body  # the bipolar precaution is a clinic choice
    assert "Best knowledge" in body  # the off-label note rests on best knowledge
    assert "Thase–Rush stage: <strong>II</strong>" in body
    assert "Counted as failed: 2 (at least 2 needed)" in body and "sertraline (ssri)" in body
    assert 'id="sign"' not in body  # therapists cannot sign
    assert AuditEvent.objects.filter(
        action="view", object_type="screening.eligibilityassessment", object_id=str(a.pk), actor=cast.therapist
    ).exists()


def test_the_page_asks_for_what_is_missing_with_a_way_to_fix_each(client, cast):
    patient = new_patient(cast)
    for condition in ("cystitis", "sleep_apnoea", "bipolar"):
        add_entry(MedicalCondition, patient, by=None, source=Source.PATIENT, condition=condition)
    a = _draft(cast, patient, vitals=None)
    client.force_login(cast.nurse)
    body = client.get(reverse("screening:detail", args=[patient.pk, a.pk])).content.decode()
    assert "What is missing" in body
    assert "Blood pressure at screening not recorded." in body
    assert "Enter it on the check form" in body
    assert reverse("patients:section", args=[patient.pk, "conditions"]) in body
    assert reverse("patients:section", args=[patient.pk, "trials"]) in body
    assert reverse("patients:section", args=[patient.pk, "substance-use"]) in body
    assert reverse("patients:edit_demographics", args=[patient.pk]) in body
    assert body.count(">Reviewed: none</button>") == 4  # conditions, medications, substance use, trials
    assert "3 items reported by the patient await review and were not used" in body
    assert "Incomplete — cannot be approved yet" in body
    assert "Re-run the check" in body


def test_an_undetermined_trial_says_why(client, cast, complete_patient):
    from ketaclinic.patients.models import AntidepressantTrial

    patient = new_patient(cast, pregnant=False, breastfeeding=False)
    add_entry(
        AntidepressantTrial,
        patient,
        by=cast.nurse,
        drug="sertraline",
        drug_class="ssri",
        adequate_dose=True,
        improvement_pct=0,
    )
    add_entry(
        AntidepressantTrial,
        patient,
        by=cast.nurse,
        drug="duloxetine",
        drug_class="snri",
        adequate_dose=True,
        weeks=8,
        improvement_pct=5,
    )
    a = _draft(cast, patient)
    client.force_login(cast.prescriber)
    body = client.get(reverse("screening:detail", args=[patient.pk, a.pk])).content.decode()
    assert "sertraline — not recorded: weeks at that dose" in body
    assert "Weeks on sertraline at an adequate dose not recorded (at least 6 are needed)." in body


def test_a_signed_check_is_read_only_with_signer_time_and_inputs(client, cast, complete_patient):
    a = _draft(cast, complete_patient())
    sign_assessment(a, by=cast.prescriber, decision="approve")
    client.force_login(cast.prescriber)
    body = client.get(reverse("screening:detail", args=[a.patient_id, a.pk])).content.decode()
    assert "Signed: Approve" in body and str(cast.prescriber) in body and "read-only" in body
    assert 'id="sign"' not in body
    assert '<details class="card snapshot"' in body
    assert "sertraline (ssri): 150 mg/day, 8 weeks, improvement 10 %, adequate dose yes" in body
    assert "None (reviewed by nurse, 2026-03-10)" in body


# --- sign ------------------------------------------------------------------------------------------------------------


def test_a_prescriber_signs_from_the_page(client, cast, complete_patient):
    a = _draft(cast, complete_patient())
    client.force_login(cast.prescriber)
    page = client.get(reverse("screening:detail", args=[a.patient_id, a.pk])).content.decode()
    assert 'id="sign"' in page and "An incomplete check cannot be approved" in page
    response = client.post(reverse("screening:sign", args=[a.patient_id, a.pk]), {"decision": "approve"})
    assert response.status_code == 302
    a.refresh_from_db()
    assert a.status == "signed" and a.signed_by == cast.prescriber
    assert Patient.objects.get(pk=a.patient_id).status == Patient.Status.ELIGIBLE


def test_the_precautions_checklist_is_pre_ticked_and_carried(client, cast, complete_patient):
    patient = complete_patient()
    add_entry(MedicalCondition, patient, by=cast.nurse, condition="sleep_apnoea")
    add_entry(MedicalCondition, patient, by=cast.nurse, condition="cystitis")
    a = _draft(cast, patient)
    client.force_login(cast.prescriber)
    page = client.get(reverse("screening:sign", args=[patient.pk, a.pk])).content.decode()
    assert page.count('name="precautions"') == 2 and page.count("checked") >= 3  # two ticks + suggested decision
    response = client.post(
        reverse("screening:sign", args=[patient.pk, a.pk]),
        {"decision": "approve_with_precautions", "precautions": ["1"], "other_precautions": "Escort home\n\n"},
    )
    assert response.status_code == 302
    a.refresh_from_db()
    assert [p["message"] for p in a.precautions] == [a.carryable_findings()[1]["message"], "Escort home"]


def test_an_override_without_a_reason_is_refused_next_to_the_reason(client, cast, complete_patient):
    patient = complete_patient()
    add_entry(MedicalCondition, patient, by=cast.nurse, condition="aneurysm_or_avm")
    a = _draft(cast, patient)
    client.force_login(cast.prescriber)
    response = client.post(
        reverse("screening:sign", args=[patient.pk, a.pk]), {"decision": "approve", "reason": "fine"}
    )
    assert response.status_code == 400
    assert "at least 20 characters" in response.context["sign_form"].errors["reason"][0]
    assert "fine</textarea>" in response.content.decode()
    a.refresh_from_db()
    assert a.status == "draft"


def test_a_bad_custom_precaution_is_shown_next_to_its_field(client, cast, complete_patient):
    a = _draft(cast, complete_patient())
    client.force_login(cast.prescriber)
    response = client.post(
        reverse("screening:sign", args=[a.patient_id, a.pk]),
        {"decision": "approve_with_precautions", "other_precautions": "x" * 301},
    )
    assert response.status_code == 400
    assert "not a finding of this assessment" in response.context["sign_form"].errors["other_precautions"][0]


def test_a_missing_decision_is_a_400(client, cast, complete_patient):
    a = _draft(cast, complete_patient())
    client.force_login(cast.prescriber)
    response = client.post(reverse("screening:sign", args=[a.patient_id, a.pk]), {"reason": "x"})
    assert response.status_code == 400 and "decision" in response.context["sign_form"].errors


def test_signing_a_signed_check_again_is_a_409(client, cast, complete_patient):
    a = _draft(cast, complete_patient())
    sign_assessment(a, by=cast.prescriber, decision="approve")
    client.force_login(cast.prescriber)
    response = client.post(
        reverse("screening:sign", args=[a.patient_id, a.pk]), {"decision": "decline", "reason": "changed"}
    )
    assert response.status_code == 409
    assert "already signed" in response.content.decode()


def test_a_nurse_cannot_sign_by_posting(client, cast, complete_patient):
    a = _draft(cast, complete_patient())
    client.force_login(cast.nurse)
    response = client.post(reverse("screening:sign", args=[a.patient_id, a.pk]), {"decision": "approve"})
    assert response.status_code == 403
    a.refresh_from_db()
    assert a.status == "draft"


def test_an_outdated_draft_offers_no_sign_form(client, cast, complete_patient, frozen_clock):
    patient = complete_patient()
    old = _draft(cast, patient)
    frozen_clock.shift(dt.timedelta(hours=1))
    sign_assessment(_draft(cast, patient), by=cast.prescriber, decision="approve")
    client.force_login(cast.prescriber)
    body = client.get(reverse("screening:detail", args=[patient.pk, old.pk])).content.decode()
    assert "A newer check for this route has been signed" in body and 'id="sign"' not in body


def test_a_changed_chart_is_announced_before_signing(client, cast, complete_patient):
    patient = complete_patient()
    a = _draft(cast, patient)
    add_entry(MedicalCondition, patient, by=cast.nurse, condition="sleep_apnoea")
    client.force_login(cast.prescriber)
    body = client.get(reverse("screening:detail", args=[patient.pk, a.pk])).content.decode()
    assert "The chart has changed since this check ran" in body


# --- reviewed: none --------------------------------------------------------------------------------------------------


def test_reviewed_none_from_the_missing_list_returns_to_the_check(client, cast):
    a = _draft(cast)
    client.force_login(cast.nurse)
    back = reverse("screening:detail", args=[a.patient_id, a.pk])
    response = client.post(reverse("screening:review", args=[a.patient_id]), {"section": "substance_use", "next": back})
    assert response.status_code == 302 and response["Location"] == back
    assert ChartReview.objects.filter(patient_id=a.patient_id, section="substance_use").exists()


def test_reviewed_none_refuses_a_section_with_rows_and_unsafe_next(client, cast):
    patient = new_patient(cast)
    add_entry(MedicalCondition, patient, by=cast.nurse, condition="cystitis")
    client.force_login(cast.nurse)
    url = reverse("screening:review", args=[patient.pk])
    response = client.post(url, {"section": "conditions", "next": "https://evil.example/"})
    assert response.status_code == 400
    assert "are recorded" in response.context["form"].errors["section"][0]
    response = client.post(url, {"section": "substance_use", "next": "https://evil.example/"})
    assert response["Location"] == reverse("screening:list", args=[patient.pk])
    assert client.post(url, {"section": "nonsense"}).status_code == 400
