"""Monitoring during and after the dose: in-session vital signs on the protocol's timepoints, timed scales, alerts
with acknowledgement and escalation, and adverse events.

Rules come from the clinical core (``clinical.monitoring_timepoints``, ``evaluate_vitals``, ``sedation_alert``,
``alert_escalation_due``, ``score``); this module stores what happened and audits it (identifiers only).

Observations (vital signs, scale ratings, adverse events) are appended and never overwrite anything, so they do not
bump the session's ``version``: a second nurse's screen stays valid while the bedside monitor streams. They still
honour a ``version`` the caller passes (a screen loaded before the dose stopped is refused with 409). Each carries an
optional ``client_token`` from its form, so a resent form (double tap, a connection that came back) stores once.
Acknowledging an alert changes an existing row: it bumps the version, and an alert acknowledged by someone else is
refused rather than overwritten.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils import timezone

from ketaclinic import clinical
from ketaclinic.accounts.clinic_policy import clinic_policy
from ketaclinic.accounts.roles import Perm
from ketaclinic.audit.actions import record
from ketaclinic.audit.models import AuditEvent
from ketaclinic.clinical import Due
from ketaclinic.dosing.actions import (
    REQUIRED_VITALS,
    STORED_VITALS,
    DosingError,
    StaleSessionError,
    _audit,
    _from_core,
    _locked,
    _require,
    _save,
    latest_baseline,
)
from ketaclinic.dosing.models import (
    AdverseEvent,
    DosingSession,
    RescueMedication,
    ScaleObservation,
    SessionAlert,
    SessionState,
    VitalSign,
)
from ketaclinic.tasks.actions import close_task, raise_task
from ketaclinic.tasks.models import Task

Action = AuditEvent.Action
S = SessionState
#: States in which the patient is being monitored (the panel is writable); after discharge it is read-only.
MONITOR_STATES = frozenset({S.DOSING, S.MONITORING, S.READY_FOR_DISCHARGE})
#: What a scale fulfils on the timeline (Aldrete and PADSS are discharge scores, not timepoint scales).
SCALE_DUE: dict[str, Due] = {"moaas": Due.MOAAS, "cadss": Due.CADSS, "cadss6": Due.CADSS}
MAX_TOKEN = 40
#: How far back a typed time may go (a reading copied from paper), and how far a resend may lag.
MAX_BACKDATE = dt.timedelta(hours=12)
ESCALATION_SOURCE = "dosing.sessionalert"
AE_SOURCE = "dosing.adverseevent"


# --- The timeline -----------------------------------------------------------------------------------------------


def dose_start(session: DosingSession) -> dt.datetime | None:
    """When the dose started (timepoints count from here): the first esketamine device, else the administration's
    start; ``None`` before a dose is recorded."""
    administration = getattr(session, "administration", None)
    if administration is None:
        return None
    if session.is_esketamine:
        first = min((d.at for d in administration.devices.all()), default=None)
        if first is not None:
            return first
    started: dt.datetime = administration.started_at
    return started


def infusion_minutes(
    route: str, started_at: dt.datetime | None, stopped_at: dt.datetime | None, planned_min: Any
) -> float:
    """The dose's own length in minutes: an IV infusion's (as given once stopped, else as planned); 0 otherwise."""
    if started_at is None or route != "iv":
        return 0.0
    if stopped_at is not None:
        return min(600.0, max(0.0, (stopped_at - started_at).total_seconds() / 60))
    return min(600.0, float(planned_min or 0))


def dose_minutes(session: DosingSession) -> float:
    """The session's dose length in minutes (:func:`infusion_minutes` of its administration)."""
    administration = getattr(session, "administration", None)
    if administration is None:
        return 0.0
    return infusion_minutes(
        session.route, administration.started_at, administration.stopped_at, administration.planned_duration_min
    )


def schedule(session: DosingSession, policy: clinical.ClinicPolicy | None = None) -> tuple[clinical.Timepoint, ...]:
    """The session's protocol timepoints (``clinical.monitoring_timepoints`` for its route and dose length)."""
    return clinical.monitoring_timepoints(
        session.route, dose_minutes=dose_minutes(session), policy=policy or clinic_policy(session.site)
    )


