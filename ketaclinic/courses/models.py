"""Treatment courses: the protocol a prescriber chose for a patient, the dose orders, and the decisions along the way.

A :class:`Course` is one series of dosing sessions under one protocol of the clinical catalogue
(``clinical.PROTOCOLS``), opened by a prescriber on the strength of a signed, approving eligibility assessment for
the protocol's route. It moves planned → induction → maintenance, and may be paused, completed or stopped; every move
is a :class:`CourseDecision` with its reason. Doses are :class:`DoseOrder` rows: immutable, each superseding the one
before from a session number onward. A :class:`MissedSession` records a missed or cancelled dosing appointment and
the protocol rule applied to it.

Sessions themselves are ``scheduling.Appointment`` rows carrying ``course_ref`` (the course id) and a
``sequence_number``; the scheduling app does not import this one, so the link is a plain integer on both sides.
"""

from __future__ import annotations

from typing import Any, ClassVar, NoReturn

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from ketaclinic.clinical import PROTOCOLS, Drug, get_protocol
from ketaclinic.clinical.protocols import Protocol

PROTOCOL_CHOICES = [(p.id, p.title) for p in PROTOCOLS.values()]
JURISDICTION_CHOICES = [("US", "United States (FDA label)"), ("EU", "European Union (EMA label)"), ("HK", "Hong Kong")]
WEIGHT_BASIS_CHOICES = [("actual", "Actual body weight"), ("ideal", "Ideal body weight"), ("adjusted", "Adjusted")]


class ImmutableRecordError(Exception):
    """Raised on an attempt to change or delete a dose order, a decision or a missed-session record."""


class Indication(models.TextChoices):
    """What a course treats. TRD and MDSI are the indications the protocols were studied for; the others are
    off-label uses a clinic may treat under the same protocols (the course records which)."""

    TRD = "trd", "Treatment-resistant depression"
    MDSI = "mdsi", "Depression with acute suicidal ideation or behaviour (MDSI)"
    DEPRESSION = "depression", "Depression (not treatment-resistant)"
    ANXIETY = "anxiety", "Anxiety disorder"
    PTSD = "ptsd", "Post-traumatic stress disorder"
    OCD = "ocd", "Obsessive-compulsive disorder"
    CHRONIC_PAIN = "chronic_pain", "Chronic pain"
    MIGRAINE = "migraine", "Migraine"
    ALCOHOL_USE = "alcohol_use", "Alcohol use disorder"


class CourseQuerySet(models.QuerySet["Course"]):
    def active(self) -> CourseQuerySet:
        """Courses still running or about to: planned, induction, maintenance or paused."""
        return self.filter(status__in=Course.ACTIVE_STATUSES)


