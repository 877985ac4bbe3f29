"""Forms of the discharge panel and the REMS list: few fields, big buttons; the actions do the clinical checks."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import Q, QuerySet

from ketaclinic.accounts.models import Site, User
from ketaclinic.accounts.roles import Perm
from ketaclinic.dosing.administration_forms import TIME
from ketaclinic.dosing.discharge import DEPARTURE_REASON_MAX, DESTINATION_MAX
from ketaclinic.dosing.documents import AMENDMENT_REASON_MAX, CONFIRMATION_MAX
from ketaclinic.dosing.forms import VersionForm
from ketaclinic.dosing.models import MIN_REASON_CHARS, Discharge


class DischargeForm(VersionForm):
    """The nurse's confirmations the discharge criteria need (the screen proposes them from the session)."""

    symptoms_resolved = forms.BooleanField(
        required=False,
        label="Sedation, dissociation and breathing back to normal",
        help_text="Proposed from the latest MOAA/S (5) and no open alert; confirm at the chair.",
    )
    escort_present = forms.BooleanField(required=False, label="Escort here to take the patient home")


class DischargeOverrideForm(DischargeForm):
    """A prescriber discharges despite unmet criteria, with a written reason."""

    override_reason = forms.CharField(
        label="Reason for discharging despite unmet criteria",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=f"At least {MIN_REASON_CHARS} characters: what you assessed and why the patient may leave.",
    )


def prescribers(site: Site) -> QuerySet[User]:
    """Active staff at ``site`` whose role prescribes: whom a departure may name as notified."""
    perm = Q(
        groups__permissions__codename=Perm.PRESCRIBE.value,
        groups__permissions__content_type__app_label="accounts",
    )
    return (
        User.objects.filter(sites=site, is_active=True)
        .filter(perm | Q(is_superuser=True))
        .distinct()
        .order_by("display_name", "username")
    )


class DepartureForm(VersionForm):
    """The patient leaves without a routine discharge: against medical advice, or to emergency care.

    Every field but the choice is optional here so the action names the rule that is not met (the reason's length,
    the risks explained, the adverse event recorded first).
    """

    disposition = forms.ChoiceField(
        label="What happened",
        choices=[
            (Discharge.Disposition.AGAINST_ADVICE.value, "The patient is leaving against medical advice"),
            (Discharge.Disposition.EMERGENCY_TRANSFER.value, "Transferred to emergency care (ambulance / EMS)"),
        ],
        widget=forms.RadioSelect,
        error_messages={"required": "Choose what happened: left against medical advice or transferred."},
    )
    left_at = forms.TimeField(required=False, label="Left at", widget=TIME, help_text="Blank: now.")
    departure_reason = forms.CharField(
        label="Reason",
        required=False,
        max_length=DEPARTURE_REASON_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=f"Against advice: what the patient said, at least {MIN_REASON_CHARS} characters. Transfer: why "
        "(record the adverse event first).",
    )
    risks_explained = forms.BooleanField(
        required=False,
        label="Risks explained to the patient: no driving or machinery today, not to be alone, when to seek help",
        help_text="Against advice: required.",
    )
    escort_present = forms.BooleanField(required=False, label="An escort or responsible adult left with the patient")
    prescriber_notified = forms.ModelChoiceField(
        queryset=User.objects.none(),
        required=False,
        label="Prescriber notified",
        empty_label="Choose",
        help_text="Against advice: required.",
    )
    destination = forms.CharField(
        required=False,
        max_length=DESTINATION_MAX,
        label="Taken to",
        help_text="Transfer: the hospital or emergency department.",
    )

    def set_prescribers(self, site: Site) -> None:
        field: Any = self.fields["prescriber_notified"]
        field.queryset = prescribers(site)
        field.label_from_instance = lambda u: f"{u}{f', {u.credentials}' if u.credentials else ''}"


class NoteForm(forms.Form):
    """The draft note; ``version`` is the note's (0 before the first save)."""

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=0)
    text = forms.CharField(label="Session note", widget=forms.Textarea(attrs={"rows": 14}))


class NoteVersionForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


class AmendmentForm(NoteVersionForm):
    text = forms.CharField(label="Amendment", widget=forms.Textarea(attrs={"rows": 4}))
    reason = forms.CharField(label="Why the note is amended", max_length=AMENDMENT_REASON_MAX)


class RemsSubmittedForm(forms.Form):
    confirmation = forms.CharField(
        label="REMS confirmation number (optional)", required=False, max_length=CONFIRMATION_MAX
    )
