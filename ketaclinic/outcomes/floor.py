"""The floor: the dashboard's figures computed straight from the clinical tables in plain SQL, no rollups.

This is the "naive GROUP BY" the benchmark records for contrast, the reference the tests hold the dashboard to, and
the query DuckDB runs in the benchmark (the same text, over the same tables loaded into it). It is written
independently of :mod:`ketaclinic.outcomes.rollup` — window functions instead of Python — with the same definitions
(:mod:`ketaclinic.outcomes.definitions`) and the same policy thresholds passed as parameters: each course is
measured on its indication's instrument (a ``CASE`` over the indication, with that instrument's remission threshold),
and its scores are joined by course, not by patient. Runs on SQLite ≥ 3.25, PostgreSQL and DuckDB.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ketaclinic.clinical import DEFAULT_POLICY, ClinicPolicy
from ketaclinic.clinical.outcomes import REMISSION_SETTINGS
from ketaclinic.outcomes import definitions as d
from ketaclinic.outcomes.figures import Figures, Filters, ResponseRow, dissociation_rows

Run = Callable[[str, Sequence[Any]], list[tuple[Any, ...]]]


@dataclass(frozen=True)
class Dialect:
    """How one database turns a timestamp column into epoch seconds and floors a number; its parameter marker."""

    name: str
    epoch: str  # a format with {0} for the column
    floor: str  # a format with {0} for the number
    param: str


SQLITE = Dialect(
    "sqlite",
    # Django keeps SQLite datetimes as UTC text 'YYYY-MM-DD HH:MM:SS[.ffffff]': whole seconds plus the fraction
    # (% is doubled: Django's cursor takes %s as its parameter marker).
    "(CAST(strftime('%%s', {0}) AS INTEGER) + COALESCE(CAST(substr({0}, 20) AS REAL), 0))",
    "CAST({0} AS INTEGER)",  # only ever applied to non-negative numbers, where truncation is the floor
    "%s",
)
POSTGRESQL = Dialect("postgresql", "EXTRACT(EPOCH FROM {0})", "CAST(FLOOR({0}) AS INTEGER)", "%s")
#: DuckDB is loaded with timestamps already as epoch seconds (see bench/outcomes.py).
DUCKDB = Dialect("duckdb", "{0}", "CAST(FLOOR({0}) AS INTEGER)", "?")

DIALECTS = {"sqlite": SQLITE, "postgresql": POSTGRESQL, "duckdb": DUCKDB}


def _facts(dialect: Dialect, filters: Filters, policy: ClinicPolicy) -> tuple[str, list[Any]]:
    """The CTEs every figure query starts with: filtered courses, dosed sessions, course and session facts."""
    e = dialect.epoch.format
    p = dialect.param
    params: list[Any] = list(filters.site_ids)
    where = [f"site_id IN ({', '.join([p] * len(filters.site_ids))})"]
    for column in ("protocol", "route", "indication"):
        value = getattr(filters, column)
        if value:
            where.append(f"{column} = {p}")
            params.append(value)
    pct = float(policy.response_reduction_pct)
    measured = {i: m for i, m in d.INSTRUMENT_BY_INDICATION.items() if m is not None}
    # Indication → its instrument and that instrument's remission threshold (no primary outcome: NULL, never evaluable).
    instrument = " ".join(f"WHEN '{i}' THEN '{m}'" for i, m in measured.items())
    remission = " ".join(
        f"WHEN '{i}' THEN {float(getattr(policy, REMISSION_SETTINGS[m]))}" for i, m in measured.items()
    )
    instruments = ", ".join(f"'{m}'" for m in d.INSTRUMENTS)
    lookback = d.BASELINE_LOOKBACK.total_seconds()
    window = d.END_OF_INDUCTION_WINDOW.total_seconds()
    ended = ", ".join(f"'{s}'" for s in d.ENDED_STATUSES)
    response = f"(b.baseline > 0 AND (b.baseline - {{s}}) * 100 >= {pct} * b.baseline)"
    benefit = f"({response.format(s='m.score')} OR m.score <= c.remission_max)"
    eoi_response = response.format(s="es.score").replace("b.baseline", "es.baseline")
    # Only numbers and identifiers of this module are interpolated; filter values are bound parameters.
    sql = f"""
