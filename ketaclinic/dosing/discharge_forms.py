"""Forms of the discharge panel and the REMS list: few fields, big buttons; the actions do the clinical checks."""

from __future__ import annotations

from django import forms

from ketaclinic.dosing.documents import AMENDMENT_REASON_MAX, CONFIRMATION_MAX
from ketaclinic.dosing.forms import VersionForm
from ketaclinic.dosing.models import MIN_REASON_CHARS


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
