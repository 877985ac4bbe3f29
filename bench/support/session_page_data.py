"""The session-page benchmark's database: 5,000 patients with 30,000 past dosing sessions (at ``scale`` 1), each with
its appointment, check-in, session note, a PHQ-9 before it, and vital signs every 15 seconds for 2 hours (480 sets of
5 readings, ~14.4 M rows in all; the first is the baseline).

Rows are written with raw SQL — ``executemany`` on SQLite, ``COPY`` on PostgreSQL — with explicit primary keys, from
a fixed seed, so that the same scale always gives the same database. Only what the session and monitoring pages read
is generated (no dose records, which would need courses, orders and drug lots). Columns a table needs and the
generator does not set are filled from the model's defaults (``_fill``), so a new column with a default does not
break the generator.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

PATIENTS = 5_000
SESSIONS_PER_PATIENT = 6
VITALS_EVERY_S = 15
MONITORED_MIN = 120
VITALS_PER_SESSION = MONITORED_MIN * 60 // VITALS_EVERY_S  # 480
#: Bump when the generated data changes: it is part of the SQLite cache key.
GENERATOR_VERSION = 1
SITE_CODE = "bench"
NURSE = "bench.nurse"
PASSWORD = "bench-only-password-not-secret"  # noqa: S105
#: "Today" for the generated history (sessions are spread over the two years before it).
TODAY = dt.datetime(2026, 10, 21, tzinfo=dt.UTC)


class Loader:
    """Bulk insert into a model's table through the Django connection: executemany (SQLite) or COPY (PostgreSQL)."""

    def __init__(self, connection: Any) -> None:
        self.connection = connection
        self.vendor = connection.vendor
        self.rows = 0

    def ts(self, value: dt.datetime) -> Any:
        """A UTC datetime as the backend stores it (SQLite: Django's naive UTC text)."""
        if self.vendor == "sqlite":
            return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
        return value

    def _fill(self, model: Any, columns: list[str]) -> dict[str, Any]:
        from django.db import models as m

        fill: dict[str, Any] = {}
        for field in model._meta.concrete_fields:
            if field.primary_key or field.column in columns:
                continue
            if field.null:
                fill[field.column] = None
            elif field.has_default():
                fill[field.column] = field.get_db_prep_save(field.get_default(), self.connection)
            elif isinstance(field, m.DateTimeField) and (field.auto_now or field.auto_now_add):
                fill[field.column] = self.ts(TODAY)
            elif isinstance(field, m.CharField | m.TextField) and field.blank:
                fill[field.column] = ""
            else:
                raise ValueError(f"{model._meta.db_table}.{field.column}: no value and no default; set it")
        return fill

    def insert(self, model: Any, columns: list[str], rows: Iterable[tuple[Any, ...]]) -> int:
        table = model._meta.db_table
        fill = self._fill(model, columns)
        names = [*columns, *fill]
        extra = tuple(fill.values())
        quoted = ", ".join(self.connection.ops.quote_name(n) for n in names)
        count = 0

        def full() -> Iterator[tuple[Any, ...]]:
            nonlocal count
            for row in rows:
                count += 1
                yield row + extra

        if self.vendor == "sqlite":
            raw = self.connection.connection
            raw.executemany(f"INSERT INTO {table} ({quoted}) VALUES ({', '.join('?' * len(names))})", full())
        else:
            with self.connection.cursor() as cursor, cursor.cursor.copy(f"COPY {table} ({quoted}) FROM STDIN") as copy:
                for row in full():
                    copy.write_row(row)
        self.rows += count
        return count


def _answers(rng: random.Random, total: int) -> tuple[dict[str, int], int]:
    """Nine PHQ-9 item answers (0–3) adding up to about ``total``; item 9 stays 0 (no follow-up tasks)."""
    items = [0] * 9
    left = max(0, min(24, total))
    while left:
        i = rng.randrange(8)
        if items[i] < 3:
            items[i] += 1
            left -= 1
    return {f"q{i + 1}": v for i, v in enumerate(items)}, sum(items)


def _band(total: int) -> str:
    for limit, band in ((4, "minimal"), (9, "mild"), (14, "moderate"), (19, "moderately_severe")):
        if total <= limit:
            return band
    return "severe"


