"""The session's documents: the signed session note, the SPRAVATO REMS Patient Monitoring Form and the superbill.

* **Session note** — a draft prefilled from the session (:func:`draft_note_text`) that the nurse edits and signs; a
  prescriber co-signs. Once the nurse has signed, the text never changes: the save action refuses, and corrections
  are :class:`~ketaclinic.dosing.models.NoteAmendment` rows shown after the original. Every change checks the note's
  ``version`` (optimistic locking, :class:`StaleNoteError`).
* **REMS form** (esketamine only) — every field of ``clinical.REMS_FORM_FIELDS`` filled from the session's rows
  (:func:`rems_values`), checked by ``clinical.check_rems_form``, rendered once to a PDF stored with its SHA-256 (as
  consents are), due ``clinical.rems_due_date`` after the clinic-local session date, and listed until marked
  submitted.
* **Superbill** — ``clinical.billing_codes`` from the dose record plus the patient's ICD-10-CM diagnoses, as a PDF
  or CSV download (each download audited as an export).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import secrets
from dataclasses import dataclass
from typing import Any

from django.core.files.base import ContentFile
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from ketaclinic import clinical
from ketaclinic.accounts.clinic_policy import clinic_policy
from ketaclinic.accounts.roles import Perm
from ketaclinic.audit.models import AuditEvent
from ketaclinic.clinical.medications import DrugClass
from ketaclinic.clinical.safety import R_ALERT_RR, R_ALERT_SPO2, R_DISCHARGE_VITALS, RemsFieldKind
from ketaclinic.consents.actions import valid_consent
from ketaclinic.consents.models import Consent
from ketaclinic.dosing.actions import DosingError, _audit, _require, latest_baseline
from ketaclinic.dosing.discharge import MISSING, administration_of, dose_started_at
from ketaclinic.dosing.models import (
    AdverseEvent,
    Discharge,
    DoseAdministration,
    DosingSession,
    HoldOverride,
    NoteAmendment,
    RemsForm,
    ScaleObservation,
    SessionNote,
    SessionState,
    VitalSign,
)

Action = AuditEvent.Action
S = SessionState
#: A note is written once the patient has arrived (a booked or no-show session has nothing to record).
NOTE_STATES = frozenset(set(S.values) - {S.BOOKED, S.NO_SHOW})
AMENDMENT_REASON_MAX = NoteAmendment._meta.get_field("reason").max_length or 300
CONFIRMATION_MAX = RemsForm._meta.get_field("confirmation").max_length or 60
ESKETAMINE_DEVICE_MG = 28
#: Chart medication classes behind each REMS "concomitant medication" question. Barbiturates, sedating
#: antihistamines and gabapentinoids (``other_sedative``) are counted as non-benzodiazepine sedative hypnotics too:
#: reporting a possible sedative is the safer reading of the question.
REMS_MEDICATION_CLASSES: dict[str, frozenset[DrugClass]] = {
    "concomitant_benzodiazepines": frozenset({DrugClass.BENZODIAZEPINE}),
    "concomitant_sedative_hypnotics": frozenset({DrugClass.Z_DRUG, DrugClass.OTHER_SEDATIVE}),
    "concomitant_psychostimulants": frozenset({DrugClass.PSYCHOSTIMULANT}),
    "concomitant_maois": frozenset({DrugClass.MAOI}),
    "concomitant_opioids": frozenset({DrugClass.OPIOID}),
}
#: In-session alerts that mean respiratory depression (low SpO2; a low respiratory rate raises an urgent alert).
RESPIRATORY_ALERTS = (R_ALERT_SPO2.id,)
RESPIRATORY_URGENT_ALERTS = (R_ALERT_RR.id,)
#: The "40 minutes after administration" blood pressure: the set taken for timepoint 40, else the closest to 40 min
#: among those taken this many minutes after the first device.
BP_40_WINDOW_MIN = (30, 60)


class StaleNoteError(Exception):
    """The note changed since the screen was loaded (someone else saved, signed or amended it first)."""

    def __init__(self, note: SessionNote) -> None:
        super().__init__(f"note {note.pk} changed since you loaded it (now version {note.version})")
        self.note = note


def _refuse_fetching(url: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
    # Documents are built from our own templates only; nothing may be fetched from a URL (no SSRF, no file reads).
    raise ValueError(f"session documents load no external resources (refused {url[:60]!r})")


def render_pdf(template: str, context: dict[str, Any], zone: Any) -> bytes:
    """An HTML template rendered to PDF with times in the clinic's zone."""
    from weasyprint import HTML  # imported here: loading WeasyPrint is slow and only documents need it

    with timezone.override(zone):
        html = render_to_string(template, context)
    pdf: bytes = HTML(string=html, url_fetcher=_refuse_fetching).write_pdf()
    return pdf


