"""Patient querysets: what a user may see, and the usual narrowing."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import models

if TYPE_CHECKING:
    from ketaclinic.patients.models import Patient  # noqa: F401


class PatientQuerySet(models.QuerySet["Patient"]):
    def visible_to(self, user: Any) -> PatientQuerySet:
        """Patients at the user's active sites whom their roles let them see; none otherwise (fail closed)."""
        from ketaclinic.accounts.access import sites_for
        from ketaclinic.accounts.roles import Perm

        if user is None or not getattr(user, "is_authenticated", False) or not user.can(Perm.VIEW_DEMOGRAPHICS):
            return self.none()
        return self.filter(site__in=sites_for(user))

    def at_site(self, site: Any) -> PatientQuerySet:
        return self.filter(site=site)


class ChartEntryQuerySet(models.QuerySet[Any]):
    def current(self) -> ChartEntryQuerySet:
        """Entries that count in the chart: not removed, and accepted if the patient reported them."""
        return self.filter(removed_at__isnull=True).exclude(source="patient", accepted_at__isnull=True)

    def pending_review(self) -> ChartEntryQuerySet:
        """Patient-reported entries a clinician has not yet accepted or rejected."""
        return self.filter(removed_at__isnull=True, source="patient", accepted_at__isnull=True)
