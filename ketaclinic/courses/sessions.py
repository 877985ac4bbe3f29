"""A course's sessions as the schedule holds them: ``scheduling.Appointment`` rows with ``course_ref`` = the course.

Read-only helpers for the actions, the screens and the API. A session is *held* once it is checked in or completed,
or, while the session-day records do not exist yet, once its booked start has passed without being cancelled or
marked a no-show.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from django.db.models import Max, QuerySet
from django.utils import timezone

from ketaclinic.scheduling.models import Appointment

if TYPE_CHECKING:
    from ketaclinic.courses.models import Course

A = Appointment.Status


def appointments(course: Course) -> QuerySet[Appointment]:
    """Every appointment of the course (any status), in time order."""
    return (
        Appointment.objects.filter(course_ref=course.pk, patient_id=course.patient_id)
        .select_related("appointment_type", "resource")
        .order_by("starts_at", "id")
    )


def holding(course: Course) -> QuerySet[Appointment]:
    """The course's sessions that still stand: booked, checked in or completed."""
    return appointments(course).filter(status__in=Appointment.HOLDING)


def active_starts(course: Course) -> list[dt.datetime]:
    return list(holding(course).values_list("starts_at", flat=True))


def sessions_held(course: Course, at: dt.datetime | None = None) -> int:
    """Sessions of the course that took place by ``at`` (default now), including those given before it was kept
    here (``prior_sessions``)."""
    moment = at or timezone.now()
    return (
        course.prior_sessions
        + appointments(course).filter(status__in=[A.CHECKED_IN, A.COMPLETED]).count()
        + appointments(course).filter(status=A.BOOKED, starts_at__lt=moment).count()
    )


def next_session_number(course: Course) -> int:
    """The number of the course's next session (sessions held + 1)."""
    return sessions_held(course) + 1


def next_sequence_number(course: Course) -> int:
    """The number to give the next session booked: one past the highest standing session (or the prior ones)."""
    top = holding(course).aggregate(top=Max("sequence_number"))["top"]
    return max(top or 0, course.prior_sessions) + 1


def upcoming(course: Course, at: dt.datetime | None = None) -> Appointment | None:
    """The next standing session that has not started yet."""
    return holding(course).filter(status=A.BOOKED, starts_at__gte=at or timezone.now()).first()
