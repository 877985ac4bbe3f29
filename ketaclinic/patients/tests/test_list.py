from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from ketaclinic.accounts.roles import Role
from ketaclinic.accounts.tests.factories import UserFactory
from ketaclinic.accounts.tests.matrix import PermissionMatrix
from ketaclinic.audit.models import AuditEvent
from ketaclinic.patients.models import Patient
from ketaclinic.patients.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

#: Every request: session (read and the activity stamp written), user, the user's sites, roles and permissions, the
#: audit event (in a savepoint), the count and the page. The bound does not grow with the number of patients.
MAX_LIST_QUERIES = 16


class TestPatientListPermissions(PermissionMatrix):
    allowed = set(Role)

    def url(self, cast):
        return reverse("patients:list")


def _names(response):
    return [p.legal_last_name for p in response.context["page"]]


def test_it_lists_the_acting_sites_patients_in_name_order(client, cast, patient, patient_b):
    PatientFactory.create(site=cast.site_a, legal_last_name="Abbott")
    client.force_login(cast.coordinator)
    response = client.get(reverse("patients:list"))
    assert response.status_code == 200
    assert _names(response) == ["Abbott", "Quill"]
    html = response.content.decode()
    assert "Quill, Morgan “Mo”" in html and patient.mrn in html and "1985-06-15 (" in html
    assert 'class="badge status-referral"' in html
    assert "Register patient" in html


def test_it_offers_registration_only_to_roles_that_register(client, cast, patient):
    client.force_login(cast.nurse)
    assert "Register patient" not in client.get(reverse("patients:list")).content.decode()


def test_it_searches_by_name_mrn_birth_date_and_status(client, cast, patient):
    other = PatientFactory.create(
        site=cast.site_a,
        legal_first_name="Dana",
        legal_last_name="Fox",
        date_of_birth=dt.date(1971, 2, 3),
        status=Patient.Status.SCREENING,
    )
    client.force_login(cast.nurse)
    url = reverse("patients:list")
    assert _names(client.get(url, {"q": "qui"})) == ["Quill"]
    assert _names(client.get(url, {"q": "MO"})) == ["Quill"]  # preferred name
    assert _names(client.get(url, {"q": other.mrn.lower()})) == ["Fox"]
    assert _names(client.get(url, {"date_of_birth": "1971-02-03"})) == ["Fox"]
    assert _names(client.get(url, {"status": "screening"})) == ["Fox"]
    response = client.get(url, {"q": "nobody-like-this"})
    assert _names(response) == [] and "No patient matches" in response.content.decode()


def test_it_lists_another_of_the_users_sites_or_all_of_them(client, cast, patient, patient_b):
    both = UserFactory.create(username="float", roles=[Role.NURSE], sites=[cast.site_a, cast.site_b])
    client.force_login(both)
    url = reverse("patients:list")
    assert _names(client.get(url)) == ["Quill"]  # the acting site (the first) by default
    assert _names(client.get(url, {"site": cast.site_b.pk})) == ["Site"]
    assert _names(client.get(url, {"site": "all"})) == ["Quill", "Site"]


def test_it_never_lists_a_site_the_user_does_not_work_at(client, cast, patient, patient_b):
    client.force_login(cast.nurse)
    response = client.get(reverse("patients:list"), {"site": cast.site_b.pk})
    assert response.status_code == 400
    assert _names(response) == []
    assert "Select a valid choice" in response.content.decode()


def test_it_shows_a_bad_filter_next_to_its_field(client, cast, patient):
    client.force_login(cast.nurse)
    response = client.get(reverse("patients:list"), {"date_of_birth": "31/31/2000", "q": "quill"})
    assert response.status_code == 400
    assert "Enter a valid date." in response.content.decode()
    assert 'value="quill"' in response.content.decode()


def test_it_audits_the_search_with_its_filters(client, cast, patient):
    client.force_login(cast.nurse)
    client.get(reverse("patients:list"), {"q": "quill", "status": "referral"})
    event = AuditEvent.objects.get(action=AuditEvent.Action.LIST)
    assert event.detail == {"filters": {"q": "quill", "status": "referral"}, "count": 1}
    assert event.actor == cast.nurse


def test_it_pages_by_25(client, cast):
    PatientFactory.create_batch(30, site=cast.site_a)
    client.force_login(cast.nurse)
    first = client.get(reverse("patients:list"), {"status": "referral"})
    assert len(first.context["page"]) == 25 and "Page 1 of 2" in first.content.decode()
    assert "?status=referral&amp;page=2" in first.content.decode()
    second = client.get(reverse("patients:list"), {"status": "referral", "page": 2})
    assert len(second.context["page"]) == 5


def _bulk_patients(site, numbers):
    Patient.objects.bulk_create(
        Patient(
            site=site,
            mrn=f"BLK-{n:06d}",
            legal_first_name=f"Given{n % 97}",
            legal_last_name=f"Family{n:05d}",
            date_of_birth=dt.date(1950 + n % 50, 1 + n % 12, 1 + n % 28),
            status=Patient.Status.values[n % len(Patient.Status.values)],
        )
        for n in numbers
    )


def _query_count(client, url, params):
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url, params).status_code == 200
    return len(queries)


def test_it_lists_and_searches_10000_patients_in_a_constant_number_of_queries(
    client, cast, django_assert_max_num_queries
):
    client.force_login(cast.nurse)
    client.get(reverse("home"))  # the session's first request stores the acting site in it, once
    url = reverse("patients:list")
    _bulk_patients(cast.site_a, range(30))
    few = [_query_count(client, url, params) for params in ({}, {"q": "family0001", "status": "screening"})]
    _bulk_patients(cast.site_a, range(30, 10_000))
    many = [_query_count(client, url, params) for params in ({}, {"q": "family0001", "status": "screening"})]
    assert many == few  # the same queries, whatever the number of patients
    with django_assert_max_num_queries(MAX_LIST_QUERIES):
        response = client.get(url)
    assert response.context["page"].paginator.count == 10_000
    assert len(response.context["page"]) == 25
    with django_assert_max_num_queries(MAX_LIST_QUERIES):
        response = client.get(url, {"q": "family0999", "status": "screening"})
    assert [p.legal_last_name for p in response.context["page"]] == [
        f"Family0999{d}" for d in range(10) if (9990 + d) % 7 == 1
    ]
    with django_assert_max_num_queries(MAX_LIST_QUERIES):
        response = client.get(url, {"page": 400})
    assert response.context["page"].number == 400


def test_it_offers_a_patient_search_on_the_home_screen(client, cast):
    client.force_login(cast.coordinator)
    html = client.get(reverse("home")).content.decode()
    assert f'action="{reverse("patients:list")}"' in html and 'name="q"' in html
    assert f'href="{reverse("patients:register")}"' in html
    client.force_login(cast.nurse)
    html = client.get(reverse("home")).content.decode()
    assert 'id="find-patient"' in html and f'href="{reverse("patients:register")}"' not in html
