"""Patient querysets: what a user may see, and the usual narrowing."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from django.db import models
from django.db.models import Q

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

    def search(
        self, text: str = "", *, date_of_birth: dt.date | None = None, status: str = "", mrn: str = ""
    ) -> PatientQuerySet:
        """Patients matching every word of ``text`` in a legal or preferred name or the MRN (partial, any case),
        and the exact date of birth, status and MRN when given."""
        found = self
        for word in text.split()[:5]:
            found = found.filter(
                Q(legal_last_name__icontains=word)
                | Q(legal_first_name__icontains=word)
                | Q(preferred_name__icontains=word)
                | Q(mrn__icontains=word)
            )
        if mrn.strip():
            found = found.filter(mrn__iexact=mrn.strip())
        if date_of_birth is not None:
            found = found.filter(date_of_birth=date_of_birth)
        if status:
            found = found.filter(status=status)
        return found

    def possible_duplicates(self, *, site: Any, legal_last_name: str, date_of_birth: dt.date) -> PatientQuerySet:
        """Patients at ``site`` with the same date of birth and last name (any case): perhaps the same person."""
        return self.filter(site=site, date_of_birth=date_of_birth, legal_last_name__iexact=legal_last_name.strip())


class ChartEntryQuerySet(models.QuerySet[Any]):
    def current(self) -> ChartEntryQuerySet:
        """Entries that count in the chart: not removed, and accepted if the patient reported them."""
        return self.filter(removed_at__isnull=True).exclude(source="patient", accepted_at__isnull=True)

    def pending_review(self) -> ChartEntryQuerySet:
        """Patient-reported entries a clinician has not yet accepted or rejected."""
        return self.filter(removed_at__isnull=True, source="patient", accepted_at__isnull=True)
