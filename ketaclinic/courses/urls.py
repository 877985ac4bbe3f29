"""Course URLs, mounted at /patients/<patient_id>/courses/."""

from django.urls import path

from ketaclinic.courses import views

app_name = "courses"

urlpatterns = [
    path("", views.course_list, name="list"),
    path("open/", views.open_course, name="open"),
    path("open/preview/", views.dose_preview, name="dose_preview"),
    path("<int:course_id>/", views.course_detail, name="detail"),
    path("<int:course_id>/dose/", views.order_dose, name="dose"),
    path("<int:course_id>/plan/", views.plan_sessions, name="plan"),
    path("<int:course_id>/start/", views.start_course, name="start"),
    path("<int:course_id>/decision/", views.record_decision, name="decision"),
    path("<int:course_id>/sessions/<int:appointment_id>/move/", views.move_session, name="move"),
    path("<int:course_id>/sessions/<int:appointment_id>/missed/", views.missed_session, name="missed"),
]
