"""The floor the session page is measured against: the same data read with four raw SQL statements and returned as
JSON with orjson — no ORM, no templates, no access check, no audit. Rows are read as fast as the driver allows
(``ketaclinic.sql_rows.fetch_rows``: psycopg's C timestamp loader on PostgreSQL, as the page reads them). Mounted
beside every KetaClinic URL.

The data is what the monitoring fragment shows: the session with its patient and note header, the session's vital
signs in time order, the patient's PHQ-9 history, and the session's other records in one ``UNION ALL`` — the dose,
esketamine devices, scale ratings, alerts (with who acknowledged them), adverse events and rescue medications.
"""

from __future__ import annotations

import orjson
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import path

from ketaclinic.audit.actions import Action, record
from ketaclinic.dosing.access import AUDIT_AS
from ketaclinic.sql_rows import fetch_rows
from ketaclinic.urls import urlpatterns as app_urls

HEADER = """
SELECT s.id, s.state, s.route, s.sequence_number, s.checked_in_at, a.starts_at,
       p.id, p.mrn, p.legal_first_name, p.legal_last_name, p.preferred_name, p.date_of_birth,
       n.id, n.updated_at, n.nurse_signed_at, n.prescriber_signed_at, w.username
FROM dosing_dosingsession s
JOIN patients_patient p ON p.id = s.patient_id
JOIN scheduling_appointment a ON a.id = s.appointment_id
LEFT JOIN dosing_sessionnote n ON n.session_id = s.id
LEFT JOIN accounts_user w ON w.id = n.written_by_id
WHERE s.id = %s AND s.patient_id = %s
"""
VITALS = """
SELECT recorded_at, systolic_mmhg, diastolic_mmhg, heart_rate_bpm, spo2_pct, resp_rate_per_min, is_baseline
FROM dosing_vitalsign WHERE session_id = %s ORDER BY recorded_at, id
"""
PHQ9 = """
SELECT completed_at, total, band FROM measures_questionnaireresponse
WHERE patient_id = %s AND instrument = 'phq9' ORDER BY completed_at, id
"""
EVENTS = """
SELECT 'dose', d.id, d.started_at, d.stopped_at, CAST(d.planned_duration_min AS REAL), CAST(NULL AS REAL),
       CAST(NULL AS TEXT), CAST(NULL AS TEXT)
FROM dosing_doseadministration d WHERE d.session_id = %s
UNION ALL
SELECT 'device', e.id, e.at, NULL, e.number, NULL, NULL, NULL
FROM dosing_esketaminedevice e JOIN dosing_doseadministration d ON d.id = e.administration_id WHERE d.session_id = %s
UNION ALL
SELECT 'scale', o.id, o.observed_at, NULL, o.total, o.timepoint_min, o.instrument, o.band
FROM dosing_scaleobservation o WHERE o.session_id = %s
UNION ALL
SELECT 'alert', a.id, a.raised_at, a.acknowledged_at, NULL, NULL, a.message, u.display_name
FROM dosing_sessionalert a LEFT JOIN accounts_user u ON u.id = a.acknowledged_by_id WHERE a.session_id = %s
UNION ALL
SELECT 'event', v.id, v.onset_at, NULL, NULL, NULL, v.kind, v.severity
FROM dosing_adverseevent v WHERE v.session_id = %s
UNION ALL
SELECT 'rescue', r.id, r.given_at, NULL, r.dose, NULL, r.medication, r.unit
FROM dosing_rescuemedication r WHERE r.session_id = %s
"""
HEADER_KEYS = (
    "session_id", "state", "route", "sequence_number", "checked_in_at", "starts_at",
    "patient_id", "mrn", "first_name", "last_name", "preferred_name", "date_of_birth",
    "note_id", "note_updated_at", "nurse_signed_at", "prescriber_signed_at", "note_written_by",
)  # fmt: skip


def raw_monitor(request: HttpRequest, patient_id: int, session_id: int) -> HttpResponse:
    found = fetch_rows(HEADER, [session_id, patient_id], prepare=True)
    if not found:
        raise Http404("No such session.")
    header = found[0]
    vitals = fetch_rows(VITALS, [session_id], prepare=True)
    phq9 = fetch_rows(PHQ9, [patient_id], prepare=True)
    records = fetch_rows(EVENTS, [session_id] * 6, prepare=True)
    body = {
        "session": dict(zip(HEADER_KEYS, header, strict=True)),
        "vitals": vitals,
        "phq9": phq9,
        "records": records,
    }
    return HttpResponse(orjson.dumps(body, default=str), content_type="application/json")


def raw_monitor_audited(request: HttpRequest, patient_id: int, session_id: int) -> HttpResponse:
    """The floor plus the audit row every read of a chart commits, as the page writes it: the least a handler that
    obeys the audit rule can cost (no access check, no objects, no HTML)."""
    response = raw_monitor(request, patient_id, session_id)
    record(
        Action.VIEW,
        object_type=AUDIT_AS,
        object_id=patient_id,
        patient_id=patient_id,
        user=request.user,
        acting_role="bench",
    )
    return response


urlpatterns = [
    path("bench/raw/<int:patient_id>/<int:session_id>/", raw_monitor, name="bench_raw_monitor"),
    path("bench/raw/<int:patient_id>/<int:session_id>/audited/", raw_monitor_audited, name="bench_raw_monitor_audited"),
    *app_urls,
]
