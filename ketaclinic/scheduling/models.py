"""Scheduling: the clinic's bookable resources, staff shifts, appointment types, appointments and the reservations
that make double booking impossible.

Times are aware UTC in the database. Everything a person reads (calendars, messages, e-mails) and every opening-hours
rule is in the site's own time zone (``Site.zone``), so a series keeps its 10:00 local start across a DST change.

**No double booking, enforced by the database.** Every 15-minute slot an appointment occupies is a
:class:`Reservation` row carrying the chair (or room), the patient and the booked clinician; unique constraints on
``(resource, slot_start)``, ``(patient, slot_start)`` and ``(staff, slot_start)`` mean that of two concurrent
bookings of the same chair, patient or clinician exactly one can commit. This works alike on SQLite and PostgreSQL
(an exclusion constraint would need ``btree_gist`` on PostgreSQL only). Slots are aligned to quarter hours, so an
appointment ending at 11:10 holds its chair until 11:15: the five minutes are the chair's turnover.
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import ClassVar

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

#: Bookings start on quarter hours and occupy whole quarter-hour slots.
SLOT_MINUTES = 15
SLOT = dt.timedelta(minutes=SLOT_MINUTES)
#: The longest an appointment (duration + recovery) may take; bounds the window read when planning.
MAX_APPOINTMENT_MINUTES = 8 * 60


class ResourceKind(models.TextChoices):
    """What a bookable place is used for."""

    INFUSION_CHAIR = "infusion_chair", "Infusion chair"
    TREATMENT_ROOM = "treatment_room", "Treatment room"
    THERAPY_ROOM = "therapy_room", "Therapy room"
    CONSULT_ROOM = "consult_room", "Consult room"


def kind_phrase(kind: str) -> str:
    """ "an infusion chair", "a consult room"."""
    label = ResourceKind(kind).label.lower()
    return f"{'an' if label[0] in 'aeiou' else 'a'} {label}"


class ShiftRole(models.TextChoices):
    """The role a member of staff works in during a shift (someone with two roles works one at a time)."""

    PRESCRIBER = "prescriber", "Prescriber"
    NURSE = "nurse", "Nurse"
    THERAPIST = "therapist", "Therapist"


class Resource(models.Model):
    """A chair or room at a site that one appointment at a time can use. Inactive ones are no longer bookable."""

    site = models.ForeignKey("accounts.Site", on_delete=models.PROTECT, related_name="resources")
    kind = models.CharField(max_length=20, choices=ResourceKind.choices)
    name = models.CharField(max_length=60)
    active = models.BooleanField(default=True)
    monitor_label = models.CharField(
        max_length=60, blank=True, help_text="The bedside monitor assigned to this chair or room, e.g. 'Monitor M3'."
    )

    class Meta:
        ordering = ["site", "kind", "name"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["site", "name"], name="resource_name_unique_per_site"),
            models.CheckConstraint(condition=Q(kind__in=ResourceKind.values), name="resource_kind_valid"),
        ]

    def __str__(self) -> str:
        return self.name


class SitePolicy(models.Model):
    """A site's scheduling rules. Sites without a row use the field defaults."""

    site = models.OneToOneField("accounts.Site", on_delete=models.CASCADE, related_name="scheduling_policy")
    nurse_ratio = models.PositiveSmallIntegerField(
        default=4,
        validators=[MinValueValidator(1), MaxValueValidator(12)],
        help_text="Dosing patients one nurse on shift may monitor at the same time (1 nurse : N patients).",
    )
    search_days = models.PositiveSmallIntegerField(
        default=28,
        validators=[MinValueValidator(1), MaxValueValidator(180)],
        help_text="How many days ahead the free-slot finder looks when no end is given.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "site policies"
        constraints: ClassVar = [
            models.CheckConstraint(condition=Q(nurse_ratio__gte=1, nurse_ratio__lte=12), name="policy_nurse_ratio"),
            models.CheckConstraint(condition=Q(search_days__gte=1, search_days__lte=180), name="policy_search_days"),
        ]

    def __str__(self) -> str:
        return f"scheduling policy of site {self.site_id}"


class StaffShift(models.Model):
    """A member of staff available at a site from ``starts_at`` to ``ends_at`` in one role (staff availability).

    Nurse shifts set how many dosing patients can be monitored at once; a prescriber shift puts a prescriber on site
    (needed during esketamine sessions); a therapist on shift can be booked for therapy sessions.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="shifts")
    site = models.ForeignKey("accounts.Site", on_delete=models.PROTECT, related_name="staff_shifts")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    role_on_shift = models.CharField(max_length=20, choices=ShiftRole.choices)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["starts_at", "user_id"]
        constraints: ClassVar = [
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="shift_order"),
            models.CheckConstraint(condition=Q(role_on_shift__in=ShiftRole.values), name="shift_role_valid"),
        ]
        indexes: ClassVar = [
            models.Index(fields=["site", "starts_at"], name="shift_site_start"),
            models.Index(fields=["user", "starts_at"], name="shift_user_start"),
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.role_on_shift} {self.starts_at.astimezone(dt.UTC):%Y-%m-%d %H:%M}Z"


class AppointmentType(models.Model):
    """A kind of visit: how long it takes, what it needs, and what the patient is told beforehand.

    Chair time is ``duration_min + recovery_min`` (an IV infusion of 40 minutes plus 30 minutes of recovery holds a
    chair for 70 minutes; an esketamine session's 120-minute observation is its recovery). ``instructions`` are sent
    to the patient before the visit (at each of ``reminder_hours_before``) and must hold no diagnosis.
    """

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=80)
    duration_min = models.PositiveSmallIntegerField(validators=[MinValueValidator(5), MaxValueValidator(480)])
    recovery_min = models.PositiveSmallIntegerField(
        default=0,
        validators=[MaxValueValidator(480)],
        help_text="Recovery or observation after the treatment itself, in the same chair or room.",
    )
    resource_kind = models.CharField(
        max_length=20, choices=ResourceKind.choices, blank=True, help_text="Blank: needs no chair or room."
    )
    needs_nurse = models.BooleanField(default=False, help_text="A nurse must be on shift throughout.")
    needs_prescriber_on_site = models.BooleanField(
        default=False, help_text="A prescriber must be on shift at the site throughout (esketamine REMS)."
    )
    needs_therapist = models.BooleanField(default=False, help_text="A therapist on shift is booked one-to-one.")
    accompanies_dosing = models.BooleanField(
        default=False,
        help_text="Held alongside the patient's dosing session (dosing-day support): it does not take the patient's "
        "time slot.",
    )
    is_dosing = models.BooleanField(
        default=False, help_text="A ketamine or esketamine dose is given: counts towards the nurse ratio."
    )
    route = models.CharField(
        max_length=20, blank=True, help_text="The clinical route this type doses (iv, im, sublingual, intranasal…)."
    )
    instructions = models.TextField(
        blank=True, help_text="Pre-visit instructions for the patient: fasting, escort, no driving, medicines to hold."
    )
    reminder_hours_before = models.JSONField(
        default=list, blank=True, help_text="When reminders with the instructions go out, e.g. [48, 24]."
    )
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=Q(duration_min__gte=5, duration_min__lte=480, recovery_min__lte=480), name="type_minutes"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def total_min(self) -> int:
        """Minutes the appointment occupies its chair or room (treatment plus recovery)."""
        return self.duration_min + self.recovery_min

    @property
    def total(self) -> dt.timedelta:
        return dt.timedelta(minutes=self.total_min)

    @property
    def reminder_hours(self) -> list[int]:
        """The reminder offsets in hours, largest first."""
        return sorted({int(h) for h in self.reminder_hours_before or []}, reverse=True)

    def clean(self) -> None:
        if self.total_min > MAX_APPOINTMENT_MINUTES:
            raise ValidationError(
                f"Duration plus recovery: at most {MAX_APPOINTMENT_MINUTES} minutes (got {self.total_min})."
            )
        hours = self.reminder_hours_before
        if not isinstance(hours, list) or not all(
            isinstance(h, int) and not isinstance(h, bool) and 1 <= h <= 336 for h in hours
        ):
            raise ValidationError(
                {"reminder_hours_before": "Reminder hours: a list of whole hours from 1 to 336, e.g. [48, 24]."}
            )


class Appointment(models.Model):
    """A patient booked at a site from ``starts_at`` to ``ends_at`` (start + duration + recovery).

    ``course_ref`` is the id of the treatment course the session belongs to (courses app) and ``sequence_number``
    its session number in that course; both stay empty for consults and therapy. Created and changed only by
    :mod:`ketaclinic.scheduling.actions`; ``version`` is bumped on every change (optimistic locking).
    """

    class Status(models.TextChoices):
        BOOKED = "booked", "Booked"
        CHECKED_IN = "checked_in", "Checked in"
        COMPLETED = "completed", "Completed"
        CANCELLED = "cancelled", "Cancelled"
        NO_SHOW = "no_show", "No-show"

    site = models.ForeignKey("accounts.Site", on_delete=models.PROTECT, related_name="appointments")
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="appointments")
    appointment_type = models.ForeignKey(AppointmentType, on_delete=models.PROTECT, related_name="appointments")
    resource = models.ForeignKey(Resource, null=True, blank=True, on_delete=models.PROTECT, related_name="appointments")
    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="staff_appointments",
        help_text="The clinician booked one-to-one (a therapist for therapy); dosing nurses are counted by shift.",
    )
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.BOOKED)
    course_ref = models.PositiveBigIntegerField(null=True, blank=True, db_index=True)
    sequence_number = models.PositiveSmallIntegerField(null=True, blank=True)
    cancel_reason = models.CharField(max_length=300, blank=True)
    checked_in_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    version = models.PositiveIntegerField(default=1)

    #: Statuses whose appointment still holds its chair, patient and clinician.
    HOLDING: ClassVar[tuple[str, ...]] = (Status.BOOKED, Status.CHECKED_IN, Status.COMPLETED)
    #: Allowed status changes.
    TRANSITIONS: ClassVar[dict[str, frozenset[str]]] = {
        Status.BOOKED: frozenset({Status.CHECKED_IN, Status.CANCELLED, Status.NO_SHOW}),
        Status.CHECKED_IN: frozenset({Status.COMPLETED, Status.CANCELLED}),
        Status.COMPLETED: frozenset(),
        Status.CANCELLED: frozenset(),
        Status.NO_SHOW: frozenset(),
    }

    class Meta:
        ordering = ["starts_at", "id"]
        constraints: ClassVar = [
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="appointment_order"),
            models.CheckConstraint(
                condition=Q(status__in=["booked", "checked_in", "completed", "cancelled", "no_show"]),
                name="appointment_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(sequence_number__isnull=True) | Q(sequence_number__gte=1),
                name="appointment_sequence_positive",
            ),
        ]
        indexes: ClassVar = [
            models.Index(fields=["site", "starts_at"], name="appointment_site_start"),
            models.Index(fields=["patient", "starts_at"], name="appointment_patient_start"),
            models.Index(fields=["staff", "starts_at"], name="appointment_staff_start"),
            models.Index(fields=["status", "starts_at"], name="appointment_status_start"),
        ]

    def __str__(self) -> str:
        when = self.starts_at.astimezone(dt.UTC)
        return f"{self.appointment_type_id} for patient {self.patient_id} at {when:%Y-%m-%d %H:%M}Z"

    @property
    def is_active(self) -> bool:
        return self.status in (self.Status.BOOKED, self.Status.CHECKED_IN)

    def can_become(self, status: str) -> bool:
        return status in self.TRANSITIONS.get(self.status, frozenset())


class Reservation(models.Model):
    """One 15-minute slot held by an appointment: its chair or room, its patient and its booked clinician.

    The unique constraints are the double-booking guarantee; rows are written in the booking transaction and deleted
    when the appointment is cancelled, marked a no-show or moved. Empty columns (no chair, no clinician, dosing-day
    support that does not take the patient's time) never clash: NULLs are distinct in a unique constraint.
    """

    appointment = models.ForeignKey(Appointment, on_delete=models.CASCADE, related_name="reservations")
    slot_start = models.DateTimeField()
    resource = models.ForeignKey(Resource, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    patient = models.ForeignKey("patients.Patient", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["resource", "slot_start"], name="reservation_resource_slot"),
            models.UniqueConstraint(fields=["patient", "slot_start"], name="reservation_patient_slot"),
            models.UniqueConstraint(fields=["staff", "slot_start"], name="reservation_staff_slot"),
        ]

    def __str__(self) -> str:
        return f"slot {self.slot_start.astimezone(dt.UTC):%Y-%m-%d %H:%M}Z of appointment {self.appointment_id}"


class ReminderSent(models.Model):
    """A reminder e-mail sent for an appointment at ``hours_before`` its start: each goes out once."""

    appointment = models.ForeignKey(Appointment, on_delete=models.CASCADE, related_name="reminders")
    hours_before = models.PositiveSmallIntegerField()
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["appointment", "hours_before"], name="reminder_once"),
        ]

    def __str__(self) -> str:
        return f"reminder {self.hours_before} h before appointment {self.appointment_id}"


def new_feed_token() -> str:
    return secrets.token_urlsafe(32)


class FeedToken(models.Model):
    """The secret of a calendar (ICS) feed: a patient's appointments, or a staff member's shifts and appointments.

    Whoever knows the URL can read the feed, so it carries no clinical detail; regenerating replaces the secret and
    the old URL stops working at once.
    """

    token = models.CharField(max_length=64, unique=True, default=new_feed_token)
    patient = models.OneToOneField(
        "patients.Patient", null=True, blank=True, on_delete=models.CASCADE, related_name="calendar_feed"
    )
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="calendar_feed"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=(Q(patient__isnull=False) & Q(user__isnull=True))
                | (Q(patient__isnull=True) & Q(user__isnull=False)),
                name="feed_token_one_owner",
            ),
        ]

    def __str__(self) -> str:
        return (
            f"calendar feed of {'patient ' + str(self.patient_id) if self.patient_id else 'user ' + str(self.user_id)}"
        )
