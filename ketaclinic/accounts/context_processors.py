"""Template context for every page: the acting site, the user's sites and the navigation for their roles."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import reverse

from ketaclinic.accounts.roles import ROLE_LABELS, Perm, Role


def navigation(user: Any) -> list[dict[str, str]]:
    """Menu entries the user's roles may use; each is a page that exists."""
    items = [{"label": "Home", "url": reverse("home"), "name": "home", "about": ""}]
    if user.can(Perm.VIEW_DEMOGRAPHICS):
        items.append(
            {
                "label": "Patients",
                "url": reverse("patients:list"),
                "name": "patients",
                "about": "Find a patient, register a referral, open a chart.",
            }
        )
    if user.can(Perm.VIEW_CHART):
        items.append(
            {
                "label": "Tasks",
                "url": reverse("tasks:list"),
                "name": "tasks",
                "about": "Open clinical tasks at your site, urgent first (suicide-risk follow-ups).",
            }
        )
    if user.can(Perm.VIEW_CHART):
        items.append(
            {
                "label": "Day board",
                "url": reverse("dosing_site:board"),
                "name": "dosing_site",
                "about": "Today's dosing sessions by chair: state, time, vitals, open alerts, who is responsible.",
            }
        )
    if user.can(Perm.VIEW_REPORTS):
        items.append(
            {
                "label": "Outcomes",
                "url": reverse("outcomes:dashboard"),
                "name": "outcomes",
                "about": "Response, remission, loss of response, safety and dissociation across the clinic.",
            }
        )
    if user.can(Perm.VIEW_AUDIT):
        items.append(
            {
                "label": "Audit trail",
                "url": reverse("audit:events"),
                "name": "audit",
                "about": "Who read or changed what, when and from where. Filter and export.",
            }
        )
    if user.can(Perm.TUNE_CLINICAL_POLICY) or user.can(Perm.MANAGE_SITE):
        items.append(
            {
                "label": "Thresholds",
                "url": reverse("accounts:policy"),
                "name": "policy",
                "about": "The site's clinical thresholds: alert limits, observation times, defaults and sources.",
            }
        )
    if user.can(Perm.MANAGE_SITE):
        items.append(
            {
                "label": "Processes",
                "url": reverse("processes:status"),
                "name": "status",
                "about": "Is the job runner (and later the monitor listener) running?",
            }
        )
    if user.can(Perm.VIEW_DEMOGRAPHICS):
        items.append(
            {
                "label": "Schedule",
                "url": reverse("scheduling:day"),
                "name": "scheduling",
                "about": "Day and week calendars, the front-desk day list, booking and rescheduling.",
            }
        )
    if user.can(Perm.ADMINISTER_DOSE) or user.can(Perm.MANAGE_SITE):
        items.append(
            {
                "label": "Controlled drugs",
                "url": reverse("dosing_site:stock"),
                "name": "dosing_site",
                "about": "The controlled-substance log: lots on hand, receiving, waste, counts and the ledger.",
            }
        )
    if user.can(Perm.RECORD_SESSION):
        items.append(
            {
                "label": "REMS forms",
                "url": reverse("dosing_site:rems"),
                "name": "dosing_site",
                "about": "SPRAVATO REMS monitoring forms still to submit, soonest due first; overdue ones flagged.",
            }
        )
    return items


def clinic(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "current_site": getattr(request, "site", None),
        "available_sites": getattr(request, "available_sites", []),
        "nav_items": navigation(user),
        "role_labels": [ROLE_LABELS[Role(r)] for r in user.role_names],
    }
