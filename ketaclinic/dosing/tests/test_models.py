"""Database guarantees: vital-sign ranges mirror the clinical core's plausibility limits exactly."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.db import IntegrityError, transaction

from ketaclinic.clinical.vitals import VITAL_SPECS, Vital
from ketaclinic.dosing.models import DosingSession, VitalSign

pytestmark = pytest.mark.django_db
STORED = (Vital.SYSTOLIC, Vital.DIASTOLIC, Vital.HEART_RATE, Vital.SPO2, Vital.RESP_RATE)
# Readings that pass every range, so each case moves only the vital under test.
BASE = {"systolic_mmhg": 210, "diastolic_mmhg": 100, "heart_rate_bpm": 70, "spo2_pct": 98, "resp_rate_per_min": 14}


@pytest.mark.parametrize("vital", STORED)
def test_the_database_range_mirrors_the_clinical_limits(
    make_session: Callable[..., DosingSession], vital: Vital
) -> None:
    session = make_session()
    spec = VITAL_SPECS[vital]
    low, high = int(spec.minimum), int(spec.maximum)
    for ok in (low, high):
        values = {**BASE, vital.value: ok}
        if vital is Vital.DIASTOLIC and ok >= values["systolic_mmhg"]:
            values["systolic_mmhg"] = 300
        if vital is Vital.SYSTOLIC and ok <= values["diastolic_mmhg"]:
            values["diastolic_mmhg"] = 20
        VitalSign.objects.create(session=session, **values)
    for bad in (low - 1, high + 1):
        values = {**BASE, vital.value: bad}
        if vital is Vital.SYSTOLIC and bad <= values["diastolic_mmhg"]:
            values["diastolic_mmhg"] = 20
        with pytest.raises(IntegrityError), transaction.atomic():
            VitalSign.objects.create(session=session, **values)


def test_respiratory_rate_may_be_missing(make_session: Callable[..., DosingSession]) -> None:
    sign = VitalSign.objects.create(session=make_session(), **{**BASE, "resp_rate_per_min": None})
    assert "resp_rate_per_min" not in sign.as_mapping()
    assert str(sign).startswith("Vitals ")
