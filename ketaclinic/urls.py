from django.contrib import admin
from django.urls import include, path

from ketaclinic import views
from ketaclinic.api import api

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("accounts/", include("ketaclinic.accounts.urls")),
    path("patients/", include("ketaclinic.patients.urls")),
    path("patients/<int:patient_id>/eligibility/", include("ketaclinic.screening.urls")),
    path("patients/<int:patient_id>/consents/", include("ketaclinic.consents.urls")),
    path("p/<str:token>/consent/", include("ketaclinic.consents.portal_urls")),
    path("patients/<int:patient_id>/courses/", include("ketaclinic.courses.urls")),
    path("patients/<int:patient_id>/measures/", include("ketaclinic.measures.urls")),
    path("p/<str:token>/questionnaire/", include("ketaclinic.measures.portal_urls")),
    path("patients/<int:patient_id>/sessions/", include("ketaclinic.dosing.urls")),
    path("dosing/", include("ketaclinic.dosing.site_urls")),
    path("schedule/", include("ketaclinic.scheduling.urls")),
    path("tasks/", include("ketaclinic.tasks.urls")),
    path("outcomes/", include("ketaclinic.outcomes.urls")),
    path("patients/<int:patient_id>/reports/", include("ketaclinic.reports.urls")),
    path("", include("ketaclinic.portal.urls")),
    path("audit/", include("ketaclinic.audit.urls")),
    path("status/", include("ketaclinic.processes.urls")),
    path("api/", api.urls),
    path("admin/", admin.site.urls),
]

handler400 = "ketaclinic.views.bad_request"
handler403 = "ketaclinic.views.permission_denied"
handler404 = "ketaclinic.views.page_not_found"
handler500 = "ketaclinic.views.server_error"
