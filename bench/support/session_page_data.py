"""The session-page benchmark's database: 5,000 patients with 30,000 past dosing sessions (at ``scale`` 1), each
a dosed, monitored and discharged session as a nurse would see it: its appointment, check-in, dose, session note, a
PHQ-9 before it, and vital signs every 15 seconds for 2 hours (480 sets of 5 readings, ~14.4 M rows in all; the first
is the baseline, taken a minute before the dose starts).

Each patient has a signed eligibility assessment, one course (the route of all their sessions: IV ketamine or
esketamine nasal spray) and one dose order, which every session's :class:`DoseAdministration` is given under, from one
drug lot per drug shared by the whole site (orders and lots are shared as they are: no per-session order or lot, no
stock movements; IV doses step up from 0.5 mg/kg under that one order, as in the outcomes generator). An IV dose is a
40-minute infusion; an esketamine dose is 2 or 3 devices (56 or 84 mg) 5 minutes apart. Every protocol timepoint
(``clinical.monitoring_timepoints``) is fulfilled: the vital-sign set nearest it carries its ``timepoint_min``, and a
MOAA/S or CADSS-6 rating is recorded there when the timepoint asks for one. About one session in ten has one
acknowledged alert. Discharge records, adverse events and stock movements are not generated.

Patients, appointments, sessions, vital signs and the rest of the per-session rows are written with raw SQL —
``executemany`` on SQLite, ``COPY`` on PostgreSQL — with explicit primary keys; the per-patient rows (assessments,
courses and orders, each with its patient's id) and the site's lots and staff through the ORM. Everything comes from
a fixed seed, so that the same scale always gives the same database. Columns a table needs and the generator does
not set are filled from the model's defaults (``_fill``), so a new column with a default does not break the generator.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import time
from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal
from typing import Any

PATIENTS = 5_000
SESSIONS_PER_PATIENT = 6
VITALS_EVERY_S = 15
MONITORED_MIN = 120
VITALS_PER_SESSION = MONITORED_MIN * 60 // VITALS_EVERY_S  # 480
#: Bump when the generated data changes: it is part of the SQLite cache key.
GENERATOR_VERSION = 2
SITE_CODE = "bench"
NURSE = "bench.nurse"
#: The second nurse who witnesses every dose.
WITNESS = "bench.witness"
#: The dose starts this long after the baseline reading (the session's first vital-sign set).
DOSE_AFTER = dt.timedelta(minutes=1)
#: An IV dose is an infusion of this many minutes.
INFUSION_MIN = 40
ROUTES = ("iv", "esketamine_nasal")
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


def _reading_at(minute: float) -> int:
    """The index (0 = baseline) of the session's vital-sign set nearest ``minute`` after the start of the dose."""
    k = round((minute + DOSE_AFTER.total_seconds() / 60) * 60 / VITALS_EVERY_S)
    return max(1, min(VITALS_PER_SESSION - 1, k))


def _protocol(route: str) -> tuple[dict[int, int], list[tuple[int, int, str]]]:
    """What a session on ``route`` records for its protocol timepoints (the clinic's default policy): the vital-sign
    sets that fulfil one (``{reading index: timepoint minute}``) and the scale ratings, ``(minute, reading index,
    instrument)``, taken with the set nearest each timepoint (minute 0 is the baseline, which needs neither)."""
    from ketaclinic import clinical

    length = INFUSION_MIN if route == "iv" else 0
    tagged: dict[int, int] = {}
    scales: list[tuple[int, int, str]] = []
    for point in clinical.monitoring_timepoints(route, dose_minutes=length):
        if point.minute == 0:
            continue
        k = _reading_at(point.minute)
        if clinical.Due.VITALS in point.due:
            tagged[k] = point.minute
        if clinical.Due.MOAAS in point.due:
            scales.append((point.minute, k, "moaas"))
        if clinical.Due.CADSS in point.due:
            scales.append((point.minute, k, "cadss6"))
    return tagged, scales


