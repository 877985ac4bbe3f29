"""Forms of the patient screens: search, registration, demographics, each chart section, removal and status.

Ranges and messages name the field and the allowed values, because a nurse reads them on a tablet mid-task. Chart
rows are validated by the model's own ``clean()`` too (catalogue class, ICD-10 code, one primary diagnosis), so the
API and the portal meet the same rules.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal
from typing import Any, ClassVar

from django import forms
from django.urls import reverse
from django.utils import timezone

from ketaclinic.accounts.models import Site
from ketaclinic.clinical.medications import DrugClass, drug_class_of
from ketaclinic.patients.models import (
    DRUG_CLASS_LABELS,
    HEIGHT_CM_RANGE,
    WEIGHT_KG_RANGE,
    Allergy,
    AntidepressantTrial,
    BodyMeasurement,
    Diagnosis,
    MedicalCondition,
    MedicationEntry,
    Patient,
    SubstanceUseEntry,
)

ALL_SITES = "all"


def _hint(widget: forms.Widget, view: str, target: str) -> None:
    """Ask the server for a catalogue hint as the user types (htmx); without JavaScript the form works the same."""
    widget.attrs.update(
        {
            "hx-get": reverse(view),
            "hx-trigger": "change, keyup changed delay:400ms",
            "hx-target": target,
            "hx-include": "this",
            "hx-swap": "innerHTML",
        }
    )


DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
UNKNOWN_YES_NO = [("unknown", "Not known"), ("true", "Yes"), ("false", "No")]


class UnknownYesNoField(forms.NullBooleanField):
    """Yes / No / Not known, where "not known" is stored as NULL (screening asks for it rather than guess)."""

    widget = forms.NullBooleanSelect


# --- search ------------------------------------------------------------------------------------------------------


class PatientSearchForm(forms.Form):
    """Filters of the patient list. ``site`` is one of the user's sites, or all of them."""

    q = forms.CharField(
        label="Name or MRN",
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"type": "search", "autofocus": True, "placeholder": "e.g. Rivera or SIT-000012"}),
    )
    date_of_birth = forms.DateField(label="Date of birth", required=False, widget=DATE)
    status = forms.ChoiceField(label="Status", required=False, choices=[("", "Any status"), *Patient.Status.choices])
    site = forms.ChoiceField(label="Site", required=False)

    def __init__(self, data: Any = None, *, sites: Iterable[Site], default_site: Site | None) -> None:
        super().__init__(data)
        self.sites = list(sites)
        choices = [(str(s.pk), s.name) for s in self.sites]
        if len(self.sites) > 1:
            choices.append((ALL_SITES, "All my sites"))
        site_field: Any = self.fields["site"]
        site_field.choices = choices
        self.initial["site"] = str(default_site.pk) if default_site else ALL_SITES

    def chosen_sites(self) -> list[Site]:
        """The sites to list: the chosen one, all of the user's, or (unchosen) the initial default."""
        value = (self.cleaned_data.get("site") if self.is_bound else None) or self.initial["site"]
        if value == ALL_SITES:
            return self.sites
        return [s for s in self.sites if str(s.pk) == value]


# --- demographics ------------------------------------------------------------------------------------------------

IDENTITY_FIELDS = (
    "legal_first_name",
    "legal_last_name",
    "preferred_name",
    "date_of_birth",
    "sex_at_birth",
    "gender",
    "pronouns",
)
CONTACT_FIELDS = ("phone", "email", "address")
EMERGENCY_FIELDS = ("emergency_contact_name", "emergency_contact_phone", "emergency_contact_relationship")
REFERRAL_FIELDS = ("referring_clinician", "referring_clinician_contact")
#: Clinical facts kept on the patient row; only roles that edit the chart may change them.
CLINICAL_DEMOGRAPHIC_FIELDS = ("pregnant", "breastfeeding")


