"""The day board: today's dosing sessions at the acting site, by chair, with state, time, vitals, alerts, tasks and
who is responsible; who may see it; what the wall mode hides; audited reads; a constant number of queries."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, ClassVar

import pytest
from django.test import Client
from django.urls import reverse

from ketaclinic.accounts.roles import Role
from ketaclinic.accounts.tests.matrix import PermissionMatrix
from ketaclinic.audit.models import AuditEvent
from ketaclinic.conftest import Cast
from ketaclinic.courses.models import Course
from ketaclinic.courses.tests.conftest import NOW, eligible, iv_course  # noqa: F401
from ketaclinic.courses.tests.conftest import new_patient as register
from ketaclinic.dosing.board import NO_CHAIR, day_board
from ketaclinic.dosing.models import (
    DoseAdministration,
    DosingSession,
    DrugLot,
    RemsForm,
    SessionAlert,
    SessionState,
    VitalSign,
)
from ketaclinic.patients.models import Patient
from ketaclinic.scheduling.actions import appointment_type_for_route
from ketaclinic.scheduling.models import Appointment, AppointmentType, Resource
from ketaclinic.tasks.models import Task

pytestmark = pytest.mark.django_db
BOARD = reverse("dosing_site:board")
ROWS = reverse("dosing_site:board_rows")
S = SessionState


def book(
    cast: Cast,
    *,
    hour: int = 10,
    minute: int = 0,
    chair: str | None = "Chair 1",
    patient: Patient | None = None,
    route: str = "iv",
    days: int = 0,
    staff: Any = None,
    first: str = "Robin",
    last: str = "Testperson",
    atype: AppointmentType | None = None,
) -> Appointment:
    """A dosing appointment stored directly (the board reads what other screens wrote)."""
    site = patient.site if patient else cast.site_a
    zone = site.zone
    start = dt.datetime.combine(
        NOW.astimezone(zone).date() + dt.timedelta(days=days), dt.time(hour, minute), tzinfo=zone
    )
    resource = Resource.objects.get(site=site, name=chair) if chair else None
    return Appointment.objects.create(
        site=site,
        patient=patient or register(cast, legal_first_name=first, legal_last_name=last),
        appointment_type=atype or appointment_type_for_route(route),
        resource=resource,
        staff=staff,
        starts_at=start,
        ends_at=start + dt.timedelta(minutes=70),
        created_by=cast.coordinator,
    )


def open_(appointment: Appointment, cast: Cast, state: str = S.CHECKED_IN, *, arrived: int = 20) -> DosingSession:
    checked = state not in (S.BOOKED, S.CANCELLED, S.NO_SHOW)
    return DosingSession.objects.create(
        appointment=appointment,
        patient=appointment.patient,
        site=appointment.site,
        route=appointment.appointment_type.route,
        state=state,
        checked_in_at=NOW - dt.timedelta(minutes=arrived) if checked else None,
        checked_in_by=cast.nurse if checked else None,
        opened_by=cast.nurse,
    )


def vitals(session: DosingSession, minutes_ago: int, systolic: int = 122, **more: Any) -> VitalSign:
    return VitalSign.objects.create(
        session=session,
        recorded_at=NOW - dt.timedelta(minutes=minutes_ago),
        systolic_mmhg=systolic,
        diastolic_mmhg=78,
        heart_rate_bpm=72,
        spo2_pct=98,
        **more,
    )


def alert(session: DosingSession, level: str, minutes_ago: int, message: str, **more: Any) -> SessionAlert:
    return SessionAlert.objects.create(
        session=session,
        code=f"test_{level}",
        level=level,
        message=message,
        raised_at=NOW - dt.timedelta(minutes=minutes_ago),
        **more,
    )


def risk_task(patient: Patient, status: str = Task.Status.OPEN) -> Task:
    closed = status == Task.Status.DONE
    return Task.objects.create(
        patient=patient,
        site=patient.site,
        kind=Task.Kind.SUICIDE_RISK,
        priority=Task.Priority.URGENT,
        title="Positive suicide screen",
        due_at=NOW + dt.timedelta(hours=1),
        status=status,
        closed_at=NOW if closed else None,
        resolution="Assessed, safe to proceed" if closed else "",
    )


def rows_by_name(board: Any) -> dict[str, Any]:
    return {row.patient.legal_first_name: row for row in board.rows}


# --- the board as data ----------------------------------------------------------------------------------------------


def test_today_s_dosing_appointments_are_grouped_by_chair_with_their_state(clinic: Cast) -> None:
    ana = book(clinic, hour=9, chair="Chair 2", first="Ana")
    ben = book(clinic, hour=8, chair="Chair 1", first="Ben")
    cy = book(clinic, hour=11, chair="Chair 1", first="Cy")
    dee = book(clinic, hour=12, chair=None, first="Dee")
    open_(ana, clinic, S.ON_HOLD)
    open_(cy, clinic, S.DISCHARGED)
    book(clinic, hour=10, first="Yesterday", days=-1)
    book(clinic, hour=10, first="Tomorrow", days=1)
    book(clinic, hour=13, first="Consult", atype=AppointmentType.objects.get(code="consult"))
    book(clinic, chair=None, patient=register(clinic, site=clinic.site_b, legal_first_name="Elsewhere"))

    board = day_board(clinic.site_a)

    assert board.day == dt.date(2026, 10, 21)
    assert [chair.name for chair in board.chairs] == ["Chair 1", "Chair 2", NO_CHAIR]
    assert [[row.patient.legal_first_name for row in chair.rows] for chair in board.chairs] == [
        ["Ben", "Cy"],
        ["Ana"],
        ["Dee"],
    ]
    rows = rows_by_name(board)
    assert (
        rows["Ben"].state == S.BOOKED and rows["Ben"].session is None and rows["Ben"].late
    )  # 08:00, not here at 09:00
    assert rows["Ana"].state == S.ON_HOLD and rows["Ana"].tone == "danger" and not rows["Ana"].late
    assert rows["Cy"].finished and not rows["Ana"].finished
    assert rows["Dee"].state == S.BOOKED and not rows["Dee"].late and rows["Dee"].appointment == dee
    assert board.in_clinic == 1 and board.count(S.BOOKED) == 2
    assert ben.pk not in [r.appointment.pk for r in rows.values() if r.session]


def test_chairs_sort_naturally_and_a_cancelled_booking_without_a_session_says_so(clinic: Cast) -> None:
    Resource.objects.create(site=clinic.site_a, name="Chair 10", kind="infusion_chair")
    book(clinic, chair="Chair 10", first="Ten")
    gone = book(clinic, hour=11, chair="Chair 2", first="Gone")
    gone.status = Appointment.Status.CANCELLED
    gone.save(update_fields=["status"])

    board = day_board(clinic.site_a)

    assert [c.name for c in board.chairs] == ["Chair 2", "Chair 10"]
    assert rows_by_name(board)["Gone"].state == S.CANCELLED and rows_by_name(board)["Gone"].finished


def test_elapsed_time_runs_from_check_in_then_from_the_start_of_the_dose(
    clinic: Cast,
    iv_course: Course,  # noqa: F811
) -> None:
    waiting = open_(book(clinic, first="Waiting"), clinic, S.CLEARED, arrived=75)
    dosed = open_(book(clinic, hour=11, patient=iv_course.patient), clinic, S.MONITORING, arrived=90)
    lot = DrugLot.objects.create(
        site=clinic.site_a,
        drug="ketamine",
        product="Ketamine HCl 50 mg/mL, 10 mL vial",
        mg_per_unit=Decimal(500),
        lot_number="L1",
        expires_on=dt.date(2027, 6, 30),
        received_by=clinic.nurse,
    )
    DoseAdministration.objects.create(
        session=dosed,
        order=iv_course.dose_orders.get(),
        drug="ketamine",
        route="iv",
        amount_mg=Decimal(40),
        lot=lot,
        started_at=NOW - dt.timedelta(minutes=42),
        administered_by=clinic.nurse,
        witnessed_by=clinic.prescriber,
    )
    booked = book(clinic, hour=12, first="Later")

    rows = {row.appointment.pk: row for row in day_board(clinic.site_a).rows}

    assert (rows[waiting.appointment_id].elapsed, rows[waiting.appointment_id].elapsed_from) == (
        "1 h 15 min",
        "since check-in",
    )
    assert (rows[dosed.appointment_id].elapsed_min, rows[dosed.appointment_id].elapsed_from) == (42, "since dose start")
    assert rows[dosed.appointment_id].elapsed == "42 min"
    assert rows[booked.pk].elapsed == "" and rows[booked.pk].elapsed_from == ""


def test_a_session_in_dosing_without_its_dose_record_is_not_timed(clinic: Cast) -> None:
    open_(book(clinic), clinic, S.DOSING)
    (row,) = day_board(clinic.site_a).rows
    assert row.elapsed_min is None and row.elapsed_from == ""


def test_latest_vitals_open_alerts_risk_tasks_and_responsible_staff(clinic: Cast) -> None:
    mine = open_(book(clinic, first="Ana", staff=clinic.prescriber), clinic, S.MONITORING)
    quiet = open_(book(clinic, hour=11, first="Ben"), clinic, S.CHECKED_IN)
    vitals(mine, 30, systolic=150)
    vitals(mine, 5, systolic=168, resp_rate_per_min=12)
    vitals(mine, 10, systolic=140)  # recorded earlier, typed later: the newest reading wins, not the newest row
    alert(mine, "warning", 3, "HR 118/min")
    alert(mine, "urgent", 2, "SpO2 89 %")
    alert(
        mine,
        "urgent",
        20,
        "Old, handled",
        acknowledged_at=NOW,
        acknowledged_by=clinic.nurse,
        action=SessionAlert.Action.OBSERVED,
    )
    risk_task(mine.patient)
    risk_task(quiet.patient, status=Task.Status.DONE)

    rows = rows_by_name(day_board(clinic.site_a))

    ana, ben = rows["Ana"], rows["Ben"]
    assert ana.latest_vitals is not None and ana.latest_vitals.systolic_mmhg == 168
    assert ana.alerts.count == 2 and ana.alerts.top is not None and ana.alerts.top.message == "SpO2 89 %"
    assert not ana.alerts.stands_out  # raised minutes ago, not yet due for escalation
    assert [t.title for t in ana.risk_tasks] == ["Positive suicide screen"]
    assert ana.responsible == clinic.prescriber  # booked with a named clinician
    assert ben.latest_vitals is None and ben.alerts.count == 0 and ben.risk_tasks == []
    assert ben.responsible == clinic.nurse  # else whoever checked the patient in


def test_an_escalated_or_overdue_alert_stands_out(clinic: Cast) -> None:
    escalated = open_(book(clinic, first="Esc"), clinic, S.MONITORING)
    overdue = open_(book(clinic, hour=11, first="Due"), clinic, S.MONITORING)
    alert(escalated, "warning", 4, "BP 172/104", escalated_at=NOW)
    alert(overdue, "urgent", 60, "SpO2 88 %")

    rows = rows_by_name(day_board(clinic.site_a))

    assert rows["Esc"].alerts.escalated and rows["Esc"].alerts.stands_out
    assert rows["Due"].alerts.escalation_due and not rows["Due"].alerts.escalated and rows["Due"].alerts.stands_out


def test_the_rems_form_due_date_shows_until_the_form_is_submitted(clinic: Cast) -> None:
    dosed = open_(book(clinic, route="esketamine_nasal", chair="Room 1", first="Dosed"), clinic, S.MONITORING)
    filed = open_(book(clinic, hour=12, route="esketamine_nasal", chair="Room 1", first="Filed"), clinic, S.DISCHARGED)
    pending = open_(
        book(clinic, hour=14, route="esketamine_nasal", chair="Room 1", first="Pending"), clinic, S.DISCHARGED
    )
    waiting = open_(book(clinic, hour=15, route="esketamine_nasal", chair="Room 1", first="Waiting"), clinic)
    form = {"values": {}, "generated_by": clinic.nurse}
    RemsForm.objects.create(session=filed, due_on=dt.date(2026, 10, 28), submitted_at=NOW, **form)
    RemsForm.objects.create(session=pending, due_on=dt.date(2026, 10, 28), **form)
    iv = open_(book(clinic, hour=16, first="Iv"), clinic, S.DISCHARGED)

    rows = rows_by_name(day_board(clinic.site_a))

    assert rows["Dosed"].rems_due_on == dt.date(2026, 10, 28)  # not generated yet: due per clinical.rems_due_date
    assert rows["Pending"].rems_due_on == dt.date(2026, 10, 28)
    assert rows["Filed"].rems_due_on is None and rows["Waiting"].rems_due_on is None
    assert rows["Iv"].rems_due_on is None and dosed.pk and waiting.pk and iv.pk


def test_an_empty_day(clinic: Cast) -> None:
    board = day_board(clinic.site_a)
    assert board.chairs == [] and board.session_ids == [] and board.open_alerts == 0


# --- the screens ----------------------------------------------------------------------------------------------------


class TestBoardPermissions(PermissionMatrix):
    allowed: ClassVar[set[Role]] = {Role.PRESCRIBER, Role.NURSE, Role.THERAPIST}

    def url(self, cast: Cast) -> str:
        return BOARD


class TestBoardRowsPermissions(PermissionMatrix):
    allowed: ClassVar[set[Role]] = {Role.PRESCRIBER, Role.NURSE, Role.THERAPIST}

    def url(self, cast: Cast) -> str:
        return f"{ROWS}?wall=1"


@pytest.mark.parametrize("role", ["nurse", "prescriber", "therapist"])
def test_clinical_roles_see_the_board_with_full_names(client: Client, clinic: Cast, role: str) -> None:
    session = open_(book(clinic, first="Ana", last="Lopez"), clinic, S.MONITORING)
    vitals(session, 5, systolic=158)
    alert(session, "urgent", 2, "SpO2 89 %")
    risk_task(session.patient)
    client.force_login(getattr(clinic, role))

    response = client.get(BOARD)

    body = response.content.decode()
    assert response.status_code == 200
    assert "Day board · Site A Clinic" in body and "Ana Lopez" in body and "Chair 1" in body
    assert "BP 158/78" in body and "SpO2 89 %" in body and "Suicide-risk follow-up open (1)" in body
    assert reverse("dosing:session", args=[session.patient_id, session.pk]) in body
    assert f'hx-get="{ROWS}"' in body and "every 10s" in body  # refreshes itself
    assert f'href="{BOARD}"' in body  # the menu entry


@pytest.mark.parametrize("role", ["coordinator", "admin"])
def test_the_front_desk_and_admins_use_their_own_lists(client: Client, clinic: Cast, role: str) -> None:
    book(clinic)
    client.force_login(getattr(clinic, role))
    assert client.get(BOARD).status_code == 403
    assert client.get(ROWS).status_code == 403
    assert f'href="{BOARD}"' not in client.get(reverse("home")).content.decode()


def test_signed_out_visitors_are_sent_to_sign_in(client: Client, clinic: Cast) -> None:
    response = client.get(BOARD)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_a_nurse_sees_only_her_own_site(client: Client, clinic: Cast) -> None:
    book(clinic, first="Ana", last="Lopez")
    client.force_login(clinic.nurse_b)
    body = client.get(BOARD).content.decode()
    assert "Site B Clinic" in body and "Ana Lopez" not in body and "No dosing sessions booked today" in body


def test_booked_appointments_offer_to_open_the_session_to_staff_who_record_sessions(
    client: Client, clinic: Cast
) -> None:
    appointment = book(clinic)
    url = reverse("dosing:open", args=[appointment.patient_id, appointment.pk])
    client.force_login(clinic.nurse)
    assert url in client.get(BOARD).content.decode()
    response = client.post(url)
    session = DosingSession.objects.get(appointment=appointment)
    assert response.status_code == 302 and url not in client.get(BOARD).content.decode()
    client.force_login(clinic.therapist)  # reads the chart, does not record sessions
    assert url not in client.get(BOARD).content.decode() and session.state == S.BOOKED


def test_the_wall_mode_shows_initials_and_no_clinical_details(client: Client, clinic: Cast) -> None:
    session = open_(book(clinic, first="Ana", last="Lopez"), clinic, S.MONITORING)
    vitals(session, 5, systolic=158)
    alert(session, "urgent", 2, "SpO2 89 %", escalated_at=NOW)
    risk_task(session.patient)
    client.force_login(clinic.nurse)

    body = client.get(BOARD, {"wall": "1"}).content.decode()

    assert "AL" in body and "Chair 1" in body and "Monitoring" in body and "1 open alert · escalated" in body
    assert "Ana" not in body and "Lopez" not in body and "158/78" not in body and "SpO2 89" not in body
    assert "Suicide" not in body and "⚑ Task open" in body
    assert 'aria-label="Main"' not in body and "Open session" not in body  # no navigation, no actions
    assert f'hx-get="{ROWS}?wall=1"' in body


def test_the_fragment_is_the_rows_alone(client: Client, clinic: Cast) -> None:
    open_(book(clinic, first="Ana", last="Lopez"), clinic, S.CLEARED)
    client.force_login(clinic.nurse)
    body = client.get(ROWS, headers={"HX-Request": "true"}).content.decode()
    assert body.lstrip().startswith('<div id="board-rows"') and "<html" not in body
    assert "Ana Lopez" in body and "Cleared to dose" in body


def test_reads_are_audited_and_unchanged_refreshes_are_not_repeated(client: Client, clinic: Cast) -> None:
    session = open_(book(clinic), clinic, S.CHECKED_IN)
    client.force_login(clinic.nurse)
    listed = AuditEvent.objects.filter(action=AuditEvent.Action.LIST, object_type="dosing.dosingsession")

    client.get(BOARD)
    client.get(ROWS)
    client.get(ROWS)
    assert listed.count() == 1
    event = listed.get()
    assert event.actor == clinic.nurse and event.site == clinic.site_a
    assert event.detail == {"view": "board", "day": "2026-10-21", "count": 1, "sessions": [session.pk]}

    second = open_(book(clinic, hour=11), clinic, S.CHECKED_IN)
    client.get(ROWS)  # another session on screen: recorded
    client.get(ROWS)
    assert listed.count() == 2
    assert listed.order_by("-pk").first().detail["sessions"] == sorted([session.pk, second.pk])
    client.get(BOARD)  # opening the page is always recorded
    assert listed.count() == 3


def test_the_number_of_queries_does_not_grow_with_the_sessions(
    client: Client, clinic: Cast, django_assert_max_num_queries: Any
) -> None:
    client.force_login(clinic.nurse)

    def fill(count: int) -> None:
        for n in range(count):
            appointment = book(clinic, hour=8 + n % 10, minute=(n // 10) * 5, chair=("Chair 1", "Chair 2")[n % 2])
            session = open_(appointment, clinic, (S.MONITORING, S.CHECKED_IN, S.DISCHARGED)[n % 3])
            vitals(session, 3)
            vitals(session, 1)
            alert(session, "warning", 1, "HR 110/min")
            risk_task(appointment.patient)
        book(clinic, hour=17, chair=None)  # and one not opened yet

    fill(2)
    client.get(ROWS)  # warm up (session and site look-ups are cached per request anyway)
    with django_assert_max_num_queries(20) as small:
        client.get(BOARD)
    fill(18)
    with django_assert_max_num_queries(len(small.captured_queries)) as big:
        response = client.get(BOARD)
    assert response.content.decode().count('class="board-row') == 22
    assert len(big.captured_queries) == len(small.captured_queries)
