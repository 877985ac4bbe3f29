"""The day board: every dosing appointment of a site's day, by chair, with where each patient is in the session day.

Read in a fixed handful of queries whatever the number of sessions (the appointments with their session, dose and
REMS form joined; the latest vital signs; the open alerts; the open suicide-risk tasks), then put together in Python.
Nothing here decides anything clinical: states come from the session, escalation timing from
``clinical.alert_escalation_due`` and REMS due dates from ``clinical.rems_due_date``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db.models import OuterRef, Subquery
from django.utils import timezone

from ketaclinic.accounts.clinic_policy import clinic_policy
from ketaclinic.accounts.models import Site
from ketaclinic.clinical import ClinicPolicy, alert_escalation_due, rems_due_date
from ketaclinic.dosing.models import DosingSession, SessionAlert, SessionState, VitalSign
from ketaclinic.scheduling.models import Appointment
from ketaclinic.tasks.models import Task

S = SessionState

#: States timed from arrival (check-in) and states timed from the start of the dose.
SINCE_CHECK_IN = frozenset({S.CHECKED_IN, S.CLEARED, S.REVIEW, S.ON_HOLD})
SINCE_DOSE = frozenset({S.DOSING, S.MONITORING, S.READY_FOR_DISCHARGE})
#: States in which the patient is no longer in the clinic (or never came): shown dimmed, not timed.
FINISHED = frozenset({S.DISCHARGED, S.CANCELLED, S.NO_SHOW})
#: Badge colour of each state (the house classes ok / warn / danger; none is neutral).
TONE: dict[str, str] = {
    S.BOOKED: "",
    S.CHECKED_IN: "",
    S.CLEARED: "ok",
    S.REVIEW: "warn",
    S.ON_HOLD: "danger",
    S.DOSING: "warn",
    S.MONITORING: "warn",
    S.READY_FOR_DISCHARGE: "ok",
    S.DISCHARGED: "",
    S.CANCELLED: "",
    S.NO_SHOW: "",
}
NO_CHAIR = "No chair assigned"


@dataclass
class AlertSummary:
    """The open (unacknowledged) alerts of one session: how many, the most urgent, and whether any is escalated."""

    count: int = 0
    top: SessionAlert | None = None
    escalated: bool = False
    escalation_due: bool = False

    @property
    def stands_out(self) -> bool:
        return self.escalated or self.escalation_due


@dataclass
class BoardRow:
    """One dosing appointment on the board, with its session if one is open."""

    appointment: Appointment
    session: DosingSession | None
    state: str
    state_label: str
    tone: str
    elapsed_min: int | None
    elapsed_from: str
    latest_vitals: VitalSign | None
    alerts: AlertSummary
    risk_tasks: list[Task]
    responsible: Any
    rems_due_on: dt.date | None
    late: bool

    @property
    def patient(self) -> Any:
        return self.appointment.patient

    @property
    def initials(self) -> str:
        """What a wall screen shows instead of a name (minimum necessary: first letters of first and last name)."""
        patient = self.patient
        first = (patient.preferred_name or patient.legal_first_name)[:1]
        return f"{first}{patient.legal_last_name[:1]}".upper()

    @property
    def finished(self) -> bool:
        return self.state in FINISHED

    @property
    def elapsed(self) -> str:
        if self.elapsed_min is None:
            return ""
        hours, minutes = divmod(self.elapsed_min, 60)
        return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"


@dataclass
class Chair:
    name: str
    rows: list[BoardRow] = field(default_factory=list)


@dataclass
class Board:
    site: Site
    day: dt.date
    now: dt.datetime
    chairs: list[Chair]

    @property
    def rows(self) -> list[BoardRow]:
        return [row for chair in self.chairs for row in chair.rows]

    @property
    def session_ids(self) -> list[int]:
        return sorted(row.session.pk for row in self.rows if row.session is not None)

    def count(self, *states: str) -> int:
        return sum(1 for row in self.rows if row.state in states)

    @property
    def in_clinic(self) -> int:
        return sum(1 for row in self.rows if row.state in SINCE_CHECK_IN | SINCE_DOSE)

    @property
    def open_alerts(self) -> int:
        return sum(row.alerts.count for row in self.rows)


def day_bounds(site: Site, day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """Local midnight to local midnight at the site (23 or 25 hours long on DST days)."""
    zone = site.zone
    return (
        dt.datetime.combine(day, dt.time(0), tzinfo=zone),
        dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=zone),
    )


def _natural(name: str) -> list[Any]:
    """Sort "Chair 2" before "Chair 10"."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", name)]


