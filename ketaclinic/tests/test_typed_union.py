"""The shared one-query read: SQL composed once per shape and reused with each request's values, refusing what it
cannot compose safely."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection
from django.db.models import QuerySet
from django.test.utils import CaptureQueriesContext

from ketaclinic.accounts.models import Site
from ketaclinic.conftest import Cast
from ketaclinic.patients.models import Patient
from ketaclinic.typed_union import TypedUnion, aware, instance

pytestmark = pytest.mark.django_db
UNION = TypedUnion(("kind", "ref", "n1", "s1"))


def sites(ids: list[int], name: str | None = None) -> QuerySet[Any]:
    found = Site.objects.filter(pk__in=ids)
    if name is not None:
        found = found.filter(name=name)
    return UNION.branch(found, "site", ref="pk", s1="code").union(
        UNION.branch(Site.objects.filter(pk__in=ids), "again", ref="pk", n1="pk"), all=True
    )


def ignores_its_name(ids: list[int], name: str) -> QuerySet[Any]:
    return sites(ids)


def test_it_reads_what_the_orm_reads_and_composes_once_per_shape(cast: Cast) -> None:
    ids = [cast.site_a.pk, cast.site_b.pk]
    assert sorted(UNION.rows(sites, ids=ids, name=None)) == sorted(sites(ids))
    assert len(UNION.rows(sites, ids=ids, name=None)) == 4
    b = cast.site_b.pk
    again = ("again", b, float(b), None)
    assert sorted(UNION.rows(sites, ids=[b], name="Site B Clinic"), key=repr) == [again, ("site", b, None, "site-b")]
    assert UNION.rows(sites, ids=[b], name="elsewhere") == [again]  # the same SQL with another name
    shapes = {key[2] for key in UNION._compiled if key[1] is sites}
    assert shapes == {(("ids", 2), ("name", None)), (("ids", 1), ("name", str))}
    with CaptureQueriesContext(connection) as run:
        UNION.rows(sites, ids=[cast.site_a.pk], name="Site A Clinic")
    assert len(run) == 1


def test_it_refuses_what_it_cannot_compose_safely(cast: Cast) -> None:
    with pytest.raises(ValueError, match="folded away"):
        UNION.rows(ignores_its_name, ids=[cast.site_a.pk], name="Site A Clinic")
    with pytest.raises(TypeError, match="flag"):
        UNION.rows(sites, ids=[cast.site_a.pk], name=True)
    with pytest.raises(AssertionError):
        UNION.branch(Site.objects.all(), "site", n9="pk")
    with pytest.raises(KeyError):
        TypedUnion(("kind", "x1"))


def test_instances_defer_what_was_not_read(cast: Cast) -> None:
    patient = instance(Patient, {"id": 7, "site_id": cast.site_a.pk, "legal_last_name": "Doe"})
    assert patient.pk == 7 and patient.legal_last_name == "Doe" and "mrn" in patient.get_deferred_fields()
    with pytest.raises(AssertionError):
        instance(Patient, {"id": 7, "nickname": "x"})


def test_datetimes_come_back_aware() -> None:
    utc = dt.datetime(2026, 10, 21, 14, tzinfo=dt.UTC)
    assert aware("2026-10-21 14:00:00") == aware(dt.datetime(2026, 10, 21, 14)) == aware(utc) == utc
    assert aware(None) is None
