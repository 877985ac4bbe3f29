"""The synthetic demo patients: forty people across both demo sites and every status, with realistic histories.

Nobody here is real: the names are invented combinations, contacts use the reserved ``555-01xx`` numbers and the
``example.invalid`` domain, addresses are on Example Avenue and Sample Road. Everything is written through the
actions (``register_patient``, ``set_status``, ``add_entry``, ``record_response``, ``sign_consent``), so the audit
trail, the change history, the suicide-risk task of the one patient with a positive PHQ-9 item 9 and the signed
consent PDFs are all real.

Deterministic: :func:`build_specs` draws every detail from ``random.Random(2026)`` and dates relative to the day of
seeding, so two runs on the same day describe the same clinic. Idempotent: a patient is keyed on their demo e-mail
address at their site; one already there is left alone (never duplicated, never overwritten), so running the seed
again adds nothing, and a demo user's edits survive.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone

from ketaclinic.accounts import demo as accounts_demo
from ketaclinic.accounts.models import Site, User
from ketaclinic.clinical.eligibility import Condition, Substance
from ketaclinic.clinical.medications import DrugClass
from ketaclinic.consents.actions import revoke_consent, sign_consent
from ketaclinic.consents.models import Consent
from ketaclinic.measures.actions import record_response
from ketaclinic.patients.actions import add_entry, register_patient, set_status
from ketaclinic.patients.models import (
    Allergy,
    AntidepressantTrial,
    BodyMeasurement,
    ChartEntry,
    Diagnosis,
    MedicalCondition,
    MedicationEntry,
    Patient,
    SubstanceUseEntry,
)

SEED = 2026
EMAIL_DOMAIN = "example.invalid"
S = Patient.Status
#: The demo sites' time zones: questionnaires are dated 10:00 clinic time.
ZONES: dict[str, ZoneInfo] = {str(spec["code"]): ZoneInfo(str(spec["time_zone"])) for spec in accounts_demo.SITES}

# (legal first, legal last, sex at birth, site code, status). Invented names; statuses spread over both sites.
PEOPLE: tuple[tuple[str, str, str, str, str], ...] = (
    ("Maya", "Holloway", "female", "riverside", S.IN_TREATMENT),
    ("Desmond", "Farrow", "male", "riverside", S.MAINTENANCE),
    ("Harriet", "Lindqvist", "female", "riverside", S.SCREENING),
    ("Tomasz", "Wierzbicki", "male", "riverside", S.IN_TREATMENT),
    ("Aaliyah", "Brookhart", "female", "riverside", S.ELIGIBLE),
    ("Julian", "Featherstone", "male", "riverside", S.DISCHARGED),
    ("Noor", "Haddadin", "female", "riverside", S.SCREENING),
    ("Callum", "Birchwood", "male", "riverside", S.REFERRAL),
    ("Esperanza", "Villalobos", "female", "riverside", S.MAINTENANCE),
    ("Owen", "Thistlewood", "male", "riverside", S.DECLINED),
    ("Mei-Ling", "Cartwright", "female", "riverside", S.IN_TREATMENT),
    ("Rafael", "Quintero-Hale", "male", "riverside", S.ELIGIBLE),
    ("Beatrix", "Underhill", "female", "riverside", S.SCREENING),
    ("Kwame", "Asante-Morrow", "male", "riverside", S.IN_TREATMENT),
    ("Lena", "Marchetti", "female", "riverside", S.REFERRAL),
    ("Silas", "Pemberton", "male", "riverside", S.MAINTENANCE),
    ("Ingrid", "Solberg", "female", "riverside", S.DISCHARGED),
    ("Marcus", "Delacroix-Webb", "male", "riverside", S.IN_TREATMENT),
    ("Yasmin", "Farahani", "female", "riverside", S.ELIGIBLE),
    ("Theodore", "Ashcombe", "male", "riverside", S.SCREENING),
    ("Camila", "Restrepo", "female", "riverside", S.IN_TREATMENT),
    ("Dmitri", "Pavlenko", "male", "riverside", S.REFERRAL),
    ("Georgia", "Wrenfield", "female", "riverside", S.DECLINED),
    ("Anselm", "Kirkby", "male", "riverside", S.MAINTENANCE),
    ("Priyanka", "Deshmane", "female", "riverside", S.SCREENING),
    ("Rowan", "Castellane", "female", "riverside", S.IN_TREATMENT),
    ("Eleanor", "Fairbairn", "female", "hillcrest", S.MAINTENANCE),
    ("Joaquin", "Arrieta", "male", "hillcrest", S.IN_TREATMENT),
    ("Sunniva", "Halvorsen", "female", "hillcrest", S.ELIGIBLE),
    ("Bartholomew", "Crane", "male", "hillcrest", S.SCREENING),
    ("Adaeze", "Nwosu-Blake", "female", "hillcrest", S.DISCHARGED),
    ("Felix", "Oyelaran", "male", "hillcrest", S.DECLINED),
    ("Clementine", "Harrow", "female", "hillcrest", S.REFERRAL),
    ("Hamish", "Calder", "male", "hillcrest", S.IN_TREATMENT),
    ("Leilani", "Kahale", "female", "hillcrest", S.MAINTENANCE),
    ("Vikram", "Sethuraman", "male", "hillcrest", S.ELIGIBLE),
    ("Odette", "Marchbanks", "female", "hillcrest", S.DECLINED),
    ("Cormac", "Ellery", "male", "hillcrest", S.REFERRAL),
    ("Tamsin", "Ferreira", "female", "hillcrest", S.SCREENING),
    ("Nikolai", "Brandt", "male", "hillcrest", S.DISCHARGED),
)

#: Who does what at each demo site (the demo staff of ``accounts.demo``; Hillcrest has no coordinator, so its nurse
#: registers patients).
STAFF_BY_SITE: dict[str, dict[str, str]] = {
    "riverside": {"desk": "desk.patel", "prescriber": "dr.rivera", "nurse": "nurse.okafor"},
    "hillcrest": {"desk": "nurse.hill", "prescriber": "dr.hale", "nurse": "nurse.hill"},
}

REFERRERS = (
    ("Dr Helena Brightwater", "Springfield Family Practice, 555-0141"),
    ("Dr Amos Kettering", "Shelbyville Community Health, 555-0152"),
    ("Dr Ruth Okonedo", "Lakeside Psychiatry Associates, 555-0163"),
    ("Jordan Pike, PMHNP", "Riverbend Behavioral Health, 555-0174"),
    ("Dr Sofia Lindgren", "Northgate Internal Medicine, 555-0185"),
)
STREETS = ("Example Avenue", "Sample Road", "Placeholder Lane", "Demo Street", "Fictional Court")
TOWNS = ("Springfield", "Shelbyville", "Ogdenville", "North Haverbrook")
RELATIVES = (("Sam", "partner"), ("Alex", "sibling"), ("Jamie", "spouse"), ("Chris", "parent"), ("Robin", "friend"))

#: Antidepressants tried in the current episode: (generic name, class, daily doses in mg a clinician might use).
ANTIDEPRESSANTS: tuple[tuple[str, DrugClass, tuple[int, ...]], ...] = (
    ("sertraline", DrugClass.SSRI, (100, 150, 200)),
    ("escitalopram", DrugClass.SSRI, (10, 20)),
    ("fluoxetine", DrugClass.SSRI, (20, 40, 60)),
    ("venlafaxine", DrugClass.SNRI, (150, 225)),
    ("duloxetine", DrugClass.SNRI, (60, 90, 120)),
    ("bupropion", DrugClass.BUPROPION, (300, 450)),
    ("mirtazapine", DrugClass.MIRTAZAPINE, (30, 45)),
    ("nortriptyline", DrugClass.TCA, (75, 100, 150)),
    ("vortioxetine", DrugClass.SEROTONIN_MODULATOR, (10, 20)),
)
ALLERGIES = (
    ("penicillin", "rash", Allergy.Severity.MILD),
    ("sulfonamides", "hives", Allergy.Severity.MODERATE),
    ("latex", "itching", Allergy.Severity.MILD),
    ("codeine", "nausea and vomiting", Allergy.Severity.MILD),
)

#: Patients whose story is written out rather than drawn: the cases the demo is meant to show.
STORIES: dict[str, dict[str, Any]] = {
    # A positive PHQ-9 item 9 two days ago: opens an urgent suicide-risk task (the task list shows it).
    "Noor Haddadin": {"item9": True, "gad": True},
    # Aneurysm: not eligible for esketamine (label contraindication); screening shows it.
    "Bartholomew Crane": {
        "preferred": "Bart",
        "conditions": [(Condition.ANEURYSM_OR_AVM, "4.1 cm abdominal aortic aneurysm under surveillance")],
    },
    # Lamotrigine (attenuates ketamine's effects) and missing trial weeks: screening asks rather than guesses.
    "Harriet Lindqvist": {"lamotrigine": True, "missing": "weeks"},
    "Beatrix Underhill": {"missing": "improvement"},
    "Theodore Ashcombe": {"missing": "dose", "past_cannabis": True, "preferred": "Teddy"},
    "Rafael Quintero-Hale": {"preferred": "Rafa"},
    "Mei-Ling Cartwright": {"preferred": "Mei", "gad": True},
    # Benzodiazepines above 8 mg diazepam-equivalent a day (blunting precaution).
    "Yasmin Farahani": {"benzodiazepine": ("lorazepam", Decimal("1.5"), "0.5 mg three times a day")},
    "Priyanka Deshmane": {"benzodiazepine": ("clonazepam", Decimal("1"), "0.5 mg twice a day")},
    # Declined for different reasons.
    "Owen Thistlewood": {
        "declined": "Uncontrolled hypertension (168/102 at screening): back to primary care, re-refer when controlled.",
        "conditions": [(Condition.HYPERTENSION_UNCONTROLLED, "Readings 160–170/100–105 on two visits")],
    },
    "Georgia Wrenfield": {"declined": "Patient chose not to proceed after discussing the risks and the time needed."},
    "Felix Oyelaran": {
        "declined": "Current alcohol use disorder: referred to addiction services first; reassess in 6 months.",
        "alcohol_use_disorder": True,
    },
    "Odette Marchbanks": {"declined": "Planning a pregnancy in the coming months; revisit after."},
    # Gender diversity in the record.
    "Rowan Castellane": {"gender": "non-binary", "pronouns": "they/them", "kap": True},
    "Nikolai Brandt": {"revoke_psychotherapy": True},
    "Adaeze Nwosu-Blake": {"ptsd": True, "kap": True},
    "Kwame Asante-Morrow": {"ptsd": True},
    "Hamish Calder": {"conditions": [(Condition.SLEEP_APNOEA, "Uses CPAP nightly")]},
    "Silas Pemberton": {"conditions": [(Condition.SLEEP_APNOEA, "Mild OSA, CPAP most nights")]},
}

ROUTES = ("racemic", "racemic", "esketamine", "kap")
CHANNELS = (Consent.Channel.CLINIC, Consent.Channel.CLINIC, Consent.Channel.PORTAL)
TREATED = (S.IN_TREATMENT, S.MAINTENANCE, S.DISCHARGED)
STATUS_PATH: dict[str, tuple[tuple[str, str], ...]] = {
    S.REFERRAL: (),
    S.SCREENING: ((S.SCREENING, "Intake received; screening booked"),),
    S.ELIGIBLE: ((S.SCREENING, "Intake received; screening booked"), (S.ELIGIBLE, "Eligibility signed")),
    S.DECLINED: ((S.SCREENING, "Intake received; screening booked"),),  # then the story's reason
    S.IN_TREATMENT: (
        (S.SCREENING, "Intake received; screening booked"),
        (S.ELIGIBLE, "Eligibility signed"),
        (S.IN_TREATMENT, "Induction series started"),
    ),
    S.MAINTENANCE: (
        (S.SCREENING, "Intake received; screening booked"),
        (S.ELIGIBLE, "Eligibility signed"),
        (S.IN_TREATMENT, "Induction series started"),
        (S.MAINTENANCE, "Responded to induction; sessions spaced out"),
    ),
    S.DISCHARGED: (
        (S.SCREENING, "Intake received; screening booked"),
        (S.ELIGIBLE, "Eligibility signed"),
        (S.IN_TREATMENT, "Induction series started"),
        (S.MAINTENANCE, "Responded to induction; sessions spaced out"),
        (S.DISCHARGED, "Sustained remission; care back to the referring clinician"),
    ),
}


#: Roughly how long ago each patient's intake was, by where they are now (their questionnaires come after it).
INTAKE_DAYS_AGO: dict[str, int] = {
    S.REFERRAL: 3,
    S.SCREENING: 25,
    S.DECLINED: 60,
    S.ELIGIBLE: 45,
    S.IN_TREATMENT: 70,
    S.MAINTENANCE: 210,
    S.DISCHARGED: 340,
}


@dataclass
class Row:
    """One chart row to add: its model and fields."""

    model: type[ChartEntry]
    fields: dict[str, Any]


@dataclass
class Response:
    """One questionnaire to record ``days_ago`` days before the seeding day (at 10:00 clinic time)."""

    instrument: str
    answers: list[int]
    days_ago: int
    channel: str = "portal"


@dataclass
class PatientSpec:
    """Everything the demo writes for one patient, decided before touching the database."""

    site_code: str
    status: str
    demographics: dict[str, Any]
    statuses: list[tuple[str, str]]
    intake_days_ago: int
    today: dt.date
    rows: list[Row] = field(default_factory=list)
    responses: list[Response] = field(default_factory=list)
    consents: list[tuple[str, str]] = field(default_factory=list)  # (kind, channel)
    revoke: list[tuple[str, str]] = field(default_factory=list)  # (kind, reason)

    @property
    def email(self) -> str:
        return str(self.demographics["email"])

    @property
    def name(self) -> str:
        return f"{self.demographics['legal_first_name']} {self.demographics['legal_last_name']}"


def _answers(rng: random.Random, total: int, items: int, *, item9: int = 0) -> list[int]:
    """Answers 0–3 to ``items`` questions adding up to ``total`` (PHQ-9: the last one is item 9, set apart)."""
    scored = items - 1 if items == 9 else items
    total = max(0, min(total - item9, 3 * scored))
    values = [0] * scored
    for _ in range(total):
        open_items = [i for i, v in enumerate(values) if v < 3]
        values[rng.choice(open_items)] += 1
    return [*values, item9] if items == 9 else values


def _trajectory(rng: random.Random, status: str) -> list[tuple[int, int]]:
    """(days ago, PHQ-9 total) pairs telling the patient's course so far."""
    baseline = rng.randint(17, 24)
    if status in (S.REFERRAL,):
        return []
    if status in (S.SCREENING, S.DECLINED):
        return [(rng.randint(3, 20), baseline)]
    if status == S.ELIGIBLE:
        return [(rng.randint(28, 40), baseline), (rng.randint(3, 9), baseline + rng.randint(-2, 1))]
    outcome = rng.choice((0.3, 0.4, 0.55, 0.75, 0.9))  # share of the baseline left at the end of induction
    if status == S.IN_TREATMENT:
        weeks = rng.randint(3, 7)
        start = 7 * weeks + rng.randint(2, 5)
        points = [(start, baseline)]
        for week in range(1, weeks + 1):
            share = 1 - (1 - outcome) * min(1.0, week / 3)
            points.append((start - 7 * week, max(0, round(baseline * share) + rng.randint(-2, 2))))
        return points
    end_share = rng.choice((0.2, 0.3, 0.35))
    start = rng.randint(150, 200) if status == S.MAINTENANCE else rng.randint(260, 330)
    last = 5 if status == S.MAINTENANCE else rng.randint(45, 90)
    points = [(start, baseline)]
    for days_ago in range(start - 14, last - 1, -28):
        points.append((days_ago, max(0, round(baseline * end_share) + rng.randint(-2, 3))))
    return points


