"""Session-day URLs, mounted at /patients/<patient_id>/sessions/."""

from django.urls import path

from ketaclinic.dosing import administration_views, discharge_views, monitoring_views, views

app_name = "dosing"

urlpatterns = [
    path("open/<int:appointment_id>/", views.open_session, name="open"),
    path("<int:session_id>/", views.session_page, name="session"),
    path("<int:session_id>/checkin/", views.record_checkin, name="checkin"),
    path("<int:session_id>/vitals/", views.record_vitals, name="vitals"),
    path("<int:session_id>/screen/", views.record_screen, name="screen"),
    path("<int:session_id>/gate/", views.run_gate, name="gate"),
    path("<int:session_id>/review/", views.confirm_review, name="review"),
    path("<int:session_id>/override/", views.override_hold, name="override"),
    path("<int:session_id>/cancel/", views.cancel_session, name="cancel"),
    path("<int:session_id>/no-show/", views.mark_no_show, name="no_show"),
    *administration_views.urlpatterns,
    *monitoring_views.urlpatterns,
    *discharge_views.urlpatterns,
]
