"""The dose record: today's dose, starting it, IV rates and stops, single-administration routes, esketamine devices."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied

from ketaclinic.accounts.roles import Role
from ketaclinic.accounts.tests.factories import UserFactory
from ketaclinic.audit.models import AuditEvent
from ketaclinic.conftest import Cast
from ketaclinic.courses.actions import order_dose
from ketaclinic.courses.models import Course, DoseOrder
from ketaclinic.dosing import actions, stock
from ketaclinic.dosing import administration as adm
from ketaclinic.dosing.actions import DosingError, StaleSessionError
from ketaclinic.dosing.models import DosingSession, LotMovement
from ketaclinic.dosing.tests import doses
from ketaclinic.dosing.tests.conftest import NOW
from ketaclinic.dosing.tests.doses import mg, receive

pytestmark = pytest.mark.django_db
dose_session, eligible = doses.dose_session, doses.eligible
Make = Callable[..., DosingSession]
MIN = dt.timedelta(minutes=1)


def start(session: DosingSession, cast: Cast, lot: Any, **kwargs: Any) -> Any:
    values: dict[str, Any] = {
        "by": cast.nurse,
        "lot": lot,
        "witness": cast.prescriber,
        "witness_password": cast.password,
    }
    values.update(kwargs)
    return adm.start_dose(session, **values)


def course_id(session: DosingSession) -> int:
    assert session.course_ref is not None
    return session.course_ref


def kinds(lot: Any) -> list[tuple[str, Any]]:
    return [(m.kind, m.amount_mg) for m in LotMovement.objects.filter(lot=lot).order_by("at", "id")]


# --- Today's dose -----------------------------------------------------------------------------------------------


def test_it_computes_todays_iv_dose_from_the_order_and_todays_weight(dose_session: Make) -> None:
    session = dose_session(weight_kg="82.3")
    today = adm.dose_for_today(session)
    assert today.drug == "ketamine" and today.route == "iv" and today.is_infusion
    assert (today.mg_per_kg, today.weight_kg, today.weight_basis) == (Decimal("0.500"), Decimal("82.3"), "actual")
    assert today.weight_basis_label == "actual body weight" and today.weight_source == "weighed at check-in today"
    assert today.amount_mg == Decimal("41.2")  # 0.5 × 82.3 = 41.15 → 41.2 (half up)
    assert today.duration_min == Decimal("40.0")
    assert today.volume_ml(Decimal("50")) == Decimal("0.82")
    assert today.volume_ml(None) is None
    assert today.rate_ml_per_h(Decimal("50"), Decimal("100")) == Decimal("151.2")
    assert today.rate_ml_per_h(None, Decimal("100")) is None


def test_it_uses_the_order_in_force_for_the_sessions_number(dose_session: Make, clinic: Cast) -> None:
    session = dose_session()
    course = Course.objects.get(pk=course_id(session))
    order_dose(course, by=clinic.prescriber, reason="Titrate up", mg_per_kg=Decimal("0.6"), effective_from_session=2)
    assert adm.current_order(session).mg_per_kg == Decimal("0.500")  # the session-2 order is not yet in force
    order_dose(course, by=clinic.prescriber, reason="Tolerance", mg_per_kg=Decimal("0.4"), effective_from_session=1)
    assert adm.dose_for_today(session).amount_mg == Decimal("32.0")  # 0.4 × 80, the newest order for session 1


def test_it_computes_an_override_order_as_ordered(dose_session: Make, clinic: Cast) -> None:
    session = dose_session()
    course = Course.objects.get(pk=course_id(session))
    order_dose(
        course,
        by=clinic.prescriber,
        reason="Partial response",
        mg_per_kg=Decimal("1.2"),
        override_reason="Partial response at 1.0 mg/kg over six sessions; well tolerated, monitored closely.",
        effective_from_session=1,
    )
    assert adm.dose_for_today(session).amount_mg == Decimal("96.0")


def test_it_uses_the_orders_weight_for_an_ideal_weight_basis(dose_session: Make) -> None:
    session = dose_session(weight_kg=120, weight_basis="ideal")
    today = adm.dose_for_today(session)
    assert today.weight_basis == "ideal" and today.weight_source == "from the order"
    assert today.weight_kg == Decimal("80.0") and today.amount_mg == Decimal("40.0")


def test_it_needs_a_check_in_weight_for_an_actual_weight_order(dose_session: Make) -> None:
    session = dose_session()
    session.checkin.delete()
    with pytest.raises(DosingError, match="checkin: today's weight is taken at check-in"):
        adm.dose_for_today(session)


def test_it_computes_esketamine_devices(dose_session: Make) -> None:
    today: Any = adm.dose_for_today(dose_session(route="esketamine_nasal"))
    assert (today.drug, today.amount_mg, today.devices, today.rest_between_devices_min) == ("esketamine", 56, 2, 5.0)
    assert not today.is_infusion and today.mg_per_kg is None and today.weight_basis_label == ""


def test_it_counts_devices_from_the_amount_when_the_order_has_none(dose_session: Make) -> None:
    session = dose_session(route="esketamine_nasal")
    DoseOrder.objects.filter(course_id=course_id(session)).update(devices=None)
    assert adm.dose_for_today(session).devices == 2


def test_it_refuses_a_dose_without_a_course_or_order(dose_session: Make, clinic: Cast) -> None:
    session = dose_session(course=False, cleared=False)
    with pytest.raises(DosingError, match="order: this session belongs to no treatment course: ask the prescriber"):
        adm.dose_for_today(session)
    assert adm.current_order(session) is None
    other = dose_session(cleared=False)
    DosingSession.objects.filter(pk=other.pk).update(sequence_number=None)
    other.refresh_from_db()
    assert adm.current_order(other) is not None  # no number: the latest order
    DoseOrder.objects.filter(course_id=course_id(other)).update(effective_from_session=3)
    DosingSession.objects.filter(pk=other.pk).update(sequence_number=1)
    other.refresh_from_db()
    with pytest.raises(DosingError, match="order: the course has no dose order for session 1"):
        adm.dose_for_today(other)


def test_it_refuses_a_dose_on_an_ended_course(dose_session: Make) -> None:
    session = dose_session()
    Course.objects.filter(pk=course_id(session)).update(status="stopped")
    with pytest.raises(DosingError, match="order: the course is stopped"):
        adm.dose_for_today(session)


# --- Starting ----------------------------------------------------------------------------------------------------


def test_it_starts_an_infusion_with_its_rate_and_witness(dose_session: Make, clinic: Cast) -> None:
    session = dose_session()
    lot = receive(clinic)
    record = start(session, clinic, lot, diluent_ml="250", started_at=NOW - 2 * MIN)
    session.refresh_from_db()
    assert session.state == "dosing" and session.version == 5
    assert (record.amount_mg, record.volume_ml, record.rate_ml_per_h) == (40, Decimal("0.80"), Decimal("376.2"))
    assert record.diluent == "0.9 % sodium chloride 250 mL" and record.planned_duration_min == 40
    assert (record.administered_by, record.witnessed_by, record.started_at) == (
        clinic.nurse,
        clinic.prescriber,
        NOW - 2 * MIN,
    )
    assert record.amount_given_mg is None and record.stopped_at is None
    # The bag is hung: nothing is written to the log yet, but the drug is in use, not on the shelf.
    assert kinds(lot) == [("received", 5000)]
    assert stock.on_hand_mg(lot) == mg(4960)
    event = AuditEvent.objects.get(object_type="dosing.doseadministration", action="create")
    assert set(event.detail) == {"lot_id", "order_id", "witness_id"}


@pytest.mark.parametrize("route", ["im", "sublingual", "intranasal"])
def test_it_gives_single_administration_routes_at_once(dose_session: Make, clinic: Cast, route: str) -> None:
    session = dose_session(route=route)
    lot = receive(clinic)
    record = start(session, clinic, lot, site_of_administration="left deltoid" if route == "im" else "")
    session.refresh_from_db()
    assert session.state == "monitoring"
    assert record.started_at == record.stopped_at == NOW and record.amount_given_mg == record.amount_mg
    assert kinds(lot) == [("received", 5000), ("administered", record.amount_mg)]
    assert record.diluent == "" and record.rate_ml_per_h is None
    assert adm.infused_mg(record, NOW) == 0 and adm.current_rate(record) == 0


def test_it_needs_the_injection_site_for_im(dose_session: Make, clinic: Cast) -> None:
    session = dose_session(route="im")
    lot = receive(clinic)
    with pytest.raises(DosingError, match="site_of_administration: say where it was injected"):
        start(session, clinic, lot, witness_password="not checked before the injection site")
    with pytest.raises(DosingError, match="site_of_administration: at most 60"):
        start(session, clinic, lot, site_of_administration="x" * 61)


def test_it_refuses_to_start_unless_cleared(dose_session: Make, clinic: Cast) -> None:
    lot = receive(clinic)
    waiting = dose_session(cleared=False)
    with pytest.raises(DosingError, match="state: a dose starts only once the session is cleared"):
        start(waiting, clinic, lot)
    stale = dose_session()
    actions.record_baseline_vitals(
        stale,
        by=clinic.nurse,
        vitals={"systolic_mmhg": 125, "diastolic_mmhg": 80, "heart_rate_bpm": 70, "spo2_pct": 98},
    )
    with pytest.raises(DosingError, match="state: new vital signs were taken: run the gate again"):
        start(stale, clinic, lot)


def test_it_refuses_to_start_with_an_unconfirmed_positive_screen(
    dose_session: Make, clinic: Cast, monkeypatch: pytest.MonkeyPatch
) -> None:
    session = dose_session()
    monkeypatch.setattr(adm, "dosing_allowed", lambda s: False)
    with pytest.raises(DosingError, match="state: a positive screen awaits a prescriber"):
        start(session, clinic, receive(clinic))


def test_it_refuses_roles_that_do_not_administer(dose_session: Make, clinic: Cast) -> None:
    session = dose_session()
    with pytest.raises(PermissionDenied):
        start(session, clinic, receive(clinic), by=clinic.therapist)


def test_it_refuses_a_stale_version(dose_session: Make, clinic: Cast) -> None:
    session = dose_session()
    with pytest.raises(StaleSessionError):
        start(session, clinic, receive(clinic), version=session.version - 1)


def test_it_checks_the_lot(dose_session: Make, clinic: Cast) -> None:
    session = dose_session()
    with pytest.raises(DosingError, match="lot: choose the lot"):
        start(session, clinic, None)
    other_site = receive(clinic, site=clinic.site_b, by=clinic.nurse_b, lot_number="B-1")
    with pytest.raises(DosingError, match="lot: lot B-1 is not stock of this site"):
        start(session, clinic, other_site)
    wrong_drug = receive(clinic, drug="esketamine", lot_number="E-1")
    with pytest.raises(DosingError, match="lot: lot E-1 is Esketamine nasal spray; today's dose is ketamine"):
        start(session, clinic, wrong_drug)
    expiring = receive(clinic, lot_number="K-EXP", expires_on=dt.date(2026, 10, 21))
    start_tomorrow = NOW + dt.timedelta(days=1)
    with pytest.raises(DosingError, match="started_at: cannot be in the future"):
        start(session, clinic, expiring, started_at=start_tomorrow)
    type(expiring).objects.filter(pk=expiring.pk).update(expires_on=dt.date(2026, 10, 20))
    with pytest.raises(DosingError, match="lot: lot K-EXP expired on 2026-10-20; do not use it"):
        start(session, clinic, expiring)
    type(expiring).objects.filter(pk=expiring.pk).update(expires_on=dt.date(2027, 1, 1), concentration_mg_per_ml=None)
    with pytest.raises(DosingError, match="lot: lot K-EXP has no concentration"):
        start(session, clinic, expiring)
    small = receive(clinic, lot_number="K-LOW", units=1)
    stock.return_stock(small, by=clinic.nurse, amount_mg=470, reason="Damaged vial")
    with pytest.raises(DosingError, match="lot: only 30 mg on hand in lot K-LOW; today's dose needs 40 mg"):
        start(session, clinic, small)


def test_it_accepts_a_lot_on_its_expiry_date(dose_session: Make, clinic: Cast) -> None:
    session = dose_session()
    lot = receive(clinic, expires_on=dt.date(2026, 10, 21))
    assert start(session, clinic, lot).lot == lot


def test_it_checks_the_witness(dose_session: Make, clinic: Cast) -> None:
    session = dose_session()
    lot = receive(clinic)
    with pytest.raises(DosingError, match="witness: choose the second member"):
        start(session, clinic, lot, witness=None)
    with pytest.raises(DosingError, match="witness: the witness must be a second person, not you"):
        start(session, clinic, lot, witness=clinic.nurse)
    for wrong in (clinic.therapist, clinic.nurse_b):
        with pytest.raises(
            DosingError, match="witness: the witness must be a nurse or prescriber working at this site"
        ):
            start(session, clinic, lot, witness=wrong)
    with pytest.raises(DosingError, match=r"witness_password: the password of .* is not correct"):
        start(session, clinic, lot, witness_password="guess")
    with pytest.raises(DosingError, match="witness_password"):
        start(session, clinic, lot, witness_password="")
    session.refresh_from_db()
    assert session.state == "cleared" and not LotMovement.objects.exclude(kind="received").exists()


def test_it_refuses_a_start_before_check_in_and_checks_the_infusion_inputs(dose_session: Make, clinic: Cast) -> None:
    session = dose_session()
    lot = receive(clinic)
    with pytest.raises(DosingError, match="started_at: cannot be before 08:15"):
        start(session, clinic, lot, started_at=NOW - 46 * MIN)
    with pytest.raises(DosingError, match="started_at: a date and time is needed"):
        start(session, clinic, lot, started_at=NOW.replace(tzinfo=None))
    for bad in ("5", "1001", "lots", None):
        with pytest.raises(DosingError, match="diluent_ml: a number from 10 to 1000 mL"):
            start(session, clinic, lot, diluent_ml=bad)
    with pytest.raises(DosingError, match="diluent: say why"):
        start(session, clinic, lot, diluent=" ")


# --- IV: rates, pause, resume, stop -----------------------------------------------------------------------------


@pytest.fixture
def infusing(dose_session: Make, clinic: Cast) -> DosingSession:
    session = dose_session()
    start(session, clinic, receive(clinic), started_at=NOW - 30 * MIN)
    session.refresh_from_db()
    return session


def test_it_changes_pauses_and_resumes_the_rate(infusing: DosingSession, clinic: Cast) -> None:
    record = infusing.administration
    assert adm.current_rate(record) == Decimal("151.2")
    adm.change_rate(infusing, by=clinic.nurse, rate_ml_per_h="75.6", reason="BP 165/95", at=NOW - 20 * MIN)
    paused = adm.pause_infusion(infusing, by=clinic.nurse, reason="Nausea", at=NOW - 10 * MIN)
    assert paused.rate_ml_per_h == 0 and adm.current_rate(record) == 0
    with pytest.raises(DosingError, match="at: cannot be before 08:50"):
        adm.resume_infusion(infusing, by=clinic.nurse, at=NOW - 15 * MIN)
    resumed = adm.resume_infusion(infusing, by=clinic.nurse, at=NOW - 5 * MIN)
    assert resumed.rate_ml_per_h == Decimal("75.6") and resumed.reason == "Resumed"
    with pytest.raises(DosingError, match="rate_ml_per_h: the infusion is not paused"):
        adm.resume_infusion(infusing, by=clinic.nurse)
    # 10 min at 151.2 + 10 min at 75.6 + 5 min paused + 5 min at 75.6 = 44.1 mL of 100.8 mL → 17.5 of 40 mg
    assert adm.infused_mg(record, NOW) == Decimal("17.5")
    assert adm.infused_mg(record, NOW - 25 * MIN) == Decimal("5.0")
    assert adm.infused_mg(record, NOW + 60 * MIN) == Decimal("40.0")  # never more than the dose


def test_it_resumes_at_the_starting_rate(infusing: DosingSession, clinic: Cast) -> None:
    adm.pause_infusion(infusing, by=clinic.nurse, reason="Patient request")
    assert adm.resume_infusion(infusing, by=clinic.nurse).rate_ml_per_h == Decimal("151.2")


def test_it_checks_rate_changes(infusing: DosingSession, clinic: Cast) -> None:
    for bad in ("-1", "1000", "fast"):
        with pytest.raises(DosingError, match=r"rate_ml_per_h: a number from 0 to 999\.9 mL/h"):
            adm.change_rate(infusing, by=clinic.nurse, rate_ml_per_h=bad, reason="x")
    with pytest.raises(DosingError, match="reason: say why"):
        adm.change_rate(infusing, by=clinic.nurse, rate_ml_per_h=50, reason="")
    with pytest.raises(DosingError, match="reason: at most 300"):
        adm.change_rate(infusing, by=clinic.nurse, rate_ml_per_h=50, reason="x" * 301)
    with pytest.raises(DosingError, match="at: cannot be before 08:30"):
        adm.change_rate(infusing, by=clinic.nurse, rate_ml_per_h=50, reason="BP", at=NOW - 31 * MIN)
    with pytest.raises(StaleSessionError):
        adm.change_rate(infusing, by=clinic.nurse, rate_ml_per_h=50, reason="BP", version=1)
    with pytest.raises(PermissionDenied):
        adm.change_rate(infusing, by=clinic.coordinator, rate_ml_per_h=50, reason="BP")


def test_it_stops_a_completed_infusion_and_logs_the_whole_dose(infusing: DosingSession, clinic: Cast) -> None:
    lot = infusing.administration.lot
    record: Any = adm.stop_infusion(infusing, by=clinic.nurse, stopped_at=NOW + 10 * MIN - 10 * MIN)
    infusing.refresh_from_db()
    assert infusing.state == "monitoring"
    assert (record.stopped_at, record.amount_given_mg, record.stop_reason) == (NOW, 40, "")
    assert kinds(lot) == [("received", 5000), ("administered", 40)]
    assert LotMovement.objects.get(kind="administered").witness == clinic.prescriber
    assert stock.on_hand_mg(lot) == mg(4960)


def test_it_stops_early_wasting_the_rest_with_a_witness(infusing: DosingSession, clinic: Cast) -> None:
    lot = infusing.administration.lot
    with pytest.raises(DosingError, match="reason: say why"):
        adm.stop_infusion(infusing, by=clinic.nurse, amount_given_mg="30")
    with pytest.raises(DosingError, match="witness: choose"):
        adm.stop_infusion(infusing, by=clinic.nurse, amount_given_mg="30", reason="Hypertension 180/110")
    record: Any = adm.stop_infusion(
        infusing,
        by=clinic.nurse,
        amount_given_mg="30",
        reason="Hypertension 180/110",
        witness=clinic.prescriber,
        witness_password=clinic.password,
    )
    assert (record.amount_given_mg, record.stop_reason) == (30, "Hypertension 180/110")
    assert kinds(lot) == [("received", 5000), ("administered", 30), ("wasted", 10)]
    waste = LotMovement.objects.get(kind="wasted")
    assert waste.witness == clinic.prescriber and waste.administration == record
    assert stock.on_hand_mg(lot) == mg(4960)


def test_it_stops_with_nothing_given(infusing: DosingSession, clinic: Cast) -> None:
    lot = infusing.administration.lot
    adm.stop_infusion(
        infusing,
        by=clinic.nurse,
        amount_given_mg=0,
        reason="Line tissued before start",
        witness=clinic.prescriber,
        witness_password=clinic.password,
    )
    assert kinds(lot) == [("received", 5000), ("wasted", 40)]


def test_it_checks_the_stop(infusing: DosingSession, clinic: Cast) -> None:
    for bad in ("41", "-1", "x"):
        with pytest.raises(DosingError, match=r"amount_given_mg: a number from 0 to 40\.0 mg"):
            adm.stop_infusion(infusing, by=clinic.nurse, amount_given_mg=bad)
    with pytest.raises(DosingError, match="reason: at most 300"):
        adm.stop_infusion(infusing, by=clinic.nurse, reason="x" * 301)
    with pytest.raises(DosingError, match="stopped_at: cannot be before 08:30"):
        adm.stop_infusion(infusing, by=clinic.nurse, stopped_at=NOW - 40 * MIN)
    adm.stop_infusion(infusing, by=clinic.nurse, amount_given_mg="")
    with pytest.raises(DosingError, match="state: no dose is running"):
        adm.stop_infusion(infusing, by=clinic.nurse)


def test_it_refuses_iv_actions_on_other_routes(dose_session: Make, clinic: Cast) -> None:
    session = dose_session(route="esketamine_nasal")
    start(session, clinic, receive(clinic, drug="esketamine"))
    with pytest.raises(DosingError, match="route: rates and stops apply to an IV infusion"):
        adm.pause_infusion(session, by=clinic.nurse, reason="x")


# --- Esketamine devices -----------------------------------------------------------------------------------------


@pytest.fixture
def spraying(dose_session: Make, clinic: Cast) -> DosingSession:
    session = dose_session(route="esketamine_nasal")
    start(session, clinic, receive(clinic, drug="esketamine", lot_number="E-1", units=6), started_at=NOW - 12 * MIN)
    session.refresh_from_db()
    return session


def test_it_takes_device_one_at_the_start(spraying: DosingSession, clinic: Cast) -> None:
    record = spraying.administration
    assert spraying.state == "dosing" and record.started_at == NOW - 12 * MIN
    assert [(d.number, d.at) for d in record.devices.all()] == [(1, NOW - 12 * MIN)]
    assert kinds(record.lot) == [("received", 168), ("administered", 28)]
    # The second device of the dose is in use; four sealed devices are on the shelf.
    assert stock.on_hand_mg(record.lot) == mg(112)
    assert adm.next_device(record) == (2, NOW - 7 * MIN)
    assert adm.devices_ordered(record) == 2


def test_it_refuses_a_device_too_soon_naming_when_it_may_be_given(spraying: DosingSession, clinic: Cast) -> None:
    with pytest.raises(
        DosingError, match=r"at: Device 2 is 3.0 minutes after device 1; .* Device 2 may be given from 08:53"
    ):
        adm.record_device(spraying, by=clinic.nurse, at=NOW - 9 * MIN)
    with pytest.raises(DosingError, match="at: cannot be before 08:48"):
        adm.record_device(spraying, by=clinic.nurse, at=NOW - 13 * MIN)


def test_it_records_the_last_device_and_moves_to_monitoring(spraying: DosingSession, clinic: Cast) -> None:
    device = adm.record_device(spraying, by=clinic.nurse, at=NOW - 6 * MIN)
    spraying.refresh_from_db()
    record: Any = spraying.administration
    assert device.number == 2 and spraying.state == "monitoring"
    assert (record.stopped_at, record.amount_given_mg) == (NOW - 6 * MIN, 56)
    assert kinds(record.lot) == [("received", 168), ("administered", 28), ("administered", 28)]
    assert stock.on_hand_mg(record.lot) == mg(112) and adm.next_device(record) is None
    with pytest.raises(DosingError, match="state: no dose is running"):
        adm.record_device(spraying, by=clinic.nurse)


def test_it_refuses_more_devices_than_ordered(spraying: DosingSession, clinic: Cast) -> None:
    DoseOrder.objects.filter(pk=spraying.administration.order_id).update(devices=1)
    with pytest.raises(DosingError, match="device: all 1 devices of this dose have been given"):
        adm.record_device(spraying, by=clinic.nurse)


def test_it_ends_an_esketamine_dose_early_keeping_sealed_devices(spraying: DosingSession, clinic: Cast) -> None:
    with pytest.raises(DosingError, match="reason: say why"):
        adm.stop_devices(spraying, by=clinic.nurse, reason="")
    record: Any = adm.stop_devices(spraying, by=clinic.nurse, reason="Declined the second device (nausea)")
    spraying.refresh_from_db()
    assert spraying.state == "monitoring" and record.amount_given_mg == 28 and record.stopped_at == NOW
    assert stock.on_hand_mg(record.lot) == mg(140)


def test_it_gives_a_one_device_dose_at_once(dose_session: Make, clinic: Cast) -> None:
    session = dose_session(route="esketamine_nasal")
    DoseOrder.objects.filter(course_id=course_id(session)).update(amount_mg=28, devices=1)
    record = start(session, clinic, receive(clinic, drug="esketamine", lot_number="E-2"))
    session.refresh_from_db()
    assert session.state == "monitoring" and record.amount_given_mg == 28


def test_it_refuses_device_actions_on_an_infusion(infusing: DosingSession, clinic: Cast) -> None:
    with pytest.raises(DosingError, match="route: devices are recorded for esketamine only"):
        adm.record_device(infusing, by=clinic.nurse)


def test_a_second_nurse_may_witness(dose_session: Make, clinic: Cast) -> None:
    second = UserFactory.create(username="nurse2", roles=[Role.NURSE], sites=[clinic.site_a])
    session = dose_session()
    record = start(session, clinic, receive(clinic), witness=second)
    assert record.witnessed_by == second
