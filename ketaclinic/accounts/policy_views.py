"""The site's clinical thresholds: every ClinicPolicy setting with its default, allowed range, sources and the value
in force; prescribers change a value (or return it to the guideline default) with a reason."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from ketaclinic.accounts.clinic_policy import (
    MIN_REASON_CHARS,
    SETTINGS,
    PolicyError,
    clinic_policy,
    reset_policy_value,
    set_policy_value,
)
from ketaclinic.accounts.models import PolicyOverride
from ketaclinic.accounts.roles import Perm

READERS = (Perm.TUNE_CLINICAL_POLICY, Perm.VIEW_CHART, Perm.MANAGE_SITE)


class PolicyForm(forms.Form):
    name = forms.ChoiceField(choices=[(n, n) for n in SETTINGS])
    value = forms.CharField(required=False, max_length=20)
    reason = forms.CharField(max_length=300, min_length=MIN_REASON_CHARS, widget=forms.TextInput)
    reset = forms.BooleanField(required=False)


def _title(name: str) -> str:
    return name.replace("_", " ").capitalize()


def policy_page(request: HttpRequest) -> HttpResponse:
    """GET the table; POST one change (value + reason, or reset + reason)."""
    user: Any = request.user
    site: Any = request.site
    if site is None or not any(user.can(p) for p in READERS):
        raise PermissionDenied("Your role does not allow this: read the clinic's clinical thresholds.")
    form = PolicyForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            name, reason = form.cleaned_data["name"], form.cleaned_data["reason"]
            try:
                if form.cleaned_data["reset"]:
                    reset_policy_value(site, name=name, reason=reason, by=user)
                    messages.success(request, f"{_title(name)} is back to the guideline default.")
                else:
                    set_policy_value(site, name=name, value=form.cleaned_data["value"], reason=reason, by=user)
                    messages.success(request, f"{_title(name)} changed for {site.name}.")
                return redirect(f"{reverse('accounts:policy')}#{name}")
            except PolicyError as error:
                form.add_error(error.field if error.field in form.fields else None, error.message)
    policy = clinic_policy(site)
    stored = {o.name: o for o in PolicyOverride.objects.filter(site=site).select_related("changed_by")}
    rows = [
        {
            "setting": s,
            "title": _title(s.name),
            "value": getattr(policy, s.name),
            "override": stored.get(s.name),
            "error": form.errors if form.is_bound and form.data.get("name") == s.name else None,
            "typed": form.data.get("value", "") if form.is_bound and form.data.get("name") == s.name else "",
        }
        for s in SETTINGS.values()
    ]
    context = {"rows": rows, "site": site, "can_tune": user.can(Perm.TUNE_CLINICAL_POLICY), "form": form}
    return render(request, "accounts/policy.html", context, status=status)
