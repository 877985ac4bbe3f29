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
