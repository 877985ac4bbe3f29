"""Patient-facing consent signing under /p/<token>/consent/ (no sign-in; the portal link is the credential)."""

from django.urls import path  # noqa: F401

app_name = "consents_portal"

urlpatterns: list = []
