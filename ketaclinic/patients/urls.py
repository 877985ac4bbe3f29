from django.urls import path

from ketaclinic.patients import views

app_name = "patients"

urlpatterns = [
    path("", views.patient_list, name="list"),
    path("register/", views.register, name="register"),
    path("hints/drug-class/", views.drug_class_hint, name="drug_class_hint"),
    path("hints/icd10/", views.icd10_hint, name="icd10_hint"),
    path("<int:patient_id>/", views.chart, name="chart"),
    path("<int:patient_id>/history/", views.history, name="history"),
    path("<int:patient_id>/demographics/", views.edit_demographics, name="edit_demographics"),
    path("<int:patient_id>/status/", views.change_status, name="change_status"),
    path("<int:patient_id>/chart/<slug:kind>/", views.section, name="section"),
    path("<int:patient_id>/chart/<slug:kind>/<int:entry_id>/", views.edit_entry, name="edit_entry"),
    path("<int:patient_id>/chart/<slug:kind>/<int:entry_id>/remove/", views.remove_entry, name="remove_entry"),
]
