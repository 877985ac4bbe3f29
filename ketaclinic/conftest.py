"""Fixtures shared by every app's tests: two sites and a cast of staff (DESIGN.md, Tests)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from ketaclinic.accounts.actions import sync_roles
from ketaclinic.accounts.models import Site, User
from ketaclinic.accounts.roles import Role
from ketaclinic.accounts.tests.factories import TEST_PASSWORD, SiteFactory, UserFactory


@dataclass
class Cast:
    """Staff at site A (one per role) and a nurse at site B, who must get 404 on everything of site A."""

    site_a: Site
    site_b: Site
    prescriber: User
    nurse: User
    therapist: User
    coordinator: User
    admin: User
    nurse_b: User
    password: str = TEST_PASSWORD

    def by_role(self) -> dict[Role, User]:
        return {
            Role.PRESCRIBER: self.prescriber,
            Role.NURSE: self.nurse,
            Role.THERAPIST: self.therapist,
            Role.COORDINATOR: self.coordinator,
            Role.CLINIC_ADMIN: self.admin,
        }


@pytest.fixture
def cast(db: None) -> Cast:
    sync_roles()
    site_a = SiteFactory.create(code="site-a", name="Site A Clinic")
    site_b = SiteFactory.create(code="site-b", name="Site B Clinic")
    return Cast(
        site_a=site_a,
        site_b=site_b,
        prescriber=UserFactory.create(username="prescriber", roles=[Role.PRESCRIBER], sites=[site_a]),
        nurse=UserFactory.create(username="nurse", roles=[Role.NURSE], sites=[site_a]),
        therapist=UserFactory.create(username="therapist", roles=[Role.THERAPIST], sites=[site_a]),
        coordinator=UserFactory.create(username="coordinator", roles=[Role.COORDINATOR], sites=[site_a]),
        admin=UserFactory.create(username="admin", roles=[Role.CLINIC_ADMIN], sites=[site_a]),
        nurse_b=UserFactory.create(username="nurse_b", roles=[Role.NURSE], sites=[site_b]),
    )
