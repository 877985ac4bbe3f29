"""The patient record: identity, contacts, measurements, allergies, diagnoses, conditions, substance use,
medications and antidepressant trials.

Every clinical row carries its ``site`` (so a network can shard by site) and keeps a full change history
(django-simple-history). Rows a patient reports through the portal are marked ``source=patient`` and do not count in
the chart or the eligibility rules until a clinician accepts them.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import ClassVar

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from simple_history.models import HistoricalRecords

from ketaclinic.clinical.eligibility import Condition, Substance
from ketaclinic.clinical.medications import DrugClass
from ketaclinic.patients.querysets import ChartEntryQuerySet, PatientQuerySet

#: Plausible ranges, shared by forms, the API and database constraints (the clinical core uses the same weight limit).
WEIGHT_KG_RANGE = (Decimal("0.1"), Decimal("350"))
HEIGHT_CM_RANGE = (Decimal("50"), Decimal("250"))
MINIMUM_AGE_YEARS = 18


def _choices(enum: type) -> list[tuple[str, str]]:
    return [(m.value, m.value.replace("_", " ").capitalize()) for m in enum]  # type: ignore[attr-defined]


class Patient(models.Model):
    """A person referred to or treated by the clinic. ``mrn`` is unique within the site."""

    class Status(models.TextChoices):
        REFERRAL = "referral", "Referral"
        SCREENING = "screening", "Screening"
        ELIGIBLE = "eligible", "Eligible"
        DECLINED = "declined", "Declined"
        IN_TREATMENT = "in_treatment", "In treatment"
        MAINTENANCE = "maintenance", "Maintenance"
        DISCHARGED = "discharged", "Discharged"

    class SexAtBirth(models.TextChoices):
        FEMALE = "female", "Female"
        MALE = "male", "Male"
        INTERSEX = "intersex", "Intersex"
        UNKNOWN = "unknown", "Not recorded"

    site = models.ForeignKey("accounts.Site", on_delete=models.PROTECT, related_name="patients")
    mrn = models.CharField("MRN", max_length=20, editable=False)
    legal_first_name = models.CharField(max_length=80)
    legal_last_name = models.CharField(max_length=80)
    preferred_name = models.CharField(max_length=80, blank=True)
    date_of_birth = models.DateField()
    sex_at_birth = models.CharField(max_length=10, choices=SexAtBirth.choices, default=SexAtBirth.UNKNOWN)
    gender = models.CharField(max_length=60, blank=True)
    pronouns = models.CharField(max_length=30, blank=True)
    phone = models.CharField(max_length=30, blank=True)
    email = models.EmailField(blank=True)
    address = models.TextField(blank=True)
    emergency_contact_name = models.CharField(max_length=120, blank=True)
    emergency_contact_phone = models.CharField(max_length=30, blank=True)
    emergency_contact_relationship = models.CharField(max_length=60, blank=True)
    referring_clinician = models.CharField(max_length=120, blank=True)
    referring_clinician_contact = models.CharField(max_length=200, blank=True)
    pregnant = models.BooleanField(null=True, blank=True, help_text="Unknown until asked.")
    breastfeeding = models.BooleanField(null=True, blank=True, help_text="Unknown until asked.")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.REFERRAL)
    status_reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    version = models.PositiveIntegerField(default=1, help_text="Optimistic lock: bumped on every save by actions.")

    history = HistoricalRecords(excluded_fields=["updated_at"])
    objects = PatientQuerySet.as_manager()

    class Meta:
        ordering = ["legal_last_name", "legal_first_name", "id"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["site", "mrn"], name="patient_mrn_unique_per_site"),
        ]
        indexes: ClassVar = [
            models.Index(fields=["site", "legal_last_name", "legal_first_name"], name="patient_site_name"),
            models.Index(fields=["site", "date_of_birth"], name="patient_site_dob"),
            models.Index(fields=["site", "status"], name="patient_site_status"),
            models.Index(fields=["mrn"], name="patient_mrn"),
        ]

    def __str__(self) -> str:
        return f"{self.display_name} ({self.mrn})"

    @property
    def display_name(self) -> str:
        """Preferred first name if given, then the legal last name."""
        return f"{self.preferred_name or self.legal_first_name} {self.legal_last_name}"

    @property
    def legal_name(self) -> str:
        return f"{self.legal_first_name} {self.legal_last_name}"

    def age_on(self, day: dt.date) -> int:
        born = self.date_of_birth
        return day.year - born.year - ((day.month, day.day) < (born.month, born.day))

    @property
    def age_years(self) -> int:
        return self.age_on(timezone.localdate())


class MrnCounter(models.Model):
    """The next MRN number per site, incremented inside the registering transaction."""

    site = models.OneToOneField("accounts.Site", on_delete=models.CASCADE, related_name="mrn_counter")
    next_number = models.PositiveIntegerField(default=1)

    def __str__(self) -> str:
        return f"{self.site_id}: {self.next_number}"


class Source(models.TextChoices):
    STAFF = "staff", "Entered by staff"
    PATIENT = "patient", "Reported by the patient"


class ChartEntry(models.Model):
    """Common shape of a chart row: whose, where, who entered it, whether a clinician accepted it, and removal.

    Rows are never deleted: removing one sets ``removed_at`` (with a reason), so the history stays readable.
    """

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="%(class)ss")
    site = models.ForeignKey("accounts.Site", on_delete=models.PROTECT, related_name="+")
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.STAFF)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    accepted_at = models.DateTimeField(null=True, blank=True)
    removed_at = models.DateTimeField(null=True, blank=True)
    removed_reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = ChartEntryQuerySet.as_manager()

    class Meta:
        abstract = True

    @property
    def is_pending_review(self) -> bool:
        return self.source == Source.PATIENT and self.accepted_at is None and self.removed_at is None


class BodyMeasurement(ChartEntry):
    """Height and/or weight at a moment; BMI is derived. Weight drives weight-based doses."""

    measured_at = models.DateTimeField(default=timezone.now)
    height_cm = models.DecimalField(
        max_digits=5,
        decimal_places=1,
        null=True,
        blank=True,
        validators=[MinValueValidator(HEIGHT_CM_RANGE[0]), MaxValueValidator(HEIGHT_CM_RANGE[1])],
    )
    weight_kg = models.DecimalField(
        max_digits=5,
        decimal_places=1,
        null=True,
        blank=True,
        validators=[MinValueValidator(WEIGHT_KG_RANGE[0]), MaxValueValidator(WEIGHT_KG_RANGE[1])],
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["-measured_at", "-id"]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=Q(weight_kg__isnull=True) | Q(weight_kg__gt=0, weight_kg__lte=350), name="weight_plausible"
            ),
            models.CheckConstraint(
                condition=Q(height_cm__isnull=True) | Q(height_cm__gte=50, height_cm__lte=250),
                name="height_plausible",
            ),
            models.CheckConstraint(
                condition=Q(weight_kg__isnull=False) | Q(height_cm__isnull=False), name="measurement_not_empty"
            ),
        ]

    def __str__(self) -> str:
        return f"measurement {self.measured_at:%Y-%m-%d}"


class Allergy(ChartEntry):
    """An allergy or intolerance."""

    class Severity(models.TextChoices):
        MILD = "mild", "Mild"
        MODERATE = "moderate", "Moderate"
        SEVERE = "severe", "Severe (anaphylaxis)"
        UNKNOWN = "unknown", "Unknown"

    substance = models.CharField(max_length=120)
    reaction = models.CharField(max_length=200, blank=True)
    severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.UNKNOWN)
    history = HistoricalRecords()

    class Meta:
        ordering = ["substance"]
        verbose_name_plural = "allergies"

    def __str__(self) -> str:
        return self.substance


class Diagnosis(ChartEntry):
    """A diagnosis by ICD-10-CM code (validated against the catalogue in ``clinical.diagnoses``)."""

    class Episode(models.TextChoices):
        SINGLE = "single", "Single episode"
        RECURRENT = "recurrent", "Recurrent"
        NOT_APPLICABLE = "n/a", "Not applicable"

    icd10_code = models.CharField("ICD-10-CM code", max_length=10)
    description = models.CharField(max_length=200)
    episode = models.CharField(max_length=10, choices=Episode.choices, default=Episode.NOT_APPLICABLE)
    is_primary = models.BooleanField(default=False)
    onset_date = models.DateField(null=True, blank=True)
    current_episode_start = models.DateField(
        null=True, blank=True, help_text="Start of the current depressive episode (TRD counts trials in it)."
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["-is_primary", "icd10_code"]
        verbose_name_plural = "diagnoses"

    def __str__(self) -> str:
        return f"{self.icd10_code} {self.description}"


class MedicalCondition(ChartEntry):
    """A condition that bears on ketamine eligibility (the codes of ``clinical.eligibility.Condition``)."""

    condition = models.CharField(max_length=40, choices=_choices(Condition))
    notes = models.CharField(max_length=300, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["condition"]

    def __str__(self) -> str:
        return self.get_condition_display()


class SubstanceUseEntry(ChartEntry):
    """Use of a substance, current or past, and whether it amounts to a use disorder."""

    substance = models.CharField(max_length=20, choices=_choices(Substance))
    current = models.BooleanField(default=True)
    use_disorder = models.BooleanField(default=False)
    pattern = models.CharField(max_length=200, blank=True, help_text="e.g. 'weekends, 2–3 drinks'")
    last_use = models.DateField(null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["substance"]
        verbose_name_plural = "substance use entries"

    def __str__(self) -> str:
        return self.get_substance_display()


class MedicationEntry(ChartEntry):
    """A medication the patient takes (or took). ``drug_class`` lets the interaction rules see it."""

    name = models.CharField(max_length=120)
    drug_class = models.CharField(max_length=30, choices=_choices(DrugClass), default=DrugClass.OTHER.value)
    daily_dose_mg = models.DecimalField(
        max_digits=8, decimal_places=2, null=True, blank=True, validators=[MinValueValidator(Decimal("0.01"))]
    )
    dose_text = models.CharField(max_length=120, blank=True, help_text="As prescribed, e.g. '0.5 mg at night'")
    started_on = models.DateField(null=True, blank=True)
    stopped_on = models.DateField(null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["stopped_on", "name"]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=Q(stopped_on__isnull=True)
                | Q(started_on__isnull=True)
                | Q(stopped_on__gte=models.F("started_on")),
                name="medication_dates_order",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_current(self) -> bool:
        return self.stopped_on is None or self.stopped_on >= timezone.localdate()


class AntidepressantTrial(ChartEntry):
    """An antidepressant trial: drug, dose, weeks and improvement. TRD and Thase–Rush stage are derived from these."""

    drug = models.CharField(max_length=120)
    drug_class = models.CharField(max_length=30, choices=_choices(DrugClass))
    daily_dose_mg = models.DecimalField(
        max_digits=8, decimal_places=2, null=True, blank=True, validators=[MinValueValidator(Decimal("0.01"))]
    )
    adequate_dose = models.BooleanField(null=True, blank=True, help_text="Unknown until the prescriber judges it.")
    weeks = models.DecimalField(
        max_digits=5,
        decimal_places=1,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.1")), MaxValueValidator(Decimal("520"))],
    )
    improvement_pct = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MaxValueValidator(100)], help_text="0 = no improvement, 100 = full."
    )
    current_episode = models.BooleanField(default=True)
    started_on = models.DateField(null=True, blank=True)
    notes = models.CharField(max_length=300, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["started_on", "id"]
        constraints: ClassVar = [
            models.CheckConstraint(condition=Q(weeks__isnull=True) | Q(weeks__gt=0), name="trial_weeks_positive"),
            models.CheckConstraint(
                condition=Q(improvement_pct__isnull=True) | Q(improvement_pct__lte=100), name="trial_improvement_pct"
            ),
        ]

    def __str__(self) -> str:
        return self.drug
