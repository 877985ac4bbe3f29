"""Clinician tasks: things a clinician must do for a patient, with a due time, closed only with a note."""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class TaskQuerySet(models.QuerySet["Task"]):
    def open(self) -> TaskQuerySet:
        return self.filter(status=Task.Status.OPEN)

    def for_sites(self, sites: Any) -> TaskQuerySet:
        return self.filter(site__in=sites)

    def overdue(self, now: Any = None) -> TaskQuerySet:
        return self.open().filter(due_at__lt=now or timezone.now())

    def by_urgency(self) -> TaskQuerySet:
        """Urgent first, then high, then routine; within a priority the soonest due first."""
        rank = models.Case(
            models.When(priority="urgent", then=0),
            models.When(priority="high", then=1),
            default=2,
            output_field=models.IntegerField(),
        )
        return self.annotate(priority_rank=rank).order_by("priority_rank", "due_at", "id")


class Task(models.Model):
    """A task for the clinical team about one patient (e.g. follow up a positive suicide screen).

    A suicide-risk task is raised automatically and is shown on every clinician's home screen until a clinician
    closes it with a documented assessment or action.
    """

    class Kind(models.TextChoices):
        SUICIDE_RISK = "suicide_risk", "Suicide-risk follow-up"
        INTAKE_REVIEW = "intake_review", "Review portal intake"
        ELIGIBILITY_SIGNOFF = "eligibility_signoff", "Sign eligibility"
        COURSE_REVIEW = "course_review", "Booster / course review"
        OTHER = "other", "Other"

    class Priority(models.TextChoices):
        URGENT = "urgent", "Urgent"
        HIGH = "high", "High"
        ROUTINE = "routine", "Routine"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        DONE = "done", "Done"

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="tasks")
    site = models.ForeignKey("accounts.Site", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=30, choices=Kind.choices)
    priority = models.CharField(max_length=10, choices=Priority.choices, default=Priority.ROUTINE)
    title = models.CharField(max_length=200)
    detail = models.TextField(blank=True)
    due_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    source_type = models.CharField(max_length=60, blank=True, help_text="What raised it, e.g. portal.intake")
    source_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    resolution = models.TextField(blank=True, help_text="The assessment or action that closes the task.")
    risk_tier = models.CharField(
        max_length=10,
        choices=[("low", "Low"), ("moderate", "Moderate"), ("high", "High")],
        blank=True,
        help_text="Suicide-risk follow-up: the tier the screens showed (clinical.risk_tier); sets the due time.",
    )
    escalated_at = models.DateTimeField(
        null=True, blank=True, help_text="When a missed high-risk follow-up was escalated (once)."
    )

    objects = TaskQuerySet.as_manager()

    class Meta:
        ordering = ["status", "due_at", "id"]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=Q(status="open") | (Q(closed_at__isnull=False) & ~Q(resolution="")),
                name="task_closed_with_resolution",
            ),
        ]
        indexes: ClassVar = [models.Index(fields=["site", "status", "due_at"], name="task_site_open_due")]

    def __str__(self) -> str:
        return self.title

    @property
    def is_overdue(self) -> bool:
        return self.status == self.Status.OPEN and self.due_at < timezone.now()


class FollowUpAssessment(models.Model):
    """The documented assessment that closed a suicide-risk follow-up: the risk level found, the actions taken (codes
    of ``clinical.FollowUpAction``) and a note. Written once, with the task's closing, in one transaction."""

    task = models.OneToOneField(Task, on_delete=models.PROTECT, related_name="followup_assessment")
    assessed_risk = models.CharField(
        max_length=10, choices=[("none", "None"), ("low", "Low"), ("moderate", "Moderate"), ("high", "High")]
    )
    actions = models.JSONField(help_text="FollowUpAction codes, e.g. ['safety_plan', 'crisis_resources'].")
    note = models.TextField()
    assessed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    assessed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints: ClassVar = [models.CheckConstraint(condition=~Q(note=""), name="followup_has_note")]

    def __str__(self) -> str:
        return f"follow-up assessment ({self.assessed_risk}) for task #{self.task_id}"
