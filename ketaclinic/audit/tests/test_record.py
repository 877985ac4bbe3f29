from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.db.utils import DatabaseError

from ketaclinic.audit.actions import Action, Outcome, record
from ketaclinic.audit.context import AuditContext, acting
from ketaclinic.audit.models import AuditEvent, AuditImmutableError
from ketaclinic.conftest import Cast

pytestmark = pytest.mark.django_db


def test_it_fills_who_where_and_from_which_address_from_the_context(cast: Cast) -> None:
    with acting(AuditContext(user=cast.nurse, site=cast.site_a, ip_address="10.1.2.3", path="/patients/7/")):
        event = record(Action.VIEW, object_type="patients.patient", object_id=7, patient_id=7)
    assert (event.actor, event.actor_username, event.acting_role) == (cast.nurse, "nurse", "nurse")
    assert (event.site, event.ip_address, event.path) == (cast.site_a, "10.1.2.3", "/patients/7/")
    assert (event.object_id, event.patient_id, event.outcome) == ("7", 7, Outcome.SUCCESS)
    assert "nurse view patients.patient" in str(event)


def test_it_names_a_model_instance_by_label_and_key(cast: Cast) -> None:
    event = record(Action.UPDATE, obj=cast.site_a, user=cast.admin)
    assert (event.object_type, event.object_id) == ("accounts.site", str(cast.site_a.pk))


def test_an_anonymous_actor_is_stored_as_nobody(cast: Cast) -> None:
    from django.contrib.auth.models import AnonymousUser

    with acting(AuditContext(user=AnonymousUser())):
        event = record(Action.LOGIN_FAILED, username="someone", outcome=Outcome.DENIED)
    assert event.actor is None and event.acting_role == "" and event.actor_username == "someone"


def test_it_rolls_back_with_the_change_it_records(cast: Cast) -> None:
    with pytest.raises(RuntimeError), transaction.atomic():
        record(Action.UPDATE, obj=cast.site_a, user=cast.admin)
        raise RuntimeError("the change failed")
    assert not AuditEvent.objects.exists()


def test_a_superuser_without_roles_is_recorded_as_such(cast: Cast) -> None:
    cast.admin.groups.clear()
    cast.admin.is_superuser = True
    assert record(Action.VIEW, user=cast.admin).acting_role == "superuser"


def test_events_cannot_be_changed_or_removed_through_the_app(cast: Cast) -> None:
    event = record(Action.VIEW, user=cast.nurse)
    event.action = Action.DELETE
    with pytest.raises(AuditImmutableError):
        event.save()
    with pytest.raises(AuditImmutableError):
        event.delete()
    with pytest.raises(AuditImmutableError):
        AuditEvent.objects.filter(pk=event.pk).update(action=Action.DELETE)
    with pytest.raises(AuditImmutableError):
        AuditEvent.objects.all().delete()


def test_postgresql_refuses_changes_even_from_raw_sql(cast: Cast) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the trigger exists on PostgreSQL only")
    event = record(Action.VIEW, user=cast.nurse)
    for sql in (
        "UPDATE audit_auditevent SET action = 'delete' WHERE id = %s",
        "DELETE FROM audit_auditevent WHERE id = %s",
    ):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cur:
            cur.execute(sql, [event.pk])
    assert AuditEvent.objects.get(pk=event.pk).action == Action.VIEW


def test_the_stored_row_is_what_the_returned_event_says(cast: Cast) -> None:
    detail = {"fields": ["phone", "address"], "count": 2, "note": 'quotes " and unicode é'}
    with acting(AuditContext(user=cast.nurse, site=cast.site_a, ip_address="2001:db8::7", path="/x/")):
        event = record(Action.UPDATE, object_type="patients.patient", object_id=9, patient_id=9, detail=detail)
    stored = AuditEvent.objects.get(pk=event.pk)
    columns = [f.attname for f in AuditEvent._meta.concrete_fields]
    assert {c: getattr(stored, c) for c in columns} == {c: getattr(event, c) for c in columns}
    assert stored.detail == detail and stored.ip_address == "2001:db8::7" and stored.occurred_at.tzinfo is not None
    assert not event._state.adding and AuditEvent.objects.count() == 1
    with pytest.raises(AuditImmutableError):
        event.save()  # a recorded event is not saved again
