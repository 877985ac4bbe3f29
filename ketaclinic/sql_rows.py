"""Reading rows with raw SQL as fast as the driver allows, for the few reads that are hot enough to need it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connection


def fetch_rows(sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    """The rows of one read, as the driver gives them (SQLite: datetimes as UTC text; PostgreSQL: aware datetimes).

    On PostgreSQL the cursor loads ``timestamptz`` with psycopg's C loader. Django's own loader subclasses it in
    Python (~3 µs a value), which was most of a monitoring poll's 480 readings and of an incremental outcomes
    refresh; the C loader gives the same aware datetimes in the session's time zone, which Django sets to UTC.
    """
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            from psycopg.types.datetime import TimestamptzLoader

            cursor.cursor.adapters.register_loader("timestamptz", TimestamptzLoader)
        cursor.execute(sql, params)
        return list(cursor.fetchall())
