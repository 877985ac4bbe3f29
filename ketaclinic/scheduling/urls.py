"""Scheduling URLs, mounted at /schedule/."""

from django.urls import path

from ketaclinic.scheduling import views

app_name = "scheduling"

urlpatterns = [
    path("", views.day_view, name="day"),
    path("week/", views.week_view, name="week"),
    path("desk/", views.desk, name="desk"),
    path("book/", views.book, name="book"),
    path("appointments/<int:appointment_id>/", views.appointment_detail, name="appointment"),
    path("appointments/<int:appointment_id>/move/", views.move, name="move"),
    path("appointments/<int:appointment_id>/cancel/", views.cancel, name="cancel"),
    path("appointments/<int:appointment_id>/no-show/", views.no_show, name="no_show"),
    path("appointments/<int:appointment_id>/check-in/", views.check_in_view, name="check_in"),
    path("patients/<int:patient_id>/", views.patient_appointments, name="patient"),
    path("patients/<int:patient_id>/feed/", views.patient_feed, name="patient_feed"),
    path("my-calendar/", views.my_calendar, name="my_calendar"),
    path("ics/<str:token>.ics", views.ics, name="ics"),
    path("shifts/", views.shifts, name="shifts"),
    path("shifts/<int:shift_id>/remove/", views.shift_remove, name="shift_remove"),
    path("resources/", views.resources, name="resources"),
    path("resources/<int:resource_id>/", views.resource_edit, name="resource_edit"),
]
