"""Discharge actions: the "would be ready to leave now" moment, the discharge check and the discharge itself.

The discharge criteria are ``clinical.discharge_readiness`` fed from the session's own rows (:func:`readiness`):

* the latest modified Aldrete or PADSS total recorded since the dose started;
* the latest in-session vital signs against the latest pre-dose baseline;
* minutes since the first esketamine device, or since the end of a racemic ketamine dose;
* symptoms resolved and escort present, which the nurse confirms (the screen proposes a default: the latest
  MOAA/S is 5 with no open alert; the escort confirmed at check-in);
* the patient's screening precautions, as the pre-dose gate uses them.

Missing data (no dose record, no recovery score, no vitals since the dose) is reported as unmet criteria too; it can
not be overridden because the discharge record must point at the score and the vitals it was decided on.

States: monitoring ─► ready_for_discharge (every criterion met) ─► discharged; ready_for_discharge ─► monitoring when
a later check finds a criterion lost. Discharge with unmet criteria needs a prescriber's written reason (the hold
override's permission and length rule) and is audited as an override; esketamine's 2 hours from the first device
are never overridden (REMS).

A patient may also leave without a routine discharge (:func:`record_departure`): against medical advice (a competent
adult who will not stay; documented, not overridden) or by ambulance to emergency care after an adverse event. The
session still ends ``discharged``; the :class:`~ketaclinic.dosing.models.Discharge` row's ``disposition`` says how, with
the readiness snapshot of that moment, and a prescriber's follow-up task is raised.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from ketaclinic import clinical
from ketaclinic.accounts.clinic_policy import clinic_policy
from ketaclinic.accounts.roles import Perm
from ketaclinic.audit.models import AuditEvent
from ketaclinic.clinical.safety import (
    NO_DRIVING_ADVICE,
    R_DISCHARGE_ESCORT,
    R_DISCHARGE_SCORE,
    R_DISCHARGE_SYMPTOMS,
    R_DISCHARGE_TIME,
    R_DISCHARGE_VITALS,
)
from ketaclinic.dosing import stock
from ketaclinic.dosing.actions import (
    DosingError,
    _audit,
    _locked,
    _move,
    _precaution_conditions,
    _reason,
    _require,
    _save,
    latest_baseline,
)
from ketaclinic.dosing.models import (
    MIN_REASON_CHARS,
    Discharge,
    DoseAdministration,
    DosingSession,
    ScaleObservation,
    SessionState,
    VitalSign,
)
from ketaclinic.tasks.actions import raise_task
from ketaclinic.tasks.models import Task

Action = AuditEvent.Action
S = SessionState
#: States in which the patient is recovering after the dose and the discharge criteria are checked.
RECOVERY_STATES = frozenset({S.MONITORING, S.READY_FOR_DISCHARGE})
#: States in which "would be ready to leave now" may be recorded (from the first device on).
READY_TO_LEAVE_STATES = frozenset({S.DOSING, S.MONITORING, S.READY_FOR_DISCHARGE})
#: The code of an unmet criterion that is missing data (not a clinical rule: the data must be recorded).
MISSING = "dosing.discharge_data_missing"
RECOVERY_INSTRUMENTS = (ScaleObservation.Instrument.ALDRETE, ScaleObservation.Instrument.PADSS)
#: What to do about each unmet criterion (shown next to it on the discharge panel).
TO_DO = {
    R_DISCHARGE_TIME.id: "Keep observing; check again when the minimum time has passed.",
    R_DISCHARGE_SCORE.id: "Reassess and record a new modified Aldrete or PADSS score.",
    R_DISCHARGE_VITALS.id: "Let the patient rest, repeat the vital signs, and tell the prescriber if they persist.",
    R_DISCHARGE_SYMPTOMS.id: "Keep observing until sedation, dissociation and breathing are back to normal.",
    R_DISCHARGE_ESCORT.id: "Call the escort; the patient may not leave alone.",
    MISSING: "Record it on the session page, then check again.",
}


def hard_stops(session: DosingSession) -> frozenset[str]:
    """Unmet criteria no override can set aside: for esketamine, the label's and the REMS's 2 hours of monitoring
    from the first device (``clinical.discharge_readiness`` guarantees esketamine is never ready before that)."""
    return frozenset({R_DISCHARGE_TIME.id}) if session.is_esketamine else frozenset()


def administration_of(session: DosingSession) -> DoseAdministration | None:
    return DoseAdministration.objects.filter(session=session).select_related("lot").first()


def dose_started_at(administration: DoseAdministration) -> dt.datetime:
    """When the dose started: the first esketamine device when devices are recorded, else the recorded start."""
    first = administration.devices.order_by("at").first()
    return first.at if first is not None else administration.started_at


def observation_from(session: DosingSession, administration: DoseAdministration) -> dt.datetime | None:
    """Where the observation clock starts: the first device (esketamine) or the end of the dose (racemic).

    An IV infusion has ended only when it is stopped; an injection or tablet ends when given.
    """
    if session.is_esketamine:
        return dose_started_at(administration)
    if administration.stopped_at is not None:
        return administration.stopped_at
    return None if session.route == "iv" else administration.started_at


def latest_recovery(session: DosingSession, since: dt.datetime | None) -> ScaleObservation | None:
    found = session.observations.filter(instrument__in=RECOVERY_INSTRUMENTS)
    if since is not None:
        found = found.filter(observed_at__gte=since)
    return found.order_by("-observed_at", "-id").first()


def latest_vitals(session: DosingSession, since: dt.datetime | None) -> VitalSign | None:
    """The latest in-session (not baseline) vital signs taken since the dose started."""
    found = session.vitals.filter(is_baseline=False)
    if since is not None:
        found = found.filter(recorded_at__gte=since)
    return found.order_by("-recorded_at", "-id").first()


def default_symptoms_resolved(session: DosingSession) -> bool:
    """The screen's proposal: the latest MOAA/S is 5 (awake, responds normally) and no alert is open."""
    moaas = session.observations.filter(instrument=ScaleObservation.Instrument.MOAAS).order_by("-observed_at", "-id")
    latest = moaas.first()
    if latest is None or int(latest.total) != 5:
        return False
    return not session.alerts.filter(acknowledged_at__isnull=True).exists()