class DemographicsForm(forms.ModelForm[Patient]):
    """Identity, contacts, emergency contact and referral; pregnancy/breast-feeding only for chart editors."""

    groups: ClassVar[list[tuple[str, tuple[str, ...]]]] = [
        ("Identity", IDENTITY_FIELDS),
        ("Contact", CONTACT_FIELDS),
        ("Emergency contact", EMERGENCY_FIELDS),
        ("Referral", REFERRAL_FIELDS),
        ("Pregnancy", CLINICAL_DEMOGRAPHIC_FIELDS),
    ]

    class Meta:
        model = Patient
        fields = [
            *IDENTITY_FIELDS,
            *CONTACT_FIELDS,
            *EMERGENCY_FIELDS,
            *REFERRAL_FIELDS,
            *CLINICAL_DEMOGRAPHIC_FIELDS,
        ]
        labels: ClassVar = {
            "legal_first_name": "Legal first name",
            "legal_last_name": "Legal last name",
            "preferred_name": "Preferred first name",
            "emergency_contact_name": "Name",
            "emergency_contact_phone": "Phone",
            "emergency_contact_relationship": "Relationship",
            "referring_clinician": "Referring clinician",
            "referring_clinician_contact": "Referring clinician's contact",
            "pregnant": "Pregnant",
            "breastfeeding": "Breast-feeding",
        }
        widgets: ClassVar = {
            "date_of_birth": DATE,
            "address": forms.Textarea(attrs={"rows": 2}),
            "phone": forms.TextInput(attrs={"type": "tel", "autocomplete": "off"}),
            "emergency_contact_phone": forms.TextInput(attrs={"type": "tel", "autocomplete": "off"}),
            "pregnant": forms.NullBooleanSelect,
            "breastfeeding": forms.NullBooleanSelect,
        }

    def __init__(self, *args: Any, clinical: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not clinical:
            for name in CLINICAL_DEMOGRAPHIC_FIELDS:
                del self.fields[name]
        self.fields["date_of_birth"].help_text = "Patients must be 18 or older."

    def field_groups(self) -> list[tuple[str, list[forms.BoundField]]]:
        return [
            (title, [self[name] for name in names if name in self.fields])
            for title, names in self.groups
            if any(name in self.fields for name in names)
        ]

    def changes(self) -> dict[str, Any]:
        """The submitted demographic values, keyed by field (for ``update_patient``/``register_patient``)."""
        return {name: self.cleaned_data[name] for name in self.fields if name in self.Meta.fields}


class RegisterPatientForm(DemographicsForm):
    """Registration: demographics plus the confirmation that a possible duplicate is a different person."""

    confirm_not_duplicate = forms.BooleanField(
        label="This is a different person from the patients listed above",
        required=False,
    )

    def __init__(self, *args: Any, site: Site | None, **kwargs: Any) -> None:
        kwargs.setdefault("instance", Patient(site=site))
        super().__init__(*args, **kwargs)
        self.site = site
        self.duplicates: list[Patient] = []

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean() or {}
        last, born = cleaned.get("legal_last_name"), cleaned.get("date_of_birth")
        if self.site is not None and last and born:
            self.duplicates = list(
                Patient.objects.possible_duplicates(site=self.site, legal_last_name=last, date_of_birth=born)[:5]
            )
            if self.duplicates and not cleaned.get("confirm_not_duplicate"):
                self.add_error(
                    "confirm_not_duplicate",
                    "Possible duplicate: a patient with this last name and date of birth is already registered here. "
                    "Open their chart, or tick this box if this is a different person.",
                )
        return cleaned


class EditDemographicsForm(DemographicsForm):
    """Demographics edit with the record's version, so two people editing at once cannot overwrite each other."""

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


class StatusForm(forms.Form):
    status = forms.ChoiceField(label="New status", choices=Patient.Status.choices)
    reason = forms.CharField(
        label="Reason",
        max_length=300,
        required=False,
        help_text="Why the status changes (e.g. 'eligibility signed', 'moved away').",
    )


class RemoveEntryForm(forms.Form):
    reason = forms.CharField(
        label="Reason for removal",
        max_length=200,
        help_text="e.g. entered in error, resolved, stopped on …",
        error_messages={"required": "Reason for removal: say why the entry is removed (e.g. 'entered in error')."},
    )


# --- chart sections ----------------------------------------------------------------------------------------------


class ChartEntryForm(forms.ModelForm[Any]):
    """Base of the section forms: the model's ``clean()`` runs on an unsaved row that knows its patient."""

    template_fields: ClassVar[tuple[str, ...]] = ()

    def entry_values(self) -> dict[str, Any]:
        """The validated values to pass to ``add_entry``/``update_entry``."""
        return {name: self.cleaned_data[name] for name in self.Meta.fields}  # type: ignore[attr-defined]


class MeasurementForm(ChartEntryForm):
    weight_kg = forms.DecimalField(
        label="Weight (kg)",
        required=False,
        max_digits=5,
        decimal_places=1,
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
        help_text="Above 0 and at most 350 kg.",
        error_messages={"invalid": "Weight: enter a number of kilograms, e.g. 72.5."},
    )
    height_cm = forms.DecimalField(
        label="Height (cm)",
        required=False,
        max_digits=5,
        decimal_places=1,
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
        help_text="50 to 250 cm.",
        error_messages={"invalid": "Height: enter a number of centimetres, e.g. 172."},
    )

    class Meta:
        model = BodyMeasurement
        fields = ["measured_at", "weight_kg", "height_cm"]
        labels: ClassVar = {"measured_at": "Measured at"}
        widgets: ClassVar = {"measured_at": DATETIME}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.instance.pk:
            self.initial.setdefault("measured_at", timezone.localtime().replace(second=0, microsecond=0))

    def clean_measured_at(self) -> dt.datetime:
        value: dt.datetime = self.cleaned_data["measured_at"]
        if value > timezone.now() + dt.timedelta(minutes=5):
            raise forms.ValidationError("Measured at: cannot be in the future.")
        return value

    def clean_weight_kg(self) -> Decimal | None:
        value: Decimal | None = self.cleaned_data.get("weight_kg")
        high = WEIGHT_KG_RANGE[1]
        # One decimal place is enforced by the field, so "above 0" means at least the model's 0.1 kg.
        if value is not None and not (Decimal(0) < value <= high):
            raise forms.ValidationError(f"Weight: must be above 0 kg and at most {high:.0f} kg (you entered {value}).")
        return value

    def clean_height_cm(self) -> Decimal | None:
        value: Decimal | None = self.cleaned_data.get("height_cm")
        low, high = HEIGHT_CM_RANGE
        if value is not None and not (low <= value <= high):
            raise forms.ValidationError(f"Height: must be between {low:.0f} and {high:.0f} cm (you entered {value}).")
        return value


class AllergyForm(ChartEntryForm):
    class Meta:
        model = Allergy
        fields = ["substance", "reaction", "severity"]
        labels: ClassVar = {"substance": "Substance or drug"}


class DiagnosisForm(ChartEntryForm):
    class Meta:
        model = Diagnosis
        fields = ["icd10_code", "description", "episode", "is_primary", "onset_date", "current_episode_start"]
        labels: ClassVar = {"is_primary": "Primary diagnosis", "current_episode_start": "Current episode began"}
        widgets: ClassVar = {
            "icd10_code": forms.TextInput(
                attrs={"list": "icd10-codes", "autocomplete": "off", "placeholder": "e.g. F33.2"}
            ),
            "onset_date": DATE,
            "current_episode_start": DATE,
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["icd10_code"].help_text = "ICD-10-CM, from the clinic's catalogue."
        _hint(self.fields["icd10_code"].widget, "patients:icd10_hint", "#icd10-hint")
        self.fields["episode"].help_text = "Taken from the code when it says single or recurrent."


class ConditionForm(ChartEntryForm):
    class Meta:
        model = MedicalCondition
        fields = ["condition", "notes"]
        labels: ClassVar = {"notes": "Notes (control, dates, treating doctor)"}


class SubstanceUseForm(ChartEntryForm):
    class Meta:
        model = SubstanceUseEntry
        fields = ["substance", "current", "use_disorder", "pattern", "last_use"]
        labels: ClassVar = {
            "current": "Used in the past year",
            "use_disorder": "Meets criteria for a use disorder",
            "last_use": "Last use",
        }
        widgets: ClassVar = {"last_use": DATE}


def _drug_class_field() -> forms.ChoiceField:
    return forms.ChoiceField(
        label="Drug class",
        required=False,
        choices=[("", "Look it up in the drug catalogue"), *[(c.value, DRUG_CLASS_LABELS[c]) for c in DrugClass]],
        help_text="Leave blank for a catalogued drug: its class is filled in.",
    )


class MedicationForm(ChartEntryForm):
    drug_class = _drug_class_field()
    daily_dose_mg = forms.DecimalField(
        label="Total daily dose (mg)",
        required=False,
        max_digits=8,
        decimal_places=2,
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
        error_messages={"invalid": "Daily dose: enter milligrams per day, e.g. 1.5."},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _hint(self.fields["name"].widget, "patients:drug_class_hint", "#drug-class-hint")
        if not self.instance.pk:
            self.initial["drug_class"] = ""  # not the model's "other": a catalogued drug gets its class

    class Meta:
        model = MedicationEntry
        fields = ["name", "drug_class", "daily_dose_mg", "dose_text", "started_on", "stopped_on"]
        labels: ClassVar = {"name": "Medication (generic name)", "dose_text": "As prescribed"}
        widgets: ClassVar = {
            "name": forms.TextInput(attrs={"list": "drug-names", "autocomplete": "off"}),
            "started_on": DATE,
            "stopped_on": DATE,
        }

    def clean_daily_dose_mg(self) -> Decimal | None:
        value: Decimal | None = self.cleaned_data.get("daily_dose_mg")
        if value is not None and value <= 0:
            raise forms.ValidationError("Daily dose: must be more than 0 mg (leave blank if not known).")
        return value

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean() or {}
        if not cleaned.get("drug_class"):
            known = drug_class_of(cleaned.get("name") or "")
            cleaned["drug_class"] = (known or DrugClass.OTHER).value
            self.instance.drug_class = cleaned["drug_class"]
        return cleaned


class TrialForm(ChartEntryForm):
    drug_class = _drug_class_field()
    daily_dose_mg = forms.DecimalField(
        label="Daily dose (mg)",
        required=False,
        max_digits=8,
        decimal_places=2,
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
        error_messages={"invalid": "Daily dose: enter milligrams per day, e.g. 150."},
    )
    adequate_dose = UnknownYesNoField(label="Adequate dose", required=False)
    weeks = forms.DecimalField(
        label="Weeks on the drug",
        required=False,
        max_digits=5,
        decimal_places=1,
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
        help_text="More than 0; leave blank if not known (screening will ask).",
        error_messages={"invalid": "Weeks: enter a number of weeks, e.g. 8."},
    )
    improvement_pct = forms.IntegerField(
        label="Improvement (%)",
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "numeric"}),
        help_text="0 = none, 100 = full recovery; blank if not known.",
        error_messages={"invalid": "Improvement: enter a whole percentage from 0 to 100."},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _hint(self.fields["drug"].widget, "patients:drug_class_hint", "#drug-class-hint")

    class Meta:
        model = AntidepressantTrial
        fields = [
            "drug",
            "drug_class",
            "daily_dose_mg",
            "adequate_dose",
            "weeks",
            "improvement_pct",
            "current_episode",
            "started_on",
            "notes",
        ]
        labels: ClassVar = {"drug": "Drug (generic name)", "current_episode": "In the current episode"}
        widgets: ClassVar = {
            "drug": forms.TextInput(attrs={"list": "drug-names", "autocomplete": "off"}),
            "started_on": DATE,
        }

    def clean_daily_dose_mg(self) -> Decimal | None:
        value: Decimal | None = self.cleaned_data.get("daily_dose_mg")
        if value is not None and value <= 0:
            raise forms.ValidationError("Daily dose: must be more than 0 mg (leave blank if not known).")
        return value

    def clean_weeks(self) -> Decimal | None:
        value: Decimal | None = self.cleaned_data.get("weeks")
        if value is not None and not (Decimal(0) < value <= 520):
            raise forms.ValidationError(
                f"Weeks: a trial must last more than 0 weeks and at most 520 (you entered {value}); "
                "leave it blank if not known."
            )
        return value

    def clean_improvement_pct(self) -> int | None:
        value: int | None = self.cleaned_data.get("improvement_pct")
        if value is not None and not (0 <= value <= 100):
            raise forms.ValidationError(f"Improvement: must be from 0 to 100 % (you entered {value}).")
        return value

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean() or {}
        if not cleaned.get("drug_class") and cleaned.get("drug"):
            known = drug_class_of(cleaned["drug"])
            if known is None:
                self.add_error(
                    "drug_class", f"Drug class: {cleaned['drug']} is not in the drug catalogue; choose its class."
                )
            else:
                cleaned["drug_class"] = known.value
                self.instance.drug_class = known.value
        return cleaned
