"""Writing the audit trail. Every other app records through :func:`record`."""

from __future__ import annotations

from typing import Any

from django.db import connection, models

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
    event = AuditEvent(
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
    _insert(event)
    return event


_INSERT_SQL: dict[str, str] = {}


def _insert(event: AuditEvent) -> None:
    """INSERT the event: one statement, composed once per database. Every audited request writes one (a monitoring
    poll, a chart read), and the ORM's save spent longer composing the INSERT than the database took to run it.
    Values go through each field's own conversion, as the ORM's would; the row is never updated (append-only)."""
    fields = [f for f in AuditEvent._meta.concrete_fields if not f.primary_key]
    sql = _INSERT_SQL.get(connection.vendor)
    if sql is None:
        quote = connection.ops.quote_name
        table, columns = quote(AuditEvent._meta.db_table), ", ".join(quote(f.column) for f in fields)
        marks, key = ", ".join(["%s"] * len(fields)), quote(AuditEvent._meta.pk.column)
        # Names from the model's meta; every value is a parameter.
        sql = f"INSERT INTO {table} ({columns}) VALUES ({marks}) RETURNING {key}"  # noqa: S608
        _INSERT_SQL[connection.vendor] = sql
    values = [f.get_db_prep_save(f.pre_save(event, True), connection) for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        event.pk = cursor.fetchone()[0]
    event._state.adding = False
    event._state.db = connection.alias
