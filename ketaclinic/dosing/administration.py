"""The dose record: today's dose from the course's order, starting it, IV rate changes, stopping it, esketamine devices.

* :func:`dose_for_today` finds the course's order in force for the session's number (:func:`current_order`) and
  computes the amount on today's check-in weight with ``clinical.dose`` (the weight basis is kept and shown).
* :func:`start_dose` (only when :func:`~ketaclinic.dosing.actions.dosing_allowed`) checks the lot (this site, the
  right drug, not expired on the session's local date, enough on hand) and the witness (a second person at the site
  who administers doses, confirming with their own password), writes the :class:`DoseAdministration` and moves the
  session cleared → dosing. IM, sublingual and racemic intranasal doses are one administration (start = stop), so the
  session goes straight on to monitoring; esketamine records device 1 at the start.
* IV: :func:`change_rate`, :func:`pause_infusion`, :func:`resume_infusion`, :func:`stop_infusion` (→ monitoring).
  Esketamine: :func:`record_device` (5-minute rests, ``clinical.protocols.device_timing``; the last device →
  monitoring) and :func:`stop_devices` when the patient takes fewer devices than ordered.

The controlled-substance log (:mod:`ketaclinic.dosing.stock`) follows the doses: an IM/sublingual/intranasal dose and
each esketamine device write an ADMINISTERED movement when given; an infusion's drug is *in use* while it runs and is
written as ADMINISTERED (what went in) plus witnessed WASTED (the rest of the bag) when it stops.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils import timezone

from ketaclinic import clinical
from ketaclinic.accounts.clinic_policy import clinic_policy
from ketaclinic.accounts.roles import Perm
from ketaclinic.audit.models import AuditEvent
from ketaclinic.clinical.protocols import Protocol, device_timing
from ketaclinic.courses.models import DoseOrder
from ketaclinic.dosing import stock
from ketaclinic.dosing.actions import (
    DosingError,
    _audit,
    _locked,
    _move,
    _require,
    _save,
    dosing_allowed,
    latest_baseline,
    latest_decision,
)
from ketaclinic.dosing.models import (
    CheckIn,
    DoseAdministration,
    DosingSession,
    Drug,
    DrugLot,
    EsketamineDevice,
    InfusionRateChange,
    SessionState,
)

Action = AuditEvent.Action
S = SessionState
K = stock.K
TENTH = Decimal("0.1")
CENT = Decimal("0.01")
#: Routes given in one go: the administration starts and stops at the same moment.
SINGLE_ROUTES = frozenset({"im", "sublingual", "intranasal"})
DEFAULT_DILUENT = "0.9 % sodium chloride"
DEFAULT_DILUENT_ML = Decimal("100")
MAX_RATE_ML_PER_H = Decimal("999.9")
WEIGHT_BASIS_LABELS = {"actual": "actual body weight", "ideal": "ideal body weight", "adjusted": "adjusted body weight"}


def _q(value: Decimal, step: Decimal = TENTH) -> Decimal:
    return value.quantize(step, rounding=ROUND_HALF_UP)


# --- Today's dose ---------------------------------------------------------------------------------------------------


def current_order(session: DosingSession) -> DoseOrder | None:
    """The course's order in force for this session: the latest ordered among those effective from its number on
    or before (the latest order of the course when the session has no number)."""
    if session.course_ref is None:
        return None
    orders = DoseOrder.objects.filter(course_id=session.course_ref, course__patient_id=session.patient_id)
    if session.sequence_number is not None:
        orders = orders.filter(effective_from_session__lte=session.sequence_number)
    return orders.select_related("course", "ordered_by").order_by("-ordered_at", "-id").first()


@dataclass(frozen=True)
class TodayDose:
    """The dose for this session and what it was computed from (what the nurse is shown before starting)."""

    order: DoseOrder
    protocol: Protocol
    drug: str
    route: str
    amount_mg: Decimal
    mg_per_kg: Decimal | None
    weight_kg: Decimal | None
    weight_basis: str
    weight_source: str
    duration_min: Decimal | None
    devices: int | None
    rest_between_devices_min: float | None
    notes: tuple[str, ...]

    @property
    def is_infusion(self) -> bool:
        return self.duration_min is not None

    @property
    def weight_basis_label(self) -> str:
        return WEIGHT_BASIS_LABELS.get(self.weight_basis, self.weight_basis)

    def volume_ml(self, concentration_mg_per_ml: Decimal | None) -> Decimal | None:
        """The volume of drug to draw up from a lot of this concentration."""
        if not concentration_mg_per_ml:
            return None
        return _q(self.amount_mg / Decimal(concentration_mg_per_ml), CENT)

    def rate_ml_per_h(self, concentration_mg_per_ml: Decimal | None, diluent_ml: Decimal) -> Decimal | None:
        """The pump rate that runs the drug plus diluent over the ordered duration."""
        volume = self.volume_ml(concentration_mg_per_ml)
        if volume is None or not self.duration_min:
            return None
        return _q((volume + diluent_ml) * 60 / self.duration_min)


def _no_order(message: str) -> DosingError:
    return DosingError("order", f"{message}: ask the prescriber to order today's dose before starting")


def dose_for_today(session: DosingSession) -> TodayDose:
    """Today's dose from the course's order in force and today's check-in weight (``clinical.dose``).

    A per-kilogram order on actual body weight uses the weight taken at check-in today; on ideal or adjusted weight it
    uses the order's weight (today's scale does not change an ideal weight). An order a prescriber placed outside the
    protocol's bounds (an audited override) is computed as ordered: mg/kg × weight. Refused with a
    :class:`DosingError` on ``order`` when there is no course, no order for this session or the course has ended.
    """
    if session.course_ref is None:
        raise _no_order("this session belongs to no treatment course")
    order = current_order(session)
    if order is None:
        raise _no_order(f"the course has no dose order for session {session.sequence_number}")
    course = order.course
    if not course.is_active:
        raise _no_order(f"the course is {course.get_status_display().lower()}")
    proto = course.clinical_protocol
    drug = Drug.ESKETAMINE if proto.drug is clinical.Drug.ESKETAMINE else Drug.KETAMINE
    duration = order.duration_min if order.duration_min is not None else proto.infusion_min
    duration_min = None if duration is None else Decimal(str(duration))
    mg_per_kg = weight = None
    basis = source = ""
    if order.mg_per_kg is not None:
        basis = order.weight_basis or "actual"
        if basis == "actual":
            checkin = CheckIn.objects.filter(session=session).first()
            if checkin is None:
                raise DosingError("checkin", "today's weight is taken at check-in: check the patient in first")
            weight, source = checkin.weight_kg, "weighed at check-in today"
        else:
            weight, source = order.weight_kg, "from the order"
        assert weight is not None  # a per-kg order always carries its weight (database constraint)
        mg_per_kg = order.mg_per_kg
        try:
            core = clinical.dose(
                proto,
                weight_kg=float(weight),
                mg_per_kg=float(mg_per_kg),
                session_number=min(max(session.sequence_number or 1, 1), 1000),
                jurisdiction=course.jurisdiction,
                weight_basis=basis,
                policy=clinic_policy(session.site_id),
            )
            amount = _q(Decimal(str(core.amount_mg)))
        except ValueError:
            # Ordered outside the protocol's bounds with a prescriber's override: give what was ordered.
            amount = _q(mg_per_kg * weight)
        devices = None
    else:
        amount = order.amount_mg
        devices = order.devices
        if proto.device_mg is not None and devices is None:
            devices = int(amount // proto.device_mg)
    return TodayDose(
        order=order,
        protocol=proto,
        drug=drug,
        route=course.route,
        amount_mg=amount,
        mg_per_kg=mg_per_kg,
        weight_kg=weight,
        weight_basis=basis,
        weight_source=source,
        duration_min=duration_min,
        devices=devices,
        rest_between_devices_min=proto.rest_between_devices_min,
        notes=proto.notes,
    )


# --- Checks --------------------------------------------------------------------------------------------------------


def _when(
    session: DosingSession, field: str, value: dt.datetime | None, *, not_before: dt.datetime | None = None
) -> dt.datetime:
    moment = stock._when(field, value, timezone.now())
    if not_before is not None and moment < not_before:
        raise DosingError(field, f"cannot be before {_local(session, not_before)}")
    return moment


def _local(session: DosingSession, moment: dt.datetime) -> str:
    return f"{moment.astimezone(session.site.zone):%H:%M}"


def check_lot(session: DosingSession, lot: DrugLot | None, today: TodayDose, at: dt.datetime) -> DrugLot:
    """``lot`` locked, if it may supply today's dose; else :class:`DosingError` on ``lot`` saying why."""
    if lot is None:
        raise DosingError("lot", "choose the lot the dose is drawn from")
    lot = stock._locked(lot)
    if lot.site_id != session.site_id:
        raise DosingError("lot", f"lot {lot.lot_number} is not stock of this site")
    if lot.drug != today.drug:
        raise DosingError("lot", f"lot {lot.lot_number} is {lot.get_drug_display()}; today's dose is {today.drug}")
    local_day = at.astimezone(session.site.zone).date()
    if lot.expires_on < local_day:
        raise DosingError("lot", f"lot {lot.lot_number} expired on {lot.expires_on:%Y-%m-%d}; do not use it")
    if today.drug == Drug.KETAMINE and not lot.concentration_mg_per_ml:
        raise DosingError("lot", f"lot {lot.lot_number} has no concentration on the log; the volume cannot be drawn")
    on_hand = stock.on_hand_mg(lot)
    if on_hand < today.amount_mg:
        raise DosingError(
            "lot",
            f"only {stock.fmt_mg(on_hand)} mg on hand in lot {lot.lot_number}; "
            f"today's dose needs {stock.fmt_mg(today.amount_mg)} mg",
        )
    return lot


