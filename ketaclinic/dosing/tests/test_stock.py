"""The controlled-substance log: receiving, waste, returns, two-person counts, balances, the ledger and the export."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied

from ketaclinic.audit.models import AuditEvent
from ketaclinic.conftest import Cast
from ketaclinic.dosing import stock
from ketaclinic.dosing.actions import DosingError
from ketaclinic.dosing.models import DrugLot, LotCount, LotMovement
from ketaclinic.dosing.tests.conftest import NOW
from ketaclinic.dosing.tests.doses import mg, receive

pytestmark = pytest.mark.django_db
NOTE = "One vial found broken in the safe; reported to the pharmacist."


@pytest.fixture
def lot(clinic: Cast) -> DrugLot:
    return receive(clinic)


def witnessed(cast: Cast) -> dict[str, Any]:
    return {"by": cast.nurse, "witness": cast.prescriber, "witness_password": cast.password}


def test_it_receives_a_lot_and_more_of_it(clinic: Cast, lot: Any) -> None:
    assert (lot.drug, lot.mg_per_unit, lot.concentration_mg_per_ml, lot.received_by) == (
        "ketamine",
        500,
        50,
        clinic.nurse,
    )
    receive(clinic, units=2)
    assert DrugLot.objects.count() == 1
    assert stock.on_hand_mg(lot) == mg(6000)
    assert AuditEvent.objects.filter(object_type="dosing.lotmovement", action="create").count() == 2
    assert AuditEvent.objects.get(object_type="dosing.druglot").detail == {}


def test_it_refuses_bad_receipts(clinic: Cast, lot: DrugLot) -> None:
    site, nurse = clinic.site_a, clinic.nurse
    good: dict[str, Any] = {
        "by": nurse,
        "drug": "ketamine",
        "product": "Ketamine 50 mg/mL",
        "lot_number": "K-2",
        "expires_on": dt.date(2027, 1, 1),
        "mg_per_unit": 500,
        "units": 1,
        "concentration_mg_per_ml": 50,
    }
    cases: list[tuple[dict[str, Any], str]] = [
        ({"drug": "heroin"}, "drug: one of ketamine, esketamine"),
        ({"product": " "}, "product: say why"),
        ({"lot_number": "x" * 41}, "lot_number: at most 40"),
        ({"expires_on": "2027-01-01"}, "expires_on: a date is needed"),
        ({"expires_on": dt.date(2026, 10, 20)}, "expires_on: the lot expired on 2026-10-20"),
        ({"mg_per_unit": 0}, "mg_per_unit: more than 0"),
        ({"mg_per_unit": "abc"}, "mg_per_unit: a number of milligrams"),
        ({"mg_per_unit": 20000}, "mg_per_unit: more than 0 and at most 10000"),
        ({"units": 0}, "units: a whole number from 1 to 1000"),
        ({"units": True}, "units: a whole number"),
        ({"concentration_mg_per_ml": None}, "concentration_mg_per_ml: ketamine needs its concentration"),
        ({"drug": "esketamine", "mg_per_unit": 56}, "mg_per_unit: esketamine is counted in devices of 28 mg"),
        ({"lot_number": "K-100", "expires_on": dt.date(2028, 1, 1)}, "lot_number: lot K-100 is already on the log"),
        ({"at": NOW + dt.timedelta(hours=1)}, "received_at: cannot be in the future"),
        ({"at": NOW.replace(tzinfo=None)}, "received_at: a date and time is needed"),
    ]
    for change, message in cases:
        with pytest.raises(DosingError, match=message):
            stock.receive_lot(site, **{**good, **change})
    for who, site_ in ((clinic.therapist, site), (clinic.admin, site), (nurse, clinic.site_b)):
        with pytest.raises(PermissionDenied):
            stock.receive_lot(site_, **{**good, "by": who})


def test_it_balances_each_kind_with_sql_aggregates(clinic: Cast, lot: DrugLot, django_assert_num_queries: Any) -> None:
    stock.record_waste(lot, amount_mg="12.5", reason="Drawn up, not needed", **witnessed(clinic))
    stock.return_stock(lot, by=clinic.nurse, amount_mg=500, reason="Recalled vial")
    stock.count_lot(lot, counted_mg="4400", note=NOTE, **witnessed(clinic))
    stock.count_lot(lot, counted_mg="4450", note=NOTE, **witnessed(clinic))
    receive(clinic, lot_number="K-200", expires_on=dt.date(2026, 11, 30))
    with django_assert_num_queries(1):
        rows: dict[str, Any] = {r.lot_number: r for r in stock.site_lots(clinic.site_a)}
    row = rows["K-100"]
    assert (row.received_mg, row.wasted_mg, row.returned_mg) == (5000, Decimal("12.5"), 500)
    assert (row.adjusted_out_mg, row.adjusted_in_mg, row.administered_mg, row.in_use_mg) == (
        Decimal("87.5"),
        50,
        0,
        0,
    )
    assert row.balance_mg == row.on_hand_mg == 4450
    assert stock.expiry_flag(rows["K-200"], NOW.date()) == "soon"
    assert stock.expiry_flag(row, NOW.date()) == ""
    assert stock.expiry_flag(row, dt.date(2027, 7, 1)) == "expired"


def test_it_hides_empty_lots_unless_asked(clinic: Cast, lot: DrugLot) -> None:
    stock.return_stock(lot, by=clinic.nurse, amount_mg=5000, reason="Expired stock to reverse distributor")
    assert list(stock.site_lots(clinic.site_a)) == []
    empty: Any = stock.site_lots(clinic.site_a, include_empty=True)
    assert [r.on_hand_mg for r in empty] == [0]


def test_it_never_goes_below_zero(clinic: Cast, lot: DrugLot) -> None:
    with pytest.raises(DosingError, match=r"amount_mg: 5000\.01 mg is more than the 5000 mg on hand in lot K-100"):
        stock.return_stock(lot, by=clinic.nurse, amount_mg="5000.01", reason="Recall")
    with pytest.raises(DosingError, match="amount_mg: 6000 mg is more than the 5000 mg on hand"):
        stock.record_waste(lot, amount_mg=6000, reason="Dropped", **witnessed(clinic))
    assert stock.on_hand_mg(lot) == 5000


def test_it_checks_waste(clinic: Cast, lot: DrugLot) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"amount_mg": 0}, "amount_mg: more than 0"),
        ({"amount_mg": "NaN"}, "amount_mg: more than 0"),
        ({"amount_mg": None}, "amount_mg: a number of milligrams"),
        ({"reason": ""}, "reason: say why"),
        ({"witness": clinic.nurse}, "witness: the witness must be a second person"),
        ({"witness_password": "nope"}, "witness_password"),
        ({"at": NOW + dt.timedelta(minutes=1)}, "at: cannot be in the future"),
    ]
    base: dict[str, Any] = {"amount_mg": 5, "reason": "Drawn up, not given", **witnessed(clinic)}
    for change, message in cases:
        with pytest.raises(DosingError, match=message):
            stock.record_waste(lot, **{**base, **change})
    with pytest.raises(PermissionDenied):
        stock.record_waste(lot, **{**base, "by": clinic.coordinator})
    waste: Any = stock.record_waste(lot, **base)
    assert (waste.kind, waste.witness, waste.amount_mg) == ("wasted", clinic.prescriber, 5)


def test_it_links_waste_to_a_dose_of_the_same_lot_only(clinic: Cast, lot: DrugLot) -> None:
    other = receive(clinic, lot_number="K-9")

    dose: Any = type("Dose", (), {"lot_id": other.pk})()
    with pytest.raises(DosingError, match="lot: waste of a dose is recorded against the lot the dose was drawn from"):
        stock.record_waste(lot, amount_mg=1, reason="x", administration=dose, **witnessed(clinic))


def test_it_counts_a_matching_lot_without_adjusting(clinic: Cast, lot: DrugLot) -> None:
    count: Any = stock.count_lot(lot, counted_mg=5000, **witnessed(clinic))
    assert (count.expected_mg, count.counted_mg, count.discrepancy_mg, count.note) == (5000, 5000, 0.0, "")
    assert not LotMovement.objects.filter(kind__startswith="adjust").exists()
    with pytest.raises(DosingError, match="note: at most 300"):
        stock.count_lot(lot, counted_mg=5000, note="x" * 301, **witnessed(clinic))


def test_it_reconciles_a_discrepant_count_with_a_witnessed_adjustment(clinic: Cast, lot: DrugLot) -> None:
    with pytest.raises(DosingError, match="note: write at least 20 characters"):
        stock.count_lot(lot, counted_mg=4500, note="short", **witnessed(clinic))
    with pytest.raises(DosingError, match="counted_mg: 0 and at most"):
        stock.count_lot(lot, counted_mg=-1, note=NOTE, **witnessed(clinic))
    count: Any = stock.count_lot(lot, counted_mg=4500, note=NOTE, **witnessed(clinic))
    assert count.discrepancy_mg == -500.0
    adjustment: Any = LotMovement.objects.get(kind="adjust_out")
    assert (adjustment.amount_mg, adjustment.witness) == (500, clinic.prescriber)
    assert adjustment.reason == f"Count {count.pk}: {NOTE}"
    assert stock.on_hand_mg(lot) == 4500
    assert LotCount.objects.count() == 1
    assert set(AuditEvent.objects.get(object_type="dosing.lotcount").detail) == {"lot_id", "matched"}


def test_it_keeps_a_running_balance_in_the_ledger(clinic: Cast, lot: DrugLot) -> None:
    stock.record_waste(lot, amount_mg=10, reason="Drawn up, not given", **witnessed(clinic))
    stock.count_lot(lot, counted_mg=5000, note=NOTE, **witnessed(clinic))
    movements: Any = stock.ledger(lot)
    rows = [(m.kind, m.signed_amount_mg, m.balance_mg) for m in movements]
    assert rows == [("received", 5000, 5000), ("wasted", -10, 4990), ("adjust_in", 10, 5000)]


def test_it_exports_the_log_as_csv_and_audits_it(clinic: Cast, lot: DrugLot) -> None:
    stock.record_waste(lot, amount_mg=10, reason="Drawn up, not given", **witnessed(clinic))
    text = stock.export_csv(clinic.site_a, by=clinic.admin)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [(r["kind"], r["signed_mg"], r["balance_mg"], r["witness"]) for r in rows] == [
        ("received", "5000.00", "5000.00", ""),
        ("wasted", "-10.00", "4990.00", "prescriber"),
    ]
    event = AuditEvent.objects.get(action="export")
    assert event.detail == {"format": "csv", "lots": 1, "rows": 2} and event.actor == clinic.admin
    for who in (clinic.therapist, clinic.coordinator, clinic.nurse_b):
        with pytest.raises(PermissionDenied):
            stock.export_csv(clinic.site_a, by=who)


def test_it_says_who_may_record_and_read(clinic: Cast) -> None:
    assert [stock.may_record(u) for u in (clinic.nurse, clinic.prescriber, clinic.admin, clinic.therapist)] == [
        True,
        True,
        False,
        False,
    ]
    assert [stock.may_read(u) for u in (clinic.admin, clinic.coordinator, clinic.therapist)] == [True, False, False]
    assert stock.fmt_mg(Decimal("41.20")) == "41.2"
