"""Sign-in and sign-out, site switching and two-step sign-in enrolment."""

from __future__ import annotations

import base64
import io

import qrcode
import qrcode.image.svg
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.forms import AuthenticationForm
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from ketaclinic.accounts.access import sites_for
from ketaclinic.accounts.forms import SignInForm, TotpConfirmForm
from ketaclinic.accounts.middleware import SITE_SESSION_KEY
from ketaclinic.audit.actions import Action, record


@method_decorator(login_not_required, name="dispatch")
class SignInView(auth_views.LoginView):
    form_class = SignInForm
    template_name = "accounts/login.html"
    redirect_authenticated_user = True

    def form_valid(self, form: AuthenticationForm) -> HttpResponse:
        response = super().form_valid(form)
        device = getattr(form.get_user(), "otp_device", None)
        if device is not None:
            otp_login(self.request, device)
        return response


class SignOutView(auth_views.LogoutView):
    http_method_names = ["post", "options"]

    def post(self, request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        response = super().post(request, *args, **kwargs)
        messages.success(request, "You are signed out.")
        return response


@require_POST
def switch_site(request: HttpRequest) -> HttpResponse:
    """Make another of the user's sites the acting site."""
    raw = request.POST.get("site", "")
    site = sites_for(request.user).filter(pk=int(raw)).first() if raw.isdigit() else None
    if site is None:
        messages.error(request, "Choose one of the sites you work at.")
    else:
        request.session[SITE_SESSION_KEY] = site.pk
        messages.success(request, f"You are now working at {site.name}.")
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = reverse("home")
    return redirect(target)


def _qr_svg(uri: str) -> str:
    image = qrcode.make(uri, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    buffer = io.BytesIO()
    image.save(buffer)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def two_factor(request: HttpRequest) -> HttpResponse:
    """Enrol an authenticator app: show a QR code and the key, confirm with one code."""
    user = request.user
    confirmed = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if confirmed is not None:
        return render(request, "accounts/two_factor.html", {"confirmed": confirmed})
    device, _ = TOTPDevice.objects.get_or_create(user=user, confirmed=False, defaults={"name": "Authenticator app"})
    form = TotpConfirmForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if device.verify_token(form.cleaned_data["token"].strip()):
            with transaction.atomic():
                device.confirmed = True
                device.save(update_fields=["confirmed"])
                record(Action.UPDATE, obj=device, detail={"event": "two_factor_enrolled"})
            otp_login(request, device)
            messages.success(request, "Two-step sign-in is on. You will be asked for a code each time you sign in.")
            return redirect("accounts:two_factor")
        form.add_error("token", "That code did not match. Enter the current 6-digit code shown in the app.")
    key = base64.b32encode(device.bin_key).decode("ascii")
    return render(
        request,
        "accounts/two_factor.html",
        {"form": form, "qr": _qr_svg(device.config_url), "key": key},
        status=400 if form.errors else 200,
    )
