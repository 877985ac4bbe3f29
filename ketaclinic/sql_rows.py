"""Reading rows with raw SQL as fast as the driver allows, for the few reads that are hot enough to need it.

The ORM can spend more time composing a query than the database spends running it. :func:`compose_once` composes
a query's SQL once per database and *shape* (which arguments are None, how long each list is), with placeholder values
standing for the request's own, and :func:`composed` puts the request's values in their place. Placeholder integers
are negative (never a real key) and placeholder strings are marked; composing checks that every placeholder reached
the parameters, so a filter the ORM folded away (an out-of-range value, an empty list) fails loudly instead of
silently reading the wrong rows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import psycopg
from django.db import connection
from django.db.models import QuerySet
from psycopg.types.datetime import TimestamptzLoader

#: Placeholder integers: each argument gets its own block of 1,000 below this (inside a 32-bit key's range, so the
#: ORM keeps them as parameters).
_BASE = -7_100_000
_BLOCK = 1000


def fetch_rows(sql: str, params: Sequence[Any], *, prepare: bool = False) -> list[tuple[Any, ...]]:
    """The rows of one read, as the driver gives them (SQLite: datetimes as UTC text; PostgreSQL: aware datetimes).

    On PostgreSQL the cursor loads ``timestamptz`` with psycopg's C loader. Django's own loader subclasses it in
    Python (~3 µs a value), which was most of a monitoring poll's 480 readings and of an incremental outcomes
    refresh; the C loader gives the same aware datetimes in the session's time zone, which Django sets to UTC.

    ``prepare``: a page read run on every request (the typed unions, the benchmark floors). On PostgreSQL it binds
    on the server and is prepared there once per connection (the connection's ``prepare_threshold``, set in
    ``settings.py`` from KETACLINIC_PREPARED_READS): planning the monitoring panel's eleven-branch union took ~0.5 ms
    a request, as long as running it. It still goes through Django's cursor wrapper, logged and counted like any
    other statement.
    """
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return list(cursor.fetchall())
    if prepare:
        connection.ensure_connection()
        raw: Any = _PreparedCursor(connection.connection)
        raw.adapters.register_loader("timestamptz", TimestamptzLoader)
        wrapped = connection.make_debug_cursor(raw) if connection.queries_logged else connection.make_cursor(raw)
        with wrapped as cursor:
            cursor.execute(sql, params)
            return list(cursor.fetchall())
    with connection.cursor() as cursor:
        cursor.cursor.adapters.register_loader("timestamptz", TimestamptzLoader)
        cursor.execute(sql, params)
        return list(cursor.fetchall())


class _PreparedCursor(psycopg.Cursor[Any]):
    """Binds on the server and prepares what it runs, unless the connection does not prepare at all
    (``prepare_threshold`` None). Django's own cursors bind on the client and never prepare."""

    def execute(
        self, query: Any, params: Any = None, *, prepare: bool | None = None, binary: bool | None = None
    ) -> Any:
        return super().execute(query, params, prepare=True, binary=binary)

    def _convert_query(self, query: Any, params: Any = None) -> Any:
        # Django's query log reads the statement from ``_query``, which psycopg keeps only for client-side cursors:
        # without it, debug logging and CaptureQueriesContext would list this read with no SQL (placeholders shown).
        self._query = converted = super()._convert_query(query, params)
        return converted


def compose_once(
    cache: dict[tuple[Any, ...], tuple[str, tuple[Any, ...]]], query: Callable[..., QuerySet[Any]], **arguments: Any
) -> tuple[str, tuple[Any, ...], dict[Any, Any]]:
    """The SQL of ``query(**arguments)`` composed with placeholders (kept in ``cache`` per database and shape), its
    parameters, and the map from each placeholder to the request's value."""
    shape: list[tuple[str, Any]] = []
    placeholders: dict[str, Any] = {}
    values: dict[Any, Any] = {}
    for k, (name, value) in enumerate(sorted(arguments.items())):
        base = _BASE - _BLOCK * k
        if value is None:
            shape.append((name, None))
            placeholders[name] = None
        elif isinstance(value, bool):
            raise TypeError(f"{name}: a flag changes the query's shape; compose one query per value")
        elif isinstance(value, int):
            shape.append((name, int))
            placeholders[name] = base
            values[base] = value
        elif isinstance(value, str):
            shape.append((name, str))
            placeholders[name] = f"\x1fplaceholder:{name}\x1f"
            values[placeholders[name]] = value
        else:
            items = list(value)
            assert len(items) < _BLOCK, name
            shape.append((name, len(items)))
            placeholders[name] = [base - 1 - i for i in range(len(items))]
            values.update(zip(placeholders[name], items, strict=True))
    key = (connection.vendor, query, tuple(shape))
    if key not in cache:
        sql, params = query(**placeholders).query.sql_with_params()
        missing = set(values) - set(params)
        if missing:
            raise ValueError(f"{query.__qualname__}: the ORM folded away the placeholders {sorted(missing, key=str)}")
        cache[key] = (sql, tuple(params))
    sql, template = cache[key]
    return sql, template, values


def composed(
    cache: dict[tuple[Any, ...], tuple[str, tuple[Any, ...]]], query: Callable[..., QuerySet[Any]], **arguments: Any
) -> tuple[str, list[Any]]:
    """The SQL of ``query(**arguments)`` (composed once, see :func:`compose_once`) and the request's parameters;
    ``arguments`` are ints, strings, lists of ints, or None."""
    sql, template, values = compose_once(cache, query, **arguments)
    return sql, [values.get(p, p) if type(p) in (int, str) else p for p in template]
