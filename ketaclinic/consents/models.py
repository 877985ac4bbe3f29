"""Consents: what a patient agreed to, when, how (in clinic or through the portal), and the signed PDF."""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

from django.conf import settings
from django.db import models


class Consent(models.Model):
    """A signed consent: what was agreed, by whom, when, where, and the PDF of the signed text."""

    class Kind(models.TextChoices):
        KETAMINE_TREATMENT = "ketamine_treatment", "Ketamine treatment (off-label use of racemic ketamine)"
        ESKETAMINE_REMS = "esketamine_rems", "SPRAVATO REMS patient enrolment"
        PSYCHOTHERAPY = "psychotherapy", "Psychotherapy and ketamine-assisted psychotherapy"

    class Channel(models.TextChoices):
        CLINIC = "clinic", "Signed in clinic"
        PORTAL = "portal", "Signed through the portal"

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="consents")
    site = models.ForeignKey("accounts.Site", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=30, choices=Kind.choices)
    text_version = models.CharField(max_length=20)
    signed_name = models.CharField(max_length=160)
    signed_at = models.DateTimeField()
    signed_ip = models.GenericIPAddressField(null=True, blank=True)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    witnessed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_reason = models.CharField(max_length=200, blank=True)
    pdf = models.FileField(upload_to="consents/%Y/%m/", blank=True)
    pdf_sha256 = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-signed_at"]
        indexes: ClassVar = [models.Index(fields=["patient", "kind", "signed_at"], name="consent_patient_kind")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} signed {self.signed_at:%Y-%m-%d}"

    def is_valid_on(self, moment: dt.datetime) -> bool:
        """Signed, not revoked, and not expired at ``moment``."""
        if self.revoked_at is not None and self.revoked_at <= moment:
            return False
        return self.expires_at is None or moment < self.expires_at
