from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from ketaclinic.accounts.roles import Role
from ketaclinic.accounts.tests.factories import UserFactory
from ketaclinic.accounts.tests.matrix import PermissionMatrix
from ketaclinic.audit.actions import Action, record
from ketaclinic.audit.context import AuditContext, acting
from ketaclinic.audit.models import AuditEvent
from ketaclinic.conftest import Cast

pytestmark = pytest.mark.django_db


class TestAuditScreenPermissions(PermissionMatrix):
    allowed = {Role.CLINIC_ADMIN}

    def url(self, cast: Cast) -> str:
        return reverse("audit:events")


class TestAuditExportPermissions(PermissionMatrix):
    allowed = {Role.CLINIC_ADMIN}

    def url(self, cast: Cast) -> str:
        return reverse("audit:export_csv")


def _seed(cast: Cast) -> None:
    day_one = time_machine.travel(dt.datetime(2026, 11, 2, 15, 0, tzinfo=dt.UTC), tick=False)
    with day_one, acting(AuditContext(user=cast.nurse, site=cast.site_a, ip_address="10.0.0.5")):
        record(Action.VIEW, object_type="patients.patient", object_id=11, patient_id=11)
        record(Action.UPDATE, object_type="patients.patient", object_id=12, patient_id=12)
    with time_machine.travel(dt.datetime(2026, 11, 5, 15, 0, tzinfo=dt.UTC), tick=False):
        with acting(AuditContext(user=cast.prescriber, site=cast.site_a)):
            record(Action.VIEW, object_type="patients.patient", object_id=11, patient_id=11)
        with acting(AuditContext(user=cast.nurse_b, site=cast.site_b)):
            record(Action.VIEW, object_type="patients.patient", object_id=99, patient_id=99)


def test_it_filters_by_patient_user_action_and_date(client: Client, cast: Cast) -> None:
    _seed(cast)
    client.force_login(cast.admin)

    def shown(**params: str) -> list[tuple[str, int | None]]:
        response = client.get(reverse("audit:events"), params)
        assert response.status_code == 200
        return [(e.actor_username, e.patient_id) for e in response.context["page"]]

    assert shown(patient_id="11") == [("prescriber", 11), ("nurse", 11)]
    assert shown(user="NURSE") == [("nurse", 12), ("nurse", 11)]
    assert shown(action="update") == [("nurse", 12)]
    assert shown(date_from="2026-11-03", patient_id="11") == [("prescriber", 11)]
    assert shown(date_to="2026-11-02", patient_id="11") == [("nurse", 11)]


def test_it_never_shows_another_sites_events(client: Client, cast: Cast) -> None:
    _seed(cast)
    client.force_login(cast.admin)
    response = client.get(reverse("audit:events"), {"patient_id": "99"})
    assert list(response.context["page"]) == []
    admin_b = UserFactory.create(username="admin_b", roles=[Role.CLINIC_ADMIN], sites=[cast.site_b])
    client.force_login(admin_b)
    response = client.get(reverse("audit:events"))
    assert {e.patient_id for e in response.context["page"] if e.patient_id} == {99}


def test_it_explains_bad_filters_next_to_the_field(client: Client, cast: Cast) -> None:
    client.force_login(cast.admin)
    response = client.get(
        reverse("audit:events"), {"date_from": "2026-11-05", "date_to": "2026-11-01", "patient_id": "x"}
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert "The end date must be on or after the start date." in body
    assert "Enter a whole number." in body
    assert client.get(reverse("audit:export_csv"), {"patient_id": "x"}).status_code == 400


def test_it_exports_the_filtered_events_as_csv_and_audits_the_export(client: Client, cast: Cast) -> None:
    _seed(cast)
    client.force_login(cast.admin)
    response = client.get(reverse("audit:export_csv"), {"patient_id": "11"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    content = b"".join(response.streaming_content)  # type: ignore[attr-defined]
    rows = list(csv.DictReader(io.StringIO(content.decode())))
    assert [(r["user"], r["patient_id"], r["site"]) for r in rows] == [
        ("prescriber", "11", "site-a"),
        ("nurse", "11", "site-a"),
    ]
    assert rows[1]["occurred_at_utc"] == "2026-11-02T15:00:00+00:00"
    export = AuditEvent.objects.get(action=Action.EXPORT)
    assert export.actor == cast.admin and export.detail == {"filters": {"patient_id": "11"}, "format": "csv"}


def test_it_pages_long_trails(client: Client, cast: Cast) -> None:
    for n in range(60):
        record(Action.VIEW, user=cast.nurse, site=cast.site_a, patient_id=n + 1)
    client.force_login(cast.admin)
    first = client.get(reverse("audit:events"))
    assert len(first.context["page"]) == 50 and first.context["page"].has_next()
    second = client.get(reverse("audit:events"), {"page": 2})
    assert len(second.context["page"]) >= 10
