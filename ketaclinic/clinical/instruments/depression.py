"""Depression scales: PHQ-9, MADRS, QIDS-SR16 and HAM-D17 (REFERENCE §4.1, §4.3, §4.4, §4.11)."""

from __future__ import annotations

from ketaclinic.clinical.instruments.builders import difficulty_item, item_at_least, rated_items
from ketaclinic.clinical.instruments.model import Band, Flag, Instrument, Item, Respondent
from ketaclinic.clinical.sources import Evidence, cite

_FREQUENCY = ("Not at all", "Several days", "More than half the days", "Nearly every day")

# Suicide items: one reading for every scale. Any non-zero rating on an item about death or suicide raises
# ``suicidal_ideation`` so that a clinician follows up; a missed positive costs more than an extra question.
_SAFER_READING = (
    "Safer reading: any non-zero rating on the suicide item raises the flag, the same rule as PHQ-9 item 9, so a "
    "clinician always follows up; the flag prompts a suicide-risk assessment, it is not a diagnosis."
)

PHQ9 = Instrument(
    id="phq9",
    name="PHQ-9",
    respondent=Respondent.PATIENT,
    recall="past 2 weeks",
    instructions="Over the last 2 weeks, how often have you been bothered by any of the following problems?",
    items=(
        *rated_items(
            (
                "little interest or pleasure",
                "feeling down, depressed or hopeless",
                "sleep problems",
                "tired or little energy",
                "appetite",
                "feeling bad about yourself",
                "trouble concentrating",
                "moving or speaking slowly, or restless",
                "better off dead or hurting yourself",
            ),
            maximum=3,
            texts=(
                "Little interest or pleasure in doing things",
                "Feeling down, depressed, or hopeless",
                "Trouble falling or staying asleep, or sleeping too much",
                "Feeling tired or having little energy",
                "Poor appetite or overeating",
                "Feeling bad about yourself — or that you are a failure or have let yourself or your family down",
                "Trouble concentrating on things, such as reading the newspaper or watching television",
                "Moving or speaking so slowly that other people could have noticed? Or the opposite — being so fidgety "
                "or restless that you have been moving around a lot more than usual",
                "Thoughts that you would be better off dead or of hurting yourself in some way",
            ),
            anchors=_FREQUENCY,
            answer_codes=("LA6568-5", "LA6569-3", "LA6570-1", "LA6571-9"),
            loincs=(
                "44250-9",
                "44255-8",
                "44259-0",
                "44254-1",
                "44251-7",
                "44258-2",
                "44252-5",
                "44253-3",
                "44260-8",
            ),
        ),
        difficulty_item("69722-7"),
    ),
    citations=(cite("R35", "§4.1 Kroenke 2001: 9 items 0–3, total 0–27"),),
    scoring_note="The functional-difficulty question is optional and not scored.",
    bands=(
        Band(0, 4, "minimal"),
        Band(5, 9, "mild"),
        Band(10, 14, "moderate"),
        Band(15, 19, "moderately severe"),
        Band(20, 27, "severe"),
    ),
    band_citations=(cite("R35", "§4.1 bands 0–4/5–9/10–14/15–19/20–27"),),
    flags=(
        Flag(
            name="suicidal_ideation",
            title="PHQ-9 item 9 positive",
            statement="Item 9 (thoughts of being better off dead or of self-harm) scored 1 or more raises "
            "suicidal_ideation, whatever the total.",
            test=item_at_least("q9", 1),
            citations=(
                cite("R35", "§4.1 item 9: any score ≥1 is positive"),
                cite("R39", "SPiER: item 9 ≥1 should trigger further suicide risk assessment"),
            ),
        ),
    ),
    loinc_panel="44249-1",
    loinc_total="44261-6",
    licence="© Pfizer; no permission required to reproduce, translate, display or distribute.",
    item_text_shippable=True,
    licence_citations=(cite("R35", "§4.12 licence"), cite("R46", "public FHIR Questionnaire copyright field")),
)

MADRS = Instrument(
    id="madrs",
    name="MADRS",
    respondent=Respondent.CLINICIAN,
    recall="past week",
    items=rated_items(
        (
            "apparent sadness",
            "reported sadness",
            "inner tension",
            "reduced sleep",
            "reduced appetite",
            "concentration difficulties",
            "lassitude",
            "inability to feel",
            "pessimistic thoughts",
            "suicidal thoughts",
        ),
        maximum=6,
    ),
    citations=(cite("R38", "§4.3 10 items 0–6, total 0–60"),),
    bands=(
        Band(0, 6, "normal"),
        Band(7, 19, "mild"),
        Band(20, 34, "moderate"),
        Band(35, 60, "severe"),
    ),
    band_citations=(cite("R38", "§4.3 Herrmann 1998 bands 0–6/7–19/20–34/≥35 (CamCOPS)"),),
    band_note="Other band sets found on the web (0–10/11–20/21–30/>30) are unsourced and not used.",
    flags=(
        Flag(
            name="suicidal_ideation",
            title="MADRS item 10 (suicidal thoughts) above 0",
            statement="Item 10 (suicidal thoughts) rated 1 or more raises suicidal_ideation.",
            test=item_at_least("q10", 1),
            citations=(cite("R38", "§4.3 item 10 suicidal thoughts, anchors at 0/2/4/6"),),
            evidence=Evidence.POLICY,
            note="The first defined anchor mentioning suicidal thoughts is 2 ('fleeting'); a rating of 1 lies between "
            "it and 'enjoys life'. " + _SAFER_READING,
        ),
    ),
    licence="Licence not found; believed copyrighted (Montgomery & Åsberg 1979). Scores may be stored; item text "
    "and anchors are not shipped until permission is confirmed.",
    item_text_shippable=False,
    licence_citations=(cite("R38", "§4.3 CamCOPS moved MADRS to tasks_discarded"),),
    licence_evidence=Evidence.BEST_KNOWLEDGE,
)

