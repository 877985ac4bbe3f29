"""The patient's due questionnaires under /p/<token>/questionnaire/ (no sign-in; the portal link is the credential)."""

from django.urls import path

from ketaclinic.measures import portal_views

app_name = "measures_portal"

urlpatterns = [
    path("", portal_views.due_set, name="set"),
    path("support/", portal_views.support, name="support"),
    path("<int:due_id>/", portal_views.answer, name="answer"),
]
