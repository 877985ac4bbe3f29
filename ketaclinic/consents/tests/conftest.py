"""Consent test fixtures: signed PDFs go to a throwaway media directory; a registered patient at site A."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from ketaclinic.patients.actions import register_patient


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def patient(cast):
    return register_patient(
        site=cast.site_a,
        by=cast.coordinator,
        legal_first_name="Maya",
        legal_last_name="Holloway-Reyes",
        preferred_name="May",
        date_of_birth=dt.date(1984, 3, 14),
    )


@pytest.fixture
def patient_b(cast):
    return register_patient(
        site=cast.site_b,
        by=cast.nurse_b,
        legal_first_name="Tobias",
        legal_last_name="Wrenfield",
        date_of_birth=dt.date(1979, 11, 2),
    )
