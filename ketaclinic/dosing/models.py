"""The session day: a dosing session's state, its check-in, baseline vitals, pre-dose decisions and overrides.

A :class:`DosingSession` is opened for one dosing appointment and moves through the states of
:data:`DosingSession.TRANSITIONS` only through :mod:`ketaclinic.dosing.actions`; every other transition raises
``ValueError``::

    booked ─► checked_in ─► cleared ─► dosing ─► monitoring ─► ready_for_discharge ─► discharged
                        ├──► review ──┤ (a prescriber confirms with a reason, or the gate is re-run)
                        └──► on_hold ─┘ (only a prescriber's audited override, or a re-run gate, clears it)
    booked ─► cancelled | no_show;  checked_in, cleared, review, on_hold ─► cancelled
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Length
from django.db.models.lookups import GreaterThanOrEqual
from django.utils import timezone

from ketaclinic.clinical.vitals import MAX_WEIGHT_KG, VITAL_SPECS, Vital

#: A prescriber's written reason for overriding a hold or confirming a review: at least this many characters.
MIN_REASON_CHARS = 20


class SessionState(models.TextChoices):
    BOOKED = "booked", "Booked"
    CHECKED_IN = "checked_in", "Checked in"
    CLEARED = "cleared", "Cleared to dose"
    REVIEW = "review", "Needs prescriber review"
    ON_HOLD = "on_hold", "On hold"
    DOSING = "dosing", "Dosing"
    MONITORING = "monitoring", "Monitoring"
    READY_FOR_DISCHARGE = "ready_for_discharge", "Ready for discharge"
    DISCHARGED = "discharged", "Discharged"
    CANCELLED = "cancelled", "Cancelled"
    NO_SHOW = "no_show", "No-show"


S = SessionState

#: The legal state changes; anything else is refused.
TRANSITIONS: dict[str, frozenset[str]] = {
    S.BOOKED: frozenset({S.CHECKED_IN, S.CANCELLED, S.NO_SHOW}),
    S.CHECKED_IN: frozenset({S.CLEARED, S.REVIEW, S.ON_HOLD, S.CANCELLED}),
    # A re-run gate (new vitals, a positive screen) can send a cleared session back to review or hold.
    S.CLEARED: frozenset({S.DOSING, S.REVIEW, S.ON_HOLD, S.CANCELLED}),
    S.REVIEW: frozenset({S.CLEARED, S.ON_HOLD, S.CANCELLED}),
    S.ON_HOLD: frozenset({S.CLEARED, S.REVIEW, S.CANCELLED}),
    S.DOSING: frozenset({S.MONITORING}),
    S.MONITORING: frozenset({S.READY_FOR_DISCHARGE}),
    S.READY_FOR_DISCHARGE: frozenset({S.DISCHARGED, S.MONITORING}),
    S.DISCHARGED: frozenset(),
    S.CANCELLED: frozenset(),
    S.NO_SHOW: frozenset(),
}

#: States in which the pre-dose gate may be (re-)run.
GATE_STATES = frozenset({S.CHECKED_IN, S.CLEARED, S.REVIEW, S.ON_HOLD})


class DosingSession(models.Model):
    """One patient's dosing visit on the day of a dosing appointment: where they are between arrival and discharge.

    ``course_ref``/``sequence_number``/``route`` are copied from the appointment (and its course) when the session is
    opened. ``version`` is bumped on every change (optimistic locking between two nurses' screens).
    """

    appointment = models.OneToOneField(
        "scheduling.Appointment", on_delete=models.PROTECT, related_name="dosing_session"
    )
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="dosing_sessions")
    site = models.ForeignKey("accounts.Site", on_delete=models.PROTECT, related_name="dosing_sessions")
    course_ref = models.PositiveBigIntegerField(null=True, blank=True, db_index=True)
    sequence_number = models.PositiveSmallIntegerField(null=True, blank=True)
    route = models.CharField(max_length=20)
    state = models.CharField(max_length=24, choices=SessionState.choices, default=SessionState.BOOKED)
    checked_in_at = models.DateTimeField(null=True, blank=True)
    checked_in_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    opened_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    opened_at = models.DateTimeField(default=timezone.now, editable=False)
    # When the patient would have been ready to leave without a minimum observation time (the REMS form asks).
    ready_to_leave_at = models.DateTimeField(null=True, blank=True)
    ready_to_leave_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    version = models.PositiveIntegerField(default=1)

    TRANSITIONS: ClassVar[dict[str, frozenset[str]]] = TRANSITIONS

    class Meta:
        ordering = ["-opened_at", "-id"]
        constraints: ClassVar = [
            models.CheckConstraint(condition=Q(state__in=SessionState.values), name="dosing_session_state_valid"),
        ]
        indexes: ClassVar = [models.Index(fields=["site", "state"], name="dosing_session_site_state")]

    def __str__(self) -> str:
        return f"Dosing session {self.pk} ({self.state})"

    def can_become(self, state: str) -> bool:
        return state in TRANSITIONS.get(self.state, frozenset())

    @property
    def is_esketamine(self) -> bool:
        return self.route == "esketamine_nasal"


class CheckIn(models.Model):
    """The arrival checklist: identity, today's weight, fasting, escort, pregnancy test, new medicines, consent.

    ``consent_valid`` is derived when the check-in is recorded (the route's consent kind held at that moment).
    """

    class PregnancyTest(models.TextChoices):
        NOT_APPLICABLE = "n/a", "Not applicable"
        NEGATIVE = "negative", "Negative"
        POSITIVE = "positive", "Positive"

    class BenzodiazepineHold(models.TextChoices):
        YES = "yes", "Held as ordered"
        NO = "no", "Not held"
        NOT_ORDERED = "not_ordered", "No hold ordered"

    session = models.OneToOneField(DosingSession, on_delete=models.CASCADE, related_name="checkin")
    identity_confirmed = models.BooleanField()
    weight_kg = models.DecimalField(max_digits=5, decimal_places=1)
    last_food_at = models.DateTimeField(null=True, blank=True)
    last_liquid_at = models.DateTimeField(null=True, blank=True)
    escort_name = models.CharField(max_length=120, blank=True)
    escort_phone = models.CharField(max_length=40, blank=True)
    escort_confirmed = models.BooleanField(default=False)
    pregnancy_test = models.CharField(max_length=10, choices=PregnancyTest.choices)
    new_medications_or_substances = models.BooleanField(default=False)
    new_medications_text = models.TextField(blank=True)
    benzodiazepine_held = models.CharField(max_length=12, choices=BenzodiazepineHold.choices)
    consent_valid = models.BooleanField()
    completed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    completed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=Q(weight_kg__gt=0, weight_kg__lte=MAX_WEIGHT_KG), name="checkin_weight_range"
            ),
            models.CheckConstraint(
                condition=Q(pregnancy_test__in=["n/a", "negative", "positive"]), name="checkin_pregnancy_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"Check-in for session {self.session_id}"


def _once(prefix: str) -> models.UniqueConstraint:
    """A row's ``client_token`` is stored at most once per session (empty tokens are not checked)."""
    return models.UniqueConstraint(
        fields=["session", "client_token"], condition=~Q(client_token=""), name=f"{prefix}_client_token_once"
    )


def _range(field: str, vital: Vital, *, nullable: bool = False) -> models.CheckConstraint:
    spec = VITAL_SPECS[vital]
    condition = Q(**{f"{field}__gte": spec.minimum, f"{field}__lte": spec.maximum})
    if nullable:
        condition |= Q(**{f"{field}__isnull": True})
    return models.CheckConstraint(condition=condition, name=f"vitalsign_{field}_range")


class VitalSign(models.Model):
    """One set of vital signs taken during a session (LOINC-coded by field; ranges from ``clinical.VITAL_SPECS``).

    ``is_baseline`` marks the pre-dose set the gate is run against; the latest baseline counts.
    """

    class Source(models.TextChoices):
        TYPED = "typed", "Typed in"
        MONITOR = "monitor", "Bedside monitor"

    session = models.ForeignKey(DosingSession, on_delete=models.CASCADE, related_name="vitals")
    recorded_at = models.DateTimeField(default=timezone.now)
    systolic_mmhg = models.PositiveSmallIntegerField()
    diastolic_mmhg = models.PositiveSmallIntegerField()
    heart_rate_bpm = models.PositiveSmallIntegerField()
    spo2_pct = models.PositiveSmallIntegerField()
    resp_rate_per_min = models.PositiveSmallIntegerField(null=True, blank=True)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.TYPED)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    is_baseline = models.BooleanField(default=False)
    #: The protocol timepoint (minutes from the start of the dose) this set fulfils, if any.
    timepoint_min = models.PositiveSmallIntegerField(null=True, blank=True)
    #: A random token the entry form carries, so a resent form (double tap, reconnect) stores the row once.
    client_token = models.CharField(max_length=40, blank=True)

    class Meta:
        ordering = ["recorded_at", "id"]
        constraints: ClassVar = [
            _once("vitalsign"),
            _range("systolic_mmhg", Vital.SYSTOLIC),
            _range("diastolic_mmhg", Vital.DIASTOLIC),
            _range("heart_rate_bpm", Vital.HEART_RATE),
            _range("spo2_pct", Vital.SPO2),
            _range("resp_rate_per_min", Vital.RESP_RATE, nullable=True),
            models.CheckConstraint(
                condition=Q(diastolic_mmhg__lt=models.F("systolic_mmhg")), name="vitalsign_diastolic_below_systolic"
            ),
        ]

    def __str__(self) -> str:
        return f"Vitals {self.pk} of session {self.session_id}"

    def as_mapping(self) -> dict[str, float]:
        """The readings keyed by ``clinical.Vital`` names (what the clinical core takes)."""
        values: dict[str, float] = {
            Vital.SYSTOLIC: self.systolic_mmhg,
            Vital.DIASTOLIC: self.diastolic_mmhg,
            Vital.HEART_RATE: self.heart_rate_bpm,
            Vital.SPO2: self.spo2_pct,
        }
        if self.resp_rate_per_min is not None:
            values[Vital.RESP_RATE] = self.resp_rate_per_min
        return {str(k): float(v) for k, v in values.items()}


class PredoseDecision(models.Model):
    """One run of the pre-dose gate: ``go``/``review``/``hold`` with every finding (code, level, message, sources).

    ``findings`` is a list of ``{code, level, message, citations: [str], source}`` where ``source`` names where the
    finding came from (``clinical.predose_check``, ``check-in``, ``pre-session screen``).
    """

    class Decision(models.TextChoices):
        GO = "go", "Go"
        REVIEW = "review", "Review"
        HOLD = "hold", "Hold"

    session = models.ForeignKey(DosingSession, on_delete=models.CASCADE, related_name="decisions")
    decision = models.CharField(max_length=8, choices=Decision.choices)
    findings = models.JSONField(default=list)
    baseline = models.ForeignKey(VitalSign, on_delete=models.PROTECT, related_name="+")
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["decided_at", "id"]
        constraints: ClassVar = [
            models.CheckConstraint(condition=Q(decision__in=["go", "review", "hold"]), name="predose_decision_valid")
        ]

    def __str__(self) -> str:
        return f"{self.decision} for session {self.session_id}"


class HoldOverride(models.Model):
    """A prescriber's written decision to dose despite a gate decision: overriding a hold, or confirming a review.

    Append-only; written with an audit event (``override`` for a hold) in the same transaction.
    """

    class Kind(models.TextChoices):
        HOLD_OVERRIDE = "hold_override", "Hold overridden"
        REVIEW_CONFIRMED = "review_confirmed", "Review confirmed"

    session = models.ForeignKey(DosingSession, on_delete=models.CASCADE, related_name="overrides")
    decision = models.ForeignKey(PredoseDecision, on_delete=models.PROTECT, related_name="overrides")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    prescriber = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField()
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at", "id"]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=GreaterThanOrEqual(Length("reason"), MIN_REASON_CHARS), name="holdoverride_reason_length"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} for session {self.session_id}"


class PredoseScreen(models.Model):
    """The pre-session PHQ-9 and C-SSRS screener taken at the clinic, linked to the session they gate."""

    session = models.ForeignKey(DosingSession, on_delete=models.CASCADE, related_name="screens")
    response = models.ForeignKey(
        "measures.QuestionnaireResponse", on_delete=models.PROTECT, related_name="dosing_screens"
    )
    positive = models.BooleanField(default=False)
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["recorded_at", "id"]

    def __str__(self) -> str:
        return f"Screen {self.response_id} for session {self.session_id}"


# --- Dose record and the controlled-substance log ------------------------------------------------------------------


class Drug(models.TextChoices):
    KETAMINE = "ketamine", "Ketamine hydrochloride"
    ESKETAMINE = "esketamine", "Esketamine nasal spray"


class DrugLot(models.Model):
    """One received lot of a controlled drug at a site: the unit the controlled-substance log balances.

    Quantities are kept in milligrams of drug (a 28 mg esketamine device counts 28 mg); ``mg_per_unit`` converts
    to the unit the stock is counted in (a vial, a device). The balance on hand is the sum of the lot's
    :class:`LotMovement` rows; nothing about a lot is ever edited except its closing.
    """

    site = models.ForeignKey("accounts.Site", on_delete=models.PROTECT, related_name="drug_lots")
    drug = models.CharField(max_length=12, choices=Drug.choices)
    product = models.CharField(max_length=120, help_text="As on the label, e.g. 'Ketamine HCl 50 mg/mL, 10 mL vial'.")
    concentration_mg_per_ml = models.DecimalField(max_digits=6, decimal_places=2, null=True, blank=True)
    mg_per_unit = models.DecimalField(max_digits=7, decimal_places=2)
    lot_number = models.CharField(max_length=40)
    expires_on = models.DateField()
    received_at = models.DateTimeField(default=timezone.now)
    received_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["expires_on", "id"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["site", "drug", "lot_number"], name="druglot_unique_per_site"),
            models.CheckConstraint(condition=Q(mg_per_unit__gt=0), name="druglot_mg_per_unit_positive"),
            models.CheckConstraint(
                condition=Q(concentration_mg_per_ml__isnull=True) | Q(concentration_mg_per_ml__gt=0),
                name="druglot_concentration_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product} lot {self.lot_number}"


class LotMovement(models.Model):
    """One line of the controlled-substance log: stock received, used in a dose, wasted (witnessed), returned, or a
    counted adjustment. ``amount_mg`` is always positive; :data:`SIGN` says which way it moves the balance."""

    class Kind(models.TextChoices):
        RECEIVED = "received", "Received"
        ADMINISTERED = "administered", "Administered"
        WASTED = "wasted", "Wasted"
        RETURNED = "returned", "Returned to supplier"
        ADJUSTMENT_IN = "adjust_in", "Count adjustment (+)"
        ADJUSTMENT_OUT = "adjust_out", "Count adjustment (−)"

    SIGN: ClassVar[dict[str, int]] = {
        "received": 1,
        "administered": -1,
        "wasted": -1,
        "returned": -1,
        "adjust_in": 1,
        "adjust_out": -1,
    }

    lot = models.ForeignKey(DrugLot, on_delete=models.PROTECT, related_name="movements")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    amount_mg = models.DecimalField(max_digits=8, decimal_places=2)
    at = models.DateTimeField(default=timezone.now)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    witness = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    administration = models.ForeignKey(
        "DoseAdministration", null=True, blank=True, on_delete=models.PROTECT, related_name="movements"
    )
    reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["at", "id"]
        constraints: ClassVar = [
            models.CheckConstraint(condition=Q(amount_mg__gt=0), name="lotmovement_amount_positive"),
            models.CheckConstraint(
                condition=Q(kind__in=["received", "administered", "wasted", "returned", "adjust_in", "adjust_out"]),
                name="lotmovement_kind_valid",
            ),
            # Waste and count adjustments of a controlled substance are witnessed by a second person.
            models.CheckConstraint(
                condition=~Q(kind__in=["wasted", "adjust_in", "adjust_out"])
                | (Q(witness__isnull=False) & ~Q(witness=models.F("by"))),
                name="lotmovement_waste_witnessed",
            ),
        ]
        indexes: ClassVar = [models.Index(fields=["lot", "kind"], name="lotmovement_lot_kind")]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount_mg} mg of lot {self.lot_id}"

    @property
    def signed_mg(self) -> int | float:
        return self.SIGN[self.kind] * float(self.amount_mg)


class LotCount(models.Model):
    """A physical count of a lot by two people: what the log expected and what was found (reconciliation)."""

    lot = models.ForeignKey(DrugLot, on_delete=models.PROTECT, related_name="counts")
    expected_mg = models.DecimalField(max_digits=8, decimal_places=2)
    counted_mg = models.DecimalField(max_digits=8, decimal_places=2)
    at = models.DateTimeField(default=timezone.now)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    witness = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["at", "id"]
        constraints: ClassVar = [
            models.CheckConstraint(condition=Q(counted_mg__gte=0), name="lotcount_counted_nonnegative"),
            models.CheckConstraint(condition=~Q(witness=models.F("by")), name="lotcount_two_people"),
        ]

    def __str__(self) -> str:
        return f"Count of lot {self.lot_id}: {self.counted_mg} mg"

    @property
    def discrepancy_mg(self) -> float:
        return float(self.counted_mg - self.expected_mg)


class DoseAdministration(models.Model):
    """Today's dose: what was given, how, from which lot, by whom and witnessed by whom.

    The amount is computed from the course's current :class:`~ketaclinic.courses.models.DoseOrder` and today's
    check-in weight (``weight_kg``/``weight_basis``/``mg_per_kg`` record the basis shown to the nurse).
    ``amount_given_mg`` is what actually went in (less than ``amount_mg`` when an infusion is stopped early).
    IV rate changes are :class:`InfusionRateChange` rows; esketamine devices are :class:`EsketamineDevice` rows.
    """

    session = models.OneToOneField(DosingSession, on_delete=models.PROTECT, related_name="administration")
    order = models.ForeignKey("courses.DoseOrder", on_delete=models.PROTECT, related_name="administrations")
    drug = models.CharField(max_length=12, choices=Drug.choices)
    route = models.CharField(max_length=20)
    weight_kg = models.DecimalField(max_digits=5, decimal_places=1, null=True, blank=True)
    weight_basis = models.CharField(max_length=10, blank=True)
    mg_per_kg = models.DecimalField(max_digits=5, decimal_places=3, null=True, blank=True)
    amount_mg = models.DecimalField(max_digits=6, decimal_places=1)
    amount_given_mg = models.DecimalField(max_digits=6, decimal_places=1, null=True, blank=True)
    concentration_mg_per_ml = models.DecimalField(max_digits=6, decimal_places=2, null=True, blank=True)
    volume_ml = models.DecimalField(max_digits=6, decimal_places=2, null=True, blank=True)
    diluent = models.CharField(max_length=60, blank=True, help_text="IV: e.g. '0.9 % sodium chloride 100 mL'.")
    rate_ml_per_h = models.DecimalField(max_digits=6, decimal_places=1, null=True, blank=True)
    planned_duration_min = models.DecimalField(max_digits=5, decimal_places=1, null=True, blank=True)
    lot = models.ForeignKey(DrugLot, on_delete=models.PROTECT, related_name="administrations")
    site_of_administration = models.CharField(max_length=60, blank=True, help_text="IM: e.g. 'left deltoid'.")
    started_at = models.DateTimeField()
    stopped_at = models.DateTimeField(null=True, blank=True)
    stop_reason = models.CharField(max_length=300, blank=True)
    administered_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    witnessed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints: ClassVar = [
            models.CheckConstraint(condition=Q(amount_mg__gt=0), name="administration_amount_positive"),
            models.CheckConstraint(
                condition=Q(amount_given_mg__isnull=True) | Q(amount_given_mg__gte=0),
                name="administration_given_nonnegative",
            ),
            models.CheckConstraint(
                condition=Q(stopped_at__isnull=True) | Q(stopped_at__gte=models.F("started_at")),
                name="administration_stop_after_start",
            ),
            models.CheckConstraint(
                condition=~Q(witnessed_by=models.F("administered_by")), name="administration_witness_differs"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.amount_mg} mg {self.drug} in session {self.session_id}"


class InfusionRateChange(models.Model):
    """A change of IV infusion rate during the dose (slowed, paused, resumed, stopped), with why."""

    administration = models.ForeignKey(DoseAdministration, on_delete=models.CASCADE, related_name="rate_changes")
    at = models.DateTimeField(default=timezone.now)
    rate_ml_per_h = models.DecimalField(max_digits=6, decimal_places=1)
    reason = models.CharField(max_length=300)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["at", "id"]
        constraints: ClassVar = [
            models.CheckConstraint(condition=Q(rate_ml_per_h__gte=0), name="ratechange_rate_nonnegative")
        ]

    def __str__(self) -> str:
        return f"{self.rate_ml_per_h} mL/h at {self.at:%H:%M}"


class EsketamineDevice(models.Model):
    """One 28 mg esketamine device self-administered under observation (devices 5 minutes apart)."""

    administration = models.ForeignKey(DoseAdministration, on_delete=models.CASCADE, related_name="devices")
    number = models.PositiveSmallIntegerField()
    at = models.DateTimeField(default=timezone.now)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["number"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["administration", "number"], name="device_number_unique"),
            models.CheckConstraint(condition=Q(number__gte=1, number__lte=3), name="device_number_range"),
        ]

    def __str__(self) -> str:
        return f"Device {self.number} at {self.at:%H:%M}"


# --- Monitoring: alerts, timed scales, adverse events ---------------------------------------------------------------


class ScaleObservation(models.Model):
    """A timed, scored observation during the session: MOAA/S, CADSS/CADSS-6, modified Aldrete or PADSS.

    ``answers`` are the item answers scored by ``clinical.score``; ``timepoint_min`` is the protocol timepoint
    (minutes from the start of the dose) the observation fulfils, if any.
    """

    class Instrument(models.TextChoices):
        MOAAS = "moaas", "MOAA/S"
        CADSS = "cadss", "CADSS"
        CADSS6 = "cadss6", "CADSS-6"
        ALDRETE = "aldrete", "Modified Aldrete"
        PADSS = "padss", "PADSS"

    session = models.ForeignKey(DosingSession, on_delete=models.CASCADE, related_name="observations")
    instrument = models.CharField(max_length=10, choices=Instrument.choices)
    answers = models.JSONField(default=dict)
    total = models.DecimalField(max_digits=6, decimal_places=1)
    band = models.CharField(max_length=40, blank=True)
    timepoint_min = models.PositiveSmallIntegerField(null=True, blank=True)
    observed_at = models.DateTimeField(default=timezone.now)
    observed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    #: A random token the entry form carries, so a resent form (double tap, reconnect) stores the row once.
    client_token = models.CharField(max_length=40, blank=True)

    class Meta:
        ordering = ["observed_at", "id"]
        constraints: ClassVar = [
            _once("observation"),
            models.CheckConstraint(
                condition=Q(instrument__in=["moaas", "cadss", "cadss6", "aldrete", "padss"]),
                name="observation_instrument_valid",
            ),
        ]
        indexes: ClassVar = [models.Index(fields=["session", "instrument"], name="observation_session_instr")]

    def __str__(self) -> str:
        return f"{self.instrument} {self.total} in session {self.session_id}"


class SessionAlert(models.Model):
    """An in-session alert from ``clinical.evaluate_vitals`` or ``clinical.sedation_alert``.

    Open until acknowledged with the action taken; escalates (an urgent task for the prescribers on site) when
    not acknowledged within the clinic's escalation time.
    """

    class Level(models.TextChoices):
        WARNING = "warning", "Warning"
        URGENT = "urgent", "Urgent"

    class Action(models.TextChoices):
        OBSERVED = "observed", "Observed; repeat measurement"
        INFUSION_SLOWED = "infusion_slowed", "Infusion slowed"
        INFUSION_STOPPED = "infusion_stopped", "Infusion stopped"
        MEDICATION_GIVEN = "medication_given", "Medication given"
        PRESCRIBER_ASSESSED = "prescriber_assessed", "Prescriber assessed at the chair"
        EMERGENCY = "emergency", "Emergency response called"
        ERRONEOUS = "erroneous", "Reading in error (re-measured)"

    session = models.ForeignKey(DosingSession, on_delete=models.CASCADE, related_name="alerts")
    vital_sign = models.ForeignKey(VitalSign, null=True, blank=True, on_delete=models.PROTECT, related_name="alerts")
    observation = models.ForeignKey(
        ScaleObservation, null=True, blank=True, on_delete=models.PROTECT, related_name="alerts"
    )
    code = models.CharField(max_length=60)
    level = models.CharField(max_length=8, choices=Level.choices)
    message = models.CharField(max_length=400)
    citations = models.JSONField(default=list)
    raised_at = models.DateTimeField(default=timezone.now)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    action = models.CharField(max_length=20, choices=Action.choices, blank=True)
    action_note = models.CharField(max_length=400, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)
    escalation_task = models.ForeignKey(
        "tasks.Task", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["raised_at", "id"]
        constraints: ClassVar = [
            models.CheckConstraint(condition=Q(level__in=["warning", "urgent"]), name="alert_level_valid"),
            models.CheckConstraint(
                condition=Q(acknowledged_at__isnull=True) | (~Q(action="") & Q(acknowledged_by__isnull=False)),
                name="alert_ack_has_action",
            ),
        ]
        indexes: ClassVar = [models.Index(fields=["session", "acknowledged_at"], name="alert_session_open")]

    def __str__(self) -> str:
        return f"{self.level} alert {self.code} in session {self.session_id}"

    @property
    def is_open(self) -> bool:
        return self.acknowledged_at is None


class AdverseEvent(models.Model):
    """An adverse event during or after the dose, its severity, what was done and how it ended."""

    class Kind(models.TextChoices):
        NAUSEA_VOMITING = "nausea_vomiting", "Nausea or vomiting"
        HYPERTENSION = "hypertension", "Hypertension"
        TACHYCARDIA = "tachycardia", "Tachycardia"
        EMERGENCE = "emergence", "Emergence reaction / agitation"
        EXCESSIVE_SEDATION = "excessive_sedation", "Excessive sedation"
        RESPIRATORY_DEPRESSION = "respiratory_depression", "Respiratory depression"
        DISSOCIATION = "dissociation", "Distressing dissociation"
        ANXIETY = "anxiety", "Anxiety or panic"
        HEADACHE = "headache", "Headache"
        DIZZINESS = "dizziness", "Dizziness"
        ALLERGIC = "allergic", "Allergic reaction"
        INJECTION_SITE = "injection_site", "Infusion or injection site reaction"
        OTHER = "other", "Other"

    class Severity(models.TextChoices):
        MILD = "mild", "Mild"
        MODERATE = "moderate", "Moderate"
        SEVERE = "severe", "Severe"

    class Outcome(models.TextChoices):
        RESOLVED = "resolved", "Resolved"
        RESOLVING = "resolving", "Resolving"
        ONGOING = "ongoing", "Ongoing at discharge"
        TRANSFERRED = "transferred", "Transferred to emergency care"

    session = models.ForeignKey(DosingSession, on_delete=models.CASCADE, related_name="adverse_events")
    kind = models.CharField(max_length=24, choices=Kind.choices)
    description = models.CharField(max_length=400, blank=True)
    severity = models.CharField(max_length=10, choices=Severity.choices)
    onset_at = models.DateTimeField()
    serious = models.BooleanField(default=False)
    outcome = models.CharField(max_length=12, choices=Outcome.choices)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(default=timezone.now)
    #: A random token the entry form carries, so a resent form (double tap, reconnect) stores the row once.
    client_token = models.CharField(max_length=40, blank=True)

    class Meta:
        ordering = ["onset_at", "id"]
        constraints: ClassVar = [_once("adverseevent")]

    def __str__(self) -> str:
        return f"{self.kind} ({self.severity}) in session {self.session_id}"


class RescueMedication(models.Model):
    """A medication given during the session other than the dose (ondansetron, midazolam, an antihypertensive…)."""

    session = models.ForeignKey(DosingSession, on_delete=models.CASCADE, related_name="rescue_medications")
    adverse_event = models.ForeignKey(
        AdverseEvent, null=True, blank=True, on_delete=models.PROTECT, related_name="interventions"
    )
    alert = models.ForeignKey(
        SessionAlert, null=True, blank=True, on_delete=models.PROTECT, related_name="interventions"
    )
    medication = models.CharField(max_length=80)
    dose = models.DecimalField(max_digits=7, decimal_places=2)
    unit = models.CharField(max_length=10, default="mg")
    route = models.CharField(max_length=20)
    given_at = models.DateTimeField(default=timezone.now)
    given_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    ordered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["given_at", "id"]
        constraints: ClassVar = [models.CheckConstraint(condition=Q(dose__gt=0), name="rescue_dose_positive")]

    def __str__(self) -> str:
        return f"{self.medication} {self.dose} {self.unit}"


# --- Discharge and documents ----------------------------------------------------------------------------------------


class Discharge(models.Model):
    """How the patient left after the dose: ``clinical.discharge_readiness`` on the session's data at that moment.

    ``disposition`` says how: a routine discharge home (``home``), a competent patient leaving before the criteria
    are met, against medical advice (``against_advice``), or a transfer to emergency care after an adverse event
    (``emergency_transfer``). Every row keeps the readiness snapshot: ``unmet`` the criteria not met (code,
    message, citations), ``recovery``/``vitals`` the latest score and post-dose vital signs (``None`` only for a
    departure that happened before they were recorded), ``minutes_observed`` when the observation clock had started.

    A ``home`` discharge with unmet criteria is only possible with a prescriber's written reason
    (``override_reason``/``override_by``, audited as an override). A departure against advice documents the reason
    the patient gave, that the risks were explained, whether an escort was present (``escort_present``) and the
    prescriber notified; a transfer documents where the patient was taken and why. The database holds each of these
    rules (the constraints below).
    """

    class Disposition(models.TextChoices):
        HOME = "home", "Discharged home"
        AGAINST_ADVICE = "against_advice", "Left against medical advice"
        EMERGENCY_TRANSFER = "emergency_transfer", "Transferred to emergency care"

    session = models.OneToOneField(DosingSession, on_delete=models.PROTECT, related_name="discharge")
    disposition = models.CharField(max_length=20, choices=Disposition.choices, default=Disposition.HOME)
    recovery = models.ForeignKey(ScaleObservation, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    vitals = models.ForeignKey(VitalSign, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    minutes_observed = models.PositiveSmallIntegerField(null=True, blank=True)
    symptoms_resolved = models.BooleanField()
    escort_present = models.BooleanField()
    ready = models.BooleanField()
    unmet = models.JSONField(default=list)
    advisories = models.JSONField(default=list)
    override_reason = models.TextField(blank=True)
    override_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    #: Against advice: what the patient said; emergency transfer: why the patient was transferred.
    departure_reason = models.TextField(blank=True)
    #: Against advice: the patient was told the risks (no driving, not to be alone, when to seek help).
    risks_explained = models.BooleanField(default=False)
    prescriber_notified = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    #: Emergency transfer: where the patient was taken (e.g. the hospital's emergency department).
    destination = models.CharField(max_length=200, blank=True)
    #: When the patient left (for a departure, the time the nurse recorded; else the moment of the discharge).
    discharged_at = models.DateTimeField(default=timezone.now)
    discharged_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=Q(disposition__in=["home", "against_advice", "emergency_transfer"]),
                name="discharge_disposition_valid",
            ),
            # A routine discharge is decided on a recovery score and post-dose vital signs, all criteria met or a
            # prescriber's written override, exactly as before departures existed.
            models.CheckConstraint(
                condition=~Q(disposition="home")
                | (
                    Q(recovery__isnull=False, vitals__isnull=False, minutes_observed__isnull=False)
                    & (
                        Q(ready=True)
                        | (
                            Q(override_by__isnull=False)
                            & Q(GreaterThanOrEqual(Length("override_reason"), MIN_REASON_CHARS))
                        )
                    )
                ),
                name="discharge_ready_or_overridden",
            ),
            models.CheckConstraint(
                condition=~Q(disposition="against_advice")
                | (
                    Q(GreaterThanOrEqual(Length("departure_reason"), MIN_REASON_CHARS))
                    & Q(risks_explained=True, prescriber_notified__isnull=False)
                ),
                name="discharge_against_advice_documented",
            ),
            models.CheckConstraint(
                condition=~Q(disposition="emergency_transfer") | (~Q(destination="") & ~Q(departure_reason="")),
                name="discharge_transfer_documented",
            ),
        ]

    def __str__(self) -> str:
        return f"Discharge of session {self.session_id}"

    @property
    def is_departure(self) -> bool:
        """The patient left other than by a routine discharge (against advice or to emergency care)."""
        return self.disposition != self.Disposition.HOME


class SessionNote(models.Model):
    """The nursing session note, signed by the nurse and then the prescriber; immutable once signed by either.

    Changes after signing are :class:`NoteAmendment` rows: the original text is never altered.
    """

    session = models.OneToOneField(DosingSession, on_delete=models.PROTECT, related_name="note")
    text = models.TextField()
    written_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    updated_at = models.DateTimeField(default=timezone.now)
    nurse_signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    nurse_signed_at = models.DateTimeField(null=True, blank=True)
    prescriber_signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    prescriber_signed_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=Q(prescriber_signed_at__isnull=True) | Q(nurse_signed_at__isnull=False),
                name="note_nurse_signs_first",
            )
        ]

    def __str__(self) -> str:
        return f"Note of session {self.session_id}"

    @property
    def is_signed(self) -> bool:
        return self.nurse_signed_at is not None


