"""Pre-visit reminder e-mails: each booked appointment's instructions, at each of its type's reminder times, once.

Run by the job runner (``run_jobs``) as the ``appointment_reminders`` job. A reminder is due once the appointment is
no more than ``hours_before`` away; several due at once (an appointment booked the day before) go out as one e-mail.
The ``ReminderSent`` row is written in the same transaction as the sending, and its unique constraint stops a second
runner from sending the same reminder. The e-mail says where and when, how long to plan for, and the instructions:
no diagnosis, no treatment name.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone

from ketaclinic.audit.actions import Action, record
from ketaclinic.processes.jobs import job
from ketaclinic.scheduling.models import Appointment, AppointmentType, ReminderSent

log = logging.getLogger(__name__)


def due_reminders(now: dt.datetime) -> list[tuple[Appointment, list[int]]]:
    """Booked appointments still ahead with reminders due and not yet sent, with the due offsets (two queries)."""
    longest = max((max(t.reminder_hours, default=0) for t in AppointmentType.objects.all()), default=0)
    if not longest:
        return []
    upcoming = list(
        Appointment.objects.filter(
            status=Appointment.Status.BOOKED, starts_at__gt=now, starts_at__lte=now + dt.timedelta(hours=longest)
        )
        .exclude(patient__email="")
        .select_related("patient", "site", "appointment_type")
        .prefetch_related("reminders")
        .order_by("starts_at", "pk")
    )
    due = []
    for appointment in upcoming:
        sent = {r.hours_before for r in appointment.reminders.all()}
        hours = [
            h
            for h in appointment.appointment_type.reminder_hours
            if h not in sent and appointment.starts_at - dt.timedelta(hours=h) <= now
        ]
        if hours:
            due.append((appointment, hours))
    return due


def reminder_text(appointment: Appointment) -> tuple[str, str]:
    """The subject and body of the reminder for ``appointment`` (clinic-local times)."""
    site = appointment.site
    local = appointment.starts_at.astimezone(site.zone)
    minutes = appointment.appointment_type.total_min
    context = {
        "appointment": appointment,
        "patient": appointment.patient,
        "site": site,
        "day": f"{local:%A} {local.day} {local:%B %Y}",
        "time": f"{local:%H:%M}",
        "length": f"{minutes // 60} h {minutes % 60} min" if minutes >= 60 else f"{minutes} min",
        "instructions": appointment.appointment_type.instructions,
    }
    subject = f"Your appointment at {site.name} on {local:%a %d %b} at {local:%H:%M}"
    return subject, render_to_string("scheduling/email/reminder.txt", context)


def send_reminder(appointment: Appointment, hours: list[int]) -> bool:
    """Send one reminder e-mail covering the due ``hours``; False when another runner already sent it."""
    subject, body = reminder_text(appointment)
    try:
        with transaction.atomic():
            ReminderSent.objects.bulk_create([ReminderSent(appointment=appointment, hours_before=h) for h in hours])
            send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [appointment.patient.email])
            record(
                Action.CREATE,
                object_type="scheduling.remindersent",
                object_id=appointment.pk,
                patient_id=appointment.patient_id,
                site=appointment.site,
                detail={"appointment": appointment.pk, "hours_before": hours},
            )
    except IntegrityError:
        return False
    return True


@job("appointment_reminders")
def send_due_reminders() -> int:
    """Send every due reminder; returns how many e-mails went out. A failed e-mail is retried next round."""
    sent = 0
    for appointment, hours in due_reminders(timezone.now()):
        try:
            sent += send_reminder(appointment, hours)
        except OSError:
            log.warning("reminder e-mail for appointment %s failed; will retry", appointment.pk)
    return sent