def generate(
    connection: Any, *, scale: float = 1.0, seed: int = 2026, say: Callable[[str], None] = print
) -> dict[str, Any]:
    """Fill an empty, migrated database; return what the benchmark needs (the nurse, the site, the session ids)."""
    from django.core.management.color import no_style
    from django.db import transaction

    from ketaclinic.accounts.actions import create_staff_member, sync_roles
    from ketaclinic.accounts.models import Site
    from ketaclinic.accounts.roles import Role
    from ketaclinic.courses.models import Course, DoseOrder
    from ketaclinic.dosing.models import (
        CheckIn,
        DoseAdministration,
        DosingSession,
        DrugLot,
        EsketamineDevice,
        ScaleObservation,
        SessionAlert,
        SessionNote,
        VitalSign,
    )
    from ketaclinic.measures.models import QuestionnaireResponse
    from ketaclinic.patients.models import Patient
    from ketaclinic.scheduling.actions import appointment_type_for_route
    from ketaclinic.scheduling.models import Appointment
    from ketaclinic.screening.models import EligibilityAssessment

    began = time.perf_counter()
    rng = random.Random(seed)
    patients = max(1, round(PATIENTS * scale))
    sync_roles()
    site = Site.objects.create(code=SITE_CODE, name="Bench Clinic", time_zone="America/Chicago")
    nurse = create_staff_member(username=NURSE, password=PASSWORD, roles=[Role.NURSE], sites=[site])
    prescriber = create_staff_member(username="bench.md", password=PASSWORD, roles=[Role.PRESCRIBER], sites=[site])
    witness = create_staff_member(username=WITNESS, password=PASSWORD, roles=[Role.NURSE], sites=[site])
    types = {route: appointment_type_for_route(route).pk for route in ROUTES}
    lots = {
        drug: DrugLot.objects.create(
            site=site,
            drug=drug,
            lot_number=f"bench-{drug}",
            product=product,
            mg_per_unit=Decimal(per_unit),
            expires_on=dt.date(2030, 1, 1),
            received_by=nurse,
            received_at=TODAY - dt.timedelta(days=800),
        ).pk
        for drug, product, per_unit in (
            ("ketamine", "Ketamine HCl 50 mg/mL 10 mL", "500"),
            ("esketamine", "Spravato", "28"),
        )
    }
    protocols = {route: _protocol(route) for route in ROUTES}
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
        # One signed assessment, course and dose order per patient (ids = the patient's), on the route of their
        # sessions; the course started with their first session and is in maintenance, like the patient.
        firsts = {p: (route, start) for _i, p, route, start in plan[::SESSIONS_PER_PATIENT]}
        EligibilityAssessment.objects.bulk_create(
            [
                EligibilityAssessment(
                    pk=p,
                    patient_id=p,
                    site=site,
                    route=route,
                    indication="trd",
                    inputs={},
                    decision="eligible",
                    rules_version="bench",
                    status="signed",
                    prescriber_decision="approve",
                    signed_by=prescriber,
                    signed_at=start - dt.timedelta(days=10),
                    created_by=nurse,
                    created_at=start - dt.timedelta(days=10),
                )
                for p, (route, start) in firsts.items()
            ],
            batch_size=2000,
        )
        Course.objects.bulk_create(
            [
                Course(
                    pk=p,
                    patient_id=p,
                    site=site,
                    indication="trd",
                    protocol="esketamine_trd" if route == "esketamine_nasal" else "ketamine_iv_standard",
                    route=route,
                    eligibility_assessment_id=p,
                    starting_mg_per_kg=None if route == "esketamine_nasal" else Decimal("0.5"),
                    starting_amount_mg=Decimal("56") if route == "esketamine_nasal" else None,
                    planned_induction_sessions=6,
                    status="maintenance",
                    opened_by=prescriber,
                    opened_at=start - dt.timedelta(days=7),
                    started_at=start,
                )
                for p, (route, start) in firsts.items()
            ],
            batch_size=2000,
        )
        DoseOrder.objects.bulk_create(
            [
                DoseOrder(
                    pk=p,
                    course_id=p,
                    ordered_by=prescriber,
                    ordered_at=start - dt.timedelta(days=7),
                    mg_per_kg=None if route == "esketamine_nasal" else Decimal("0.5"),
                    amount_mg=Decimal("56") if route == "esketamine_nasal" else Decimal(60 + p % 50) / 2,
                    weight_kg=None if route == "esketamine_nasal" else Decimal(60 + p % 50),
                    weight_basis="" if route == "esketamine_nasal" else "actual",
                    duration_min=None if route == "esketamine_nasal" else Decimal(INFUSION_MIN),
                    devices=2 if route == "esketamine_nasal" else None,
                    reason="Starting dose",
                )
                for p, (route, start) in firsts.items()
            ],
            batch_size=2000,
        )
        load.rows += 3 * len(firsts)
        progress(f"{len(firsts):,} assessments, courses and dose orders")
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
                "course_ref",
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
                    p,
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
                "course_ref",
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
                    p,
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
        # The dose, its devices, the timepoints' scale ratings and the odd alert, from a stream of their own (the
        # rows above and the vital signs below stay what they were before doses were generated).
        dosing = random.Random(f"{seed}/doses")
        doses: list[tuple[Any, ...]] = []
        devices: list[tuple[Any, ...]] = []
        scales: list[tuple[Any, ...]] = []
        alerts: list[tuple[Any, ...]] = []
        level = Decimal("0.5")
        for i, p, route, start in plan:
            dosed = start + DOSE_AFTER
            seq = (i - 1) % SESSIONS_PER_PATIENT + 1
            if route == "esketamine_nasal":
                amount = Decimal("56") if seq <= 2 or dosing.random() < 0.3 else Decimal("84")
                for n in range(int(amount) // 28):
                    devices.append((len(devices) + 1, i, n + 1, ts(dosed + dt.timedelta(minutes=5 * n)), nurse.pk))
                drug, weight, basis, per_kg, diluent, planned, stopped = "esketamine", None, "", None, "", None, None
            else:
                # Like the outcomes generator: 0.5 mg/kg at first, sometimes 0.25 mg/kg more, up to 1 mg/kg.
                if seq == 1:
                    level = Decimal("0.5")
                elif level < Decimal("1.0") and dosing.random() < 0.35:
                    level += Decimal("0.25")
                weight = Decimal(60 + p % 50)  # the check-in's weight
                amount = (level * weight).quantize(Decimal("0.1"))
                drug, basis, per_kg, diluent = "ketamine", "actual", str(level), "0.9 % sodium chloride 100 mL"
                planned, stopped = str(INFUSION_MIN), ts(dosed + dt.timedelta(minutes=INFUSION_MIN))
            doses.append(
                (
                    i,
                    i,
                    p,
                    drug,
                    route,
                    None if weight is None else str(weight),
                    basis,
                    per_kg,
                    str(amount),
                    str(amount),
                    diluent,
                    planned,
                    lots[drug],
                    ts(dosed),
                    stopped,
                    nurse.pk,
                    witness.pk,
                    ts(dosed),
                )
            )
            for minute, k, instrument in protocols[route][1]:
                if instrument == "moaas":
                    total = 4 if minute <= INFUSION_MIN and dosing.random() < 0.25 else 5
                    answers, band = {"q1": total}, ("lethargic" if total == 4 else "alert")
                else:  # CADSS-6: some dissociation at the peak, next to none before discharge
                    peak = minute <= INFUSION_MIN
                    items = [dosing.randint(0, 2) if peak else int(dosing.random() < 0.1) for _ in range(6)]
                    answers, total, band = {f"q{n + 1}": v for n, v in enumerate(items)}, sum(items), ""
                scales.append(
                    (
                        len(scales) + 1,
                        i,
                        instrument,
                        json.dumps(answers),
                        str(total),
                        band,
                        minute,
                        ts(start + k * dt.timedelta(seconds=VITALS_EVERY_S)),
                        nurse.pk,
                    )
                )
            if dosing.random() < 0.1:
                alerts.append(
                    (
                        len(alerts) + 1,
                        i,
                        "vitals.systolic_high",
                        "warning",
                        "Systolic blood pressure above the clinic's alert limit.",
                        "[]",
                        ts(dosed + dt.timedelta(minutes=25)),
                        ts(dosed + dt.timedelta(minutes=27)),
                        nurse.pk,
                        "observed",
                        "Repeated: back within range.",
                    )
                )
        load.insert(
            DoseAdministration,
            [
                "id",
                "session_id",
                "order_id",
                "drug",
                "route",
                "weight_kg",
                "weight_basis",
                "mg_per_kg",
                "amount_mg",
                "amount_given_mg",
                "diluent",
                "planned_duration_min",
                "lot_id",
                "started_at",
                "stopped_at",
                "administered_by_id",
                "witnessed_by_id",
                "recorded_at",
            ],
            doses,
        )
        load.insert(EsketamineDevice, ["id", "administration_id", "number", "at", "by_id"], devices)
        load.insert(
            ScaleObservation,
            [
                "id",
                "session_id",
                "instrument",
                "answers",
                "total",
                "band",
                "timepoint_min",
                "observed_at",
                "observed_by_id",
            ],
            scales,
        )
        load.insert(
            SessionAlert,
            [
                "id",
                "session_id",
                "code",
                "level",
                "message",
                "citations",
                "raised_at",
                "acknowledged_at",
                "acknowledged_by_id",
                "action",
                "action_note",
            ],
            alerts,
        )
        progress(
            f"{len(doses):,} doses, {len(devices):,} devices, {len(scales):,} scale ratings, {len(alerts):,} alerts"
        )
    # Readings wander around each session's own baseline (a cheap table of offsets instead of 72 M random draws).
    noise = [rng.randint(-4, 4) for _ in range(8191)]
    step = dt.timedelta(seconds=VITALS_EVERY_S)

    def vitals(chunk: list[tuple[int, int, str, dt.datetime]]) -> Iterator[tuple[Any, ...]]:
        for i, _p, route, start in chunk:
            base = (110 + i % 40, 65 + i % 20, 60 + i % 30, 95 + i % 4, 12 + i % 6)
            tagged = protocols[route][0]
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
                    tagged.get(k),
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
        "timepoint_min",
    ]
    chunk_size = 1000
    for start in range(0, len(plan), chunk_size):
        with transaction.atomic():
            load.insert(VitalSign, columns, vitals(plan[start : start + chunk_size]))
        progress(f"vital signs of {min(start + chunk_size, len(plan)):,}/{len(plan):,} sessions")
    models = [
        DrugLot,
        EligibilityAssessment,
        Course,
        DoseOrder,
        Patient,
        Appointment,
        DosingSession,
        CheckIn,
        SessionNote,
        QuestionnaireResponse,
        DoseAdministration,
        EsketamineDevice,
        ScaleObservation,
        SessionAlert,
        VitalSign,
    ]
    with connection.cursor() as cursor:
        for statement in connection.ops.sequence_reset_sql(no_style(), models):
            cursor.execute(statement)
        cursor.execute("ANALYZE")
    if fast:
        connection.cursor().execute("PRAGMA synchronous=FULL")
    say(f"Generated {load.rows:,} rows in {time.perf_counter() - began:.0f} s.")
    return {"patients": patients, "sessions": len(plan), "rows": load.rows}
