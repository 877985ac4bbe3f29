from __future__ import annotations

from django import forms


class LetterForm(forms.Form):
    recipient = forms.CharField(label="To", max_length=120, required=False, help_text="The referring clinician.")
    plan = forms.CharField(
        label="Plan",
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="What happens next (up to 2,000 characters). Left empty, the latest course decision is used.",
    )
