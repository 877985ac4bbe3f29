"""Queue a patient's rollups for refresh whenever a row they are derived from is written (same transaction).

Receivers are connected here rather than in the writing apps so those apps need not know the dashboard exists. Bulk
writes (``bulk_create``, data loads) send no signals: callers queue the patients with
:func:`ketaclinic.outcomes.rollup.queue_patients`, or run a full rebuild.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Model
from django.db.models.signals import post_delete, post_save


def _queue(patient_id: int | None) -> None:
    from ketaclinic.outcomes.models import RefreshQueue

    if patient_id is not None:
        RefreshQueue.objects.create(patient_id=patient_id)


def _patient_row(sender: Any, instance: Any, **kwargs: Any) -> None:
    _queue(instance.patient_id)


def _response(sender: Any, instance: Any, created: bool = False, **kwargs: Any) -> None:
    from ketaclinic.outcomes.models import RefreshQueue

    # A new response can be folded into its course's rollup; a changed one means recomputing the patient's courses.
    RefreshQueue.objects.create(patient_id=instance.patient_id, response_id=instance.pk if created else None)


def _session_row(sender: Any, instance: Any, **kwargs: Any) -> None:
    from ketaclinic.dosing.models import DosingSession

    _queue(DosingSession.objects.filter(pk=instance.session_id).values_list("patient_id", flat=True).first())


def connect() -> None:
    from ketaclinic.courses.models import Course
    from ketaclinic.dosing.models import AdverseEvent, DoseAdministration, DosingSession, ScaleObservation, SessionAlert
    from ketaclinic.measures.models import QuestionnaireResponse

    post_save.connect(_response, sender=QuestionnaireResponse, dispatch_uid="outcomes.QuestionnaireResponse")
    post_delete.connect(_patient_row, sender=QuestionnaireResponse, dispatch_uid="outcomes.QuestionnaireResponse.del")
    patient_rows: tuple[type[Model], ...] = (Course, DosingSession)
    session_rows: tuple[type[Model], ...] = (DoseAdministration, SessionAlert, AdverseEvent, ScaleObservation)
    for model in patient_rows:
        post_save.connect(_patient_row, sender=model, dispatch_uid=f"outcomes.{model.__name__}")
    for model in session_rows:
        post_save.connect(_session_row, sender=model, dispatch_uid=f"outcomes.{model.__name__}")