class Course(models.Model):
    """One treatment course of a patient under one catalogue protocol.

    ``protocol`` is a ``clinical.PROTOCOLS`` id; ``route`` is the protocol's route, copied so the eligibility link can
    be checked in the database. ``eligibility_assessment`` is the signed approving assessment for that route that the
    course was opened on, and ``precautions`` the ``[{code, message}]`` it carried (copied: later assessments do not
    rewrite an open course's history). The starting dose is ``starting_mg_per_kg`` for per-kilogram protocols or
    ``starting_amount_mg`` for fixed doses; titration bounds (``min_/max_mg_per_kg`` or ``min_/max_amount_mg``) lie
    within the protocol's bounds unless ``bounds_override_reason`` explains why not. ``review_points`` are session
    numbers at which the prescriber reviews the response. ``started_at`` is when the first session began (the start of
    course week 1). ``prior_sessions`` counts sessions given before the course was kept here (a transfer).
    ``version`` is bumped on every change (optimistic locking).
    """

    class Status(models.TextChoices):
        PLANNED = "planned", "Planned"
        INDUCTION = "induction", "Induction"
        MAINTENANCE = "maintenance", "Maintenance"
        PAUSED = "paused", "Paused"
        COMPLETED = "completed", "Completed"
        STOPPED = "stopped", "Stopped"

    ACTIVE_STATUSES: ClassVar[tuple[str, ...]] = ("planned", "induction", "maintenance", "paused")

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="courses")
    site = models.ForeignKey("accounts.Site", on_delete=models.PROTECT, related_name="+")
    indication = models.CharField(max_length=20, choices=Indication.choices)
    protocol = models.CharField(max_length=40, choices=PROTOCOL_CHOICES)
    route = models.CharField(max_length=20)
    jurisdiction = models.CharField(max_length=2, choices=JURISDICTION_CHOICES, default="US")
    eligibility_assessment = models.ForeignKey(
        "screening.EligibilityAssessment", on_delete=models.PROTECT, related_name="courses"
    )
    precautions = models.JSONField(
        default=list, blank=True, help_text="[{code, message}] from the eligibility sign-off."
    )
    weight_basis = models.CharField(max_length=10, choices=WEIGHT_BASIS_CHOICES, default="actual")
    starting_mg_per_kg = models.DecimalField(max_digits=5, decimal_places=3, null=True, blank=True)
    starting_amount_mg = models.DecimalField(max_digits=6, decimal_places=1, null=True, blank=True)
    min_mg_per_kg = models.DecimalField(max_digits=5, decimal_places=3, null=True, blank=True)
    max_mg_per_kg = models.DecimalField(max_digits=5, decimal_places=3, null=True, blank=True)
    min_amount_mg = models.DecimalField(max_digits=6, decimal_places=1, null=True, blank=True)
    max_amount_mg = models.DecimalField(max_digits=6, decimal_places=1, null=True, blank=True)
    bounds_override_reason = models.TextField(blank=True)
    planned_induction_sessions = models.PositiveSmallIntegerField()
    prior_sessions = models.PositiveSmallIntegerField(
        default=0,
        help_text="Sessions of this course given before its sessions were kept in this schedule (a course transferred "
        "from another clinic or record); they count towards session numbers and review points.",
    )
    review_points = models.JSONField(default=list, blank=True, help_text="Session numbers at which to review.")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PLANNED)
    status_reason = models.CharField(max_length=300, blank=True)
    paused_from = models.CharField(max_length=12, blank=True, help_text="The status a paused course resumes to.")
    opened_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    opened_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True, help_text="When session 1 began: course week 1 starts.")
    ended_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)

    objects = CourseQuerySet.as_manager()

    class Meta:
        ordering = ["-opened_at", "-id"]
        indexes: ClassVar = [models.Index(fields=["patient", "status"], name="course_patient_status")]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=Q(starting_mg_per_kg__isnull=False) | Q(starting_amount_mg__isnull=False),
                name="course_has_starting_dose",
            ),
            models.CheckConstraint(
                condition=Q(min_mg_per_kg__isnull=True)
                | Q(max_mg_per_kg__isnull=True)
                | Q(min_mg_per_kg__lte=models.F("max_mg_per_kg")),
                name="course_mg_per_kg_bounds_order",
            ),
            models.CheckConstraint(
                condition=Q(min_amount_mg__isnull=True)
                | Q(max_amount_mg__isnull=True)
                | Q(min_amount_mg__lte=models.F("max_amount_mg")),
                name="course_amount_bounds_order",
            ),
            models.CheckConstraint(condition=Q(planned_induction_sessions__gte=1), name="course_planned_sessions"),
            models.CheckConstraint(
                condition=~Q(status="paused") | ~Q(paused_from=""), name="course_paused_knows_previous"
            ),
            # One running course per patient: two prescribers opening at once cannot both succeed.
            models.UniqueConstraint(
                fields=["patient"],
                condition=Q(status__in=["planned", "induction", "maintenance", "paused"]),
                name="course_one_active_per_patient",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.protocol_title} ({self.get_status_display()})"

    @property
    def clinical_protocol(self) -> Protocol:
        return get_protocol(self.protocol)

    @property
    def protocol_title(self) -> str:
        return dict(PROTOCOL_CHOICES).get(self.protocol, self.protocol)

    @property
    def is_esketamine(self) -> bool:
        return self.clinical_protocol.drug is Drug.ESKETAMINE

    @property
    def is_per_kg(self) -> bool:
        return self.starting_mg_per_kg is not None

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE_STATUSES

    def current_dose_order(self) -> DoseOrder | None:
        """The order in force for the next session: the latest one."""
        return self.dose_orders.order_by("-ordered_at", "-id").first()


