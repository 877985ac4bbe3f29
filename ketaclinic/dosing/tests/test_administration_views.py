"""The dose panel on the session page: what it shows in each state, its forms, errors, permissions and 409s."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from ketaclinic.accounts.roles import Role
from ketaclinic.accounts.tests.matrix import PermissionMatrix
from ketaclinic.audit.models import AuditEvent
from ketaclinic.conftest import Cast
from ketaclinic.dosing import administration as adm
from ketaclinic.dosing.models import DosingSession, LotMovement
from ketaclinic.dosing.tests import doses
from ketaclinic.dosing.tests.conftest import NOW
from ketaclinic.dosing.tests.doses import receive

pytestmark = pytest.mark.django_db
dose_session, eligible = doses.dose_session, doses.eligible
Make = Callable[..., DosingSession]
MIN = dt.timedelta(minutes=1)


def url(session: DosingSession, name: str) -> str:
    return reverse(f"dosing:{name}", args=[session.patient_id, session.pk])


def post(client: Client, session: DosingSession, name: str, **fields: Any) -> Any:
    data = {f"dose_{name}-{k}": v for k, v in fields.items()}
    data.setdefault(f"dose_{name}-version", session.version)
    return client.post(url(session, f"dose_{name}"), data)


def page(client: Client, session: DosingSession) -> str:
    response = client.get(url(session, "session"))
    assert response.status_code == 200
    return response.content.decode()


def started(session: DosingSession, cast: Cast, lot: Any, **kwargs: Any) -> Any:
    record = adm.start_dose(
        session, by=cast.nurse, lot=lot, witness=cast.prescriber, witness_password=cast.password, **kwargs
    )
    session.refresh_from_db()
    return record


class TestDosePanel(PermissionMatrix):
    allowed = {Role.NURSE, Role.PRESCRIBER}
    patient_scoped = True

    @pytest.fixture(autouse=True)
    def _session(self, dose_session: Make) -> None:
        self.session = dose_session()

    def url(self, cast: Cast) -> str:
        return url(self.session, "dose_panel")


def test_it_shows_todays_dose_and_the_start_form(dose_session: Make, client: Client, clinic: Cast) -> None:
    session = dose_session(weight_kg="82.3")
    receive(clinic)
    client.force_login(clinic.nurse)
    html = page(client, session)
    assert "0.5 mg/kg × 82.3 kg" in html and "41.2 mg" in html
    assert "ordered at 80.0 kg (40 mg)" in html  # today's weight differs from the weight at ordering
    assert "actual body weight, weighed at check-in today" in html
    assert "draw <strong>0.82 mL</strong>" in html and "151.2 mL/h" in html
    assert "K-100 · Ketamine HCl 50 mg/mL, 10 mL vial · expires 2027-06-30 · 5000 mg on hand" in html
    assert ">Start the dose<" in html
    form = client.get(url(session, "session")).context["dose_panel"]["forms"]["start"]
    assert list(form.fields["witness"].queryset) == [clinic.prescriber]  # never the nurse signed in


def test_it_tells_the_nurse_to_ask_for_an_order(dose_session: Make, client: Client, clinic: Cast) -> None:
    session = dose_session(course=False)
    client.force_login(clinic.nurse)
    assert "This session belongs to no treatment course: ask the prescriber" in page(client, session)


def test_it_starts_the_dose_through_the_form(dose_session: Make, client: Client, clinic: Cast) -> None:
    session = dose_session()
    lot = receive(clinic)
    client.force_login(clinic.nurse)
    response = post(
        client,
        session,
        "start",
        lot=lot.pk,
        started_at="08:50",
        witness=clinic.prescriber.pk,
        witness_password=clinic.password,
        diluent="0.9 % sodium chloride",
        diluent_ml="100",
    )
    assert response.status_code == 302 and response["Location"].endswith("#administration")
    session.refresh_from_db()
    assert session.state == "dosing"
    assert session.administration.started_at == NOW - 10 * MIN
    html = page(client, session)
    assert (
        "Running" in html and "10 min ago" in html and "Now <strong>151.2 mL/h</strong> · about 10 mg infused" in html
    )
    assert "Pause the infusion" in html and "Stop the infusion" in html and 'hx-trigger="every 30s"' in html
    assert "Blank: the whole dose (40 mg, it ran to completion). By the rates recorded about 10 mg" in html


def test_a_wrong_witness_password_keeps_what_was_typed(dose_session: Make, client: Client, clinic: Cast) -> None:
    session = dose_session()
    lot = receive(clinic)
    client.force_login(clinic.nurse)
    response = post(
        client,
        session,
        "start",
        lot=lot.pk,
        started_at="08:52",
        witness=clinic.prescriber.pk,
        witness_password="wrong-password",
        diluent="Dextrose 5 %",
        diluent_ml="250",
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert "is not correct; they type it themselves." in html
    assert 'value="08:52"' in html and 'value="Dextrose 5 %"' in html and 'value="250"' in html
    assert "wrong-password" not in html
    session.refresh_from_db()
    assert session.state == "cleared"


def test_an_error_without_a_field_is_shown_on_the_form(dose_session: Make, client: Client, clinic: Cast) -> None:
    session = dose_session(cleared=False)
    client.force_login(clinic.nurse)
    response = post(
        client,
        session,
        "start",
        witness=clinic.prescriber.pk,
        witness_password=clinic.password,
        diluent="0.9 % sodium chloride",
        diluent_ml="100",
    )
    assert response.status_code == 400
    assert "State: A dose starts only once the session is cleared (it is checked in)." in response.content.decode()


def test_a_stale_form_answers_409(dose_session: Make, client: Client, clinic: Cast) -> None:
    session = dose_session()
    lot = receive(clinic)
    client.force_login(clinic.nurse)
    response = post(
        client,
        session,
        "start",
        version=session.version - 1,
        lot=lot.pk,
        witness=clinic.prescriber.pk,
        witness_password=clinic.password,
        diluent="0.9 % sodium chloride",
        diluent_ml="100",
    )
    assert response.status_code == 409
    assert "Someone else changed this session" in response.content.decode()


@pytest.mark.parametrize("role", ["therapist", "coordinator", "admin"])
def test_roles_that_do_not_administer_cannot_post(dose_session: Make, client: Client, clinic: Cast, role: str) -> None:
    session = dose_session()
    lot = receive(clinic)
    client.force_login(getattr(clinic, role))
    response = post(client, session, "start", lot=lot.pk, witness=clinic.prescriber.pk, witness_password="x")
    assert response.status_code in (403, 404)
    session.refresh_from_db()
    assert session.state == "cleared"


def test_another_sites_nurse_gets_404(dose_session: Make, client: Client, clinic: Cast) -> None:
    session = dose_session()
    client.force_login(clinic.nurse_b)
    assert post(client, session, "pause", reason="x").status_code == 404


def test_it_runs_an_infusion_from_the_panel(dose_session: Make, client: Client, clinic: Cast) -> None:
    session = dose_session()
    started(session, clinic, receive(clinic), started_at=NOW - 30 * MIN)
    client.force_login(clinic.nurse)
    assert post(client, session, "rate", rate_ml_per_h="100", reason="BP 170/100", at="08:40").status_code == 302
    session.refresh_from_db()
    assert post(client, session, "pause", reason="Nausea").status_code == 302
    session.refresh_from_db()
    html = page(client, session)
    assert "Paused" in html and "Resume the infusion" in html and "BP 170/100" in html
    assert post(client, session, "resume").status_code == 302
    session.refresh_from_db()
    bad = post(client, session, "stop", amount_given_mg="30")
    assert bad.status_code == 400 and "Say why." in bad.content.decode()
    response = post(
        client,
        session,
        "stop",
        amount_given_mg="30",
        reason="Hypertension",
        witness=clinic.prescriber.pk,
        witness_password=clinic.password,
    )
    assert response.status_code == 302
    session.refresh_from_db()
    assert session.state == "monitoring"
    html = page(client, session)
    assert "Given" in html and "Stopped early" in html and "Wasted 10 mg" in html


def test_it_records_esketamine_devices_from_the_panel(dose_session: Make, client: Client, clinic: Cast) -> None:
    session = dose_session(route="esketamine_nasal")
    started(session, clinic, receive(clinic, drug="esketamine", lot_number="E-1"), started_at=NOW - 3 * MIN)
    client.force_login(clinic.nurse)
    html = page(client, session)
    assert "Device 1 at <strong>08:57</strong>" in html and "may be given from 09:02" in html
    too_soon = post(client, session, "device")
    assert too_soon.status_code == 400
    assert "Device 2 may be given from 09:02." in too_soon.content.decode()
    assert post(client, session, "device", at="09:02").status_code == 400  # not in the future either
    session.refresh_from_db()
    assert post(client, session, "stop_devices", reason="Declined the second device").status_code == 302
    session.refresh_from_db()
    assert session.state == "monitoring"


def test_it_wastes_drawn_up_drug_from_the_panel(dose_session: Make, client: Client, clinic: Cast) -> None:
    session = dose_session(route="im")
    lot = receive(clinic)
    client.force_login(clinic.nurse)
    early = post(client, session, "waste", amount_mg="5", reason="x", witness=clinic.prescriber.pk)
    assert early.status_code == 400 and "once the dose has started" in early.content.decode()
    given = post(
        client,
        session,
        "start",
        lot=lot.pk,
        witness=clinic.prescriber.pk,
        witness_password=clinic.password,
        site_of_administration="left deltoid",
    )
    assert given.status_code == 302
    session.refresh_from_db()
    assert session.state == "monitoring" and session.administration.site_of_administration == "left deltoid"
    response = post(
        client,
        session,
        "waste",
        amount_mg="10",
        reason="Drawn up, not given",
        witness=clinic.prescriber.pk,
        witness_password=clinic.password,
    )
    assert response.status_code == 302
    assert LotMovement.objects.get(kind="wasted").administration == session.administration


def test_the_panel_refreshes_on_its_own(dose_session: Make, client: Client, clinic: Cast) -> None:
    session = dose_session(route="esketamine_nasal")
    started(session, clinic, receive(clinic, drug="esketamine", lot_number="E-1"), started_at=NOW - 6 * MIN)
    client.force_login(clinic.prescriber)
    response = client.get(url(session, "dose_panel"))
    assert response.status_code == 200
    assert "may be given now" in response.content.decode() and "<html" not in response.content.decode()


def test_wrong_witness_passwords_are_throttled_and_audited(dose_session: Make, client: Client, clinic: Cast) -> None:
    session = dose_session(route="im")
    lot = receive(clinic)
    client.force_login(clinic.nurse)
    fields = {"lot": lot.pk, "witness": clinic.prescriber.pk, "site_of_administration": "left deltoid"}
    for _ in range(2):
        assert post(client, session, "start", witness_password="guess", **fields).status_code == 400
    third = post(client, session, "start", witness_password="guess", **fields)  # the test settings lock at 3
    assert third.status_code == 400 and "their account is locked for a while" in third.content.decode()
    locked = post(client, session, "start", witness_password=clinic.password, **fields)
    assert locked.status_code == 400 and "their account is locked" in locked.content.decode()
    assert AuditEvent.objects.filter(action="login_failed", actor_username="prescriber").count() >= 3
    session.refresh_from_db()
    assert session.state == "cleared"
