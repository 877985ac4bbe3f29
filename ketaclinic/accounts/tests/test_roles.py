from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission

from ketaclinic.accounts.actions import sync_roles
from ketaclinic.accounts.roles import ROLE_PERMISSIONS, Perm, Role
from ketaclinic.conftest import Cast

pytestmark = pytest.mark.django_db


def test_it_writes_each_role_with_exactly_its_catalogue_permissions() -> None:
    sync_roles()
    for role, perms in ROLE_PERMISSIONS.items():
        group = Group.objects.get(name=role.value)
        assert set(group.permissions.values_list("codename", flat=True)) == {p.value for p in perms}


def test_it_removes_permissions_added_by_hand() -> None:
    sync_roles()
    group = Group.objects.get(name=Role.COORDINATOR.value)
    group.permissions.add(Permission.objects.get(codename=Perm.VIEW_CHART.value))
    sync_roles()
    assert not group.permissions.filter(codename=Perm.VIEW_CHART.value).exists()


def test_the_front_desk_cannot_read_the_clinical_chart(cast: Cast) -> None:
    assert cast.coordinator.can(Perm.VIEW_DEMOGRAPHICS)
    assert not cast.coordinator.can(Perm.VIEW_CHART)


def test_only_prescribers_may_override_a_hold(cast: Cast) -> None:
    holders = [role for role, user in cast.by_role().items() if user.can(Perm.OVERRIDE_HOLD)]
    assert holders == [Role.PRESCRIBER]


def test_every_permission_is_labelled_and_granted_to_someone() -> None:
    granted = set().union(*ROLE_PERMISSIONS.values())
    assert granted == set(Perm)
    assert all(p.label and p.full == f"accounts.{p.value}" for p in Perm)
    assert all(r.label for r in Role)


def test_a_user_holds_roles_at_their_sites_only(cast: Cast) -> None:
    assert cast.nurse.role_names == ["nurse"]
    assert cast.nurse.has_role(Role.NURSE)
    assert cast.nurse.works_at(cast.site_a)
    assert not cast.nurse.works_at(cast.site_b)
    assert not cast.nurse.works_at(None)


def test_an_inactive_user_can_do_nothing(cast: Cast) -> None:
    cast.prescriber.is_active = False
    assert not cast.prescriber.can(Perm.VIEW_CHART)
