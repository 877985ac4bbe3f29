"""Fixtures for the patients tests: a patient at each site, and the chart without other apps' cards.

Other apps' cards are tested where they are written; here the registry is tested on its own (test_cards.py), so a
card under construction elsewhere cannot break the chart's own tests.
"""

from __future__ import annotations

import pytest

from ketaclinic.conftest import Cast
from ketaclinic.patients.models import Patient
from ketaclinic.patients.tests.factories import PatientFactory


@pytest.fixture
def real_cards() -> None:
    """Request this fixture to render the chart with every app's real card."""


@pytest.fixture(autouse=True)
def _no_other_cards(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    if "real_cards" in request.fixturenames:
        return
    monkeypatch.setattr("ketaclinic.patients.cards.card_providers", lambda: ())


@pytest.fixture
def patient(cast: Cast) -> Patient:
    return PatientFactory.create(
        site=cast.site_a,
        legal_first_name="Morgan",
        legal_last_name="Quill",
        preferred_name="Mo",
        pronouns="she/her",
        phone="555-0100",
    )


@pytest.fixture
def patient_b(cast: Cast) -> Patient:
    return PatientFactory.create(site=cast.site_b, legal_first_name="Other", legal_last_name="Site")
