"""Pain and headache-disability scales: numeric pain rating (NRS 0–10) and MIDAS (REFERENCE §4.9, §4.10)."""

from __future__ import annotations

from ketaclinic.clinical.instruments.model import Anchor, Band, Instrument, Item, Respondent, SumLimit
from ketaclinic.clinical.sources import Evidence, cite

NRS_PAIN = Instrument(
    id="nrs_pain",
    name="Numeric pain rating scale (0–10)",
    respondent=Respondent.PATIENT,
    recall="now",
    items=(
        Item(
            id="q1",
            label="pain intensity",
            options=tuple(range(11)),
            text="On a scale from 0 to 10, where 0 is no pain and 10 is the worst pain imaginable, how much pain do "
            "you have right now?",
            anchors=(Anchor(0, "No pain"), Anchor(10, "Worst pain imaginable")),
        ),
    ),
    citations=(cite("R30", "§4.9 NRS 0 = no pain … 10 = worst pain"),),
    bands=(
        Band(0, 0, "none"),
        Band(1, 3, "mild"),
        Band(4, 6, "moderate"),
        Band(7, 10, "severe"),
    ),
    band_citations=(cite("R30", "§4.9 modified PADSS bands 0–3 mild/none, 4–6 moderate, 7–10 severe"),),
    band_note="The source's '0–3 mild/none' band is split at the scale's own anchor: 0 is 'none' (no pain), 1–3 "
    "'mild'. Serlin 1995 (1–4 mild, 5–6 moderate) is an alternative not used here.",
    loinc_total="72514-3",
    licence="Generic scale; public domain.",
    item_text_shippable=True,
    licence_citations=(cite("R30", "§4.12 NRS generic"),),
)

_DAYS_IN_3_MONTHS = 92  # the longest run of three calendar months (e.g. July–September)
_DAYS = tuple(range(_DAYS_IN_3_MONTHS + 1))

MIDAS = Instrument(
    id="midas",
    name="MIDAS",
    respondent=Respondent.PATIENT,
    recall="past 3 months",
    items=(
        Item(id="q1", label="days of missed work or school", options=_DAYS),
        Item(id="q2", label="days of work or school productivity halved or worse (not counted in q1)", options=_DAYS),
        Item(id="q3", label="days without household work", options=_DAYS),
        Item(id="q4", label="days of household productivity halved or worse (not counted in q3)", options=_DAYS),
        Item(id="q5", label="days of missed family, social or leisure activities", options=_DAYS),
        Item(id="qa", label="headache days", options=_DAYS, required=False, scored=False),
        Item(id="qb", label="usual headache pain (0–10)", options=tuple(range(11)), required=False, scored=False),
    ),
    citations=(cite("R43", "§4.10 5 day-count questions, total = sum of days; A and B not scored"),),
    scoring_note="Questions 2 and 4 count only days not already counted in questions 1 and 3, so each pair shares "
    "one 3-month window of at most 92 days; a pair exceeding it is refused. Questions A (headache days) and B "
    "(pain 0–10) are optional and not scored.",
    sum_limits=(
        SumLimit(("q1", "q2"), _DAYS_IN_3_MONTHS, "q2 excludes the days counted in q1; 3 months hold at most 92 days"),
        SumLimit(("q3", "q4"), _DAYS_IN_3_MONTHS, "q4 excludes the days counted in q3; 3 months hold at most 92 days"),
    ),
    bands=(
        Band(0, 5, "grade i"),
        Band(6, 10, "grade ii"),
        Band(11, 20, "grade iii"),
        Band(21, 3 * _DAYS_IN_3_MONTHS, "grade iv"),
    ),
    band_citations=(cite("R43", "§4.10 grades I 0–5, II 6–10, III 11–20, IV ≥21"),),
    band_note="Grade i little or no disability; grade ii mild; grade iii moderate; grade iv severe.",
    licence="Licence not found; believed © Innovative Medical Research 1997, free for clinical use with "
    "attribution. Item text is not shipped until confirmed.",
    item_text_shippable=False,
    licence_citations=(cite("R43", "§4.10 licence not found"),),
    licence_evidence=Evidence.BEST_KNOWLEDGE,
)

INSTRUMENTS = (NRS_PAIN, MIDAS)
