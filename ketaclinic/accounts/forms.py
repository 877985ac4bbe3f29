"""Sign-in (password, then a one-time code for users who enrolled one) and two-factor enrolment."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django_otp import devices_for_user
from django_otp.forms import OTPAuthenticationFormMixin
from django_otp.plugins.otp_totp.models import TOTPDevice


class SignInForm(OTPAuthenticationFormMixin, AuthenticationForm):
    """Username and password; a 6-digit code is required only from users with a confirmed authenticator."""

    otp_token = forms.CharField(
        label="Authenticator code",
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "size": 8}),
        help_text="Only if you set up two-step sign-in.",
    )
    otp_device = forms.CharField(required=False, widget=forms.HiddenInput)
    otp_challenge = forms.CharField(required=False, widget=forms.HiddenInput)

    otp_error_messages = {
        **OTPAuthenticationFormMixin.otp_error_messages,
        "token_required": "Enter the 6-digit code from your authenticator app.",
        "invalid_token": "That authenticator code is not valid. Check the time on your phone and try the current code.",
    }

    def _chosen_device(self, user: Any) -> Any:
        """Staff enrol one authenticator app, so the code is checked against that device."""
        return super()._chosen_device(user) or TOTPDevice.objects.filter(user=user, confirmed=True).first()

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean()
        user = self.get_user()
        if user is not None and any(True for _ in devices_for_user(user, confirmed=True)):
            self.clean_otp(user)
        return cleaned


class TotpConfirmForm(forms.Form):
    token = forms.CharField(
        label="Code from your authenticator app",
        min_length=6,
        max_length=8,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )
