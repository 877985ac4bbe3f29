"""Which sites a user may act at. Patient-scoped access builds on this (only rows of these sites are visible)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet

from ketaclinic.accounts.models import Site, User
from ketaclinic.accounts.roles import Perm


def sites_for(user: Any) -> QuerySet[Site]:
    """Active sites ``user`` belongs to; none for anonymous or inactive users. Superusers see every site."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return Site.objects.none()
    if user.is_superuser:
        return Site.objects.filter(is_active=True)
    return Site.objects.filter(is_active=True, staff=user)


def require(user: User, perm: Perm) -> None:
    """Raise ``PermissionDenied`` (403) unless one of the user's roles grants ``perm``."""
    if not user.can(perm):
        raise PermissionDenied(f"Your role does not allow this: {perm.label.lower()}.")
