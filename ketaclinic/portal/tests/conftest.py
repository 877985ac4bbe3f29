"""Fixtures for portal tests: a synthetic patient at site A and helpers to walk the intake."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from ketaclinic.conftest import Cast
from ketaclinic.patients.actions import register_patient
from ketaclinic.patients.models import Patient
from ketaclinic.portal import actions
from ketaclinic.portal.models import PortalLink


@pytest.fixture
def patient(cast: Cast) -> Patient:
    cast.site_a.phone = "312 555 0100"
    cast.site_a.save()
    return register_patient(
        site=cast.site_a,
        by=cast.coordinator,
        legal_first_name="Robin",
        legal_last_name="Testpatient",
        preferred_name="Rob",
        date_of_birth=dt.date(1985, 4, 12),
        phone="312 555 0199",
        email="robin@example.invalid",
        address="1 Synthetic Way",
    )


@pytest.fixture
def intake(patient: Patient, cast: Cast) -> tuple[PortalLink, str]:
    return actions.create_link(patient, purpose=PortalLink.Purpose.INTAKE, by=cast.nurse, email=None)


def step_url(token: str, step: str) -> str:
    return reverse("portal:intake_step", kwargs={"token": token, "step": step})


CONTACT = {
    "phone": "312 555 0123",
    "email": "robin.new@example.invalid",
    "address": "1 Synthetic Way",
    "pronouns": "they/them",
    "emergency_contact_name": "Sam Testcontact",
    "emergency_contact_phone": "312 555 0177",
    "emergency_contact_relationship": "sibling",
}


def history(**overrides: str) -> dict[str, Any]:
    from ketaclinic.portal.intake import HISTORY_QUESTIONS

    data: dict[str, Any] = {f"condition_{q.key}": "no" for q in HISTORY_QUESTIONS}
    data.update({"pregnant": "no", "breastfeeding": "no"})
    data.update(overrides)
    return data


MEDICATIONS = {"rows": "3", "name_0": "lorazepam", "dose_0": "1 mg at night", "name_1": "", "dose_1": ""}
TRIALS = {
    "rows": "3",
    "drug_0": "sertraline",
    "weeks_0": "8",
    "helped_0": "a_little",
    "drug_1": "Wellbutrin",
    "weeks_1": "",
    "helped_1": "not_at_all",
}


def phq9(q9: int = 0) -> dict[str, str]:
    return {**{f"q{n}": "1" for n in range(1, 9)}, "q9": str(q9)}


GAD7 = {f"q{n}": "2" for n in range(1, 8)}
CSSRS_NEGATIVE = {"q1": "no", "q2": "no", "q6": "no"}


def walk(client: Client, token: str, *, until: str = "review", **overrides: dict[str, str]) -> None:
    """Post every step up to (not including) ``until`` with valid answers."""
    steps: list[tuple[str, dict[str, Any]]] = [
        ("contact", CONTACT),
        ("history", history()),
        ("medications", MEDICATIONS),
        ("antidepressants", TRIALS),
        ("phq9", phq9()),
        ("gad7", GAD7),
        ("cssrs", CSSRS_NEGATIVE),
    ]
    client.post(reverse("portal:start", kwargs={"token": token}))
    for step, data in steps:
        if step == until:
            return
        response = client.post(step_url(token, step), overrides.get(step, data))
        assert response.status_code == 302, (step, response.content.decode()[:3000])


def is_checked(body: str, name: str, value: str | None = None) -> bool:
    """Whether the page shows the radio/checkbox ``name`` (with ``value``) as checked."""
    import re

    for tag in re.findall(rf'<input[^>]*name="{re.escape(name)}"[^>]*>', body):
        if (value is None or f'value="{value}"' in tag) and re.search(r"\schecked[\s>]", tag):
            return True
    return False


def text_of(response: Any) -> str:
    """The response's visible text: tags replaced by spaces, entities decoded, whitespace collapsed."""
    import html
    import re

    return " ".join(html.unescape(re.sub(r"<[^>]*>", " ", response.content.decode())).split())
