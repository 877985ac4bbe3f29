"""Session-day scales: dissociation (CADSS, CADSS-6), sedation (MOAA/S) and recovery for discharge (modified Aldrete,
PADSS) — REFERENCE §3.4–§3.6.
"""

from __future__ import annotations

from ketaclinic.clinical.instruments.builders import rated_items, total_at_least_setting, total_at_most
from ketaclinic.clinical.instruments.model import Anchor, Band, Flag, Instrument, Item, Respondent, Score
from ketaclinic.clinical.instruments.scoring import score_answers
from ketaclinic.clinical.sources import Evidence, cite

_CADSS_LICENCE = (
    "Licence not found; the CADSS is obtained from its author (Bremner) and treated as permission-required. Item "
    "text is not shipped."
)

CADSS = Instrument(
    id="cadss",
    name="CADSS (23-item)",
    respondent=Respondent.CLINICIAN,
    recall="now (during or after the dose)",
    items=rated_items([f"CADSS item {n}" for n in range(1, 24)], maximum=4),
    citations=(cite("R29", "§3.5 23-item subject-rated CADSS, items 0–4, total 0–92 (derived)"),),
    subscales=(
        ("depersonalisation", ("q3", "q4", "q5", "q6", "q7", "q20", "q21")),
        ("derealisation", ("q1", "q2", "q8", "q9", "q10", "q11", "q12", "q13", "q16", "q17", "q18", "q19")),
        ("amnesia", ("q14", "q15", "q22", "q23")),
    ),
    subscale_citations=(cite("R29", "§3.5 subscales (best knowledge)"),),
    subscale_evidence=Evidence.BEST_KNOWLEDGE,
    band_citations=(cite("R29", "§3.5 no severity bands published"),),
    band_note="No published severity bands, so no band is reported; the total is tracked per session.",
    licence=_CADSS_LICENCE,
    item_text_shippable=False,
    licence_citations=(cite("R29", "§3.5 licence not found"),),
    licence_evidence=Evidence.BEST_KNOWLEDGE,
)

#: The CADSS items that make up CADSS-6, in CADSS-6 order (Rodrigues 2021).
CADSS6_SOURCE_ITEMS = ("q1", "q2", "q6", "q7", "q15", "q22")

CADSS6 = Instrument(
    id="cadss6",
    name="CADSS-6",
    respondent=Respondent.CLINICIAN,
    recall="now (during or after the dose)",
    items=rated_items([f"CADSS item {source[1:]}" for source in CADSS6_SOURCE_ITEMS], maximum=4),
    citations=(cite("R29", "§3.5 CADSS-6 = CADSS items 1, 2, 6, 7, 15, 22; range 0–24 (derived)"),),
    scoring_note="CADSS-6 items q1–q6 are CADSS items 1, 2, 6, 7, 15 and 22; it correlates rs 0.91–0.95 with the full "
    "CADSS but is not prospectively validated.",
    band_citations=(cite("R29", "§3.5 no severity bands published"),),
    band_note="No published severity bands, so no band is reported.",
    licence=_CADSS_LICENCE,
    item_text_shippable=False,
    licence_citations=(cite("R29", "§3.5 licence not found"),),
    licence_evidence=Evidence.BEST_KNOWLEDGE,
)

_MOAAS_ANCHORS = (
    (0, "no response", "No response after painful trapezius squeeze"),
    (1, "responds to pain only", "Responds only after painful trapezius squeeze"),
    (2, "responds to prodding", "Responds only after mild prodding or shaking"),
    (3, "responds to loud voice", "Responds only after name is called loudly and/or repeatedly"),
    (4, "lethargic", "Lethargic response to name spoken in normal tone"),
    (5, "alert", "Responds readily to name spoken in normal tone"),
)

MOAAS = Instrument(
    id="moaas",
    name="MOAA/S",
    respondent=Respondent.CLINICIAN,
    recall="now",
    items=(
        Item(
            id="q1",
            label="responsiveness",
            options=tuple(v for v, _, _ in _MOAAS_ANCHORS),
            anchors=tuple(Anchor(v, text) for v, _, text in _MOAAS_ANCHORS),
        ),
    ),
    citations=(cite("R28", "§3.4 MOAA/S 0–5 anchors"),),
    bands=tuple(Band(v, v, label) for v, label, _ in _MOAAS_ANCHORS),
    band_citations=(cite("R28", "§3.4 anchors 5 alert … 0 no response to painful trapezius squeeze"),),
    flags=(
        Flag(
            name="loss_of_consciousness",
            title="MOAA/S 0: loss of consciousness",
            statement="A MOAA/S of 0 raises loss_of_consciousness.",
            test=total_at_most(0),
            citations=(cite("R1", "loss of consciousness = MOAA/S 0"), cite("R28", "§3.4 anchors")),
        ),
        Flag(
            name="sedation",
            title="MOAA/S 3 or below: sedation",
            statement="A MOAA/S of 3 or below raises sedation.",
            test=total_at_most(3),
            citations=(cite("R1", "sedation assessed with MOAA/S"), cite("R28", "§3.4 anchors")),
            evidence=Evidence.BEST_KNOWLEDGE,
            note="Esketamine trials defined sedation as MOAA/S ≤3 (best knowledge). In-session alerting uses the "
            "separate ClinicPolicy.alert_moaas_at_or_below.",
        ),
    ),
    higher_is_worse=False,
    licence="Published clinical scale; licence not found, believed free to use. Anchors are paraphrased.",
    item_text_shippable=False,
    licence_citations=(cite("R28", "§4.12 MOAA/S published scale"),),
    licence_evidence=Evidence.BEST_KNOWLEDGE,
)


