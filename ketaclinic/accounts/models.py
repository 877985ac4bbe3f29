"""Sites (clinic locations), staff accounts and the role catalogue's database anchor."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import ClassVar
from zoneinfo import ZoneInfo, available_timezones

from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from simple_history.models import HistoricalRecords

from ketaclinic.accounts.roles import PERMISSION_LABELS, ROLE_PERMISSIONS, Perm, Role


def validate_time_zone(value: str) -> None:
    if value not in available_timezones():
        raise ValidationError(f"{value!r} is not a known IANA time zone, e.g. America/Chicago or Europe/London.")


class Site(models.Model):
    """A clinic location. Every clinical row carries its site; staff see only the sites they belong to."""

    code = models.SlugField(max_length=20, unique=True, help_text="Short code used in MRNs and exports.")
    name = models.CharField(max_length=120, unique=True)
    address = models.TextField(blank=True)
    phone = models.CharField(max_length=40, blank=True)
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone])
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    def hours_on(self, day: dt.date) -> list[OpeningHours]:
        """Opening periods on ``day`` (local date); empty when the site is closed that day."""
        if self.closed_days.filter(date=day).exists():
            return []
        return list(self.opening_hours.filter(weekday=day.weekday()).order_by("opens_at"))


class OpeningHours(models.Model):
    """One opening period of a site on a weekday (several per day allow a lunch break)."""

    class Weekday(models.IntegerChoices):
        MONDAY = 0, "Monday"
        TUESDAY = 1, "Tuesday"
        WEDNESDAY = 2, "Wednesday"
        THURSDAY = 3, "Thursday"
        FRIDAY = 4, "Friday"
        SATURDAY = 5, "Saturday"
        SUNDAY = 6, "Sunday"

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="opening_hours")
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    opens_at = models.TimeField()
    closes_at = models.TimeField()

    class Meta:
        ordering = ["site", "weekday", "opens_at"]
        constraints: ClassVar = [
            models.CheckConstraint(condition=Q(closes_at__gt=models.F("opens_at")), name="opening_hours_order"),
            models.CheckConstraint(condition=Q(weekday__gte=0, weekday__lte=6), name="opening_hours_weekday"),
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.opens_at:%H:%M}–{self.closes_at:%H:%M}"


class ClosedDay(models.Model):
    """A date on which a site is closed (holiday, training day)."""

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="closed_days")
    date = models.DateField()
    reason = models.CharField(max_length=120, blank=True)

    class Meta:
        ordering = ["site", "date"]
        constraints: ClassVar = [models.UniqueConstraint(fields=["site", "date"], name="closed_day_unique")]

    def __str__(self) -> str:
        return f"{self.site.code} closed {self.date:%Y-%m-%d}"


class User(AbstractUser):
    """A member of staff. Roles are groups synced from :mod:`ketaclinic.accounts.roles`; sites limit what they see."""

    display_name = models.CharField(max_length=120, blank=True, help_text="Name shown in notes and signatures.")
    credentials = models.CharField(max_length=60, blank=True, help_text="e.g. MD, NP, RN, LCSW")
    sites = models.ManyToManyField(Site, related_name="staff", blank=True)

    def __str__(self) -> str:
        return self.display_name or self.get_full_name() or self.username

    @property
    def role_names(self) -> list[str]:
        """The catalogue roles this user holds, in catalogue order (primed per request by the auth backend)."""
        cached: list[str] | None = getattr(self, "_role_cache", None)
        if cached is not None:
            return list(cached)
        return [r.value for r in Role if r.value in set(self.groups.values_list("name", flat=True))]

    def prime_roles(self, group_names: Iterable[str]) -> None:
        """Cache the roles held (from ``group_names``) and the capabilities they grant, for this object's lifetime.

        Capabilities come from the role catalogue in code, which the groups mirror; superusers hold all of them.
        """
        held = set(group_names)
        self._role_cache = [r.value for r in Role if r.value in held]
        granted = set(Perm) if self.is_superuser else {p for r in self._role_cache for p in ROLE_PERMISSIONS[Role(r)]}
        # ModelBackend reads this cache in has_perm(); the same set its two queries would have produced.
        self._perm_cache = {p.full for p in granted}

    def has_role(self, role: Role) -> bool:
        return role.value in self.role_names

    def can(self, perm: Perm) -> bool:
        """True when one of the user's roles grants ``perm`` (superusers included)."""
        return self.is_active and self.has_perm(perm.full)

    def works_at(self, site: Site | None) -> bool:
        return site is not None and self.sites.filter(pk=site.pk).exists()


class Capability(models.Model):
    """No rows: anchors the permission catalogue so Django creates one Permission per :class:`Perm`."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions: ClassVar = [(p.value, PERMISSION_LABELS[p]) for p in Perm]

    def __str__(self) -> str:
        return "capability catalogue"


class PolicyOverride(models.Model):
    """A site's own value for one :class:`~ketaclinic.clinical.ClinicPolicy` setting, with who changed it and why.

    No row means the guideline default. Values are checked against the setting's range when saved
    (``accounts.clinic_policy``); every change is kept in the history and audited.
    """

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="policy_overrides")
    name = models.CharField(max_length=60)
    value = models.FloatField()
    reason = models.CharField(max_length=300)
    changed_by = models.ForeignKey("User", on_delete=models.PROTECT, related_name="+")
    changed_at = models.DateTimeField(default=timezone.now)
    history = HistoricalRecords()

    class Meta:
        ordering = ["site", "name"]
        constraints: ClassVar = [models.UniqueConstraint(fields=["site", "name"], name="policy_override_unique")]

    def __str__(self) -> str:
        return f"{self.site.code}: {self.name} = {self.value:g}"
