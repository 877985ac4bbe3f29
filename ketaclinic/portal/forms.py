"""Forms of the portal: the patient's intake steps (plain language, one error next to each field) and the staff
forms that send links and review intakes."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from django import forms
from django.conf import settings
from django.db import models

from ketaclinic import clinical
from ketaclinic.clinical.eligibility import Substance
from ketaclinic.clinical.instruments import Instrument, Item
from ketaclinic.patients.models import AntidepressantTrial, MedicalCondition, MedicationEntry, SubstanceUseEntry
from ketaclinic.portal.intake import (
    BREASTFEEDING_CHOICES,
    CSSRS_PLAIN_TEXT,
    HELPED_CHOICES,
    HISTORY_QUESTIONS,
    PREGNANCY_CHOICES,
    SUBSTANCE_LABELS,
)

_PHONE = re.compile(r"^\+?[0-9 ()./-]{7,30}$")
CHOOSE = "Choose an answer."


def _clean_phone(value: str, label: str) -> str:
    value = value.strip()
    if value and (not _PHONE.match(value) or sum(ch.isdigit() for ch in value) < 7):
        raise forms.ValidationError(
            f"{label}: enter a phone number of at least 7 digits, e.g. 312 555 0100 (digits, spaces, + - ( ) only)."
        )
    return value


class ContactForm(forms.Form):
    """The patient confirms or corrects their contact details; differences become proposals for staff."""

    phone = forms.CharField(label="Your phone number", max_length=30, required=False)
    email = forms.EmailField(
        label="Your e-mail address",
        required=False,
        error_messages={"invalid": "E-mail: enter an address like name@example.com."},
    )
    address = forms.CharField(
        label="Your home address", required=False, max_length=500, widget=forms.Textarea(attrs={"rows": 3})
    )
    pronouns = forms.CharField(label="Your pronouns (optional)", max_length=30, required=False)
    emergency_contact_name = forms.CharField(label="Emergency contact: name", max_length=120, required=False)
    emergency_contact_phone = forms.CharField(label="Emergency contact: phone", max_length=30, required=False)
    emergency_contact_relationship = forms.CharField(
        label="Emergency contact: how are they related to you?", max_length=60, required=False
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["phone"].widget.attrs.update({"autocomplete": "tel", "inputmode": "tel"})
        self.fields["email"].widget.attrs.update({"autocomplete": "email"})
        self.fields["address"].widget.attrs.update({"autocomplete": "street-address"})
        self.fields["emergency_contact_phone"].widget.attrs.update({"inputmode": "tel"})

    def clean_phone(self) -> str:
        return _clean_phone(self.cleaned_data["phone"], "Phone")

    def clean_emergency_contact_phone(self) -> str:
        return _clean_phone(self.cleaned_data["emergency_contact_phone"], "Emergency contact phone")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if not cleaned.get("phone") and not cleaned.get("email") and "phone" not in self.errors:
            self.add_error("phone", "Phone: give a phone number or an e-mail address so the clinic can reach you.")
        return cleaned

    def answers(self) -> dict[str, str]:
        return {name: self.cleaned_data[name] for name in self.fields}


def _sub_field(substance: str, part: str) -> str:
    return f"substance_{substance}_{part}"


class HistoryForm(forms.Form):
    """Medical history as plain-language questions, pregnancy and breast-feeding, and substance use."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for question in HISTORY_QUESTIONS:
            self.fields[f"condition_{question.key}"] = forms.ChoiceField(
                label=question.text,
                help_text=question.hint,
                choices=[(c.value, c.label) for c in question.choices],
                widget=forms.RadioSelect,
                error_messages={"required": CHOOSE},
            )
        self.fields["pregnant"] = forms.ChoiceField(
            label="Are you pregnant, or could you be?",
            choices=PREGNANCY_CHOICES,
            widget=forms.RadioSelect,
            error_messages={"required": CHOOSE},
        )
        self.fields["breastfeeding"] = forms.ChoiceField(
            label="Are you breast-feeding?",
            choices=BREASTFEEDING_CHOICES,
            widget=forms.RadioSelect,
            error_messages={"required": CHOOSE},
        )
        for substance in Substance:
            self.fields[_sub_field(substance.value, "past_year")] = forms.BooleanField(
                label="Used in the past year", required=False
            )
            self.fields[_sub_field(substance.value, "problem")] = forms.BooleanField(
                label="It has been a problem for me", required=False
            )

    @staticmethod
    def initial_from(answers: Mapping[str, Any]) -> dict[str, Any]:
        initial: dict[str, Any] = {f"condition_{k}": v for k, v in answers.get("conditions", {}).items()}
        for name in ("pregnant", "breastfeeding"):
            if name in answers:
                initial[name] = answers[name]
        for substance, use in answers.get("substances", {}).items():
            initial[_sub_field(substance, "past_year")] = use.get("past_year", False)
            initial[_sub_field(substance, "problem")] = use.get("problem", False)
        return initial

    def condition_fields(self) -> list[forms.BoundField]:
        return [self[f"condition_{q.key}"] for q in HISTORY_QUESTIONS]

    def substance_rows(self) -> list[tuple[str, forms.BoundField, forms.BoundField]]:
        return [
            (label, self[_sub_field(s.value, "past_year")], self[_sub_field(s.value, "problem")])
            for s, label in SUBSTANCE_LABELS.items()
        ]

    def answers(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "conditions": {q.key: data[f"condition_{q.key}"] for q in HISTORY_QUESTIONS},
            "pregnant": data["pregnant"],
            "breastfeeding": data["breastfeeding"],
            "substances": {
                s.value: {
                    "past_year": data[_sub_field(s.value, "past_year")],
                    "problem": data[_sub_field(s.value, "problem")],
                }
                for s in Substance
                if data[_sub_field(s.value, "past_year")] or data[_sub_field(s.value, "problem")]
            },
        }


