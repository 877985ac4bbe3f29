"""The controlled-substance log pages: who may read and record, receiving, waste, returns, counts and the export."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from ketaclinic.accounts.roles import Role
from ketaclinic.accounts.tests.matrix import PermissionMatrix
from ketaclinic.audit.models import AuditEvent
from ketaclinic.conftest import Cast
from ketaclinic.dosing import stock
from ketaclinic.dosing.models import DrugLot, LotCount, LotMovement
from ketaclinic.dosing.tests.doses import receive

pytestmark = pytest.mark.django_db
NOTE = "One vial found broken in the safe; reported to the pharmacist."


def lot_url(lot: DrugLot, name: str = "stock_lot") -> str:
    return reverse(f"dosing_site:{name}", args=[lot.pk])


class TestStockList(PermissionMatrix):
    allowed = {Role.NURSE, Role.PRESCRIBER, Role.CLINIC_ADMIN}

    def url(self, cast: Cast) -> str:
        return reverse("dosing_site:stock")


class TestLotPage(PermissionMatrix):
    allowed = {Role.NURSE, Role.PRESCRIBER, Role.CLINIC_ADMIN}

    @pytest.fixture(autouse=True)
    def _lot(self, clinic: Cast) -> None:
        self.lot = receive(clinic)

    def url(self, cast: Cast) -> str:
        return lot_url(self.lot)


def test_it_lists_lots_with_balances_and_flags(clinic: Cast, client: Client) -> None:
    lot = receive(clinic)
    receive(clinic, lot_number="K-SOON", expires_on=dt.date(2026, 11, 15), units=1)
    stock.record_waste(
        lot,
        by=clinic.nurse,
        witness=clinic.prescriber,
        witness_password=clinic.password,
        amount_mg=20,
        reason="Dropped syringe",
    )
    client.force_login(clinic.admin)
    html = client.get(reverse("dosing_site:stock")).content.decode()
    assert "K-100" in html and "<strong>4980 mg</strong>" in html
    assert "K-SOON" in html and "expires soon" in html
    assert "Receive stock" not in html  # clinic admins read, they do not record


def test_it_hides_empty_lots_unless_asked(clinic: Cast, client: Client) -> None:
    lot = receive(clinic)
    stock.return_stock(lot, by=clinic.nurse, amount_mg=5000, reason="Recall")
    client.force_login(clinic.nurse)
    assert "No lots on hand." in client.get(reverse("dosing_site:stock")).content.decode()
    assert "K-100" in client.get(reverse("dosing_site:stock") + "?all=1").content.decode()


def test_it_receives_a_lot(clinic: Cast, client: Client) -> None:
    client.force_login(clinic.nurse)
    data = {
        "drug": "ketamine",
        "product": "Ketamine HCl 50 mg/mL, 10 mL vial",
        "lot_number": "K-7",
        "expires_on": "2027-03-31",
        "units": "4",
        "mg_per_unit": "500",
        "concentration_mg_per_ml": "50",
    }
    response = client.post(reverse("dosing_site:stock_receive"), data)
    lot = DrugLot.objects.get(lot_number="K-7")
    assert response.status_code == 302 and response["Location"] == lot_url(lot)
    assert stock.on_hand_mg(lot) == 2000
    bad = client.post(reverse("dosing_site:stock_receive"), {**data, "lot_number": "K-8", "expires_on": "2026-01-01"})
    html = bad.content.decode()
    assert bad.status_code == 400 and "The lot expired on 2026-01-01" in html and 'value="K-8"' in html
    invalid = client.post(reverse("dosing_site:stock_receive"), {**data, "units": "0"})
    assert invalid.status_code == 400


@pytest.mark.parametrize("role", ["therapist", "coordinator", "admin"])
def test_only_nurses_and_prescribers_record(clinic: Cast, client: Client, role: str) -> None:
    lot = receive(clinic)
    client.force_login(getattr(clinic, role))
    assert client.post(lot_url(lot, "stock_return"), {"return-amount_mg": "5", "return-reason": "x"}).status_code == 403
    assert stock.on_hand_mg(lot) == 5000


def test_another_sites_lot_is_not_found(clinic: Cast, client: Client) -> None:
    lot = receive(clinic, site=clinic.site_b, by=clinic.nurse_b)
    client.force_login(clinic.nurse)
    assert client.get(lot_url(lot)).status_code == 404
    assert client.post(lot_url(lot, "stock_return"), {"return-amount_mg": "5", "return-reason": "x"}).status_code == 404


def test_it_wastes_and_returns_with_the_ledger(clinic: Cast, client: Client) -> None:
    lot = receive(clinic)
    client.force_login(clinic.nurse)
    wrong = client.post(
        lot_url(lot, "stock_waste"),
        {
            "waste-amount_mg": "12",
            "waste-reason": "Drawn up, not given",
            "waste-witness": clinic.prescriber.pk,
            "waste-witness_password": "nope",
        },
    )
    assert wrong.status_code == 400 and 'value="Drawn up, not given"' in wrong.content.decode()
    ok = client.post(
        lot_url(lot, "stock_waste"),
        {
            "waste-amount_mg": "12",
            "waste-reason": "Drawn up, not given",
            "waste-witness": clinic.prescriber.pk,
            "waste-witness_password": clinic.password,
        },
    )
    assert ok.status_code == 302
    too_much = client.post(lot_url(lot, "stock_return"), {"return-amount_mg": "9999", "return-reason": "Recall"})
    assert too_much.status_code == 400 and "more than the 4988 mg on hand" in too_much.content.decode()
    assert (
        client.post(lot_url(lot, "stock_return"), {"return-amount_mg": "488", "return-reason": "Recall"}).status_code
        == 302
    )
    html = client.get(lot_url(lot)).content.decode()
    assert "<strong>4988</strong>" in html and "<strong>4500</strong>" in html and "Returned to supplier" in html


def test_it_records_a_count_that_reconciles(clinic: Cast, client: Client) -> None:
    lot = receive(clinic)
    stock.record_waste(
        lot,
        by=clinic.nurse,
        witness=clinic.prescriber,
        witness_password=clinic.password,
        amount_mg="30",
        reason="Spilled",
    )
    client.force_login(clinic.prescriber)
    fields: dict[str, Any] = {
        "count-full_units": "9",
        "count-open_ml": "9",
        "count-witness": clinic.nurse.pk,
        "count-witness_password": clinic.password,
    }
    short = client.post(lot_url(lot, "stock_count"), fields)
    assert short.status_code == 400 and "Required when the count differs" in short.content.decode()
    assert "Write at least 20 characters (got 0)." in short.content.decode()
    response = client.post(lot_url(lot, "stock_count"), {**fields, "count-note": NOTE})
    assert response.status_code == 302
    count: Any = LotCount.objects.get()
    assert (count.expected_mg, count.counted_mg, count.discrepancy_mg) == (4970, 4950, -20.0)
    assert LotMovement.objects.filter(kind="adjust_out", amount_mg=20).exists()
    assert "-20 mg" in client.get(lot_url(lot)).content.decode()


def test_it_counts_esketamine_in_whole_devices(clinic: Cast, client: Client) -> None:
    lot = receive(clinic, drug="esketamine", lot_number="E-1", units=6)
    client.force_login(clinic.nurse)
    fields = {
        "count-full_units": "6",
        "count-open_ml": "1",
        "count-witness": clinic.prescriber.pk,
        "count-witness_password": clinic.password,
    }
    response = client.post(lot_url(lot, "stock_count"), fields)
    assert response.status_code == 400 and "This lot is counted in whole units only." in response.content.decode()
    assert client.post(lot_url(lot, "stock_count"), {**fields, "count-open_ml": ""}).status_code == 302
    assert LotCount.objects.get().counted_mg == 168


def test_it_exports_the_log(clinic: Cast, client: Client) -> None:
    receive(clinic)
    client.force_login(clinic.admin)
    response = client.get(reverse("dosing_site:stock_export"))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert 'filename="controlled-substance-log-site-a-2026-10-21.csv"' in response["Content-Disposition"]
    assert response.content.decode().splitlines()[0].startswith("lot_number,drug,product")
    assert AuditEvent.objects.filter(action="export", actor=clinic.admin).count() == 1
    client.force_login(clinic.therapist)
    assert client.get(reverse("dosing_site:stock_export")).status_code == 403


def test_a_user_without_a_site_gets_404(clinic: Cast, client: Client) -> None:
    clinic.nurse.sites.clear()
    client.force_login(clinic.nurse)
    assert client.get(reverse("dosing_site:stock")).status_code == 404
