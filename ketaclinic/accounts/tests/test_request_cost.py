"""A request's fixed cost: the user arrives with their roles in one query, and background polls skip the site query."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from ketaclinic.accounts.backends import RoleBackend
from ketaclinic.accounts.models import User
from ketaclinic.accounts.roles import ROLE_PERMISSIONS, Perm, Role
from ketaclinic.accounts.tests.factories import UserFactory
from ketaclinic.conftest import Cast

pytestmark = pytest.mark.django_db
POLL = {"X-Ketaclinic-Background": "1", "HX-Request": "true"}


def _tables(queries: CaptureQueriesContext) -> list[str]:
    return [q["sql"].split(" FROM ")[1].split()[0].strip('"') for q in queries if " FROM " in q["sql"]]


def test_it_loads_a_user_with_their_roles_and_capabilities_in_one_query(cast: Cast) -> None:
    with CaptureQueriesContext(connection) as queries:
        user = RoleBackend().get_user(cast.prescriber.pk)
        assert user is not None
        assert user.role_names == ["prescriber"]
        assert user.can(Perm.OVERRIDE_HOLD)
        assert not user.can(Perm.VIEW_AUDIT)
        assert user.has_role(Role.PRESCRIBER)
    assert len(queries) == 1
    granted = {p for p in Perm if user.can(p)}
    assert granted == set(ROLE_PERMISSIONS[Role.PRESCRIBER])


def test_it_gives_a_user_without_roles_no_capabilities_and_a_superuser_all(cast: Cast) -> None:
    plain = RoleBackend().get_user(UserFactory.create(username="noroles").pk)
    assert plain is not None
    assert (plain.role_names, [p for p in Perm if plain.can(p)]) == ([], [])
    boss = RoleBackend().get_user(User.objects.create_superuser("boss", password="x" * 12).pk)
    assert boss is not None
    assert all(boss.can(p) for p in Perm)


def test_it_refuses_missing_and_inactive_users(cast: Cast) -> None:
    assert RoleBackend().get_user(999_999) is None
    User.objects.filter(pk=cast.nurse.pk).update(is_active=False)
    assert RoleBackend().get_user(cast.nurse.pk) is None


def test_a_background_poll_reuses_the_remembered_site_and_zone(client: Client, cast: Cast) -> None:
    cast.site_a.time_zone = "America/Chicago"
    cast.site_a.save(update_fields=["time_zone"])
    client.force_login(cast.nurse)
    client.get(reverse("home"))  # a foreground request remembers the site and its zone
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("healthz"), headers=POLL)
    assert response.status_code == 200
    assert "accounts_site" not in _tables(queries)
    assert timezone.get_current_timezone_name() == "America/Chicago"
    with CaptureQueriesContext(connection) as queries:
        client.get(reverse("home"))
    assert "accounts_site" in _tables(queries)


def test_a_background_poll_resolves_the_site_when_the_view_needs_it(client: Client, cast: Cast) -> None:
    client.force_login(cast.nurse)
    client.get(reverse("home"))
    response = client.get(reverse("home"), headers=POLL)
    assert response.context["current_site"] == cast.site_a
    cast.nurse.sites.clear()
    assert client.get(reverse("home"), headers=POLL).status_code == 403
    assert "not assigned to a clinic site" in client.get(reverse("home")).content.decode()


def test_the_composed_user_query_loads_each_user_as_the_orm_would(cast: Cast) -> None:
    for user in (cast.prescriber, cast.nurse):
        loaded = RoleBackend().get_user(str(user.pk))  # the session keeps the id as text
        assert loaded is not None and loaded.pk == user.pk
        fresh = User.objects.get(pk=user.pk)
        assert (loaded.username, loaded.date_joined, loaded.is_active) == (fresh.username, fresh.date_joined, True)
        assert set(loaded.role_names) == {g.name for g in fresh.groups.all()}
    assert RoleBackend().get_user("not-a-number") is None
    assert RoleBackend().get_user(None) is None
