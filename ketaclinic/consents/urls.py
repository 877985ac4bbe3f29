"""Staff consent screens under /patients/<patient_id>/consents/."""

from django.urls import path

from ketaclinic.consents import views

app_name = "consents"

urlpatterns = [
    path("", views.consent_list, name="list"),
    path("sign/<str:kind>/", views.sign_in_clinic, name="sign"),
    path("<int:consent_id>/pdf/", views.consent_pdf, name="pdf"),
    path("<int:consent_id>/revoke/", views.revoke, name="revoke"),
]
