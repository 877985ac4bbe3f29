"""State changes of the portal: links, intake progress, submission and its staff review. Each is atomic and audited
in the same transaction; audit details hold ids and field names only, never answers.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from ketaclinic.audit.actions import Action, record
from ketaclinic.measures.actions import record_response
from ketaclinic.measures.models import QuestionnaireResponse
from ketaclinic.patients import actions as patient_actions
from ketaclinic.patients.models import (
    AntidepressantTrial,
    ChartEntry,
    MedicalCondition,
    MedicationEntry,
    Patient,
    Source,
    SubstanceUseEntry,
)
from ketaclinic.portal.access import hash_token
from ketaclinic.portal.intake import CONTACT_FIELDS, QUESTIONNAIRE_STEPS, STEPS, chart_rows, proposed_changes
from ketaclinic.portal.models import IntakeDraft, IntakeSubmission, PortalLink
from ketaclinic.tasks.actions import close_task, raise_task
from ketaclinic.tasks.models import Task

#: Chart-row kinds an intake creates, by the name used in URLs and in ``IntakeSubmission.entries``.
ENTRY_KINDS: dict[str, type[ChartEntry]] = {
    "condition": MedicalCondition,
    "substance": SubstanceUseEntry,
    "medication": MedicationEntry,
    "trial": AntidepressantTrial,
}
DEFAULT_LINK_HOURS = 72
#: Patient fields an intake may propose changes to (staff accept them into the record one by one).
PROPOSABLE_FIELDS = (*CONTACT_FIELDS, "pregnant", "breastfeeding")


class IntakeError(ValueError):
    """The intake cannot be submitted or reviewed as asked (the message says why, for the person in front of it)."""


def link_hours() -> int:
    """How long a new portal link lives (``PORTAL_LINK_HOURS``, default 72)."""
    return int(getattr(settings, "PORTAL_LINK_HOURS", DEFAULT_LINK_HOURS))


def link_path(token: str, landing: str = "") -> str:
    """The site-relative address of a link: ``/p/<token>/`` plus an optional landing page under it."""
    return reverse("portal:start", kwargs={"token": token}) + landing.lstrip("/")


def link_url(token: str, *, base_url: str | None = None, landing: str = "") -> str:
    """The absolute address to send: ``base_url`` (the request's host) or the ``PORTAL_BASE_URL`` setting."""
    base = str(base_url or getattr(settings, "PORTAL_BASE_URL", None) or "http://127.0.0.1:8000")
    return base.rstrip("/") + link_path(token, landing)


@transaction.atomic
def create_link(
    patient: Patient,
    *,
    purpose: str,
    by: Any,
    email: str | None,
    base_url: str | None = None,
    landing: str = "",
) -> tuple[PortalLink, str]:
    """Issue a new portal link for ``patient`` and return it with its raw token (the only time the token exists).

    A new intake link revokes the patient's earlier live intake links. With ``email`` the link is e-mailed (address
    and expiry only — no health data, not even the patient's name); without, staff hand the address over.
    ``landing`` is a page under the link (e.g. ``consent/ketamine/``).
    """
    if purpose not in PortalLink.Purpose.values:
        raise ValueError(f"purpose: {purpose!r} is not one of {', '.join(PortalLink.Purpose.values)}")
    token = secrets.token_urlsafe(32)
    now = timezone.now()
    if purpose == PortalLink.Purpose.INTAKE:
        # One live intake per patient: a new link replaces the old (perhaps mistyped) one and its half-done draft.
        for older in PortalLink.objects.filter(
            patient=patient, purpose=purpose, revoked_at__isnull=True, completed_at__isnull=True, expires_at__gt=now
        ):
            revoke_link(older, by=by)
    link = PortalLink.objects.create(
        patient=patient,
        site=patient.site,
        purpose=purpose,
        token_hash=hash_token(token),
        created_by=by if getattr(by, "is_authenticated", False) else None,
        created_at=now,
        expires_at=now + dt.timedelta(hours=link_hours()),
        sent_to=(email or "").strip(),
    )
    record(
        Action.CREATE,
        obj=link,
        patient_id=patient.pk,
        site=patient.site,
        user=link.created_by,
        detail={"purpose": purpose, "emailed": bool(link.sent_to)},
    )
    if link.sent_to:
        url = link_url(token, base_url=base_url, landing=landing)
        with timezone.override(patient.site.zone):  # the expiry as the clinic's local time
            context = {"url": url, "site": patient.site, "expires": link.expires_at}
            body = render_to_string("portal/email_link.txt", context)
        # Sent after commit: a rolled-back link must not reach anyone's inbox.
        transaction.on_commit(
            lambda: send_mail(
                subject=f"Your secure form from {patient.site.name}",
                message=body,
                from_email=None,
                recipient_list=[link.sent_to],
            )
        )
    return link, token


@transaction.atomic
def mark_opened(link: PortalLink) -> PortalLink:
    """Note the first time the patient opened the link (staff see 'opened')."""
    updated = PortalLink.objects.filter(pk=link.pk, first_opened_at__isnull=True).update(first_opened_at=timezone.now())
    link.refresh_from_db(fields=["first_opened_at"])
    if updated:
        record(Action.VIEW, obj=link, patient_id=link.patient_id, site=link.site, detail={"event": "opened"})
    return link


@transaction.atomic
def revoke_link(link: PortalLink, *, by: Any) -> PortalLink:
    """Stop a link from working (sent to the wrong address, no longer needed). A spent link cannot be revoked."""
    if link.revoked_at is not None:
        return link
    if link.completed_at is not None:
        raise ValueError("this link was already used; there is nothing to revoke")
    link.revoked_at = timezone.now()
    link.revoked_by = by
    link.save(update_fields=["revoked_at", "revoked_by"])
    record(Action.UPDATE, obj=link, patient_id=link.patient_id, site=link.site, user=by, detail={"event": "revoked"})
    return link


@transaction.atomic
def complete_link(link: PortalLink, *, by: Any = None) -> PortalLink:
    """Spend a link: its purpose is done (intake submitted, consent signed); it will not open again."""
    if link.completed_at is not None:
        return link
    link.completed_at = timezone.now()
    link.save(update_fields=["completed_at"])
    record(Action.UPDATE, obj=link, patient_id=link.patient_id, site=link.site, user=by, detail={"event": "completed"})
    return link


@transaction.atomic
def request_new_link(link: PortalLink) -> Task:
    """The holder of an expired, used or revoked link asks for a new one: a routine task for the clinic's team.

    Asking twice while the task is open does not add a second task.
    """
    link.renewal_requested_at = timezone.now()
    link.save(update_fields=["renewal_requested_at"])
    record(Action.UPDATE, obj=link, patient_id=link.patient_id, site=link.site, detail={"event": "renewal_requested"})
    return raise_task(
        link.patient,
        kind=Task.Kind.OTHER,
        priority=Task.Priority.ROUTINE,
        title=f"Send a new portal link ({link.get_purpose_display().lower()}): the patient asked",
        detail=f"The patient opened a {link.get_purpose_display().lower()} link that was {link.state_label.lower()} "
        "and asked for a new one. Check the address on file, then send a new link from the chart.",
        source_type="portal.link_renewal",
        source_id=link.pk,
    )


# --- Intake progress -----------------------------------------------------------------------------------------------


def draft_for(link: PortalLink) -> IntakeDraft:
    """The link's intake draft (created empty on first use)."""
    draft, _ = IntakeDraft.objects.get_or_create(link=link)
    return draft


def first_incomplete_step(draft: IntakeDraft) -> str:
    """Where a returning patient resumes: the first step not yet done (``review`` when all are)."""
    return next((step for step in STEPS if step not in draft.done), "review")


@transaction.atomic
def save_step(link: PortalLink, step: str, answers: Mapping[str, Any]) -> IntakeDraft:
    """Keep the answers of one intake step and mark it done; the patient may come back and change them."""
    if step not in STEPS or step == "review":
        raise ValueError(f"step: {step!r} is not an intake step")
    _require_open(link)
    draft = IntakeDraft.objects.select_for_update().get(pk=draft_for(link).pk)
    draft.answers = {**draft.answers, step: dict(answers)}
    if step not in draft.done:
        draft.done = [s for s in STEPS if s in {*draft.done, step}]
    draft.updated_at = timezone.now()
    draft.save(update_fields=["answers", "done", "updated_at"])
    record(Action.UPDATE, obj=draft, patient_id=link.patient_id, site=link.site, detail={"step": step})
    return draft


@transaction.atomic
def record_questionnaire(link: PortalLink, step: str, answers: Mapping[str, Any]) -> QuestionnaireResponse:
    """Store one questionnaire of the intake the moment its step is sent (not at final submit).

    A positive suicide screen raises the urgent task at once (``measures.actions.record_response``). The response is
    keyed by link and instrument, so a resent step stores once; a step already stored keeps its first answers.
    """
    instrument = QUESTIONNAIRE_STEPS[step]
    _require_open(link)
    response = record_response(
        link.patient,
        instrument,
        dict(answers),
        respondent=QuestionnaireResponse.Respondent.PATIENT,
        channel=QuestionnaireResponse.Channel.PORTAL,
        submission_key=f"{link.pk}:{instrument}",
    )
    draft = save_step(link, step, {"answers": dict(response.answers), "response_id": response.pk})
    if response.is_positive_suicide_screen and draft.safety_shown_at is None:
        draft.safety_shown_at = timezone.now()
        draft.save(update_fields=["safety_shown_at"])
    return response


def _require_open(link: PortalLink) -> None:
    fresh = PortalLink.objects.get(pk=link.pk)
    if not fresh.is_usable:
        raise IntakeError(f"this link is {fresh.state_label.lower()}; no more answers can be saved")


@transaction.atomic
def submit_intake(link: PortalLink) -> IntakeSubmission:
    """Send the completed intake: patient-reported chart rows (pending review), contact proposals kept for staff,
    a routine review task, and the link spent — all or nothing.
    """
    link = PortalLink.objects.select_for_update().select_related("patient", "site").get(pk=link.pk)
    if link.purpose != PortalLink.Purpose.INTAKE:
        raise IntakeError("only an intake link carries an intake")
    if not link.is_usable:
        raise IntakeError(f"this link is {link.state_label.lower()}; the intake was not sent again")
    draft = draft_for(link)
    missing = [step for step in STEPS if step != "review" and step not in draft.done]
    if missing:
        raise IntakeError(f"finish these steps first: {', '.join(missing)}")
    patient = link.patient
    entries = []
    for kind, fields in chart_rows(draft.answers):
        entry = patient_actions.add_entry(ENTRY_KINDS[kind], patient, by=None, source=Source.PATIENT, **fields)
        entries.append({"kind": kind, "id": entry.pk})
    current = {name: getattr(patient, name) for name in PROPOSABLE_FIELDS}
    submission = IntakeSubmission.objects.create(
        link=link,
        patient=patient,
        site=link.site,
        entries=entries,
        contact_changes=proposed_changes(current, draft.answers),
    )
    submission.task = raise_task(
        patient,
        kind=Task.Kind.INTAKE_REVIEW,
        priority=Task.Priority.ROUTINE,
        title="Review the portal intake",
        detail="The patient sent their intake. Accept, correct or reject each reported item and their contact details.",
        source_type="portal.intakesubmission",
        source_id=submission.pk,
    )
    submission.save(update_fields=["task"])
    record(
        Action.CREATE,
        obj=submission,
        patient_id=patient.pk,
        site=link.site,
        detail={"entries": len(entries), "contact_fields": sorted(submission.contact_changes)},
    )
    complete_link(link)
    return submission


# --- Staff review -------------------------------------------------------------------------------------------------


def submission_entries(submission: IntakeSubmission) -> list[tuple[str, ChartEntry]]:
    """The chart rows an intake created, as ``(kind, row)`` in the order the patient gave them."""
    by_kind: dict[str, dict[int, ChartEntry]] = {}
    for kind, model in ENTRY_KINDS.items():
        ids = [e["id"] for e in submission.entries if e["kind"] == kind]
        by_kind[kind] = {row.pk: row for row in model.objects.filter(pk__in=ids, patient=submission.patient)}
    return [(e["kind"], by_kind[e["kind"]][e["id"]]) for e in submission.entries if e["id"] in by_kind[e["kind"]]]


def find_entry(submission: IntakeSubmission, kind: str, entry_id: int) -> ChartEntry:
    """One row of this intake; ``LookupError`` if the intake did not create it."""
    if kind not in ENTRY_KINDS or {"kind": kind, "id": entry_id} not in submission.entries:
        raise LookupError("this item is not part of this intake")
    return ENTRY_KINDS[kind].objects.get(pk=entry_id, patient=submission.patient)


def _require_pending(submission: IntakeSubmission) -> None:
    if submission.status != IntakeSubmission.Status.PENDING:
        raise IntakeError("this intake's review is already complete")


@transaction.atomic
def accept_reported_entry(
    submission: IntakeSubmission, entry: ChartEntry, *, by: Any, changes: Mapping[str, Any] | None = None
) -> ChartEntry:
    """Accept one patient-reported row into the chart, corrected by the clinician where ``changes`` say so."""
    _require_pending(submission)
    if not entry.is_pending_review:
        raise IntakeError("this item was already decided")
    return patient_actions.accept_entry(entry, by=by, changes=changes)


@transaction.atomic
def reject_reported_entry(submission: IntakeSubmission, entry: ChartEntry, *, by: Any, reason: str) -> ChartEntry:
    """Keep a patient-reported row out of the chart, with the reason (the row stays in the history)."""
    _require_pending(submission)
    if not entry.is_pending_review:
        raise IntakeError("this item was already decided")
    return patient_actions.remove_entry(entry, by=by, reason=f"Rejected at intake review: {reason.strip()}")


@transaction.atomic
def decide_contact_change(submission: IntakeSubmission, field: str, *, accept: bool, by: Any) -> IntakeSubmission:
    """Accept a proposed contact change into the patient record, or ignore it; either way it is decided."""
    _require_pending(submission)
    if field not in submission.contact_changes:
        raise IntakeError(f"{field}: the patient proposed no change to this")
    if field in submission.contact_decisions:
        raise IntakeError(f"{field}: already decided")
    if accept:
        patient_actions.update_patient(submission.patient, by=by, **{field: submission.contact_changes[field]["new"]})
    submission.contact_decisions = {**submission.contact_decisions, field: "accepted" if accept else "ignored"}
    submission.save(update_fields=["contact_decisions"])
    record(
        Action.UPDATE,
        obj=submission,
        patient_id=submission.patient_id,
        site=submission.site,
        user=by,
        detail={"field": field, "decision": submission.contact_decisions[field]},
    )
    return submission


def undecided_count(submission: IntakeSubmission) -> int:
    """Rows and contact proposals still waiting for a decision."""
    rows = sum(1 for _, entry in submission_entries(submission) if entry.is_pending_review)
    return rows + len(submission.pending_contact_fields)


@transaction.atomic
def complete_review(submission: IntakeSubmission, *, by: Any, resolution: str) -> IntakeSubmission:
    """Close the intake review once every item is decided; the review task closes with ``resolution``."""
    _require_pending(submission)
    if len(resolution.strip()) < 10:
        raise IntakeError("resolution: describe what was reviewed and any follow-up (at least 10 characters)")
    waiting = undecided_count(submission)
    if waiting:
        raise IntakeError(f"decide every item first: {waiting} still waiting")
    task = submission.task
    if task is not None and task.status == Task.Status.OPEN:
        close_task(task, by=by, resolution=resolution)
    submission.status = IntakeSubmission.Status.REVIEWED
    submission.reviewed_at = timezone.now()
    submission.reviewed_by = by
    submission.save(update_fields=["status", "reviewed_at", "reviewed_by"])
    record(
        Action.UPDATE,
        obj=submission,
        patient_id=submission.patient_id,
        site=submission.site,
        user=by,
        detail={"event": "review_complete"},
    )
    return submission
