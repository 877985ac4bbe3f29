"""Every course URL: anonymous → sign-in, wrong role → 403, right role → 200, other site's nurse → 404."""

from __future__ import annotations

import datetime as dt

from django.urls import reverse

from ketaclinic.accounts.roles import Role
from ketaclinic.accounts.tests.matrix import PermissionMatrix
from ketaclinic.courses import actions
from ketaclinic.courses.tests.conftest import make_eligible, new_patient, open_clinic, weigh
from ketaclinic.screening.actions import mark_section_reviewed
from ketaclinic.screening.tests.conftest import add_trd_history

P, N, T, C = Role.PRESCRIBER, Role.NURSE, Role.THERAPIST, Role.COORDINATOR


def course_of(cast, *, booked: bool = False):
    open_clinic(cast.site_a, cast)
    patient = new_patient(cast)
    add_trd_history(patient, cast.nurse)
    for section in ("conditions", "medications", "substance_use"):
        mark_section_reviewed(patient, section, by=cast.nurse)
    weigh(patient, cast.nurse)
    make_eligible(patient, cast)
    course = actions.open_course(patient, protocol="ketamine_iv_standard", indication="trd", by=cast.prescriber)
    if booked:
        plan = actions.plan_phase(
            course, phase="induction", start_date=dt.date(2026, 10, 26), preferred_time=dt.time(9), count=1
        )
        actions.book_plan(course, plan, by=cast.coordinator)
    return course


def course_url(name: str, cast, **extra) -> str:
    course = course_of(cast, booked="appointment_id" in extra)
    kwargs = {"patient_id": course.patient_id, "course_id": course.pk}
    if "appointment_id" in extra:
        kwargs["appointment_id"] = actions.sessions.holding(course)[0].pk
    return reverse(f"courses:{name}", kwargs=kwargs)


class TestCourseList(PermissionMatrix):
    allowed = {P, N, T, C}
    patient_scoped = True

    def url(self, cast):
        return reverse("courses:list", kwargs={"patient_id": course_of(cast).patient_id})


class TestOpenCourse(PermissionMatrix):
    allowed = {P}
    patient_scoped = True

    def url(self, cast):
        return reverse("courses:open", kwargs={"patient_id": course_of(cast).patient_id})


class TestDosePreview(PermissionMatrix):
    allowed = {P}
    patient_scoped = True

    def url(self, cast):
        return reverse("courses:dose_preview", kwargs={"patient_id": course_of(cast).patient_id})


class TestCourseDetail(PermissionMatrix):
    allowed = {P, N, T, C}
    patient_scoped = True

    def url(self, cast):
        return course_url("detail", cast)


class TestOrderDose(PermissionMatrix):
    allowed = {P}
    patient_scoped = True

    def url(self, cast):
        return course_url("dose", cast)


class TestPlanSessions(PermissionMatrix):
    allowed = {P, C}
    patient_scoped = True

    def url(self, cast):
        return course_url("plan", cast)


class TestStartCourse(PermissionMatrix):
    allowed = {P, N}
    patient_scoped = True

    def url(self, cast):
        return course_url("start", cast)


class TestRecordDecision(PermissionMatrix):
    allowed = {P}
    patient_scoped = True

    def url(self, cast):
        return course_url("decision", cast)


class TestMoveSession(PermissionMatrix):
    allowed = {P, C}
    patient_scoped = True

    def url(self, cast):
        return course_url("move", cast, appointment_id=True)


class TestMissedSession(PermissionMatrix):
    allowed = {P, N, C}
    patient_scoped = True

    def url(self, cast):
        return course_url("missed", cast, appointment_id=True)
