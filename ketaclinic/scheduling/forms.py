"""Forms of the scheduling screens. Dates and times are the clinic's local ones; a form turns them into an aware
start in the site's zone, refusing times that are not on a quarter hour or already past."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils import timezone

from ketaclinic.accounts.models import Site, User
from ketaclinic.accounts.roles import Role
from ketaclinic.scheduling.models import SLOT_MINUTES, AppointmentType, Resource, ResourceKind, ShiftRole, kind_phrase

CLINICAL_ROLES = (Role.PRESCRIBER.value, Role.NURSE.value, Role.THERAPIST.value)


def staff_at(site: Site) -> QuerySet[User]:
    """Active clinical staff who work at ``site``, by name."""
    return (
        User.objects.filter(is_active=True, sites=site, groups__name__in=CLINICAL_ROLES)
        .distinct()
        .order_by("display_name", "username")
    )


def _quarter(value: dt.time | None, label: str) -> None:
    if value is not None and (value.minute % SLOT_MINUTES or value.second or value.microsecond):
        raise forms.ValidationError(f"{label}: use a quarter hour (:00, :15, :30 or :45); got {value:%H:%M}.")


def local_start(site: Site, day: dt.date, time: dt.time) -> dt.datetime:
    return dt.datetime.combine(day, time, tzinfo=site.zone)


class _SiteForm(forms.Form):
    def __init__(self, *args: Any, site: Site, **kwargs: Any) -> None:
        self.site = site
        super().__init__(*args, **kwargs)


class StartFields(_SiteForm):
    """A local date and a quarter-hour time at the site, not in the past."""

    date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    time = forms.TimeField(
        widget=forms.TimeInput(attrs={"type": "time", "step": SLOT_MINUTES * 60}, format="%H:%M"),
        help_text="Local clinic time, on a quarter hour.",
    )

    def clean_time(self) -> dt.time:
        value: dt.time = self.cleaned_data["time"]
        _quarter(value, "Time")
        return value

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("date") and data.get("time") is not None:
            start = local_start(self.site, data["date"], data["time"])
            now = timezone.now()
            if start < now:
                local_now = now.astimezone(self.site.zone)
                self.add_error(
                    "date", f"Date and time: {start:%Y-%m-%d %H:%M} is in the past (now {local_now:%Y-%m-%d %H:%M})."
                )
            data["start"] = start
        return data


class BookingForm(StartFields):
    """Book one appointment for a patient already chosen."""

    appointment_type = forms.ModelChoiceField(
        queryset=AppointmentType.objects.filter(active=True).order_by("name"), empty_label="Choose a type"
    )
    resource = forms.ModelChoiceField(
        queryset=Resource.objects.none(),
        required=False,
        label="Chair or room",
        empty_label="Any free chair or room",
        help_text="Leave empty to take the first free one of the right kind.",
    )
    staff = forms.ModelChoiceField(
        queryset=User.objects.none(),
        required=False,
        empty_label="Any (a free therapist for therapy)",
        label="Clinician",
    )
    field_order = ["appointment_type", "date", "time", "resource", "staff"]

    def __init__(self, *args: Any, site: Site, **kwargs: Any) -> None:
        super().__init__(*args, site=site, **kwargs)
        resource_field: Any = self.fields["resource"]
        resource_field.queryset = Resource.objects.filter(site=site, active=True).order_by("kind", "name")
        staff_field: Any = self.fields["staff"]
        staff_field.queryset = staff_at(site)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        resource, atype = data.get("resource"), data.get("appointment_type")
        if resource is not None and atype is not None:
            if not atype.resource_kind:
                self.add_error("resource", f"Chair or room: the {atype.name} needs none; leave it empty.")
            elif resource.kind != atype.resource_kind:
                self.add_error(
                    "resource",
                    f"Chair or room: {resource.name} is {kind_phrase(resource.kind)}; the {atype.name} needs "
                    f"{kind_phrase(atype.resource_kind)}.",
                )
        return data


class MoveForm(StartFields):
    """Move to a typed date and time (the offered free slots are buttons)."""


class FindForm(_SiteForm):
    """The day from which the reschedule screen offers free slots."""

    date = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}), label="Free times from")


class CancelForm(forms.Form):
    reason = forms.CharField(
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Who cancelled and why, e.g. 'Patient unwell, will call to rebook'. Up to 300 characters.",
    )


class ShiftForm(_SiteForm):
    """A shift of a member of staff at the site, in local time."""

    user = forms.ModelChoiceField(queryset=User.objects.none(), label="Staff member", empty_label="Choose")
    role_on_shift = forms.ChoiceField(choices=ShiftRole.choices, label="Works as")
    date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    starts = forms.TimeField(
        widget=forms.TimeInput(attrs={"type": "time", "step": SLOT_MINUTES * 60}, format="%H:%M"), label="From"
    )
    ends = forms.TimeField(
        widget=forms.TimeInput(attrs={"type": "time", "step": SLOT_MINUTES * 60}, format="%H:%M"), label="Until"
    )
    repeat_weeks = forms.IntegerField(
        min_value=1,
        max_value=12,
        initial=1,
        label="Repeat weekly",
        help_text="Number of weeks, 1 to 12 (the same weekday and hours).",
    )

    def __init__(self, *args: Any, site: Site, **kwargs: Any) -> None:
        super().__init__(*args, site=site, **kwargs)
        user_field: Any = self.fields["user"]
        user_field.queryset = staff_at(site)

    def clean_starts(self) -> dt.time:
        value: dt.time = self.cleaned_data["starts"]
        _quarter(value, "From")
        return value

    def clean_ends(self) -> dt.time:
        value: dt.time = self.cleaned_data["ends"]
        _quarter(value, "Until")
        return value

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("starts") is not None and data.get("ends") is not None and data["ends"] <= data["starts"]:
            self.add_error("ends", f"Until: the shift must end after it starts ({data['starts']:%H:%M}).")
        return data


class ResourceForm(forms.Form):
    kind = forms.ChoiceField(choices=ResourceKind.choices)
    name = forms.CharField(max_length=60, help_text="e.g. Chair 7, Therapy room 2")
    monitor_label = forms.CharField(
        max_length=60, required=False, label="Bedside monitor", help_text="Optional, e.g. Monitor M7."
    )


class ResourceEditForm(forms.Form):
    name = forms.CharField(max_length=60)
    monitor_label = forms.CharField(max_length=60, required=False, label="Bedside monitor")
    active = forms.BooleanField(required=False, label="In service")


class PolicyForm(forms.Form):
    nurse_ratio = forms.IntegerField(
        min_value=1,
        max_value=12,
        label="Dosing patients per nurse",
        help_text="1 to 12: how many dosing patients one nurse on shift may monitor at once.",
    )
    search_days = forms.IntegerField(
        min_value=1, max_value=180, label="Free-slot search, days ahead", help_text="1 to 180 days."
    )
