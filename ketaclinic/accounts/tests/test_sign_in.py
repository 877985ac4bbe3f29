from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from ketaclinic.audit.models import AuditEvent
from ketaclinic.conftest import Cast

pytestmark = pytest.mark.django_db


def test_it_signs_in_and_records_the_event(client: Client, cast: Cast) -> None:
    response = client.post(reverse("accounts:login"), {"username": "nurse", "password": cast.password})
    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    event = AuditEvent.objects.get(action=AuditEvent.Action.LOGIN)
    assert event.actor == cast.nurse
    assert event.acting_role == "nurse"
    assert event.ip_address == "127.0.0.1"


def test_it_explains_a_wrong_password_and_audits_it(client: Client, cast: Cast) -> None:
    response = client.post(reverse("accounts:login"), {"username": "nurse", "password": "wrong"})
    assert response.status_code == 200
    assert "correct username and password" in response.content.decode()
    failed = AuditEvent.objects.get(action=AuditEvent.Action.LOGIN_FAILED)
    assert failed.actor_username == "nurse"
    assert failed.outcome == AuditEvent.Outcome.DENIED
    assert failed.actor is None


def test_it_pauses_sign_in_after_repeated_failures(client: Client, cast: Cast) -> None:
    for _ in range(3):  # AXES_FAILURE_LIMIT in test settings
        client.post(reverse("accounts:login"), {"username": "nurse", "password": "wrong"})
    response = client.post(reverse("accounts:login"), {"username": "nurse", "password": cast.password})
    assert response.status_code == 429
    assert "Sign-in paused" in response.content.decode()


def test_it_keeps_the_next_page_after_sign_in(client: Client, cast: Cast) -> None:
    response = client.get(reverse("audit:events"))
    assert response.status_code == 302
    login_url = response["Location"]
    assert login_url == "/accounts/login/?next=/audit/"
    response = client.post(login_url, {"username": "admin", "password": cast.password, "next": "/audit/"})
    assert response["Location"] == "/audit/"


def test_it_signs_out_only_by_post(client: Client, cast: Cast) -> None:
    client.force_login(cast.nurse)
    assert client.get(reverse("accounts:logout")).status_code == 405
    response = client.post(reverse("accounts:logout"), follow=True)
    assert response.redirect_chain[-1][0] == reverse("accounts:login")
    assert "You are signed out." in response.content.decode()
    assert AuditEvent.objects.filter(action=AuditEvent.Action.LOGOUT, actor=cast.nurse).exists()


def test_it_redirects_an_already_signed_in_user_home(client: Client, cast: Cast) -> None:
    client.force_login(cast.nurse)
    assert client.get(reverse("accounts:login"))["Location"] == reverse("home")