def _history(rng: random.Random, spec: PatientSpec, story: dict[str, Any], sex: str, today: dt.date) -> None:
    """Diagnoses, trials, medications, conditions, substance use, allergies and measurements."""
    zone = ZONES[spec.site_code]
    episode_start = today - dt.timedelta(days=rng.randint(270, 900))
    recurrent = rng.random() < 0.75
    code = rng.choice(("F33.1", "F33.2", "F33.2")) if recurrent else rng.choice(("F32.1", "F32.2"))
    spec.rows.append(
        Row(
            Diagnosis,
            {
                "icd10_code": code,
                "is_primary": True,
                "onset_date": episode_start - dt.timedelta(days=rng.randint(700, 5000)) if recurrent else episode_start,
                "current_episode_start": episode_start,
            },
        )
    )
    if story.get("gad") or rng.random() < 0.3:
        spec.rows.append(Row(Diagnosis, {"icd10_code": "F41.1"}))
    if story.get("ptsd"):
        spec.rows.append(Row(Diagnosis, {"icd10_code": "F43.10"}))
    if story.get("alcohol_use_disorder"):
        spec.rows.append(Row(Diagnosis, {"icd10_code": "F10.20"}))

    count = rng.randint(2, 3) if spec.status == S.SCREENING else rng.randint(2, 4)
    drugs = rng.sample(ANTIDEPRESSANTS, count)
    started = episode_start + dt.timedelta(days=rng.randint(10, 40))
    missing = story.get("missing")
    for index, (drug, drug_class, doses) in enumerate(drugs):
        weeks = rng.randint(6, 14)
        last = index == count - 1
        trial: dict[str, Any] = {
            "drug": drug,
            "drug_class": drug_class.value,
            "daily_dose_mg": Decimal(rng.choice(doses)),
            "adequate_dose": True,
            "weeks": Decimal(weeks),
            "improvement_pct": rng.choice((0, 5, 10, 15, 20, 25)),
            "current_episode": True,
            "started_on": started,
        }
        if index == 1 and missing == "weeks":
            trial["weeks"] = None
            trial["notes"] = "Patient unsure how long; pharmacy records requested"
        if index == 0 and missing == "improvement":
            trial["improvement_pct"] = None
        if index == 1 and missing == "dose":
            trial["daily_dose_mg"] = None
            trial["adequate_dose"] = None
        spec.rows.append(Row(AntidepressantTrial, trial))
        if last:
            spec.rows.append(
                Row(
                    MedicationEntry,
                    {
                        "name": drug,
                        "drug_class": drug_class.value,
                        "daily_dose_mg": trial["daily_dose_mg"],
                        "dose_text": f"{trial['daily_dose_mg'] or '?'} mg daily",
                        "started_on": started,
                    },
                )
            )
        started += dt.timedelta(weeks=weeks + rng.randint(1, 6))

    conditions: list[tuple[Condition, str]] = list(story.get("conditions", []))
    if not conditions and rng.random() < 0.2:
        conditions.append((Condition.HYPERTENSION_CONTROLLED, "On lisinopril; home readings around 128/80"))
    for condition, notes in conditions:
        spec.rows.append(Row(MedicalCondition, {"condition": condition.value, "notes": notes}))
        if condition == Condition.HYPERTENSION_CONTROLLED:
            spec.rows.append(
                Row(MedicationEntry, {"name": "lisinopril", "daily_dose_mg": Decimal(10), "dose_text": "10 mg daily"})
            )
    if story.get("lamotrigine"):
        spec.rows.append(
            Row(
                MedicationEntry,
                {
                    "name": "lamotrigine",
                    "drug_class": DrugClass.LAMOTRIGINE.value,
                    "daily_dose_mg": Decimal(200),
                    "dose_text": "100 mg twice a day (mood augmentation)",
                },
            )
        )
    if "benzodiazepine" in story:
        name, dose, text = story["benzodiazepine"]
        spec.rows.append(
            Row(
                MedicationEntry,
                {"name": name, "drug_class": DrugClass.BENZODIAZEPINE.value, "daily_dose_mg": dose, "dose_text": text},
            )
        )
    if rng.random() < 0.25:
        spec.rows.append(
            Row(
                MedicationEntry,
                {
                    "name": "trazodone",
                    "drug_class": DrugClass.SEROTONIN_MODULATOR.value,
                    "daily_dose_mg": Decimal(50),
                    "dose_text": "50 mg at night for sleep",
                },
            )
        )

    if story.get("alcohol_use_disorder"):
        spec.rows.append(
            Row(
                SubstanceUseEntry,
                {"substance": Substance.ALCOHOL.value, "current": True, "use_disorder": True, "pattern": "daily"},
            )
        )
    elif rng.random() < 0.7:
        pattern = rng.choice(("social, 2–4 drinks a week", "a glass of wine at weekends", "rarely, at family events"))
        spec.rows.append(Row(SubstanceUseEntry, {"substance": Substance.ALCOHOL.value, "pattern": pattern}))
    if story.get("past_cannabis"):
        spec.rows.append(
            Row(
                SubstanceUseEntry,
                {
                    "substance": Substance.CANNABIS.value,
                    "current": False,
                    "pattern": "weekends at college; stopped",
                    "last_use": dt.date(today.year - 6, 6, 1),
                },
            )
        )
    if rng.random() < 0.25:
        substance, reaction, severity = rng.choice(ALLERGIES)
        spec.rows.append(Row(Allergy, {"substance": substance, "reaction": reaction, "severity": severity}))

    height = Decimal(rng.randint(155, 176) if sex == "female" else rng.randint(167, 192))
    bmi = Decimal(rng.randint(200, 330)) / 10
    weight = (bmi * (height / 100) ** 2).quantize(Decimal("0.1"))
    measured = _moment(today, spec.intake_days_ago, zone)
    spec.rows.append(Row(BodyMeasurement, {"measured_at": measured, "height_cm": height, "weight_kg": weight}))
    if spec.status in TREATED:
        later = (weight + Decimal(rng.randint(-20, 20)) / 10).quantize(Decimal("0.1"))
        spec.rows.append(
            Row(BodyMeasurement, {"measured_at": _moment(today, rng.randint(3, 20), zone), "weight_kg": later})
        )


