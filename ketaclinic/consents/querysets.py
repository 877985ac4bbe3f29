"""Consent querysets: which consents hold at a moment, and the state of each kind for one patient."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db import models
from django.db.models import Q

if TYPE_CHECKING:
    from ketaclinic.consents.models import Consent

#: A valid consent that ends within this time shows as "expiring" so staff renew it at the next visit.
EXPIRING_WITHIN = dt.timedelta(days=30)


@dataclass(frozen=True)
class KindStatus:
    """Where a patient stands for one kind of consent at a moment.

    ``state`` is ``valid``, ``expiring`` (valid, ends within 30 days), ``expired``, ``revoked`` or ``missing``;
    ``consent`` is the valid consent, else the latest one signed (None when missing).
    """

    kind: str
    label: str
    state: str
    consent: Consent | None

    @property
    def is_valid(self) -> bool:
        return self.state in ("valid", "expiring")


class ConsentQuerySet(models.QuerySet["Consent"]):
    def valid_on(self, moment: dt.datetime) -> ConsentQuerySet:
        """Consents signed by ``moment``, not revoked by then and not yet expired."""
        return self.filter(
            Q(signed_at__lte=moment),
            Q(revoked_at__isnull=True) | Q(revoked_at__gt=moment),
            Q(expires_at__isnull=True) | Q(expires_at__gt=moment),
        )

    def status_by_kind(self, moment: dt.datetime) -> list[KindStatus]:
        """One :class:`KindStatus` per consent kind (in catalogue order), from one query over these consents."""
        from ketaclinic.consents.models import Consent

        signed = [c for c in self.order_by("-signed_at", "-id") if c.signed_at <= moment]
        statuses = []
        for kind, label in Consent.Kind.choices:
            of_kind = [c for c in signed if c.kind == kind]
            valid = next((c for c in of_kind if c.is_valid_on(moment)), None)
            if valid is not None:
                ending = valid.expires_at is not None and valid.expires_at - moment <= EXPIRING_WITHIN
                statuses.append(KindStatus(kind, str(label), "expiring" if ending else "valid", valid))
            elif of_kind:
                statuses.append(KindStatus(kind, str(label), of_kind[0].state_on(moment), of_kind[0]))
            else:
                statuses.append(KindStatus(kind, str(label), "missing", None))
        return statuses
