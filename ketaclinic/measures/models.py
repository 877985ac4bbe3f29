"""Questionnaire responses: item-level answers scored by ``clinical.score``, LOINC-coded, patient or clinician."""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class ResponseQuerySet(models.QuerySet["QuestionnaireResponse"]):
    def latest_per_instrument(self) -> list[QuestionnaireResponse]:
        """The most recent response for each instrument, newest first."""
        seen: dict[str, QuestionnaireResponse] = {}
        for response in self.order_by("-completed_at", "-id"):
            seen.setdefault(response.instrument, response)
        return list(seen.values())


class QuestionnaireResponse(models.Model):
    """One completed instrument: the answers as given, and the score the clinical core computed from them.

    ``respondent`` keeps patient-reported and clinician-rated measures apart. ``flags`` carries clinical flags such
    as ``suicidal_ideation`` that drive follow-up tasks. ``submission_key`` makes a resent form store once.
    """

    class Respondent(models.TextChoices):
        PATIENT = "patient", "Patient-reported"
        CLINICIAN = "clinician", "Clinician-rated"

    class Channel(models.TextChoices):
        PORTAL = "portal", "Portal"
        CLINIC = "clinic", "In clinic"

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="questionnaire_responses")
    site = models.ForeignKey("accounts.Site", on_delete=models.PROTECT, related_name="+")
    instrument = models.CharField(max_length=20, db_index=True)
    answers = models.JSONField(help_text="Item id → answer, exactly as given.")
    total = models.IntegerField(null=True, blank=True)
    band = models.CharField(max_length=40, blank=True)
    flags = models.JSONField(default=list, blank=True)
    subscores = models.JSONField(default=dict, blank=True)
    loinc_panel = models.CharField(max_length=20, blank=True)
    loinc_total = models.CharField(max_length=20, blank=True)
    respondent = models.CharField(max_length=10, choices=Respondent.choices)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    completed_at = models.DateTimeField(default=timezone.now)
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    submission_key = models.CharField(max_length=64, unique=True, null=True, blank=True)
    course = models.ForeignKey(
        "courses.Course",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="responses",
        help_text="The course running when it was completed (for outcomes by protocol and indication).",
    )
    sitting = models.CharField(
        max_length=40,
        blank=True,
        help_text="Responses given together (one portal set); their suicide screens are triaged together.",
    )

    objects = ResponseQuerySet.as_manager()

    class Meta:
        ordering = ["-completed_at", "-id"]
        indexes: ClassVar = [
            models.Index(fields=["patient", "instrument", "completed_at"], name="response_patient_instr_time"),
        ]

    def __str__(self) -> str:
        return f"{self.instrument} {self.total if self.total is not None else self.band} ({self.completed_at:%Y-%m-%d})"

    @property
    def is_positive_suicide_screen(self) -> bool:
        return "suicidal_ideation" in self.flags or any(str(f).startswith("cssrs_risk_") for f in self.flags)

    def as_dict(self) -> dict[str, Any]:
        return {"instrument": self.instrument, "total": self.total, "band": self.band, "flags": list(self.flags)}


class MeasureDue(models.Model):
    """One questionnaire due for a course at one timepoint (``clinical.measure_schedule``), stored so that delivery,
    reminders and completion rates are plain rows.

    ``key`` is the schedule's stable key (timepoint, session, instrument): regenerating after a session moved updates
    the times of the same row; a cancelled session's pending rows are deleted. A completed row (``response`` set) is
    kept whatever happens to its session later. ``delivery`` says who fills it in: the patient through the portal or
    staff in the clinic.
    """

    class Timepoint(models.TextChoices):
        BASELINE = "baseline", "Baseline"
        PRE_SESSION = "pre_session", "Before the session"
        POST_24H = "post_24h", "24 h after the dose"
        POST_7D = "post_7d", "7 days after the dose"
        WEEKLY = "weekly", "Weekly (induction)"
        FORTNIGHTLY = "fortnightly", "Every 2 weeks (maintenance)"
        PERIODIC = "periodic", "Periodic"

    class Delivery(models.TextChoices):
        PORTAL = "portal", "Patient (portal)"
        CLINIC = "clinic", "Staff (in clinic)"

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="measures_due")
    site = models.ForeignKey("accounts.Site", on_delete=models.PROTECT, related_name="+")
    course = models.ForeignKey("courses.Course", on_delete=models.PROTECT, related_name="measures_due")
    key = models.CharField(max_length=80)
    instrument = models.CharField(max_length=20)
    timepoint = models.CharField(max_length=12, choices=Timepoint.choices)
    delivery = models.CharField(max_length=10, choices=Delivery.choices)
    opens_at = models.DateTimeField()
    due_at = models.DateTimeField()
    closes_at = models.DateTimeField(null=True, blank=True)
    appointment_ref = models.PositiveBigIntegerField(null=True, blank=True)
    session_number = models.PositiveSmallIntegerField(null=True, blank=True)
    response = models.OneToOneField(
        QuestionnaireResponse, null=True, blank=True, on_delete=models.PROTECT, related_name="due"
    )
    notified_at = models.DateTimeField(null=True, blank=True, help_text="When the portal link for it was e-mailed.")
    reminded_at = models.DateTimeField(null=True, blank=True, help_text="When the reminder e-mail went out.")

    class Meta:
        ordering = ["due_at", "instrument", "id"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["course", "key"], name="measure_due_course_key"),
            models.CheckConstraint(condition=Q(opens_at__lte=models.F("due_at")), name="measure_due_opens_first"),
        ]
        indexes: ClassVar = [
            models.Index(fields=["patient", "due_at"], name="measure_due_patient_time"),
            models.Index(fields=["delivery", "opens_at"], name="measure_due_delivery_open"),
        ]

    def __str__(self) -> str:
        return f"{self.instrument} {self.get_timepoint_display()} ({self.due_at:%Y-%m-%d})"

    @property
    def instrument_name(self) -> str:
        from ketaclinic import clinical

        return clinical.get_instrument(self.instrument).name

    def is_open_at(self, now: Any) -> bool:
        """Whether it may be answered at ``now``: open, not closed, not yet answered."""
        return self.response_id is None and self.opens_at <= now and (self.closes_at is None or now < self.closes_at)

    def state_at(self, now: Any) -> str:
        """``done``, ``open``, ``upcoming`` or ``missed`` at ``now``."""
        if self.response_id is not None:
            return "done"
        if self.closes_at is not None and now >= self.closes_at:
            return "missed"
        return "open" if self.opens_at <= now else "upcoming"