def _moment(today: dt.date, days_ago: int, zone: ZoneInfo) -> dt.datetime:
    """10:00 clinic time ``days_ago`` days before ``today``."""
    return dt.datetime.combine(today - dt.timedelta(days=days_ago), dt.time(10), tzinfo=zone)


def build_specs(today: dt.date | None = None) -> list[PatientSpec]:
    """Every demo patient, drawn from ``random.Random(2026)``, dated relative to ``today`` (same day, same result)."""
    today = today or timezone.localdate(timezone=ZONES["riverside"])
    rng = random.Random(SEED)  # noqa: S311 - demo data, not security
    specs = []
    for number, (first, last, sex, site_code, status) in enumerate(PEOPLE, start=1):
        story = STORIES.get(f"{first} {last}", {})
        born = dt.date(rng.randint(1956, 2003), rng.randint(1, 12), rng.randint(1, 28))
        referrer, referrer_contact = rng.choice(REFERRERS)
        relative, relationship = rng.choice(RELATIVES)
        default_gender, default_pronouns = ("woman", "she/her") if sex == "female" else ("man", "he/him")
        demographics: dict[str, Any] = {
            "legal_first_name": first,
            "legal_last_name": last,
            "preferred_name": story.get("preferred", ""),
            "date_of_birth": born,
            "sex_at_birth": sex,
            "gender": story.get("gender", default_gender),
            "pronouns": story.get("pronouns", default_pronouns),
            "phone": f"555-01{number:02d}",
            "email": f"{first}.{last}@{EMAIL_DOMAIN}".lower().replace(" ", ""),
            "address": f"{rng.randint(2, 480)} {rng.choice(STREETS)}, {rng.choice(TOWNS)}",
            "emergency_contact_name": f"{relative} {last}",
            "emergency_contact_phone": f"555-01{(number + 50) % 100:02d}",
            "emergency_contact_relationship": relationship,
            "referring_clinician": referrer,
            "referring_clinician_contact": referrer_contact,
        }
        if sex == "female" and status != S.REFERRAL:
            demographics["pregnant"] = False
            demographics["breastfeeding"] = False
        statuses = list(STATUS_PATH[status])
        if status == S.DECLINED:
            statuses.append((S.DECLINED, story.get("declined", "Not eligible at screening")))
        intake = INTAKE_DAYS_AGO[status] + rng.randint(0, 10)
        spec = PatientSpec(site_code, status, demographics, statuses, intake, today)
        if status != S.REFERRAL:
            _history(rng, spec, story, sex, today)
        for days_ago, total in _trajectory(rng, status):
            spec.responses.append(Response("phq9", _answers(rng, total, 9), days_ago, rng.choice(("portal", "clinic"))))
            if any(r.model is Diagnosis and r.fields["icd10_code"] == "F41.1" for r in spec.rows):
                gad = max(0, min(21, round(total * 0.7) + rng.randint(-3, 3)))
                spec.responses.append(Response("gad7", _answers(rng, gad, 7), days_ago))
        if story.get("item9"):
            spec.responses.append(Response("phq9", _answers(rng, 19, 9, item9=1), 2))
        _consents(rng, spec, story)
        specs.append(spec)
    return specs


