"""Running and signing eligibility checks: the rules of sign-off, supersession, status and audit."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied

from ketaclinic.audit.models import AuditEvent
from ketaclinic.patients.actions import add_entry, set_status, update_patient
from ketaclinic.patients.models import MedicalCondition, MedicationEntry, Patient
from ketaclinic.screening.actions import (
    SigningConflict,
    SigningError,
    current_assessment,
    current_precautions,
    mark_section_reviewed,
    rules_version,
    run_assessment,
    sign_assessment,
)
from ketaclinic.screening.models import ChartReview, EligibilityAssessment
from ketaclinic.screening.tests.conftest import CALM_VITALS, new_patient
from ketaclinic.tasks.models import Task

pytestmark = pytest.mark.django_db

Status = EligibilityAssessment.Status
OVERRIDE_REASON = "Specialist cardiology review: controlled, benefit outweighs risk."


def run(patient, by, route="iv", vitals=CALM_VITALS, **kwargs):
    return run_assessment(
        patient, route=route, indication=kwargs.pop("indication", "trd"), by=by, vitals=vitals, **kwargs
    )


def events(action, assessment):
    return AuditEvent.objects.filter(
        action=action, object_type="screening.eligibilityassessment", object_id=str(assessment.pk)
    )


# --- run ---------------------------------------------------------------------------------------------------------


def test_it_runs_a_draft_with_the_engine_output_and_audits_it(cast, complete_patient):
    patient = complete_patient()
    a = run(patient, cast.nurse)
    assert a.status == Status.DRAFT and a.decision == "eligible"
    assert a.route == "iv" and a.indication == "trd" and a.site == patient.site
    assert a.trd["met"] is True and a.trd["failed_drugs"] == ["sertraline", "venlafaxine"]
    assert a.thase_rush_stage == 2
    assert a.findings[0]["code"] == "eligibility.off_label_racemic"
    assert a.findings[0]["citations"][0].startswith("[R9] ")
    assert a.inputs["vitals"]["systolic_mmhg"] == 122.0
    assert a.rules_version == rules_version() and len(a.rules_version) == 16
    assert a.created_by == cast.nurse
    assert events(AuditEvent.Action.CREATE, a).get().actor == cast.nurse


def test_it_records_missing_items_and_pending_reports(cast):
    patient = new_patient(cast)
    add_entry(MedicalCondition, patient, by=None, source="patient", condition="cystitis")
    a = run(patient, cast.nurse, vitals=None)
    assert a.decision == "incomplete"
    messages = [m["message"] for m in a.missing]
    assert "Blood pressure at screening not recorded." in messages
    assert "Medical and psychiatric conditions not reviewed." in messages
    assert a.pending_patient_reported == 1


def test_it_classifies_each_trial_for_the_trd_summary(cast, complete_patient):
    patient = complete_patient()
    add_entry(MedicationEntry, patient, by=cast.nurse, name="sertraline", drug_class="ssri", daily_dose_mg=150)
    from ketaclinic.patients.models import AntidepressantTrial

    add_entry(AntidepressantTrial, patient, by=cast.nurse, drug="bupropion", drug_class="bupropion", weeks=8)
    add_entry(
        AntidepressantTrial,
        patient,
        by=cast.nurse,
        drug="fluoxetine",
        drug_class="ssri",
        adequate_dose=True,
        weeks=3,
        improvement_pct=0,
    )
    add_entry(AntidepressantTrial, patient, by=cast.nurse, drug="aripiprazole", drug_class="augmentation")
    add_entry(AntidepressantTrial, patient, by=cast.nurse, drug="citalopram", drug_class="ssri", adequate_dose=False)
    add_entry(
        AntidepressantTrial,
        patient,
        by=cast.nurse,
        drug="escitalopram",
        drug_class="ssri",
        adequate_dose=True,
        weeks=8,
        improvement_pct=60,
    )
    verdicts = {t["drug"]: t for t in run(patient, cast.nurse).trd["trials"]}
    assert verdicts["sertraline"]["status"] == "failed"
    assert verdicts["bupropion"]["status"] == "undetermined"
    assert verdicts["bupropion"]["why"] == "not recorded: whether the dose was adequate, improvement"
    assert verdicts["fluoxetine"] == {**verdicts["fluoxetine"], "status": "not_counted", "why": "fewer than 6 weeks"}
    assert verdicts["aripiprazole"]["status"] == "not_counted"
    assert verdicts["citalopram"]["why"] == "the dose was judged inadequate"
    assert verdicts["escitalopram"]["why"] == "improved by more than 25 %"


def test_it_refuses_a_run_by_roles_without_chart_editing_or_at_another_site(cast, complete_patient):
    patient = complete_patient()
    for user in (cast.therapist, cast.coordinator, cast.nurse_b):
        with pytest.raises(PermissionDenied):
            run(patient, user)
    assert not EligibilityAssessment.objects.exists()


def test_it_refuses_an_unknown_route_or_indication(cast, complete_patient):
    patient = complete_patient()
    with pytest.raises(ValueError, match="route: 'oral' is not one of"):
        run(patient, cast.nurse, route="oral")
    with pytest.raises(ValueError, match="indication: 'ptsd'"):
        run(patient, cast.nurse, indication="ptsd")


def test_it_raises_one_signoff_task_when_a_nurse_runs_a_signable_check(cast, complete_patient):
    patient = complete_patient()
    run(patient, cast.nurse)
    run(patient, cast.nurse)
    tasks = Task.objects.filter(patient=patient, kind=Task.Kind.ELIGIBILITY_SIGNOFF, status="open")
    assert tasks.count() == 1
    run(patient, cast.prescriber)
    incomplete = new_patient(cast)
    run(incomplete, cast.nurse, vitals=None)
    assert Task.objects.filter(kind=Task.Kind.ELIGIBILITY_SIGNOFF).count() == 1


# --- sign ----------------------------------------------------------------------------------------------------------


def test_it_approves_an_eligible_check_and_makes_the_patient_eligible(cast, complete_patient, frozen_clock):
    patient = complete_patient()
    a = run(patient, cast.nurse)
    signed = sign_assessment(a, by=cast.prescriber, decision="approve")
    assert signed.status == Status.SIGNED and signed.prescriber_decision == "approve"
    assert signed.signed_by == cast.prescriber and signed.signed_at is not None
    assert signed.precautions == [] and signed.overridden is False
    assert a.status == Status.SIGNED  # the caller's object is refreshed too
    patient.refresh_from_db()
    assert patient.status == Patient.Status.ELIGIBLE
    sign_event = events(AuditEvent.Action.SIGN, a).get()
    assert sign_event.actor == cast.prescriber and sign_event.detail == {"supersedes": None}
    assert not events(AuditEvent.Action.OVERRIDE, a).exists()
    assert not Task.objects.filter(patient=patient, status="open").exists()  # the nurse's sign-off task closed


def test_only_prescribers_at_the_site_sign(cast, complete_patient):
    a = run(complete_patient(), cast.nurse)
    for user in (cast.nurse, cast.therapist, cast.coordinator, cast.admin, cast.nurse_b):
        with pytest.raises(PermissionDenied):
            sign_assessment(a, by=user, decision="approve")
    a.refresh_from_db()
    assert a.status == Status.DRAFT


def test_it_never_approves_an_incomplete_check(cast):
    patient = new_patient(cast)
    a = run(patient, cast.nurse)
    for decision in ("approve", "approve_with_precautions"):
        with pytest.raises(SigningError) as caught:
            sign_assessment(a, by=cast.prescriber, decision=decision, reason="x" * 40)
        assert caught.value.field == "decision"
        assert "complete the missing items first" in caught.value.message
        assert "Pregnancy status not recorded" in caught.value.message
    a.refresh_from_db()
    assert a.status == Status.DRAFT


def test_it_declines_an_incomplete_check_with_a_reason(cast):
    patient = new_patient(cast)
    a = run(patient, cast.nurse)
    with pytest.raises(SigningError) as caught:
        sign_assessment(a, by=cast.prescriber, decision="decline", reason="  ")
    assert caught.value.field == "reason"
    sign_assessment(a, by=cast.prescriber, decision="decline", reason="Patient chose another treatment.")
    patient.refresh_from_db()
    assert patient.status == Patient.Status.DECLINED
    assert a.reason == "Patient chose another treatment."


def test_it_refuses_an_unknown_decision(cast, complete_patient):
    a = run(complete_patient(), cast.nurse)
    with pytest.raises(SigningError) as caught:
        sign_assessment(a, by=cast.prescriber, decision="maybe")
    assert caught.value.field == "decision"


def _not_eligible(cast, complete_patient):
    patient = complete_patient()
    add_entry(MedicalCondition, patient, by=cast.nurse, condition="hypertension_uncontrolled")
    a = run(patient, cast.nurse)
    assert a.decision == "not_eligible"
    return patient, a


def test_an_override_needs_a_reason_of_twenty_characters(cast, complete_patient):
    _, a = _not_eligible(cast, complete_patient)
    with pytest.raises(SigningError) as caught:
        sign_assessment(a, by=cast.prescriber, decision="approve_with_precautions", reason="benefit > risk")
    assert caught.value.field == "reason" and "at least 20 characters" in caught.value.message
    assert not events(AuditEvent.Action.OVERRIDE, a).exists()


def test_an_override_is_signed_audited_and_carries_what_it_set_aside(cast, complete_patient):
    patient, a = _not_eligible(cast, complete_patient)
    sign_assessment(a, by=cast.prescriber, decision="approve_with_precautions", reason=OVERRIDE_REASON)
    assert a.overridden is True and a.reason == OVERRIDE_REASON
    assert {p["code"] for p in a.precautions} == {"eligibility.condition.hypertension_uncontrolled"}
    override = events(AuditEvent.Action.OVERRIDE, a).get()
    assert override.actor == cast.prescriber
    assert override.detail == {"overridden_findings": 1}
    patient.refresh_from_db()
    assert patient.status == Patient.Status.ELIGIBLE


def test_a_plain_approval_of_a_not_eligible_check_is_an_override_too(cast, complete_patient):
    _, a = _not_eligible(cast, complete_patient)
    sign_assessment(a, by=cast.prescriber, decision="approve", reason=OVERRIDE_REASON)
    assert a.overridden is True and a.precautions == []
    assert events(AuditEvent.Action.OVERRIDE, a).exists()


def test_declining_a_not_eligible_check_is_not_an_override(cast, complete_patient):
    patient, a = _not_eligible(cast, complete_patient)
    sign_assessment(a, by=cast.prescriber, decision="decline", reason="Uncontrolled hypertension.")
    assert a.overridden is False
    assert not events(AuditEvent.Action.OVERRIDE, a).exists()
    patient.refresh_from_db()
    assert patient.status == Patient.Status.DECLINED


def _with_precautions(cast, complete_patient):
    patient = complete_patient()
    add_entry(MedicalCondition, patient, by=cast.nurse, condition="sleep_apnoea")
    add_entry(MedicationEntry, patient, by=cast.nurse, name="lamotrigine", drug_class="lamotrigine", daily_dose_mg=100)
    a = run(patient, cast.nurse)
    assert a.decision == "eligible_with_precautions"
    return patient, a


def test_approving_with_precautions_carries_the_precautions_and_interactions_by_default(cast, complete_patient):
    patient, a = _with_precautions(cast, complete_patient)
    sign_assessment(a, by=cast.prescriber, decision="approve_with_precautions")
    assert [p["code"] for p in a.precautions] == ["eligibility.condition.sleep_apnoea", "eligibility.lamotrigine"]
    assert current_precautions(patient, "iv") == a.precautions
    assert current_precautions(patient, "esketamine_nasal") == []


def test_a_plain_approval_is_refused_when_precautions_were_found(cast, complete_patient):
    _, a = _with_precautions(cast, complete_patient)
    with pytest.raises(SigningError) as caught:
        sign_assessment(a, by=cast.prescriber, decision="approve")
    assert caught.value.field == "decision" and "approve with precautions" in caught.value.message


def test_the_prescriber_chooses_and_adds_precautions(cast, complete_patient):
    _, a = _with_precautions(cast, complete_patient)
    mine = {"code": "prescriber", "message": "Escort home after every session."}
    chosen = [a.carryable_findings()[1], mine, mine]
    sign_assessment(a, by=cast.prescriber, decision="approve_with_precautions", precautions=chosen)
    assert a.precautions == [a.carryable_findings()[1], mine]


def test_it_refuses_a_precaution_that_is_not_a_finding(cast, complete_patient):
    _, a = _with_precautions(cast, complete_patient)
    for bad in ({"code": "eligibility.maoi", "message": "made up"}, {"code": "prescriber", "message": ""}):
        with pytest.raises(SigningError) as caught:
            sign_assessment(a, by=cast.prescriber, decision="approve_with_precautions", precautions=[bad])
        assert caught.value.field == "precautions"


def test_signing_twice_is_a_conflict(cast, complete_patient):
    a = run(complete_patient(), cast.nurse)
    sign_assessment(a, by=cast.prescriber, decision="approve")
    with pytest.raises(SigningConflict, match="already signed"):
        sign_assessment(a, by=cast.prescriber, decision="decline", reason="changed my mind")


def test_a_later_signature_supersedes_the_previous_one_for_the_route(cast, complete_patient, frozen_clock):
    patient = complete_patient()
    first = run(patient, cast.nurse)
    sign_assessment(first, by=cast.prescriber, decision="approve")
    other_route = run(patient, cast.nurse, route="esketamine_nasal")
    sign_assessment(other_route, by=cast.prescriber, decision="approve_with_precautions")
    frozen_clock.shift(dt.timedelta(days=30))
    second = run(patient, cast.nurse)
    sign_assessment(second, by=cast.prescriber, decision="decline", reason="Relapse of alcohol use disorder.")
    first.refresh_from_db()
    other_route.refresh_from_db()
    assert first.status == Status.SUPERSEDED and second.supersedes == first
    assert other_route.status == Status.SIGNED  # another route is another decision
    assert current_assessment(patient, "iv") == second
    assert current_assessment(patient) == second
    assert current_precautions(patient, "iv") == []  # declined: nothing approved is in force
    supersede = AuditEvent.objects.get(
        action="update", object_id=str(first.pk), object_type="screening.eligibilityassessment"
    )
    assert supersede.detail == {"fields": ["status"], "superseded_by": second.pk}


def test_an_older_draft_cannot_be_signed_after_a_newer_signature(cast, complete_patient, frozen_clock):
    patient = complete_patient()
    old = run(patient, cast.nurse)
    frozen_clock.shift(dt.timedelta(hours=1))
    new = run(patient, cast.nurse)
    sign_assessment(new, by=cast.prescriber, decision="approve")
    with pytest.raises(SigningConflict, match="newer check"):
        sign_assessment(old, by=cast.prescriber, decision="approve")


def test_a_draft_cannot_be_signed_once_the_chart_changed(cast, complete_patient):
    patient = complete_patient()
    a = run(patient, cast.nurse)
    update_patient(patient, by=cast.nurse, pregnant=True)
    with pytest.raises(SigningConflict, match="chart changed"):
        sign_assessment(a, by=cast.prescriber, decision="approve")


def test_approval_keeps_a_patient_in_treatment_in_treatment(cast, complete_patient):
    patient = complete_patient()
    set_status(patient, Patient.Status.IN_TREATMENT, by=cast.prescriber)
    sign_assessment(run(patient, cast.nurse), by=cast.prescriber, decision="approve")
    patient.refresh_from_db()
    assert patient.status == Patient.Status.IN_TREATMENT


def test_current_assessment_is_none_before_any_signature(cast, complete_patient):
    patient = complete_patient()
    run(patient, cast.nurse)
    assert current_assessment(patient) is None
    assert current_precautions(patient, "iv") == []


# --- reviewed: none ------------------------------------------------------------------------------------------------


def test_it_records_a_section_as_reviewed_none_and_audits_it(cast):
    patient = new_patient(cast)
    review = mark_section_reviewed(patient, "substance_use", by=cast.nurse)
    assert review.section == ChartReview.Section.SUBSTANCE_USE and review.reviewed_by == cast.nurse
    event = AuditEvent.objects.get(object_type="screening.chartreview", object_id=str(review.pk))
    assert event.detail == {"section": "substance_use"}


def test_it_refuses_none_for_a_section_with_rows_or_an_unknown_section(cast):
    patient = new_patient(cast)
    add_entry(MedicationEntry, patient, by=cast.nurse, name="sertraline", drug_class="ssri")
    with pytest.raises(ValueError, match="section: current medications are recorded"):
        mark_section_reviewed(patient, "medications", by=cast.nurse)
    with pytest.raises(ValueError, match="section: 'allergies' is not one of"):
        mark_section_reviewed(patient, "allergies", by=cast.nurse)
    with pytest.raises(PermissionDenied):
        mark_section_reviewed(patient, "conditions", by=cast.therapist)


def test_a_stopped_medication_does_not_block_a_none_review(cast):
    patient = new_patient(cast)
    add_entry(
        MedicationEntry,
        patient,
        by=cast.nurse,
        name="sertraline",
        drug_class="ssri",
        started_on=dt.date(2024, 1, 1),
        stopped_on=dt.date(2025, 1, 1),
    )
    mark_section_reviewed(patient, "medications", by=cast.nurse)
    add_entry(
        MedicationEntry,
        patient,
        by=cast.nurse,
        name="fluoxetine",
        drug_class="ssri",
        started_on=dt.date(2025, 1, 1),
        stopped_on=dt.date(2026, 3, 11),
    )
    with pytest.raises(ValueError):  # stops tomorrow: still a current medication today
        mark_section_reviewed(patient, "medications", by=cast.nurse)