class _AppendOnly(models.Model):
    """Rows that are written once and never changed or deleted (they are the clinical record)."""

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None and not self._state.adding:
            raise ImmutableRecordError(f"A {self._meta.verbose_name} cannot be changed; record a new one.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise ImmutableRecordError(f"A {self._meta.verbose_name} is part of the clinical record; none is deleted.")


class DoseOrder(_AppendOnly):
    """A prescriber's dose for the course from session ``effective_from_session`` onward, until a newer order.

    Per-kilogram protocols order ``mg_per_kg`` (the session's amount follows the weight on the day; ``amount_mg`` is
    the amount at ``weight_kg``, the weight used when ordering); fixed-dose protocols order ``amount_mg``.
    ``out_of_bounds_override_reason`` is set when the order lies outside the course's titration bounds or the
    protocol's rules (audited as an override). Orders are never changed: a new order supersedes.
    """

    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="dose_orders")
    ordered_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    ordered_at = models.DateTimeField(default=timezone.now)
    effective_from_session = models.PositiveSmallIntegerField(default=1)
    mg_per_kg = models.DecimalField(max_digits=5, decimal_places=3, null=True, blank=True)
    amount_mg = models.DecimalField(max_digits=6, decimal_places=1)
    weight_kg = models.DecimalField(max_digits=5, decimal_places=1, null=True, blank=True)
    weight_basis = models.CharField(max_length=10, choices=WEIGHT_BASIS_CHOICES, blank=True)
    duration_min = models.DecimalField(max_digits=5, decimal_places=1, null=True, blank=True)
    devices = models.PositiveSmallIntegerField(null=True, blank=True)
    reason = models.CharField(max_length=300)
    out_of_bounds_override_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-ordered_at", "-id"]
        constraints: ClassVar = [
            models.CheckConstraint(condition=Q(amount_mg__gt=0), name="dose_order_amount_positive"),
            models.CheckConstraint(condition=Q(effective_from_session__gte=1), name="dose_order_session"),
            models.CheckConstraint(
                condition=Q(mg_per_kg__isnull=True) | Q(weight_kg__isnull=False), name="dose_order_per_kg_weight"
            ),
        ]

    def __str__(self) -> str:
        return f"dose order {self.amount_mg} mg from session {self.effective_from_session}"

    @property
    def is_override(self) -> bool:
        return bool(self.out_of_bounds_override_reason)


class CourseDecision(_AppendOnly):
    """A prescriber's decision about the course at a session (usually a review point), with its reason.

    ``evidence`` is the response status the measures showed when deciding (instrument, baseline, latest, status,
    reason), so the decision can be read later as it was made. ``from_status``/``to_status`` record the course move.
    """

    class Decision(models.TextChoices):
        CONTINUE = "continue", "Continue as planned"
        EXTEND_INDUCTION = "extend_induction", "Extend induction"
        MOVE_TO_MAINTENANCE = "move_to_maintenance", "Move to maintenance"
        TAPER = "taper", "Taper"
        PAUSE = "pause", "Pause"
        RESUME = "resume", "Resume"
        COMPLETE = "complete", "Complete the course"
        STOP = "stop", "Stop"

    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="decisions")
    at_session = models.PositiveSmallIntegerField(default=0, help_text="Sessions held or booked before the decision.")
    decision = models.CharField(max_length=24, choices=Decision.choices)
    reason = models.TextField()
    from_status = models.CharField(max_length=12, choices=Course.Status.choices)
    to_status = models.CharField(max_length=12, choices=Course.Status.choices)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(default=timezone.now)
    evidence = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-decided_at", "-id"]
        constraints: ClassVar = [models.CheckConstraint(condition=~Q(reason=""), name="decision_has_reason")]

    def __str__(self) -> str:
        return f"{self.get_decision_display()} at session {self.at_session}"


class MissedSession(_AppendOnly):
    """A dosing appointment of the course that was missed (no-show) or cancelled, and the protocol rule applied.

    ``appointment_ref`` is the ``scheduling.Appointment`` id (one record per appointment). ``rule`` is the clinical
    rule id applied, ``guidance`` what it says for this course week and phase, and ``suggestion`` a change for the
    prescriber to consider (empty when the rule says to carry on). ``worsening`` is the recorder's answer to "is the
    patient worse?" (None: not asked, e.g. during induction).
    """

    class Kind(models.TextChoices):
        MISSED = "missed", "Missed (did not attend)"
        CANCELLED = "cancelled", "Cancelled"

    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="missed_sessions")
    appointment_ref = models.PositiveBigIntegerField(unique=True)
    sequence_number = models.PositiveSmallIntegerField(null=True, blank=True)
    scheduled_for = models.DateTimeField()
    kind = models.CharField(max_length=10, choices=Kind.choices)
    course_week = models.PositiveSmallIntegerField(null=True, blank=True)
    phase = models.CharField(max_length=40, blank=True)
    worsening = models.BooleanField(null=True, blank=True)
    rule = models.CharField(max_length=80)
    guidance = models.TextField()
    suggestion = models.TextField(blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-scheduled_for", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} session {self.sequence_number or '?'} ({self.scheduled_for:%Y-%m-%d})"
