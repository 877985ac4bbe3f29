from django.urls import path

from ketaclinic.portal.views import patient, staff

app_name = "portal"

# Patient-facing pages live under /p/<token>/ (no sign-in; the link is the credential); staff pages under /portal/.
urlpatterns = [
    path("p/<str:token>/", patient.start, name="start"),
    path("p/<str:token>/new-link/", patient.renew, name="renew"),
    path("p/<str:token>/intake/review/", patient.review, name="intake_review"),
    path("p/<str:token>/intake/<slug:step>/", patient.step, name="intake_step"),
    path("p/<str:token>/intake/<slug:step>/support/", patient.support, name="intake_support"),
    path("portal/patients/<int:patient_id>/links/", staff.patient_links, name="patient_links"),
    path("portal/links/<int:link_id>/revoke/", staff.revoke, name="revoke"),
    path("portal/intakes/<int:submission_id>/review/", staff.review, name="review"),
    path(
        "portal/intakes/<int:submission_id>/entries/<slug:kind>/<int:entry_id>/<slug:decision>/",
        staff.review_entry,
        name="review_entry",
    ),
    path("portal/intakes/<int:submission_id>/contact/<slug:field>/", staff.review_contact, name="review_contact"),
    path("portal/intakes/<int:submission_id>/complete/", staff.review_complete, name="review_complete"),
]
