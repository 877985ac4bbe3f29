"""The floor the trajectory page is measured against: the same data read with three raw SQL statements and returned
as JSON with orjson — no ORM, no templates, no charts, no access check, no audit. Rows are read as fast as the driver
allows (``ketaclinic.sql_rows.fetch_rows``: psycopg's C timestamp loader on PostgreSQL, as the page reads them).
Mounted beside every KetaClinic URL.

The data is what ``measures:trajectory`` reads: the patient with their site's time zone, every questionnaire response
(item answers only for the unscored screens, as the page), and the latest course with its standing sessions.
"""

from __future__ import annotations

import orjson
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import path

from ketaclinic.audit.actions import Action, record
from ketaclinic.sql_rows import fetch_rows
from ketaclinic.urls import urlpatterns as app_urls

PATIENT = """
SELECT p.id, p.mrn, p.legal_first_name, p.legal_last_name, p.preferred_name, p.status, s.id, s.time_zone
FROM patients_patient p JOIN accounts_site s ON s.id = p.site_id
WHERE p.id = %s
"""
RESPONSES = """
SELECT id, instrument, total, band, respondent, completed_at,
       CASE WHEN total IS NULL THEN flags END, CASE WHEN total IS NULL THEN answers END
FROM measures_questionnaireresponse WHERE patient_id = %s ORDER BY completed_at, id
"""
COURSE_AND_SESSIONS = """
SELECT c.id, c.opened_at, c.started_at, c.status, a.starts_at
FROM (SELECT id, opened_at, started_at, status FROM courses_course WHERE patient_id = %s
      ORDER BY opened_at DESC, id DESC LIMIT 1) c
LEFT JOIN scheduling_appointment a
  ON a.course_ref = c.id AND a.patient_id = %s AND a.status IN ('checked_in', 'completed', 'booked')
ORDER BY a.starts_at
"""
PATIENT_KEYS = ("id", "mrn", "first_name", "last_name", "preferred_name", "status", "site_id", "time_zone")
#: The floor's own statements (the rest of a request's count is the middleware's).
STATEMENTS = 3


def raw_trajectory(request: HttpRequest, patient_id: int) -> HttpResponse:
    found = fetch_rows(PATIENT, [patient_id], prepare=True)
    if not found:
        raise Http404("No such patient.")
    patient = found[0]
    responses = fetch_rows(RESPONSES, [patient_id], prepare=True)
    rows = fetch_rows(COURSE_AND_SESSIONS, [patient_id, patient_id], prepare=True)
    course = dict(zip(("id", "opened_at", "started_at", "status"), rows[0][:4], strict=True)) if rows else None
    body = {
        "patient": dict(zip(PATIENT_KEYS, patient, strict=True)),
        "responses": responses,
        "course": course,
        "sessions": [r[4] for r in rows if r[4] is not None],
    }
    return HttpResponse(orjson.dumps(body, default=str), content_type="application/json")


def raw_trajectory_audited(request: HttpRequest, patient_id: int) -> HttpResponse:
    """The floor plus the audit row every read of a chart commits, as the page writes it: the least a handler that
    obeys the audit rule can cost (no access check, no objects, no HTML)."""
    response = raw_trajectory(request, patient_id)
    record(
        Action.VIEW,
        object_type="patients.patient",
        object_id=patient_id,
        patient_id=patient_id,
        user=request.user,
        acting_role="bench",
    )
    return response


urlpatterns = [
    path("bench/raw/trajectory/<int:patient_id>/", raw_trajectory, name="bench_raw_trajectory"),
    path("bench/raw/trajectory/<int:patient_id>/audited/", raw_trajectory_audited, name="bench_raw_trajectory_audited"),
    *app_urls,
]
