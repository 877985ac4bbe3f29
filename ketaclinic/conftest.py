"""Fixtures shared by every app's tests: two sites and a cast of staff (DESIGN.md, Tests)."""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from ketaclinic.accounts.actions import sync_roles
from ketaclinic.accounts.models import Site, User
from ketaclinic.accounts.roles import Role
from ketaclinic.accounts.tests.factories import TEST_PASSWORD, SiteFactory, UserFactory

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page


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


@pytest.fixture(autouse=True)
def _reference_rows(request: pytest.FixtureRequest) -> None:
    """Re-create rows that data migrations seed (appointment types), which a transactional test's flush removes."""
    marker = request.node.get_closest_marker("django_db")
    if marker is None:
        return
    request.getfixturevalue("transactional_db" if marker.kwargs.get("transaction") else "db")
    from ketaclinic.scheduling.models import AppointmentType

    if not AppointmentType.objects.exists():
        from django.apps import apps

        importlib.import_module("ketaclinic.scheduling.migrations.0002_appointment_types").seed_types(apps, None)


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


CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Debian's Chromium driven by Playwright (Playwright cannot download browsers here)."""
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail("Chromium is missing at /usr/bin/chromium; .ci/run installs the Debian package")
        pytest.skip("Chromium not installed (apt-get install chromium)")
    # The sync Playwright API runs an event loop in this thread; Django's ORM calls in the test body are still
    # synchronous and safe, so the async-safety guard is relaxed for browser tests only.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh tablet-sized browser context per test."""
    context = browser.new_context(viewport={"width": 1024, "height": 768}, locale="en-US")
    tab = context.new_page()
    tab.set_default_timeout(10_000)
    yield tab
    context.close()
