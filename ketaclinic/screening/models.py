"""Eligibility screening: what the clinical core decided from the chart, and what a prescriber signed.

An :class:`EligibilityAssessment` is a snapshot: the inputs it was run on, the engine's decision and every finding
with its sources, frozen at the moment it was run. Signing makes it immutable; a later signed assessment for the same
route supersedes it (the only change a signed row may still undergo). :class:`ChartReview` records that a clinician
reviewed a chart section and found nothing to record ("reviewed: none"), which the patient record has no field for.
"""

from __future__ import annotations

from typing import Any, ClassVar, NoReturn

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from ketaclinic.clinical import Decision, Indication, Route, Severity


class ImmutableAssessmentError(Exception):
    """Raised on any attempt to change or delete a signed (or superseded) assessment."""


class ChartReview(models.Model):
    """A clinician's statement that a chart section was reviewed and holds nothing ("reviewed: none").

    Screening reads a section with counted rows as those rows; an empty section counts as "none" only when a review
    of it is at least as recent as the last removal of a row from it, and as "not recorded" otherwise. Rows are
    appended, never changed: each review is a new row.
    """

    class Section(models.TextChoices):
        CONDITIONS = "conditions", "Medical and psychiatric conditions"
        MEDICATIONS = "medications", "Current medications"
        SUBSTANCE_USE = "substance_use", "Substance use"
        ANTIDEPRESSANT_TRIALS = "antidepressant_trials", "Antidepressant trials in the current episode"

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="chart_reviews")
    site = models.ForeignKey("accounts.Site", on_delete=models.PROTECT, related_name="+")
    section = models.CharField(max_length=30, choices=Section.choices)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reviewed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-reviewed_at", "-id"]
        indexes: ClassVar = [models.Index(fields=["patient", "section", "reviewed_at"], name="chartreview_latest")]

    def __str__(self) -> str:
        return f"{self.get_section_display()}: reviewed, none ({self.reviewed_at:%Y-%m-%d})"


#: Routes a course can use (the clinical core also knows oral and rectal, for dose equivalence only).
ROUTE_CHOICES = [
    (Route.IV.value, "IV infusion (racemic ketamine)"),
    (Route.IM.value, "IM injection (racemic ketamine)"),
    (Route.SUBLINGUAL.value, "Sublingual (racemic ketamine)"),
    (Route.INTRANASAL.value, "Intranasal racemic ketamine"),
    (Route.ESKETAMINE_NASAL.value, "Esketamine nasal spray (SPRAVATO)"),
]
INDICATION_CHOICES = [
    (Indication.TRD.value, "Treatment-resistant depression (TRD)"),
    (Indication.MDSI.value, "Depression with acute suicidal ideation or behaviour (MDSI)"),
]
DECISION_LABELS = {
    Decision.ELIGIBLE.value: "Eligible",
    Decision.ELIGIBLE_WITH_PRECAUTIONS.value: "Eligible with precautions",
    Decision.INCOMPLETE.value: "Incomplete — cannot be approved yet",
    Decision.NOT_ELIGIBLE.value: "Not eligible",
}
SEVERITY_LABELS = {
    Severity.CONTRAINDICATION.value: "Contraindications",
    Severity.EXCLUSION.value: "Exclusions",
    Severity.MISSING.value: "Missing information",
    Severity.PRECAUTION.value: "Precautions",
    Severity.INTERACTION.value: "Interactions",
    Severity.INFO.value: "For information",
}
#: Findings a prescriber may carry to every session as precautions (plus the ones an override sets aside).
CARRIED_SEVERITIES = frozenset({Severity.PRECAUTION.value, Severity.INTERACTION.value})
RULING_OUT_SEVERITIES = frozenset({Severity.CONTRAINDICATION.value, Severity.EXCLUSION.value})


class AssessmentQuerySet(models.QuerySet["EligibilityAssessment"]):
    def signed(self) -> AssessmentQuerySet:
        """Assessments in force: signed and not superseded."""
        return self.filter(status=EligibilityAssessment.Status.SIGNED)

    def drafts(self) -> AssessmentQuerySet:
        return self.filter(status=EligibilityAssessment.Status.DRAFT)

    def update(self, **kwargs: Any) -> int:
        if self.exclude(status=EligibilityAssessment.Status.DRAFT).exists():
            raise ImmutableAssessmentError("Signed assessments cannot be changed in bulk.")
        return super().update(**kwargs)

    def delete(self) -> NoReturn:
        raise ImmutableAssessmentError("Eligibility assessments are part of the clinical record; none is deleted.")


