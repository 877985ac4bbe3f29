"""Writing the audit trail. Every other app records through :func:`record`."""

from __future__ import annotations

from typing import Any

from django.db import models

from ketaclinic.audit.context import current
from ketaclinic.audit.models import AuditEvent

Action = AuditEvent.Action
Outcome = AuditEvent.Outcome


def _role_of(user: Any) -> str:
    if user is None or not getattr(user, "is_authenticated", False):
        return ""
    names = getattr(user, "role_names", [])
    return ",".join(names) or ("superuser" if getattr(user, "is_superuser", False) else "")


def record(
    action: str,
    *,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: str | int = "",
    patient_id: int | None = None,
    outcome: str = Outcome.SUCCESS,
    detail: dict[str, Any] | None = None,
    user: Any = None,
    site: Any = None,
    username: str = "",
    acting_role: str | None = None,
) -> AuditEvent:
    """Append one audit event, in the caller's transaction, filling who/where/address from the acting context.

    ``detail`` must hold identifiers and field names only, never clinical values. ``acting_role`` may be passed by
    a caller that already read the user's roles (it saves the query that looks them up).
    """
    ctx = current()
    actor = user if user is not None else ctx.user
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
    return AuditEvent.objects.create(
        actor=actor,
        actor_username=username or (actor.get_username() if actor is not None else ""),
        acting_role=_role_of(actor) if acting_role is None or actor is None else acting_role,
        site=site if site is not None else ctx.site,
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        patient_id=patient_id,
        ip_address=ctx.ip_address,
        path=ctx.path,
        outcome=outcome,
        detail=detail or {},
    )
