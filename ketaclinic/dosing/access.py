"""How views reach dosing sessions: always through the patient's access rules.

A session of a patient at another site, or of another patient than the URL names, answers 404 exactly like a
missing one; a role that does not record sessions gets 403. Reads are audited (as a view of the session).
"""

from __future__ import annotations

from typing import Any

from django.http import Http404

from ketaclinic.accounts.roles import Perm
from ketaclinic.dosing.models import DosingSession
from ketaclinic.patients.access import access_patient

AUDIT_AS = "dosing.dosingsession"


def access_session(
    user: Any, patient_id: int | str, session_id: int | str, *, need: Perm = Perm.RECORD_SESSION, write: bool = False
) -> DosingSession:
    """Session ``session_id`` of patient ``patient_id`` if ``user`` holds ``need`` for that patient; else 404/403.

    A read is audited through :func:`~ketaclinic.patients.access.access_patient`; with ``write`` the action that
    follows audits the change.
    """
    patient = access_patient(user, patient_id, need=need, write=write, audit_as=AUDIT_AS)
    try:
        pk = int(session_id)
    except (TypeError, ValueError):
        raise Http404("No such session.") from None
    session = DosingSession.objects.select_related("patient", "site", "appointment__appointment_type").filter(
        patient=patient, pk=pk
    )
    found = session.first()
    if found is None:
        raise Http404("No such session.")
    return found