_QIDS_DOMAINS = (
    ("q1", "q2", "q3", "q4"),
    ("q5",),
    ("q6", "q7", "q8", "q9"),
    ("q10",),
    ("q11",),
    ("q12",),
    ("q13",),
    ("q14",),
    ("q15", "q16"),
)

QIDS_SR16 = Instrument(
    id="qids_sr16",
    name="QIDS-SR16",
    respondent=Respondent.PATIENT,
    recall="past 7 days",
    items=tuple(
        Item(id=i.id, label=i.label, options=i.options, required=i.id not in {"q6", "q7", "q8", "q9"})
        for i in rated_items(
            (
                "falling asleep",
                "sleep during the night",
                "waking up too early",
                "sleeping too much",
                "feeling sad",
                "decreased appetite",
                "increased appetite",
                "decreased weight",
                "increased weight",
                "concentration and decision making",
                "view of myself",
                "thoughts of death or suicide",
                "general interest",
                "energy level",
                "feeling slowed down",
                "feeling restless",
            ),
            maximum=3,
        )
    ),
    domains=_QIDS_DOMAINS,
    one_of_required=(("q6", "q7"), ("q8", "q9")),
    citations=(cite("R37", "§4.4 Inquisit manual / Rivet: max of sleep, appetite/weight and psychomotor domains"),),
    scoring_note="The respondent answers either the decrease or the increase item of each appetite/weight pair; an "
    "unanswered pair item counts 0.",
    bands=(
        Band(0, 5, "none"),
        Band(6, 10, "mild"),
        Band(11, 15, "moderate"),
        Band(16, 20, "severe"),
        Band(21, 27, "very severe"),
    ),
    band_citations=(cite("R37", "§4.4 ids-qids.org interpretation table"),),
    flags=(
        Flag(
            name="suicidal_ideation",
            title="QIDS-SR16 item 12 (thoughts of death or suicide) above 0",
            statement="Item 12 (thoughts of death or suicide) scored 1 or more raises suicidal_ideation.",
            test=item_at_least("q12", 1),
            citations=(cite("R37", "§4.4 item 12 suicidality"),),
            evidence=Evidence.POLICY,
            note="Score 1 ('life is empty, wonder if it is worth living') is passive ideation. " + _SAFER_READING,
        ),
    ),
    licence="Free for clinical and research use (UT Southwestern); commercial electronic use to be confirmed with "
    "the copyright holder, so item text is not shipped.",
    item_text_shippable=False,
    licence_citations=(cite("R37", "§4.4 availability: freely available"),),
    licence_evidence=Evidence.BEST_KNOWLEDGE,
)

HAMD17 = Instrument(
    id="hamd17",
    name="HAM-D17",
    respondent=Respondent.CLINICIAN,
    recall="past week",
    items=rated_items(
        (
            "depressed mood",
            "feelings of guilt",
            "suicide",
            "insomnia: early",
            "insomnia: middle",
            "insomnia: late",
            "work and activities",
            "retardation",
            "agitation",
            "anxiety: psychic",
            "anxiety: somatic",
            "somatic symptoms: gastrointestinal",
            "general somatic symptoms",
            "genital symptoms",
            "hypochondriasis",
            "loss of weight",
            "insight",
        ),
        maximum=(4, 4, 4, 2, 2, 2, 4, 4, 4, 4, 4, 2, 2, 2, 4, 2, 2),
    ),
    citations=(
        cite("R44", "§4.11 17 items rated 0–4 or 0–2, total 0–52"),
        cite("R44", "Hamilton 1960 item maxima"),
    ),
    scoring_evidence=Evidence.BEST_KNOWLEDGE,
    scoring_note="Item maxima follow Hamilton's 1960 form: items 4, 5, 6, 12, 13, 14, 16 and 17 are rated 0–2, the "
    "other nine 0–4; they sum to the published maximum of 52. Rate weight loss (item 16) from history or from "
    "measured weight, not both.",
    bands=(
        Band(0, 7, "no depression"),
        Band(8, 16, "mild"),
        Band(17, 23, "moderate"),
        Band(24, 52, "severe"),
    ),
    band_citations=(cite("R44", "§4.11 Zimmerman 2013 bands 0–7/8–16/17–23/≥24"),),
    band_note="The older bands 0–7/8–13/14–18/19–22/≥23 also circulate; Zimmerman 2013 is used.",
    flags=(
        Flag(
            name="suicidal_ideation",
            title="HAM-D17 item 3 (suicide) above 0",
            statement="Item 3 (suicide) rated 1 or more raises suicidal_ideation.",
            test=item_at_least("q3", 1),
            citations=(cite("R44", "§4.11 item 3 suicide"),),
            evidence=Evidence.POLICY,
            note="Rating 1 ('feels life is not worth living') is passive ideation. " + _SAFER_READING,
        ),
    ),
    licence="Licence not found; believed public domain (Hamilton 1960), while structured interview guides "
    "(GRID-HAMD, SIGH-D) may be copyrighted. Item text is not shipped.",
    item_text_shippable=False,
    licence_citations=(cite("R44", "§4.11 licence not found"),),
    licence_evidence=Evidence.BEST_KNOWLEDGE,
)

INSTRUMENTS = (PHQ9, MADRS, QIDS_SR16, HAMD17)