def fulfilled(vitals: Iterable[VitalSign], observations: Iterable[ScaleObservation]) -> dict[int, set[Due]]:
    """What has been recorded for each timepoint minute: a baseline fulfils the pre-dose timepoint (minute 0)."""
    done: dict[int, set[Due]] = {}
    for sign in vitals:
        if sign.is_baseline:
            done.setdefault(0, set()).add(Due.VITALS)
        elif sign.timepoint_min is not None:
            done.setdefault(sign.timepoint_min, set()).add(Due.VITALS)
    for obs in observations:
        due = SCALE_DUE.get(obs.instrument)
        if due is not None and obs.timepoint_min is not None:
            done.setdefault(obs.timepoint_min, set()).add(due)
    return done


def minutes_since(start: dt.datetime | None, at: dt.datetime) -> float | None:
    return None if start is None else (at - start).total_seconds() / 60


@dataclass(frozen=True)
class Timeline:
    """The session's timepoints with their state at ``now`` (minutes since the dose start), for the panel."""

    start: dt.datetime | None
    minute_now: float | None
    statuses: tuple[clinical.TimepointStatus, ...]

    @property
    def overdue(self) -> list[clinical.TimepointStatus]:
        return [s for s in self.statuses if s.state == clinical.TimepointState.OVERDUE]


def timeline(
    session: DosingSession,
    vitals: Iterable[VitalSign],
    observations: Iterable[ScaleObservation],
    *,
    now: dt.datetime | None = None,
) -> Timeline:
    """Each timepoint done, upcoming, due or overdue now (all upcoming before the dose starts)."""
    return timeline_for(
        session.route, dose_start(session), dose_minutes(session), fulfilled(vitals, observations), now=now
    )


def timeline_for(
    route: str,
    start: dt.datetime | None,
    length_min: float,
    done: Mapping[int, Iterable[Due]],
    *,
    now: dt.datetime | None = None,
    policy: clinical.ClinicPolicy | None = None,
) -> Timeline:
    """:func:`timeline` from plain values (the monitor fragment reads them in one query)."""
    policy = policy or clinic_policy(None)
    minute = minutes_since(start, now or timezone.now())
    clamped = -1.0e3 if minute is None else max(-1.0e3, min(minute, 1.4e3))
    try:
        plan = clinical.monitoring_timepoints(route, dose_minutes=length_min, policy=policy)
    except ValueError:
        plan = ()  # a session without a known route has no protocol schedule (the page must still open)
    statuses = clinical.timepoint_status(plan, minute_now=clamped, fulfilled=done, policy=policy)
    return Timeline(start, minute, tuple(statuses))


def _match(session: DosingSession, what: Due, at: dt.datetime) -> int | None:
    start = dose_start(session)
    minute = minutes_since(start, at)
    if minute is None:
        return None
    policy = clinic_policy(session.site)
    done = fulfilled(session.vitals.all(), session.observations.all())
    return clinical.match_timepoint(
        schedule(session, policy), what, minute=max(-1.0e3, min(minute, 1.4e3)), fulfilled=done, policy=policy
    )


def open_alerts_at(site_ids: Iterable[int]) -> list[SessionAlert]:
    """Open alerts of sessions being monitored at these sites, urgent and oldest first (for the day board)."""
    rows = SessionAlert.objects.filter(
        acknowledged_at__isnull=True, session__site_id__in=list(site_ids), session__state__in=MONITOR_STATES
    ).select_related("session__patient")
    return sorted(rows, key=lambda a: (a.level != SessionAlert.Level.URGENT, a.raised_at, a.pk))


# --- Shared checks ----------------------------------------------------------------------------------------------


def _monitoring(session: DosingSession, what: str) -> None:
    if session.state not in MONITOR_STATES:
        raise DosingError("state", f"{what} are recorded from the dose until discharge (now {session.state})")


