"""In real Chromium: sign in, see the home screen, sign out."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest

from ketaclinic.audit.models import AuditEvent
from ketaclinic.conftest import Cast
from ketaclinic.tests.browser import expect

if TYPE_CHECKING:
    from playwright.sync_api import Page
    from pytest_django.live_server_helper import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_nurse_signs_in_sees_home_and_signs_out(page: Page, live_server: LiveServer, cast: Cast) -> None:
    page.goto(f"{live_server.url}/")
    assert page.url.startswith(f"{live_server.url}/accounts/login/")

    page.get_by_label("Username").fill("nurse")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("Please enter a correct username and password")).to_be_visible()
    assert page.get_by_label("Username").input_value() == "nurse"  # what was typed is kept

    page.get_by_label("Password").fill(cast.password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server.url}/")
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"^Good to see you"))
    expect(page.get_by_text("Site A Clinic").first).to_be_visible()
    expect(page.get_by_role("link", name="Audit trail")).to_have_count(0)  # not a nurse's menu

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{live_server.url}/accounts/login/")
    expect(page.get_by_text("You are signed out.")).to_be_visible()
    actions = list(AuditEvent.objects.filter(actor=cast.nurse).values_list("action", flat=True))
    assert set(actions) == {AuditEvent.Action.LOGIN, AuditEvent.Action.LOGOUT}
    assert AuditEvent.objects.filter(action=AuditEvent.Action.LOGIN_FAILED, actor_username="nurse").count() == 1