def _local(when: dt.datetime | None, session: DosingSession) -> str:
    return timezone.localtime(when, session.site.zone).strftime("%H:%M") if when else "—"


def session_date(session: DosingSession) -> dt.date:
    """The clinic-local date of the session (the dose start, else the check-in, else the booking)."""
    administration = administration_of(session)
    when = dose_started_at(administration) if administration else session.checked_in_at or session.appointment.starts_at
    return timezone.localtime(when, session.site.zone).date()


def _num(value: Any) -> str:
    """A stored decimal as people write it (10, 7.5)."""
    return f"{float(value):g}"


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?")) else f"{text}."


def minutes_between(start: dt.datetime, end: dt.datetime) -> int:
    """Whole minutes elapsed (rounded down) from ``start`` to ``end``."""
    return int((end - start).total_seconds() // 60)


# --- Session note ---------------------------------------------------------------------------------------------------


def _bp(sign: VitalSign) -> str:
    rr = f", RR {sign.resp_rate_per_min}/min" if sign.resp_rate_per_min is not None else ""
    return (
        f"BP {sign.systolic_mmhg}/{sign.diastolic_mmhg} mmHg, HR {sign.heart_rate_bpm}/min, SpO2 {sign.spo2_pct} %{rr}"
    )


def _dose_lines(session: DosingSession, administration: DoseAdministration | None) -> list[str]:
    if administration is None:
        return ["Dose: not given."]
    given = administration.amount_given_mg if administration.amount_given_mg is not None else administration.amount_mg
    lines = [
        f"Dose: {given} mg {administration.get_drug_display().lower()} ({administration.route}), ordered "
        f"{administration.amount_mg} mg; lot {administration.lot.lot_number}; given by "
        f"{administration.administered_by}, witnessed by {administration.witnessed_by}.",
        f"Started {_local(administration.started_at, session)}"
        + (f", stopped {_local(administration.stopped_at, session)}" if administration.stopped_at else "")
        + (f" ({administration.stop_reason})" if administration.stop_reason else "")
        + ".",
    ]
    devices = list(administration.devices.all())
    if devices:
        lines.append("Devices: " + ", ".join(f"#{d.number} at {_local(d.at, session)}" for d in devices) + ".")
    for change in administration.rate_changes.all():
        lines.append(f"Rate {change.rate_ml_per_h} mL/h at {_local(change.at, session)}: {change.reason}.")
    return lines


def draft_note_text(session: DosingSession) -> str:
    """The note as the session's rows tell it, for the nurse to edit before signing."""
    zone_note = session.site.time_zone
    lines = [
        f"Dosing session{f' {session.sequence_number}' if session.sequence_number else ''}, "
        f"route {session.route}, {session_date(session):%Y-%m-%d} at {session.site.name} (times {zone_note}).",
    ]
    checkin = getattr(session, "checkin", None)
    if checkin is not None:
        escort = f"{checkin.escort_name} ({checkin.escort_phone})" if checkin.escort_confirmed else "not confirmed"
        lines.append(
            f"Check-in {_local(checkin.completed_at, session)} by {checkin.completed_by}: identity confirmed; weight "
            f"{checkin.weight_kg} kg; last food {_local(checkin.last_food_at, session)}, last liquid "
            f"{_local(checkin.last_liquid_at, session)}; escort {escort}; pregnancy test "
            f"{checkin.get_pregnancy_test_display().lower()}; benzodiazepine hold "
            f"{checkin.get_benzodiazepine_held_display().lower()}; consent "
            f"{'valid' if checkin.consent_valid else 'NOT valid'}."
        )
        if checkin.new_medications_or_substances:
            lines.append(f"New medicines or substances: {checkin.new_medications_text}.")
    baseline = latest_baseline(session)
    if baseline is not None:
        lines.append(f"Baseline {_local(baseline.recorded_at, session)}: {_bp(baseline)}.")
    for decision in session.decisions.all():
        findings = "; ".join(f"{f['level']}: {f['message']}" for f in decision.findings) or "no findings"
        lines.append(f"Pre-dose gate {_local(decision.decided_at, session)}: {decision.decision} ({findings}).")
    for override in session.overrides.select_related("prescriber"):
        lines.append(
            f"{override.get_kind_display()} by {override.prescriber} at {_local(override.at, session)}: "
            f"{_sentence(override.reason)}"
        )
    administration = administration_of(session)
    lines += _dose_lines(session, administration)
    in_session = list(session.vitals.filter(is_baseline=False))
    if in_session:
        highest = max(in_session, key=lambda v: (v.systolic_mmhg, v.diastolic_mmhg))
        lowest_spo2 = min(in_session, key=lambda v: v.spo2_pct)
        lines.append(
            f"Vital signs: {len(in_session)} sets after the dose; highest BP {highest.systolic_mmhg}/"
            f"{highest.diastolic_mmhg} at {_local(highest.recorded_at, session)}; lowest SpO2 {lowest_spo2.spo2_pct} % "
            f"at {_local(lowest_spo2.recorded_at, session)}; last {_local(in_session[-1].recorded_at, session)}: "
            f"{_bp(in_session[-1])}."
        )
    for alert in session.alerts.select_related("acknowledged_by"):
        handled = (
            f"acknowledged {_local(alert.acknowledged_at, session)} by {alert.acknowledged_by}: "
            f"{alert.get_action_display().lower()}{f' ({alert.action_note})' if alert.action_note else ''}"
            if alert.acknowledged_at
            else "not acknowledged"
        )
        lines.append(f"Alert ({alert.level}) {_local(alert.raised_at, session)}: {alert.message} {handled}.")
    scales = list(session.observations.all())
    if scales:
        lines.append(
            "Scales: "
            + "; ".join(
                f"{o.get_instrument_display()} {_num(o.total)} at {_local(o.observed_at, session)}" for o in scales
            )
            + "."
        )
    for event in session.adverse_events.all():
        lines.append(
            f"Adverse event: {event.get_kind_display().lower()} ({event.get_severity_display().lower()}"
            f"{', serious' if event.serious else ''}) from {_local(event.onset_at, session)}"
            f"{f': {event.description}' if event.description else ''}; {event.get_outcome_display().lower()}."
        )
    for rescue in session.rescue_medications.select_related("given_by"):
        lines.append(
            f"Given: {rescue.medication} {_num(rescue.dose)} {rescue.unit} {rescue.route} at "
            f"{_local(rescue.given_at, session)} by {rescue.given_by}."
        )
    if session.ready_to_leave_at and administration is not None:
        minutes = minutes_between(dose_started_at(administration), session.ready_to_leave_at)
        lines.append(
            f"Would have been ready to leave at {_local(session.ready_to_leave_at, session)} "
            f"({minutes} min after the start of the dose)."
        )
    discharge = getattr(session, "discharge", None)
    if discharge is not None and discharge.is_departure:
        lines.append(departure_text(discharge))
    elif discharge is not None:
        how = (
            "all criteria met"
            if discharge.ready
            else f"criteria NOT met: {' '.join(_sentence(u['message']) for u in discharge.unmet)} Discharged on the "
            f"decision of {discharge.override_by}: {discharge.override_reason}"
        )
        recovery = f"recovery score {_num(discharge.recovery.total)}" if discharge.recovery else "no recovery score"
        lines.append(
            f"Discharged {_local(discharge.discharged_at, session)} by {discharge.discharged_by} after "
            f"{discharge.minutes_observed} min of observation, {recovery}; "
            f"{_sentence(how)} Advised: {' '.join(discharge.advisories)}"
        )
    return "\n".join(lines)


def departure_headline(discharge: Discharge) -> str:
    """The departure in one line, e.g. "Left against medical advice at 10:52, 57 min after the start of the dose."
    (no free text: fit for the REMS form's footnote)."""
    session = discharge.session
    administration = administration_of(session)
    after = (
        f", {minutes_between(dose_started_at(administration), discharge.discharged_at)} min after the start of the dose"
        if administration is not None
        else ""
    )
    return f"{discharge.get_disposition_display()} at {_local(discharge.discharged_at, session)}{after}."


def departure_text(discharge: Discharge) -> str:
    """The note's account of a departure against advice or a transfer: when, why, what was unmet, who was told."""
    session = discharge.session
    observed = (
        f" after {discharge.minutes_observed} min of observation" if discharge.minutes_observed is not None else ""
    )
    recovery = f"recovery score {_num(discharge.recovery.total)}" if discharge.recovery else "no recovery score"
    vitals = f"last vital signs {_bp(discharge.vitals)}" if discharge.vitals else "no vital signs since the dose"
    unmet = " ".join(_sentence(u["message"]) for u in discharge.unmet) or "none."
    parts = [
        f"{discharge.get_disposition_display()} at {_local(discharge.discharged_at, session)}{observed} (recorded by "
        f"{discharge.discharged_by}); {recovery}; {vitals}.",
    ]
    if discharge.disposition == Discharge.Disposition.EMERGENCY_TRANSFER:
        parts.append(f"Taken to {_sentence(discharge.destination)} Reason: {_sentence(discharge.departure_reason)}")
    else:
        parts.append(f"Reason the patient gave: {_sentence(discharge.departure_reason)}")
        parts.append(
            "Risks explained (no driving, not to be alone, when to seek help): "
            f"{'yes' if discharge.risks_explained else 'no'}; escort or responsible adult present: "
            f"{'yes' if discharge.escort_present else 'no'}."
        )
    parts.append(f"Discharge criteria not met at that time: {unmet}")
    if discharge.prescriber_notified is not None:
        parts.append(f"Prescriber notified: {discharge.prescriber_notified}.")
    return " ".join(parts)


def _note_locked(session: DosingSession, version: int | None) -> SessionNote | None:
    note = SessionNote.objects.select_for_update().filter(session=session).first()
    if note is not None and version is not None and int(version) != note.version:
        raise StaleNoteError(note)
    return note


def _text(text: str, field: str = "text") -> str:
    cleaned = (text or "").strip()
    if not cleaned:
        raise DosingError(field, "write the note text")
    return cleaned


def _note_session(session: DosingSession) -> DosingSession:
    fresh = DosingSession.objects.select_related("patient", "site").get(pk=session.pk)
    if fresh.state not in NOTE_STATES:
        raise DosingError("state", f"a {fresh.get_state_display().lower()} session has no note")
    return fresh


@transaction.atomic
def save_note(session: DosingSession, *, by: Any, text: str, version: int | None = None) -> SessionNote:
    """Save the draft note (created on first save). Refused once signed: a signed note is changed by amendment."""
    _require(by, Perm.RECORD_SESSION)
    session = _note_session(session)
    note = _note_locked(session, version)
    body = _text(text)
    if note is None:
        note = SessionNote.objects.create(session=session, text=body, written_by=by)
        _audit(Action.CREATE, note, session, by)
        return note
    if note.is_signed:
        raise DosingError("text", "the note is signed and cannot be edited; add an amendment instead")
    note.text, note.written_by, note.updated_at = body, by, timezone.now()
    note.version += 1
    note.save(update_fields=["text", "written_by", "updated_at", "version"])
    _audit(Action.UPDATE, note, session, by)
    return note


@transaction.atomic
def sign_note(session: DosingSession, *, by: Any, text: str, version: int | None = None) -> SessionNote:
    """The nurse saves the final text and signs: from now on the note is immutable."""
    note = save_note(session, by=by, text=text, version=version)
    note.nurse_signed_by, note.nurse_signed_at = by, timezone.now()
    note.version += 1
    note.save(update_fields=["nurse_signed_by", "nurse_signed_at", "version"])
    _audit(Action.SIGN, note, note.session, by, role="nurse")
    return note


@transaction.atomic
def cosign_note(session: DosingSession, *, by: Any, version: int | None = None) -> SessionNote:
    """A prescriber co-signs the nurse-signed note (a second person: not the one who signed it)."""
    _require(by, Perm.PRESCRIBE)
    session = _note_session(session)
    note = _note_locked(session, version)
    if note is None or not note.is_signed:
        raise DosingError("note", "the nurse signs the note first")
    if note.prescriber_signed_at is not None:
        raise DosingError("note", f"already co-signed by {note.prescriber_signed_by}")
    if note.nurse_signed_by_id == by.pk:
        raise DosingError("note", "you signed this note; another prescriber co-signs it")
    note.prescriber_signed_by, note.prescriber_signed_at = by, timezone.now()
    note.version += 1
    note.save(update_fields=["prescriber_signed_by", "prescriber_signed_at", "version"])
    _audit(Action.SIGN, note, session, by, role="prescriber")
    return note


@transaction.atomic
def amend_note(session: DosingSession, *, by: Any, text: str, reason: str, version: int | None = None) -> NoteAmendment:
    """Append an amendment (what changes and why) to a signed note; the signed text stays as it was."""
    _require(by, Perm.RECORD_SESSION)
    session = _note_session(session)
    note = _note_locked(session, version)
    if note is None or not note.is_signed:
        raise DosingError("note", "only a signed note is amended; edit the draft instead")
    body = _text(text)
    why = (reason or "").strip()
    if not why or len(why) > AMENDMENT_REASON_MAX:
        raise DosingError("reason", f"say why the note is amended (1–{AMENDMENT_REASON_MAX} characters)")
    amendment = NoteAmendment.objects.create(note=note, text=body, reason=why, by=by)
    note.version += 1
    note.save(update_fields=["version"])
    _audit(Action.CREATE, amendment, session, by, note_id=note.pk)
    return amendment


# --- REMS Patient Monitoring Form ---------------------------------------------------------------------------------


def esketamine_dose_mg(administration: DoseAdministration) -> int | None:
    """The esketamine dose: the devices used × 28 mg (``None`` when no device is recorded)."""
    count = administration.devices.count()
    return count * ESKETAMINE_DEVICE_MG if count else None


def _bp_pair(sign: VitalSign | None) -> tuple[int, int] | None:
    return (sign.systolic_mmhg, sign.diastolic_mmhg) if sign is not None else None


def bp_at_40_min(session: DosingSession, start: dt.datetime) -> VitalSign | None:
    """The set taken for timepoint 40, else the in-session set closest to 40 min after ``start`` within 30–60 min."""
    in_session = session.vitals.filter(is_baseline=False)
    tagged = in_session.filter(timepoint_min=40).order_by("recorded_at", "id").first()
    if tagged is not None:
        return tagged
    low, high = BP_40_WINDOW_MIN
    window = in_session.filter(
        recorded_at__gte=start + dt.timedelta(minutes=low), recorded_at__lte=start + dt.timedelta(minutes=high)
    )
    target = start + dt.timedelta(minutes=40)
    return min(window, key=lambda v: (abs(v.recorded_at - target), v.recorded_at), default=None)


def _gate_vitals_acceptable(session: DosingSession, before: dt.datetime) -> bool | None:
    """Whether the baseline vitals were acceptable before the dose, as the last gate before it judged them.

    ``go`` (no vital-sign finding) → yes; a vital-sign finding needing review that a prescriber confirmed → yes; a
    vital-sign hold → no, even when overridden (the override accepts the risk; it does not make the reading normal).
    """
    decision = session.decisions.filter(decided_at__lte=before).order_by("-decided_at", "-id").first()
    if decision is None:
        return None
    vital_levels = {f["level"] for f in decision.findings if f.get("source") == "clinical.predose_check"}
    if "hold" in vital_levels:
        return False
    if "review" in vital_levels:
        return decision.overrides.filter(kind=HoldOverride.Kind.REVIEW_CONFIRMED).exists()
    return True


def _medication_flags(session: DosingSession, on: dt.date) -> dict[str, bool]:
    classes: set[str] = set()
    for entry in session.patient.medicationentrys.current():
        if entry.stopped_on is not None and entry.stopped_on < on:
            continue
        if entry.started_on is not None and entry.started_on > on:
            continue
        found = clinical.drug_class_of(entry.name)
        classes.add(found.value if found is not None else entry.drug_class)
    return {name: bool(classes & {c.value for c in wanted}) for name, wanted in REMS_MEDICATION_CLASSES.items()}


def _form_minutes(start: dt.datetime, end: dt.datetime | None) -> int | None:
    """Minutes from ``start`` to ``end`` as the form takes them (0–1440); ``None`` when unknown or impossible."""
    if end is None:
        return None
    minutes = minutes_between(start, end)
    return minutes if 0 <= minutes <= 24 * 60 else None


def _vitals_acceptable_at_end(discharge: Discharge | None) -> bool | None:
    """Whether the vital signs were acceptable when monitoring ended; ``None`` when the criterion was never judged
    (a patient who left before the score or post-dose vital signs were recorded)."""
    if discharge is None or any(u["code"] == MISSING for u in discharge.unmet):
        return None
    return not any(u["code"] == R_DISCHARGE_VITALS.id for u in discharge.unmet)


def rems_values(session: DosingSession) -> dict[str, Any]:
    """Every REMS form field from the session's rows (Python values as ``clinical.check_rems_form`` takes them).

    ``None`` means the session has no data for the field (``check_rems_form`` lists it as a problem).
    """
    administration = administration_of(session)
    if administration is None:
        raise DosingError("administration", "the REMS form needs the dose record")
    patient, site = session.patient, session.site
    start = dose_started_at(administration)
    day = session_date(session)
    discharge = getattr(session, "discharge", None)
    hcp = discharge.discharged_by if discharge is not None else administration.administered_by
    earlier = (
        DosingSession.objects.filter(patient=patient, route=session.route, state=S.DISCHARGED)
        .exclude(pk=session.pk)
        .filter(opened_at__lt=session.opened_at)
    )
    dose = esketamine_dose_mg(administration)
    alerts = session.alerts.all()
    events = session.adverse_events.values_list("kind", flat=True)
    observations = session.observations
    moaas = observations.filter(instrument=ScaleObservation.Instrument.MOAAS)
    cadss = observations.filter(
        instrument__in=[ScaleObservation.Instrument.CADSS, ScaleObservation.Instrument.CADSS6], total__gt=0
    )
    values: dict[str, Any] = {
        "patient_name": patient.legal_name,
        "patient_dob": patient.date_of_birth,
        "patient_sex": patient.sex_at_birth if patient.sex_at_birth in ("female", "male") else None,
        "first_treatment": not earlier.exists(),
        "patient_enrolled": valid_consent(patient, Consent.Kind.ESKETAMINE_REMS, start) is not None,
        **_medication_flags(session, day),
        "monitoring_hcp_name": str(hcp) + (f", {hcp.credentials}" if getattr(hcp, "credentials", "") else ""),
        "monitoring_hcp_phone": site.phone.strip() or None,
        "monitoring_hcp_email": (hcp.email or "").strip() or None,
        "setting_name": site.name,
        "setting_address": " ".join(site.address.split()) or None,
        "treatment_date": day,
        "dose": {56: "56 mg", 84: "84 mg"}.get(dose or 0, "other") if dose else None,
        "dose_other_mg": dose if dose and dose not in (56, 84) else None,
        "lot_number": administration.lot.lot_number,
        "total_monitoring_min": _form_minutes(start, discharge.discharged_at if discharge else None),
        "ready_to_leave_min": _form_minutes(start, session.ready_to_leave_at),
        "vitals_acceptable_before_administration": _gate_vitals_acceptable(session, start),
        "vitals_acceptable_before_completion": _vitals_acceptable_at_end(discharge),
        "bp_before_administration": _bp_pair(latest_baseline(session)),
        "bp_40_min": _bp_pair(bp_at_40_min(session, start)),
        "bp_before_completion": _bp_pair(discharge.vitals) if discharge else None,
        "sedation": any(int(o.total) <= 3 for o in moaas),
        "dissociation": cadss.exists() or AdverseEvent.Kind.DISSOCIATION in events,
        "respiratory_depression": alerts.filter(code__in=RESPIRATORY_ALERTS).exists()
        or alerts.filter(code__in=RESPIRATORY_URGENT_ALERTS, level="urgent").exists()
        or AdverseEvent.Kind.RESPIRATORY_DEPRESSION in events,
    }
    return values


def stored_values(values: dict[str, Any]) -> dict[str, Any]:
    """Form values as JSON: dates ISO, blood pressures ``[systolic, diastolic]``."""
    out: dict[str, Any] = {}
    for name, value in values.items():
        if isinstance(value, dt.date):
            out[name] = value.isoformat()
        elif isinstance(value, tuple):
            out[name] = list(value)
        else:
            out[name] = value
    return out


def display_value(kind: RemsFieldKind, value: Any) -> str:
    """How a stored REMS value is printed on the form and the screen."""
    if value is None:
        return "not recorded"
    if kind is RemsFieldKind.YES_NO:
        return "Yes" if value else "No"
    if kind is RemsFieldKind.BLOOD_PRESSURE:
        return f"{value[0]}/{value[1]} mmHg"
    if kind is RemsFieldKind.MINUTES:
        return f"{value} min"
    if kind is RemsFieldKind.MG:
        return f"{value} mg"
    if kind is RemsFieldKind.CHOICE:
        return str(value).capitalize() if value in ("female", "male") else str(value)
    return str(value)


def rems_rows(form: RemsForm) -> list[dict[str, Any]]:
    """The form's fields in form order with their printed values (for the PDF and the screen)."""
    return [
        {
            "name": f.name,
            "label": f.label,
            "value": display_value(f.kind, form.values.get(f.name)),
            "required": f.required,
        }
        for f in clinical.rems_form_fields()
    ]


@transaction.atomic
def generate_rems_form(session: DosingSession, *, by: Any) -> RemsForm:
    """Fill the REMS form from the discharged esketamine session, render its PDF and store it with its SHA-256.

    Called at discharge; may be called again to refresh a form not yet submitted (after a correction). Refused for
    other routes, before discharge, and once submitted (the submitted form is the record).
    """
    _require(by, Perm.RECORD_SESSION)
    session = DosingSession.objects.select_for_update().select_related("patient", "site").get(pk=session.pk)
    if not session.is_esketamine:
        raise DosingError("route", "the REMS Patient Monitoring Form is for esketamine sessions only")
    if session.state != S.DISCHARGED:
        raise DosingError("state", "the REMS form is filled at discharge")
    values = rems_values(session)
    problems = list(clinical.check_rems_form(values))
    due = clinical.rems_due_date(session_date(session), policy=clinic_policy(session.site_id))
    form = RemsForm.objects.select_for_update().filter(session=session).first()
    if form is not None and form.submitted_at is not None:
        raise DosingError("rems_form", "already submitted; the submitted form cannot change")
    old_pdf = form.pdf.name if form is not None and form.pdf else ""
    if form is None:
        form = RemsForm(session=session)
    form.values, form.problems, form.due_on = stored_values(values), problems, due
    form.generated_at, form.generated_by = timezone.now(), by
    discharge = Discharge.objects.filter(session=session).first()
    departure = departure_headline(discharge) if discharge is not None and discharge.is_departure else ""
    document = render_pdf(
        "dosing/pdf/rems_form.html",
        {"form": form, "rows": rems_rows(form), "session": session, "site": session.site, "departure": departure},
        session.site.zone,
    )
    form.pdf.save(f"{secrets.token_hex(16)}.pdf", ContentFile(document), save=False)
    form.pdf_sha256 = hashlib.sha256(document).hexdigest()
    form.save()
    if old_pdf:
        transaction.on_commit(lambda: form.pdf.storage.delete(old_pdf))
    _audit(Action.CREATE if not old_pdf else Action.UPDATE, form, session, by, problems=len(problems))
    return form


def open_rems_forms(sites: Any) -> Any:
    """REMS forms at ``sites`` not yet submitted, soonest due first."""
    return (
        RemsForm.objects.filter(session__site__in=sites, submitted_at__isnull=True)
        .select_related("session__patient", "session__site")
        .order_by("due_on", "id")
    )


@transaction.atomic
def mark_rems_submitted(form: RemsForm, *, by: Any, confirmation: str = "") -> RemsForm:
    """Record that the form was submitted to the REMS (with the REMS confirmation number when one is given)."""
    _require(by, Perm.RECORD_SESSION)
    form = RemsForm.objects.select_for_update().select_related("session__patient", "session__site").get(pk=form.pk)
    if form.submitted_at is not None:
        when = timezone.localtime(form.submitted_at, form.session.site.zone)
        raise DosingError("rems_form", f"already marked submitted on {when:%Y-%m-%d %H:%M} by {form.submitted_by}")
    number = (confirmation or "").strip()
    if len(number) > CONFIRMATION_MAX:
        raise DosingError("confirmation", f"at most {CONFIRMATION_MAX} characters")
    form.submitted_at, form.submitted_by, form.confirmation = timezone.now(), by, number
    form.save(update_fields=["submitted_at", "submitted_by", "confirmation"])
    _audit(
        Action.UPDATE,
        form,
        form.session,
        by,
        submitted=True,
        late=timezone.localdate(form.submitted_at, form.session.site.zone) > form.due_on,
    )
    return form


# --- Superbill ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Superbill:
    """What is billed for one session: who, when, where, the codes and the diagnoses they are for."""

    session: DosingSession
    service_date: dt.date
    lines: list[clinical.BillingLine]
    diagnoses: list[tuple[str, str]]
    rendering_provider: Any
    infusion_minutes: int | None
    esketamine_dose_mg: int | None


def superbill(session: DosingSession) -> Superbill:
    """``clinical.billing_codes`` from the dose record (IV minutes start → stop; esketamine devices × 28 mg) and the
    patient's current ICD-10-CM diagnoses (primary first). ``DosingError`` when the dose record is incomplete."""
    administration = administration_of(session)
    if administration is None:
        raise DosingError("administration", "nothing to bill: the dose is not recorded")
    minutes: int | None = None
    dose: int | None = None
    if session.route == "iv":
        if administration.stopped_at is None:
            raise DosingError("administration", "the infusion has not been stopped; bill after it ends")
        minutes = max(1, minutes_between(administration.started_at, administration.stopped_at))
    elif session.is_esketamine:
        dose = esketamine_dose_mg(administration)
        if dose is None:
            raise DosingError("administration", "no esketamine device is recorded")
    try:
        lines = clinical.billing_codes(session.route, infusion_minutes=minutes, esketamine_dose_mg=dose)
    except ValueError as error:
        field, _, message = str(error).partition(": ")
        raise DosingError(field, message or field) from error
    diagnoses = [(d.icd10_code, d.description) for d in session.patient.diagnosiss.current()]
    return Superbill(
        session=session,
        service_date=session_date(session),
        lines=lines,
        diagnoses=diagnoses,
        rendering_provider=administration.administered_by,
        infusion_minutes=minutes,
        esketamine_dose_mg=dose,
    )


SUPERBILL_COLUMNS = (
    "mrn",
    "patient",
    "date_of_birth",
    "service_date",
    "site",
    "rendering_provider",
    "code",
    "units",
    "description",
    "diagnoses",
    "evidence",
)


def superbill_csv(bill: Superbill) -> bytes:
    """One row per code, with the diagnosis pointers (ICD-10-CM codes) repeated on each row."""
    patient, buffer = bill.session.patient, io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(SUPERBILL_COLUMNS)
    pointers = " ".join(code for code, _ in bill.diagnoses)
    for line in bill.lines:
        writer.writerow(
            [
                patient.mrn,
                patient.legal_name,
                patient.date_of_birth.isoformat() if patient.date_of_birth else "",
                bill.service_date.isoformat(),
                bill.session.site.name,
                str(bill.rendering_provider),
                line.code,
                line.units,
                line.description,
                pointers,
                line.evidence.value,
            ]
        )
    return buffer.getvalue().encode("utf-8")


def export_superbill(session: DosingSession, *, by: Any, fmt: str) -> tuple[bytes, str, str]:
    """The superbill as ``(content, filename, content type)`` in ``fmt`` (``pdf`` or ``csv``), audited as an export."""
    _require(by, Perm.RECORD_SESSION)
    if fmt not in ("pdf", "csv"):
        raise DosingError("format", "pdf or csv")
    bill = superbill(session)
    if fmt == "csv":
        content, kind = superbill_csv(bill), "text/csv; charset=utf-8"
    else:
        content = render_pdf(
            "dosing/pdf/superbill.html", {"bill": bill, "session": session, "site": session.site}, session.site.zone
        )
        kind = "application/pdf"
    _audit(Action.EXPORT, session, session, by, document="superbill", format=fmt)
    filename = f"{session.patient.mrn}-superbill-{bill.service_date:%Y-%m-%d}.{fmt}"
    return content, filename, kind
