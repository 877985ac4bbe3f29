"""How views and the API reach treatment courses: always through the patient's access rules.

A course of a patient at another site, or of another patient than the URL names, answers 404 exactly like a missing
one; a role without any of the needed capabilities gets 403. Reads are audited. Clinicians who read the chart and
the front desk who books sessions (``MANAGE_SCHEDULE``) both reach a course; the screens show the front desk the
schedule only, never the dose or the clinical evidence.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.http import Http404

from ketaclinic.accounts.roles import Perm
from ketaclinic.audit.actions import Action, Outcome, record
from ketaclinic.courses.models import Course
from ketaclinic.patients.access import access_patient
from ketaclinic.patients.models import Patient

AUDIT_AS = "courses.course"
#: Who may open the course screens at all: clinicians reading the chart, and the front desk booking sessions.
READERS: tuple[Perm, ...] = (Perm.VIEW_CHART, Perm.MANAGE_SCHEDULE)
#: Who may book, move and cancel a course's sessions: the front desk and the prescriber.
BOOKERS: tuple[Perm, ...] = (Perm.MANAGE_SCHEDULE, Perm.PRESCRIBE)


def can_see_clinical(user: Any) -> bool:
    """Whether ``user`` may see doses, precautions and response evidence (the clinical chart)."""
    return bool(user.can(Perm.VIEW_CHART))


def access_courses(
    user: Any, patient_id: int | str, *, need: Perm | Iterable[Perm] = READERS, write: bool = False
) -> Patient:
    """The patient whose courses ``user`` may work on with ``need`` (any one of several suffices).

    A read is audited as a view of the patient's courses; with ``write`` the action that follows audits the change.
    """
    return access_patient(user, patient_id, need=need, write=write, audit_as=AUDIT_AS)


def access_course(
    user: Any,
    patient_id: int | str,
    course_id: int | str,
    *,
    need: Perm | Iterable[Perm] = READERS,
    write: bool = False,
) -> Course:
    """Course ``course_id`` of patient ``patient_id`` if ``user`` may work on it with ``need``; 404 otherwise.

    Reads are audited as a view of the course (refused and missing ones too).
    """
    patient = access_courses(user, patient_id, need=need, write=True)
    try:
        pk = int(course_id)
    except (TypeError, ValueError):
        pk = None
    course = (
        Course.objects.filter(pk=pk, patient=patient).select_related("patient", "site", "opened_by").first()
        if pk is not None
        else None
    )
    if course is None:
        record(
            Action.VIEW,
            object_type=AUDIT_AS,
            object_id=str(course_id),
            patient_id=patient.pk,
            outcome=Outcome.NOT_FOUND,
            site=patient.site,
            user=user,
        )
        raise Http404("No such course.")
    course.patient = patient
    if not write:
        record(Action.VIEW, obj=course, patient_id=patient.pk, site=patient.site, user=user)
    return course


def access_course_by_id(
    user: Any, course_id: int | str, *, need: Perm | Iterable[Perm] = READERS, write: bool = False
) -> Course:
    """Course ``course_id`` wherever its patient is, under the same rules (the API's URLs have no patient)."""
    try:
        pk = int(course_id)
    except (TypeError, ValueError):
        pk = None
    patient_id = (
        Course.objects.filter(pk=pk, patient__in=Patient.objects.visible_to(user))
        .values_list("patient_id", flat=True)
        .first()
        if pk is not None
        else None
    )
    if patient_id is None:
        record(Action.VIEW, object_type=AUDIT_AS, object_id=str(course_id), outcome=Outcome.NOT_FOUND, user=user)
        raise Http404("No such course.")
    return access_course(user, patient_id, pk, need=need, write=write)  # type: ignore[arg-type]
