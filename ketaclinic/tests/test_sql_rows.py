"""fetch_rows: the driver's rows, with times PostgreSQL hands back equal to what the ORM reads."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection

from ketaclinic.audit.models import AuditEvent
from ketaclinic.sql_rows import fetch_rows
from ketaclinic.typed_union import aware

pytestmark = pytest.mark.django_db


def test_it_reads_the_same_moments_the_orm_reads() -> None:
    moment = dt.datetime(2026, 3, 8, 7, 59, 59, 123456, tzinfo=dt.UTC)
    event = AuditEvent.objects.create(action=AuditEvent.Action.VIEW, occurred_at=moment, object_type="x")
    rows = fetch_rows("SELECT id, occurred_at FROM audit_auditevent WHERE id = %s", [event.pk])
    assert len(rows) == 1 and rows[0][0] == event.pk
    (at,) = rows[0][1:]
    if connection.vendor == "postgresql":
        assert at == moment and at.utcoffset() == dt.timedelta(0)  # aware, in UTC
    else:  # SQLite: UTC text, or naive UTC where the column kept its declared type; aware() makes it the moment
        assert isinstance(at, str) or at.tzinfo is None
    assert aware(at) == AuditEvent.objects.get(pk=event.pk).occurred_at == moment


def test_the_orm_keeps_its_own_loader_after_a_fast_read() -> None:
    fetch_rows("SELECT 1", [])
    AuditEvent.objects.create(action=AuditEvent.Action.VIEW, object_type="x")
    assert AuditEvent.objects.get().occurred_at.tzinfo is not None


SQL = "SELECT id, object_type FROM audit_auditevent WHERE id = %s"


def test_a_prepared_read_gives_the_same_rows_and_is_counted_like_any_statement() -> None:
    from django.test.utils import CaptureQueriesContext

    event = AuditEvent.objects.create(action=AuditEvent.Action.VIEW, object_type="x")
    with CaptureQueriesContext(connection) as captured:
        for _ in range(3):
            assert fetch_rows(SQL, [event.pk], prepare=True) == fetch_rows(SQL, [event.pk]) == [(event.pk, "x")]
    assert len(captured) == 6 and all(q["sql"].startswith("SELECT id, object_type") for q in captured)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="prepared statements are PostgreSQL's")
def test_on_postgresql_it_is_prepared_once_unless_the_connection_prepares_nothing() -> None:
    event = AuditEvent.objects.create(action=AuditEvent.Action.VIEW, object_type="x")

    def prepared() -> list[str]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT statement FROM pg_prepared_statements WHERE statement LIKE %s", ["%object_type%"])
            return [row[0] for row in cursor.fetchall()]

    driver = connection.connection
    assert driver is not None and driver.prepare_threshold == 0  # settings: KETACLINIC_PREPARED_READS defaults on
    driver.prepare_threshold = None  # KETACLINIC_PREPARED_READS=0 (a pooler that keeps no prepared statements)
    try:
        assert fetch_rows(SQL, [event.pk], prepare=True) == [(event.pk, "x")]
        assert prepared() == []
    finally:
        driver.prepare_threshold = 0
    for _ in range(3):
        assert fetch_rows(SQL, [event.pk], prepare=True) == [(event.pk, "x")]
    assert len(prepared()) == 1
    AuditEvent.objects.filter(pk=event.pk).exists()  # Django's own queries are never prepared
    assert len(prepared()) == 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="prepared statements are PostgreSQL's")
def test_a_statement_prepared_in_a_rolled_back_transaction_still_runs_afterwards() -> None:
    from django.db import transaction

    event = AuditEvent.objects.create(action=AuditEvent.Action.VIEW, object_type="x")
    sql = "SELECT id FROM audit_auditevent WHERE id = %s AND object_type <> 'rolled back'"
    with pytest.raises(RuntimeError), transaction.atomic():
        assert fetch_rows(sql, [event.pk], prepare=True) == [(event.pk,)]
        raise RuntimeError("roll back")
    assert fetch_rows(sql, [event.pk], prepare=True) == [(event.pk,)]
