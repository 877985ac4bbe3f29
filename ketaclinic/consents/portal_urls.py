"""Patient-facing consent signing under /p/<token>/consent/ (no sign-in; the portal link is the credential)."""

from django.urls import path

from ketaclinic.consents import views

app_name = "consents_portal"

urlpatterns = [
    path("", views.portal_index, name="index"),
    path("<str:kind>/", views.portal_sign, name="sign"),
    path("<str:kind>/done/", views.portal_done, name="done"),
    path("<str:kind>/copy.pdf", views.portal_copy, name="copy"),
]