def _token(client_token: str) -> str:
    token = (client_token or "").strip()
    if len(token) > MAX_TOKEN:
        raise DosingError("client_token", f"at most {MAX_TOKEN} characters")
    return token


def _taken_at(field: str, value: Any, now: dt.datetime) -> dt.datetime:
    """A time an observation was taken: now when not given; never in the future nor more than 12 h back."""
    if value is None:
        return now
    if not isinstance(value, dt.datetime) or value.utcoffset() is None:
        raise DosingError(field, "a date and time is needed")
    if value > now:
        raise DosingError(field, "cannot be in the future")
    if value < now - MAX_BACKDATE:
        raise DosingError(field, "at most 12 hours ago")
    return value


def _open_codes(session: DosingSession) -> set[tuple[str, str]]:
    return set(session.alerts.filter(acknowledged_at__isnull=True).values_list("code", "level"))


def _raise_alerts(
    session: DosingSession, alerts: Iterable[clinical.Alert], by: Any, at: dt.datetime, **source: Any
) -> list[SessionAlert]:
    """Store the alerts, except one whose code and level are already open (it stands until acknowledged), so a
    monitor streaming the same high reading every 15 s does not bury the screen in duplicates."""
    open_now = _open_codes(session)
    created = []
    for alert in alerts:
        key = (alert.code, alert.level.value)
        if key in open_now:
            continue
        open_now.add(key)
        row = SessionAlert.objects.create(
            session=session,
            code=alert.code,
            level=alert.level.value,
            message=alert.message[:400],
            citations=[str(c) for c in alert.citations],
            raised_at=at,
            **source,
        )
        _audit(Action.CREATE, row, session, by, level=row.level, code=row.code)
        created.append(row)
    return created


def _current(session: DosingSession, version: int | None) -> None:
    """:class:`StaleSessionError` if ``version`` is given and out of date (checked after a resend is recognised, so
    a form resent after someone else saved still stores once instead of answering 409)."""
    if version is not None and int(version) != session.version:
        raise StaleSessionError(session)


def _existing(model: type[Any], session: DosingSession, token: str) -> Any:
    return model.objects.filter(session=session, client_token=token).first() if token else None


# --- Vital signs ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Recorded:
    """What an observation action stored (``created`` is false for a resent form) and the alerts it raised."""

    row: Any
    alerts: tuple[SessionAlert, ...]
    created: bool = True


@transaction.atomic
def record_session_vitals(
    session: DosingSession,
    *,
    by: Any,
    vitals: Mapping[str, Any],
    source: str = VitalSign.Source.TYPED,
    taken_at: dt.datetime | None = None,
    client_token: str = "",
    version: int | None = None,
) -> Recorded:
    """Store one set of in-session vital signs, match it to the nearest open timepoint and raise its alerts.

    Systolic, diastolic, heart rate and SpO2 are required, respiratory rate optional. An implausible reading (SBP
    400, SpO2 120, HR 0) is refused with :class:`DosingError` naming the field and the allowed range; a plausible
    but alarming one is stored and raises alerts from ``clinical.evaluate_vitals`` against the latest baseline. A
    resent form with the same ``client_token`` returns the row already stored (``created`` false).
    """
    _require(by, Perm.RECORD_SESSION)
    session = _locked(session, None)
    token = _token(client_token)
    existing = _existing(VitalSign, session, token)
    if existing is not None:
        return Recorded(existing, (), created=False)
    _current(session, version)
    _monitoring(session, "in-session vital signs")
    given = {k: v for k, v in vitals.items() if v not in (None, "")}
    for name in given:
        if name not in STORED_VITALS:
            raise DosingError(name, f"not a vital sign of this form; use {', '.join(STORED_VITALS)}")
    for vital in REQUIRED_VITALS:
        if vital not in given:
            raise DosingError(vital, "required")
    try:
        checked = clinical.validate_vitals(given)
    except ValueError as error:
        raise _from_core(error) from error
    for vital, value in checked.items():
        if value != int(value):
            raise DosingError(vital, "a whole number")
    if source not in VitalSign.Source.values:
        raise DosingError("source", f"one of {', '.join(VitalSign.Source.values)}")
    now = timezone.now()
    at = _taken_at("taken_at", taken_at, now)
    sign = VitalSign.objects.create(
        session=session,
        recorded_at=at,
        recorded_by=by,
        source=source,
        is_baseline=False,
        timepoint_min=_match(session, Due.VITALS, at),
        client_token=token,
        **{str(vital): int(value) for vital, value in checked.items()},
    )
    _audit(Action.CREATE, sign, session, by, timepoint_min=sign.timepoint_min)
    baseline = latest_baseline(session)
    policy = clinic_policy(session.site)
    found = clinical.evaluate_vitals(baseline.as_mapping() if baseline else {}, sign.as_mapping(), policy=policy)
    alerts = _raise_alerts(session, found, by, now, vital_sign=sign)
    return Recorded(sign, tuple(alerts))


