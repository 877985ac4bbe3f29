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
from operator import attrgetter
from typing import Any

from django.contrib.auth.models import Group
from django.db.models import Case, FloatField, QuerySet, Value, When
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

COLUMNS = ("kind", "ref", "at", "at2", "at3", *(f"n{i}" for i in range(1, 8)), *(f"s{i}" for i in range(1, 7)))
UNION = TypedUnion(COLUMNS)
_branch = UNION.branch
#: How many PHQ-9 scores the panel shows (newest last).
PHQ9_HISTORY = 12


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
        _branch(
            VitalSign.objects.filter(**sid),
            "vital",
            ref="pk",
            at="recorded_at",
            n1="systolic_mmhg",
            n2="diastolic_mmhg",
            n3="heart_rate_bpm",
            n4="spo2_pct",
            n5="resp_rate_per_min",
            n6="timepoint_min",
            n7=_flag("is_baseline"),
            s1="source",
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
    readings: list[Reading] = field(default_factory=list)
    scales: list[Scale] = field(default_factory=list)
    alerts: list[AlertRow] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    phq9: list[tuple[dt.datetime, float, str]] = field(default_factory=list)
    note: NoteHeader | None = None
    roles: list[str] = field(default_factory=list)
    timeline: monitoring.Timeline | None = None

    @property
    def baseline(self) -> Reading | None:
        return next((r for r in reversed(self.readings) if r.is_baseline), None)

    @property
    def in_session(self) -> list[Reading]:
        return [r for r in self.readings if not r.is_baseline]

    @property
    def last(self) -> Reading | None:
        return self.readings[-1] if self.readings else None

    @property
    def open_alerts(self) -> list[AlertRow]:
        """Open alerts, urgent and oldest first."""
        return sorted((a for a in self.alerts if a.is_open), key=lambda a: (a.level != "urgent", a.raised_at, a.id))

    @property
    def acknowledged_alerts(self) -> list[AlertRow]:
        return [a for a in self.alerts if not a.is_open]


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
    _, ref, _, _, _, version, site_id, *_n, state, route, _s3, _s4, _s5, _s6 = header[0]
    panel = Panel(int(ref), state, int(version), int(site_id), route, now)
    for _, _, started, stopped, _, planned, *_ in by_kind.get("dose", []):
        panel.start, panel.stopped_at, panel.planned_min = aware(started), aware(stopped), planned
    devices = sorted(aware(r[2]) for r in by_kind.get("device", []))
    if route == "esketamine_nasal" and devices:
        panel.start = devices[0]
    panel.readings = [
        Reading(
            int(r[1]), aware(r[2]), int(r[5]), int(r[6]), int(r[7]), int(r[8]),
            None if r[9] is None else int(r[9]), None if r[10] is None else int(r[10]), bool(r[11]), r[12],
        )
        for r in by_kind.get("vital", ())
    ]  # fmt: skip
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
    panel.readings.sort(key=attrgetter("at", "id"))
    panel.scales.sort(key=attrgetter("at", "id"))
    panel.alerts.sort(key=attrgetter("raised_at", "id"))
    panel.events.sort(key=attrgetter("onset_at", "id"))
    if panel.start is not None:
        start = panel.start
        for reading in panel.readings:
            reading.minute = (reading.at - start).total_seconds() / 60
    for scale in panel.scales:
        scale.minute = monitoring.minutes_since(panel.start, scale.at)
    for alert in panel.alerts:
        alert.minute = monitoring.minutes_since(panel.start, alert.raised_at)
    done: dict[int, set[Due]] = {}
    for reading in panel.readings:
        if reading.is_baseline:
            done.setdefault(0, set()).add(Due.VITALS)
        elif reading.timepoint_min is not None:
            done.setdefault(reading.timepoint_min, set()).add(Due.VITALS)
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
