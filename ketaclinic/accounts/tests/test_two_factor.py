from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from ketaclinic.audit.models import AuditEvent
from ketaclinic.conftest import Cast

pytestmark = pytest.mark.django_db


def _code(device: TOTPDevice) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return str(totp.token()).zfill(device.digits)


def test_it_enrols_an_authenticator_and_then_asks_for_codes(client: Client, cast: Cast) -> None:
    client.force_login(cast.prescriber)
    page = client.get(reverse("accounts:two_factor"))
    assert page.status_code == 200
    assert page.context["qr"].startswith("data:image/svg+xml;base64,")
    device = TOTPDevice.objects.get(user=cast.prescriber, confirmed=False)

    wrong = client.post(reverse("accounts:two_factor"), {"token": "000000" if _code(device) != "000000" else "111111"})
    assert wrong.status_code == 400
    assert "did not match" in wrong.content.decode()
    device.refresh_from_db()
    device.throttle_reset()

    done = client.post(reverse("accounts:two_factor"), {"token": _code(device)}, follow=True)
    assert "Two-step sign-in is on" in done.content.decode()
    assert AuditEvent.objects.filter(action=AuditEvent.Action.UPDATE, object_type="otp_totp.totpdevice").exists()

    client.post(reverse("accounts:logout"))
    without = client.post(reverse("accounts:login"), {"username": "prescriber", "password": cast.password})
    assert without.status_code == 200
    assert "Enter the 6-digit code" in without.content.decode()

    device.refresh_from_db()
    device.last_t = -1  # allow the same time step again in this test
    device.save()
    signed_in = client.post(
        reverse("accounts:login"), {"username": "prescriber", "password": cast.password, "otp_token": _code(device)}
    )
    assert signed_in.status_code == 302, signed_in.context["form"].errors
    assert client.get(reverse("home")).wsgi_request.user.is_verified()


def test_users_without_an_authenticator_sign_in_with_a_password(client: Client, cast: Cast) -> None:
    response = client.post(reverse("accounts:login"), {"username": "nurse", "password": cast.password})
    assert response.status_code == 302