# --- Timed scales -----------------------------------------------------------------------------------------------


@transaction.atomic
def record_scale(
    session: DosingSession,
    *,
    by: Any,
    instrument: str,
    answers: Mapping[str, Any],
    taken_at: dt.datetime | None = None,
    client_token: str = "",
    version: int | None = None,
) -> Recorded:
    """Store a MOAA/S, CADSS, CADSS-6, modified Aldrete or PADSS rating scored by ``clinical.score``.

    MOAA/S and CADSS match the nearest open timepoint; a MOAA/S raises ``clinical.sedation_alert``'s alert. Invalid
    answers are refused with :class:`DosingError` naming the item and its allowed values.
    """
    _require(by, Perm.RECORD_SESSION)
    session = _locked(session, None)
    token = _token(client_token)
    existing = _existing(ScaleObservation, session, token)
    if existing is not None:
        return Recorded(existing, (), created=False)
    _current(session, version)
    _monitoring(session, "scales")
    if instrument not in ScaleObservation.Instrument.values:
        raise DosingError("instrument", f"one of {', '.join(ScaleObservation.Instrument.values)}")
    policy = clinic_policy(session.site)
    try:
        scored = clinical.score(instrument, dict(answers), policy=policy)
    except ValueError as error:
        raise _from_core(error) from error
    assert scored.total is not None  # every item of the five session scales is required
    now = timezone.now()
    at = _taken_at("taken_at", taken_at, now)
    due = SCALE_DUE.get(instrument)
    observation = ScaleObservation.objects.create(
        session=session,
        instrument=instrument,
        answers=dict(scored.answers),
        total=Decimal(str(scored.total)),
        band=(scored.band or "")[:40],
        timepoint_min=_match(session, due, at) if due is not None else None,
        observed_at=at,
        observed_by=by,
        client_token=token,
    )
    _audit(Action.CREATE, observation, session, by, instrument=instrument, timepoint_min=observation.timepoint_min)
    alerts: list[SessionAlert] = []
    if instrument == "moaas":
        alert = clinical.sedation_alert(int(scored.total), policy=policy)
        alerts = _raise_alerts(session, [alert] if alert else [], by, now, observation=observation)
    return Recorded(observation, tuple(alerts))


# --- Alerts -----------------------------------------------------------------------------------------------------


def _rescue(
    session: DosingSession, by: Any, given: Mapping[str, Any], now: dt.datetime, **link: Any
) -> RescueMedication:
    """A rescue medication row from ``{medication, dose, unit, route, given_at?}``, checked."""
    name = str(given.get("medication") or "").strip()
    if not name:
        raise DosingError("medication", "name the medication given")
    if len(name) > 80:
        raise DosingError("medication", "at most 80 characters")
    try:
        amount = Decimal(str(given.get("dose")))
    except (InvalidOperation, ValueError):
        raise DosingError("medication_dose", "a number above 0 and at most 10000") from None
    if not amount.is_finite() or not 0 < amount <= 10000:
        raise DosingError("medication_dose", "a number above 0 and at most 10000")
    unit = str(given.get("unit") or "mg").strip()
    if unit not in RESCUE_UNITS:
        raise DosingError("medication_unit", f"one of {', '.join(RESCUE_UNITS)}")
    route = str(given.get("route") or "").strip()
    if route not in RESCUE_ROUTES:
        raise DosingError("medication_route", f"one of {', '.join(RESCUE_ROUTES)}")
    at = _taken_at("medication_given_at", given.get("given_at"), now)
    row = RescueMedication.objects.create(
        session=session,
        medication=name,
        dose=amount.quantize(Decimal("0.01")),
        unit=unit,
        route=route,
        given_at=at,
        given_by=by,
        **link,
    )
    _audit(Action.CREATE, row, session, by)
    return row


