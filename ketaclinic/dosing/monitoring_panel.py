"""Everything the monitoring panel shows, read in ONE query.

The panel is polled every 15 s by every screen watching a session, for hours, with a vitals row every 15 s from a
bedside monitor; so the read must not grow with the number of rows or kinds of row. One ``UNION ALL`` brings the
session header, the dose start, the esketamine devices, every vital sign, scale observation, alert, adverse event and
rescue medication of the session, the patient's PHQ-9 history, the session note's header and the reader's roles,
each as a row of the same 18 typed columns (:data:`COLUMNS`, composed once per database and number of sites by
:class:`~ketaclinic.typed_union.TypedUnion`); :func:`load_panel` turns them back into plain objects.
Only the session branch checks access (the patient's site among the reader's sites): without that row the caller
answers 404 and the other rows are thrown away unread.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from operator import attrgetter, itemgetter
from typing import Any

import orjson
from django.contrib.auth.models import Group
from django.db import connection
from django.db.models import Case, FloatField, QuerySet, TextField, Value, When
from django.db.models.expressions import RawSQL
from django.utils import timezone

from ketaclinic.clinical import Due
from ketaclinic.dosing import monitoring
from ketaclinic.dosing.models import (
    AdverseEvent,
    DoseAdministration,
    DosingSession,
    EsketamineDevice,
    RescueMedication,
    ScaleObservation,
    SessionAlert,
    SessionNote,
    VitalSign,
)
from ketaclinic.measures.models import QuestionnaireResponse
from ketaclinic.typed_union import TypedUnion, aware

#: ``n8`` comes last so that adding it moved no other column.
COLUMNS = ("kind", "ref", "at", "at2", "at3", *(f"n{i}" for i in range(1, 8)), *(f"s{i}" for i in range(1, 7)), "n8")
UNION = TypedUnion(COLUMNS)
_branch = UNION.branch
#: How many PHQ-9 scores the panel shows (newest last).
PHQ9_HISTORY = 12


#: A reading's fields in its row (a row of :data:`COLUMNS`, whichever way it was read: see :func:`_vitals_json`).
V_ID, V_AT, V_SBP, V_DBP, V_HR, V_SPO2, V_RR, V_TIMEPOINT, V_BASELINE, V_SOURCE, V_EPOCH = (
    1,
    2,
    5,
    6,
    7,
    8,
    9,
    10,
    11,
    12,
    18,
)
#: The vital-sign fields behind ``n1`` … ``n6``.
_VITAL_NUMBERS = ("systolic_mmhg", "diastolic_mmhg", "heart_rate_bpm", "spo2_pct", "resp_rate_per_min", "timepoint_min")


def _epoch(column: str) -> str:
    """SQL for a UTC datetime column as seconds since the epoch (a float), for the chart's minutes."""
    if connection.vendor == "postgresql":
        return f"EXTRACT(EPOCH FROM {column})::float8"
    # julianday keeps milliseconds; as a double, to within ~20 µs (well under a pixel of the chart).
    return f"(julianday({column}) - 2440587.5) * 86400.0"


def _recorded_at() -> str:
    meta = VitalSign._meta
    return f'"{meta.db_table}"."{meta.get_field("recorded_at").column}"'


def _vitals_json(session_id: int) -> RawSQL:
    """SQLite: every reading of the session as ONE JSON text, an array per reading laid out like a row of
    :data:`COLUMNS` (``["vital", id, recorded_at, null, null, systolic, …, epoch]``).

    Up to 480 readings a session (one every 15 s for 2 h), read every 15 s by every screen watching it. As rows,
    SQLite's driver builds a Python object per value in Python-level code — most of a poll's time; SQLite builds
    the JSON and :mod:`orjson` parses it, both in C. PostgreSQL's driver loads rows in C but its JSON functions
    are slow, so there the readings stay rows of the union (:func:`panel_query`): one layout either way.
    """
    meta = VitalSign._meta
    col = {f.name: f"v.{f.column}" for f in meta.concrete_fields}
    numbers = ", ".join(col[name] for name in _VITAL_NUMBERS)
    values = (
        f"'vital', {col['id']}, {col['recorded_at']}, NULL, NULL, {numbers}, {col['is_baseline']}, "
        f"{col['source']}, NULL, NULL, NULL, NULL, NULL, {_epoch(col['recorded_at'])}"
    )
    # No ORDER BY: SQLite's aggregate takes none (sorting first in a subquery cost as much as the rest of the read);
    # rows come in key order, which is time order for a monitor's stream, and build_panel sorts whatever comes.
    sql = f"SELECT json_group_array(json_array({values})) FROM {meta.db_table} v WHERE v.session_id = %s"  # noqa: S608
    # Names come from the model's meta; the one value is a parameter.
    return RawSQL(f"({sql})", [session_id], output_field=TextField())  # noqa: S611


