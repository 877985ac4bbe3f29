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

    class Meta:
        ordering = ["recorded_at", "id"]
        constraints: ClassVar = [
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