class NoteAmendment(models.Model):
    """An addition or correction to a signed session note; the signed original is kept as it was."""

    note = models.ForeignKey(SessionNote, on_delete=models.PROTECT, related_name="amendments")
    text = models.TextField()
    reason = models.CharField(max_length=300)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"Amendment to note {self.note_id}"


class RemsForm(models.Model):
    """The SPRAVATO REMS Patient Monitoring Form for one esketamine session, filled from the session data.

    ``values`` holds the form fields (``clinical.REMS_FORM_FIELDS`` names; dates ISO, blood pressures as
    ``[systolic, diastolic]``); ``due_on`` is ``clinical.rems_due_date``. The form stays on the REMS list until it
    is marked submitted (with the REMS confirmation, when one is given).
    """

    session = models.OneToOneField(DosingSession, on_delete=models.PROTECT, related_name="rems_form")
    values = models.JSONField(default=dict)
    problems = models.JSONField(default=list)
    due_on = models.DateField()
    pdf = models.FileField(upload_to="rems/%Y/%m/", blank=True)
    pdf_sha256 = models.CharField(max_length=64, blank=True)
    generated_at = models.DateTimeField(default=timezone.now)
    generated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    submitted_at = models.DateTimeField(null=True, blank=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    confirmation = models.CharField(max_length=60, blank=True)

    class Meta:
        ordering = ["due_on", "id"]
        indexes: ClassVar = [models.Index(fields=["submitted_at", "due_on"], name="remsform_open_due")]

    def __str__(self) -> str:
        return f"REMS form for session {self.session_id}"