def _flag(condition: str) -> Case:
    return Case(When(**{condition: True}, then=Value(1.0)), default=Value(0.0), output_field=FloatField())


def panel_query(session_id: int, patient_id: int, site_ids: Iterable[int], user_id: int | None) -> QuerySet[Any]:
    """The one ``UNION ALL`` query of :func:`load_panel` (unevaluated)."""
    sid = {"session_id": session_id}
    branches = [
        _branch(
            DosingSession.objects.filter(pk=session_id, patient_id=patient_id, patient__site_id__in=list(site_ids)),
            "session",
            ref="pk",
            at="opened_at",
            n1="version",
            n2="site_id",
            s1="state",
            s2="route",
            s3=_vitals_json(session_id) if connection.vendor == "sqlite" else None,
        ),
        _branch(
            DoseAdministration.objects.filter(**sid),
            "dose",
            ref="pk",
            at="started_at",
            at2="stopped_at",
            n1="planned_duration_min",
        ),
        _branch(
            EsketamineDevice.objects.filter(administration__session_id=session_id),
            "device",
            ref="pk",
            at="at",
            n1="number",
        ),
        *(
            []
            if connection.vendor == "sqlite"
            else [
                _branch(
                    VitalSign.objects.filter(**sid),
                    "vital",
                    ref="pk",
                    at="recorded_at",
                    **{f"n{i}": name for i, name in enumerate(_VITAL_NUMBERS, start=1)},
                    n7=_flag("is_baseline"),
                    s1="source",
                    n8=RawSQL(_epoch(_recorded_at()), [], output_field=FloatField()),  # noqa: S611 - no values
                )
            ]
        ),
        _branch(
            ScaleObservation.objects.filter(**sid),
            "scale",
            ref="pk",
            at="observed_at",
            n1="total",
            n6="timepoint_min",
            s1="instrument",
            s2="band",
        ),
        _branch(
            SessionAlert.objects.filter(**sid),
            "alert",
            ref="pk",
            at="raised_at",
            at2="acknowledged_at",
            at3="escalated_at",
            n1="vital_sign_id",
            s1="level",
            s2="code",
            s3="message",
            s4="action",
            s5="action_note",
            s6="acknowledged_by__display_name",
        ),
        _branch(
            AdverseEvent.objects.filter(**sid),
            "event",
            ref="pk",
            at="onset_at",
            n1=_flag("serious"),
            s1="kind",
            s2="severity",
            s3="outcome",
            s4="description",
        ),
        _branch(
            RescueMedication.objects.filter(**sid),
            "rescue",
            ref="pk",
            at="given_at",
            n1="dose",
            n2="adverse_event_id",
            n3="alert_id",
            s1="medication",
            s2="unit",
            s3="route",
        ),
        _branch(
            QuestionnaireResponse.objects.filter(patient_id=patient_id, instrument="phq9"),
            "phq9",
            ref="pk",
            at="completed_at",
            n1="total",
            s1="band",
        ),
        _branch(
            SessionNote.objects.filter(**sid),
            "note",
            ref="pk",
            at="updated_at",
            at2="nurse_signed_at",
            at3="prescriber_signed_at",
            s1="nurse_signed_by__display_name",
            s2="prescriber_signed_by__display_name",
        ),
        _branch(Group.objects.filter(user__pk=user_id or 0), "role", ref="pk", s1="name"),
    ]
    first, *rest = branches
    return first.union(*rest, all=True)


# --- What the rows become ---------------------------------------------------------------------------------------


@dataclass(slots=True)  # hundreds per poll: slots make them cheaper to build and read
class Reading:
    id: int
    at: dt.datetime
    systolic_mmhg: int
    diastolic_mmhg: int
    heart_rate_bpm: int
    spo2_pct: int
    resp_rate_per_min: int | None
    timepoint_min: int | None
    is_baseline: bool
    source: str
    minute: float | None = None


@dataclass
class Scale:
    id: int
    at: dt.datetime
    instrument: str
    total: float
    band: str
    timepoint_min: int | None
    minute: float | None = None

    @property
    def label(self) -> str:
        return str(ScaleObservation.Instrument(self.instrument).label)