WITH c AS (
  SELECT id, patient_id, site_id, protocol, indication, status, planned_induction_sessions AS planned,
         {e("ended_at")} AS t_end,
         CASE indication {instrument} ELSE NULL END AS instrument,
         CASE indication {remission} ELSE NULL END AS remission_max
  FROM courses_course WHERE {" AND ".join(where)}
),
dose AS (
  SELECT s.course_ref AS course_id, s.id AS session_id, c.patient_id, {e("a.started_at")} AS t,
         ROW_NUMBER() OVER (PARTITION BY s.course_ref ORDER BY a.started_at, a.id) AS seq,
         COUNT(*) OVER (PARTITION BY s.course_ref) AS n_doses,
         CASE WHEN a.mg_per_kg IS NULL THEN 'mg' ELSE 'mg/kg' END AS dose_unit,
         COALESCE(a.mg_per_kg, a.amount_mg) AS dose_value
  FROM dosing_doseadministration a
  JOIN dosing_dosingsession s ON s.id = a.session_id
  JOIN c ON c.id = s.course_ref
),
first_dose AS (SELECT course_id, t AS t0 FROM dose WHERE seq = 1),
eoi AS (
  SELECT dose.course_id, dose.t AS t_eoi FROM dose JOIN c ON c.id = dose.course_id
  WHERE dose.seq = c.planned OR (dose.n_doses < c.planned AND dose.seq = dose.n_doses AND c.status IN ({ended}))
),
m AS (
  SELECT q.id, q.patient_id, q.instrument, {e("q.completed_at")} AS t, q.total AS score
  FROM measures_questionnaireresponse q
  WHERE q.instrument IN ({instruments}) AND q.total IS NOT NULL AND q.patient_id IN (SELECT patient_id FROM c)
),
b AS (
  SELECT course_id, score AS baseline FROM (
    SELECT f.course_id, m.score, ROW_NUMBER() OVER (PARTITION BY f.course_id ORDER BY m.t DESC, m.id DESC) AS rn
    FROM first_dose f JOIN c ON c.id = f.course_id
    JOIN m ON m.patient_id = c.patient_id AND m.instrument = c.instrument AND m.t <= f.t0 AND m.t >= f.t0 - {lookback}
  ) x WHERE rn = 1
),
fu AS (
  SELECT f.course_id, m.id, m.t, m.score, b.baseline, c.remission_max,
         CASE WHEN {benefit} THEN 1 ELSE 0 END AS benefit
  FROM first_dose f JOIN c ON c.id = f.course_id JOIN b ON b.course_id = f.course_id
  JOIN m ON m.patient_id = c.patient_id AND m.instrument = c.instrument AND m.t > f.t0
    AND (c.t_end IS NULL OR m.t <= c.t_end)
),
eoi_score AS (
  SELECT course_id, score, baseline, remission_max FROM (
    SELECT fu.course_id, fu.score, fu.baseline, fu.remission_max,
           ROW_NUMBER() OVER (PARTITION BY fu.course_id ORDER BY fu.t DESC, fu.id DESC) AS rn
    FROM fu JOIN eoi ON eoi.course_id = fu.course_id WHERE fu.t <= eoi.t_eoi + {window}
  ) x WHERE rn = 1
),
runs AS (
  SELECT course_id, id, t, benefit,
         SUM(benefit) OVER (PARTITION BY course_id ORDER BY t, id ROWS UNBOUNDED PRECEDING) AS grp
  FROM fu
),
since AS (
  SELECT course_id, t, ROW_NUMBER() OVER (PARTITION BY course_id, grp ORDER BY t, id) - 1 AS without
  FROM runs WHERE grp > 0
),
resp AS (SELECT course_id, MIN(t) AS t_first FROM fu WHERE benefit = 1 GROUP BY course_id),
loss AS (SELECT course_id, MIN(t) AS t_loss FROM since WHERE without = {int(policy.loss_of_response_consecutive)}
         GROUP BY course_id),
