"""Keep a dosing session in step with its appointment when the appointment changes elsewhere (front desk, calendar).

Cancelling the appointment, or marking it a no-show, cancels the opened session (or marks it a no-show) in the same
transaction; once the dose has started the appointment can no longer be cancelled: the session is discharged
instead. Changes made from the session page move the session first, so these receivers find nothing to do.
"""

from __future__ import annotations

from typing import Any

from ketaclinic.audit.models import AuditEvent
from ketaclinic.dosing.actions import _audit, _save
from ketaclinic.dosing.models import DosingSession, SessionState
from ketaclinic.scheduling.models import Appointment

#: The appointment status that ends a session, and the session state it ends in.
FOLLOWS: dict[str, str] = {
    Appointment.Status.CANCELLED: SessionState.CANCELLED,
    Appointment.Status.NO_SHOW: SessionState.NO_SHOW,
}


def refuse_when_dose_started(sender: Any, *, appointment: Appointment, status: str, **_: Any) -> None:
    """Refuse to cancel (or no-show) an appointment whose session can no longer be cancelled."""
    target = FOLLOWS.get(status)
    if target is None:
        return
    session = DosingSession.objects.filter(appointment=appointment).only("state").first()
    if session is not None and session.state != target and not session.can_become(target):
        raise ValueError(
            f"the dosing session is {session.get_state_display().lower()}: it cannot be "
            f"{'cancelled' if target == SessionState.CANCELLED else 'marked a no-show'}; record its discharge instead"
        )


def follow_appointment(sender: Any, *, appointment: Appointment, by: Any, **_: Any) -> None:
    """Move the appointment's session to the state its new status implies, audited as a change by ``by``."""
    target = FOLLOWS.get(appointment.status)
    if target is None:
        return
    session = DosingSession.objects.select_for_update().select_related("site").filter(appointment=appointment).first()
    if session is None or session.state == target:
        return
    session.state = target
    _save(session, "state")
    _audit(AuditEvent.Action.UPDATE, session, session, by, state=target, via="appointment")
