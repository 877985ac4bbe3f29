"""A whole page's data in ONE query: a ``UNION ALL`` of querysets that share one row of typed columns.

A page that polls or is read often must not cost a statement per kind of row. Each branch of the union maps its
model's fields onto the same named columns — ``kind`` (which branch), ``ref`` (the row's key), ``at…`` (aware
datetimes), ``n…`` (numbers, as floats) and ``s…`` (text) — and the page turns the rows back into plain objects.

The ORM spends more time composing a many-branch ``UNION`` than the database spends running it, so :meth:`rows`
composes the SQL once per database and *shape* and reuses it with the request's values
(:func:`ketaclinic.sql_rows.compose_once`).

Used by the monitoring panel (:mod:`ketaclinic.dosing.monitoring_panel`) and the patient trajectory
(:mod:`ketaclinic.measures.trajectory`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

from django.db import connection
from django.db.models import (
    BigIntegerField,
    CharField,
    DateTimeField,
    ExpressionWrapper,
    F,
    Field,
    FloatField,
    Model,
    QuerySet,
    TextField,
    Value,
)
from django.db.models.functions import Cast

from ketaclinic.sql_rows import composed, fetch_rows

_FIELD: dict[str, type[Field[Any, Any]]] = {
    "ref": BigIntegerField,
    "at": DateTimeField,
    "n": FloatField,
    "s": TextField,
}


def _field(column: str) -> Field[Any, Any]:
    return (_FIELD.get(column) or _FIELD[column.rstrip("0123456789")])()


def aware(value: Any) -> Any:
    """A datetime column's value as an aware UTC datetime.

    PostgreSQL hands back aware datetimes; SQLite UTC text, or a naive UTC datetime where the column kept its declared
    type. The ORM's converters would do the same, at a cost a page read this often does not need to pay.
    """
    if value is None:
        return None
    if type(value) is str:
        # Parsed with its UTC offset spelled out, the text becomes an aware datetime in one step (hundreds a poll).
        return _parse(value if len(value) >= 25 and value[-6] in "+-" else value + "+00:00")
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


_parse = dt.datetime.fromisoformat


def instance(model: type[Model], values: dict[str, Any]) -> Any:
    """A model instance from some of its fields by attribute name (``site_id``); the others are deferred (read on
    first access, like ``.only()``). The values must already be Python values."""
    names = [f.attname for f in model._meta.concrete_fields if f.attname in values]
    assert len(names) == len(values), set(values) - set(names)
    return model.from_db(connection.alias, names, [values[name] for name in names])


class TypedUnion:
    """The columns of one page's ``UNION ALL`` read and the cache of its composed SQL (one per page)."""

    def __init__(self, columns: Sequence[str]) -> None:
        assert columns[0] == "kind", "the first column names the branch"
        for column in columns[1:]:
            _field(column)  # a column of no known type fails here, not in a request
        self.columns = tuple(columns)
        self._datetimes = frozenset(i for i, c in enumerate(self.columns) if c.startswith("at"))
        self._compiled: dict[tuple[Any, ...], tuple[str, tuple[Any, ...]]] = {}

    def _typed(self, column: str, value: Any) -> Any:
        out = _field(column)
        if value is None:
            return Cast(Value(None), out)
        if isinstance(value, str):
            # Real columns keep their SQL type; only the Python-side type is declared (no cast, so no precision
            # lost). Numbers are cast so that every branch agrees on the column's type.
            if column.startswith("n") or column == "ref":
                return Cast(F(value), out)
            return ExpressionWrapper(F(value), output_field=out)
        return value

    def branch(self, qs: QuerySet[Any], kind: str, **columns: Any) -> QuerySet[Any]:
        """``qs`` as rows of this union: ``kind``, then each column from a field name, an expression, or NULL."""
        unknown = set(columns) - set(self.columns)
        assert not unknown, unknown  # a typo would silently read NULL
        names = {f"c_{c}": self._typed(c, columns.get(c)) for c in self.columns[1:]}
        return (
            qs.order_by().annotate(c_kind=Value(kind, output_field=CharField()), **names).values_list("c_kind", *names)
        )

    def rows(self, query: Callable[..., QuerySet[Any]], **arguments: Any) -> list[tuple[Any, ...]]:
        """The rows of ``query(**arguments)``, run from its composed SQL with datetimes made aware; ``arguments`` are
        ints, strings, lists of ints, or None."""
        at = self._datetimes
        return [
            tuple(aware(v) if i in at else v for i, v in enumerate(row)) for row in self.driver_rows(query, **arguments)
        ]

    def driver_rows(self, query: Callable[..., QuerySet[Any]], **arguments: Any) -> list[tuple[Any, ...]]:
        """Like :meth:`rows`, with the ``at…`` columns as the driver gives them (SQLite: UTC text), for a reader
        that converts only the times it uses (:func:`aware`)."""
        return fetch_rows(*composed(self._compiled, query, **arguments), prepare=True)