def generate(
    connection: Any, *, scale: float = 1.0, seed: int = 2026, say: Callable[[str], None] = print
) -> dict[str, Any]:
    """Fill an empty, migrated database; return what the benchmark needs (the nurse, the site, the session ids)."""
    from django.core.management.color import no_style
    from django.db import transaction

    from ketaclinic.accounts.actions import create_staff_member, sync_roles
    from ketaclinic.accounts.models import Site
    from ketaclinic.accounts.roles import Role
    from ketaclinic.dosing.models import CheckIn, DosingSession, SessionNote, VitalSign
    from ketaclinic.measures.models import QuestionnaireResponse
    from ketaclinic.patients.models import Patient
    from ketaclinic.scheduling.actions import appointment_type_for_route
    from ketaclinic.scheduling.models import Appointment

    began = time.perf_counter()
    rng = random.Random(seed)
    patients = max(1, round(PATIENTS * scale))
    sync_roles()
    site = Site.objects.create(code=SITE_CODE, name="Bench Clinic", time_zone="America/Chicago")
    nurse = create_staff_member(username=NURSE, password=PASSWORD, roles=[Role.NURSE], sites=[site])
    prescriber = create_staff_member(username="bench.md", password=PASSWORD, roles=[Role.PRESCRIBER], sites=[site])
    types = {route: appointment_type_for_route(route).pk for route in ("iv", "esketamine_nasal")}
    load = Loader(connection)
    # A throwaway file being filled: no need to wait for the disk (not possible inside a transaction: the smoke test).
    fast = load.vendor == "sqlite" and not connection.in_atomic_block
    if fast:
        connection.cursor().execute("PRAGMA synchronous=OFF")

    def progress(what: str) -> None:
        say(f"  {what}: {load.rows:,} rows so far, {time.perf_counter() - began:.0f} s")

    # One plan for every session: (id, patient, route, start); patients come twice a week for three weeks.
    plan: list[tuple[int, int, str, dt.datetime]] = []
    for p in range(1, patients + 1):
        first = TODAY - dt.timedelta(days=rng.randrange(30, 730))
        first = first.replace(hour=13 + rng.randrange(0, 7), minute=15 * rng.randrange(4), second=0, microsecond=0)
        route = "esketamine_nasal" if rng.random() < 0.3 else "iv"
        for k in range(SESSIONS_PER_PATIENT):
            plan.append((len(plan) + 1, p, route, first + dt.timedelta(days=(k // 2) * 7 + (k % 2) * 3)))
    with transaction.atomic():
        load.insert(
            Patient,
            ["id", "site_id", "mrn", "legal_first_name", "legal_last_name", "date_of_birth", "sex_at_birth", "status"],
            (
                (
                    p,
                    site.pk,
                    f"B{p:07d}",
                    f"First{p}",
                    f"Last{p}",
                    dt.date(1950 + p % 50, 1 + p % 12, 1 + p % 28),
                    ("female", "male")[p % 2],
                    "maintenance",
                )
                for p in range(1, patients + 1)
            ),
        )
        progress(f"{patients:,} patients")
        ts = load.ts
        load.insert(
            Appointment,
            [
                "id",
                "site_id",
                "patient_id",
                "appointment_type_id",
                "starts_at",
                "ends_at",
                "status",
                "sequence_number",
                "checked_in_at",
                "created_by_id",
                "created_at",
            ],
            (
                (
                    i,
                    site.pk,
                    p,
                    types[route],
                    ts(start),
                    ts(start + dt.timedelta(minutes=150)),
                    "completed",
                    (i - 1) % SESSIONS_PER_PATIENT + 1,
                    ts(start - dt.timedelta(minutes=10)),
                    nurse.pk,
                    ts(start - dt.timedelta(days=20)),
                )
                for i, p, route, start in plan
            ),
        )
        load.insert(
            DosingSession,
            [
                "id",
                "appointment_id",
                "patient_id",
                "site_id",
                "sequence_number",
                "route",
                "state",
                "checked_in_at",
                "checked_in_by_id",
                "opened_by_id",
                "opened_at",
                "version",
            ],
            (
                (
                    i,
                    i,
                    p,
                    site.pk,
                    (i - 1) % SESSIONS_PER_PATIENT + 1,
                    route,
                    "discharged",
                    ts(start - dt.timedelta(minutes=10)),
                    nurse.pk,
                    nurse.pk,
                    ts(start - dt.timedelta(minutes=15)),
                    9,
                )
                for i, p, route, start in plan
            ),
        )
        load.insert(
            CheckIn,
            [
                "id",
                "session_id",
                "identity_confirmed",
                "weight_kg",
                "pregnancy_test",
                "benzodiazepine_held",
                "consent_valid",
                "completed_by_id",
                "completed_at",
                "escort_name",
                "escort_confirmed",
            ],
            (
                (
                    i,
                    i,
                    True,
                    f"{60 + p % 50}.0",
                    "n/a",
                    "not_ordered",
                    True,
                    nurse.pk,
                    ts(start - dt.timedelta(minutes=10)),
                    "Escort",
                    True,
                )
                for i, p, _route, start in plan
            ),
        )
        load.insert(
            SessionNote,
            [
                "id",
                "session_id",
                "text",
                "written_by_id",
                "updated_at",
                "nurse_signed_by_id",
                "nurse_signed_at",
                "prescriber_signed_by_id",
                "prescriber_signed_at",
                "version",
            ],
            (
                (
                    i,
                    i,
                    "Tolerated the session; discharged with escort.",
                    nurse.pk,
                    ts(start + dt.timedelta(hours=2)),
                    nurse.pk,
                    ts(start + dt.timedelta(hours=2)),
                    prescriber.pk,
                    ts(start + dt.timedelta(hours=3)),
                    2,
                )
                for i, _p, _route, start in plan
            ),
        )
        progress(f"{len(plan):,} appointments, sessions, check-ins and notes")

        def phq9() -> Iterator[tuple[Any, ...]]:
            for i, p, _route, start in plan:
                answers, total = _answers(rng, max(0, 20 - 2 * ((i - 1) % SESSIONS_PER_PATIENT) - rng.randrange(4)))
                yield (
                    i,
                    p,
                    site.pk,
                    "phq9",
                    json.dumps(answers),
                    total,
                    _band(total),
                    "[]",
                    "{}",
                    "patient",
                    "clinic",
                    ts(start - dt.timedelta(minutes=20)),
                    nurse.pk,
                )

        load.insert(
            QuestionnaireResponse,
            [
                "id",
                "patient_id",
                "site_id",
                "instrument",
                "answers",
                "total",
                "band",
                "flags",
                "subscores",
                "respondent",
                "channel",
                "completed_at",
                "entered_by_id",
            ],
            phq9(),
        )
        progress("PHQ-9 history")
    # Readings wander around each session's own baseline (a cheap table of offsets instead of 72 M random draws).
    noise = [rng.randint(-4, 4) for _ in range(8191)]
    step = dt.timedelta(seconds=VITALS_EVERY_S)

    def vitals(chunk: list[tuple[int, int, str, dt.datetime]]) -> Iterator[tuple[Any, ...]]:
        for i, _p, _route, start in chunk:
            base = (110 + i % 40, 65 + i % 20, 60 + i % 30, 95 + i % 4, 12 + i % 6)
            first = (i - 1) * VITALS_PER_SESSION
            for k in range(VITALS_PER_SESSION):
                j = (first + k) % 8191
                yield (
                    first + k + 1,
                    i,
                    ts(start + k * step),
                    base[0] + noise[j],
                    base[1] + noise[j - 1] // 2,
                    base[2] + noise[j - 2],
                    min(100, base[3] + noise[j - 3] // 4),
                    base[4] + noise[j - 4] // 4,
                    "typed" if k == 0 else "monitor",
                    nurse.pk if k == 0 else None,
                    k == 0,
                )

    columns = [
        "id",
        "session_id",
        "recorded_at",
        "systolic_mmhg",
        "diastolic_mmhg",
        "heart_rate_bpm",
        "spo2_pct",
        "resp_rate_per_min",
        "source",
        "recorded_by_id",
        "is_baseline",
    ]
    chunk_size = 1000
    for start in range(0, len(plan), chunk_size):
        with transaction.atomic():
            load.insert(VitalSign, columns, vitals(plan[start : start + chunk_size]))
        progress(f"vital signs of {min(start + chunk_size, len(plan)):,}/{len(plan):,} sessions")
    models = [Patient, Appointment, DosingSession, CheckIn, SessionNote, QuestionnaireResponse, VitalSign]
    with connection.cursor() as cursor:
        for statement in connection.ops.sequence_reset_sql(no_style(), models):
            cursor.execute(statement)
        cursor.execute("ANALYZE")
    if fast:
        connection.cursor().execute("PRAGMA synchronous=FULL")
    say(f"Generated {load.rows:,} rows in {time.perf_counter() - began:.0f} s.")
    return {"patients": patients, "sessions": len(plan), "rows": load.rows}