def default_escort_present(session: DosingSession) -> bool:
    checkin = getattr(session, "checkin", None)
    return bool(checkin and checkin.escort_confirmed)


@dataclass
class Readiness:
    """The discharge criteria evaluated on the session's data at ``at``.

    ``unmet`` is a list of ``{code, message, citations, to_do}``; ``ready`` only when it is empty. ``recovery`` and
    ``vitals`` are the rows the decision was made on (``None`` when missing, which is itself an unmet criterion).
    """

    at: dt.datetime
    ready: bool
    unmet: list[dict[str, Any]]
    advisories: list[str]
    recovery: ScaleObservation | None
    vitals: VitalSign | None
    baseline: VitalSign | None
    minutes_observed: int | None
    minutes_needed: int
    symptoms_resolved: bool
    escort_present: bool
    missing: list[str] = field(default_factory=list)


def _criterion(code: str, message: str, citations: Any = ()) -> dict[str, Any]:
    return {
        "code": code,
        "message": message,
        "citations": [str(c) for c in citations],
        "to_do": TO_DO.get(code, ""),
    }


def minutes_needed(session: DosingSession) -> int:
    policy = clinic_policy(session.site_id)
    if session.is_esketamine:
        return int(max(policy.esketamine_min_observation_min, 120))
    return int(policy.ketamine_min_observation_min)


