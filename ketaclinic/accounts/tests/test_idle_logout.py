from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from ketaclinic.audit.models import AuditEvent
from ketaclinic.conftest import Cast

pytestmark = pytest.mark.django_db
START = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)


def test_it_signs_out_after_fifteen_idle_minutes(client: Client, cast: Cast) -> None:
    with time_machine.travel(START, tick=False) as clock:
        client.force_login(cast.nurse)
        assert client.get(reverse("home")).status_code == 200
        clock.shift(dt.timedelta(minutes=14))
        assert client.get(reverse("home")).status_code == 200
        clock.shift(dt.timedelta(minutes=16))
        response = client.get(reverse("home"), follow=True)
    assert response.redirect_chain[0][0] == "/accounts/login/?next=%2F"
    assert "signed out after 15 minutes without activity" in response.content.decode()
    assert AuditEvent.objects.filter(action=AuditEvent.Action.IDLE_LOGOUT, actor=cast.nurse).exists()


def test_background_polling_does_not_keep_a_session_alive(client: Client, cast: Cast) -> None:
    with time_machine.travel(START, tick=False) as clock:
        client.force_login(cast.admin)
        client.get(reverse("home"))
        for _ in range(4):
            clock.shift(dt.timedelta(minutes=5))
            client.get(reverse("processes:status"), headers={"X-Ketaclinic-Background": "1", "HX-Request": "true"})
        response = client.get(reverse("home"))
    assert response.status_code == 302


def test_an_idle_api_client_gets_json(client: Client, cast: Cast) -> None:
    with time_machine.travel(START, tick=False) as clock:
        client.force_login(cast.nurse)
        client.get("/api/me")
        clock.shift(dt.timedelta(minutes=20))
        response = client.get("/api/me")
    assert response.status_code == 401
    assert "inactivity" in response.json()["detail"]


def test_an_idle_htmx_request_redirects_the_whole_page(client: Client, cast: Cast) -> None:
    with time_machine.travel(START, tick=False) as clock:
        client.force_login(cast.nurse)
        client.get(reverse("home"))
        clock.shift(dt.timedelta(minutes=20))
        response = client.get(reverse("home"), headers={"HX-Request": "true"})
    assert response["HX-Redirect"].startswith("/accounts/login/")


def test_activity_is_stamped_at_most_once_a_minute(client: Client, cast: Cast) -> None:
    with time_machine.travel(START, tick=False) as clock:
        client.force_login(cast.nurse)
        client.get(reverse("home"))
        stamped = client.session["ketaclinic_last_activity"]
        clock.shift(dt.timedelta(seconds=30))
        client.get(reverse("home"))
        assert client.session["ketaclinic_last_activity"] == stamped
        clock.shift(dt.timedelta(seconds=31))
        client.get(reverse("home"))
        assert client.session["ketaclinic_last_activity"] == stamped + 61
        # Active every 50 s for 20 minutes: never signed out, though half the clicks wrote nothing.
        for _ in range(24):
            clock.shift(dt.timedelta(seconds=50))
            assert client.get(reverse("home")).status_code == 200


def test_an_htmx_poll_without_a_session_sends_the_whole_page_to_sign_in(client: Client, cast: Cast) -> None:
    response = client.get(reverse("tasks:widget"), headers={"HX-Request": "true", "X-Ketaclinic-Background": "1"})
    assert response.status_code == 204
    assert response["HX-Redirect"].startswith("/accounts/login/?next=")
    assert client.get(reverse("tasks:widget")).status_code == 302  # a plain request is redirected as before
