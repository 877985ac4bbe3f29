"""The menu: entries by role, URLs reversed once per URLconf and reused, and its markup equal to the template loop it
replaces (kept here as the reference)."""

from __future__ import annotations

from typing import Any

import pytest
from django.http import HttpResponse
from django.template import Context, Template
from django.test import RequestFactory, override_settings
from django.urls import NoReverseMatch, clear_url_caches, path, resolve, reverse, set_script_prefix, set_urlconf

from ketaclinic import fixed_urls as fixed_urls_module
from ketaclinic.accounts.context_processors import MENU, nav_markup, navigation, site_options
from ketaclinic.accounts.models import Site
from ketaclinic.accounts.roles import ROLE_PERMISSIONS, Perm, Role
from ketaclinic.fixed_urls import fixed_url

# base.html's menu loop as it was.
NAV_LOOP = Template(
    '{% for item in nav_items %}<li><a href="{{ item.url }}" {% if request.resolver_match.url_name == item.name or '
    'request.resolver_match.app_name == item.name %}aria-current="page"{% endif %}>{{ item.label }}</a></li>'
    "{% endfor %}"
)
# base.html's site switcher loop as it was.
SITE_LOOP = Template(
    '{% for s in available_sites %}<option value="{{ s.pk }}" {% if s == current_site %}selected{% endif %}>'
    "{{ s.name }}</option>{% endfor %}"
)
# A URLconf of this module's own, for the URLconf switches below.
urlpatterns = [path("elsewhere/", lambda request: HttpResponse(), name="home")]


class Holder:
    """A user holding exactly ``perms``."""

    def __init__(self, perms: Any) -> None:
        self.perms = set(perms)

    def can(self, perm: Perm) -> bool:
        return perm in self.perms


EXPECTED = {
    Role.PRESCRIBER: ["Home", "Patients", "Tasks", "Day board", "Outcomes", "Thresholds", "Schedule",
                      "Controlled drugs", "REMS forms"],
    Role.NURSE: ["Home", "Patients", "Tasks", "Day board", "Schedule", "Controlled drugs", "REMS forms"],
    Role.THERAPIST: ["Home", "Patients", "Tasks", "Day board", "Schedule"],
    Role.COORDINATOR: ["Home", "Patients", "Schedule"],
    Role.CLINIC_ADMIN: ["Home", "Patients", "Outcomes", "Audit trail", "Thresholds", "Processes", "Schedule",
                        "Controlled drugs"],
}  # fmt: skip


@pytest.mark.parametrize("role", list(Role))
def test_each_role_sees_its_entries_with_their_urls(role: Role) -> None:
    items = navigation(Holder(ROLE_PERMISSIONS[role]))
    assert [i["label"] for i in items] == EXPECTED[role]
    by_label = {label: url_name for label, url_name, *_ in MENU}
    assert all(i["url"] == reverse(by_label[i["label"]]) for i in items)
    assert all(i["about"] for i in items if i["name"] != "home")
    assert [i["label"] for i in navigation(Holder(()))] == ["Home"]


@pytest.mark.parametrize("path_", ["/", "/patients/", "/dosing/board/", "/dosing/stock/", "/tasks/", "/status/", None])
@pytest.mark.parametrize("role", [Role.PRESCRIBER, Role.CLINIC_ADMIN, Role.COORDINATOR])
def test_the_markup_is_what_the_template_loop_made(path_: str | None, role: Role) -> None:
    request = RequestFactory().get(path_ or "/nowhere/")
    request.resolver_match = resolve(path_) if path_ else None
    items = navigation(Holder(ROLE_PERMISSIONS[role]))
    expected = NAV_LOOP.render(Context({"nav_items": items, "request": request}))
    assert nav_markup(items, request) == expected
    if path_ == "/dosing/board/" and role is Role.PRESCRIBER:  # the day board, stock and REMS share an app name
        assert expected.count('aria-current="page"') == 3


def test_labels_and_urls_are_escaped() -> None:
    request = RequestFactory().get("/")
    items = [{"label": "<b>R&D</b>", "url": '/a?b=1&c="2"', "name": "x", "about": ""}]
    html = nav_markup(items, request)
    assert html == NAV_LOOP.render(Context({"nav_items": items, "request": request}))
    assert "&lt;b&gt;R&amp;D&lt;/b&gt;" in html and "&amp;c=&quot;2&quot;" in html


def test_the_site_options_are_what_the_template_loop_made() -> None:
    sites = [Site(pk=1, name="North"), Site(pk=2, name='<b>"South" & Co</b>'), Site(pk=3, name="East")]
    for current in [sites[0], sites[1], Site(pk=3, name="East, as the middleware loaded it"), None]:
        expected = SITE_LOOP.render(Context({"available_sites": sites, "current_site": current}))
        assert site_options(sites, current) == expected
    assert "&lt;b&gt;&quot;South&quot; &amp; Co&lt;/b&gt;" in expected
    assert site_options(sites, sites[1]).count("selected") == 1 and site_options([], None) == ""


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []

    def counting(name: str) -> str:
        calls.append(name)
        return reverse(name)

    monkeypatch.setattr(fixed_urls_module, "reverse", counting)
    clear_url_caches()  # a fresh resolver: nothing cached for it yet
    return calls


def test_a_url_is_reversed_once_and_then_reused(counted: list[str]) -> None:
    assert fixed_url("patients:list") == reverse("patients:list")
    assert fixed_url("patients:list") == reverse("patients:list")
    assert counted == ["patients:list"]


def test_another_urlconf_prefix_or_cleared_cache_reverses_again(counted: list[str]) -> None:
    assert fixed_url("home") == "/"
    with override_settings(ROOT_URLCONF=__name__):
        assert fixed_url("home") == "/elsewhere/"
    assert fixed_url("home") == "/"
    set_urlconf(__name__)  # a request's own URLconf (request.urlconf)
    try:
        assert fixed_url("home") == "/elsewhere/"
    finally:
        set_urlconf(None)
    set_script_prefix("/clinic/")
    try:
        assert fixed_url("home") == "/clinic/"
    finally:
        set_script_prefix("/")
    assert fixed_url("home") == "/"
    clear_url_caches()
    assert fixed_url("home") == "/"
    # Leaving override_settings clears the URL caches too: the default URLconf gets a new resolver (3rd).
    assert counted == ["home"] * 6


def test_a_name_that_does_not_reverse_fails_every_time(counted: list[str]) -> None:
    for _ in range(2):
        with pytest.raises(NoReverseMatch):
            fixed_url("no-such-page")
    assert counted == ["no-such-page"] * 2
