"""Each site's clinical thresholds: defaults with the values its prescribers chose, checked, explained and audited."""

from __future__ import annotations

from typing import ClassVar

import pytest
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import reverse

from ketaclinic.accounts.clinic_policy import (
    PolicyError,
    clinic_policy,
    overrides_for,
    reset_policy_value,
    set_policy_value,
)
from ketaclinic.accounts.models import PolicyOverride
from ketaclinic.accounts.roles import Role
from ketaclinic.accounts.tests.matrix import PermissionMatrix
from ketaclinic.audit.models import AuditEvent
from ketaclinic.clinical import DEFAULT_POLICY
from ketaclinic.conftest import Cast

pytestmark = pytest.mark.django_db
WHY = "Medical director: our chairs are observed one-to-one."


def test_a_site_without_values_has_the_guideline_defaults(cast: Cast) -> None:
    assert clinic_policy(cast.site_a) == DEFAULT_POLICY
    assert clinic_policy(None) == DEFAULT_POLICY


def test_a_prescriber_tunes_a_value_for_their_site_only(cast: Cast) -> None:
    set_policy_value(cast.site_a, name="alert_escalate_after_min", value="3", reason=WHY, by=cast.prescriber)
    assert clinic_policy(cast.site_a).alert_escalate_after_min == 3
    assert clinic_policy(cast.site_b.pk).alert_escalate_after_min == DEFAULT_POLICY.alert_escalate_after_min
    event = AuditEvent.objects.filter(object_type="accounts.policyoverride").latest("pk")
    assert (event.action, event.detail) == (
        "update",
        {"setting": "alert_escalate_after_min", "from": DEFAULT_POLICY.alert_escalate_after_min, "to": 3.0},
    )
    set_policy_value(cast.site_a, name="alert_escalate_after_min", value=4, reason=WHY, by=cast.prescriber)
    assert PolicyOverride.objects.get(site=cast.site_a).value == 4
    assert PolicyOverride.history.count() == 2


@pytest.mark.parametrize(
    ("name", "value", "reason", "field", "message"),
    [
        ("alert_escalate_after_min", "500", WHY, "value", "outside the allowed range"),
        ("alert_escalate_after_min", "soon", WHY, "value", "must be a number between"),
        ("no_such_setting", "1", WHY, "name", "not a policy setting"),
        ("alert_escalate_after_min", "3", "because", "reason", "at least 10 characters"),
    ],
)
def test_it_refuses_bad_values_naming_the_field(
    cast: Cast, name: str, value: str, reason: str, field: str, message: str
) -> None:
    with pytest.raises(PolicyError, match=message) as caught:
        set_policy_value(cast.site_a, name=name, value=value, reason=reason, by=cast.prescriber)
    assert caught.value.field == field
    assert not PolicyOverride.objects.exists()


def test_only_a_prescriber_at_the_site_may_tune(cast: Cast) -> None:
    for user in (cast.nurse, cast.admin):
        with pytest.raises(PermissionDenied):
            set_policy_value(cast.site_a, name="alert_escalate_after_min", value=3, reason=WHY, by=user)
    with pytest.raises(PermissionDenied):
        set_policy_value(cast.site_b, name="alert_escalate_after_min", value=3, reason=WHY, by=cast.prescriber)


def test_reset_returns_to_the_default_and_keeps_the_history(cast: Cast) -> None:
    reset_policy_value(cast.site_a, name="alert_escalate_after_min", reason=WHY, by=cast.prescriber)  # no-op
    set_policy_value(cast.site_a, name="alert_escalate_after_min", value=3, reason=WHY, by=cast.prescriber)
    reset_policy_value(
        cast.site_a, name="alert_escalate_after_min", reason="Back to the guideline.", by=cast.prescriber
    )
    assert clinic_policy(cast.site_a) == DEFAULT_POLICY
    assert PolicyOverride.history.filter(history_type="-").get().reason == "Back to the guideline."
    assert AuditEvent.objects.filter(object_type="accounts.policyoverride", action="delete").count() == 1


def test_a_stored_value_outside_a_tightened_range_falls_back_to_the_default(cast: Cast) -> None:
    PolicyOverride.objects.create(
        site=cast.site_a, name="alert_escalate_after_min", value=999, reason=WHY, changed_by=cast.prescriber
    )
    cache.clear()
    assert clinic_policy(cast.site_a) == DEFAULT_POLICY


def test_the_cache_is_read_until_a_value_changes(cast: Cast, django_assert_num_queries: object) -> None:
    cache.clear()
    assert overrides_for(cast.site_a) == {}
    with django_assert_num_queries(0):
        clinic_policy(cast.site_a)
    set_policy_value(cast.site_a, name="alert_escalate_after_min", value=3, reason=WHY, by=cast.prescriber)
    assert overrides_for(cast.site_a) == {"alert_escalate_after_min": 3.0}


class TestThePolicyPage(PermissionMatrix):
    allowed: ClassVar = {Role.PRESCRIBER, Role.NURSE, Role.THERAPIST, Role.CLINIC_ADMIN}

    def url(self, cast: Cast) -> str:
        return reverse("accounts:policy")


def test_the_page_lists_every_setting_with_its_sources(client: Client, cast: Cast) -> None:
    client.force_login(cast.nurse)
    page = client.get(reverse("accounts:policy")).content.decode()
    for setting in DEFAULT_POLICY.settings():
        assert f'id="{setting.name}"' in page
    assert "[R1]" in page
    assert "Only a prescriber can change them." in page
    assert 'name="reason"' not in page


def test_a_prescriber_changes_and_resets_a_value_from_the_page(client: Client, cast: Cast) -> None:
    client.force_login(cast.prescriber)
    url = reverse("accounts:policy")
    response = client.post(url, {"name": "alert_escalate_after_min", "value": "500", "reason": WHY})
    assert response.status_code == 400
    assert "outside the allowed range 1–30 min" in response.content.decode()
    assert 'value="500"' in response.content.decode()
    response = client.post(url, {"name": "alert_escalate_after_min", "value": "3", "reason": WHY}, follow=True)
    assert "Alert escalate after min changed for" in response.content.decode()
    assert clinic_policy(cast.site_a).alert_escalate_after_min == 3
    response = client.post(url, {"name": "alert_escalate_after_min", "reset": "1", "reason": WHY}, follow=True)
    assert "back to the guideline default" in response.content.decode()
    assert clinic_policy(cast.site_a) == DEFAULT_POLICY
