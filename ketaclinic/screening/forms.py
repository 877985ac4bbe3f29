"""Forms of the screening screens: run a check (route, indication, screening vitals) and sign it."""

from __future__ import annotations

from typing import Any

from django import forms

from ketaclinic import clinical
from ketaclinic.clinical.vitals import VITAL_SPECS
from ketaclinic.screening.actions import PRESCRIBER_PRECAUTION, SigningError
from ketaclinic.screening.intake import SCREENING_VITALS
from ketaclinic.screening.models import INDICATION_CHOICES, ROUTE_CHOICES, ChartReview, EligibilityAssessment

SI_CHOICES = [
    ("", "Not assessed"),
    ("yes", "Yes — current suicidal ideation or behaviour"),
    ("no", "No current suicidal ideation or behaviour"),
]


def _vital_field(vital: clinical.Vital) -> forms.FloatField:
    spec = VITAL_SPECS[vital]
    return forms.FloatField(
        label=f"{spec.label.capitalize()} ({spec.unit})",
        required=False,
        help_text=f"{spec.minimum:g}–{spec.maximum:g} {spec.unit}",
        widget=forms.NumberInput(attrs={"inputmode": "decimal", "step": "any"}),
    )


class RunForm(forms.Form):
    """What a check is run for, plus the readings taken at the screening visit (validated by the clinical core)."""

    route = forms.ChoiceField(choices=ROUTE_CHOICES, widget=forms.RadioSelect, initial=ROUTE_CHOICES[0][0])
    indication = forms.ChoiceField(choices=INDICATION_CHOICES, widget=forms.RadioSelect, initial="trd")
    systolic_mmhg = _vital_field(clinical.Vital.SYSTOLIC)
    diastolic_mmhg = _vital_field(clinical.Vital.DIASTOLIC)
    heart_rate_bpm = _vital_field(clinical.Vital.HEART_RATE)
    spo2_pct = _vital_field(clinical.Vital.SPO2)
    acute_suicidal_ideation = forms.ChoiceField(
        label="Current suicidal ideation or behaviour",
        choices=SI_CHOICES,
        required=False,
        help_text="Your assessment today. Needed for the MDSI indication only.",
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        vitals = {v.value: data[v.value] for v in SCREENING_VITALS if data.get(v.value) is not None}
        # Each reading alone first, so every out-of-range field gets its own message from the clinical core.
        for name, value in vitals.items():
            try:
                clinical.validate_vitals({name: value})
            except ValueError as exc:
                self.add_error(name, _plain(exc))
        if self.errors:
            return data
        systolic, diastolic = clinical.Vital.SYSTOLIC.value, clinical.Vital.DIASTOLIC.value
        if (systolic in vitals) != (diastolic in vitals):
            missing = diastolic if systolic in vitals else systolic
            self.add_error(missing, "Enter both blood-pressure readings, or neither.")
            return data
        try:
            clinical.validate_vitals(vitals)
        except ValueError as exc:
            self.add_error(diastolic, _plain(exc))
        data["vitals"] = vitals
        data["asi"] = {"yes": True, "no": False}.get(data.get("acute_suicidal_ideation") or "")
        return data


def _plain(exc: ValueError) -> str:
    """The core's "field: message" with the field as its label (the error is shown next to the field)."""
    text = str(exc)
    name, _, message = text.partition(": ")
    for vital, spec in VITAL_SPECS.items():
        if vital.value == name:
            return f"{spec.label.capitalize()}: {message}"
    return text


class SignForm(forms.Form):
    """A prescriber's decision on a draft; the rules themselves are enforced by ``actions.sign_assessment``."""

    decision = forms.ChoiceField(
        choices=EligibilityAssessment.PrescriberDecision.choices, widget=forms.RadioSelect, label="Your decision"
    )
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        label="Reason",
    )
    precautions = forms.MultipleChoiceField(
        required=False, widget=forms.CheckboxSelectMultiple, label="Precautions carried to every session"
    )
    other_precautions = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        label="Other precautions (one per line)",
        max_length=2000,
    )

    def __init__(self, *args: Any, assessment: EligibilityAssessment, **kwargs: Any) -> None:
        self.offered = assessment.carryable_findings()
        kwargs.setdefault(
            "initial",
            {
                "precautions": [str(i) for i in range(len(self.offered))],
                "decision": _suggested_decision(assessment),
            },
        )
        super().__init__(*args, **kwargs)
        self.fields["precautions"].choices = [  # type: ignore[attr-defined]
            (str(i), item["message"]) for i, item in enumerate(self.offered)
        ]

    def chosen_precautions(self) -> list[dict[str, str]]:
        chosen = [self.offered[int(i)] for i in self.cleaned_data.get("precautions", [])]
        for line in (self.cleaned_data.get("other_precautions") or "").splitlines():
            if line.strip():
                chosen.append({"code": PRESCRIBER_PRECAUTION, "message": line.strip()})
        return chosen

    def add_signing_error(self, error: SigningError) -> None:
        field = error.field if error.field in self.fields else None
        if error.field == "precautions":
            field = "other_precautions"
        message = error.message[:1].upper() + error.message[1:]
        self.add_error(field, message)


def _suggested_decision(assessment: EligibilityAssessment) -> str:
    PD = EligibilityAssessment.PrescriberDecision
    if assessment.decision == clinical.Decision.ELIGIBLE:
        return PD.APPROVE
    if assessment.decision == clinical.Decision.ELIGIBLE_WITH_PRECAUTIONS:
        return PD.APPROVE_WITH_PRECAUTIONS
    return ""


class ReviewForm(forms.Form):
    """Mark an empty chart section as reviewed: none."""

    section = forms.ChoiceField(choices=ChartReview.Section.choices, widget=forms.RadioSelect)
