"""What the portal intake asks, in plain language, and how each answer maps onto the chart.

The questions are written for patients, not clinicians; each maps to a code of the clinical core
(``clinical.eligibility.Condition``, ``Substance``) so that, once a clinician accepts it, the eligibility rules see it.
Where a patient cannot know the clinical grading (liver disease severity, whether blood pressure counts as
controlled), the answer maps to the more cautious code with a note for the reviewing clinician.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ketaclinic.clinical.eligibility import Condition, Substance
from ketaclinic.clinical.medications import ANTIDEPRESSANT_CLASSES, DRUG_CLASSES, DrugClass, drug_class_of

#: The intake, in order. ``welcome`` and ``review`` hold no answers; questionnaires are stored at their step.
STEPS: tuple[str, ...] = (
    "welcome",
    "contact",
    "history",
    "medications",
    "antidepressants",
    "phq9",
    "gad7",
    "cssrs",
    "review",
)
STEP_TITLES: dict[str, str] = {
    "welcome": "Welcome",
    "contact": "Your contact details",
    "history": "Your health",
    "medications": "Medicines you take now",
    "antidepressants": "Antidepressants you have tried",
    "phq9": "How you have been feeling",
    "gad7": "Worry and anxiety",
    "cssrs": "Thoughts of ending your life",
    "review": "Check and send",
}
#: Steps whose answers are a questionnaire (an instrument of the clinical core), recorded when the step is sent.
QUESTIONNAIRE_STEPS: dict[str, str] = {"phq9": "phq9", "gad7": "gad7", "cssrs": "cssrs_screener"}


def step_number(step: str) -> int:
    """1-based position among the steps the patient fills in (welcome and review are not counted)."""
    return STEPS.index(step)


#: Steps with answers, for "step N of M".
ANSWER_STEP_COUNT = len(STEPS) - 2


@dataclass(frozen=True)
class Choice:
    """One answer to a history question: the chart condition it implies (if any) and a note for the reviewer."""

    value: str
    label: str
    condition: Condition | None = None
    note: str = ""


@dataclass(frozen=True)
class HistoryQuestion:
    key: str
    text: str
    choices: tuple[Choice, ...]
    hint: str = ""


def _yes_no_unsure(key: str, text: str, condition: Condition, *, hint: str = "", note: str = "") -> HistoryQuestion:
    return HistoryQuestion(
        key=key,
        text=text,
        hint=hint,
        choices=(
            Choice("no", "No"),
            Choice("yes", "Yes", condition, note),
            # "Not sure" still reaches the clinician as a row to confirm or reject: a missed condition costs more.
            Choice("unsure", "Not sure", condition, "Patient was not sure — please confirm."),
        ),
    )


HISTORY_QUESTIONS: tuple[HistoryQuestion, ...] = (
    _yes_no_unsure(
        "ketamine_allergy",
        "Have you ever had an allergic reaction to ketamine or esketamine (Spravato)?",
        Condition.HYPERSENSITIVITY_KETAMINE,
    ),
    HistoryQuestion(
        key="blood_pressure",
        text="Do you have high blood pressure?",
        hint="We measure it at every visit, so answer as best you can.",
        choices=(
            Choice("no", "No"),
            Choice("controlled", "Yes, and it is well controlled", Condition.HYPERTENSION_CONTROLLED),
            Choice(
                "uncontrolled",
                "Yes, and it is not well controlled, or I'm not sure",
                Condition.HYPERTENSION_UNCONTROLLED,
                "Patient reports high blood pressure not known to be controlled — please check control.",
            ),
            Choice("unsure", "I don't know"),
        ),
    ),
    _yes_no_unsure(
        "heart",
        "Have you had heart disease — for example a heart attack, heart failure, angina, a heart valve problem or an "
        "irregular heartbeat?",
        Condition.CARDIOVASCULAR_DISEASE,
    ),
    _yes_no_unsure("stroke", "Have you had a stroke or a 'mini-stroke' (TIA)?", Condition.CEREBROVASCULAR_DISEASE),
    _yes_no_unsure(
        "aneurysm",
        "Have you been told you have an aneurysm (a bulging blood vessel) or an arteriovenous malformation (AVM)?",
        Condition.ANEURYSM_OR_AVM,
    ),
    _yes_no_unsure(
        "brain_bleed", "Have you ever had bleeding in or around the brain?", Condition.INTRACEREBRAL_HAEMORRHAGE
    ),
    _yes_no_unsure(
        "hypertensive_emergency",
        "Have you ever had a brain emergency caused by very high blood pressure (hypertensive encephalopathy)?",
        Condition.HYPERTENSIVE_ENCEPHALOPATHY_HISTORY,
    ),
    _yes_no_unsure(
        "head_pressure",
        "Do you have raised pressure inside the head — for example after a head injury, or from a brain tumour or "
        "hydrocephalus?",
        Condition.RAISED_ICP,
    ),
    _yes_no_unsure("glaucoma", "Do you have glaucoma or raised pressure in the eye?", Condition.RAISED_IOP_GLAUCOMA),
    _yes_no_unsure(
        "thyroid",
        "Do you have an overactive thyroid (hyperthyroidism) that is not under control?",
        Condition.HYPERTHYROIDISM_UNCONTROLLED,
    ),
    _yes_no_unsure(
        "liver",
        "Do you have serious liver disease, such as cirrhosis?",
        Condition.LIVER_DISEASE_CHILD_PUGH_B,
        note="Patient-reported liver disease — severity (Child-Pugh class) to be assessed.",
    ),
    _yes_no_unsure(
        "bladder",
        "Do you have long-lasting bladder pain or inflammation (interstitial or ulcerative cystitis)?",
        Condition.CYSTITIS,
    ),
    _yes_no_unsure(
        "sleep_apnoea",
        "Do you have sleep apnoea (your breathing stops for short times while you sleep)?",
        Condition.SLEEP_APNOEA,
    ),
    _yes_no_unsure(
        "psychosis",
        "Have you ever had psychosis — for example hearing or seeing things other people did not, or strong beliefs "
        "that others found untrue — or been told you have schizophrenia or a similar illness?",
        Condition.PSYCHOSIS,
    ),
    _yes_no_unsure(
        "psychosis_now",
        "Have you had experiences like that in the past month?",
        Condition.PSYCHOSIS_CURRENT,
    ),
    _yes_no_unsure("bipolar", "Have you been told you have bipolar disorder?", Condition.BIPOLAR),
    _yes_no_unsure(
        "mania_now",
        "Right now, are you in a period of unusually high, excited or irritable mood, needing much less sleep than "
        "usual?",
        Condition.MANIA_CURRENT,
    ),
)

PREGNANCY_CHOICES: tuple[tuple[str, str], ...] = (
    ("no", "No"),
    ("yes", "Yes"),
    ("unsure", "Not sure"),
    ("not_applicable", "Does not apply to me"),
)
BREASTFEEDING_CHOICES: tuple[tuple[str, str], ...] = (
    ("no", "No"),
    ("yes", "Yes"),
    ("not_applicable", "Does not apply to me"),
)
#: Patient answer → the value of ``Patient.pregnant`` / ``breastfeeding`` (None = unknown, to be asked in clinic).
YES_NO_FIELD_VALUE: dict[str, bool | None] = {"no": False, "not_applicable": False, "yes": True, "unsure": None}

SUBSTANCE_LABELS: dict[Substance, str] = {
    Substance.ALCOHOL: "Alcohol",
    Substance.CANNABIS: "Cannabis (marijuana, weed)",
    Substance.KETAMINE: "Ketamine that was not prescribed to you",
    Substance.PCP: "PCP or other dissociative drugs",
    Substance.OPIOIDS: "Opioids not as prescribed, heroin or fentanyl",
    Substance.STIMULANTS: "Cocaine, methamphetamine, or stimulants not prescribed to you",
    Substance.SEDATIVES: "Sleeping or anxiety pills (such as benzodiazepines) not as prescribed",
    Substance.OTHER: "Any other drugs",
}

#: "Did it help?" → improvement in per cent, stored as the patient's estimate for the clinician to confirm.
HELPED_CHOICES: tuple[tuple[str, str], ...] = (
    ("not_at_all", "Not at all"),
    ("a_little", "A little"),
    ("a_lot", "A lot"),
    ("unsure", "Not sure"),
)
HELPED_IMPROVEMENT_PCT: dict[str, int | None] = {"not_at_all": 0, "a_little": 25, "a_lot": 75, "unsure": None}

#: Generic antidepressant names offered as suggestions (patients often know the brand; the clinician corrects).
ANTIDEPRESSANT_NAMES: tuple[str, ...] = tuple(
    sorted(name for name, cls in DRUG_CLASSES.items() if cls in ANTIDEPRESSANT_CLASSES)
)
MEDICATION_NAMES: tuple[str, ...] = tuple(sorted(DRUG_CLASSES))

#: Contact fields the patient may propose corrections to (accepted into the record by staff).
CONTACT_FIELDS: tuple[str, ...] = (
    "phone",
    "email",
    "address",
    "pronouns",
    "emergency_contact_name",
    "emergency_contact_phone",
    "emergency_contact_relationship",
)
CONTACT_LABELS: dict[str, str] = {
    "phone": "Phone",
    "email": "E-mail",
    "address": "Address",
    "pronouns": "Pronouns",
    "emergency_contact_name": "Emergency contact: name",
    "emergency_contact_phone": "Emergency contact: phone",
    "emergency_contact_relationship": "Emergency contact: relationship",
    "pregnant": "Pregnant",
    "breastfeeding": "Breast-feeding",
}

#: C-SSRS screener questions in neutral plain language written for this project. The official wording is licensed
#: (Columbia / Clario) and not shipped; a clinic holding a licence supplies it with ``PORTAL_ITEM_TEXT_FILES``.
CSSRS_PLAIN_TEXT: dict[str, str] = {
    "q1": "In the past month, have there been times when you wished you were no longer alive?",
    "q2": "In the past month, have you had any thoughts about ending your own life?",
    "q3": "Have you thought about a way you might do it?",
    "q4": "Have you had these thoughts with some intention of acting on them?",
    "q5": "Have you worked out the details of how you would do it, and do you intend to carry it out?",
    "q6": "At any time in your life, have you taken any step towards ending your life — for example an attempt, an "
    "attempt that was stopped, or getting things ready to do it?",
    "q6_past_3_months": "Did that happen in the past 3 months?",
}
CSSRS_INTRO = (
    "These questions are asked of everyone. Your answers help the clinic team keep you safe; they will not stop you "
    "from getting care."
)


def history_question(key: str) -> HistoryQuestion:
    return next(q for q in HISTORY_QUESTIONS if q.key == key)


def trial_drug_class(drug: str) -> str:
    """The drug class of a reported antidepressant; unknown names stay ``other`` until a clinician classifies them.

    An unrecognised name (often a brand name) is deliberately not counted as an antidepressant trial: counting it
    could make someone look treatment-resistant on a guess.
    """
    found = drug_class_of(drug)
    return (found or DrugClass.OTHER).value


def chart_rows(answers: Mapping[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The patient-reported chart rows an intake's answers imply, as ``(kind, fields)``.

    Kinds are ``condition``, ``substance``, ``medication`` and ``trial`` (see :data:`ENTRY_KINDS` in actions).
    """
    rows: list[tuple[str, dict[str, Any]]] = []
    history = answers.get("history", {})
    conditions = history.get("conditions", {})
    seen: set[str] = set()
    for question in HISTORY_QUESTIONS:
        choice = next((c for c in question.choices if c.value == conditions.get(question.key)), None)
        if choice is None or choice.condition is None or choice.condition.value in seen:
            continue
        seen.add(choice.condition.value)
        rows.append(("condition", {"condition": choice.condition.value, "notes": choice.note}))
    for substance, use in history.get("substances", {}).items():
        if use.get("past_year") or use.get("problem"):
            rows.append(
                (
                    "substance",
                    {
                        "substance": substance,
                        "current": bool(use.get("past_year")),
                        "use_disorder": bool(use.get("problem")),
                    },
                )
            )
    for medication in answers.get("medications", {}).get("rows", []):
        found = drug_class_of(medication["name"])
        rows.append(
            (
                "medication",
                {
                    "name": medication["name"],
                    "dose_text": medication.get("dose", ""),
                    "drug_class": (found or DrugClass.OTHER).value,
                },
            )
        )
    for trial in answers.get("antidepressants", {}).get("rows", []):
        weeks = trial.get("weeks")
        rows.append(
            (
                "trial",
                {
                    "drug": trial["drug"],
                    "drug_class": trial_drug_class(trial["drug"]),
                    "weeks": weeks,
                    "improvement_pct": HELPED_IMPROVEMENT_PCT.get(trial.get("helped", "unsure")),
                    "current_episode": True,
                    "notes": "Patient-reported in the portal intake; weeks and improvement are the patient's estimate.",
                },
            )
        )
    return rows


def proposed_changes(current: Mapping[str, Any], answers: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Contact details (and pregnancy / breast-feeding) the patient reported that differ from the record.

    Returns ``{field: {"old": value, "new": value, "label": patient's words}}``. "Not sure" about pregnancy is kept
    even when the record already says unknown, so that staff ask.
    """
    changes: dict[str, dict[str, Any]] = {}
    contact = answers.get("contact", {})
    for name in CONTACT_FIELDS:
        if name in contact and (contact[name] or "") != (current.get(name) or ""):
            changes[name] = {"old": current.get(name) or "", "new": contact[name], "label": contact[name]}
    history = answers.get("history", {})
    for name, choices in (("pregnant", PREGNANCY_CHOICES), ("breastfeeding", BREASTFEEDING_CHOICES)):
        answer = history.get(name)
        if answer is None:
            continue
        new = YES_NO_FIELD_VALUE[answer]
        if new != current.get(name) or answer == "unsure":
            changes[name] = {"old": current.get(name), "new": new, "label": dict(choices)[answer]}
    return changes