last_fu AS (SELECT course_id, MAX(t) AS t_last FROM fu GROUP BY course_id),
to_resp AS (
  SELECT resp.course_id, COUNT(*) AS n FROM resp JOIN dose ON dose.course_id = resp.course_id AND dose.t <= resp.t_first
  GROUP BY resp.course_id
),
course_fact AS (
  SELECT c.id, c.patient_id, c.protocol, c.indication, c.instrument, f.t0,
         CASE WHEN es.course_id IS NULL THEN NULL
              WHEN {eoi_response} THEN 1 ELSE 0 END AS eoi_response,
         CASE WHEN es.course_id IS NULL THEN NULL WHEN es.score <= es.remission_max THEN 1 ELSE 0 END AS eoi_remission,
         resp.t_first, to_resp.n AS sessions_to_response,
         CASE WHEN loss.t_loss IS NULL THEN 0 ELSE 1 END AS lost,
         CASE WHEN resp.t_first IS NULL THEN NULL
              ELSE {dialect.floor.format("(COALESCE(loss.t_loss, last_fu.t_last) - resp.t_first) / 86400")}
         END AS followup_days
  FROM c JOIN first_dose f ON f.course_id = c.id
  LEFT JOIN eoi_score es ON es.course_id = c.id
  LEFT JOIN resp ON resp.course_id = c.id
  LEFT JOIN to_resp ON to_resp.course_id = c.id
  LEFT JOIN loss ON loss.course_id = c.id
  LEFT JOIN last_fu ON last_fu.course_id = c.id
),
al AS (
  SELECT session_id, COUNT(*) AS n, SUM(CASE WHEN level = 'urgent' THEN 1 ELSE 0 END) AS urgent
  FROM dosing_sessionalert GROUP BY session_id
),
ae AS (
  SELECT session_id, COUNT(*) AS n, SUM(CASE WHEN serious THEN 1 ELSE 0 END) AS serious
  FROM dosing_adverseevent GROUP BY session_id
),
dz AS (
  SELECT session_id, instrument, MAX(total) AS peak FROM dosing_scaleobservation
  WHERE instrument IN ('cadss', 'cadss6') GROUP BY session_id, instrument
),
dz1 AS (SELECT session_id, MIN(instrument) AS instrument FROM dz GROUP BY session_id),
session_fact AS (
  SELECT dose.session_id, dose.patient_id, dose.t, dose.dose_unit, dose.dose_value,
         COALESCE(al.n, 0) AS alerts, COALESCE(al.urgent, 0) AS urgent,
         COALESCE(ae.n, 0) AS events, COALESCE(ae.serious, 0) AS serious,
         dz.instrument, dz.peak
  FROM dose LEFT JOIN al ON al.session_id = dose.session_id LEFT JOIN ae ON ae.session_id = dose.session_id
  LEFT JOIN dz1 ON dz1.session_id = dose.session_id
  LEFT JOIN dz ON dz.session_id = dz1.session_id AND dz.instrument = dz1.instrument
)
"""
    return sql, params


def floor_figures(run: Run, dialect: Dialect, filters: Filters, *, policy: ClinicPolicy = DEFAULT_POLICY) -> Figures:
    """Every dashboard figure for ``filters`` from the clinical tables, in six queries each starting from scratch."""
    prefix, params = _facts(dialect, filters, policy)
    p = dialect.param
    start, end = filters.start.timestamp(), filters.end.timestamp()
    in_sessions = f"FROM session_fact WHERE t >= {p} AND t < {p}"
    in_courses = f"FROM course_fact WHERE t0 >= {p} AND t0 < {p}"
    window = [*params, start, end]

    (sessions, patients, alerts, urgent, events, serious), *_ = run(
        f"{prefix} SELECT COUNT(*), COUNT(DISTINCT patient_id), SUM(alerts), SUM(urgent), SUM(events), SUM(serious) "
        f"{in_sessions}",
        window,
    )
    dissociation = run(
        f"{prefix} SELECT instrument, dose_unit, dose_value, COUNT(*), AVG(peak) {in_sessions} AND peak IS NOT NULL "
        "GROUP BY instrument, dose_unit, dose_value",
        window,
    )
    counts = "COUNT(*), COUNT(eoi_response), COALESCE(SUM(eoi_response), 0), COALESCE(SUM(eoi_remission), 0)"
    by_instrument = "".join(
        f", SUM(CASE WHEN instrument = '{i}' AND eoi_response IS NOT NULL THEN 1 ELSE 0 END)" for i in d.INSTRUMENTS
    )
    (courses, evaluable, responders, remitters, without_measure, *on_instrument), *_ = run(
        f"{prefix} SELECT {counts}, SUM(CASE WHEN instrument IS NULL THEN 1 ELSE 0 END){by_instrument} {in_courses}",
        window,
    )
    histogram = run(
        f"{prefix} SELECT sessions_to_response, COUNT(*) {in_courses} AND t_first IS NOT NULL "
        "GROUP BY sessions_to_response",
        window,
    )
    km = run(
        f"{prefix} SELECT followup_days, SUM(lost), SUM(1 - lost) {in_courses} AND t_first IS NOT NULL "
        "GROUP BY followup_days",
        window,
    )
    table = run(
        f"{prefix} SELECT protocol, indication, {counts} {in_courses} GROUP BY protocol, indication "
        "ORDER BY protocol, indication",
        window,
    )
    return Figures(
        patients_treated=int(patients),
        sessions=int(sessions),
        alerts=int(alerts or 0),
        urgent_alerts=int(urgent or 0),
        adverse_events=int(events or 0),
        serious_adverse_events=int(serious or 0),
        courses=int(courses),
        evaluable=int(evaluable),
        responders=int(responders),
        remitters=int(remitters),
        without_measure=int(without_measure or 0),
        evaluable_by_instrument=tuple((i, int(n or 0)) for i, n in zip(d.INSTRUMENTS, on_instrument, strict=True)),
        sessions_to_response=tuple(sorted((int(v), int(n)) for v, n in histogram)),
        km_groups=tuple(sorted((int(t), int(e), int(c)) for t, e, c in km)),
        dissociation=dissociation_rows(dissociation),
        response_table=tuple(ResponseRow(pr, ind, *(int(x) for x in rest)) for pr, ind, *rest in table),
    )


def django_runner() -> tuple[Run, Dialect]:
    """Run the floor on Django's default database connection.

    On PostgreSQL each query runs with nested-loop joins off (``SET LOCAL``, that query's transaction only). The
    planner cannot see row counts through the CTEs: it takes a filtered or joined CTE to hold a handful of rows
    (0.5 % of its input per condition), then nested-loops over what are really thousands — at full benchmark scale
    67 s a figure set with the course's measure joined in, against 1.6 s with hash joins, the same SQL."""
    from django.db import connection, transaction

    hint = connection.vendor == "postgresql"

    def run(sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        with transaction.atomic(), connection.cursor() as cursor:
            if hint:
                cursor.execute("SET LOCAL enable_nestloop = off")
            cursor.execute(sql, params)
            return list(cursor.fetchall())

    return run, DIALECTS[connection.vendor]