def _minutes(since: dt.datetime | None, now: dt.datetime) -> int | None:
    if since is None:
        return None
    return max(0, int((now - since).total_seconds() // 60))


def _summarise(alerts: list[SessionAlert], now: dt.datetime, policy: ClinicPolicy) -> AlertSummary:
    if not alerts:
        return AlertSummary()
    # Urgent before warning, then the oldest first (it has waited longest).
    ordered = sorted(alerts, key=lambda a: (a.level != SessionAlert.Level.URGENT, a.raised_at, a.pk))
    return AlertSummary(
        count=len(alerts),
        top=ordered[0],
        escalated=any(a.escalated_at is not None for a in alerts),
        escalation_due=any(
            a.escalated_at is None and alert_escalation_due(a.raised_at, max(now, a.raised_at), policy=policy)
            for a in alerts
        ),
    )


def _rems_due(session: DosingSession | None, day: dt.date, policy: ClinicPolicy) -> dt.date | None:
    """The REMS monitoring form's due date while it is still to be submitted (esketamine sessions that were dosed)."""
    if session is None or not session.is_esketamine:
        return None
    form = getattr(session, "rems_form", None)
    if form is not None:
        return None if form.submitted_at else form.due_on
    if session.state in SINCE_DOSE or session.state == S.DISCHARGED:
        return rems_due_date(day, policy=policy)
    return None


def day_board(site: Site, day: dt.date | None = None, *, now: dt.datetime | None = None) -> Board:
    """The board of ``site`` for ``day`` (default: today at the site), at ``now`` (default: the clock)."""
    now = now or timezone.now()
    day = day or now.astimezone(site.zone).date()
    policy = clinic_policy(site)
    lo, hi = day_bounds(site, day)
    latest = VitalSign.objects.filter(session=OuterRef("dosing_session")).order_by("-recorded_at", "-id")
    appointments = list(
        Appointment.objects.filter(site=site, starts_at__gte=lo, starts_at__lt=hi, appointment_type__is_dosing=True)
        .select_related(
            "patient",
            "appointment_type",
            "resource",
            "staff",
            "dosing_session__checked_in_by",
            "dosing_session__administration",
            "dosing_session__rems_form",
            "dosing_session__discharge",
        )
        .annotate(latest_vital_id=Subquery(latest.values("pk")[:1]))
        .order_by("starts_at", "pk")
    )
    sessions = {a.pk: getattr(a, "dosing_session", None) for a in appointments}
    session_ids = [s.pk for s in sessions.values() if s is not None]
    vitals = VitalSign.objects.in_bulk([a.latest_vital_id for a in appointments if a.latest_vital_id])
    open_alerts: dict[int, list[SessionAlert]] = defaultdict(list)
    if session_ids:
        for alert in SessionAlert.objects.filter(session_id__in=session_ids, acknowledged_at__isnull=True):
            open_alerts[alert.session_id].append(alert)
    risk: dict[int, list[Task]] = defaultdict(list)
    patient_ids = {a.patient_id for a in appointments}
    if patient_ids:
        for task in Task.objects.open().filter(kind=Task.Kind.SUICIDE_RISK, patient_id__in=patient_ids):
            risk[task.patient_id].append(task)

    chairs: dict[str, Chair] = {}
    for appointment in appointments:
        session = sessions[appointment.pk]
        state = session.state if session is not None else S.BOOKED
        if session is None and appointment.status in (Appointment.Status.CANCELLED, Appointment.Status.NO_SHOW):
            state = str(appointment.status)
        since, since_what = None, ""
        if session is not None and state in SINCE_CHECK_IN:
            since, since_what = session.checked_in_at, "since check-in"
        elif session is not None and state in SINCE_DOSE:
            administration = getattr(session, "administration", None)
            since, since_what = (administration.started_at, "since dose start") if administration else (None, "")
        responsible = appointment.staff or (session.checked_in_by if session is not None else None)
        label, tone = str(S(state).label), TONE[state]
        departed = getattr(session, "discharge", None) if state == S.DISCHARGED else None
        if departed is not None and departed.is_departure:
            # "Left against medical advice" / "Transferred to emergency care" instead of "Discharged".
            label, tone = departed.get_disposition_display(), "danger"
        row = BoardRow(
            appointment=appointment,
            session=session,
            state=state,
            state_label=label,
            tone=tone,
            elapsed_min=_minutes(since, now),
            elapsed_from=since_what,
            latest_vitals=vitals.get(appointment.latest_vital_id) if appointment.latest_vital_id else None,
            alerts=_summarise(open_alerts.get(session.pk, []) if session else [], now, policy),
            risk_tasks=risk.get(appointment.patient_id, []),
            responsible=responsible,
            rems_due_on=_rems_due(session, day, policy),
            late=state == S.BOOKED and appointment.starts_at < now,
        )
        name = appointment.resource.name if appointment.resource else NO_CHAIR
        chairs.setdefault(name, Chair(name)).rows.append(row)
    ordered = sorted(chairs.values(), key=lambda c: (c.name == NO_CHAIR, _natural(c.name)))
    return Board(site=site, day=day, now=now, chairs=ordered)