def _consents(rng: random.Random, spec: PatientSpec, story: dict[str, Any]) -> None:
    """Consents for treated patients and some eligible ones, by route; one withdrawal; one missing."""
    route = "kap" if story.get("kap") else rng.choice(ROUTES)
    ready = spec.status in TREATED or (spec.status == S.ELIGIBLE and rng.random() < 0.5)
    if not ready:
        return
    kinds = {
        "racemic": [Consent.Kind.KETAMINE_TREATMENT],
        "esketamine": [Consent.Kind.ESKETAMINE_REMS],
        "kap": [Consent.Kind.KETAMINE_TREATMENT, Consent.Kind.PSYCHOTHERAPY],
    }[route]
    if story.get("revoke_psychotherapy"):
        kinds = [Consent.Kind.KETAMINE_TREATMENT, Consent.Kind.PSYCHOTHERAPY]
        spec.revoke.append((Consent.Kind.PSYCHOTHERAPY, "Ended therapy at discharge; withdrew psychotherapy consent"))
    for kind in kinds:
        spec.consents.append(
            (kind, rng.choice((Consent.Channel.CLINIC, Consent.Channel.CLINIC, Consent.Channel.PORTAL)))
        )


def _staff(site_code: str) -> dict[str, User]:
    return {role: User.objects.get(username=username) for role, username in STAFF_BY_SITE[site_code].items()}


