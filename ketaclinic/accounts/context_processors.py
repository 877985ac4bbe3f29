"""Template context for every page: the acting site, the user's sites and the navigation for their roles."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any

from django.http import HttpRequest
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

from ketaclinic.accounts.roles import ROLE_LABELS, Perm, Role
from ketaclinic.fixed_urls import fixed_urls

#: The menu in display order: label, URL name, the name ``aria-current`` matches (a URL name or an app name), the
#: tile text on the home screen, and the capabilities of which the user needs one (none: everyone).
MENU: tuple[tuple[str, str, str, str, tuple[Perm, ...]], ...] = (
    ("Home", "home", "home", "", ()),
    ("Patients", "patients:list", "patients", "Find a patient, register a referral, open a chart.",
     (Perm.VIEW_DEMOGRAPHICS,)),
    ("Tasks", "tasks:list", "tasks", "Open clinical tasks at your site, urgent first (suicide-risk follow-ups).",
     (Perm.VIEW_CHART,)),
    ("Day board", "dosing_site:board", "dosing_site",
     "Today's dosing sessions by chair: state, time, vitals, open alerts, who is responsible.", (Perm.VIEW_CHART,)),
    ("Outcomes", "outcomes:dashboard", "outcomes",
     "Response, remission, loss of response, safety and dissociation across the clinic.", (Perm.VIEW_REPORTS,)),
    ("Audit trail", "audit:events", "audit", "Who read or changed what, when and from where. Filter and export.",
     (Perm.VIEW_AUDIT,)),
    ("Thresholds", "accounts:policy", "policy",
     "The site's clinical thresholds: alert limits, observation times, defaults and sources.",
     (Perm.TUNE_CLINICAL_POLICY, Perm.MANAGE_SITE)),
    ("Processes", "processes:status", "status", "Is the job runner (and later the monitor listener) running?",
     (Perm.MANAGE_SITE,)),
    ("Schedule", "scheduling:day", "scheduling",
     "Day and week calendars, the front-desk day list, booking and rescheduling.", (Perm.VIEW_DEMOGRAPHICS,)),
    ("Controlled drugs", "dosing_site:stock", "dosing_site",
     "The controlled-substance log: lots on hand, receiving, waste, counts and the ledger.",
     (Perm.ADMINISTER_DOSE, Perm.MANAGE_SITE)),
    ("REMS forms", "dosing_site:rems", "dosing_site",
     "SPRAVATO REMS monitoring forms still to submit, soonest due first; overdue ones flagged.",
     (Perm.RECORD_SESSION,)),
)  # fmt: skip


def navigation(user: Any) -> list[dict[str, str]]:
    """Menu entries the user's roles may use; each is a page that exists."""
    held: dict[Perm, bool] = {}  # several entries ask for the same capability

    def can(perm: Perm) -> bool:
        if perm not in held:
            held[perm] = user.can(perm)
        return held[perm]

    urls = fixed_urls()
    return [
        {"label": label, "url": urls[url_name], "name": name, "about": about}
        for label, url_name, name, about, perms in MENU
        if not perms or any(can(p) for p in perms)
    ]


def nav_markup(items: list[dict[str, str]], request: HttpRequest) -> SafeString:
    """The ``<li>`` entries of the main menu, the one for the page being shown marked ``aria-current``.

    Built here rather than by a template loop: it is on every page, and the loop resolved the request's
    ``resolver_match`` twice per entry. Labels and URLs are escaped as the template escaped them.
    """
    match = getattr(request, "resolver_match", None)
    current = {getattr(match, "url_name", None), getattr(match, "app_name", None)}
    return mark_safe(  # noqa: S308 - every entry escaped by _entry
        "".join(_entry(item["url"], item["label"], item["name"] in current) for item in items)
    )


@functools.lru_cache(maxsize=256)
def _entry(url: str, label: str, current: bool) -> str:
    # The same few entries on every page: each is escaped once.
    return format_html(
        '<li><a href="{}" {}>{}</a></li>',
        url,
        mark_safe('aria-current="page"') if current else "",
        label,
    )


def site_options(sites: Iterable[Any], current: Any) -> SafeString:
    """The site switcher's ``<option>`` entries, the acting site ``selected``; names escaped as the template did."""
    return mark_safe(  # noqa: S308 - the pk and name escaped
        "".join(
            f'<option value="{escape(s.pk)}" {"selected" if s == current else ""}>{escape(s.name)}</option>'
            for s in sites
        )
    )


class _Menu:
    """The user's menu and site switcher, computed the first time a template asks for them: fragments polled by htmx
    never do."""

    def __init__(self, request: HttpRequest, user: Any) -> None:
        self.request, self.user = request, user
        self._items: list[dict[str, str]] | None = None

    def items(self) -> list[dict[str, str]]:
        if self._items is None:
            self._items = navigation(self.user)
        return self._items

    def markup(self) -> SafeString:
        return nav_markup(self.items(), self.request)

    def site_options(self) -> SafeString:
        return site_options(getattr(self.request, "available_sites", []), getattr(self.request, "site", None))


def clinic(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    menu = _Menu(request, user)
    # Templates call a callable context value when they use it, so the menu costs nothing where it is not shown.
    items: Callable[[], list[dict[str, str]]] = menu.items
    return {
        "current_site": getattr(request, "site", None),
        "available_sites": getattr(request, "available_sites", []),
        "nav_items": items,
        "nav_markup": menu.markup,
        "site_options": menu.site_options,
        "role_labels": [ROLE_LABELS[Role(r)] for r in user.role_names],
    }
