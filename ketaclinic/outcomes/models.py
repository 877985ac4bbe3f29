"""Rollups the clinic dashboard reads: one row per course and one per dosed session, derived from the clinical record.

They hold no information of their own (hence no database foreign-key constraints: nothing to protect, and they
would only slow the rewrites): :mod:`ketaclinic.outcomes.rollup` rebuilds any of them from the measures,
courses and session-day rows at any time. Writes to those rows queue the patient in :class:`RefreshQueue` (same
transaction, see :mod:`ketaclinic.outcomes.signals`); the ``outcomes.refresh`` job and the dashboard drain the queue
by recomputing only the queued patients' courses.
"""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.utils import timezone

from ketaclinic.outcomes.definitions import NOT_EVALUABLE, measure_name


class CourseOutcome(models.Model):
    """A course's outcome on its indication's primary instrument (see :mod:`ketaclinic.outcomes.definitions`).

    ``instrument`` is the measure the course was evaluated on (``phq9`` for depression, ``gad7`` for anxiety); it is
    empty for an indication without a sourced response definition, whose course is never evaluable
    (:attr:`not_evaluable_reason` says why). ``eoi_response``/``eoi_remission`` are ``None`` when the course is not
    evaluable at the end of induction (no measure, no baseline, end of induction not reached, or no assessment by
    then). ``followup_days`` and ``lost_response`` feed
    the Kaplan–Meier curve of time from first benefit to loss of response; both are empty for courses without
    benefit.
    """

    course = models.OneToOneField(
        "courses.Course", primary_key=True, on_delete=models.CASCADE, related_name="+", db_constraint=False
    )
    patient = models.ForeignKey("patients.Patient", on_delete=models.CASCADE, related_name="+", db_constraint=False)
    site = models.ForeignKey("accounts.Site", on_delete=models.CASCADE, related_name="+", db_constraint=False)
    protocol = models.CharField(max_length=40)
    route = models.CharField(max_length=20)
    indication = models.CharField(max_length=20)
    instrument = models.CharField(
        max_length=20, blank=True, help_text="The measure the course is evaluated on; empty: no primary outcome."
    )
    status = models.CharField(max_length=12)
    first_dose_at = models.DateTimeField(null=True, blank=True)
    sessions = models.PositiveSmallIntegerField(default=0)
    baseline_score = models.SmallIntegerField(null=True, blank=True)
    eoi_at = models.DateTimeField(null=True, blank=True, help_text="The end-of-induction session.")
    eoi_score = models.SmallIntegerField(null=True, blank=True)
    eoi_response = models.BooleanField(null=True, blank=True)
    eoi_remission = models.BooleanField(null=True, blank=True)
    first_response_at = models.DateTimeField(null=True, blank=True)
    sessions_to_response = models.PositiveSmallIntegerField(null=True, blank=True)
    followup_days = models.PositiveIntegerField(null=True, blank=True)
    lost_response = models.BooleanField(default=False)
    loss_at = models.DateTimeField(null=True, blank=True)
    # What an appended assessment needs to be folded in without re-reading the course (see rollup.refresh_pending).
    last_dose_at = models.DateTimeField(null=True, blank=True)
    last_assessment_at = models.DateTimeField(null=True, blank=True, help_text="The latest follow-up assessment.")
    without_benefit = models.PositiveSmallIntegerField(default=0, help_text="Assessments since the last benefit.")
    refreshed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes: ClassVar = [
            models.Index(fields=["first_dose_at"], name="courseoutcome_first_dose"),
            models.Index(fields=["site", "first_dose_at"], name="courseoutcome_site_first_dose"),
        ]

    def __str__(self) -> str:
        return f"Outcome of course {self.course_id}"

    @property
    def measure(self) -> str:
        """The display name of the measure the course is evaluated on (``GAD-7``); empty without one."""
        return measure_name(self.instrument)

    @property
    def not_evaluable_reason(self) -> str | None:
        """Why the course has no response or remission at all (its indication has no primary outcome), else ``None``."""
        return None if self.instrument else NOT_EVALUABLE.get(self.indication, "no primary outcome for this indication")


class SessionOutcome(models.Model):
    """A dosed session as the dashboard counts it: dose, alerts, adverse events and peak dissociation.

    ``dose_unit``/``dose_value`` is the dose group (``mg/kg`` for per-kilogram protocols, else ``mg``);
    ``dissociation_max`` is the session's highest CADSS (or CADSS-6, named in ``dissociation_instrument``) total.
    """

    session = models.OneToOneField(
        "dosing.DosingSession", primary_key=True, on_delete=models.CASCADE, related_name="+", db_constraint=False
    )
    course = models.ForeignKey("courses.Course", on_delete=models.CASCADE, related_name="+", db_constraint=False)
    patient = models.ForeignKey("patients.Patient", on_delete=models.CASCADE, related_name="+", db_constraint=False)
    site = models.ForeignKey("accounts.Site", on_delete=models.CASCADE, related_name="+", db_constraint=False)
    protocol = models.CharField(max_length=40)
    route = models.CharField(max_length=20)
    indication = models.CharField(max_length=20)
    dosed_at = models.DateTimeField()
    sequence = models.PositiveSmallIntegerField()
    dose_unit = models.CharField(max_length=6)
    dose_value = models.DecimalField(max_digits=7, decimal_places=3)
    alerts = models.PositiveSmallIntegerField(default=0)
    urgent_alerts = models.PositiveSmallIntegerField(default=0)
    adverse_events = models.PositiveSmallIntegerField(default=0)
    serious_adverse_events = models.PositiveSmallIntegerField(default=0)
    dissociation_instrument = models.CharField(max_length=10, blank=True)
    dissociation_max = models.DecimalField(max_digits=6, decimal_places=1, null=True, blank=True)

    class Meta:
        indexes: ClassVar = [
            models.Index(fields=["dosed_at"], name="sessionoutcome_dosed_at"),
            models.Index(fields=["site", "dosed_at"], name="sessionoutcome_site_dosed_at"),
            models.Index(fields=["course"], name="sessionoutcome_course"),
        ]

    def __str__(self) -> str:
        return f"Outcome of session {self.session_id}"


class RefreshQueue(models.Model):
    """A patient whose rollups are out of date (a measure, course or session-day row of theirs was written).

    ``response_id`` names a newly added questionnaire response: the refresh folds it into the course's rollup when
    it comes after everything already counted; any other change (``response_id`` empty) recomputes the patient's
    courses.
    """

    patient_id = models.PositiveBigIntegerField(db_index=True)
    response_id = models.PositiveBigIntegerField(null=True, blank=True)
    queued_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"Refresh patient {self.patient_id}"