def _administration(session: DosingSession, route_check: str | None = None) -> DoseAdministration:
    if session.state != S.DOSING:
        raise DosingError("state", f"no dose is running (the session is {session.get_state_display().lower()})")
    administration = DoseAdministration.objects.select_related("lot").get(session=session)
    if route_check == "iv" and administration.route != "iv":
        raise DosingError("route", "rates and stops apply to an IV infusion")
    if route_check == "esketamine_nasal" and administration.route != "esketamine_nasal":
        raise DosingError("route", "devices are recorded for esketamine only")
    return administration


def _decimal(field: str, value: Any, low: Decimal, high: Decimal, unit: str) -> Decimal:
    try:
        number = Decimal(str(value))
    except (InvalidOperation, TypeError, ValueError):
        raise DosingError(field, f"a number from {low:g} to {high:g} {unit}") from None
    if not number.is_finite() or not low <= number <= high:
        raise DosingError(field, f"a number from {low:g} to {high:g} {unit}")
    return number


# --- Starting the dose ---------------------------------------------------------------------------------------------


@transaction.atomic
def start_dose(
    session: DosingSession,
    *,
    by: Any,
    lot: DrugLot | None,
    witness: Any,
    witness_password: str,
    started_at: dt.datetime | None = None,
    diluent: str = DEFAULT_DILUENT,
    diluent_ml: Decimal | int | float | str = DEFAULT_DILUENT_ML,
    site_of_administration: str = "",
    version: int | None = None,
) -> DoseAdministration:
    """Start today's dose: cleared → dosing (and on to monitoring for a dose given in one go or a one-device dose).

    Guarantees: only someone who administers doses starts it, only when dosing is allowed (cleared on the latest
    baseline); the amount is :func:`dose_for_today`'s; the lot passes :func:`check_lot`; the witness is confirmed
    (:func:`~ketaclinic.dosing.stock.confirm_witness`). IV: the drug is drawn into ``diluent_ml`` of ``diluent`` and
    the rate runs it over the ordered duration. IM needs ``site_of_administration``. Esketamine: device 1 is taken at
    ``started_at``, which is the dose start the discharge clocks count from.
    """
    _require(by, Perm.ADMINISTER_DOSE)
    session = _locked(session, version)
    if session.state != S.CLEARED:
        raise DosingError(
            "state", f"a dose starts only once the session is cleared (it is {session.get_state_display().lower()})"
        )
    if not dosing_allowed(session):
        decision, baseline = latest_decision(session), latest_baseline(session)
        stale = decision is None or baseline is None or decision.baseline_id != baseline.pk
        why = "new vital signs were taken: run the gate again" if stale else "a positive screen awaits a prescriber"
        raise DosingError("state", why)
    today = dose_for_today(session)
    now = timezone.now()
    started = _when(session, "started_at", started_at, not_before=session.checked_in_at)
    # What the nurse typed is checked before the lot and the witness, so a witness never confirms twice for a typo.
    diluent_text, volume = "", Decimal("0")
    if today.is_infusion:
        volume = _decimal("diluent_ml", diluent_ml, Decimal("10"), Decimal("1000"), "mL")
        diluent_text = f"{stock._text('diluent', diluent, maximum=45)} {volume:g} mL"
    site_text = site_of_administration.strip()
    if today.route == "im" and not site_text:
        raise DosingError("site_of_administration", "say where it was injected, e.g. left deltoid")
    if len(site_text) > 60:
        raise DosingError("site_of_administration", "at most 60 characters")
    lot = check_lot(session, lot, today, started)
    stock.confirm_witness(witness, witness_password, by=by, site=session.site)
    concentration = lot.concentration_mg_per_ml if today.drug == Drug.KETAMINE else None
    rate = today.rate_ml_per_h(concentration, volume) if today.is_infusion else None
    single = today.route in SINGLE_ROUTES
    administration = DoseAdministration.objects.create(
        session=session,
        order=today.order,
        drug=today.drug,
        route=today.route,
        weight_kg=today.weight_kg,
        weight_basis=today.weight_basis,
        mg_per_kg=today.mg_per_kg,
        amount_mg=today.amount_mg,
        amount_given_mg=today.amount_mg if single else None,
        concentration_mg_per_ml=concentration,
        volume_ml=today.volume_ml(concentration),
        diluent=diluent_text,
        rate_ml_per_h=rate,
        planned_duration_min=today.duration_min,
        lot=lot,
        site_of_administration=site_text,
        started_at=started,
        stopped_at=started if single else None,
        administered_by=by,
        witnessed_by=witness,
        recorded_at=now,
    )
    _move(session, S.DOSING)
    _audit(Action.CREATE, administration, session, by, lot_id=lot.pk, order_id=today.order.pk, witness_id=witness.pk)
    if single:
        stock.take(
            lot, K.ADMINISTERED, today.amount_mg, by=by, at=started, witness=witness, administration=administration
        )
        _move(session, S.MONITORING)
    elif today.devices is not None:
        _give_device(session, administration, 1, started, by, today.devices)
    _save(session, "state")
    return administration


