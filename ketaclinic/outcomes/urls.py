from django.urls import path

from ketaclinic.outcomes import views

app_name = "outcomes"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("export.csv", views.export_figures, name="export"),
    path("patients/", views.figure_patients, name="patients"),
    path("patients.csv", views.export_patients, name="patients_csv"),
]
