"""Questionnaire responses: item-level answers scored by ``clinical.score``, LOINC-coded, patient or clinician."""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.db import models
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
