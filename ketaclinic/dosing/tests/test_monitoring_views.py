"""The monitoring panel and its forms: permissions, the live fragment (and its query budget), errors, 409 on stale."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from ketaclinic.accounts.roles import Role
from ketaclinic.accounts.tests.matrix import PermissionMatrix
from ketaclinic.audit.models import AuditEvent
from ketaclinic.conftest import Cast
from ketaclinic.dosing import monitoring
from ketaclinic.dosing.models import AdverseEvent, DosingSession, ScaleObservation, SessionAlert, SessionNote, VitalSign
from ketaclinic.dosing.tests.conftest import CALM, NOW
from ketaclinic.dosing.tests.monitoring_helpers import Dosed
from ketaclinic.measures.actions import record_response

pytestmark = pytest.mark.django_db
BACKGROUND = {"X-KetaClinic-Background": "1"}


def url(session: DosingSession, name: str, *extra: Any) -> str:
    return reverse(f"dosing:{name}", args=[session.patient_id, session.pk, *extra])


def post(client: Client, session: DosingSession, name: str, prefix: str, *extra: Any, **fields: Any) -> Any:
    data = {f"{prefix}-{k}": v for k, v in fields.items()}
    data.setdefault(f"{prefix}-version", session.version)
    return client.post(url(session, name, *extra), data)


class TestMonitorFragment(PermissionMatrix):
    allowed = {Role.NURSE, Role.PRESCRIBER}
    patient_scoped = True

    @pytest.fixture(autouse=True)
    def _session(self, dosed: Dosed) -> None:
        self.session = dosed(minutes_ago=10)

    def url(self, cast: Cast) -> str:
        return url(self.session, "monitor")


def test_it_shows_the_panel_with_chart_timepoints_and_forms(dosed: Dosed, client: Client, clinic: Cast) -> None:
    session = dosed(route="esketamine_nasal", minutes_ago=47)
    client.force_login(clinic.nurse)
    page = client.get(url(session, "session"))
    html = page.content.decode()
    assert page.status_code == 200
    assert 'id="monitoring"' in html and "<svg" in html and 'hx-trigger="every 15s [document.visibilityState' in html
    assert "data-offline-safe" in html and 'inputmode="numeric"' in html and 'placeholder="122"' in html
    assert "tp-overdue" in html and "15 min" in html  # the 15- and 30-min MOAA/S are missed
    assert 'name="mmoaas-q1" value="0"' in html  # one-tap MOAA/S
    assert "X-KetaClinic-Background" in html


def test_the_session_page_has_no_panel_before_the_dose(make_session, client: Client, clinic: Cast) -> None:
    client.force_login(clinic.nurse)
    page = client.get(url(make_session(), "session"))
    assert page.status_code == 200 and 'id="monitoring"' not in page.content.decode()


def test_it_records_a_vitals_row_and_raises_an_alert(dosed: Dosed, client: Client, clinic: Cast) -> None:
    session = dosed(route="esketamine_nasal", minutes_ago=40)
    client.force_login(clinic.nurse)
    response = post(
        client,
        session,
        "monitor_vitals",
        "mvitals",
        systolic_mmhg=165,
        diastolic_mmhg=90,
        heart_rate_bpm=80,
        spo2_pct=97,
        client_token="row-1",
    )
    assert response.status_code == 302 and response["Location"].endswith("#monitoring")
    again = post(
        client,
        session,
        "monitor_vitals",
        "mvitals",
        systolic_mmhg=165,
        diastolic_mmhg=90,
        heart_rate_bpm=80,
        spo2_pct=97,
        client_token="row-1",
    )
    assert again.status_code == 302
    (sign,) = VitalSign.objects.filter(session=session, is_baseline=False)
    assert sign.timepoint_min == 40
    alert = SessionAlert.objects.get(session=session)
    fragment = client.get(url(session, "monitor"), headers=BACKGROUND).content.decode()
    assert f'id="alert-{alert.pk}"' in fragment and "rose 43 mmHg" in fragment and "Acknowledge" in fragment


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("systolic_mmhg", 400, "400 is outside the allowed range 50–300 mmHg"),
        ("spo2_pct", 120, "120 is outside the allowed range 50–100 %"),
        ("heart_rate_bpm", 0, "0 is outside the allowed range 20–250 /min"),
    ],
)
def test_it_names_the_field_and_range_and_keeps_what_was_typed(
    dosed: Dosed, client: Client, clinic: Cast, field, value, message
) -> None:
    session = dosed(minutes_ago=10)
    client.force_login(clinic.nurse)
    values = {"systolic_mmhg": 130, "diastolic_mmhg": 80, "heart_rate_bpm": 70, "spo2_pct": 97, field: value}
    response = post(client, session, "monitor_vitals", "mvitals", **values)
    html = response.content.decode()
    assert response.status_code == 400
    assert message in html and f'id="id_mvitals-{field}_error"' in html
    assert (f'value="{value}"' in html and 'value="130"' in html) or field == "systolic_mmhg"
    assert not VitalSign.objects.filter(session=session, is_baseline=False).exists()


def test_a_stale_form_answers_409_and_keeps_the_entries(dosed: Dosed, client: Client, clinic: Cast) -> None:
    session = dosed(minutes_ago=10)
    client.force_login(clinic.nurse)
    response = post(
        client,
        session,
        "monitor_vitals",
        "mvitals",
        version=session.version - 1,
        systolic_mmhg=131,
        diastolic_mmhg=80,
        heart_rate_bpm=70,
        spo2_pct=97,
    )
    html = response.content.decode()
    assert response.status_code == 409 and "Someone else changed this session" in html and 'value="131"' in html
    assert f'name="mvitals-version" value="{session.version}"' in html


def test_acknowledging_needs_an_action_and_a_second_nurse_gets_409(dosed: Dosed, client: Client, clinic: Cast) -> None:
    session = dosed(minutes_ago=20)
    alert = monitoring.record_session_vitals(session, by=clinic.nurse, vitals={**CALM, "spo2_pct": 88}).alerts[0]
    client.force_login(clinic.nurse)
    prefix = f"ack{alert.pk}"
    missing = post(client, session, "monitor_ack", prefix, alert.pk, note="Chin lift")
    assert missing.status_code == 400 and "This field is required" in missing.content.decode()
    ok = post(client, session, "monitor_ack", prefix, alert.pk, action="observed", note="Chin lift, SpO2 97 %")
    assert ok.status_code == 302
    alert.refresh_from_db()
    assert alert.action == "observed" and alert.acknowledged_by == clinic.nurse
    client.force_login(clinic.prescriber)
    session.refresh_from_db()
    late = post(client, session, "monitor_ack", prefix, alert.pk, action="emergency", note="Called")
    assert late.status_code == 409 and "Already acknowledged by" in late.content.decode()
    unknown = post(client, session, "monitor_ack", "ack999", 999, action="observed", note="x")
    assert unknown.status_code == 409 and "No such alert in this session" in unknown.content.decode()


def test_an_acknowledgement_with_a_medication_records_it(dosed: Dosed, client: Client, clinic: Cast) -> None:
    session = dosed(minutes_ago=20)
    alert = monitoring.record_session_vitals(session, by=clinic.nurse, vitals={**CALM, "systolic_mmhg": 190}).alerts[0]
    client.force_login(clinic.prescriber)
    response = post(
        client,
        session,
        "monitor_ack",
        f"ack{alert.pk}",
        alert.pk,
        action="medication_given",
        note="Labetalol for BP 190",
        medication="Labetalol",
        medication_dose="10",
        medication_unit="mg",
        medication_route="iv",
    )
    assert response.status_code == 302
    assert alert.interventions.get().medication == "Labetalol"


def test_one_tap_moaas_and_a_cadss6_form(dosed: Dosed, client: Client, clinic: Cast) -> None:
    session = dosed(route="esketamine_nasal", minutes_ago=40)
    client.force_login(clinic.nurse)
    assert post(client, session, "monitor_scale", "mmoaas", "moaas", q1="1").status_code == 302
    moaas = ScaleObservation.objects.get(session=session, instrument="moaas")
    assert moaas.timepoint_min == 40 and SessionAlert.objects.get(session=session).level == "urgent"
    cadss = {f"q{i}": "2" for i in range(1, 7)}
    assert post(client, session, "monitor_scale", "mcadss6", "cadss6", **cadss).status_code == 302
    assert ScaleObservation.objects.get(session=session, instrument="cadss6").total == 12
    bad = post(client, session, "monitor_scale", "mcadss6", "cadss6", q1="9")
    assert bad.status_code == 400 and "Select a valid choice" in bad.content.decode()
    assert client.post(url(session, "monitor_scale", "phq9"), {}).status_code == 404


def test_a_scale_item_error_is_shown_next_to_the_item(dosed: Dosed, client: Client, clinic: Cast, monkeypatch) -> None:
    session = dosed(minutes_ago=10)
    client.force_login(clinic.nurse)

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise monitoring.DosingError("moaas item q1", "not allowed now")

    monkeypatch.setattr(monitoring, "record_scale", refuse)
    response = post(client, session, "monitor_scale", "mmoaas", "moaas", q1="3")
    assert response.status_code == 400 and 'id="id_mmoaas-q1_error"' not in response.content.decode()
    assert "Not allowed now." in response.content.decode()


def test_it_records_an_adverse_event_with_an_intervention(dosed: Dosed, client: Client, clinic: Cast) -> None:
    session = dosed(minutes_ago=30)
    client.force_login(clinic.nurse)
    response = post(
        client,
        session,
        "monitor_event",
        "mevent",
        kind="nausea_vomiting",
        severity="moderate",
        outcome="resolved",
        onset_at="08:55",
        medication="Ondansetron",
        medication_dose="4",
        medication_unit="mg",
        medication_route="iv",
        client_token="ae",
    )
    assert response.status_code == 302
    event = AdverseEvent.objects.get(session=session)
    assert event.onset_at == NOW - dt.timedelta(minutes=5) and not event.serious
    assert event.interventions.get().medication == "Ondansetron"
    bad = post(client, session, "monitor_event", "mevent", kind="other", severity="mild", outcome="resolved")
    assert bad.status_code == 400 and "Describe the event." in bad.content.decode()
    page = client.get(url(session, "monitor")).content.decode()
    assert "Nausea or vomiting" in page and "Ondansetron 4 mg IV" in page


def test_the_panel_is_read_only_after_discharge(dosed: Dosed, client: Client, clinic: Cast) -> None:
    session = dosed(minutes_ago=130, state="discharged")
    client.force_login(clinic.nurse)
    html = client.get(url(session, "session")).content.decode()
    assert 'id="monitoring"' in html and "Read-only" in html
    assert "hx-trigger" not in html and 'id="mon-vitals-form"' not in html


def test_an_htmx_post_answers_with_the_fragment(dosed: Dosed, client: Client, clinic: Cast) -> None:
    session = dosed(minutes_ago=10)
    client.force_login(clinic.nurse)
    response = client.post(
        url(session, "monitor_scale", "moaas"),
        {"mmoaas-version": session.version, "mmoaas-q1": "5"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200 and response.content.decode().lstrip().startswith("<section")


def test_the_fragment_shows_phq9_history_and_the_note_header(dosed: Dosed, client: Client, clinic: Cast) -> None:
    session = dosed(minutes_ago=10)
    for total in (18, 12):
        answers = {f"q{i}": 2 if i <= total // 2 else 0 for i in range(1, 10)}
        record_response(session.patient, "phq9", answers, respondent="patient", channel="clinic", by=clinic.nurse)
    SessionNote.objects.create(
        session=session, text="Calm.", written_by=clinic.nurse, nurse_signed_by=clinic.nurse, nurse_signed_at=NOW
    )
    client.force_login(clinic.nurse)
    html = client.get(url(session, "monitor"), headers=BACKGROUND).content.decode()
    assert "PHQ-9 history:" in html and ": 18</span>" in html and ": 12</span>" in html
    assert "awaiting the prescriber" in html


def test_the_fragment_stays_within_five_queries(
    dosed: Dosed, client: Client, clinic: Cast, django_assert_max_num_queries
) -> None:
    """The benchmark's shape: vitals every 15 s for 2 h (480 sets × 6 signs), a PHQ-9 history and a note header.

    Four statements: the user with their roles, the user's sites, the panel's one read, the audit row (the session
    comes from the cache)."""
    session = dosed(route="esketamine_nasal", minutes_ago=120, state="monitoring")
    start = NOW - dt.timedelta(minutes=120)
    VitalSign.objects.bulk_create(
        VitalSign(
            session=session,
            recorded_at=start + dt.timedelta(seconds=15 * i),
            systolic_mmhg=120 + i % 30,
            diastolic_mmhg=75 + i % 10,
            heart_rate_bpm=70 + i % 15,
            spo2_pct=96 + i % 4,
            resp_rate_per_min=14,
            source="monitor",
        )
        for i in range(480)
    )
    for _ in range(6):
        record_response(
            session.patient, "phq9", {f"q{i}": 1 for i in range(1, 10)}, respondent="patient", channel="clinic"
        )
    SessionNote.objects.create(session=session, text="Draft.", written_by=clinic.nurse)
    monitoring.record_session_vitals(session, by=clinic.nurse, vitals={**CALM, "spo2_pct": 88})
    client.force_login(clinic.nurse)
    client.get(url(session, "monitor"), headers=BACKGROUND)  # warm-up: the first request stores a CSRF token
    with django_assert_max_num_queries(4):
        response = client.get(url(session, "monitor"), headers=BACKGROUND)
    assert response.status_code == 200 and response.content.count(b"<tr>") == 16
    event = AuditEvent.objects.filter(object_type="dosing.dosingsession", action="view").latest("id")
    assert (event.actor, event.acting_role, event.patient_id) == (clinic.nurse, "nurse", session.patient_id)


def test_a_user_allowed_outside_the_roles_still_gets_the_panel(dosed: Dosed, client: Client, clinic: Cast) -> None:
    from ketaclinic.accounts.models import User

    session = dosed(minutes_ago=10)
    boss = User.objects.create_superuser("boss", password="x" * 12)  # capabilities without a role
    client.force_login(boss)
    response = client.get(url(session, "monitor"))
    assert response.status_code == 200 and 'id="monitoring"' in response.content.decode()


def test_a_permission_given_by_hand_outside_the_roles_grants_nothing(
    dosed: Dosed, client: Client, clinic: Cast
) -> None:
    from django.contrib.auth.models import Permission

    session = dosed(minutes_ago=10)
    therapist = clinic.therapist
    therapist.user_permissions.add(Permission.objects.get(codename="record_session"))
    client.force_login(therapist)
    assert client.get(url(session, "monitor")).status_code == 403


def test_the_panel_reads_recovery_scores_and_lists_open_alerts_for_the_board(dosed: Dosed, clinic: Cast) -> None:
    from ketaclinic.dosing.monitoring_panel import load_panel

    session = dosed(minutes_ago=50)
    monitoring.record_scale(session, by=clinic.nurse, instrument="aldrete", answers={f"q{i}": 2 for i in range(1, 6)})
    warning = monitoring.record_session_vitals(session, by=clinic.nurse, vitals={**CALM, "heart_rate_bpm": 130})
    urgent = monitoring.record_session_vitals(session, by=clinic.nurse, vitals={**CALM, "spo2_pct": 85})
    panel = load_panel(session.pk, session.patient_id, [session.site_id], clinic.nurse.pk)
    assert panel is not None and [s.label for s in panel.scales] == ["Modified Aldrete"]
    assert panel.scales[0].timepoint_min is None and panel.roles == ["nurse"]
    assert load_panel(session.pk, session.patient_id, [clinic.site_b.pk], clinic.nurse.pk) is None
    board = monitoring.open_alerts_at([session.site_id])
    assert [a.pk for a in board] == [urgent.alerts[0].pk, warning.alerts[0].pk]
    assert monitoring.open_alerts_at([clinic.site_b.pk]) == []


def test_the_quick_role_check(clinic: Cast) -> None:
    from ketaclinic.dosing.monitoring_views import _acting_role, _roles_allow

    assert _roles_allow(clinic.nurse, ["nurse"]) and not _roles_allow(clinic.nurse, ["therapist", "unknown"])
    clinic.nurse.is_active = False
    assert not _roles_allow(clinic.nurse, ["nurse"])
    clinic.admin.is_superuser = True
    assert _roles_allow(clinic.admin, []) and _acting_role(clinic.admin, []) == "superuser"
    assert _acting_role(clinic.nurse, ["prescriber", "nurse"]) == "prescriber,nurse"


@pytest.mark.parametrize(("who", "status"), [("therapist", 403), ("coordinator", 403), ("nurse_b", 404)])
def test_only_session_staff_of_the_site_may_post(dosed: Dosed, client: Client, clinic: Cast, who, status) -> None:
    session = dosed(minutes_ago=10)
    client.force_login(getattr(clinic, who))
    vitals = {"systolic_mmhg": 130, "diastolic_mmhg": 80, "heart_rate_bpm": 70, "spo2_pct": 97}
    assert post(client, session, "monitor_vitals", "mvitals", **vitals).status_code == status
    assert post(client, session, "monitor_scale", "mmoaas", "moaas", q1="5").status_code == status
    assert not VitalSign.objects.filter(session=session, is_baseline=False).exists()


@pytest.mark.parametrize("sites", [1, 2])
def test_the_composed_sql_reads_exactly_what_the_orm_query_reads(dosed: Dosed, clinic: Cast, sites: int) -> None:
    from ketaclinic.dosing.monitoring_panel import build_panel, panel_query, panel_rows

    def aware(row: tuple) -> tuple:  # the driver's times (SQLite: UTC text) as the ORM gives them
        return tuple(
            (dt.datetime.fromisoformat(v) if isinstance(v, str) else v).replace(tzinfo=dt.UTC)
            if i in (2, 3, 4) and v is not None
            else v
            for i, v in enumerate(row)
        )

    session = dosed(route="esketamine_nasal", minutes_ago=50, state="monitoring")
    monitoring.record_session_vitals(session, by=clinic.nurse, vitals={**CALM, "systolic_mmhg": 172})
    monitoring.record_scale(session, by=clinic.nurse, instrument="moaas", answers={"q1": 3})
    record_response(session.patient, "phq9", {f"q{i}": 1 for i in range(1, 10)}, respondent="patient", channel="clinic")
    SessionNote.objects.create(session=session, text="Draft.", written_by=clinic.nurse)
    site_ids = [session.site_id, clinic.site_b.pk][:sites]
    expected = sorted(panel_query(session.pk, session.patient_id, site_ids, clinic.nurse.pk), key=repr)
    rows = panel_rows(session.pk, session.patient_id, site_ids, clinic.nurse.pk)
    got = sorted((aware(r) for r in rows), key=repr)
    assert got == expected and len(got) > 8
    now = timezone.now()
    assert build_panel(rows, now=now) == build_panel(expected, now=now)
    assert {row[0] for row in got} >= {"session", "dose", "scale", "alert", "phq9", "note", "role"}
    other = dosed(minutes_ago=10)
    assert [r for r in panel_rows(other.pk, other.patient_id, site_ids, clinic.nurse.pk) if r[0] == "session"]
    assert not [r for r in panel_rows(session.pk, session.patient_id, [clinic.site_b.pk], None) if r[0] == "session"]


def test_the_panel_reads_every_reading_as_the_orm_does_in_time_order(dosed: Dosed, clinic: Cast) -> None:
    from ketaclinic.dosing.monitoring_panel import V_EPOCH, load_panel

    session = dosed(minutes_ago=50, state="monitoring")
    for minutes, sbp in ((40, 150), (20, 131), (30, 176)):  # recorded out of time order
        at = timezone.now() - dt.timedelta(minutes=minutes, microseconds=250)
        monitoring.record_session_vitals(session, by=clinic.nurse, vitals={**CALM, "systolic_mmhg": sbp}, taken_at=at)
    panel = load_panel(session.pk, session.patient_id, [session.site_id], clinic.nurse.pk)
    assert panel is not None and panel.start is not None
    expected = list(VitalSign.objects.filter(session=session).order_by("recorded_at", "id"))
    got = panel.readings
    assert [(r.id, r.at, r.systolic_mmhg, r.diastolic_mmhg, r.heart_rate_bpm, r.spo2_pct) for r in got] == [
        (v.pk, v.recorded_at, v.systolic_mmhg, v.diastolic_mmhg, v.heart_rate_bpm, v.spo2_pct) for v in expected
    ]
    assert [(r.resp_rate_per_min, r.timepoint_min, r.is_baseline, r.source) for r in got] == [
        (v.resp_rate_per_min, v.timepoint_min, v.is_baseline, v.source) for v in expected
    ]
    assert [r.minute for r in got] == [(v.recorded_at - panel.start).total_seconds() / 60 for v in expected]
    baselines = [r for r in got if r.is_baseline]
    assert all(r.at.tzinfo is not None for r in got) and len(got) - len(baselines) == 3
    assert panel.in_session_count == 3 and panel.baseline == (baselines[-1] if baselines else None)
    assert [r.systolic_mmhg for r in panel.latest_in_session(2)] == [131, 176]
    assert panel.last == got[-1]
    # The chart's minutes (from epoch seconds) agree with the exact ones to well under a second.
    start = panel.start.timestamp()
    assert all(abs((row[V_EPOCH] - start) / 60 - r.minute) < 1e-4 for row, r in zip(panel.vitals, got, strict=True))


def test_the_panel_sorts_readings_whatever_order_the_database_gives() -> None:
    import orjson

    from ketaclinic.dosing.monitoring_panel import build_panel

    def vital(pk: int, at: str, sbp: int, baseline: int = 0) -> list[object]:
        return ["vital", pk, at, None, None, sbp, 80, 70, 97, 14, None, baseline, "typed", *[None] * 5, 0.0]

    readings = [
        vital(7, "2026-10-21 14:00:15", 120),
        vital(5, "2026-10-21 14:00:00.500000", 121),
        vital(6, "2026-10-21 14:00:00.500000", 122),
        vital(4, "2026-10-21 14:00:00", 110, baseline=1),
    ]
    header = ("session", 1, None, None, None, 1.0, 1.0, None, None, None, None, None, "monitoring", "iv")
    panel = build_panel([(*header, orjson.dumps(readings).decode(), None, None, None, None)], now=NOW)
    assert panel is not None and [r[1] for r in panel.vitals] == [4, 5, 6, 7]
    assert panel.baseline is not None and panel.baseline.id == 4 and panel.in_session_count == 3
    # PostgreSQL's rows of the union arrive the same way, as rows of kind "vital" (numbers as floats).
    rows = [(*header, None, None, None, None, None), *(tuple(r) for r in reversed(readings))]
    from_rows = build_panel(rows, now=NOW)
    assert from_rows is not None and [r[1] for r in from_rows.vitals] == [4, 5, 6, 7]
    empty = build_panel([(*header, None, None, None, None, None)], now=NOW)
    assert empty is not None and empty.vitals == [] and empty.baseline is None and empty.last is None


@pytest.mark.parametrize(
    "value",
    ["2026-10-21 14:00:00", "2026-10-21 14:00:00.000000", dt.datetime(2026, 10, 21, 14), NOW],
    ids=["text", "text-microseconds", "naive", "aware"],
)
def test_the_composed_sql_hands_back_aware_utc_times_from_either_database(value: Any) -> None:
    from ketaclinic.typed_union import aware as _aware

    assert _aware(value) == NOW and _aware(value).tzinfo is not None
    assert _aware(None) is None


def test_a_finished_sessions_undone_timepoints_read_missed_not_overdue(
    dosed: Dosed, client: Client, clinic: Cast
) -> None:
    live = dosed(route="esketamine_nasal", minutes_ago=47)
    client.force_login(clinic.nurse)
    html = client.get(url(live, "monitor")).content.decode()
    assert "tp-overdue" in html and "overdue-banner" in html and "tp-missed" not in html
    finished = dosed(route="esketamine_nasal", minutes_ago=47, state="discharged")
    html = client.get(url(finished, "monitor")).content.decode()
    assert "tp-missed" in html and "missed-banner" in html and 'class="tick tick-missed"' in html
    assert "tp-overdue" not in html and "overdue-banner" not in html and "min late" not in html
    assert "Read-only: the patient has been discharged." in html
    assert '<h2 id="monitoring-title">4. Monitoring</h2>' in html  # no "minute N since the dose" days later