class EligibilityAssessment(models.Model):
    """One eligibility check of a patient for a route and an indication, and the prescriber's signed decision.

    ``inputs`` is the JSON snapshot of every chart value the engine saw; ``decision``, ``findings`` (code, severity,
    message, citations, evidence), ``missing``, ``trd`` and ``thase_rush_stage`` are the engine's output. The engine
    decision ``incomplete`` can never be approved. ``prescriber_decision`` is the signed outcome; approving a
    ``not_eligible`` assessment is an override (``overridden``) with a written ``reason``; ``precautions``
    ({code, message}) follow the patient to every session. Signed rows never change except to become superseded by a
    later signed assessment for the same route (``supersedes`` on the newer row points back).
    """

    class Status(models.TextChoices):
        DRAFT = "draft", "Awaiting signature"
        SIGNED = "signed", "Signed"
        SUPERSEDED = "superseded", "Superseded"

    class PrescriberDecision(models.TextChoices):
        APPROVE = "approve", "Approve"
        APPROVE_WITH_PRECAUTIONS = "approve_with_precautions", "Approve with precautions"
        DECLINE = "decline", "Decline"

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="eligibility_assessments")
    site = models.ForeignKey("accounts.Site", on_delete=models.PROTECT, related_name="+")
    route = models.CharField(max_length=20, choices=ROUTE_CHOICES)
    indication = models.CharField(max_length=10, choices=INDICATION_CHOICES, default=Indication.TRD.value)
    inputs = models.JSONField(help_text="Snapshot of every chart value the engine used.")
    decision = models.CharField(max_length=30, choices=list(DECISION_LABELS.items()))
    findings = models.JSONField(default=list)
    missing = models.JSONField(default=list)
    trd = models.JSONField(default=dict)
    thase_rush_stage = models.PositiveSmallIntegerField(default=0)
    pending_patient_reported = models.PositiveIntegerField(
        default=0, help_text="Patient-reported chart rows awaiting review when the check ran (not used)."
    )
    rules_version = models.CharField(max_length=64, help_text="Fingerprint of the rule catalogue that decided.")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.DRAFT)
    prescriber_decision = models.CharField(max_length=30, choices=PrescriberDecision.choices, blank=True)
    overridden = models.BooleanField(default=False, help_text="Approved although the engine said not eligible.")
    reason = models.TextField(blank=True, help_text="The prescriber's written reason (decline, override).")
    precautions = models.JSONField(default=list, blank=True, help_text="[{code, message}] carried to every session.")
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    signed_at = models.DateTimeField(null=True, blank=True)
    supersedes = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="superseded_by"
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    objects = AssessmentQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes: ClassVar = [models.Index(fields=["patient", "route", "status"], name="assessment_patient_route")]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=Q(status="draft")
                | (Q(signed_by__isnull=False) & Q(signed_at__isnull=False) & ~Q(prescriber_decision="")),
                name="assessment_signed_complete",
            ),
            models.CheckConstraint(
                condition=~Q(status="draft") | (Q(signed_by__isnull=True) & Q(prescriber_decision="")),
                name="assessment_draft_unsigned",
            ),
            models.CheckConstraint(
                condition=~Q(decision="incomplete")
                | ~Q(prescriber_decision__in=["approve", "approve_with_precautions"]),
                name="assessment_incomplete_not_approved",
            ),
            models.CheckConstraint(
                condition=Q(overridden=False) | ~Q(reason=""),
                name="assessment_override_has_reason",
            ),
            models.UniqueConstraint(
                fields=["patient", "route"], condition=Q(status="signed"), name="assessment_one_signed_per_route"
            ),
        ]

    def __str__(self) -> str:
        return f"eligibility {self.route}/{self.indication} {self.created_at:%Y-%m-%d} ({self.status})"

    # --- Immutability ----------------------------------------------------------------------------------------------

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Save a draft freely; a signed row may only become superseded (``update_fields=["status"]``)."""
        if self.pk is not None and not self._state.adding:
            stored = type(self).objects.filter(pk=self.pk).values_list("status", flat=True).first()
            if stored == self.Status.SUPERSEDED:
                raise ImmutableAssessmentError("A superseded assessment cannot be changed.")
            if stored == self.Status.SIGNED:
                update_fields = kwargs.get("update_fields")
                if not (
                    update_fields is not None
                    and set(update_fields) == {"status"}
                    and self.status == self.Status.SUPERSEDED
                ):
                    raise ImmutableAssessmentError(
                        "A signed assessment cannot be changed; run a new check, which supersedes it when signed."
                    )
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise ImmutableAssessmentError("Eligibility assessments are part of the clinical record; none is deleted.")

    # --- Reading -----------------------------------------------------------------------------------------------------

    @property
    def is_signed(self) -> bool:
        return self.status != self.Status.DRAFT

    @property
    def is_approved(self) -> bool:
        return self.prescriber_decision in (
            self.PrescriberDecision.APPROVE,
            self.PrescriberDecision.APPROVE_WITH_PRECAUTIONS,
        )

    @property
    def decision_label(self) -> str:
        return DECISION_LABELS.get(self.decision, self.decision)

    @property
    def route_label(self) -> str:
        return dict(ROUTE_CHOICES).get(self.route, self.route)

    @property
    def indication_label(self) -> str:
        return dict(INDICATION_CHOICES).get(self.indication, self.indication)

    def findings_by_severity(self) -> list[tuple[str, str, list[dict[str, Any]]]]:
        """(severity, label, findings) in the engine's order, most restrictive first; empty groups left out."""
        groups: list[tuple[str, str, list[dict[str, Any]]]] = []
        for severity in Severity:
            items = [f for f in self.findings if f.get("severity") == severity.value]
            if items:
                groups.append((severity.value, SEVERITY_LABELS[severity.value], items))
        return groups

    def carryable_findings(self) -> list[dict[str, Any]]:
        """Findings a prescriber can carry as precautions: precautions, interactions and, for an override, the
        contraindications and exclusions being set aside (the session team must know about them)."""
        kinds = set(CARRIED_SEVERITIES)
        if self.decision == Decision.NOT_ELIGIBLE:
            kinds |= RULING_OUT_SEVERITIES
        return [{"code": f["code"], "message": f["message"]} for f in self.findings if f.get("severity") in kinds]

    def ruling_out_findings(self) -> list[dict[str, Any]]:
        return [f for f in self.findings if f.get("severity") in RULING_OUT_SEVERITIES]
