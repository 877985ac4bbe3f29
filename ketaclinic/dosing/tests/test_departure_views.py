"""The "Patient leaving early or transferred" section of the discharge panel: shown collapsed, errors next to the
field with what was typed kept (400), 409 on a stale version, the disposition shown once recorded; and the migration
that keeps every existing discharge a routine one."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client
from django.urls import reverse

from ketaclinic.conftest import Cast
from ketaclinic.dosing import discharge
from ketaclinic.dosing.models import AdverseEvent, Discharge, DosingSession
from ketaclinic.dosing.tests.session_data import (  # noqa: F401 (fixtures)
    Built,
    at,
    esk_fixture,
    esk_patient_fixture,
    iv_fixture,
    iv_patient_fixture,
    recover,
)
from ketaclinic.tasks.models import Task

pytestmark = pytest.mark.django_db
SAID = "Says she feels fine and has to pick up her children; will not wait."


def url(session: DosingSession, name: str) -> str:
    return reverse(f"dosing:{name}", args=[session.patient_id, session.pk])


def post(client: Client, session: DosingSession, **fields: Any) -> Any:
    data = {f"departure-{k}": v for k, v in fields.items()}
    data.setdefault("departure-version", session.version)
    return client.post(url(session, "departure"), data)


def page(client: Client, session: DosingSession) -> str:
    response = client.get(url(session, "session"))
    assert response.status_code == 200
    return response.content.decode()


def test_the_section_is_collapsed_below_the_discharge_form_with_the_sites_prescribers(
    esk: Built, client: Client, frozen_clock: Any
) -> None:
    frozen_clock.move_to(at(57))
    client.force_login(esk.cast.nurse)
    html = page(client, esk.session)
    assert '<details class="departure" id="departure">' in html  # closed until needed
    assert html.index('id="discharge-form"') < html.index('id="departure"')
    assert "Patient leaving early or transferred" in html and 'name="departure-disposition"' in html
    options = html[html.index('name="departure-prescriber_notified"') :].split("</select>")[0]
    assert f'value="{esk.cast.prescriber.pk}"' in options
    assert f'value="{esk.cast.nurse.pk}"' not in options and f'value="{esk.cast.nurse_b.pk}"' not in options


def test_while_the_dose_runs_the_section_says_to_stop_it_first(iv: Built, client: Client) -> None:
    DosingSession.objects.filter(pk=iv.session.pk).update(state="dosing")
    client.force_login(iv.cast.nurse)
    html = page(client, iv.session)
    assert "The dose is still running." in html and "Stop the infusion" in html
    assert 'id="departure-form"' not in html


def test_bad_input_answers_400_with_the_error_next_to_the_field_and_the_text_kept(
    esk: Built, client: Client, frozen_clock: Any
) -> None:
    frozen_clock.move_to(at(57))
    client.force_login(esk.cast.nurse)
    response = post(
        client,
        esk.session,
        disposition="against_advice",
        departure_reason="wants to go home",
        prescriber_notified=esk.cast.prescriber.pk,
        risks_explained="on",
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert '<details class="departure" id="departure" open>' in html
    assert 'id="id_departure-departure_reason_error"' in html
    assert "Write the reason the patient gave, at least 20 characters (got 16)." in html
    assert ">\nwants to go home</textarea>" in html
    assert not Discharge.objects.exists()
    unticked = post(
        client,
        esk.session,
        disposition="against_advice",
        departure_reason=SAID,
        prescriber_notified=esk.cast.prescriber.pk,
    )
    assert unticked.status_code == 400
    assert 'id="id_departure-risks_explained_error"' in unticked.content.decode()
    unchosen = post(client, esk.session, departure_reason=SAID)
    assert unchosen.status_code == 400
    assert "Choose what happened: left against medical advice or transferred." in unchosen.content.decode()


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"disposition": "home"},
        {"disposition": "against_advice", "prescriber_notified": "999999"},
        {"disposition": "against_advice", "prescriber_notified": "not-a-number"},
        {"disposition": "against_advice", "left_at": "25:99"},
        {"disposition": "emergency_transfer", "destination": "x" * 201},
        {"disposition": "emergency_transfer", "departure_reason": "x" * 2001},
    ],
)
def test_malformed_input_is_a_400_never_a_500(esk: Built, client: Client, fields: dict[str, Any]) -> None:
    client.force_login(esk.cast.nurse)
    assert post(client, esk.session, **fields).status_code == 400
    assert not Discharge.objects.exists()


def test_a_transfer_without_an_adverse_event_says_what_to_do(esk: Built, client: Client, frozen_clock: Any) -> None:
    frozen_clock.move_to(at(45))
    client.force_login(esk.cast.nurse)
    response = post(
        client, esk.session, disposition="emergency_transfer", departure_reason="Chest pain.", destination="St. Mary's"
    )
    assert response.status_code == 400
    assert "Adverse event: Record the adverse event first" in response.content.decode()


def test_a_stale_version_answers_409_and_keeps_what_was_typed(esk: Built, client: Client) -> None:
    client.force_login(esk.cast.nurse)
    response = post(
        client,
        esk.session,
        version=esk.session.version - 1,
        disposition="against_advice",
        departure_reason=SAID,
        risks_explained="on",
        prescriber_notified=esk.cast.prescriber.pk,
    )
    assert response.status_code == 409
    html = response.content.decode()
    assert "Someone else changed this session" in html and "has to pick up her children" in html
    assert not Discharge.objects.exists()


def test_a_departure_is_recorded_and_the_session_shows_it(esk: Built, client: Client, frozen_clock: Any) -> None:
    frozen_clock.move_to(at(57))
    client.force_login(esk.cast.nurse)
    response = post(
        client,
        esk.session,
        disposition="against_advice",
        departure_reason=SAID,
        risks_explained="on",
        prescriber_notified=esk.cast.prescriber.pk,
        left_at="09:58",
    )
    assert response.status_code == 302 and response["Location"].endswith("#discharge")
    record = Discharge.objects.get()
    assert record.disposition == "against_advice" and record.discharged_at == at(53)
    assert Task.objects.filter(source_type=discharge.DEPARTURE_SOURCE).count() == 1
    html = page(client, esk.session)
    assert '<span class="badge danger" id="state-disposition">Left against medical advice</span>' in html
    assert '<span class="badge danger" id="disposition">Left against medical advice</span> 09:58' in html
    assert SAID in html and "after 53 min of observation" in html
    assert 'id="departure-form"' not in html  # the session is over
    # The printed advice goes with a patient who leaves against advice too: the discharge advice and what to watch for.
    advice = html[html.index('<ul id="departure-advice">') :]
    advice = advice[: advice.index("</ul>")]
    assert "before the clinic judged it safe" in advice and "No driving or operating machinery" in advice
    assert "<strong>911</strong>" in advice and "<strong>988</strong>" in advice
    board = client.get(reverse("dosing_site:board")).content.decode()
    assert "Left against medical advice" in board


def test_a_transfer_is_recorded_through_the_form(esk: Built, client: Client, frozen_clock: Any) -> None:
    AdverseEvent.objects.create(
        session=esk.session,
        kind="respiratory_depression",
        severity="severe",
        serious=True,
        onset_at=at(30),
        outcome="transferred",
        recorded_by=esk.cast.nurse,
    )
    frozen_clock.move_to(at(45))
    client.force_login(esk.cast.nurse)
    response = post(
        client,
        esk.session,
        disposition="emergency_transfer",
        departure_reason="SpO2 84 % despite airway support; EMS called.",
        destination="St. Mary's Hospital ED",
    )
    assert response.status_code == 302
    html = page(client, esk.session)
    assert "Transferred to emergency care" in html and "St. Mary&#x27;s Hospital ED" in html
    assert 'id="departure-advice"' not in html  # the patient left with the paramedics, not with an advice sheet


def test_other_roles_and_sites_cannot_post(esk: Built, client: Client, clinic: Cast) -> None:
    for user, status in ((clinic.coordinator, 403), (clinic.therapist, 403), (clinic.nurse_b, 404)):
        client.force_login(user)
        assert post(client, esk.session, disposition="against_advice").status_code == status
    client.logout()
    assert post(client, esk.session).status_code == 302
    assert not Discharge.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_the_migration_keeps_existing_discharges_as_routine_ones(esk: Built, frozen_clock: Any) -> None:
    recover(esk)
    frozen_clock.move_to(at(125))
    discharge.discharge_patient(esk.session, by=esk.cast.nurse, symptoms_resolved=True, escort_present=True)
    before = Discharge.objects.values("pk", "recovery_id", "vitals_id", "minutes_observed", "ready", "unmet").get()
    executor = MigrationExecutor(connection)
    executor.migrate([("dosing", "0003_monitor_client_tokens")])
    with connection.cursor() as cursor:
        columns = [c.name for c in connection.introspection.get_table_description(cursor, "dosing_discharge")]
    assert "disposition" not in columns
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
    after = Discharge.objects.values(
        "pk", "recovery_id", "vitals_id", "minutes_observed", "ready", "unmet", "disposition"
    ).get()
    assert after == {**before, "disposition": "home"}
