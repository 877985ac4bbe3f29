"""Reminder e-mails: sent at each of the type's reminder times, once, with the instructions and nothing clinical."""

from __future__ import annotations

import pytest
import time_machine
from django.core import mail
from django.db import IntegrityError, transaction

from ketaclinic.processes.jobs import _JOBS, run_due_jobs
from ketaclinic.scheduling import reminders
from ketaclinic.scheduling.actions import book_appointment, cancel_appointment
from ketaclinic.scheduling.models import AppointmentType, ReminderSent
from ketaclinic.scheduling.tests.conftest import at


@pytest.fixture
def iv(clinic, types, patient, cast):
    return book_appointment(
        patient=patient, appointment_type=types["ketamine_iv"], start=at("2026-11-05", "10:00"), by=cast.coordinator
    )


def run_at(moment: str) -> int:
    day, time = moment.split(" ")
    with time_machine.travel(at(day, time), tick=False):
        return reminders.send_due_reminders()


def test_the_job_is_registered_with_the_job_runner():
    assert _JOBS["appointment_reminders"] is reminders.send_due_reminders


def test_it_sends_each_reminder_once_at_its_time(iv, patient):
    assert run_at("2026-11-03 09:59") == 0  # 48 h before is 3 Nov 10:00
    assert run_at("2026-11-03 10:00") == 1
    assert run_at("2026-11-03 10:15") == 0  # already sent
    assert run_at("2026-11-04 09:45") == 0
    assert run_at("2026-11-04 10:00") == 1  # 24 h before
    assert run_at("2026-11-05 09:00") == 0
    assert sorted(ReminderSent.objects.values_list("hours_before", flat=True)) == [24, 48]
    assert len(mail.outbox) == 2
    message = mail.outbox[0]
    assert message.to == ["morgan@example.invalid"]
    assert message.subject == "Your appointment at Site A Clinic on Thu 05 Nov at 10:00"
    assert "Thursday 5 November 2026 at 10:00" in message.body
    assert "Plan to be with us for about 1 h 10 min." in message.body
    assert "Bring an adult who can take you home" in message.body
    # No treatment name, no diagnosis
    for word in ("ketamine", "IV infusion", "depress", "esketamine"):
        assert word.lower() not in message.body.lower() and word.lower() not in message.subject.lower()


def test_it_sends_one_email_when_several_reminders_are_due_at_once(clinic, types, patient, cast):
    with time_machine.travel(at("2026-11-04", "15:00"), tick=False):
        book_appointment(
            patient=patient, appointment_type=types["ketamine_iv"], start=at("2026-11-05", "10:00"), by=cast.coordinator
        )
        assert reminders.send_due_reminders() == 1
    assert sorted(ReminderSent.objects.values_list("hours_before", flat=True)) == [24, 48]
    assert len(mail.outbox) == 1


def test_it_skips_cancelled_appointments_and_patients_without_email(iv, cast, other_patient, types):
    cancel_appointment(iv, by=cast.coordinator, reason="unwell")
    book_appointment(
        patient=other_patient, appointment_type=types["consult"], start=at("2026-11-05", "11:00"), by=cast.coordinator
    )
    assert run_at("2026-11-04 12:00") == 0
    assert mail.outbox == []


def test_it_runs_through_the_job_runner(iv):
    with time_machine.travel(at("2026-11-03", "10:00"), tick=False):
        assert run_due_jobs() >= 1
    assert len(mail.outbox) == 1


def test_a_second_runner_does_not_send_again(iv, monkeypatch):
    with time_machine.travel(at("2026-11-03", "10:00"), tick=False):
        due = reminders.due_reminders(reminders.timezone.now())
        assert reminders.send_reminder(*due[0]) is True
        assert reminders.send_reminder(*due[0]) is False  # the unique row stops the duplicate
    assert len(mail.outbox) == 1


def test_a_failed_email_is_retried_next_round(iv, monkeypatch):
    def broken(*args, **kwargs):
        raise OSError("mail server down")

    monkeypatch.setattr(reminders, "send_mail", broken)
    assert run_at("2026-11-03 10:00") == 0
    assert not ReminderSent.objects.exists()
    monkeypatch.undo()
    assert run_at("2026-11-03 10:15") == 1


def test_nothing_is_due_without_reminder_times(iv):
    AppointmentType.objects.update(reminder_hours_before=[])
    assert run_at("2026-11-05 09:00") == 0


def test_the_unique_row_is_a_database_constraint(iv):
    ReminderSent.objects.create(appointment=iv, hours_before=24)
    with pytest.raises(IntegrityError), transaction.atomic():
        ReminderSent.objects.create(appointment=iv, hours_before=24)
