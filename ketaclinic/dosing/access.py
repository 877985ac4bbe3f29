"""How views reach dosing sessions: always through the patient's access rules.

A session of a patient at another site, or of another patient than the URL names, answers 404 exactly like a
missing one; a role that does not record sessions gets 403. Reads are audited (as a view of the session, with the
patient). The session, its patient, site and appointment come back from one SQL statement that also checks the
patient is visible to the user: the session page is polled by tablets, so its fixed cost matters.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404

from ketaclinic.accounts.roles import Perm
from ketaclinic.audit.actions import Outcome, record
from ketaclinic.audit.models import AuditEvent
from ketaclinic.dosing.models import DosingSession
from ketaclinic.patients.models import Patient

AUDIT_AS = "dosing.dosingsession"


def _pk(value: int | str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise Http404("No such session.") from None


def access_session(
    user: Any,
    patient_id: int | str,
    session_id: int | str,
    *,
    need: Perm = Perm.RECORD_SESSION,
    write: bool = False,
    related: tuple[str, ...] = (),
) -> DosingSession:
    """Session ``session_id`` of patient ``patient_id`` if ``user`` holds ``need`` for that patient; else 404/403.

    A read is audited as a view of the session (refusals too); with ``write`` the action that follows audits the
    change. ``related`` names further one-to-one relations to load in the same statement (e.g. ``"note"``).
    """
    patient_pk, pk = _pk(patient_id), _pk(session_id)
    session = (
        DosingSession.objects.select_related("patient", "site", "appointment__appointment_type", *related)
        .filter(pk=pk, patient_id=patient_pk, patient__in=Patient.objects.visible_to(user))
        .first()
    )
    Action = AuditEvent.Action
    if session is None:
        record(Action.VIEW, object_type=AUDIT_AS, object_id=pk, patient_id=patient_pk, outcome=Outcome.NOT_FOUND)
        raise Http404("No such session.")
    if not user.can(need):
        record(
            Action.VIEW,
            object_type=AUDIT_AS,
            object_id=pk,
            patient_id=patient_pk,
            outcome=Outcome.DENIED,
            site=session.site,
        )
        raise PermissionDenied(f"Your role does not allow this: {need.label.lower()}.")
    if not write:
        record(Action.VIEW, object_type=AUDIT_AS, object_id=pk, patient_id=patient_pk, site=session.site)
    return session
