"""Periodic jobs of measurement-based care (run by ``run_jobs``).

``measure_links``: regenerate every active course's schedule, then e-mail each patient with patient-reported
questionnaires open now one portal link that opens the whole due set; a set still unanswered
``MEASURE_REMINDER_HOURS`` (default 24) after its link gets one reminder with a fresh link. The ``notified_at`` /
``reminded_at`` marks are set with a conditional update in the transaction that creates the link, so two runners never
send the same e-mail twice. E-mails carry the link and the clinic's name only (``portal.actions.create_link``).

``suicide_followup_escalation``: a high-tier suicide-risk follow-up still open at its due time is escalated exactly
once: ``escalated_at`` is claimed with a conditional update and the site's prescribers are e-mailed in the same
transaction (a failed e-mail rolls the claim back; the next round tries again).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from ketaclinic import clinical
from ketaclinic.accounts.models import User
from ketaclinic.accounts.roles import Perm
from ketaclinic.audit.actions import Action, record
from ketaclinic.measures.models import MeasureDue
from ketaclinic.measures.schedule import sync_schedule
from ketaclinic.processes.jobs import job
from ketaclinic.tasks.models import Task

log = logging.getLogger(__name__)
LANDING = "questionnaire/"
DEFAULT_REMINDER_HOURS = 24


def reminder_hours() -> float:
    return float(getattr(settings, "MEASURE_REMINDER_HOURS", DEFAULT_REMINDER_HOURS))


def sync_active_schedules() -> int:
    """Regenerate the schedule of every active course; how many rows changed."""
    from ketaclinic.courses.models import Course

    changed = 0
    for course in Course.objects.active():
        result = sync_schedule(course)
        changed += result.created + result.moved + result.dropped
    return changed


def _open_portal_due(now: Any) -> dict[int, list[MeasureDue]]:
    rows = (
        MeasureDue.objects.filter(delivery=MeasureDue.Delivery.PORTAL, response__isnull=True, opens_at__lte=now)
        .exclude(closes_at__lte=now)
        .exclude(patient__email="")
        .select_related("patient", "patient__site")
        .order_by("patient_id", "due_at")
    )
    by_patient: dict[int, list[MeasureDue]] = defaultdict(list)
    for row in rows:
        by_patient[row.patient_id].append(row)
    return by_patient


def send_due_links(now: Any = None) -> int:
    """E-mail a link to each patient with a newly open set, and one reminder per set left unanswered; how many sent."""
    from ketaclinic.portal.actions import create_link
    from ketaclinic.portal.models import PortalLink

    now = now or timezone.now()
    sent = 0
    remind_before = now - dt.timedelta(hours=reminder_hours())
    for rows in _open_portal_due(now).values():
        patient = rows[0].patient
        fresh = [r.pk for r in rows if r.notified_at is None]
        stale = [
            r.pk for r in rows if r.notified_at is not None and r.reminded_at is None and r.notified_at <= remind_before
        ]
        if not fresh and not stale:
            continue
        try:
            with transaction.atomic():
                if fresh:
                    claimed = MeasureDue.objects.filter(pk__in=fresh, notified_at__isnull=True).update(notified_at=now)
                else:
                    claimed = MeasureDue.objects.filter(pk__in=stale, reminded_at__isnull=True).update(reminded_at=now)
                if not claimed:
                    continue
                create_link(
                    patient, purpose=PortalLink.Purpose.QUESTIONNAIRE, by=None, email=patient.email, landing=LANDING
                )
        except OSError:
            log.warning("questionnaire link e-mail for patient %s failed; will retry", patient.pk)
            continue
        sent += 1
    return sent


@job("measure_links")
def measure_links() -> int:
    """Keep schedules in step with the sessions, then send due questionnaire links and reminders."""
    return sync_active_schedules() + send_due_links()


def _prescribers(site: Any) -> list[str]:
    users = User.objects.filter(sites=site, is_active=True, groups__permissions__codename=Perm.PRESCRIBE.value).exclude(
        email=""
    )
    return sorted(set(users.values_list("email", flat=True)))


def escalate_missed_followups(now: Any = None) -> int:
    """Escalate each missed high-tier suicide-risk follow-up once; how many were escalated."""
    now = now or timezone.now()
    candidates = (
        Task.objects.open()
        .filter(kind=Task.Kind.SUICIDE_RISK, escalated_at__isnull=True, due_at__lte=now)
        .select_related("site")
    )
    escalated = 0
    for task in candidates:
        if not task.risk_tier or not clinical.escalation_due(clinical.RiskTier(task.risk_tier), task.due_at, now):
            continue
        try:
            with transaction.atomic():
                won = Task.objects.filter(pk=task.pk, escalated_at__isnull=True, status=Task.Status.OPEN).update(
                    escalated_at=now
                )
                if not won:
                    continue
                record(
                    Action.UPDATE, obj=task, patient_id=task.patient_id, site=task.site, detail={"event": "escalated"}
                )
                recipients = _prescribers(task.site)
                if recipients:
                    base = str(getattr(settings, "PORTAL_BASE_URL", "") or "").rstrip("/")
                    url = base + reverse("tasks:detail", args=[task.pk])
                    send_mail(
                        subject=f"Overdue high-risk follow-up at {task.site.name}",
                        message="A high-risk suicide follow-up task is past its due time and still open. Open it, "
                        f"assess the patient and document the action taken:\n\n{url}\n",
                        from_email=None,
                        recipient_list=recipients,
                    )
        except OSError:
            log.warning("escalation e-mail for task %s failed; will retry", task.pk)
            continue
        escalated += 1
    return escalated


@job("suicide_followup_escalation")
def suicide_followup_escalation() -> int:
    return escalate_missed_followups()
