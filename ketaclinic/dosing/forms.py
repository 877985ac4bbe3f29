"""Session-day forms: big, few fields, units and allowed ranges next to each; the actions do the clinical checks."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils import timezone

from ketaclinic import clinical
from ketaclinic.clinical.vitals import VITAL_SPECS, Vital
from ketaclinic.dosing.models import MIN_REASON_CHARS, CheckIn

NUMERIC = {"inputmode": "numeric", "autocomplete": "off"}


class VersionForm(forms.Form):
    """Every session form carries the version it was loaded at (optimistic locking)."""

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


class CheckInForm(VersionForm):
    identity_confirmed = forms.BooleanField(
        required=False, label="Identity confirmed", help_text="Two identifiers: full name and date of birth."
    )
    weight_kg = forms.DecimalField(
        label="Weight today (kg)",
        max_digits=5,
        decimal_places=1,
        help_text="Above 0 and at most 350 kg.",
        widget=forms.NumberInput(attrs={"inputmode": "decimal", "step": "0.1"}),
    )
    last_food_at = forms.TimeField(
        required=False, label="Last food (time today)", widget=forms.TimeInput(attrs={"type": "time"})
    )
    last_liquid_at = forms.TimeField(
        required=False, label="Last liquid (time today)", widget=forms.TimeInput(attrs={"type": "time"})
    )
    escort_name = forms.CharField(required=False, max_length=120, label="Escort or driver")
    escort_phone = forms.CharField(required=False, max_length=40, label="Escort's phone")
    escort_confirmed = forms.BooleanField(required=False, label="Escort confirmed for the ride home")
    pregnancy_test = forms.ChoiceField(
        choices=CheckIn.PregnancyTest.choices, widget=forms.RadioSelect, label="Pregnancy test"
    )
    new_medications_or_substances = forms.BooleanField(
        required=False, label="New medicines or substances since the last visit"
    )
    new_medications_text = forms.CharField(
        required=False, label="Which (name, dose, when)", widget=forms.Textarea(attrs={"rows": 2})
    )
    benzodiazepine_held = forms.ChoiceField(
        choices=CheckIn.BenzodiazepineHold.choices, widget=forms.RadioSelect, label="Benzodiazepine hold"
    )

    def checklist(self, zone: dt.tzinfo) -> dict[str, Any]:
        """The cleaned values as :func:`~ketaclinic.dosing.actions.check_in` takes them (times today, clinic zone)."""
        data = {k: v for k, v in self.cleaned_data.items() if k != "version"}
        today = timezone.now().astimezone(zone).date()
        for name in ("last_food_at", "last_liquid_at"):
            when = data[name]
            data[name] = dt.datetime.combine(today, when, tzinfo=zone) if when is not None else None
        return data


def _vital(vital: Vital, label: str, required: bool = True) -> forms.IntegerField:
    spec = VITAL_SPECS[vital]
    return forms.IntegerField(
        label=label,
        required=required,
        help_text=f"{spec.minimum:g}–{spec.maximum:g} {spec.unit}",
        widget=forms.NumberInput(attrs=NUMERIC),
    )


class VitalsForm(VersionForm):
    systolic_mmhg = _vital(Vital.SYSTOLIC, "Systolic (mmHg)")
    diastolic_mmhg = _vital(Vital.DIASTOLIC, "Diastolic (mmHg)")
    heart_rate_bpm = _vital(Vital.HEART_RATE, "Heart rate (/min)")
    spo2_pct = _vital(Vital.SPO2, "SpO2 (%)")
    resp_rate_per_min = _vital(Vital.RESP_RATE, "Respiratory rate (/min)", required=False)

    def vitals(self) -> dict[str, Any]:
        return {k: v for k, v in self.cleaned_data.items() if k != "version" and v is not None}


class ReasonForm(VersionForm):
    reason = forms.CharField(
        label="Reason",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=f"At least {MIN_REASON_CHARS} characters: what you weighed and why dosing is safe today.",
    )


SCREEN_INSTRUMENTS = ("phq9", "cssrs_screener")


class ScreenForm(VersionForm):
    """The pre-session PHQ-9 and C-SSRS screener, built from the instrument definitions (item text where its licence
    allows shipping it, the item label otherwise). Follow-up items left blank are "not asked"."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for instrument_id in SCREEN_INSTRUMENTS:
            definition = clinical.get_instrument(instrument_id)
            for item in definition.items:
                label = (item.text if definition.item_text_shippable and item.text else item.label).capitalize()
                if item.anchors:
                    choices = [("", "—")] + [(str(a.value), f"{a.value} {a.label}") for a in item.anchors]
                else:
                    choices = [("", "Not asked"), ("no", "No"), ("yes", "Yes")]
                self.fields[f"{instrument_id}_{item.id}"] = forms.ChoiceField(
                    label=f"{definition.name} {item.id}: {label}", choices=choices, required=False
                )

    def answers(self, instrument_id: str) -> dict[str, Any]:
        """The answers of one instrument as ``record_response`` takes them (blank items left out)."""
        prefix = f"{instrument_id}_"
        out: dict[str, Any] = {}
        for name, value in self.cleaned_data.items():
            if not name.startswith(prefix) or value in ("", None):
                continue
            out[name.removeprefix(prefix)] = value == "yes" if value in ("yes", "no") else int(value)
        return out


class CancelForm(VersionForm):
    reason = forms.CharField(label="Why is the session cancelled?", max_length=300)
