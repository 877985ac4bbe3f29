"""Stored measure schedules: ``clinical.measure_schedule`` over a course's standing sessions, written as
:class:`MeasureDue` rows.

Why stored and regenerated rather than only computed on read: delivery (links, reminders), completion and the later
outcome aggregates need plain rows to join in SQL. Why regenerated from the sessions rather than edited in place:
sessions move through several paths (course planning, the scheduling screens, the session day, bulk series booking),
and a full idempotent recompute keyed by the schedule's stable keys is correct whichever path moved them.

:func:`sync_schedule` runs (a) after any save of a course appointment (a signal, after commit), (b) on every round of
the ``measure_links`` job for every active course (this also catches bulk-created series, which send no signal), and
(c) before staff read a patient's due list. It is cheap: three reads and at most three writes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from ketaclinic import clinical
from ketaclinic.accounts.clinic_policy import clinic_policy
from ketaclinic.measures.models import MeasureDue
from ketaclinic.scheduling.models import Appointment

SCHEDULE_FIELDS = ("opens_at", "due_at", "closes_at", "appointment_ref", "session_number", "delivery")


@dataclass(frozen=True)
class SyncResult:
    """What a regeneration changed: rows created, moved (times changed) and dropped (pending rows of gone sessions)."""

    created: int
    moved: int
    dropped: int


def licensed_instruments() -> frozenset[str]:
    """Instruments the clinic holds a licence for (``MEASURES_LICENSED_INSTRUMENTS``, e.g. ``["ybocs"]``)."""
    return frozenset(getattr(settings, "MEASURES_LICENSED_INSTRUMENTS", ()))


def course_sessions(course: Any) -> list[clinical.SessionTime]:
    """The course's standing sessions (booked, checked in, completed) as the clinical core sees them."""
    rows = (
        Appointment.objects.filter(course_ref=course.pk, patient_id=course.patient_id, status__in=Appointment.HOLDING)
        .order_by("starts_at", "id")
        .values_list("pk", "starts_at", "sequence_number")
    )
    return [
        clinical.SessionTime(seq or n, at, pk) for n, (pk, at, seq) in enumerate(rows, start=1 + course.prior_sessions)
    ]


@transaction.atomic
def sync_schedule(course: Any) -> SyncResult:
    """Make the course's stored schedule equal what the clinical rule gives for its sessions now (idempotent).

    Pending rows move with their session or are dropped with it; answered rows are never changed or dropped.
    """
    wanted = {
        d.key: d
        for d in clinical.measure_schedule(
            course.indication,
            course.protocol,
            course_sessions(course),
            opened_at=course.opened_at,
            licensed=licensed_instruments(),
            policy=clinic_policy(course.site_id),
        )
    }
    existing = {row.key: row for row in MeasureDue.objects.select_for_update().filter(course=course)}
    new = [
        MeasureDue(
            patient_id=course.patient_id,
            site_id=course.site_id,
            course=course,
            key=key,
            instrument=due.instrument,
            timepoint=due.timepoint.value,
            **_times(due),
        )
        for key, due in wanted.items()
        if key not in existing
    ]
    MeasureDue.objects.bulk_create(new, ignore_conflicts=True)
    moved = []
    for key, row in existing.items():
        if key not in wanted or row.response_id is not None:
            continue
        times = _times(wanted[key])
        if any(getattr(row, f) != v for f, v in times.items()):
            for f, v in times.items():
                setattr(row, f, v)
            moved.append(row)
    MeasureDue.objects.bulk_update(moved, list(SCHEDULE_FIELDS))
    gone = [row.pk for key, row in existing.items() if key not in wanted and row.response_id is None]
    dropped, _ = MeasureDue.objects.filter(pk__in=gone, response__isnull=True).delete()
    return SyncResult(len(new), len(moved), dropped)


def _times(due: clinical.DueMeasure) -> dict[str, Any]:
    return {
        "opens_at": due.opens_at,
        "due_at": due.due_at,
        "closes_at": due.closes_at,
        "appointment_ref": due.session_ref,
        "session_number": due.session_number,
        "delivery": due.delivery.value,
    }


def open_due(patient: Any, now: dt.datetime, *, delivery: str | None = None) -> list[MeasureDue]:
    """The patient's questionnaires that may be answered now (open, not closed, not answered), soonest first."""
    rows = MeasureDue.objects.filter(patient=patient, response__isnull=True, opens_at__lte=now).exclude(
        closes_at__lte=now
    )
    if delivery is not None:
        rows = rows.filter(delivery=delivery)
    return list(rows.order_by("due_at", "instrument", "id"))


def active_course(patient: Any) -> Any:
    """The patient's running course, or None."""
    from ketaclinic.courses.models import Course

    return Course.objects.active().filter(patient=patient).first()


@receiver(post_save, sender=Appointment, dispatch_uid="measures_sync_on_appointment_save")
def _appointment_saved(sender: type[Appointment], instance: Appointment, **kwargs: Any) -> None:
    """A course session was booked, moved, cancelled or held: regenerate that course's schedule after commit."""
    if instance.course_ref is None:
        return
    course_id = instance.course_ref
    transaction.on_commit(lambda: _sync_course_id(course_id))


def _sync_course_id(course_id: int) -> None:
    from ketaclinic.courses.models import Course

    course = Course.objects.filter(pk=course_id).first()
    if course is not None:
        sync_schedule(course)
