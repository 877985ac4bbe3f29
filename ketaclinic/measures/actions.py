"""Recording questionnaire responses. Scoring is the clinical core's; a positive suicide screen raises a task."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from ketaclinic import clinical
from ketaclinic.accounts.clinic_policy import clinic_policy
from ketaclinic.audit.actions import Action, record
from ketaclinic.measures.models import MeasureDue, QuestionnaireResponse
from ketaclinic.measures.schedule import active_course
from ketaclinic.tasks.actions import raise_task
from ketaclinic.tasks.models import Task

CSSRS = "cssrs_screener"
#: Trajectory statuses that flag a course for a booster or review.
LOSS_STATUSES = (clinical.OutcomeStatus.LOSS_OF_RESPONSE, clinical.OutcomeStatus.RELAPSE)

#: Follow-up tier (``clinical.risk_tier``) → task priority. Moderate and high are urgent; low is high priority: it is
#: on the home screen all the same, due within ``suicide_followup_low_hours``.
PRIORITY_BY_TIER: dict[str, str] = {
    clinical.RiskTier.HIGH: Task.Priority.URGENT,
    clinical.RiskTier.MODERATE: Task.Priority.URGENT,
    clinical.RiskTier.LOW: Task.Priority.HIGH,
}
#: Flag → task priority when the flag is the only finding (C-SSRS tiers, and suicidal ideation from PHQ-9 item 9,
#: which without a C-SSRS is triaged as high).
RISK_PRIORITY: dict[str, str] = {
    "cssrs_risk_high": Task.Priority.URGENT,
    "cssrs_risk_moderate": Task.Priority.URGENT,
    "cssrs_risk_low": Task.Priority.HIGH,
    "suicidal_ideation": Task.Priority.URGENT,
}
SOURCE_TYPE = "measures.questionnaireresponse"


def _screen(instrument: str, flags: Sequence[str]) -> tuple[str, Sequence[str]]:
    # A set of flags with a C-SSRS tier comes from the C-SSRS screener (only it raises cssrs_risk_*).
    if any(str(f).startswith("cssrs_risk_") for f in flags):
        return (CSSRS, flags)
    return (instrument, flags)


def suicide_task_priority(flags: Sequence[str]) -> str | None:
    """The priority of the follow-up task a set of flags requires, or None when the screen is negative."""
    tier = clinical.risk_tier([_screen("other", flags)])
    return None if tier is None else PRIORITY_BY_TIER[tier]


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
    due: MeasureDue | None = None,
    sitting: str = "",
) -> QuestionnaireResponse:
    """Score and store one completed instrument; ``ValueError`` (naming the item) if the answers are invalid.

    A repeated ``submission_key`` returns the stored response instead of storing twice; answering a ``due``
    questionnaire keys the submission on it, so a resent form stores once and the due row is marked done. The
    response is tied to the patient's running course. A positive suicide item or C-SSRS risk opens (or, within one
    ``sitting``, re-triages) a suicide-risk follow-up task in the same transaction; a response that shows loss of
    response or relapse flags the course for review.
    """
    if due is not None:
        if due.instrument != instrument or due.patient_id != patient.pk:
            raise ValueError(f"instrument: this due questionnaire is {due.instrument}, not {instrument}")
        submission_key = submission_key or f"due:{due.pk}"
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
                course=due.course if due is not None else active_course(patient),
                sitting=sitting,
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
    if due is not None:
        MeasureDue.objects.filter(pk=due.pk, response__isnull=True).update(response=response)
    if response.flags:
        raise_risk_followup(response)
    if response.course_id is not None and response.total is not None:
        flag_course_review(response.course)
    return response


def raise_risk_followup(response: QuestionnaireResponse) -> Task | None:
    """Open the suicide-risk follow-up a response requires, triaged with the other responses of its sitting.

    Tier (``clinical.risk_tier``) sets the priority and the due time (policy hours from now: when the clinic learned
    of it). Within one sitting there is one task: a later screen re-triages it (tier and priority follow the whole
    set) but its due time never moves later.
    """
    group = [response]
    if response.sitting:
        group = list(QuestionnaireResponse.objects.filter(patient_id=response.patient_id, sitting=response.sitting))
    tier = clinical.risk_tier([_screen(r.instrument, r.flags) for r in group])
    if tier is None:
        return None
    due_at = clinical.followup_due(tier, timezone.now(), clinic_policy(response.site_id))
    existing = (
        Task.objects.select_for_update()
        .filter(
            kind=Task.Kind.SUICIDE_RISK,
            status=Task.Status.OPEN,
            source_type=SOURCE_TYPE,
            source_id__in=[str(r.pk) for r in group],
        )
        .first()
    )
    if existing is not None:
        existing.risk_tier = tier.value
        existing.priority = PRIORITY_BY_TIER[tier]
        existing.due_at = min(existing.due_at, due_at)
        existing.save(update_fields=["risk_tier", "priority", "due_at"])
        record(
            Action.UPDATE,
            obj=existing,
            patient_id=existing.patient_id,
            site=existing.site,
            detail={"event": "retriaged"},
        )
        return existing
    patient = response.patient
    definition = clinical.get_instrument(response.instrument)
    task = raise_task(
        patient,
        kind=Task.Kind.SUICIDE_RISK,
        priority=PRIORITY_BY_TIER[tier],
        title=(
            f"Suicide-risk follow-up: positive {definition.name} "
            f"({timezone.localtime(response.completed_at, patient.site.zone):%Y-%m-%d %H:%M})"
        ),
        detail="Assess suicide risk and document the risk level found and the actions taken before closing.",
        due_at=due_at,
        source_type=SOURCE_TYPE,
        source_id=response.pk,
    )
    task.risk_tier = tier.value
    task.save(update_fields=["risk_tier"])
    return task


def flag_course_review(course: Any) -> Task | None:
    """Loss of response or relapse on the course's review instrument opens a booster / course review task with the
    evidence (``clinical.classify_trajectory`` via ``courses.actions.review_status``); one open task per course."""
    from ketaclinic.courses.actions import review_status

    status = review_status(course)
    trajectory = status.trajectory
    if trajectory is None or trajectory.status not in LOSS_STATUSES:
        return None
    # Once the review task of this episode is closed (after its first piece of evidence), later scores of the same
    # episode do not raise it again; a new episode (benefit regained, then lost) has later evidence and is flagged.
    reviewed = Task.objects.filter(
        kind=Task.Kind.COURSE_REVIEW,
        source_type="courses.course",
        source_id=str(course.pk),
        status=Task.Status.DONE,
        closed_at__gte=trajectory.evidence[0].at,
    ).exists()
    if reviewed:
        return None
    scores = ", ".join(f"{timezone.localtime(a.at, course.site.zone):%Y-%m-%d} {a.score}" for a in trajectory.evidence)
    return raise_task(
        course.patient,
        kind=Task.Kind.COURSE_REVIEW,
        priority=Task.Priority.HIGH,
        title=f"Booster / course review: {trajectory.status.value} on {status.instrument_name}",
        detail=f"{trajectory.reason}. Evidence: baseline {status.baseline.score if status.baseline else '?'}; "
        f"{scores}. Consider a booster session or a course review.",
        source_type="courses.course",
        source_id=course.pk,
    )
