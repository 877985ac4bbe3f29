"""Fixtures for task tests: a synthetic patient at each site."""

from __future__ import annotations

import datetime as dt

import pytest

from ketaclinic.conftest import Cast
from ketaclinic.patients.actions import register_patient
from ketaclinic.patients.models import Patient


def _patient(site, by, last: str) -> Patient:
    return register_patient(
        site=site, by=by, legal_first_name="Casey", legal_last_name=last, date_of_birth=dt.date(1979, 9, 1)
    )


@pytest.fixture
def patient(cast: Cast) -> Patient:
    return _patient(cast.site_a, cast.coordinator, "Taskpatient")


@pytest.fixture
def patient_b(cast: Cast) -> Patient:
    return _patient(cast.site_b, cast.nurse_b, "Otherside")
