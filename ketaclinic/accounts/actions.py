"""Account and site state changes: role sync, staff creation, site membership."""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import transaction

from ketaclinic.accounts.models import Capability, Site, User
from ketaclinic.accounts.roles import PERMISSION_LABELS, ROLE_PERMISSIONS, Perm, Role
from ketaclinic.audit.actions import Action, record


def sync_roles(*, using: str = "default") -> None:
    """Make the database groups match the code catalogue exactly (idempotent; extra permissions are removed)."""
    with transaction.atomic(using=using):
        content_type = ContentType.objects.db_manager(using).get_for_model(Capability, for_concrete_model=False)
        perms: dict[Perm, Permission] = {}
        for perm in Perm:
            obj, _ = Permission.objects.using(using).update_or_create(
                content_type=content_type, codename=perm.value, defaults={"name": PERMISSION_LABELS[perm][:255]}
            )
            perms[perm] = obj
        for role, granted in ROLE_PERMISSIONS.items():
            group, _ = Group.objects.using(using).get_or_create(name=role.value)
            group.permissions.set([perms[p] for p in granted])


@transaction.atomic
def create_staff_member(
    *,
    username: str,
    password: str,
    roles: Iterable[Role],
    sites: Iterable[Site],
    display_name: str = "",
    email: str = "",
    credentials: str = "",
) -> User:
    """Create a staff account holding ``roles`` at ``sites`` (audited)."""
    user = User.objects.create_user(username=username, password=password, email=email)
    user.display_name = display_name
    user.credentials = credentials
    user.save(update_fields=["display_name", "credentials"])
    user.groups.set(Group.objects.filter(name__in=[r.value for r in roles]))
    user.sites.set(list(sites))
    record(Action.CREATE, obj=user, detail={"roles": sorted(r.value for r in roles)})
    return user
