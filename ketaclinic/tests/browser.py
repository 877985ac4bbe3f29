"""Helpers shared by the browser tests (Playwright driving Debian's Chromium)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page


def sign_in(page: Page, base: str, username: str, password: str) -> None:
    """Sign in as ``username`` (dropping any earlier session) and wait for the home screen."""
    page.context.clear_cookies()
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/")


def sign_out(page: Page) -> None:
    page.get_by_role("button", name="Sign out").click()


def shot(page: Page, name: str, *, full_page: bool = True) -> None:
    """Save ``$KETACLINIC_SCREENSHOTS/<name>.png`` when that folder is set (screenshots are for looking at)."""
    folder = os.environ.get("KETACLINIC_SCREENSHOTS")
    if folder:
        page.screenshot(path=f"{folder}/{name}.png", full_page=full_page)


def expect(locator: Locator) -> Any:
    """Playwright's retrying assertions (imported lazily: the module is only needed by browser tests)."""
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


def choose(page: Page, question: str, label: str) -> None:
    """Pick the answer labelled ``label`` of a portal question rendered with id ``q-<question>``."""
    page.locator(f"#q-{question}").get_by_text(label, exact=True).click()