MAX_ROWS = 30


class RowsForm(forms.Form):
    """A list of rows the patient fills in (blank rows are ignored), plus an explicit "none" box.

    ``row_fields`` are the columns; the form has ``rows`` copies named ``<column>_<n>``. "Add another row" posts
    the form with one more row, keeping everything typed.
    """

    row_fields: tuple[str, ...] = ()
    none_label = "None"
    empty_message = ""
    contradiction_message = ""

    rows = forms.IntegerField(widget=forms.HiddenInput, min_value=1, max_value=MAX_ROWS)

    def __init__(self, *args: Any, row_count: int = 3, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.is_bound:
            try:
                row_count = int(self.data.get("rows", row_count))
            except (TypeError, ValueError):
                row_count = 3
        self.row_count = max(1, min(row_count, MAX_ROWS))
        self.fields["none"] = forms.BooleanField(label=self.none_label, required=False)
        for n in range(self.row_count):
            for name, field in self.make_row_fields().items():
                self.fields[f"{name}_{n}"] = field
        self.initial.setdefault("rows", self.row_count)

    def make_row_fields(self) -> dict[str, forms.Field]:
        raise NotImplementedError

    def table(self) -> list[list[forms.BoundField]]:
        return [[self[f"{name}_{n}"] for name in self.row_fields] for n in range(self.row_count)]

    def clean_row(self, n: int, values: dict[str, Any]) -> dict[str, Any] | None:
        raise NotImplementedError

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        rows = []
        for n in range(self.row_count):
            values = {name: cleaned.get(f"{name}_{n}") for name in self.row_fields}
            if any(f"{name}_{n}" in self.errors for name in self.row_fields):
                continue
            row = self.clean_row(n, values)
            if row is not None:
                rows.append(row)
        has_row_errors = any(key.rsplit("_", 1)[0] in self.row_fields for key in self.errors)
        if not rows and not cleaned.get("none") and not has_row_errors:
            self.add_error("none", self.empty_message)
        if rows and cleaned.get("none"):
            self.add_error("none", self.contradiction_message)
        cleaned["row_list"] = rows
        return cleaned

    @classmethod
    def initial_from(cls, answers: Mapping[str, Any]) -> tuple[dict[str, Any], int]:
        initial: dict[str, Any] = {"none": answers.get("none", False)}
        rows = answers.get("rows", [])
        for n, row in enumerate(rows):
            for name in cls.row_fields:
                initial[f"{name}_{n}"] = row.get(name)
        count = max(3, len(rows) + 1)
        initial["rows"] = count
        return initial, count

    def answers(self) -> dict[str, Any]:
        return {"none": bool(self.cleaned_data.get("none")), "rows": self.cleaned_data["row_list"]}


class MedicationsForm(RowsForm):
    """Medicines the patient takes now: name and dose as they would say it."""

    row_fields = ("name", "dose")
    none_label = "I don't take any medicines"
    empty_message = "Add your medicines, or tick “I don't take any medicines”."
    contradiction_message = "You ticked “I don't take any medicines” but listed some: untick it or clear the rows."

    def make_row_fields(self) -> dict[str, forms.Field]:
        return {
            "name": forms.CharField(
                label="Medicine",
                max_length=120,
                required=False,
                widget=forms.TextInput(attrs={"list": "medicine-names"}),
            ),
            "dose": forms.CharField(
                label="Dose and how often", max_length=120, required=False, help_text="e.g. 50 mg every morning"
            ),
        }

    def clean_row(self, n: int, values: dict[str, Any]) -> dict[str, Any] | None:
        name, dose = (values["name"] or "").strip(), (values["dose"] or "").strip()
        if not name and not dose:
            return None
        if not name:
            self.add_error(f"name_{n}", "Medicine: enter its name, or clear the dose too.")
            return None
        return {"name": name, "dose": dose}


class AntidepressantsForm(RowsForm):
    """Antidepressants tried in this period of depression: drug, about how many weeks, did it help."""

    row_fields = ("drug", "weeks", "helped")
    none_label = "I haven't taken any antidepressant for this period of depression"
    empty_message = "Add the antidepressants you have tried, or tick that you haven't taken any."
    contradiction_message = "You ticked that you haven't taken any but listed some: untick it or clear the rows."

    def make_row_fields(self) -> dict[str, forms.Field]:
        return {
            "drug": forms.CharField(
                label="Antidepressant",
                max_length=120,
                required=False,
                widget=forms.TextInput(attrs={"list": "antidepressant-names"}),
            ),
            "weeks": forms.IntegerField(
                label="About how many weeks?",
                required=False,
                min_value=1,
                max_value=520,
                help_text="Leave blank if you don't remember.",
                error_messages={
                    "invalid": "Weeks: enter a whole number from 1 to 520, or leave it blank.",
                    "min_value": "Weeks: enter a whole number from 1 to 520, or leave it blank.",
                    "max_value": "Weeks: enter a whole number from 1 to 520, or leave it blank.",
                },
                widget=forms.NumberInput(attrs={"inputmode": "numeric", "min": 1, "max": 520}),
            ),
            "helped": forms.ChoiceField(
                label="Did it help?", required=False, choices=[("", "Choose…"), *HELPED_CHOICES]
            ),
        }

    def clean_row(self, n: int, values: dict[str, Any]) -> dict[str, Any] | None:
        drug = (values["drug"] or "").strip()
        if not drug and values["weeks"] is None and not values["helped"]:
            return None
        if not drug:
            self.add_error(f"drug_{n}", "Antidepressant: enter its name, or clear this row.")
            return None
        if not values["helped"]:
            self.add_error(f"helped_{n}", "Did it help: choose an answer (or “Not sure”).")
            return None
        return {"drug": drug, "weeks": values["weeks"], "helped": values["helped"]}


# --- Questionnaires -----------------------------------------------------------------------------------------------


def item_texts(instrument: Instrument) -> dict[str, str]:
    """The wording shown for each item: the published text where its licence allows shipping it, a clinic's licensed
    file (``PORTAL_ITEM_TEXT_FILES = {"cssrs_screener": "/path.json"}``) where configured, else our plain-language
    questions (C-SSRS) or the item's neutral label."""
    if instrument.item_text_shippable:
        return {item.id: item.text or item.label for item in instrument.items}
    licensed = getattr(settings, "PORTAL_ITEM_TEXT_FILES", {}).get(instrument.id)
    if licensed:
        return dict(clinical.load_item_text(instrument.id, licensed))
    fallback = CSSRS_PLAIN_TEXT if instrument.id == "cssrs_screener" else {}
    return {item.id: fallback.get(item.id, item.label.capitalize()) for item in instrument.items}


def _item_choices(item: Item) -> list[tuple[str, str]]:
    if item.yes_no:
        return [("no", "No"), ("yes", "Yes")]
    labels = {a.value: a.label for a in item.anchors}
    return [(str(int(v)), labels.get(v, str(v))) for v in item.options]


class QuestionnaireForm(forms.Form):
    """One instrument as radio buttons, with its skip logic: an item asked only after a given answer is required
    only then, and its answer is dropped when it was not asked (the scorer refuses answers to skipped items)."""

    def __init__(self, *args: Any, instrument_id: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.instrument = clinical.get_instrument(instrument_id)
        texts = item_texts(self.instrument)
        for number, item in enumerate(self.instrument.items, start=1):
            field = forms.ChoiceField(
                label=texts.get(item.id, item.label),
                choices=_item_choices(item),
                widget=forms.RadioSelect,
                required=item.required and item.asked_when is None,
                error_messages={"required": CHOOSE},
            )
            field.item = item  # type: ignore[attr-defined]
            field.number = number  # type: ignore[attr-defined]
            self.fields[item.id] = field

    @staticmethod
    def initial_from(answers: Mapping[str, Any]) -> dict[str, str]:
        return {k: ("yes" if v is True else "no" if v is False else str(v)) for k, v in answers.items()}

    def _value(self, item: Item, raw: str) -> bool | int:
        return raw == "yes" if item.yes_no else int(raw)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        answers: dict[str, bool | int] = {}
        for item in self.instrument.items:
            raw = cleaned.get(item.id)
            if item.asked_when is not None:
                trigger, needed = item.asked_when
                if answers.get(trigger) != needed:
                    continue  # not asked: whatever was sent is dropped
                if not raw and item.required:
                    self.add_error(item.id, CHOOSE)
                    continue
            if raw:
                answers[item.id] = self._value(item, raw)
        cleaned["answers"] = answers
        return cleaned

    def questions(self) -> list[dict[str, Any]]:
        """Fields with what the template needs for skip logic (``data-asked-when``)."""
        out = []
        # Numbers would jump (1, 2, 6) when skip logic hides questions, so instruments with skip logic go unnumbered.
        numbered = not any(item.asked_when for item in self.instrument.items)
        for name, field in self.fields.items():
            item: Item = field.item  # type: ignore[attr-defined]
            condition = ""
            if item.asked_when is not None:
                trigger, needed = item.asked_when
                condition = f"{trigger}={'yes' if needed is True else 'no' if needed is False else needed}"
            number = field.number if numbered else None  # type: ignore[attr-defined]
            out.append({"field": self[name], "item": item, "asked_when": condition, "number": number})
        return out


# --- Staff forms --------------------------------------------------------------------------------------------------


class SendLinkForm(forms.Form):
    """Send an intake link: to the patient's e-mail, or leave it empty to hand the address over at the desk."""

    email = forms.EmailField(
        label="Send to e-mail",
        required=False,
        help_text="Leave empty to hand the link over in person; the address is shown once on the next screen.",
        error_messages={"invalid": "E-mail: enter an address like name@example.com."},
    )


class RejectEntryForm(forms.Form):
    reason = forms.CharField(
        label="Reason",
        max_length=150,
        error_messages={"required": "Reason: say why this item is rejected (e.g. 'not confirmed by GP record')."},
    )


class ContactDecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("accept", "Accept"), ("ignore", "Ignore")])