@transaction.atomic
def create_patient(spec: PatientSpec, site: Site, staff: dict[str, User]) -> Patient:
    """Write one demo patient through the actions, in one transaction (all of it or nothing)."""
    nurse = staff["nurse"]
    patient = register_patient(site=site, by=staff["desk"], **spec.demographics)
    for status, reason in spec.statuses:
        set_status(patient, status, by=staff["prescriber"], reason=reason)
    zone = ZONES[spec.site_code]
    intake_at = _moment(spec.today, spec.intake_days_ago, zone)
    for row in spec.rows:
        add_entry(row.model, patient, by=nurse, created_at=intake_at, **row.fields)
    for response in spec.responses:
        record_response(
            patient,
            response.instrument,
            response.answers,
            respondent="patient",
            channel=response.channel,
            by=nurse if response.channel == "clinic" else None,
            completed_at=_moment(spec.today, response.days_ago, zone),
        )
    signed: dict[str, Consent] = {}
    for kind, channel in spec.consents:
        in_clinic = channel == Consent.Channel.CLINIC
        signed[kind] = sign_consent(
            patient,
            kind=kind,
            signed_name=patient.legal_name,
            channel=channel,
            ip="10.20.0.15" if in_clinic else "203.0.113.24",  # a clinic tablet / a documentation address
            by=nurse if in_clinic else None,
            witnessed_by=nurse if in_clinic else None,
        )
    for kind, reason in spec.revoke:
        revoke_consent(signed[kind], by=staff["prescriber"], reason=reason)
    return patient


def seed(say: Callable[[str], None], specs: Sequence[PatientSpec] | None = None) -> None:
    """Create the demo patients that are missing (keyed on their demo e-mail at their site); leave the others alone."""
    accounts_demo.seed(lambda _message: None)  # the sites and staff the patients belong to (idempotent)
    specs = list(specs if specs is not None else build_specs())
    sites = {site.code: site for site in Site.objects.filter(code__in=STAFF_BY_SITE)}
    staff = {code: _staff(code) for code in STAFF_BY_SITE}
    existing = set(Patient.objects.filter(email__endswith=f"@{EMAIL_DOMAIN}").values_list("site__code", "email"))
    created = 0
    for number, spec in enumerate(specs, start=1):
        if (spec.site_code, spec.email) not in existing:
            create_patient(spec, sites[spec.site_code], staff[spec.site_code])
            created += 1
        if number % 10 == 0 or number == len(specs):
            say(f"  patients {number}/{len(specs)} ({created} created, {number - created} already there)")