def _recovery_item(n: int, label: str, anchors: tuple[str, str, str]) -> Item:
    """A 0–2 recovery criterion; ``anchors`` describe 2, 1 and 0 points (paraphrased criteria)."""
    return Item(
        id=f"q{n}",
        label=label,
        options=(0, 1, 2),
        anchors=(Anchor(2, anchors[0]), Anchor(1, anchors[1]), Anchor(0, anchors[2])),
    )


def _discharge_flag(name: str) -> Flag:
    return Flag(
        name="discharge_ready",
        title=f"{name}: recovery score meets the discharge threshold",
        statement=f"A {name} total at or above ClinicPolicy.discharge_min_recovery_score (default 9) raises "
        "discharge_ready.",
        test=total_at_least_setting("discharge_min_recovery_score"),
        citations=(cite("R30", "§3.6 pass ≥9"),),
        note="The score is one discharge criterion; the esketamine ≥2 h observation, stable vital signs and a "
        "responsible adult escort are checked separately.",
    )


ALDRETE = Instrument(
    id="aldrete",
    name="Modified Aldrete score",
    respondent=Respondent.CLINICIAN,
    recall="now",
    items=(
        _recovery_item(1, "activity", ("moves 4 limbs", "moves 2 limbs", "moves no limbs")),
        _recovery_item(
            2, "respiration", ("breathes deeply and coughs freely", "dyspnoea or shallow breathing", "apnoea")
        ),
        _recovery_item(
            3,
            "circulation",
            (
                "BP within 20 mmHg of pre-dose level",
                "BP 20–50 mmHg from pre-dose level",
                "BP over 50 mmHg from pre-dose",
            ),
        ),
        _recovery_item(4, "consciousness", ("fully awake", "arousable on calling", "not responding")),
        _recovery_item(
            5,
            "oxygen saturation",
            ("SpO2 above 92 % on room air", "needs oxygen to keep SpO2 above 90 %", "SpO2 below 90 % even with oxygen"),
        ),
    ),
    citations=(cite("R30", "§3.6 modified Aldrete: 5 items 0–2, total 0–10 (World J Gastroenterol 2015)"),),
    scoring_note="The alternative pass rule '≥8 with respiration and SpO2 both 2' is not applied; some versions rate "
    "circulation as a percentage of baseline BP.",
    flags=(_discharge_flag("modified Aldrete"),),
    higher_is_worse=False,
    licence="Published clinical scale; licence not found, believed free to use. Criteria are paraphrased.",
    item_text_shippable=False,
    licence_citations=(cite("R30", "§4.12 published clinical scale"),),
    licence_evidence=Evidence.BEST_KNOWLEDGE,
)

PADSS = Instrument(
    id="padss",
    name="PADSS",
    respondent=Respondent.CLINICIAN,
    recall="now",
    items=(
        _recovery_item(
            1,
            "vital signs",
            ("within 20 % of pre-dose value", "20–40 % from pre-dose value", "over 40 % from pre-dose"),
        ),
        _recovery_item(
            2,
            "activity and mental status",
            ("oriented and steady gait", "oriented or steady gait, not both", "neither"),
        ),
        _recovery_item(3, "pain, nausea and vomiting", ("minimal", "moderate, treated", "severe")),
        _recovery_item(4, "bleeding", ("minimal", "moderate", "severe")),
        _recovery_item(5, "intake and output", ("oral fluids taken and voided", "one of the two", "neither")),
    ),
    citations=(cite("R30", "§3.6 PADSS (Chung 1995): 5 items 0–2, total 10"),),
    scoring_note="The surgical-bleeding item does not apply to ketamine sessions; rate it 2 (minimal) unless there is "
    "bleeding (clinic policy).",
    flags=(_discharge_flag("PADSS"),),
    higher_is_worse=False,
    licence="Published clinical scale; licence not found, believed free to use. Criteria are paraphrased.",
    item_text_shippable=False,
    licence_citations=(cite("R30", "§4.12 published clinical scale"),),
    licence_evidence=Evidence.BEST_KNOWLEDGE,
)

INSTRUMENTS = (CADSS, CADSS6, MOAAS, ALDRETE, PADSS)


def cadss6_from_cadss(cadss: Score) -> Score:
    """The CADSS-6 score contained in a full CADSS score (items 1, 2, 6, 7, 15 and 22), so both can be reported."""
    if cadss.instrument != CADSS.id:
        raise ValueError(f"instrument: a {CADSS.id} score is needed, got {cadss.instrument}")
    return score_answers(CADSS6, [cadss.answers[item_id] for item_id in CADSS6_SOURCE_ITEMS])
