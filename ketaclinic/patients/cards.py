"""The chart-card registry: how other apps show up on the patient chart without the chart knowing them.

Contract: an app may provide ``ketaclinic/<app>/chart.py`` with
``def chart_card(request: HttpRequest, patient: Patient) -> dict[str, Any] | None`` and a template
``<app>/_chart_card.html`` (a ``<section class="card">`` fragment). ``None`` hides the card; a dict becomes the
template's context, plus ``patient`` and ``request``. Each card checks the user's permissions itself, which is how a
coordinator's front-desk chart shows only the cards meant for the front desk. Cards appear in INSTALLED_APPS order.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from functools import cache
from typing import Any

from django.apps import apps
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe

from ketaclinic.patients.models import Patient

CardFunction = Callable[[HttpRequest, Patient], "dict[str, Any] | None"]


@cache
def card_providers() -> tuple[tuple[str, CardFunction], ...]:
    """(app label, chart_card) for every ``ketaclinic.*`` app that has a ``chart`` module, in INSTALLED_APPS order."""
    providers = []
    for config in apps.get_app_configs():
        if not config.name.startswith("ketaclinic."):
            continue
        module_name = f"{config.name}.chart"
        if importlib.util.find_spec(module_name) is None:
            continue
        module = importlib.import_module(module_name)
        providers.append((config.label, module.chart_card))
    return tuple(providers)


def chart_cards(request: HttpRequest, patient: Patient) -> list[SafeString]:
    """The rendered cards other apps show on ``patient``'s chart for this request's user."""
    rendered = []
    for label, chart_card in card_providers():
        context = chart_card(request, patient)
        if context is None:
            continue
        html = render_to_string(
            f"{label}/_chart_card.html", {**context, "patient": patient, "request": request}, request=request
        )
        rendered.append(mark_safe(html))  # noqa: S308 — rendered by the template engine, which escapes its values
    return rendered