def readiness(
    session: DosingSession,
    *,
    symptoms_resolved: bool | None = None,
    escort_present: bool | None = None,
    at: dt.datetime | None = None,
) -> Readiness:
    """``clinical.discharge_readiness`` on the session's rows; ``None`` flags take the screen's defaults."""
    now = at or timezone.now()
    symptoms = default_symptoms_resolved(session) if symptoms_resolved is None else symptoms_resolved
    escort = default_escort_present(session) if escort_present is None else escort_present
    administration = administration_of(session)
    since = observation_from(session, administration) if administration else None
    started = dose_started_at(administration) if administration else None
    recovery = latest_recovery(session, started)
    vitals = latest_vitals(session, started)
    baseline = latest_baseline(session)
    minutes = int((now - since).total_seconds() // 60) if since is not None and now >= since else None
    missing: list[str] = []
    if administration is None:
        missing.append("The dose is not recorded.")
    elif since is None:
        missing.append("The infusion has not been stopped: the observation time counts from the end of the dose.")
    if recovery is None:
        missing.append("No modified Aldrete or PADSS score since the dose.")
    if vitals is None:
        missing.append("No vital signs since the dose.")
    if baseline is None:
        missing.append("No baseline vital signs.")
    unmet = [_criterion(MISSING, m) for m in missing]
    advisories: list[str] = []
    if recovery is not None and vitals is not None and baseline is not None and minutes is not None:
        decision = clinical.discharge_readiness(
            route=session.route,
            recovery_score=int(recovery.total),
            minutes_since_dose=min(minutes, 24 * 60),
            vitals=vitals.as_mapping(),
            baseline_vitals=baseline.as_mapping(),
            symptoms_resolved=symptoms,
            escort_present=escort,
            policy=clinic_policy(session.site_id),
            precautions=_precaution_conditions(session),
        )
        unmet += [_criterion(u.code, u.message, u.citations) for u in decision.unmet]
        advisories = list(decision.advisories)
    else:
        # The time, symptom and escort criteria still show while data is missing, so nothing is a surprise later.
        if not symptoms:
            unmet.append(
                _criterion(
                    R_DISCHARGE_SYMPTOMS.id,
                    "Sedation, dissociation or respiratory depression has not resolved.",
                    R_DISCHARGE_SYMPTOMS.citations,
                )
            )
        if not escort:
            unmet.append(
                _criterion(
                    R_DISCHARGE_ESCORT.id,
                    "No responsible adult is present to take the patient home.",
                    R_DISCHARGE_ESCORT.citations,
                )
            )
    return Readiness(
        at=now,
        ready=not unmet,
        unmet=unmet,
        advisories=advisories,
        recovery=recovery,
        vitals=vitals,
        baseline=baseline,
        minutes_observed=minutes,
        minutes_needed=minutes_needed(session),
        symptoms_resolved=symptoms,
        escort_present=escort,
        missing=missing,
    )


def _flag(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise DosingError(name, "answer yes or no")
    return value


@transaction.atomic
def record_ready_to_leave(session: DosingSession, *, by: Any, version: int | None = None) -> DosingSession:
    """Record now as the moment the patient would have been ready to leave without a minimum observation time.

    Recorded once, as it happens (the REMS form asks for it in minutes from the start of administration); refused
    before the dose has started or when already recorded.
    """
    _require(by, Perm.RECORD_SESSION)
    session = _locked(session, version)
    if session.state not in READY_TO_LEAVE_STATES:
        raise DosingError("state", "ready to leave is recorded after the dose has started and before discharge")
    if session.ready_to_leave_at is not None:
        when = timezone.localtime(session.ready_to_leave_at, session.site.zone)
        raise DosingError("ready_to_leave_at", f"already recorded at {when:%H:%M}")
    if administration_of(session) is None:
        raise DosingError("administration", "record the dose first")
    session.ready_to_leave_at, session.ready_to_leave_by = timezone.now(), by
    _save(session, "ready_to_leave_at", "ready_to_leave_by")
    _audit(Action.UPDATE, session, session, by, fields=["ready_to_leave_at"])
    return session


@transaction.atomic
def check_discharge(
    session: DosingSession,
    *,
    by: Any,
    symptoms_resolved: bool,
    escort_present: bool,
    version: int | None = None,
) -> Readiness:
    """Evaluate the discharge criteria now: all met → ready for discharge; a ready session that no longer meets them
    goes back to monitoring. The state change (if any) is audited; the result is returned for the screen."""
    _require(by, Perm.RECORD_SESSION)
    session = _locked(session, version)
    if session.state not in RECOVERY_STATES:
        raise DosingError("state", "the discharge criteria are checked while the patient is monitored after the dose")
    result = readiness(
        session,
        symptoms_resolved=_flag("symptoms_resolved", symptoms_resolved),
        escort_present=_flag("escort_present", escort_present),
    )
    target = S.READY_FOR_DISCHARGE if result.ready else S.MONITORING
    if target != session.state:
        _move(session, target)
        _save(session, "state")
        _audit(Action.UPDATE, session, session, by, state=target, codes=[u["code"] for u in result.unmet])
    return result


@transaction.atomic
def discharge_patient(
    session: DosingSession,
    *,
    by: Any,
    symptoms_resolved: bool,
    escort_present: bool,
    override_reason: str = "",
    version: int | None = None,
) -> Discharge:
    """Discharge the patient: the criteria are evaluated again at this moment and stored with the decision.

    With every criterion met, any session-recording clinician may discharge. With criteria unmet, only a prescriber
    (override capability) with a written reason of at least 20 characters may, audited as an override; without
    that the discharge is refused (``DosingError`` listing what is unmet, or ``PermissionDenied``). Missing data
    (no dose record, recovery score or post-dose vitals) and, for esketamine, less than the 2 hours of monitoring
    the REMS requires (:func:`hard_stops`) cannot be overridden. For esketamine the REMS Patient
    Monitoring Form is generated from the session in the same transaction.
    """
    _require(by, Perm.RECORD_SESSION)
    session = _locked(session, version)
    if session.state not in RECOVERY_STATES:
        raise DosingError("state", "only a patient monitored after the dose can be discharged")
    result = readiness(
        session,
        symptoms_resolved=_flag("symptoms_resolved", symptoms_resolved),
        escort_present=_flag("escort_present", escort_present),
    )
    if result.missing:
        raise DosingError("discharge", " ".join(result.missing) + " Record it, then discharge")
    assert result.recovery is not None and result.vitals is not None and result.minutes_observed is not None
    reason = ""
    hard = [u["message"] for u in result.unmet if u["code"] in hard_stops(session)]
    if hard:
        raise DosingError("discharge", f"cannot be overridden: {' '.join(hard)} Keep observing")
    if not result.ready:
        if not (override_reason or "").strip():
            unmet = " ".join(u["message"] for u in result.unmet)
            raise DosingError("override_reason", f"discharge is blocked: {unmet} Only a prescriber can override")
        if not by.can(Perm.OVERRIDE_HOLD):
            raise PermissionDenied("Only a prescriber can discharge a patient who does not meet the criteria.")
        reason = _reason(override_reason)
    discharge = Discharge.objects.create(
        session=session,
        recovery=result.recovery,
        vitals=result.vitals,
        minutes_observed=min(result.minutes_observed, 32767),
        symptoms_resolved=result.symptoms_resolved,
        escort_present=result.escort_present,
        ready=result.ready,
        unmet=result.unmet,
        advisories=result.advisories,
        override_reason=reason,
        override_by=by if reason else None,
        discharged_at=result.at,
        discharged_by=by,
    )
    _move(session, S.READY_FOR_DISCHARGE)
    _move(session, S.DISCHARGED)
    _save(session, "state")
    if reason:
        _audit(Action.OVERRIDE, discharge, session, by, codes=[u["code"] for u in result.unmet])
    else:
        _audit(Action.CREATE, discharge, session, by)
    if session.is_esketamine:
        from ketaclinic.dosing.documents import generate_rems_form  # documents imports this module

        generate_rems_form(session, by=by)
    return discharge


# --- Leaving without a routine discharge ----------------------------------------------------------------------------

D = Discharge.Disposition
#: What :func:`record_departure` records (a routine discharge is :func:`discharge_patient`).
DEPARTURES = (D.AGAINST_ADVICE, D.EMERGENCY_TRANSFER)
DEPARTURE_REASON_MAX = 2000
DESTINATION_MAX = Discharge._meta.get_field("destination").max_length or 200
#: Tasks raised by a departure name the discharge row as their source (one task per departure).
DEPARTURE_SOURCE = "dosing.discharge"
#: The prescriber's follow-up: a call to a patient who left against advice within the hour (they may be sedated or
#: dissociated, alone, or driving); the receiving hospital the same day.
FOLLOW_UP: dict[str, tuple[str, dt.timedelta, str, str]] = {
    D.AGAINST_ADVICE: (
        Task.Priority.URGENT,
        dt.timedelta(hours=1),
        "Left against medical advice",
        "Call the patient: check they got home safely, are not driving and not alone, and know when to seek help.",
    ),
    D.EMERGENCY_TRANSFER: (
        Task.Priority.HIGH,
        dt.timedelta(hours=4),
        "Transferred to emergency care",
        "Follow up with the receiving hospital: the patient's condition and the outcome of the adverse event; "
        "decide on reporting (for esketamine, the REMS adverse-event line).",
    ),
}


def can_prescribe_at(user: Any, session: DosingSession) -> bool:
    """An active prescriber who works at the session's site (whom a departure may name as notified)."""
    return bool(user is not None and user.can(Perm.PRESCRIBE) and user.works_at(session.site))


def _departure_time(session: DosingSession, left_at: dt.datetime | None) -> dt.datetime:
    """When the patient left: now when not given; never in the future, nor before the dose started."""
    moment = stock._when("left_at", left_at, timezone.now())
    administration = administration_of(session)
    start = dose_started_at(administration) if administration else session.checked_in_at
    if start is not None and moment < start:
        local = timezone.localtime(start, session.site.zone)
        raise DosingError("left_at", f"cannot be before the dose started ({local:%H:%M})")
    return moment


def departure_unmet(session: DosingSession, result: Readiness) -> list[dict[str, Any]]:
    """The criteria unmet when the patient left. With data missing the clinical core is not run, so the minimum
    observation time is added here when it is known and short: it is what a departure most often leaves unmet."""
    unmet = list(result.unmet)
    minutes, needed = result.minutes_observed, result.minutes_needed
    if minutes is not None and minutes < needed and all(u["code"] != R_DISCHARGE_TIME.id for u in unmet):
        since = "the first device" if session.is_esketamine else "the end of the dose"
        message = f"Observed {minutes} min since {since}; at least {needed} min are required."
        unmet.append(_criterion(R_DISCHARGE_TIME.id, message, R_DISCHARGE_TIME.citations))
    return unmet


@transaction.atomic
def record_departure(
    session: DosingSession,
    *,
    by: Any,
    disposition: str,
    reason: str,
    left_at: dt.datetime | None = None,
    risks_explained: bool = False,
    escort_present: bool = False,
    prescriber_notified: Any = None,
    destination: str = "",
    version: int | None = None,
) -> Discharge:
    """Record that the patient left after the dose without a routine discharge, and end the session (``discharged``).

    * ``against_advice`` — a competent patient insists on leaving before the criteria are met (for esketamine,
      possibly before the REMS's 2 hours). Documentation of what happened, not an override: any clinician who records
      the session may record it, with the reason the patient gave (at least 20 characters), that the risks were
      explained (``risks_explained``), whether an escort left with them and the prescriber of the site who was told.
      Raises an urgent task for a prescriber to call the patient.
    * ``emergency_transfer`` — the patient was taken to emergency care after an adverse event: the destination and
      the reason; refused until at least one adverse event is recorded on the session. Raises a task for a prescriber
      to follow up with the receiving hospital.

    Allowed while the patient is monitored after the dose; refused while a dose is running (stop it first: the dose
    record and the controlled-substance log must say what was given). The readiness criteria are evaluated at the
    moment the patient left and stored (unmet criteria, the latest recovery score and vital signs when recorded,
    minutes observed). Audited with codes and identifiers only. For esketamine the REMS Patient Monitoring Form is
    generated, with the minutes actually observed.
    """
    _require(by, Perm.RECORD_SESSION)
    session = _locked(session, version)
    if session.state == S.DOSING:
        what = 'end the dose ("No further devices")' if session.is_esketamine else "stop the infusion"
        raise DosingError(
            "state",
            f"the dose is still running: {what} on the dose panel first (it records what was given and any witnessed "
            "waste), then record the departure",
        )
    if session.state not in RECOVERY_STATES:
        raise DosingError(
            "state", f"a departure is recorded after the dose, before discharge (now {session.get_state_display()})"
        )
    if disposition not in DEPARTURES:
        raise DosingError(
            "disposition",
            "choose left against medical advice or transferred to emergency care (a routine discharge uses the "
            "discharge form)",
        )
    risks, escort = _flag("risks_explained", risks_explained), _flag("escort_present", escort_present)
    text = (reason or "").strip()
    if len(text) > DEPARTURE_REASON_MAX:
        raise DosingError("departure_reason", f"at most {DEPARTURE_REASON_MAX} characters")
    place = (destination or "").strip()
    if prescriber_notified is not None and not can_prescribe_at(prescriber_notified, session):
        raise DosingError("prescriber_notified", "choose a prescriber who works at this site")
    if disposition == D.AGAINST_ADVICE:
        if len(text) < MIN_REASON_CHARS:
            raise DosingError(
                "departure_reason",
                f"write the reason the patient gave, at least {MIN_REASON_CHARS} characters (got {len(text)})",
            )
        if not risks:
            raise DosingError(
                "risks_explained",
                "explain the risks to the patient (no driving or machinery today, not to be alone, when to seek "
                "help), then tick the box",
            )
        if prescriber_notified is None:
            raise DosingError("prescriber_notified", "tell a prescriber and choose who you told")
        place = ""
    else:
        if not session.adverse_events.exists():
            raise DosingError(
                "adverse_event",
                "record the adverse event first (Adverse events, on the monitoring panel), then the transfer",
            )
        if not text:
            raise DosingError("departure_reason", "say why the patient was transferred")
        if not place:
            raise DosingError("destination", "name where the patient was taken, e.g. the hospital")
        if len(place) > DESTINATION_MAX:
            raise DosingError("destination", f"at most {DESTINATION_MAX} characters")
    moment = _departure_time(session, left_at)
    # Symptoms take the screen's proposal (latest MOAA/S 5, no open alert): nobody confirms them for a patient who
    # leaves; the escort is the nurse's answer.
    result = readiness(session, escort_present=escort, at=moment)
    unmet = departure_unmet(session, result)
    minutes = result.minutes_observed
    discharge = Discharge.objects.create(
        session=session,
        disposition=disposition,
        recovery=result.recovery,
        vitals=result.vitals,
        minutes_observed=min(minutes, 32767) if minutes is not None else None,
        symptoms_resolved=result.symptoms_resolved,
        escort_present=result.escort_present,
        ready=not unmet,
        unmet=unmet,
        advisories=result.advisories,
        departure_reason=text,
        risks_explained=risks,
        prescriber_notified=prescriber_notified,
        destination=place,
        discharged_at=moment,
        discharged_by=by,
    )
    # The same walk as a routine discharge (the transitions table has no other way to ``discharged``).
    _move(session, S.READY_FOR_DISCHARGE)
    _move(session, S.DISCHARGED)
    _save(session, "state")
    priority, due, title, to_do = FOLLOW_UP[disposition]
    local = timezone.localtime(moment, session.site.zone)
    told = f" {prescriber_notified} was notified." if prescriber_notified is not None else ""
    where = f" Taken to {place}." if place else ""
    task = raise_task(
        session.patient,
        kind=Task.Kind.OTHER,
        title=f"{title} at {local:%H:%M} (dosing session {session.pk}): prescriber follow-up",
        priority=priority,
        detail=f"{to_do}{where}{told} The reason and what was unmet are on the session page.",
        due_at=timezone.now() + due,
        by=by,
        source_type=DEPARTURE_SOURCE,
        source_id=discharge.pk,
    )
    _audit(
        Action.CREATE,
        discharge,
        session,
        by,
        disposition=disposition,
        codes=[u["code"] for u in unmet],
        prescriber_notified=prescriber_notified.pk if prescriber_notified is not None else None,
        task_id=task.pk,
    )
    if session.is_esketamine:
        from ketaclinic.dosing.documents import generate_rems_form  # documents imports this module

        generate_rems_form(session, by=by)
    return discharge


def departure_advice(record: Discharge | None) -> list[str]:
    """The printed advice for a patient who left against medical advice (empty for any other ending): that the effects
    may not have worn off, the discharge advisories of the moment they left — always with no driving, which the
    clinical core gives every patient even when missing data kept it from running — and not to be alone."""
    if record is None or record.disposition != D.AGAINST_ADVICE:
        return []
    advisories = list(record.advisories or ())
    if NO_DRIVING_ADVICE not in advisories:
        advisories.insert(0, NO_DRIVING_ADVICE)
    return [
        "You are leaving before the clinic judged it safe: the medicine's effects may not have worn off.",
        *advisories,
        "Do not be alone for the rest of the day; go home and rest.",
    ]
