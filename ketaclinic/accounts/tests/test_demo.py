from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from ketaclinic.accounts.demo import DEMO_PASSWORD, STAFF
from ketaclinic.accounts.models import OpeningHours, Site, User

pytestmark = pytest.mark.django_db


def test_seed_demo_builds_the_clinic_and_is_idempotent() -> None:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    assert "dr.rivera" in out.getvalue() and DEMO_PASSWORD in out.getvalue()
    counts = (Site.objects.count(), User.objects.count(), OpeningHours.objects.count())
    assert counts[0] == 2 and counts[1] == len(STAFF)

    nurse = User.objects.get(username="nurse.okafor")
    nurse.set_password("changed-by-the-demo-user")
    nurse.save()
    call_command("seed_demo", stdout=StringIO())

    assert (Site.objects.count(), User.objects.count(), OpeningHours.objects.count()) == counts
    nurse.refresh_from_db()
    assert nurse.check_password("changed-by-the-demo-user")


def test_demo_staff_hold_their_roles_at_their_sites() -> None:
    call_command("seed_demo", stdout=StringIO())
    hill = User.objects.get(username="nurse.hill")
    assert hill.role_names == ["nurse"]
    assert [s.code for s in hill.sites.all()] == ["hillcrest"]
    assert User.objects.get(username="admin.chen").sites.count() == 2
    assert all(u.email.endswith("@example.invalid") for u in User.objects.all())
