"""Forms of the course screens. They check shape and ranges; the actions check the clinical rules."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django import forms

from ketaclinic.clinical import PROTOCOLS
from ketaclinic.courses.actions import TRANSITIONS
from ketaclinic.courses.models import JURISDICTION_CHOICES, WEIGHT_BASIS_CHOICES, Course, CourseDecision, Indication
from ketaclinic.courses.planning import WEEKDAY_NAMES

PROTOCOL_CHOICES = [(p.id, p.title) for p in PROTOCOLS.values()]
WEEKDAY_CHOICES = [(str(i), name) for i, name in enumerate(WEEKDAY_NAMES)]
YES_NO_UNKNOWN = [("", "Not asked"), ("yes", "Yes, worse"), ("no", "No, not worse")]


def _points(text: str) -> list[int] | None:
    text = (text or "").strip()
    if not text:
        return None
    try:
        return sorted({int(part) for part in text.replace(";", ",").split(",") if part.strip()})
    except ValueError:
        raise forms.ValidationError(
            "Review points: session numbers separated by commas, e.g. 4, 6.", code="invalid"
        ) from None


class OpenCourseForm(forms.Form):
    protocol = forms.ChoiceField(choices=PROTOCOL_CHOICES, widget=forms.RadioSelect)
    indication = forms.ChoiceField(choices=Indication.choices, initial=Indication.TRD)
    jurisdiction = forms.ChoiceField(choices=JURISDICTION_CHOICES, initial="US", label="Label followed")
    mg_per_kg = forms.DecimalField(
        label="Starting dose (mg/kg)",
        required=False,
        min_value=Decimal("0.01"),
        max_value=Decimal("2"),
        decimal_places=3,
        help_text="Per-kilogram protocols (IV, IM); empty: the protocol's default.",
    )
    amount_mg = forms.DecimalField(
        label="Starting dose (mg)",
        required=False,
        min_value=Decimal("1"),
        max_value=Decimal("300"),
        decimal_places=1,
        help_text="Fixed-dose protocols (sublingual, intranasal, esketamine); empty: the protocol's default.",
    )
    weight_basis = forms.ChoiceField(choices=WEIGHT_BASIS_CHOICES, initial="actual", label="Weight used")
    min_bound = forms.DecimalField(
        label="Titration minimum", required=False, min_value=Decimal("0.01"), max_value=Decimal("300"), decimal_places=3
    )
    max_bound = forms.DecimalField(
        label="Titration maximum", required=False, min_value=Decimal("0.01"), max_value=Decimal("300"), decimal_places=3
    )
    bounds_override_reason = forms.CharField(
        label="Reason for bounds outside the protocol",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Only when the titration bounds go beyond the protocol's range (at least 20 characters).",
    )
    planned_induction_sessions = forms.IntegerField(
        label="Planned induction sessions", required=False, min_value=1, max_value=52
    )
    prior_sessions = forms.IntegerField(
        label="Sessions already given",
        required=False,
        min_value=0,
        max_value=200,
        initial=0,
        help_text="A course transferred from another clinic: sessions given there count towards the numbering.",
    )
    review_points = forms.CharField(
        label="Review after sessions",
        required=False,
        help_text="Session numbers, e.g. 4, 6. Empty: after session 4 and at the end of induction.",
    )

    def clean_review_points(self) -> list[int] | None:
        return _points(self.cleaned_data.get("review_points", ""))


class DoseOrderForm(forms.Form):
    value = forms.DecimalField(min_value=Decimal("0.001"), max_value=Decimal("300"), decimal_places=3)
    reason = forms.CharField(max_length=300, help_text="Why this dose (e.g. partial response, tolerability).")
    override_reason = forms.CharField(
        label="Override reason",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Needed only outside the bounds shown above (at least 20 characters).",
    )
    effective_from_session = forms.IntegerField(
        label="From session", required=False, min_value=1, max_value=1000, help_text="Empty: the next session."
    )

    def __init__(self, *args: Any, course: Course, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["value"].label = "Dose (mg/kg)" if course.is_per_kg else "Dose (mg)"


class PlanForm(forms.Form):
    phase = forms.ChoiceField()
    start_date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), label="First session on or after")
    preferred_time = forms.TimeField(
        widget=forms.TimeInput(attrs={"type": "time", "step": 900}),
        initial=dt.time(9),
        label="Preferred time (clinic time)",
    )
    weekdays = forms.MultipleChoiceField(
        choices=WEEKDAY_CHOICES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Empty: Mon/Wed/Fri for three a week, Mon/Thu for two, the start day for weekly.",
    )
    count = forms.IntegerField(
        required=False, min_value=1, max_value=52, label="Sessions", help_text="Empty: what the phase still needs."
    )
    every_weeks = forms.TypedChoiceField(
        choices=[(1, "Every week"), (2, "Every 2 weeks")], coerce=int, initial=1, label="Frequency (weekly phases)"
    )

    def __init__(self, *args: Any, course: Course, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["phase"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [(p.name, p.name.capitalize()) for p in course.clinical_protocol.phases]

    def clean_weekdays(self) -> list[int] | None:
        days = [int(d) for d in self.cleaned_data.get("weekdays") or []]
        return days or None


class BookForm(forms.Form):
    phase = forms.CharField(max_length=40)

    def __init__(self, *args: Any, chosen: list[str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.chosen = chosen or []

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        starts = []
        for value in self.chosen:
            try:
                moment = dt.datetime.fromisoformat(value)
            except ValueError:
                raise forms.ValidationError("A chosen time could not be read; plan the series again.") from None
            if moment.tzinfo is None:
                raise forms.ValidationError("A chosen time has no time zone; plan the series again.")
            starts.append(moment)
        if not starts:
            raise forms.ValidationError("Choose at least one session time.")
        data["start_times"] = starts
        return data


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=CourseDecision.Decision.choices, widget=forms.RadioSelect)
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), help_text="Required: part of the record.")
    extra_sessions = forms.IntegerField(
        label="Extra induction sessions", required=False, min_value=1, max_value=8, help_text="For extend induction."
    )
    version = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args: Any, course: Course, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        allowed = [d for d, moves in TRANSITIONS.items() if course.status in moves]
        field = self.fields["decision"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [c for c in CourseDecision.Decision.choices if c[0] in allowed]


class MoveForm(forms.Form):
    new_start = forms.DateTimeField(
        label="New date and time (clinic time)",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local", "step": 900}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
    )
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)


class MissedForm(forms.Form):
    ACTIONS = [
        ("cancel", "Cancel this session"),
        ("no_show", "Record a no-show (did not attend)"),
        ("record", "Apply the missed-session rule (already cancelled or missed)"),
    ]
    action = forms.ChoiceField(choices=ACTIONS, widget=forms.RadioSelect)
    reason = forms.CharField(max_length=300, required=False, label="Reason for cancelling")
    worsening = forms.ChoiceField(
        choices=YES_NO_UNKNOWN, required=False, label="Is the patient worse?", widget=forms.RadioSelect
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("action") == "cancel" and not (data.get("reason") or "").strip():
            self.add_error("reason", "Reason: say why the session is cancelled.")
        data["worsening_value"] = {"yes": True, "no": False}.get(data.get("worsening") or "")
        return data