@dataclass
class AlertRow:
    id: int
    raised_at: dt.datetime
    acknowledged_at: dt.datetime | None
    escalated_at: dt.datetime | None
    vital_sign_id: int | None
    level: str
    code: str
    message: str
    action: str
    action_note: str
    acknowledged_by: str
    minute: float | None = None
    medications: list[Medication] = field(default_factory=list)

    @property
    def is_open(self) -> bool:
        return self.acknowledged_at is None

    @property
    def action_label(self) -> str:
        return str(SessionAlert.Action(self.action).label) if self.action else ""


@dataclass
class Medication:
    id: int
    given_at: dt.datetime
    dose: float
    adverse_event_id: int | None
    alert_id: int | None
    medication: str
    unit: str
    route: str


@dataclass
class Event:
    id: int
    onset_at: dt.datetime
    serious: bool
    kind: str
    severity: str
    outcome: str
    description: str
    medications: list[Medication] = field(default_factory=list)

    @property
    def kind_label(self) -> str:
        return str(AdverseEvent.Kind(self.kind).label)

    @property
    def outcome_label(self) -> str:
        return str(AdverseEvent.Outcome(self.outcome).label)


@dataclass
class NoteHeader:
    updated_at: dt.datetime
    nurse_signed_at: dt.datetime | None
    prescriber_signed_at: dt.datetime | None
    nurse_signed_by: str
    prescriber_signed_by: str


@dataclass
class Panel:
    """The monitoring panel's data for one session at ``now``."""

    session_id: int
    state: str
    version: int
    site_id: int
    route: str
    now: dt.datetime
    start: dt.datetime | None = None
    stopped_at: dt.datetime | None = None
    planned_min: float | None = None
    #: Every reading as the query gives it, in time order: a row per reading (fields :data:`V_ID` …; numbers may be
    #: floats). The chart reads these directly; :class:`Reading` objects are built only for readings shown one by one.
    vitals: list[Sequence[Any]] = field(default_factory=list)
    in_session_count: int = 0
    scales: list[Scale] = field(default_factory=list)
    alerts: list[AlertRow] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    phq9: list[tuple[dt.datetime, float, str]] = field(default_factory=list)
    note: NoteHeader | None = None
    roles: list[str] = field(default_factory=list)
    timeline: monitoring.Timeline | None = None

    def reading(self, row: Sequence[Any]) -> Reading:
        """One of :attr:`vitals` as a :class:`Reading` (its time parsed, its minute since the start exact)."""
        at = aware(row[V_AT])
        minute = (at - self.start).total_seconds() / 60 if self.start is not None else None
        return Reading(
            int(row[V_ID]), at, int(row[V_SBP]), int(row[V_DBP]), int(row[V_HR]), int(row[V_SPO2]), _int(row[V_RR]),
            _int(row[V_TIMEPOINT]), bool(row[V_BASELINE]), row[V_SOURCE], minute,
        )  # fmt: skip

    @property
    def readings(self) -> list[Reading]:
        """Every reading as a :class:`Reading`, in time order."""
        return [self.reading(row) for row in self.vitals]

    @property
    def baseline(self) -> Reading | None:
        row = next((r for r in reversed(self.vitals) if r[V_BASELINE]), None)
        return None if row is None else self.reading(row)

    def latest_in_session(self, count: int) -> list[Reading]:
        """The ``count`` latest readings after the baseline, newest first."""
        out: list[Reading] = []
        for row in reversed(self.vitals):
            if len(out) == count:
                break
            if not row[V_BASELINE]:
                out.append(self.reading(row))
        return out

    @property
    def last(self) -> Reading | None:
        return self.reading(self.vitals[-1]) if self.vitals else None

    @property
    def open_alerts(self) -> list[AlertRow]:
        """Open alerts, urgent and oldest first."""
        return sorted((a for a in self.alerts if a.is_open), key=lambda a: (a.level != "urgent", a.raised_at, a.id))

    @property
    def acknowledged_alerts(self) -> list[AlertRow]:
        return [a for a in self.alerts if not a.is_open]


