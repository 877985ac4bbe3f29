"""Reaching courses: through the patient's access rules, 404 alike for missing and forbidden, every read audited."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404

from ketaclinic.accounts.roles import Perm
from ketaclinic.audit.models import AuditEvent
from ketaclinic.courses.access import access_course, access_course_by_id, access_courses, can_see_clinical
from ketaclinic.courses.templatetags.courses_extras import get, num


def test_it_reaches_a_course_and_audits_the_read(cast, iv_course):
    course = access_course(cast.coordinator, iv_course.patient_id, iv_course.pk)
    assert course == iv_course
    event = AuditEvent.objects.filter(object_type="courses.course", object_id=str(iv_course.pk)).latest("id")
    assert (event.action, event.outcome, event.actor) == ("view", "success", cast.coordinator)


def test_it_does_not_audit_a_read_before_a_write(cast, iv_course):
    before = AuditEvent.objects.count()
    access_course(cast.prescriber, iv_course.patient_id, iv_course.pk, write=True)
    assert AuditEvent.objects.count() == before


@pytest.mark.parametrize("course_id", ["999999", "abc", None])
def test_it_answers_404_for_a_missing_course_and_audits_it(cast, iv_course, course_id):
    with pytest.raises(Http404):
        access_course(cast.nurse, iv_course.patient_id, course_id)
    assert AuditEvent.objects.filter(object_type="courses.course", outcome="not_found").exists()


def test_it_answers_404_for_another_patients_course(cast, iv_course, eligible):
    other = eligible(route="iv", legal_first_name="Alex")
    with pytest.raises(Http404):
        access_course(cast.nurse, other.pk, iv_course.pk)


def test_it_answers_404_at_another_site_and_403_for_the_wrong_role(cast, iv_course):
    with pytest.raises(Http404):
        access_course(cast.nurse_b, iv_course.patient_id, iv_course.pk)
    with pytest.raises(PermissionDenied):
        access_course(cast.admin, iv_course.patient_id, iv_course.pk)
    with pytest.raises(PermissionDenied):
        access_courses(cast.coordinator, iv_course.patient_id, need=Perm.PRESCRIBE)


def test_it_finds_a_course_by_id_alone(cast, iv_course):
    assert access_course_by_id(cast.therapist, iv_course.pk) == iv_course
    for course_id in (iv_course.pk + 1000, "x"):
        with pytest.raises(Http404):
            access_course_by_id(cast.therapist, course_id)
    with pytest.raises(Http404):
        access_course_by_id(cast.nurse_b, iv_course.pk)


def test_only_chart_readers_see_the_clinical_detail(cast):
    assert can_see_clinical(cast.nurse) and can_see_clinical(cast.therapist)
    assert not can_see_clinical(cast.coordinator)


def test_the_template_helpers():
    assert get({"a": 1}, "a") == 1
    assert get(None, "a") is None
    assert num("0.500") == "0.5" and num(40) == "40" and num(None) == "" and num("n/a") == "n/a"
