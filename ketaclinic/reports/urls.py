from django.urls import path

from ketaclinic.reports import views

app_name = "reports"

urlpatterns = [
    path("courses/<int:course_id>/", views.letter, name="letter"),
    path("courses/<int:course_id>/progress-letter.pdf", views.progress_pdf, name="progress_pdf"),
    path("courses/<int:course_id>/end-of-induction.pdf", views.end_of_induction_pdf, name="end_of_induction_pdf"),
]
