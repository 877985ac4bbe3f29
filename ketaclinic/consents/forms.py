"""Forms of the consent screens. The name check itself is the action's (``sign_consent``); errors land here."""

from __future__ import annotations

from django import forms

from ketaclinic.consents.actions import REASON_MAX, SIGNED_NAME_MAX


def add_action_error(form: forms.Form, error: ValueError) -> None:
    """Put an action's ``"field: message"`` error next to that field (or above the form if it names no field)."""
    text = str(error)
    field, _, message = text.partition(": ")
    if message and field in form.fields:
        form.add_error(field, message[:1].upper() + message[1:])
    else:
        form.add_error(None, text[:1].upper() + text[1:])


class ClinicSignForm(forms.Form):
    """In-clinic signing: the patient types their name; the member of staff confirms they witnessed it."""

    signed_name = forms.CharField(
        label="Patient's full legal name, typed by the patient",
        max_length=SIGNED_NAME_MAX,
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "words", "spellcheck": "false"}),
        help_text="First and last name as registered. Capitals and extra spaces do not matter.",
    )
    patient_agrees = forms.BooleanField(
        label="The patient has read this text (or had it read to them), has had their questions answered, and agrees.",
        error_messages={"required": "Tick this box only when the patient has read the text and agrees."},
    )
    witnessed = forms.BooleanField(
        label="I watched the patient type their name: I am the witness.",
        error_messages={"required": "The signature needs a witness: tick this box to confirm you watched it."},
    )


class PortalSignForm(forms.Form):
    """Signing through the portal: typed full name and an explicit "I agree"."""

    signed_name = forms.CharField(
        label="Type your full name",
        max_length=SIGNED_NAME_MAX,
        widget=forms.TextInput(attrs={"autocomplete": "name", "autocapitalize": "words", "spellcheck": "false"}),
        help_text="Your first and last name as the clinic has them. This is your signature.",
    )
    agree = forms.BooleanField(
        label="I have read the text above and I agree.",
        error_messages={"required": "Tick “I agree” to sign, or close this page if you do not agree."},
    )


class RevokeForm(forms.Form):
    """Recording that a patient withdrew a consent."""

    reason = forms.CharField(
        label="Why is the consent withdrawn?",
        max_length=REASON_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=f"Required, up to {REASON_MAX} characters, e.g. “Patient withdrew consent by phone on 3 March”.",
        error_messages={"required": "Give the reason the consent is withdrawn."},
    )
