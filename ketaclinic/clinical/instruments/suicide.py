"""C-SSRS Screener with triage points, recent version (REFERENCE §4.5).

Answers are yes/no. Skip logic: questions 3–5 are asked only when question 2 is yes; the past-3-months follow-up is
asked only when question 6 (lifetime behaviour) is yes. The result is a risk tier, not a summed score.
"""

from __future__ import annotations

from ketaclinic.clinical.instruments.builders import any_yes, band_is
from ketaclinic.clinical.instruments.model import Flag, Instrument, Item, Respondent, Tier
from ketaclinic.clinical.sources import Evidence, cite

_YES_NO = (False, True)

CSSRS_SCREENER = Instrument(
    id="cssrs_screener",
    name="C-SSRS Screener (recent)",
    respondent=Respondent.CLINICIAN,
    recall="ideation: past month; behaviour: lifetime and past 3 months",
    items=(
        Item(id="q1", label="wish to be dead", options=_YES_NO, loinc="93246-7"),
        Item(id="q2", label="non-specific active suicidal thoughts", options=_YES_NO, loinc="93247-5"),
        Item(
            id="q3",
            label="suicidal thoughts with method, without plan or intent",
            options=_YES_NO,
            loinc="93248-3",
            asked_when=("q2", True),
        ),
        Item(
            id="q4",
            label="suicidal intent without specific plan",
            options=_YES_NO,
            loinc="93249-1",
            asked_when=("q2", True),
        ),
        Item(
            id="q5",
            label="suicidal intent with specific plan",
            options=_YES_NO,
            loinc="93250-9",
            asked_when=("q2", True),
        ),
        Item(id="q6", label="suicidal behaviour, lifetime", options=_YES_NO, loinc="93267-3"),
        Item(
            id="q6_past_3_months",
            label="suicidal behaviour within the past 3 months",
            options=_YES_NO,
            loinc="93269-9",
            asked_when=("q6", True),
        ),
    ),
    citations=(
        cite("R39", "§4.5 screener questions Q1–Q6 with past-3-months follow-up"),
        cite("R39", "skip logic: Q2 no → skip Q3–Q5"),
    ),
    scoring_evidence=Evidence.BEST_KNOWLEDGE,
    scoring_note="Skip logic (if Q2 is no, skip Q3–Q5) is from the official form as best known; answers to skipped "
    "questions are refused rather than ignored, so a form that shows them is caught.",
    tiers=(
        Tier("high", ("q4", "q5", "q6_past_3_months")),
        Tier("moderate", ("q3", "q6")),
        Tier("low", ("q1", "q2")),
    ),
    tier_default="none",
    band_citations=(
        cite("R39", "§4.5 triage points: SPiER data dictionary; CSSRSCalculator reference implementation"),
        cite("R39", "Columbia: yes to 4 or 5, or behaviour in past 3 months → precautions"),
    ),
    band_note="Lifetime-only behaviour (Q6 yes, not within 3 months) is moderate; behaviour within 3 months is high.",
    flags=(
        Flag(
            name="suicidal_ideation",
            title="C-SSRS: any suicidal ideation",
            statement="A yes to any ideation question (Q1–Q5) raises suicidal_ideation.",
            test=any_yes("q1", "q2", "q3", "q4", "q5"),
            citations=(cite("R39", "§4.5 Q1–Q5 ideation, past month"),),
        ),
        Flag(
            name="suicidal_behaviour",
            title="C-SSRS: suicidal behaviour ever",
            statement="A yes to Q6 (suicidal behaviour, lifetime) raises suicidal_behaviour.",
            test=any_yes("q6"),
            citations=(cite("R39", "§4.5 Q6 suicidal behaviour"),),
        ),
        Flag(
            name="cssrs_risk_low",
            title="C-SSRS: low risk",
            statement="Risk tier low (yes to Q1 and/or Q2 only) raises cssrs_risk_low.",
            test=band_is("low"),
            citations=(cite("R39", "§4.5 triage: low"),),
        ),
        Flag(
            name="cssrs_risk_moderate",
            title="C-SSRS: moderate risk",
            statement="Risk tier moderate (yes to Q3, or lifetime-only behaviour) raises cssrs_risk_moderate.",
            test=band_is("moderate"),
            citations=(cite("R39", "§4.5 triage: moderate"),),
        ),
        Flag(
            name="cssrs_risk_high",
            title="C-SSRS: high risk",
            statement="Risk tier high (yes to Q4 or Q5, or behaviour within the past 3 months) raises cssrs_risk_high; "
            "Columbia advises patient-safety precautions until a mental-health evaluation.",
            test=band_is("high"),
            citations=(cite("R39", "§4.5 triage: high; Columbia triage guidelines"),),
        ),
    ),
    loinc_panel="93373-9",
    loinc_band="93374-7",
    licence="© Research Foundation for Mental Hygiene; free for providers to put into an EHR, while commercial "
    "electronic implementations are sub-licensed via Clario. Item text is not shipped until Columbia/Clario confirm "
    "an open-source distribution.",
    item_text_shippable=False,
    licence_citations=(cite("R39", "§4.5 licence: Columbia; Clario licensing"),),
    licence_evidence=Evidence.PUBLISHED,
)

INSTRUMENTS = (CSSRS_SCREENER,)
