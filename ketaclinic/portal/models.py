"""Patient portal: expiring single-use links, intake progress, and submitted intakes awaiting staff review.

A portal link is the patient's only credential (no password), so only the SHA-256 of its token is stored: a copy of
the database does not let anyone open a patient's link. A link is spent once the patient submits; until then they
may reopen it and carry on where they stopped, until it expires.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class PortalLink(models.Model):
    """A secure link sent to one patient for one purpose (intake, a questionnaire or a consent).

    ``token_hash`` is the SHA-256 hex digest of the random token in the URL; the token itself is shown or e-mailed
    once and never stored. The link's state is derived from its timestamps (see :attr:`state`).
    """

    class Purpose(models.TextChoices):
        INTAKE = "intake", "Intake form"
        QUESTIONNAIRE = "questionnaire", "Questionnaire"
        CONSENT = "consent", "Consent"

    class State(models.TextChoices):
        SENT = "sent", "Sent"
        OPENED = "opened", "Opened"
        COMPLETED = "completed", "Completed"
        EXPIRED = "expired", "Expired"
        REVOKED = "revoked", "Revoked"

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="portal_links")
    site = models.ForeignKey("accounts.Site", on_delete=models.PROTECT, related_name="+")
    purpose = models.CharField(max_length=20, choices=Purpose.choices)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    sent_to = models.EmailField(blank=True, help_text="The address the link was e-mailed to (empty: handed over).")
    first_opened_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    renewal_requested_at = models.DateTimeField(
        null=True, blank=True, help_text="When the holder of a spent or expired link asked for a new one."
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints: ClassVar = [
            models.CheckConstraint(condition=Q(expires_at__gt=models.F("created_at")), name="portal_link_expiry"),
        ]
        indexes: ClassVar = [models.Index(fields=["patient", "created_at"], name="portal_link_patient_time")]

    def __str__(self) -> str:
        return f"{self.get_purpose_display()} link #{self.pk}"

    def state_at(self, now: Any) -> str:
        """The link's state at ``now``: revoked and completed win over expiry, which wins over opened."""
        if self.revoked_at is not None:
            return self.State.REVOKED
        if self.completed_at is not None:
            return self.State.COMPLETED
        if self.expires_at <= now:
            return self.State.EXPIRED
        if self.first_opened_at is not None:
            return self.State.OPENED
        return self.State.SENT

    @property
    def state(self) -> str:
        return self.state_at(timezone.now())

    @property
    def state_label(self) -> str:
        return str(self.State(self.state).label)

    @property
    def is_usable(self) -> bool:
        return self.state in (self.State.SENT, self.State.OPENED)


class IntakeDraft(models.Model):
    """The patient's answers so far, step by step, so that reopening the link resumes where they stopped.

    ``answers`` maps a step name to the cleaned answers of that step; ``done`` lists the steps completed, in order.
    Questionnaires are stored as responses (measures) the moment their step is sent, not only here.
    """

    link = models.OneToOneField(PortalLink, on_delete=models.CASCADE, related_name="draft")
    answers = models.JSONField(default=dict, blank=True)
    done = models.JSONField(default=list, blank=True)
    safety_shown_at = models.DateTimeField(
        null=True, blank=True, help_text="When crisis resources were shown after a positive suicide screen."
    )
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"intake draft for link #{self.link_id}"


class IntakeSubmission(models.Model):
    """A submitted intake awaiting (or past) staff review.

    The patient-reported chart rows it created are listed in ``entries`` (kind and id); they count in the chart only
    once a clinician accepts them. ``contact_changes`` holds the patient's proposed corrections to their contact
    details as ``{field: {"old": …, "new": …}}``; ``contact_decisions`` records what staff did with each.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Awaiting review"
        REVIEWED = "reviewed", "Reviewed"

    link = models.OneToOneField(PortalLink, on_delete=models.PROTECT, related_name="submission")
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="intake_submissions")
    site = models.ForeignKey("accounts.Site", on_delete=models.PROTECT, related_name="+")
    submitted_at = models.DateTimeField(default=timezone.now)
    entries = models.JSONField(default=list, blank=True)
    contact_changes = models.JSONField(default=dict, blank=True)
    contact_decisions = models.JSONField(default=dict, blank=True)
    task = models.ForeignKey(
        "tasks.Task", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", help_text="The review task."
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-submitted_at", "-id"]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=Q(status="pending") | Q(reviewed_at__isnull=False), name="intake_reviewed_has_time"
            ),
        ]

    def __str__(self) -> str:
        return f"intake #{self.pk} ({self.get_status_display()})"

    @property
    def pending_contact_fields(self) -> list[str]:
        """Proposed contact changes staff have neither accepted nor ignored."""
        return [name for name in self.contact_changes if name not in self.contact_decisions]
