"""Project-level pages: home, health probe, error pages and the API's error shapes."""

from __future__ import annotations

import pytest
from django.test import Client, RequestFactory
from django.urls import reverse

from ketaclinic import views
from ketaclinic.conftest import Cast

pytestmark = pytest.mark.django_db


def test_every_page_needs_sign_in_by_default(client: Client) -> None:
    response = client.get(reverse("home"))
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_the_home_screen_shows_the_users_site_role_and_menu(client: Client, cast: Cast) -> None:
    client.force_login(cast.admin)
    body = client.get(reverse("home")).content.decode()
    assert "Site A Clinic" in body and "Clinic admin" in body and "Audit trail" in body
    client.force_login(cast.nurse)
    body = client.get(reverse("home")).content.decode()
    assert "Audit trail" not in body


def test_the_health_probe_is_public_and_reveals_nothing(client: Client) -> None:
    assert client.get(reverse("healthz")).json() == {"status": "ok"}


def test_a_missing_page_is_a_clear_404(client: Client, cast: Cast) -> None:
    client.force_login(cast.nurse)
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    assert "Page not found" in response.content.decode()


def test_a_forbidden_page_says_why(client: Client, cast: Cast) -> None:
    client.force_login(cast.nurse)
    response = client.get(reverse("audit:events"))
    assert response.status_code == 403
    assert "read and export the audit trail" in response.content.decode()


def test_an_expired_form_gets_a_clear_page(cast: Cast) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(cast.nurse)
    response = client.post(reverse("accounts:switch_site"), {"site": cast.site_a.pk})
    assert response.status_code == 403
    assert "Form expired" in response.content.decode()


def test_error_handlers_render_without_a_stack_trace() -> None:
    request = RequestFactory().get("/x")
    assert views.server_error(request).status_code == 500
    assert "Something went wrong" in views.server_error(request).content.decode()
    assert views.bad_request(request).status_code == 400
    assert views.permission_denied(request, None).status_code == 403
    api_request = RequestFactory().get("/api/x")
    assert views.server_error(api_request)["Content-Type"] == "application/json"


def test_the_api_answers_anonymous_callers_with_json_401(client: Client) -> None:
    response = client.get("/api/me")
    assert response.status_code == 401
    assert response.json() == {"detail": "Authentication required. Sign in first."}


def test_the_api_describes_the_caller(client: Client, cast: Cast) -> None:
    client.force_login(cast.prescriber)
    data = client.get("/api/me").json()
    assert data["roles"] == ["prescriber"]
    assert [s["code"] for s in data["sites"]] == ["site-a"]
    assert data["current_site"]["code"] == "site-a"


def test_an_unknown_api_path_is_a_json_404(client: Client, cast: Cast) -> None:
    client.force_login(cast.nurse)
    response = client.get("/api/nothing-here")
    assert response.status_code == 404
    assert response.json()["detail"]


def test_the_openapi_schema_is_published(client: Client, cast: Cast) -> None:
    client.force_login(cast.nurse)
    schema = client.get("/api/openapi.json").json()
    assert "/api/me" in schema["paths"]
