"""Treatment protocols as data, the dose a session should get, and the schedule rules a course must keep.

Each :class:`Protocol` names its drug, route, indications, dose rule (per kilogram with bounds, or fixed amounts),
infusion time, phases and sources. :func:`dose` turns a protocol and a patient into a :class:`DoseOrder`; every
argument that is missing or out of range raises ``ValueError`` naming the argument and the allowed values, so a dose
is never guessed and never silently clamped. :func:`phase_for_week` and :func:`check_spacing` give the scheduler the
rules a series of sessions must follow.

Protocol ids: ``ketamine_iv_standard``, ``ketamine_im``, ``ketamine_sublingual``, ``ketamine_intranasal_racemic``,
``esketamine_trd`` and ``esketamine_mdsi``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import TypeVar

from ketaclinic.clinical.policy import DEFAULT_POLICY, ClinicPolicy
from ketaclinic.clinical.rules import rule
from ketaclinic.clinical.sources import Citation, Evidence, cite
from ketaclinic.clinical.vitals import aware_datetime, in_range, number, validate_age_years, validate_weight_kg


class Route(StrEnum):
    """How the drug is given. ``esketamine_nasal`` is SPRAVATO; ``intranasal`` is racemic ketamine spray."""

    IV = "iv"
    IM = "im"
    SUBLINGUAL = "sublingual"
    INTRANASAL = "intranasal"
    ESKETAMINE_NASAL = "esketamine_nasal"
    ORAL = "oral"
    RECTAL = "rectal"  # only for dose equivalence; no protocol uses it


class Drug(StrEnum):
    """The molecule given."""

    KETAMINE = "ketamine"  # racemic
    ESKETAMINE = "esketamine"


class Indication(StrEnum):
    """What a course treats: treatment-resistant depression, or MDD with acute suicidal ideation or behaviour."""

    TRD = "trd"
    MDSI = "mdsi"


class Jurisdiction(StrEnum):
    """Whose esketamine label applies. Hong Kong follows the EU-structured label."""

    US = "US"
    EU = "EU"
    HK = "HK"


class WeightBasis(StrEnum):
    """Which body weight a per-kg dose used; no source settles actual vs ideal vs adjusted, so it is recorded."""

    ACTUAL = "actual"
    IDEAL = "ideal"
    ADJUSTED = "adjusted"


@dataclass(frozen=True)
class PerKgDose:
    """A dose of ``default_mg_per_kg`` (prescriber may choose within the inclusive bounds)."""

    default_mg_per_kg: float
    min_mg_per_kg: float
    max_mg_per_kg: float


@dataclass(frozen=True)
class FixedDose:
    """A fixed dose chosen from ``allowed_mg`` (the protocol's default is ``default_mg``)."""

    default_mg: float
    allowed_mg: tuple[float, ...]


@dataclass(frozen=True)
class Phase:
    """One phase of a course: the course weeks it spans (``last_week`` None = open-ended) and its frequency."""

    name: str
    first_week: int
    last_week: int | None
    sessions_per_week_min: float
    sessions_per_week_max: float
    total_sessions: int | None = None
    note: str = ""

    def covers(self, week: int) -> bool:
        """Whether course week ``week`` (1-based) falls in this phase."""
        return self.first_week <= week and (self.last_week is None or week <= self.last_week)


@dataclass(frozen=True)
class Protocol:
    """A treatment protocol: everything needed to order a dose and schedule a course."""

    id: str
    title: str
    drug: Drug
    route: Route
    indications: tuple[Indication, ...]
    dose_rule: PerKgDose | FixedDose
    infusion_min: float | None
    phases: tuple[Phase, ...]
    min_age_years: float
    citations: tuple[Citation, ...]
    evidence: Evidence
    device_mg: int | None = None
    rest_between_devices_min: float | None = None
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class DoseOrder:
    """The dose for one session.

    ``amount_mg`` is rounded to 0.1 mg; ``duration_min`` and ``rate_mg_per_min`` are set for infusions only;
    ``devices`` and ``rest_between_devices_min`` for esketamine; ``weight_basis_kg`` and ``mg_per_kg`` whenever a
    weight was given.
    """

    protocol_id: str
    drug: Drug
    route: Route
    amount_mg: float
    duration_min: float | None
    rate_mg_per_min: float | None
    devices: int | None
    rest_between_devices_min: float | None
    weight_basis_kg: float | None
    weight_basis: WeightBasis | None
    mg_per_kg: float | None
    session_number: int
    jurisdiction: Jurisdiction
    notes: tuple[str, ...]
    citations: tuple[Citation, ...]
    evidence: Evidence


@dataclass(frozen=True)
class DeviceTiming:
    """Whether the next esketamine device may be given at ``proposed``.

    ``number`` is the device it would be (1-based); ``earliest_at`` is when it may be given (the previous device's time
    plus the rest, or ``None`` for the first device); ``problems`` say why not, in plain language.
    """

    ok: bool
    number: int
    earliest_at: datetime | None
    problems: tuple[str, ...]


@dataclass(frozen=True)
class SpacingCheck:
    """Whether a proposed session keeps the protocol's schedule; ``problems`` say why not, in plain language."""

    ok: bool
    problems: tuple[str, ...]
    course_week: int
    phase: Phase | None


# --- Rules -----------------------------------------------------------------------------------------------------------

R_IV = rule(
    "protocols.ketamine_iv_standard",
    area="protocols",
    title="IV racemic ketamine 0.5 mg/kg over 40 minutes; induction of six sessions over 2–3 weeks",
    statement="Dose = mg/kg × dosing weight (default 0.5 mg/kg, prescriber range 0.1–1.0 mg/kg) infused over "
    "40 min at dose/40 mg/min; induction of 6 infusions, 2–3 a week over 2–3 weeks; maintenance individualised "
    "(up to weekly).",
    citations=(
        cite("R13", "0.1–1.0 mg/kg over 40 min"),
        cite("R14", "Zarate 2006: 0.5 mg/kg over 40 min"),
        cite("R15", "Andrade 2017: dose, frequency, maintenance"),
        cite("R11", "6 infusions three times weekly over 12 days"),
        cite("R12", "6 infusions thrice weekly; 4 weekly maintenance"),
    ),
    note="Which weight to use in obesity is not settled by any source; the basis used is recorded on the order.",
)
R_IM = rule(
    "protocols.ketamine_im",
    area="protocols",
    title="IM racemic ketamine 0.5–1 mg/kg bolus",
    statement="Dose = mg/kg × dosing weight, default 0.5 mg/kg, prescriber range 0.5–1.0 mg/kg, given as one IM bolus; "
    "the schedule mirrors the IV induction and maintenance.",
    citations=(cite("R15", "Andrade 2017: IM/SC bolus is safe and effective"), cite("R16", "IM bioavailability 93 %")),
    evidence=Evidence.BEST_KNOWLEDGE,
    note="Per-kg IM antidepressant dose from Loo 2016 (not in a reachable copy); no published IM schedule, so the IV "
    "schedule is used. An IM dose cannot be slowed or stopped once given.",
)
R_SL = rule(
    "protocols.ketamine_sublingual",
    area="protocols",
    title="Very-low-dose sublingual ketamine 10 mg every 2–3 days or weekly",
    statement="10 mg sublingual (100 mg/mL solution held 5 min, then swallowed), every 2–3 days or weekly.",
    citations=(cite("R17", "Lara 2013: 10 mg sublingual"), cite("R16", "sublingual bioavailability 25–40 %")),
    note="The ~100 mg sublingual doses in the ASKP3 table are an equivalence estimate, not a studied protocol.",
)
R_IN = rule(
    "protocols.ketamine_intranasal_racemic",
    area="protocols",
    title="Intranasal racemic ketamine 50 mg single dose",
    statement="50 mg intranasal racemic ketamine as five 10-mg sprays, one session; repeated schedules are not "
    "established.",
    citations=(cite("R16", "intranasal racemic bioavailability 40–50 %"),),
    evidence=Evidence.BEST_KNOWLEDGE,
    note="Lapidus 2014 Biol Psychiatry, not in a reachable copy.",
)
R_ESK_TRD = rule(
    "protocols.esketamine_trd",
    area="protocols",
    title="Esketamine for treatment-resistant depression: label schedule",
    statement="Weeks 1–4 twice weekly, day-1 56 mg then 56 or 84 mg; weeks 5–8 56 or 84 mg weekly; from week 9 56 "
    "or 84 mg weekly or every 2 weeks. 84 mg only after a first 56 mg dose. EU/HK label: patients ≥65 years start at "
    "28 mg and may take 28, 56 or 84 mg; dose changes in 28-mg steps.",
    citations=(
        cite("R1", "§2 Table 1 TRD dosing"),
        cite("R2", "84 mg only after initial 56 mg"),
        cite("R3", "≥65 y day-1 28 mg; 28-mg increments"),
    ),
    note="'Dose changes in 28-mg increments' is read as at most one 28-mg step up per session (safer than allowing "
    "28 → 84). US patients ≥65 may start at 28 mg (TRANSFORM-3, best knowledge) but default to the label's 56 mg.",
)
R_ESK_JP = rule(
    "protocols.esketamine_low_start_japanese_ancestry",
    area="protocols",
    title="Esketamine 28-mg start for patients of Japanese ancestry (trial-derived option)",
    statement="When a patient of Japanese ancestry is dosed, day 1 defaults to 28 mg (56 mg allowed) and later "
    "doses may be 28, 56 or 84 mg.",
    citations=(cite("R7", "ESCAPE-TRD: 28 mg initial dose for Japanese ancestry and age 65–74"),),
    evidence=Evidence.POLICY,
    note="No label rule; a clinic applies it by passing japanese_ancestry=True.",
)
R_ESK_MDSI = rule(
    "protocols.esketamine_mdsi",
    area="protocols",
    title="Esketamine for MDD with acute suicidal ideation or behaviour: 84 mg twice weekly for 4 weeks",
    statement="84 mg twice weekly for 4 weeks, with an oral antidepressant; may be reduced to 56 mg for tolerability "
    "after the first dose; use beyond 4 weeks not systematically evaluated. EU/HK label: adults under 65 only.",
    citations=(cite("R1", "§2 MDSI dosing"), cite("R2", "MDSI dosing"), cite("R3", "psychiatric emergency: <65 y")),
)
R_ESK_DEVICE = rule(
    "protocols.esketamine_devices",
    area="protocols",
    title="Esketamine is given in 28-mg devices with 5-minute rests",
    statement="Each device delivers 28 mg (one spray per nostril); 56 mg = 2 devices, 84 mg = 3; rest 5 minutes "
    "between devices; do not prime. Amounts that are not whole devices are rejected. A device proposed less than 5 "
    "minutes after the previous one, or more devices than ordered, is refused, with the time the next may be given.",
    citations=(cite("R1", "§2 administration"), cite("R2", "administration")),
    note="The label says to wait 5 minutes after each device; it is read as at least 5 minutes between the times "
    "recorded for consecutive devices (the safer reading: never sooner, later is fine).",
)
R_SPACING = rule(
    "protocols.session_spacing",
    area="protocols",
    title="Sessions keep the protocol frequency and a minimum interval",
    statement="A proposed session is flagged when it is closer than the clinic's minimum interval to another session "
    "of the course, exceeds its phase's sessions per course week or total sessions, or falls after the protocol's "
    "defined schedule.",
    citations=(cite("R1", "§2 dosing frequency"), cite("R11", "thrice weekly"), cite("R12", "thrice weekly")),
    evidence=Evidence.POLICY,
)
R_MISSED = rule(
    "protocols.esketamine_missed_dose",
    area="protocols",
    title="Missed esketamine doses",
    statement="A missed session in weeks 1–4 continues the current schedule; a missed session during maintenance with "
    "worsening may return to the previous, more frequent schedule by clinical judgement.",
    citations=(cite("R6", "missed dose"), cite("R1", "PDR: missed doses")),
)

_IV_PHASES = (
    Phase("induction", 1, 3, 2, 3, 6, "six sessions over 2–3 weeks"),
    Phase("maintenance", 4, None, 0, 1, None, "individualised: dose before the effect is expected to wear off"),
)

PROTOCOLS: Mapping[str, Protocol] = {
    p.id: p
    for p in (
        Protocol(
            "ketamine_iv_standard",
            "Racemic ketamine 0.5 mg/kg IV over 40 min",
            Drug.KETAMINE,
            Route.IV,
            (Indication.TRD,),
            PerKgDose(0.5, 0.1, 1.0),
            40.0,
            _IV_PHASES,
            18,
            R_IV.citations,
            R_IV.evidence,
        ),
        Protocol(
            "ketamine_im",
            "Racemic ketamine 0.5–1 mg/kg IM",
            Drug.KETAMINE,
            Route.IM,
            (Indication.TRD,),
            PerKgDose(0.5, 0.5, 1.0),
            None,
            _IV_PHASES,
            18,
            R_IM.citations,
            R_IM.evidence,
            notes=("An IM dose cannot be slowed or stopped once given.",),
        ),
        Protocol(
            "ketamine_sublingual",
            "Racemic ketamine 10 mg sublingual (very low dose)",
            Drug.KETAMINE,
            Route.SUBLINGUAL,
            (Indication.TRD,),
            FixedDose(10.0, (10.0,)),
            None,
            (Phase("ongoing", 1, None, 1, 3, None, "every 2–3 days or weekly"),),
            18,
            R_SL.citations,
            R_SL.evidence,
            notes=("Hold 100 mg/mL solution under the tongue for 5 minutes, then swallow.",),
        ),
        Protocol(
            "ketamine_intranasal_racemic",
            "Racemic ketamine 50 mg intranasal",
            Drug.KETAMINE,
            Route.INTRANASAL,
            (Indication.TRD,),
            FixedDose(50.0, (50.0,)),
            None,
            (Phase("single dose", 1, 1, 1, 1, 1, "repeated schedules not established"),),
            18,
            R_IN.citations,
            R_IN.evidence,
            notes=("Five sprays of 10 mg.",),
        ),
        Protocol(
            "esketamine_trd",
            "Esketamine nasal spray for treatment-resistant depression",
            Drug.ESKETAMINE,
            Route.ESKETAMINE_NASAL,
            (Indication.TRD,),
            FixedDose(56.0, (28.0, 56.0, 84.0)),
            None,
            (
                Phase("induction", 1, 4, 2, 2, 8, "evaluate therapeutic benefit at the end of induction"),
                Phase("maintenance weekly", 5, 8, 1, 1),
                Phase(
                    "maintenance individualised", 9, None, 0.5, 1, None, "least frequent dosing that maintains response"
                ),
            ),
            18,
            R_ESK_TRD.citations + R_ESK_DEVICE.citations,
            R_ESK_TRD.evidence,
            28,
            5.0,
            (
                "Do not prime the device; one spray per nostril; 5 minutes between devices.",
                "Observe for at least 2 hours after the first device.",
            ),
        ),
        Protocol(
            "esketamine_mdsi",
            "Esketamine nasal spray for MDD with acute suicidal ideation or behaviour",
            Drug.ESKETAMINE,
            Route.ESKETAMINE_NASAL,
            (Indication.MDSI,),
            FixedDose(84.0, (56.0, 84.0)),
            None,
            (Phase("treatment", 1, 4, 2, 2, 8, "use beyond 4 weeks not systematically evaluated"),),
            18,
            R_ESK_MDSI.citations + R_ESK_DEVICE.citations,
            R_ESK_MDSI.evidence,
            28,
            5.0,
            (
                "Given with an oral antidepressant.",
                "Do not prime the device; one spray per nostril; 5 minutes between devices.",
                "Observe for at least 2 hours after the first device.",
            ),
        ),
    )
}

_ESKETAMINE_LOW_START_AGE = 65  # EU/HK label age for the 28-mg start; ESCAPE-TRD used 65–74


def get_protocol(protocol: str | Protocol) -> Protocol:
    """The protocol with this id (or the protocol itself); an unknown id raises ``ValueError`` listing the ids."""
    if isinstance(protocol, Protocol):
        return protocol
    try:
        return PROTOCOLS[protocol]
    except (KeyError, TypeError):
        raise ValueError(
            f"protocol: {protocol!r} is not a protocol; known protocols are {', '.join(PROTOCOLS)}"
        ) from None


_E = TypeVar("_E", bound=StrEnum)


def parse_enum(kind: type[_E], field: str, value: object) -> _E:
    """``value`` as a member of ``kind`` (its string value is accepted); anything else raises ``ValueError``."""
    try:
        if not isinstance(value, str):
            raise ValueError
        return kind(value)
    except ValueError:
        raise ValueError(f"{field}: {value!r} is not allowed; allowed values are {', '.join(kind)}") from None


def _round(value: float, places: str) -> float:
    # Decimal on the shortest repr keeps 0.5 × 82.3 = 41.15 → 41.2 instead of float's 41.1.
    return float(Decimal(repr(value)).quantize(Decimal(places), rounding=ROUND_HALF_UP))


def _session_number(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 1000:
        raise ValueError(f"session_number: must be a whole number from 1 to 1000, got {value!r}")
    return value


def _allowed(amount: object, allowed: Sequence[float], field: str, why: str) -> float:
    value = number(field, amount)
    if value not in allowed:
        shown = ", ".join(f"{a:g}" for a in allowed)
        raise ValueError(f"{field}: {value:g} mg is not allowed {why}; allowed: {shown} mg")
    return value


def dose(
    protocol: str | Protocol,
    *,
    weight_kg: float | None = None,
    age_years: float | None = None,
    session_number: int = 1,
    jurisdiction: str = "US",
    mg_per_kg: float | None = None,
    amount_mg: float | None = None,
    previous_amount_mg: float | None = None,
    japanese_ancestry: bool = False,
    weight_basis: str = "actual",
    policy: ClinicPolicy | None = None,
) -> DoseOrder:
    """The dose order for session ``session_number`` of ``protocol``.

    Per-kg protocols need ``weight_kg`` (0 < weight ≤ 350) and accept ``mg_per_kg`` within the protocol's bounds.
    Fixed-dose protocols accept ``amount_mg`` from their allowed amounts. Esketamine needs ``age_years``; its amount
    must be whole 28-mg devices allowed for that session, age and jurisdiction (84 mg never on day 1, never more than
    one 28-mg step above ``previous_amount_mg``). ``japanese_ancestry`` applies the ESCAPE-TRD 28-mg start option
    to ``esketamine_trd`` and is ignored by other protocols (it describes the patient, not the order). Any argument
    that does not apply to the protocol, is missing, or is out of range raises ``ValueError`` naming it.
    """
    proto = get_protocol(protocol)
    policy = policy or DEFAULT_POLICY
    session = _session_number(session_number)
    where = parse_enum(Jurisdiction, "jurisdiction", jurisdiction)
    basis = parse_enum(WeightBasis, "weight_basis", weight_basis)
    weight = None if weight_kg is None else validate_weight_kg(weight_kg)
    age = None if age_years is None else validate_age_years(age_years)
    min_age = max(proto.min_age_years, policy.minimum_age_years)
    if age is not None and age < min_age:
        raise ValueError(f"age_years: {age:g} is below the minimum age {min_age:g} years for {proto.id}")
    notes = list(proto.notes)

    if isinstance(proto.dose_rule, PerKgDose):
        rule_ = proto.dose_rule
        if weight is None:
            raise ValueError(f"weight_kg: required for {proto.id}, which is dosed per kilogram")
        for name, given in (("amount_mg", amount_mg), ("previous_amount_mg", previous_amount_mg)):
            if given is not None:
                raise ValueError(f"{name}: not used by {proto.id}, which is dosed per kilogram; give mg_per_kg")
        per_kg = rule_.default_mg_per_kg
        if mg_per_kg is not None:
            per_kg = in_range("mg_per_kg", mg_per_kg, rule_.min_mg_per_kg, rule_.max_mg_per_kg, "mg/kg")
        amount = _round(per_kg * weight, "0.1")
        rate = None if proto.infusion_min is None else _round(amount / proto.infusion_min, "0.001")
        return DoseOrder(
            proto.id,
            proto.drug,
            proto.route,
            amount,
            proto.infusion_min,
            rate,
            None,
            None,
            weight,
            basis,
            per_kg,
            session,
            where,
            tuple(notes),
            proto.citations,
            proto.evidence,
        )

    if mg_per_kg is not None:
        raise ValueError(f"mg_per_kg: not used by {proto.id}, which is a fixed dose; give amount_mg")
    if proto.drug is Drug.ESKETAMINE:
        chosen, extra_notes = _esketamine_amount(
            proto, age, session, where, amount_mg, previous_amount_mg, japanese_ancestry
        )
        notes.extend(extra_notes)
    else:
        if previous_amount_mg is not None:
            raise ValueError(f"previous_amount_mg: not used by {proto.id}")
        fixed = proto.dose_rule
        chosen = (
            fixed.default_mg
            if amount_mg is None
            else _allowed(amount_mg, fixed.allowed_mg, "amount_mg", f"for {proto.id}")
        )
    devices = None if proto.device_mg is None else int(chosen // proto.device_mg)
    per_kg_given = None if weight is None else _round(chosen / weight, "0.001")
    return DoseOrder(
        proto.id,
        proto.drug,
        proto.route,
        chosen,
        None,
        None,
        devices,
        proto.rest_between_devices_min,
        weight,
        None if weight is None else basis,
        per_kg_given,
        session,
        where,
        tuple(notes),
        proto.citations,
        proto.evidence,
    )


def _esketamine_amount(
    proto: Protocol,
    age: float | None,
    session: int,
    where: Jurisdiction,
    amount_mg: float | None,
    previous_amount_mg: float | None,
    japanese_ancestry: bool,
) -> tuple[float, list[str]]:
    """The esketamine amount for this session, and notes explaining any label-specific choice."""
    if age is None:
        raise ValueError(f"age_years: required for {proto.id} (starting dose and label age limits depend on it)")
    eu = where in (Jurisdiction.EU, Jurisdiction.HK)
    older = age >= _ESKETAMINE_LOW_START_AGE
    notes: list[str] = []
    first: tuple[float, ...]
    later: tuple[float, ...]
    if proto.id == "esketamine_mdsi":
        if eu and older:
            raise ValueError(f"age_years: {age:g}: under the EU/HK label esketamine for MDSI is for adults under 65")
        first, later, default = (84.0,), (56.0, 84.0), 84.0
        if session > 8:
            notes.append("Beyond 4 weeks (8 sessions) use has not been systematically evaluated.")
    elif eu and older:
        first, later, default = (28.0,), (28.0, 56.0, 84.0), 28.0
        notes.append("EU/HK label: patients aged 65 or over start at 28 mg.")
    elif japanese_ancestry:
        first, later, default = (28.0, 56.0), (28.0, 56.0, 84.0), 28.0
        notes.append("Clinic option from ESCAPE-TRD: 28 mg start for Japanese ancestry.")
    elif older:
        first, later, default = (56.0, 28.0), (28.0, 56.0, 84.0), 56.0
        notes.append("US label starts at 56 mg at any adult age; 28 mg may be chosen (TRANSFORM-3, best knowledge).")
    else:
        first, later, default = (56.0,), (56.0, 84.0), 56.0
    allowed = first if session == 1 else later
    previous = None
    if previous_amount_mg is not None:
        if session == 1:
            raise ValueError("previous_amount_mg: session 1 has no previous dose")
        previous = _allowed(previous_amount_mg, first + later, "previous_amount_mg", f"for {proto.id}")
    if amount_mg is None:
        # Every first-session amount is also allowed later, so the previous dose is always a valid default.
        chosen = default if previous is None else previous
    else:
        why = "on day 1" if session == 1 else f"for {proto.id} at this age and jurisdiction"
        chosen = _allowed(amount_mg, allowed, "amount_mg", why)
    if previous is not None and chosen - previous > 28:
        raise ValueError(f"amount_mg: {chosen:g} mg is more than one 28-mg step above the previous {previous:g} mg")
    return chosen, notes


def device_timing(
    protocol: str | Protocol, given_at: Sequence[datetime], proposed: datetime, *, devices: int
) -> DeviceTiming:
    """Whether the next device of an esketamine dose of ``devices`` devices may be given at ``proposed``, after the
    devices already given at ``given_at`` (aware datetimes, in the order given).

    Refused (``ok`` False, with ``earliest_at``): less than the protocol's rest after the previous device, or before
    it. A protocol not given in devices, a device count outside 1–3 or all devices already given raise ``ValueError``
    naming the argument (rule ``protocols.esketamine_devices``).
    """
    proto = get_protocol(protocol)
    if proto.device_mg is None or proto.rest_between_devices_min is None:
        raise ValueError(f"protocol: {proto.id} is not given in devices")
    if isinstance(devices, bool) or not isinstance(devices, int) or not 1 <= devices <= 3:
        raise ValueError(f"devices: a whole number from 1 to 3, got {devices!r}")
    proposed = aware_datetime("proposed", proposed)
    given = [aware_datetime(f"given_at[{i}]", g) for i, g in enumerate(given_at)]
    if len(given) >= devices:
        raise ValueError(f"given_at: all {devices} devices of this dose have been given")
    number = len(given) + 1
    if not given:
        return DeviceTiming(True, 1, None, ())
    rest = timedelta(minutes=proto.rest_between_devices_min)
    earliest = max(given) + rest
    if proposed >= earliest:
        return DeviceTiming(True, number, earliest, ())
    minutes = (proposed - max(given)) / timedelta(minutes=1)
    problem = (
        f"Device {number} is {minutes:.1f} minutes after device {number - 1}; rest "
        f"{proto.rest_between_devices_min:g} minutes between devices."
        if minutes >= 0
        else f"Device {number} cannot be given before device {number - 1}."
    )
    return DeviceTiming(False, number, earliest, (problem,))


def phase_for_week(protocol: str | Protocol, week: int) -> Phase | None:
    """The phase covering course week ``week`` (1-based), or ``None`` after a protocol's defined schedule ends."""
    proto = get_protocol(protocol)
    if isinstance(week, bool) or not isinstance(week, int) or week < 1:
        raise ValueError(f"week: must be a whole number of at least 1, got {week!r}")
    return next((p for p in proto.phases if p.covers(week)), None)


def min_spacing_hours(protocol: str | Protocol, *, policy: ClinicPolicy | None = None) -> float:
    """The minimum interval between two sessions of a course of ``protocol``, in hours (a clinic setting)."""
    get_protocol(protocol)
    return (policy or DEFAULT_POLICY).session_min_spacing_hours


def course_week(course_start: datetime, when: datetime) -> int:
    """The 1-based course week of ``when`` for a course starting at ``course_start`` (7-day blocks).

    Weeks are calendar weeks: with both datetimes in the clinic's zone a week is 7 days on the wall clock, also across
    a daylight-saving change (which is what "twice weekly" means to a patient).
    """
    aware_datetime("course_start", course_start)
    aware_datetime("when", when)
    if when < course_start:
        raise ValueError(f"when: {when.isoformat()} is before the course start {course_start.isoformat()}")
    return (when - course_start) // timedelta(days=7) + 1


def check_spacing(
    protocol: str | Protocol,
    previous_sessions: Sequence[datetime],
    proposed: datetime,
    *,
    course_start: datetime | None = None,
    policy: ClinicPolicy | None = None,
) -> SpacingCheck:
    """Whether a session at ``proposed`` keeps the schedule of ``protocol`` given the course's other sessions.

    Course weeks count in 7-day blocks from ``course_start`` (default: the earliest session). Problems: closer than
    :func:`min_spacing_hours` to another session; more sessions in its course week than its phase allows; more
    sessions in the phase than its total; a week after the protocol's defined schedule. Datetimes must be aware.
    """
    proto = get_protocol(protocol)
    proposed = aware_datetime("proposed", proposed)
    previous = [aware_datetime(f"previous_sessions[{i}]", s) for i, s in enumerate(previous_sessions)]
    start = min([*previous, proposed]) if course_start is None else aware_datetime("course_start", course_start)
    for i, s in enumerate(previous):
        if s < start:
            raise ValueError(f"previous_sessions[{i}]: {s.isoformat()} is before the course start {start.isoformat()}")
    week = course_week(start, proposed)
    phase = phase_for_week(proto, week)
    problems: list[str] = []
    gap = min_spacing_hours(proto, policy=policy)
    for s in previous:
        # Elapsed time, not wall-clock time: across a DST change 09:00 Saturday to 09:00 Monday is 47 or 49 h.
        hours = abs((proposed.astimezone(UTC) - s.astimezone(UTC)) / timedelta(hours=1))
        if hours < gap:
            problems.append(
                f"Only {hours:.1f} h from the session at {s.isoformat()}; sessions must be at least {gap:g} h apart."
            )
    if phase is None:
        problems.append(f"Course week {week} is after the end of the {proto.id} schedule.")
    else:
        same_week = 1 + sum(1 for s in previous if course_week(start, s) == week)
        cap = math.ceil(phase.sessions_per_week_max)
        if same_week > cap:
            problems.append(
                f"{same_week} sessions in course week {week}; the {phase.name} phase allows at most {cap} a week."
            )
        if phase.total_sessions is not None:
            in_phase = 1 + sum(1 for s in previous if phase.covers(course_week(start, s)))
            if in_phase > phase.total_sessions:
                problems.append(f"{in_phase} sessions in the {phase.name} phase; it has {phase.total_sessions}.")
    return SpacingCheck(not problems, tuple(problems), week, phase)
