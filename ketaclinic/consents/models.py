"""Consents: what a patient agreed to, when, how (in clinic or through the portal), and the signed PDF."""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q

from ketaclinic.consents.querysets import ConsentQuerySet


class Consent(models.Model):
    """A signed consent: what was agreed, by whom, when, where, and the PDF of the signed text.

    A row is written once, when the patient signs, and never changed afterwards except to record its revocation: the
    PDF (with its SHA-256) is the document the patient saw and signed. A later signature of the same kind is a new
    row; the most recent valid one is what counts (``actions.valid_consent``).
    """

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
    text_version = models.CharField(max_length=20, help_text="Dated version of the consent text that was signed.")
    signed_name = models.CharField(max_length=160, help_text="The full name the patient typed as their signature.")
    signed_at = models.DateTimeField()
    signed_ip = models.GenericIPAddressField(null=True, blank=True)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    witnessed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The member of staff who ran the signing (none when the patient signed through the portal).",
    )
    expires_at = models.DateTimeField(null=True, blank=True, help_text="None: valid until revoked.")
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    revoked_reason = models.CharField(max_length=200, blank=True)
    pdf = models.FileField(upload_to="consents/%Y/%m/", blank=True)
    pdf_sha256 = models.CharField(max_length=64, blank=True)

    objects = ConsentQuerySet.as_manager()

    class Meta:
        ordering = ["-signed_at", "-id"]
        indexes: ClassVar = [models.Index(fields=["patient", "kind", "signed_at"], name="consent_patient_kind")]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=Q(expires_at__isnull=True) | Q(expires_at__gt=models.F("signed_at")),
                name="consent_expires_after_signing",
            ),
            models.CheckConstraint(
                condition=Q(revoked_at__isnull=True) | ~Q(revoked_reason=""), name="consent_revoked_with_reason"
            ),
            models.CheckConstraint(
                condition=Q(channel="portal") | Q(witnessed_by__isnull=False), name="consent_clinic_witnessed"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} signed {self.signed_at:%Y-%m-%d}"

    def is_valid_on(self, moment: dt.datetime) -> bool:
        """Signed by ``moment``, not revoked by then, and not expired at ``moment``."""
        if self.signed_at > moment:
            return False
        if self.revoked_at is not None and self.revoked_at <= moment:
            return False
        return self.expires_at is None or moment < self.expires_at

    def state_on(self, moment: dt.datetime) -> str:
        """``valid``, ``expired``, ``revoked`` or ``pending`` (signed later than ``moment``)."""
        if self.revoked_at is not None and self.revoked_at <= moment:
            return "revoked"
        if self.signed_at > moment:
            return "pending"
        if self.expires_at is not None and moment >= self.expires_at:
            return "expired"
        return "valid"