#: Units and routes a rescue medication may be recorded in.
RESCUE_UNITS = ("mg", "mcg", "mL", "L/min", "units")
RESCUE_ROUTES = ("iv", "im", "po", "sl", "in", "sc", "inhaled")


#: Actions that only make sense while an infusion runs.
INFUSION_ACTIONS = frozenset({SessionAlert.Action.INFUSION_SLOWED, SessionAlert.Action.INFUSION_STOPPED})


def actions_for(route: str) -> list[str]:
    """The acknowledgement actions that fit a session of ``route`` (infusion ones only for IV)."""
    return [a for a in SessionAlert.Action.values if route == "iv" or a not in INFUSION_ACTIONS]


@transaction.atomic
def acknowledge_alert(
    alert: SessionAlert,
    *,
    by: Any,
    action: str,
    note: str,
    medication: Mapping[str, Any] | None = None,
    version: int | None = None,
) -> SessionAlert:
    """Acknowledge an open alert with the action taken and a note (both required).

    ``medication_given`` needs the medication (``{medication, dose, unit, route}``), stored as a
    :class:`RescueMedication` linked to the alert. An alert already acknowledged is refused with the name of who
    did it (never overwritten). An escalation task still open is closed with the acknowledgement.
    """
    _require(by, Perm.RECORD_SESSION)
    session = _locked(alert.session, None)
    fresh = SessionAlert.objects.select_for_update(of=("self",)).select_related("acknowledged_by").get(pk=alert.pk)
    text = (note or "").strip()
    resent = fresh.acknowledged_by_id == getattr(by, "pk", None) and (fresh.action, fresh.action_note) == (action, text)
    if fresh.acknowledged_at is not None and resent:
        return fresh  # the same acknowledgement sent again (a double tap, a connection that came back)
    _current(session, version)
    if fresh.acknowledged_at is not None:
        when = timezone.localtime(fresh.acknowledged_at, session.site.zone)
        raise DosingError("alert", f"already acknowledged by {fresh.acknowledged_by} at {when:%H:%M}")
    allowed = actions_for(session.route)
    if action not in allowed:
        raise DosingError("action", f"choose the action taken: {', '.join(allowed)}")
    if not text:
        raise DosingError("note", "say what was seen and done (1–400 characters)")
    if len(text) > 400:
        raise DosingError("note", "at most 400 characters")
    now = timezone.now()
    if action == SessionAlert.Action.MEDICATION_GIVEN:
        if not medication or not str(medication.get("medication") or "").strip():
            raise DosingError("medication", "name the medication given")
        _rescue(session, by, medication, now, alert=fresh)
    fresh.acknowledged_at, fresh.acknowledged_by = now, by
    fresh.action, fresh.action_note = action, text
    fresh.save(update_fields=["acknowledged_at", "acknowledged_by", "action", "action_note"])
    _save(session)
    _audit(Action.UPDATE, fresh, session, by, event="acknowledged", action_taken=action)
    task = fresh.escalation_task
    if task is not None and task.status == Task.Status.OPEN:
        close_task(task, by=by, resolution=f"Alert acknowledged at the chair: {fresh.get_action_display()}.")
    return fresh


