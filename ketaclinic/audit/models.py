"""The append-only audit trail: who did or saw what, where, when, from which address, and with what outcome."""

from __future__ import annotations

from typing import Any, ClassVar, NoReturn

from django.conf import settings
from django.db import models
from django.utils import timezone


class AuditImmutableError(Exception):
    """Raised on any attempt to change or remove an audit event."""


class AuditEventQuerySet(models.QuerySet["AuditEvent"]):
    def update(self, **kwargs: Any) -> NoReturn:
        raise AuditImmutableError("Audit events are append-only; they cannot be updated.")

    def delete(self) -> NoReturn:
        raise AuditImmutableError("Audit events are append-only; they cannot be deleted.")

    def for_sites(self, sites: Any) -> AuditEventQuerySet:
        """Events at the given sites (and site-less events such as failed sign-ins of their staff)."""
        return self.filter(models.Q(site__in=sites) | models.Q(site__isnull=True, actor__sites__in=sites)).distinct()


class AuditEvent(models.Model):
    """One audited act. Rows are written in the same transaction as the change they record and never altered.

    ``patient_id`` is the patient whose data was read or written (empty for non-clinical events); ``detail`` holds
    identifiers and field names only, never health data, because audit exports leave the clinical record.
    """

    class Action(models.TextChoices):
        VIEW = "view", "Viewed"
        LIST = "list", "Listed"
        CREATE = "create", "Created"
        UPDATE = "update", "Updated"
        DELETE = "delete", "Deleted"
        SIGN = "sign", "Signed"
        OVERRIDE = "override", "Overrode a safety finding"
        EXPORT = "export", "Exported"
        LOGIN = "login", "Signed in"
        LOGOUT = "logout", "Signed out"
        LOGIN_FAILED = "login_failed", "Failed sign-in"
        IDLE_LOGOUT = "idle_logout", "Signed out after inactivity"

    class Outcome(models.TextChoices):
        SUCCESS = "success", "Success"
        DENIED = "denied", "Denied"
        NOT_FOUND = "not_found", "Not found"
        INVALID = "invalid", "Rejected input"
        ERROR = "error", "Error"

    occurred_at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="audit_events"
    )
    actor_username = models.CharField(max_length=150, blank=True, help_text="Kept as typed, also for failed sign-ins.")
    acting_role = models.CharField(max_length=120, blank=True)
    site = models.ForeignKey(
        "accounts.Site", null=True, blank=True, on_delete=models.PROTECT, related_name="audit_events"
    )
    action = models.CharField(max_length=20, choices=Action.choices)
    object_type = models.CharField(max_length=60, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    patient_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    path = models.CharField(max_length=300, blank=True)
    outcome = models.CharField(max_length=20, choices=Outcome.choices, default=Outcome.SUCCESS)
    detail = models.JSONField(default=dict, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes: ClassVar = [
            models.Index(fields=["patient_id", "occurred_at"], name="audit_patient_time"),
            models.Index(fields=["actor", "occurred_at"], name="audit_actor_time"),
            models.Index(fields=["site", "occurred_at"], name="audit_site_time"),
        ]

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d %H:%M:%S} {self.actor_username or '-'} {self.action} {self.object_type}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None and not self._state.adding:
            raise AuditImmutableError("Audit events are append-only; they cannot be updated.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise AuditImmutableError("Audit events are append-only; they cannot be deleted.")
