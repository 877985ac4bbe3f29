"""The dose record: today's dose, starting it, IV rates and stops, single-administration routes, esketamine devices."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal

import pytest

from ketaclinic.conftest import Cast
from ketaclinic.dosing import administration as adm
from ketaclinic.dosing import stock
from ketaclinic.dosing.actions import DosingError
from ketaclinic.dosing.models import DosingSession
from ketaclinic.dosing.tests.conftest import NOW
from ketaclinic.dosing.tests.doses import dose_session, eligible, mg, receive  # noqa: F401

pytestmark = pytest.mark.django_db
Make = Callable[..., DosingSession]


def test_it_computes_todays_iv_dose_from_the_order_and_todays_weight(dose_session: Make) -> None:
    session = dose_session(weight_kg="82.3")
    today = adm.dose_for_today(session)
    assert today.drug == "ketamine" and today.route == "iv"
    assert (today.mg_per_kg, today.weight_kg, today.weight_basis) == (Decimal("0.500"), Decimal("82.3"), "actual")
    assert today.amount_mg == Decimal("41.2")
    assert today.duration_min == Decimal("40.0")
    assert today.volume_ml(Decimal("50")) == Decimal("0.82")
    assert today.rate_ml_per_h(Decimal("50"), Decimal("100")) == Decimal("151.2")


def test_it_starts_an_infusion(dose_session: Make, clinic: Cast) -> None:
    session = dose_session()
    lot = receive(clinic)
    record = adm.start_dose(session, by=clinic.nurse, lot=lot, witness=clinic.prescriber, witness_password=clinic.password)
    session.refresh_from_db()
    assert session.state == "dosing"
    assert record.amount_mg == Decimal("40.0") and record.started_at == NOW
    assert stock.on_hand_mg(lot) == mg(5000 - 40)
