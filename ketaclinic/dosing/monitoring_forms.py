"""Monitoring forms: a fast vitals row, one-tap MOAA/S, the dissociation and recovery scales, alert acknowledgement
and adverse events. Each form is one independent POST carrying a ``client_token`` so a resend stores once."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django import forms
from django.utils import timezone

from ketaclinic import clinical
from ketaclinic.dosing.forms import VersionForm, VitalsForm
from ketaclinic.dosing.models import AdverseEvent, ScaleObservation, SessionAlert
from ketaclinic.dosing.monitoring import RESCUE_ROUTES, RESCUE_UNITS, actions_for


def new_token() -> str:
    return uuid.uuid4().hex


class TokenForm(VersionForm):
    client_token = forms.CharField(widget=forms.HiddenInput, required=False, max_length=40)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {}).setdefault("client_token", new_token())
        super().__init__(*args, **kwargs)


def at_today(value: dt.time | None, zone: dt.tzinfo) -> dt.datetime | None:
    """A clock time typed on the screen as an aware datetime today in the clinic's zone (None when blank)."""
    if value is None:
        return None
    today = timezone.now().astimezone(zone).date()
    return dt.datetime.combine(today, value, tzinfo=zone)


class MonitorVitalsForm(TokenForm, VitalsForm):
    """One row of in-session vital signs; the last values are shown as placeholders."""

    taken_at = forms.TimeField(
        required=False,
        label="Taken at (if not now)",
        widget=forms.TimeInput(attrs={"type": "time"}),
        help_text="Leave blank for now.",
    )

    def __init__(self, *args: Any, last: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if last is not None:
            for name in ("systolic_mmhg", "diastolic_mmhg", "heart_rate_bpm", "spo2_pct", "resp_rate_per_min"):
                value = getattr(last, name)
                if value is not None:
                    self.fields[name].widget.attrs["placeholder"] = str(value)

    def vitals(self) -> dict[str, Any]:
        skip = {"version", "client_token", "taken_at"}
        return {k: v for k, v in self.cleaned_data.items() if k not in skip and v is not None}


class ScaleForm(TokenForm):
    """The items of one session scale (item labels and anchors from the clinical core; no licensed item text)."""

    def __init__(self, *args: Any, instrument: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.instrument = instrument
        definition = clinical.get_instrument(instrument)
        self.title = str(ScaleObservation.Instrument(instrument).label)
        for item in definition.items:
            if item.anchors:
                choices = [(str(a.value), f"{a.value} {a.label}") for a in item.anchors]
            else:
                choices = [(str(v), str(v)) for v in item.options]
            label = item.label.capitalize() if item.label else item.id
            self.fields[item.id] = forms.TypedChoiceField(
                label=f"{item.id.upper()}: {label}", choices=[("", "—"), *choices], coerce=int
            )

    def answers(self) -> dict[str, Any]:
        return {k: v for k, v in self.cleaned_data.items() if k not in ("version", "client_token")}


class AckForm(VersionForm):
    action = forms.ChoiceField(choices=SessionAlert.Action.choices, widget=forms.RadioSelect, label="Action taken")
    note = forms.CharField(max_length=400, label="What you saw and did", widget=forms.Textarea(attrs={"rows": 2}))
    medication = forms.CharField(required=False, max_length=80, label="Medication given (if any)")
    medication_dose = forms.DecimalField(
        required=False, label="Dose", widget=forms.NumberInput(attrs={"inputmode": "decimal", "step": "any"})
    )
    medication_unit = forms.ChoiceField(choices=[(u, u) for u in RESCUE_UNITS], required=False, label="Unit")
    medication_route = forms.ChoiceField(
        choices=[("", "—"), *((r, r.upper()) for r in RESCUE_ROUTES)], required=False, label="Route"
    )

    def __init__(self, *args: Any, route: str = "iv", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        allowed = set(actions_for(route))
        field = self.fields["action"]
        field.choices = [c for c in SessionAlert.Action.choices if c[0] in allowed]  # type: ignore[attr-defined]

    def medication_given(self) -> dict[str, Any] | None:
        data = self.cleaned_data
        if not (data.get("medication") or "").strip():
            return None
        return {
            "medication": data["medication"],
            "dose": data.get("medication_dose"),
            "unit": data.get("medication_unit") or "mg",
            "route": data.get("medication_route") or "",
        }


class AdverseEventForm(TokenForm):
    kind = forms.ChoiceField(choices=AdverseEvent.Kind.choices, label="Event")
    severity = forms.ChoiceField(choices=AdverseEvent.Severity.choices, widget=forms.RadioSelect, label="Severity")
    outcome = forms.ChoiceField(choices=AdverseEvent.Outcome.choices, label="Outcome")
    serious = forms.BooleanField(
        required=False,
        label="Serious (life-threatening, hospitalisation, disability, or medically important)",
    )
    onset_at = forms.TimeField(
        required=False, label="Onset (if not now)", widget=forms.TimeInput(attrs={"type": "time"})
    )
    description = forms.CharField(required=False, max_length=400, label="Description")
    medication = forms.CharField(required=False, max_length=80, label="Medication given (e.g. ondansetron)")
    medication_dose = forms.DecimalField(
        required=False, label="Dose", widget=forms.NumberInput(attrs={"inputmode": "decimal", "step": "any"})
    )
    medication_unit = forms.ChoiceField(choices=[(u, u) for u in RESCUE_UNITS], required=False, label="Unit")
    medication_route = forms.ChoiceField(
        choices=[("", "—"), *((r, r.upper()) for r in RESCUE_ROUTES)], required=False, label="Route"
    )

    def interventions(self) -> list[dict[str, Any]]:
        data = self.cleaned_data
        if not (data.get("medication") or "").strip():
            return []
        return [
            {
                "medication": data["medication"],
                "dose": data.get("medication_dose"),
                "unit": data.get("medication_unit") or "mg",
                "route": data.get("medication_route") or "",
            }
        ]
