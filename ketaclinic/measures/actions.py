"""Recording questionnaire responses. Scoring is the clinical core's; a positive suicide screen raises a task."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from ketaclinic import clinical
from ketaclinic.audit.actions import Action, record
from ketaclinic.measures.models import QuestionnaireResponse
from ketaclinic.tasks.actions import raise_task
from ketaclinic.tasks.models import Task

#: Flag → task priority. Any suicidal ideation (PHQ-9 item 9 ≥ 1, any C-SSRS ideation item) is URGENT: REFERENCE §4.1
#: asks for immediate follow-up whatever the total. The C-SSRS "low" tier only occurs with ideation, so it is urgent
#: in practice too; its HIGH entry covers a future instrument that reports a low tier without the ideation flag.
RISK_PRIORITY: dict[str, str] = {
    "cssrs_risk_high": Task.Priority.URGENT,
    "cssrs_risk_moderate": Task.Priority.URGENT,
    "cssrs_risk_low": Task.Priority.HIGH,
    "suicidal_ideation": Task.Priority.URGENT,
}


def suicide_task_priority(flags: Sequence[str]) -> str | None:
    """The priority of the follow-up task a set of flags requires, or None when the screen is negative."""
    ranked = [RISK_PRIORITY[f] for f in flags if f in RISK_PRIORITY]
    if not ranked:
        return None
    order: list[str] = [Task.Priority.URGENT, Task.Priority.HIGH, Task.Priority.ROUTINE]
    return min(ranked, key=order.index)


@transaction.atomic
def record_response(
    patient: Any,
    instrument: str,
    answers: Sequence[Any] | Mapping[str, Any],
    *,
    respondent: str,
    channel: str,
    by: Any = None,
    completed_at: dt.datetime | None = None,
    submission_key: str | None = None,
) -> QuestionnaireResponse:
    """Score and store one completed instrument; ``ValueError`` (naming the item) if the answers are invalid.

    A repeated ``submission_key`` returns the stored response instead of storing twice. A positive suicide item or
    C-SSRS risk opens a suicide-risk task for the clinical team in the same transaction.
    """
    if submission_key:
        existing = QuestionnaireResponse.objects.filter(submission_key=submission_key).first()
        if existing is not None:
            return existing
    result = clinical.score(instrument, answers)
    definition = clinical.get_instrument(instrument)
    actor = by if getattr(by, "is_authenticated", False) else None
    try:
        with transaction.atomic():
            response = QuestionnaireResponse.objects.create(
                patient=patient,
                site=patient.site,
                instrument=instrument,
                answers=dict(result.answers),
                total=result.total,
                band=result.band or "",
                flags=sorted(result.flags),
                subscores=dict(result.subscores),
                loinc_panel=definition.loinc_panel or "",
                loinc_total=definition.loinc_total or "",
                respondent=respondent,
                channel=channel,
                completed_at=completed_at or timezone.now(),
                entered_by=actor,
                submission_key=submission_key,
            )
    except IntegrityError:
        if submission_key:  # a concurrent resend won the race
            return QuestionnaireResponse.objects.get(submission_key=submission_key)
        raise
    record(
        Action.CREATE,
        obj=response,
        patient_id=patient.pk,
        site=patient.site,
        user=actor,
        detail={"instrument": instrument, "channel": channel},
    )
    priority = suicide_task_priority(response.flags)
    if priority is not None:
        raise_task(
            patient,
            kind=Task.Kind.SUICIDE_RISK,
            priority=priority,
            title=(
                f"Suicide-risk follow-up: positive {definition.name} "
                f"({timezone.localtime(response.completed_at, patient.site.zone):%Y-%m-%d %H:%M})"
            ),
            detail="Assess suicide risk and document the assessment and the action taken before closing.",
            source_type="measures.questionnaireresponse",
            source_id=response.pk,
        )
    return response