def escalate_alerts(now: dt.datetime | None = None) -> int:
    """Escalate every open alert past ``clinical.alert_escalation_due``: set ``escalated_at`` and raise an urgent task
    for the prescribers on site. Each alert escalates exactly once (the row is re-read under a lock). Returns how
    many escalated."""
    now = now or timezone.now()
    candidates = SessionAlert.objects.filter(
        acknowledged_at__isnull=True,
        escalated_at__isnull=True,
        raised_at__lte=now,
        session__state__in=MONITOR_STATES,
    ).values_list("pk", flat=True)
    return sum(_escalate(pk, now) for pk in list(candidates))


@transaction.atomic
def _escalate(pk: int, now: dt.datetime) -> int:
    alert = (
        SessionAlert.objects.select_for_update(of=("self",))
        .select_related("session__patient__site", "session__site")
        .get(pk=pk)
    )
    session = alert.session
    if alert.acknowledged_at is not None or alert.escalated_at is not None:
        return 0
    if not clinical.alert_escalation_due(alert.raised_at, now, policy=clinic_policy(session.site)):
        return 0
    task = raise_task(
        session.patient,
        kind=Task.Kind.OTHER,
        title=f"Unacknowledged {alert.level} alert in dosing session {session.pk}: {alert.message}",
        priority=Task.Priority.URGENT,
        detail="Not acknowledged at the chair within the clinic's escalation time. A prescriber on site must "
        "assess the patient now.",
        source_type=ESCALATION_SOURCE,
        source_id=alert.pk,
    )
    alert.escalated_at, alert.escalation_task = now, task
    alert.save(update_fields=["escalated_at", "escalation_task"])
    record(
        Action.UPDATE,
        obj=alert,
        patient_id=session.patient_id,
        site=session.site,
        detail={"event": "escalated", "task_id": task.pk},
    )
    return 1


# --- Adverse events ---------------------------------------------------------------------------------------------


@transaction.atomic
def record_adverse_event(
    session: DosingSession,
    *,
    by: Any,
    kind: str,
    severity: str,
    outcome: str,
    serious: bool,
    onset_at: dt.datetime | None = None,
    description: str = "",
    interventions: Iterable[Mapping[str, Any]] = (),
    client_token: str = "",
    version: int | None = None,
) -> AdverseEvent:
    """Record an adverse event with what was given for it (each intervention a :class:`RescueMedication`).

    ``other`` needs a description. A serious event raises an urgent task for the prescriber. A resent form with the
    same ``client_token`` returns the event already stored.
    """
    _require(by, Perm.RECORD_SESSION)
    session = _locked(session, None)
    token = _token(client_token)
    existing = _existing(AdverseEvent, session, token)
    if existing is not None:
        return existing
    _current(session, version)
    _monitoring(session, "adverse events")
    for field, value, choices in (
        ("kind", kind, AdverseEvent.Kind),
        ("severity", severity, AdverseEvent.Severity),
        ("outcome", outcome, AdverseEvent.Outcome),
    ):
        if value not in choices.values:
            raise DosingError(field, f"one of {', '.join(choices.values)}")
    if not isinstance(serious, bool):
        raise DosingError("serious", "yes or no")
    text = (description or "").strip()
    if kind == AdverseEvent.Kind.OTHER and not text:
        raise DosingError("description", "describe the event")
    if len(text) > 400:
        raise DosingError("description", "at most 400 characters")
    now = timezone.now()
    event = AdverseEvent.objects.create(
        session=session,
        kind=kind,
        severity=severity,
        outcome=outcome,
        serious=serious,
        onset_at=_taken_at("onset_at", onset_at, now),
        description=text,
        recorded_by=by,
        recorded_at=now,
        client_token=token,
    )
    _audit(Action.CREATE, event, session, by, kind=kind, serious=serious)
    for given in interventions:
        _rescue(session, by, given, now, adverse_event=event)
    if serious:
        raise_task(
            session.patient,
            kind=Task.Kind.OTHER,
            title=f"Serious adverse event in dosing session {session.pk}: {event.get_kind_display()}",
            priority=Task.Priority.URGENT,
            detail="Assess the patient, decide on reporting (for esketamine, the REMS adverse-event line) and "
            "document the follow-up.",
            by=by,
            source_type=AE_SOURCE,
            source_id=event.pk,
        )
    return event
