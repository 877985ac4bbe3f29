"""Screening URLs, mounted at /patients/<patient_id>/eligibility/."""

from django.urls import path

from ketaclinic.screening import views

app_name = "screening"

urlpatterns = [
    path("", views.assessment_list, name="list"),
    path("run/", views.run, name="run"),
    path("reviewed/", views.review, name="review"),
    path("<int:assessment_id>/", views.detail, name="detail"),
    path("<int:assessment_id>/sign/", views.sign, name="sign"),
]