_VITAL_ORDER = itemgetter(V_AT, V_ID)


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def build_panel(rows: Sequence[Sequence[Any]], *, now: dt.datetime | None = None) -> Panel | None:
    """Turn the rows of :func:`panel_query` or :func:`panel_rows` into a :class:`Panel` (None when the session row is
    missing). Times are made aware here, and only in the columns each kind of row uses."""
    now = now or timezone.now()
    by_kind: dict[str, list[Sequence[Any]]] = {}
    for row in rows:
        by_kind.setdefault(row[0], []).append(row)
    header = by_kind.get("session")
    if not header:
        return None
    _, ref, _, _, _, version, site_id, *_n, state, route, vitals_json, _s4, _s5, _s6, _n8 = header[0]
    panel = Panel(int(ref), state, int(version), int(site_id), route, now)
    for _, _, started, stopped, _, planned, *_ in by_kind.get("dose", []):
        panel.start, panel.stopped_at, panel.planned_min = aware(started), aware(stopped), planned
    devices = sorted(aware(r[2]) for r in by_kind.get("device", []))
    if route == "esketamine_nasal" and devices:
        panel.start = devices[0]
    # Sorted by time text (fixed-width UTC, so text order is time order) and id, whatever order the JSON came in.
    vitals = by_kind.get("vital") or (orjson.loads(vitals_json) if vitals_json else [])
    panel.vitals = sorted(vitals, key=_VITAL_ORDER)
    for r in by_kind.get("scale", []):
        panel.scales.append(Scale(int(r[1]), aware(r[2]), r[12], float(r[5]), r[13] or "", _int(r[10])))
    meds = [
        Medication(int(r[1]), aware(r[2]), float(r[5]), _int(r[6]), _int(r[7]), r[12], r[13], r[14])
        for r in by_kind.get("rescue", [])
    ]
    for r in by_kind.get("alert", []):
        alert = AlertRow(
            int(r[1]),
            aware(r[2]),
            aware(r[3]),
            aware(r[4]),
            _int(r[5]),
            r[12],
            r[13],
            r[14],
            r[15] or "",
            r[16] or "",
            r[17] or "",
        )
        alert.medications = [m for m in meds if m.alert_id == alert.id]
        panel.alerts.append(alert)
    for r in by_kind.get("event", []):
        event = Event(int(r[1]), aware(r[2]), bool(r[5]), r[12], r[13], r[14], r[15] or "")
        event.medications = [m for m in meds if m.adverse_event_id == event.id]
        panel.events.append(event)
    panel.phq9 = sorted((aware(r[2]), float(r[5]), r[12] or "") for r in by_kind.get("phq9", []) if r[5] is not None)[
        -PHQ9_HISTORY:
    ]
    for r in by_kind.get("note", []):
        panel.note = NoteHeader(aware(r[2]), aware(r[3]), aware(r[4]), r[12] or "", r[13] or "")
    panel.roles = sorted(r[12] for r in by_kind.get("role", []))
    panel.scales.sort(key=attrgetter("at", "id"))
    panel.alerts.sort(key=attrgetter("raised_at", "id"))
    panel.events.sort(key=attrgetter("onset_at", "id"))
    for scale in panel.scales:
        scale.minute = monitoring.minutes_since(panel.start, scale.at)
    for alert in panel.alerts:
        alert.minute = monitoring.minutes_since(panel.start, alert.raised_at)
    done: dict[int, set[Due]] = {}
    for row in panel.vitals:
        if row[V_BASELINE]:
            done.setdefault(0, set()).add(Due.VITALS)
            continue
        panel.in_session_count += 1
        if row[V_TIMEPOINT] is not None:
            done.setdefault(int(row[V_TIMEPOINT]), set()).add(Due.VITALS)
    for scale in panel.scales:
        due = monitoring.SCALE_DUE.get(scale.instrument)
        if due is not None and scale.timepoint_min is not None:
            done.setdefault(scale.timepoint_min, set()).add(due)
    length = monitoring.infusion_minutes(route, panel.start, panel.stopped_at, panel.planned_min)
    panel.timeline = monitoring.timeline_for(route, panel.start, length, done, now=now)
    return panel


def panel_rows(session_id: int, patient_id: int, site_ids: Iterable[int], user_id: int | None) -> list[tuple[Any, ...]]:
    """The rows of :func:`panel_query` for these ids, run from its SQL composed once per database and number of
    sites (:class:`~ketaclinic.typed_union.TypedUnion`), times as the driver gives them: :func:`build_panel` makes
    the ones it uses aware."""
    return UNION.driver_rows(
        panel_query, session_id=session_id, patient_id=patient_id, site_ids=list(site_ids), user_id=user_id or 0
    )


def load_panel(
    session_id: int, patient_id: int, site_ids: Iterable[int], user_id: int | None, *, now: dt.datetime | None = None
) -> Panel | None:
    """The panel of session ``session_id`` of patient ``patient_id`` at one of ``site_ids`` (one query), or None."""
    return build_panel(panel_rows(session_id, patient_id, site_ids, user_id), now=now)


def phq9_points(panel: Panel) -> list[dict[str, Any]]:
    """The PHQ-9 history as the template lists it (date, total, band)."""
    return [{"at": at, "total": int(total), "band": band} for at, total, band in panel.phq9]
