"""The dashboard's filter form: a date range, a site among the user's, protocol, route and indication."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils import timezone

from ketaclinic.accounts.access import sites_for
from ketaclinic.clinical import PROTOCOLS
from ketaclinic.courses.models import Indication
from ketaclinic.outcomes.figures import Filters

#: The longest range the dashboard accepts (a decade), so a typo in a year cannot ask for centuries.
MAX_RANGE = dt.timedelta(days=3660)
DEFAULT_RANGE = dt.timedelta(days=365)


class FilterForm(forms.Form):
    start = forms.DateField(label="From", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label="To (inclusive)", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    site = forms.ChoiceField(label="Site", required=False)
    protocol = forms.ChoiceField(label="Protocol", required=False)
    route = forms.ChoiceField(label="Route", required=False)
    indication = forms.ChoiceField(label="Indication", required=False)

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sites = list(sites_for(user).order_by("name"))
        self.fields["site"].choices = [("", "All my sites"), *((str(s.pk), s.name) for s in self.sites)]  # type: ignore[attr-defined]
        self.fields["protocol"].choices = [("", "All protocols"), *((p.id, p.title) for p in PROTOCOLS.values())]  # type: ignore[attr-defined]
        routes = sorted({str(p.route) for p in PROTOCOLS.values()})
        self.fields["route"].choices = [("", "All routes"), *((r, r.replace("_", " ")) for r in routes)]  # type: ignore[attr-defined]
        self.fields["indication"].choices = [("", "All indications"), *Indication.choices]  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        today = timezone.localdate()
        end = data.get("end") or today
        start = data.get("start") or end - DEFAULT_RANGE
        if start > end:
            self.add_error("end", f"Must be on or after the start date ({start.isoformat()}).")
        elif end - start > MAX_RANGE:
            self.add_error("start", "The range can be at most 10 years; choose a later start date.")
        data["start"], data["end"] = start, end
        return data

    def filters(self) -> Filters:
        """The cleaned form as dashboard filters; dates are whole days in the current time zone."""
        data = self.cleaned_data
        zone = timezone.get_current_timezone()
        start = dt.datetime.combine(data["start"], dt.time(), tzinfo=zone)
        end = dt.datetime.combine(data["end"] + dt.timedelta(days=1), dt.time(), tzinfo=zone)
        chosen = [s.pk for s in self.sites if str(s.pk) == data.get("site")]
        site_ids = tuple(chosen or (s.pk for s in self.sites))
        return Filters(
            start,
            end,
            site_ids,
            protocol=data.get("protocol") or "",
            route=data.get("route") or "",
            indication=data.get("indication") or "",
        )

    def query(self) -> dict[str, str]:
        """The cleaned filters as query parameters (for drill-down links and exports)."""
        data = self.cleaned_data
        values = {
            "start": data["start"].isoformat(),
            "end": data["end"].isoformat(),
            **{k: data.get(k) or "" for k in ("site", "protocol", "route", "indication")},
        }
        return {k: v for k, v in values.items() if v}