def _give_device(
    session: DosingSession, administration: DoseAdministration, number: int, at: dt.datetime, by: Any, devices: int
) -> EsketamineDevice:
    device = EsketamineDevice.objects.create(administration=administration, number=number, at=at, by=by)
    mg = stock.ESKETAMINE_DEVICE_MG
    stock.take(
        administration.lot,
        K.ADMINISTERED,
        mg,
        by=by,
        at=at,
        administration=administration,
        reason=f"device {number} of {devices}",
        reserved_mg=mg,
    )
    _audit(Action.CREATE, device, session, by, administration_id=administration.pk, number=number)
    if number == devices:
        administration.stopped_at = at
        administration.amount_given_mg = mg * devices
        administration.save(update_fields=["stopped_at", "amount_given_mg"])
        _move(session, S.MONITORING)
    return device


# --- Esketamine devices --------------------------------------------------------------------------------------------


def devices_ordered(administration: DoseAdministration) -> int:
    return administration.order.devices or int(administration.amount_mg // stock.ESKETAMINE_DEVICE_MG)


def next_device(administration: DoseAdministration) -> tuple[int, dt.datetime | None] | None:
    """The next device's number and the earliest time it may be taken, or ``None`` when all are given."""
    given = [d.at for d in administration.devices.all()]
    total = devices_ordered(administration)
    if len(given) >= total:
        return None
    timing = device_timing(administration.order.course.protocol, given, timezone.now(), devices=total)
    return timing.number, timing.earliest_at


@transaction.atomic
def record_device(
    session: DosingSession, *, by: Any, at: dt.datetime | None = None, version: int | None = None
) -> EsketamineDevice:
    """Record the next esketamine device taken under observation; the last one moves the session to monitoring.

    Refused on ``at`` when less than the protocol's rest (5 minutes) after the previous device, naming the time the
    device may be taken; refused when every ordered device has been given.
    """
    _require(by, Perm.ADMINISTER_DOSE)
    session = _locked(session, version)
    administration = _administration(session, "esketamine_nasal")
    moment = _when(session, "at", at, not_before=administration.started_at)
    given = [d.at for d in administration.devices.all()]
    total = devices_ordered(administration)
    try:
        timing = device_timing(administration.order.course.protocol, given, moment, devices=total)
    except ValueError as error:
        raise DosingError("device", str(error).partition(": ")[2]) from error
    if not timing.ok:
        assert timing.earliest_at is not None  # only a later device can be refused
        raise DosingError(
            "at", f"{timing.problems[0]} Device {timing.number} may be given from {_local(session, timing.earliest_at)}"
        )
    administration.lot = stock._locked(administration.lot)
    device = _give_device(session, administration, timing.number, moment, by, total)
    _save(session, "state")
    return device


@transaction.atomic
def stop_devices(
    session: DosingSession, *, by: Any, reason: str, at: dt.datetime | None = None, version: int | None = None
) -> DoseAdministration:
    """End an esketamine dose before every ordered device was taken (declined, not tolerated), saying why.

    The devices not taken were never opened: they stay in stock. The session moves on to monitoring.
    """
    _require(by, Perm.ADMINISTER_DOSE)
    session = _locked(session, version)
    administration = _administration(session, "esketamine_nasal")
    text = stock._text("reason", reason)
    devices = list(administration.devices.all())
    moment = _when(session, "at", at, not_before=devices[-1].at)
    administration.stopped_at = moment
    administration.amount_given_mg = stock.ESKETAMINE_DEVICE_MG * len(devices)
    administration.stop_reason = text
    administration.save(update_fields=["stopped_at", "amount_given_mg", "stop_reason"])
    _move(session, S.MONITORING)
    _save(session, "state")
    _audit(Action.UPDATE, administration, session, by, devices=len(devices))
    return administration


# --- IV infusion ----------------------------------------------------------------------------------------------------


def current_rate(administration: DoseAdministration) -> Decimal:
    """The pump rate now (mL/h): the last change, else the rate the infusion started at."""
    last = administration.rate_changes.order_by("-at", "-id").first()
    return last.rate_ml_per_h if last is not None else (administration.rate_ml_per_h or Decimal("0"))


def infused_mg(administration: DoseAdministration, until: dt.datetime) -> Decimal:
    """An estimate of the drug infused by ``until`` from the rates and their times (never more than the dose)."""
    rate = administration.rate_ml_per_h
    total_ml = (rate or Decimal("0")) * (administration.planned_duration_min or Decimal("0")) / 60
    if not total_ml:
        return Decimal("0")
    since, volume = administration.started_at, Decimal("0")
    for change in administration.rate_changes.order_by("at", "id"):
        if change.at >= until:
            break
        volume += (rate or Decimal("0")) * Decimal((change.at - since).total_seconds()) / 3600
        since, rate = change.at, change.rate_ml_per_h
    volume += (rate or Decimal("0")) * Decimal(max((until - since).total_seconds(), 0)) / 3600
    return min(administration.amount_mg, _q(administration.amount_mg * volume / total_ml))


@transaction.atomic
def change_rate(
    session: DosingSession,
    *,
    by: Any,
    rate_ml_per_h: Decimal | int | float | str,
    reason: str,
    at: dt.datetime | None = None,
    version: int | None = None,
) -> InfusionRateChange:
    """Change the infusion rate (0 pauses it), saying why; the time is not before the start or the last change."""
    _require(by, Perm.ADMINISTER_DOSE)
    session = _locked(session, version)
    administration = _administration(session, "iv")
    rate = _q(_decimal("rate_ml_per_h", rate_ml_per_h, Decimal("0"), MAX_RATE_ML_PER_H, "mL/h"))
    text = stock._text("reason", reason)
    last = administration.rate_changes.order_by("-at", "-id").first()
    moment = _when(session, "at", at, not_before=last.at if last else administration.started_at)
    change = InfusionRateChange.objects.create(
        administration=administration, at=moment, rate_ml_per_h=rate, reason=text, by=by
    )
    _save(session)
    _audit(Action.CREATE, change, session, by, administration_id=administration.pk)
    return change


def pause_infusion(
    session: DosingSession, *, by: Any, reason: str, at: dt.datetime | None = None, version: int | None = None
) -> InfusionRateChange:
    """Pause the infusion (rate 0), saying why (an alert, the patient's request)."""
    return change_rate(session, by=by, rate_ml_per_h=0, reason=reason, at=at, version=version)


@transaction.atomic
def resume_infusion(
    session: DosingSession,
    *,
    by: Any,
    reason: str = "Resumed",
    at: dt.datetime | None = None,
    version: int | None = None,
) -> InfusionRateChange:
    """Resume a paused infusion at the last rate it ran at (the starting rate if it never changed)."""
    _require(by, Perm.ADMINISTER_DOSE)
    administration = _administration(_locked(session, version), "iv")
    if current_rate(administration) != 0:
        raise DosingError("rate_ml_per_h", "the infusion is not paused")
    running = administration.rate_changes.filter(rate_ml_per_h__gt=0).order_by("-at", "-id").first()
    rate = running.rate_ml_per_h if running is not None else administration.rate_ml_per_h or Decimal("0")
    return change_rate(session, by=by, rate_ml_per_h=rate, reason=reason, at=at, version=version)


@transaction.atomic
def stop_infusion(
    session: DosingSession,
    *,
    by: Any,
    stopped_at: dt.datetime | None = None,
    amount_given_mg: Decimal | int | float | str | None = None,
    reason: str = "",
    witness: Any = None,
    witness_password: str = "",
    version: int | None = None,
) -> DoseAdministration:
    """Stop the infusion: dosing → monitoring, and write it to the controlled-substance log.

    ``amount_given_mg`` defaults to the whole dose (the infusion ran to completion). Less than the whole dose is an
    early stop: it needs a ``reason`` and a witness (password-confirmed) for the rest of the bag, which is wasted.
    """
    _require(by, Perm.ADMINISTER_DOSE)
    session = _locked(session, version)
    administration = _administration(session, "iv")
    last = administration.rate_changes.order_by("-at", "-id").first()
    moment = _when(session, "stopped_at", stopped_at, not_before=last.at if last else administration.started_at)
    amount = administration.amount_mg
    given = (
        amount
        if amount_given_mg in (None, "")
        else _q(_decimal("amount_given_mg", amount_given_mg, Decimal("0"), amount, "mg"))
    )
    text = (reason or "").strip()
    remainder = amount - given
    if remainder:
        text = stock._text("reason", reason)
        stock.confirm_witness(witness, witness_password, by=by, site=session.site)
    elif len(text) > 300:
        raise DosingError("reason", "at most 300 characters")
    administration.stopped_at = moment
    administration.amount_given_mg = given
    administration.stop_reason = text
    administration.save(update_fields=["stopped_at", "amount_given_mg", "stop_reason"])
    lot = stock._locked(administration.lot)
    witness_row = administration.witnessed_by if not remainder else witness
    if given:
        stock.take(lot, K.ADMINISTERED, given, by=by, at=moment, witness=witness_row, administration=administration)
    if remainder:
        stock.take(
            lot,
            K.WASTED,
            remainder,
            by=by,
            at=moment,
            witness=witness,
            administration=administration,
            reason=f"Infusion stopped early: {text}"[:300],
        )
    _move(session, S.MONITORING)
    _save(session, "state")
    _audit(Action.UPDATE, administration, session, by, completed=not remainder)
    return administration