class CompleteReviewForm(forms.Form):
    resolution = forms.CharField(
        label="Review note",
        min_length=10,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={
            "required": "Review note: say what was reviewed and any follow-up (at least 10 characters).",
            "min_length": "Review note: say what was reviewed and any follow-up (at least 10 characters).",
        },
    )


#: Fields a clinician may correct before accepting each kind of patient-reported row.
CORRECTABLE_FIELDS: dict[str, tuple[str, ...]] = {
    "condition": ("condition", "notes"),
    "substance": ("substance", "current", "use_disorder", "pattern"),
    "medication": ("name", "drug_class", "daily_dose_mg", "dose_text"),
    "trial": ("drug", "drug_class", "daily_dose_mg", "adequate_dose", "weeks", "improvement_pct"),
}
_MODELS: dict[str, type[models.Model]] = {
    "condition": MedicalCondition,
    "substance": SubstanceUseEntry,
    "medication": MedicationEntry,
    "trial": AntidepressantTrial,
}


def correction_form(kind: str, entry: Any, data: Any = None) -> forms.ModelForm[Any]:
    """A form to correct one patient-reported row before accepting it (model validation gives the ranges)."""
    form_class = forms.modelform_factory(_MODELS[kind], fields=CORRECTABLE_FIELDS[kind])
    return form_class(data, instance=entry, prefix=f"{kind}-{entry.pk}")
