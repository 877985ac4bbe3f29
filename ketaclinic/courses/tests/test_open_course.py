"""Opening a course: the prescriber, the eligibility prerequisite, the starting dose and the titration bounds."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied

from ketaclinic.accounts.roles import Role
from ketaclinic.accounts.tests.factories import UserFactory
from ketaclinic.audit.models import AuditEvent
from ketaclinic.courses.actions import (
    CourseError,
    DoseOutOfBounds,
    EligibilityRequired,
    WeightRequired,
    effective_protocol,
    open_course,
    preview_starting_dose,
)
from ketaclinic.courses.models import Course, CourseQuerySet, DoseOrder, ImmutableRecordError
from ketaclinic.courses.tests.conftest import new_patient
from ketaclinic.patients.models import Patient
from ketaclinic.screening.actions import run_assessment, sign_assessment
from ketaclinic.screening.tests.conftest import CALM_VITALS

IV = "ketamine_iv_standard"


def test_it_opens_an_iv_course_with_the_clinical_starting_dose(cast, eligible):
    patient = eligible(route="iv", weight="82.3")
    course = open_course(patient, protocol=IV, indication="trd", by=cast.prescriber)

    assert course.status == Course.Status.PLANNED
    assert course.route == "iv"
    assert course.site == patient.site
    assert course.opened_by == cast.prescriber
    assert course.eligibility_assessment.is_approved
    assert course.starting_mg_per_kg == Decimal("0.500")
    assert (course.min_mg_per_kg, course.max_mg_per_kg) == (Decimal("0.100"), Decimal("1.000"))
    assert course.planned_induction_sessions == 6
    assert course.review_points == [4, 6]
    order = course.current_dose_order()
    assert order.amount_mg == Decimal("41.2")  # 0.5 × 82.3 = 41.15 → 41.2 (the clinical core's rounding)
    assert order.weight_kg == Decimal("82.3")
    assert order.weight_basis == "actual"
    assert order.duration_min == Decimal("40.0")
    assert order.effective_from_session == 1
    assert order.reason == "Starting dose"
    events = AuditEvent.objects.filter(patient_id=patient.pk, object_type__startswith="courses.")
    made = {(e.action, e.object_type) for e in events}
    assert made == {("create", "courses.course"), ("create", "courses.doseorder")}
    patient.refresh_from_db()
    assert patient.status == Patient.Status.ELIGIBLE  # treatment starts with session 1, not with the plan
    assert str(course) == "Racemic ketamine 0.5 mg/kg IV over 40 min (Planned)"
    assert course.is_active and course.is_per_kg and not course.is_esketamine


def test_it_copies_the_precautions_of_the_eligibility_sign_off(cast, eligible):
    patient = eligible(route="iv")
    assessment = patient.eligibility_assessments.get(status="signed")
    course = open_course(patient, protocol=IV, indication="trd", by=cast.prescriber)
    assert course.precautions == assessment.precautions


def test_it_opens_fixed_dose_courses_in_mg(cast, eligible):
    patient = eligible(route="sublingual", weight=None)
    course = open_course(patient, protocol="ketamine_sublingual", indication="anxiety", by=cast.prescriber)
    assert course.starting_amount_mg == Decimal("10.0")
    assert course.starting_mg_per_kg is None
    assert (course.min_amount_mg, course.max_amount_mg) == (Decimal("10.0"), Decimal("10.0"))
    assert course.planned_induction_sessions == 8  # "ongoing": a first block of sessions
    assert course.current_dose_order().weight_kg is None
    assert course.indication == "anxiety"


def test_it_opens_an_esketamine_course_at_56_mg(cast, eligible):
    patient = eligible(route="esketamine_nasal")
    course = open_course(patient, protocol="esketamine_trd", indication="trd", by=cast.prescriber, jurisdiction="EU")
    order = course.current_dose_order()
    assert order.amount_mg == Decimal("56.0")
    assert order.devices == 2
    assert course.planned_induction_sessions == 8
    assert course.review_points == [4, 8]
    assert course.is_esketamine


def test_it_needs_a_prescriber_at_the_patients_site(cast, eligible):
    patient = eligible(route="iv")
    with pytest.raises(PermissionDenied, match="open courses and order doses"):
        open_course(patient, protocol=IV, indication="trd", by=cast.nurse)
    elsewhere = UserFactory.create(username="prescriber_b", roles=[Role.PRESCRIBER], sites=[cast.site_b])
    with pytest.raises(PermissionDenied, match="do not work at this patient's site"):
        open_course(patient, protocol=IV, indication="trd", by=elsewhere)
    assert not Course.objects.exists()


def test_it_requires_a_signed_approving_assessment_for_the_route(cast, eligible):
    patient = eligible(route="iv")
    with pytest.raises(EligibilityRequired, match="has no signed eligibility assessment for Esketamine nasal spray"):
        open_course(patient, protocol="esketamine_trd", indication="trd", by=cast.prescriber)

    unscreened = new_patient(cast, legal_first_name="Casey")
    with pytest.raises(EligibilityRequired) as caught:
        open_course(unscreened, protocol=IV, indication="trd", by=cast.prescriber)
    assert caught.value.field == "eligibility"
    assert "must sign an approving eligibility assessment" in caught.value.message


def test_it_refuses_a_declined_patient(cast, eligible):
    patient = eligible(route="im", weight="70")
    draft = run_assessment(patient, route="iv", by=cast.nurse, vitals=CALM_VITALS)
    sign_assessment(draft, by=cast.prescriber, decision="decline", reason="Prefers to wait (test).")
    with pytest.raises(EligibilityRequired, match="was declined for IV infusion"):
        open_course(patient, protocol=IV, indication="trd", by=cast.prescriber)


def test_it_matches_esketamine_to_its_licensed_indication(cast, eligible):
    patient = eligible(route="esketamine_nasal")
    with pytest.raises(CourseError, match="indication: Esketamine nasal spray for treatment-resistant depression is"):
        open_course(patient, protocol="esketamine_trd", indication="ptsd", by=cast.prescriber)
    with pytest.raises(EligibilityRequired, match="assessment is for Treatment-resistant depression"):
        open_course(patient, protocol="esketamine_mdsi", indication="mdsi", by=cast.prescriber)


@pytest.mark.parametrize(
    ("kwargs", "field", "message"),
    [
        ({"protocol": "ketamine_oral"}, "protocol", "'ketamine_oral' is not a protocol"),
        ({"indication": "insomnia"}, "indication", "'insomnia' is not one of trd"),
        ({"jurisdiction": "UK"}, "jurisdiction", "'UK' is not one of US, EU, HK"),
        ({"mg_per_kg": 1.5}, "mg_per_kg", "1.5 is outside the allowed range"),
        ({"amount_mg": 40}, "amount_mg", "not used by ketamine_iv_standard"),
        ({"weight_basis": "lean"}, "weight_basis", "'lean' is not allowed"),
        ({"planned_induction_sessions": 0}, "planned_induction_sessions", "must be from 1 to 6"),
        ({"planned_induction_sessions": 7}, "planned_induction_sessions", "must be from 1 to 6"),
        ({"review_points": [2, 7]}, "review_points", "session numbers from 1 to 6"),
        ({"min_bound": 0.8, "max_bound": 0.6}, "min_mg_per_kg", "the minimum 0.8 mg/kg is above the maximum 0.6"),
        ({"min_bound": 0.6}, "min_mg_per_kg", "the starting dose 0.5 mg/kg must lie within the titration bounds"),
        ({"max_bound": 0.4}, "max_mg_per_kg", "the starting dose 0.5 mg/kg must lie within"),
        ({"max_bound": 2.5}, "max_mg_per_kg", "2.5 mg/kg is outside 0–2 mg/kg, which no override passes"),
        ({"max_bound": 1.2}, "max_mg_per_kg", "titration bounds must lie within the protocol's 0.1–1 mg/kg"),
        (
            {"max_bound": 1.2, "bounds_override_reason": "because"},
            "bounds_override_reason",
            "at least 20 characters",
        ),
    ],
)
def test_it_refuses_bad_input_naming_the_field(cast, eligible, kwargs, field, message):
    patient = eligible(route="iv")
    arguments = {"protocol": IV, "indication": "trd", **kwargs}
    with pytest.raises(CourseError) as caught:
        open_course(patient, by=cast.prescriber, **arguments)
    assert caught.value.field == field
    assert message in caught.value.message
    assert not Course.objects.exists()


def test_it_refuses_bounds_outside_the_protocol_without_an_override(cast, eligible):
    patient = eligible(route="iv")
    with pytest.raises(DoseOutOfBounds, match="to go outside them, give an override reason"):
        open_course(patient, protocol=IV, indication="trd", by=cast.prescriber, min_bound=0.05)


def test_it_audits_bounds_outside_the_protocol_as_an_override(cast, eligible):
    patient = eligible(route="iv")
    course = open_course(
        patient,
        protocol=IV,
        indication="trd",
        by=cast.prescriber,
        min_bound=0.3,
        max_bound=1.2,
        bounds_override_reason="  Partial response at 1.0 mg/kg in a previous course (letter on file).  ",
    )
    assert course.max_mg_per_kg == Decimal("1.200")
    assert course.bounds_override_reason.startswith("Partial response")
    override = AuditEvent.objects.get(action="override", object_type="courses.course")
    assert override.detail == {"rules": ["titration_bounds"]}


def test_it_drops_an_override_reason_the_bounds_do_not_need(cast, eligible):
    patient = eligible(route="iv")
    course = open_course(
        patient, protocol=IV, indication="trd", by=cast.prescriber, bounds_override_reason="not needed here at all"
    )
    assert course.bounds_override_reason == ""


def test_it_plans_fewer_sessions_with_review_points_inside_them(cast, eligible):
    patient = eligible(route="iv")
    course = open_course(
        patient, protocol=IV, indication="trd", by=cast.prescriber, planned_induction_sessions=4, review_points=[4, 2]
    )
    assert course.review_points == [2, 4]
    assert effective_protocol(course).phases[0].total_sessions == 4
    assert effective_protocol(course).phases[0].last_week == 3


def test_it_asks_for_todays_weight_for_a_per_kg_protocol(cast, eligible):
    patient = eligible(route="iv", weight=None)
    with pytest.raises(WeightRequired, match="record today's weight first"):
        open_course(patient, protocol=IV, indication="trd", by=cast.prescriber)


def test_it_allows_one_active_course_per_patient(cast, eligible):
    patient = eligible(route="iv")
    open_course(patient, protocol=IV, indication="trd", by=cast.prescriber)
    with pytest.raises(CourseError, match="already has an active course"):
        open_course(patient, protocol=IV, indication="trd", by=cast.prescriber)


def test_it_lets_the_database_settle_two_concurrent_openings(cast, eligible, monkeypatch):
    patient = eligible(route="iv")
    open_course(patient, protocol=IV, indication="trd", by=cast.prescriber)
    # The second request checked before the first committed: the unique constraint is the last line.
    monkeypatch.setattr(CourseQuerySet, "active", lambda self: self.none())
    with pytest.raises(CourseError, match="already has an active course"):
        open_course(patient, protocol=IV, indication="trd", by=cast.prescriber)
    assert Course.objects.count() == 1


def test_it_previews_the_starting_dose_with_its_weight_and_age(cast, eligible):
    patient = eligible(route="iv", weight="90")
    preview = preview_starting_dose(patient, protocol=IV, mg_per_kg=0.75)
    assert preview.order.amount_mg == 67.5
    assert preview.weight_kg == Decimal("90.0")
    assert preview.weight_measured_at is not None
    assert preview.age_years == 46
    fixed = preview_starting_dose(patient, protocol="ketamine_intranasal_racemic")
    assert fixed.order.amount_mg == 50.0
    assert fixed.order.mg_per_kg == pytest.approx(50 / 90, abs=0.001)
    with pytest.raises(CourseError, match="protocol: 'x' is not a protocol"):
        preview_starting_dose(patient, protocol="x")


def test_it_previews_without_a_weight_for_a_fixed_dose(cast, eligible):
    patient = eligible(route="esketamine_nasal", weight=None)
    preview = preview_starting_dose(patient, protocol="esketamine_trd")
    assert preview.weight_kg is None and preview.weight_measured_at is None
    assert preview.order.amount_mg == 56.0
    with pytest.raises(CourseError) as caught:
        preview_starting_dose(patient, protocol="esketamine_trd", amount_mg=84)
    assert caught.value.field == "amount_mg"
    assert "not allowed on day 1" in caught.value.message


def test_it_keeps_dose_orders_immutable(iv_course):
    order = iv_course.current_dose_order()
    order.reason = "changed"
    with pytest.raises(ImmutableRecordError, match="cannot be changed"):
        order.save()
    with pytest.raises(ImmutableRecordError, match="none is deleted"):
        order.delete()
    assert DoseOrder.objects.get(pk=order.pk).reason == "Starting dose"
    assert str(order) == "dose order 40.0 mg from session 1"
    assert not order.is_override


def test_it_counts_sessions_given_before_a_transfer(cast, eligible, clinic):
    from ketaclinic.courses import sessions

    patient = eligible(route="iv")
    with pytest.raises(CourseError, match="prior_sessions: a number of sessions from 0 to 200"):
        open_course(patient, protocol=IV, indication="trd", by=cast.prescriber, prior_sessions=-1)
    course = open_course(patient, protocol=IV, indication="trd", by=cast.prescriber, prior_sessions=3)
    assert sessions.sessions_held(course) == 3
    assert sessions.next_sequence_number(course) == 4
    assert sessions.next_session_number(course) == 4
