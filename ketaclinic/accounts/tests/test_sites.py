from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.test import Client
from django.urls import reverse

from ketaclinic.accounts.access import sites_for
from ketaclinic.accounts.models import ClosedDay, OpeningHours
from ketaclinic.accounts.tests.factories import SiteFactory, UserFactory
from ketaclinic.conftest import Cast

pytestmark = pytest.mark.django_db


def test_it_switches_to_another_of_the_users_sites(client: Client, cast: Cast) -> None:
    cast.admin.sites.add(cast.site_b)
    client.force_login(cast.admin)
    response = client.post(reverse("accounts:switch_site"), {"site": cast.site_b.pk, "next": "/audit/"}, follow=True)
    assert response.redirect_chain[-1][0] == "/audit/"
    assert response.context["current_site"] == cast.site_b
    assert "You are now working at Site B Clinic." in response.content.decode()


def test_it_refuses_a_site_the_user_does_not_work_at(client: Client, cast: Cast) -> None:
    client.force_login(cast.nurse)
    response = client.post(reverse("accounts:switch_site"), {"site": cast.site_b.pk, "next": "https://evil.example/"})
    assert response["Location"] == reverse("home")
    response = client.get(reverse("home"))
    assert response.context["current_site"] == cast.site_a


def test_a_user_without_a_site_is_told_so(client: Client, cast: Cast) -> None:
    client.force_login(UserFactory.create(username="floater"))
    assert "not assigned to a clinic site" in client.get(reverse("home")).content.decode()


def test_superusers_see_every_active_site(cast: Cast) -> None:
    root = UserFactory.create(username="root", is_superuser=True)
    SiteFactory.create(code="closed", name="Closed site", is_active=False)
    assert set(sites_for(root)) == {cast.site_a, cast.site_b}
    cast.nurse.is_active = False
    assert not sites_for(cast.nurse).exists()
    assert not sites_for(None).exists()


def test_opening_hours_and_closed_days(cast: Cast) -> None:
    monday = dt.date(2026, 11, 30)
    OpeningHours.objects.create(site=cast.site_a, weekday=0, opens_at=dt.time(13), closes_at=dt.time(18))
    OpeningHours.objects.create(site=cast.site_a, weekday=0, opens_at=dt.time(8), closes_at=dt.time(12))
    assert [h.opens_at.hour for h in cast.site_a.hours_on(monday)] == [8, 13]
    assert str(cast.site_a.hours_on(monday)[0]) == "Monday 08:00–12:00"
    closed = ClosedDay.objects.create(site=cast.site_a, date=monday, reason="Training")
    assert cast.site_a.hours_on(monday) == []
    assert str(closed) == "site-a closed 2026-11-30"
    assert str(cast.site_a.zone) == "America/Chicago"


def test_opening_hours_must_close_after_they_open(cast: Cast) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        OpeningHours.objects.create(site=cast.site_a, weekday=1, opens_at=dt.time(18), closes_at=dt.time(8))


def test_a_site_time_zone_must_be_real(cast: Cast) -> None:
    cast.site_a.time_zone = "Mars/Olympus"
    with pytest.raises(ValidationError, match="not a known IANA time zone"):
        cast.site_a.full_clean()
