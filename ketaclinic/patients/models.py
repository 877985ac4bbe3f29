"""The patient record: identity, contacts, measurements, allergies, diagnoses, conditions, substance use,
medications and antidepressant trials.

Every clinical row carries its ``site`` (so a network can shard by site) and keeps a full change history
(django-simple-history). Rows a patient reports through the portal are marked ``source=patient`` and do not count in
the chart or the eligibility rules until a clinician accepts them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from decimal import Decimal
from typing import ClassVar

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from simple_history.models import HistoricalRecords

from ketaclinic.clinical.diagnoses import lookup_icd10
from ketaclinic.clinical.eligibility import Condition, Substance
from ketaclinic.clinical.medications import DrugClass, drug_class_of
from ketaclinic.patients.querysets import ChartEntryQuerySet, PatientQuerySet

#: Plausible ranges, shared by forms, the API and database constraints (the clinical core uses the same weight limit).
WEIGHT_KG_RANGE = (Decimal("0.1"), Decimal("350"))
HEIGHT_CM_RANGE = (Decimal("50"), Decimal("250"))
MINIMUM_AGE_YEARS = 18


#: Plain-language labels for the clinical core's codes, as staff and patients read them on screen.
CONDITION_LABELS: dict[str, str] = {
    Condition.HYPERSENSITIVITY_KETAMINE: "Allergy or hypersensitivity to ketamine/esketamine",
    Condition.ANEURYSM_OR_AVM: "Aneurysm or arteriovenous malformation (AVM), brain, chest or abdomen",
    Condition.INTRACEREBRAL_HAEMORRHAGE: "Bleeding in the brain (intracerebral haemorrhage), ever",
    Condition.HYPERTENSION_UNCONTROLLED: "High blood pressure, not controlled",
    Condition.HYPERTENSION_CONTROLLED: "High blood pressure, controlled with treatment",
    Condition.CARDIOVASCULAR_DISEASE: "Heart disease (coronary, valve, heart failure, arrhythmia)",
    Condition.CEREBROVASCULAR_DISEASE: "Stroke, TIA or other cerebrovascular disease",
    Condition.HYPERTENSIVE_ENCEPHALOPATHY_HISTORY: "Hypertensive encephalopathy, ever",
    Condition.PSYCHOSIS: "Psychosis or a psychotic disorder in the past",
    Condition.PSYCHOSIS_CURRENT: "Psychotic symptoms now",
    Condition.MANIA_CURRENT: "Mania or hypomania now",
    Condition.BIPOLAR: "Bipolar disorder",
    Condition.LIVER_DISEASE_CHILD_PUGH_B: "Liver disease, moderate (Child-Pugh B)",
    Condition.LIVER_DISEASE_CHILD_PUGH_C: "Liver disease, severe (Child-Pugh C)",
    Condition.RAISED_ICP: "Raised pressure inside the skull (intracranial pressure)",
    Condition.RAISED_IOP_GLAUCOMA: "Raised eye pressure or glaucoma",
    Condition.HYPERTHYROIDISM_UNCONTROLLED: "Overactive thyroid, not controlled",
    Condition.CYSTITIS: "Ulcerative or interstitial cystitis (bladder inflammation)",
    Condition.SLEEP_APNOEA: "Sleep apnoea",
}

SUBSTANCE_LABELS: dict[str, str] = {
    Substance.ALCOHOL: "Alcohol",
    Substance.CANNABIS: "Cannabis",
    Substance.KETAMINE: "Ketamine (non-prescribed)",
    Substance.PCP: "PCP or other dissociatives",
    Substance.OPIOIDS: "Opioids (non-prescribed)",
    Substance.STIMULANTS: "Stimulants (cocaine, amphetamines)",
    Substance.SEDATIVES: "Sedatives (non-prescribed)",
    Substance.OTHER: "Other",
}

DRUG_CLASS_LABELS: dict[str, str] = {
    DrugClass.SSRI: "SSRI",
    DrugClass.SNRI: "SNRI",
    DrugClass.TCA: "Tricyclic (TCA)",
    DrugClass.MAOI: "MAOI",
    DrugClass.BUPROPION: "Bupropion",
    DrugClass.MIRTAZAPINE: "Mirtazapine",
    DrugClass.SEROTONIN_MODULATOR: "Serotonin modulator",
    DrugClass.OTHER_ANTIDEPRESSANT: "Other antidepressant",
    DrugClass.ECT: "ECT",
    DrugClass.AUGMENTATION: "Augmentation (antipsychotic, lithium, T3)",
    DrugClass.BENZODIAZEPINE: "Benzodiazepine",
    DrugClass.Z_DRUG: "Z-drug (zolpidem, zopiclone …)",
    DrugClass.OPIOID: "Opioid",
    DrugClass.OTHER_SEDATIVE: "Other sedative (gabapentinoid, barbiturate …)",
    DrugClass.PSYCHOSTIMULANT: "Psychostimulant",
    DrugClass.LAMOTRIGINE: "Lamotrigine",
    DrugClass.METHYLXANTHINE: "Methylxanthine (theophylline)",
    DrugClass.SYMPATHOMIMETIC: "Sympathomimetic",
    DrugClass.NASAL_CORTICOSTEROID: "Nasal corticosteroid",
    DrugClass.NASAL_DECONGESTANT: "Nasal decongestant",
    DrugClass.CYP_INDUCER: "CYP3A4/2B6 inducer",
    DrugClass.CYP_INHIBITOR: "CYP3A4/2B6 inhibitor",
    DrugClass.OTHER: "Other",
}

#: Classes the prescriber must see at a glance: they change ketamine's effect or safety.
INTERACTION_CLASSES: frozenset[str] = frozenset(
    {
        DrugClass.BENZODIAZEPINE,
        DrugClass.Z_DRUG,
        DrugClass.OPIOID,
        DrugClass.OTHER_SEDATIVE,
        DrugClass.MAOI,
        DrugClass.PSYCHOSTIMULANT,
        DrugClass.LAMOTRIGINE,
        DrugClass.METHYLXANTHINE,
        DrugClass.SYMPATHOMIMETIC,
        DrugClass.CYP_INDUCER,
        DrugClass.CYP_INHIBITOR,
    }
)


def _choices(enum: type, labels: dict[str, str] | None = None) -> list[tuple[str, str]]:
    labels = labels or {}
    return [
        (m.value, labels.get(m.value) or m.value.replace("_", " ").capitalize())
        for m in enum  # type: ignore[attr-defined]
    ]


def earliest_adult_birth_date(today: dt.date) -> dt.date:
    """The latest date of birth that makes someone ``MINIMUM_AGE_YEARS`` old on ``today`` (29 Feb → 28 Feb)."""
    try:
        return today.replace(year=today.year - MINIMUM_AGE_YEARS)
    except ValueError:
        return today.replace(year=today.year - MINIMUM_AGE_YEARS, day=28)


def validate_adult_date_of_birth(value: dt.date) -> None:
    """Refuse a date of birth in the future or of someone under 18 (the clinic treats adults only)."""
    today = timezone.localdate()
    if value > today:
        raise ValidationError(
            f"Date of birth: {value:%Y-%m-%d} is in the future (today is {today:%Y-%m-%d}).", code="future"
        )
    latest = earliest_adult_birth_date(today)
    if value > latest:
        raise ValidationError(
            f"Date of birth: patients must be {MINIMUM_AGE_YEARS} or older (born on or before {latest:%Y-%m-%d}).",
            code="under_age",
        )


def check_drug_class(entry: MedicationEntry | AntidepressantTrial, name: str) -> None:
    """Keep a row's class consistent with the drug catalogue, so the interaction rules see what the drug is.

    "Other" (or blank) for a catalogued drug takes the catalogue's class; a different explicit class is refused:
    recording phenelzine as an SSRI would hide the MAOI interaction.
    """
    known = drug_class_of(name or "")
    if known is None:
        return
    if entry.drug_class in ("", DrugClass.OTHER):
        entry.drug_class = known.value
    elif entry.drug_class != known:
        raise ValidationError(
            {
                "drug_class": f"Drug class: {name.strip()} is {DRUG_CLASS_LABELS[known]} in the drug catalogue, "
                f"not {DRUG_CLASS_LABELS.get(entry.drug_class, entry.drug_class)}."
            }
        )


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
    date_of_birth = models.DateField(validators=[validate_adult_date_of_birth])
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

    def clean(self) -> None:
        if self.weight_kg is None and self.height_cm is None:
            raise ValidationError({"weight_kg": "Weight: enter a weight or a height (or both)."})


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
    description = models.CharField(max_length=200, blank=True, help_text="Filled from the catalogue if left blank.")
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
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["patient"],
                condition=Q(is_primary=True, removed_at__isnull=True),
                name="diagnosis_one_primary",
                violation_error_message="Primary: this patient already has a primary diagnosis.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.icd10_code} {self.description}"

    def clean(self) -> None:
        """Accept only catalogued ICD-10-CM codes (normalised), fill the description and episode from the catalogue,
        and keep at most one primary diagnosis."""
        errors: dict[str, str] = {}
        try:
            entry = lookup_icd10(self.icd10_code or "")
        except ValueError:
            errors["icd10_code"] = (
                f"ICD-10-CM code: {self.icd10_code.strip() or '(blank)'} is not in the clinic's catalogue; "
                "pick one from the list, e.g. F33.2."
            )
        else:
            self.icd10_code = entry.code
            self.description = self.description.strip() or entry.description
            if self.episode == self.Episode.NOT_APPLICABLE and entry.episode != "n/a":
                self.episode = entry.episode
        if self.is_primary and self.removed_at is None and self.patient_id is not None:
            other = (
                Diagnosis.objects.filter(patient_id=self.patient_id, is_primary=True, removed_at__isnull=True)
                .exclude(pk=self.pk)
                .first()
            )
            if other is not None:
                errors["is_primary"] = (
                    f"Primary: {other.icd10_code} is already the primary diagnosis; untick it there first."
                )
        if errors:
            raise ValidationError(errors)


class MedicalCondition(ChartEntry):
    """A condition that bears on ketamine eligibility (the codes of ``clinical.eligibility.Condition``)."""

    condition = models.CharField(max_length=40, choices=_choices(Condition, CONDITION_LABELS))
    notes = models.CharField(max_length=300, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["condition"]

    def __str__(self) -> str:
        return self.get_condition_display()


class SubstanceUseEntry(ChartEntry):
    """Use of a substance, current or past, and whether it amounts to a use disorder."""

    substance = models.CharField(max_length=20, choices=_choices(Substance, SUBSTANCE_LABELS))
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
    drug_class = models.CharField(
        max_length=30, choices=_choices(DrugClass, DRUG_CLASS_LABELS), default=DrugClass.OTHER.value
    )
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

    @property
    def is_interaction_relevant(self) -> bool:
        return self.drug_class in INTERACTION_CLASSES

    def clean(self) -> None:
        check_drug_class(self, self.name)
        if self.started_on and self.stopped_on and self.stopped_on < self.started_on:
            raise ValidationError({"stopped_on": "Stopped on: cannot be before the start date."})


class AntidepressantTrial(ChartEntry):
    """An antidepressant trial: drug, dose, weeks and improvement. TRD and Thase–Rush stage are derived from these."""

    drug = models.CharField(max_length=120)
    drug_class = models.CharField(max_length=30, choices=_choices(DrugClass, DRUG_CLASS_LABELS))
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

    def clean_fields(self, exclude: Collection[str] | None = None) -> None:
        # A catalogued drug needs no class from whoever enters it; an unknown one must be classified.
        known = drug_class_of(self.drug or "")
        if not self.drug_class and known is not None:
            self.drug_class = known.value
        super().clean_fields(exclude=exclude)

    def clean(self) -> None:
        check_drug_class(self, self.drug)
