"""The dashboard, the patient lists behind figures and the exports: who may see what, and that it is audited."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from typing import Any, ClassVar

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from ketaclinic.accounts.roles import Role
from ketaclinic.accounts.tests.matrix import PermissionMatrix
from ketaclinic.audit.models import AuditEvent
from ketaclinic.conftest import Cast
from ketaclinic.outcomes import rollup, synthetic
from ketaclinic.outcomes.figures import dashboard_figures
from ketaclinic.outcomes.models import CourseOutcome, RefreshQueue
from ketaclinic.outcomes.tests.conftest import all_time

ALL = "start=2024-01-01&end=2027-12-31"


def csv_lines(response: Any) -> list[list[str]]:
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


class TestDashboardAccess(PermissionMatrix):
    allowed: ClassVar = {Role.PRESCRIBER, Role.CLINIC_ADMIN}

    def url(self, cast: Cast) -> str:
        return reverse("outcomes:dashboard")


class TestFigureExportAccess(PermissionMatrix):
    allowed: ClassVar = {Role.PRESCRIBER, Role.CLINIC_ADMIN}

    def url(self, cast: Cast) -> str:
        return reverse("outcomes:export")


class TestPatientListAccess(PermissionMatrix):
    # Names need chart access as well as reports: the clinic admin sees figures only.
    allowed: ClassVar = {Role.PRESCRIBER}

    def url(self, cast: Cast) -> str:
        return reverse("outcomes:patients") + "?figure=treated"


class TestPatientExportAccess(PermissionMatrix):
    allowed: ClassVar = {Role.PRESCRIBER}

    def url(self, cast: Cast) -> str:
        return reverse("outcomes:patients_csv") + "?figure=responders"


@pytest.mark.django_db
def test_it_shows_the_figures_of_the_users_sites_only(client: Client, cast: Cast, network: synthetic.Network) -> None:
    client.force_login(cast.prescriber)
    response = client.get(f"{reverse('outcomes:dashboard')}?{ALL}")
    assert response.status_code == 200
    shown = response.context["figures"]
    mine = dashboard_figures(replace(all_time(network), site_ids=(cast.site_a.pk,)))
    assert shown == mine
    assert 0 < shown.patients_treated < 100  # site B's patients are not counted
    html = response.content.decode()
    assert f">{shown.responders}</a> of {shown.evaluable}" in html
    assert 'class="chart km"' in html and "<polyline" in html
    assert "figure=responders" in html
    event = AuditEvent.objects.filter(object_type="outcomes.dashboard").latest("id")
    assert event.action == "view" and event.detail["filters"]["start"] == "2024-01-01"


@pytest.mark.django_db
def test_it_narrows_to_one_site_and_refuses_a_site_the_user_does_not_work_at(
    client: Client, cast: Cast, network: synthetic.Network
) -> None:
    client.force_login(cast.prescriber)
    ok = client.get(f"{reverse('outcomes:dashboard')}?{ALL}&site={cast.site_a.pk}&route=iv")
    assert ok.status_code == 200
    assert ok.context["figures"] == dashboard_figures(
        replace(all_time(network, route="iv"), site_ids=(cast.site_a.pk,))
    )
    refused = client.get(f"{reverse('outcomes:dashboard')}?{ALL}&site={cast.site_b.pk}")
    assert refused.status_code == 400
    assert "Select a valid choice" in refused.content.decode()


@pytest.mark.django_db
def test_it_explains_a_backwards_date_range_and_keeps_what_was_typed(client: Client, cast: Cast) -> None:
    client.force_login(cast.admin)
    response = client.get(reverse("outcomes:dashboard") + "?start=2026-05-01&end=2026-01-31&protocol=esketamine_trd")
    assert response.status_code == 400
    html = response.content.decode()
    assert "Must be on or after the start date (2026-05-01)." in html
    assert 'value="2026-05-01"' in html and 'value="esketamine_trd" selected' in html


@pytest.mark.django_db
def test_it_refreshes_queued_patients_before_answering(client: Client, cast: Cast, network: synthetic.Network) -> None:
    row = CourseOutcome.objects.filter(site=cast.site_a, eoi_response__isnull=False).first()
    assert row is not None
    CourseOutcome.objects.filter(pk=row.pk).update(eoi_response=None)  # a stale rollup …
    RefreshQueue.objects.create(patient_id=row.patient_id)  # … whose patient was queued
    client.force_login(cast.prescriber)
    response = client.get(f"{reverse('outcomes:dashboard')}?{ALL}")
    assert response.context["pending"] == 0
    assert CourseOutcome.objects.get(pk=row.pk).eoi_response is not None


@pytest.mark.django_db
def test_it_lists_the_patients_behind_a_figure_and_audits_the_list(
    client: Client, cast: Cast, network: synthetic.Network
) -> None:
    client.force_login(cast.prescriber)
    response = client.get(f"{reverse('outcomes:patients')}?{ALL}&figure=responders")
    assert response.status_code == 200
    expected = CourseOutcome.objects.filter(site=cast.site_a, eoi_response=True)
    rows = response.context["rows"]
    assert sorted(r.course_id for r in rows) == sorted(expected.values_list("course_id", flat=True))
    assert rows and all(r.site_id == cast.site_a.pk for r in rows)
    assert f'href="/patients/{rows[0].patient_id}/"' in response.content.decode()
    event = AuditEvent.objects.filter(object_type="outcomes.figure_patients").latest("id")
    assert event.action == "list"
    assert event.detail["figure"] == "responders"
    assert event.detail["patient_ids"] == sorted({r.patient_id for r in rows})


@pytest.mark.django_db
def test_it_drills_into_sessions_to_response_and_a_dose_group(
    client: Client, cast: Cast, network: synthetic.Network
) -> None:
    client.force_login(cast.prescriber)
    three = client.get(f"{reverse('outcomes:patients')}?{ALL}&figure=responded&sessions=3")
    assert {r.sessions_to_response for r in three.context["rows"]} == {3}
    dose = client.get(f"{reverse('outcomes:patients')}?{ALL}&figure=dissociation&instrument=cadss6&unit=mg&dose=56")
    rows = dose.context["rows"]
    assert rows and {(r.dissociation_instrument, r.dose_unit, r.dose_value) for r in rows} == {("cadss6", "mg", 56)}
    assert client.get(f"{reverse('outcomes:patients')}?{ALL}&figure=dissociation&dose=lots").status_code == 400
    assert client.get(f"{reverse('outcomes:patients')}?{ALL}&figure=responded&sessions=x").status_code == 400
    unknown = client.get(f"{reverse('outcomes:patients')}?{ALL}&figure=everyone")
    assert unknown.status_code == 400
    assert "is not a dashboard figure" in unknown.content.decode()
    assert (
        client.get(f"{reverse('outcomes:patients')}?start=2026-02-01&end=2026-01-01&figure=treated").status_code == 400
    )


@pytest.mark.django_db
def test_it_exports_the_figures_as_csv_and_audits_it(client: Client, cast: Cast, network: synthetic.Network) -> None:
    client.force_login(cast.admin)
    response = client.get(f"{reverse('outcomes:export')}?{ALL}")
    assert response.status_code == 200
    lines = csv_lines(response)
    figures = dashboard_figures(replace(all_time(network), site_ids=(cast.site_a.pk,)))
    by_name = {(row[1], row[2]): row[3] for row in lines[1:]}
    assert by_name["patients_treated", ""] == str(figures.patients_treated)
    assert by_name["response_pct", ""] == str(figures.response_pct)
    assert any(row[0] == "km" for row in lines) and any(row[0] == "dissociation" for row in lines)
    event = AuditEvent.objects.filter(action="export", object_type="outcomes.dashboard").latest("id")
    assert event.detail == {"filters": {"start": "2024-01-01", "end": "2027-12-31"}, "format": "csv"}
    assert client.get(reverse("outcomes:export") + "?start=bad").status_code == 400


@pytest.mark.django_db
def test_it_exports_the_patients_behind_a_figure(client: Client, cast: Cast, network: synthetic.Network) -> None:
    client.force_login(cast.prescriber)
    courses = client.get(f"{reverse('outcomes:patients_csv')}?{ALL}&figure=lost")
    lines = csv_lines(courses)
    lost = CourseOutcome.objects.filter(site=cast.site_a, lost_response=True)
    assert lines[0][0] == "mrn" and len(lines) - 1 == lost.count() > 0
    assert {row[-1] for row in lines[1:]} == {"True"}
    sessions = client.get(f"{reverse('outcomes:patients_csv')}?{ALL}&figure=adverse_events")
    rows = csv_lines(sessions)[1:]
    assert rows and all(int(r[9]) > 0 for r in rows)
    event = AuditEvent.objects.filter(action="export", object_type="outcomes.figure_patients").latest("id")
    assert event.detail["figure"] == "adverse_events" and event.detail["patient_ids"]
    assert client.get(f"{reverse('outcomes:patients_csv')}?figure=nope").status_code == 400
    assert client.get(f"{reverse('outcomes:patients_csv')}?figure=lost&end=x").status_code == 400


@pytest.mark.django_db
def test_it_shows_an_admin_the_figures_without_links_to_names(
    client: Client, cast: Cast, network: synthetic.Network
) -> None:
    client.force_login(cast.admin)
    html = client.get(f"{reverse('outcomes:dashboard')}?{ALL}").content.decode()
    assert "figure=responders" not in html
    assert "Outcomes" in html  # in the navigation


@pytest.mark.django_db
def test_it_answers_in_the_same_number_of_queries_whatever_the_data(client: Client, cast: Cast) -> None:
    client.force_login(cast.prescriber)
    url = f"{reverse('outcomes:dashboard')}?{ALL}"
    client.get(url)  # warm the session and site lookups
    with CaptureQueriesContext(connection) as empty:
        client.get(url)
    synthetic.generate(scale=0.01, seed=9, sites=[cast.site_a], tag="q")
    rollup.rebuild_all()
    with CaptureQueriesContext(connection) as full:
        assert client.get(url).context["figures"].sessions > 200
    assert len(full) == len(empty) <= 20


@pytest.mark.django_db
def test_it_judges_anxiety_courses_on_the_gad7_and_says_so(
    client: Client, cast: Cast, network: synthetic.Network
) -> None:
    client.force_login(cast.prescriber)
    everything = client.get(f"{reverse('outcomes:dashboard')}?{ALL}").content.decode()
    assert "PHQ-9 for depression, GAD-7 for anxiety" in everything
    response = client.get(f"{reverse('outcomes:dashboard')}?{ALL}&indication=anxiety")
    assert response.status_code == 200
    shown = response.context["figures"]
    assert shown == dashboard_figures(replace(all_time(network, indication="anxiety"), site_ids=(cast.site_a.pk,)))
    assert shown.evaluable > 0 and dict(shown.evaluable_by_instrument) == {"gad7": shown.evaluable, "phq9": 0}
    html = response.content.decode()
    assert response.context["measure"] == "GAD-7" and "on GAD-7</p>" in html
    assert f">{shown.responders}</a> of {shown.evaluable}" in html
    assert "<td>Anxiety disorder</td><td>GAD-7</td>" in html
    assert 'data-figure="no-measure"' not in html
    listed = client.get(f"{reverse('outcomes:patients')}?{ALL}&indication=anxiety&figure=evaluable")
    rows = listed.context["rows"]
    assert rows and {r.instrument for r in rows} == {"gad7"}
    assert "<td>GAD-7</td>" in listed.content.decode()


@pytest.mark.django_db
def test_it_explains_why_ptsd_courses_have_no_response_figures(
    client: Client, cast: Cast, network: synthetic.Network
) -> None:
    client.force_login(cast.prescriber)
    response = client.get(f"{reverse('outcomes:dashboard')}?{ALL}&indication=ptsd")
    assert response.status_code == 200
    shown = response.context["figures"]
    assert shown.courses > 0 and shown.without_measure == shown.courses and shown.evaluable == 0
    html = response.content.decode()
    assert 'data-figure="no-measure"' in html
    assert "Not evaluable: no sourced response definition for PCL-5" in html
    assert f'figure=no_measure">{shown.without_measure}</a>' in html
    assert 'data-figure="response"' not in html and 'class="chart km"' not in html  # no empty figures
    assert "not evaluable: no sourced response definition for PCL-5</td>" in html  # the table's measure column
    # The courses behind the count, listed with their reason, and exported with their (empty) instrument.
    listed = client.get(f"{reverse('outcomes:patients')}?{ALL}&indication=ptsd&figure=no_measure")
    rows = listed.context["rows"]
    assert len(rows) == shown.without_measure
    assert {r.not_evaluable_reason for r in rows} == {"no sourced response definition for PCL-5"}
    assert "no sourced response definition for PCL-5" in listed.content.decode()
    lines = csv_lines(client.get(f"{reverse('outcomes:patients_csv')}?{ALL}&figure=no_measure"))
    assert lines[0][5:7] == ["indication", "instrument"]
    assert lines[1:] and {(r[5], r[6]) for r in lines[1:]} == {("ptsd", "")}


@pytest.mark.django_db
def test_it_exports_which_instrument_each_figure_is_measured_on(
    client: Client, cast: Cast, network: synthetic.Network
) -> None:
    client.force_login(cast.prescriber)
    lines = csv_lines(client.get(f"{reverse('outcomes:export')}?{ALL}"))
    assert lines[0] == ["section", "figure", "group", "value", "denominator", "instrument"]
    figures = dashboard_figures(replace(all_time(network), site_ids=(cast.site_a.pk,)))
    by_name = {(row[1], row[2]): row for row in lines[1:] if row[0] == "courses"}
    assert by_name["response_pct", ""][5] == "+".join(i for i, n in figures.evaluable_by_instrument if n)
    assert by_name["not_evaluable_no_primary_outcome", ""][3] == str(figures.without_measure)
    assert by_name["evaluable_at_end_of_induction", "gad7"][3] == str(dict(figures.evaluable_by_instrument)["gad7"])
    table = {row[2]: row[5] for row in lines[1:] if row[0] == "response_table"}
    assert table["ketamine_iv_standard/anxiety"] == "gad7" and table["ketamine_iv_standard/trd"] == "phq9"
    assert table["ketamine_iv_standard/ptsd"] == ""
    courses = csv_lines(client.get(f"{reverse('outcomes:patients_csv')}?{ALL}&figure=evaluable"))
    assert {r[6] for r in courses[1:]} == {"phq9", "gad7"}
