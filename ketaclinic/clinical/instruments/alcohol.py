"""AUDIT, the WHO Alcohol Use Disorders Identification Test (REFERENCE §4.8)."""

from __future__ import annotations

from ketaclinic.clinical.instruments.model import Anchor, Band, Flag, FlagContext, Instrument, Item, Respondent
from ketaclinic.clinical.sources import Evidence, cite

_HOW_OFTEN = ("Never", "Less than monthly", "Monthly", "Weekly", "Daily or almost daily")
_INJURY = ((0, "No"), (2, "Yes, but not in the last year"), (4, "Yes, during the last year"))


def _item(n: int, label: str, text: str, anchors: tuple[tuple[int, str], ...]) -> Item:
    return Item(
        id=f"q{n}",
        label=label,
        options=tuple(v for v, _ in anchors),
        text=text,
        anchors=tuple(Anchor(v, t) for v, t in anchors),
    )


def _frequency(n: int, label: str, text: str) -> Item:
    return _item(n, label, text, tuple(enumerate(_HOW_OFTEN)))


def _higher_zone(context: FlagContext) -> bool:
    # "Score 2 or more on Questions 4, 5 and 6" is read as their combined score, which also covers any single item
    # at 2 or more: the safer reading escalates more patients, never fewer.
    dependence = context.subscores["dependence"]
    return dependence >= 2 or context.answers["q9"] == 4 or context.answers["q10"] == 4


AUDIT = Instrument(
    id="audit",
    name="AUDIT",
    respondent=Respondent.PATIENT,
    recall="past year",
    items=(
        _item(
            1,
            "drinking frequency",
            "How often do you have a drink containing alcohol?",
            tuple(
                enumerate(
                    (
                        "Never",
                        "Monthly or less",
                        "2 to 4 times a month",
                        "2 to 3 times a week",
                        "4 or more times a week",
                    )
                )
            ),
        ),
        _item(
            2,
            "drinks on a typical day",
            "How many drinks containing alcohol do you have on a typical day when you are drinking?",
            tuple(enumerate(("1 or 2", "3 or 4", "5 or 6", "7, 8 or 9", "10 or more"))),
        ),
        _frequency(
            3, "six or more drinks on one occasion", "How often do you have six or more drinks on one occasion?"
        ),
        _frequency(
            4,
            "unable to stop once started",
            "How often during the last year have you found that you were not able to stop drinking once you had "
            "started?",
        ),
        _frequency(
            5,
            "failed expectations because of drinking",
            "How often during the last year have you failed to do what was normally expected from you because of "
            "drinking?",
        ),
        _frequency(
            6,
            "morning drinking",
            "How often during the last year have you needed a first drink in the morning to get yourself going after "
            "a heavy drinking session?",
        ),
        _frequency(
            7,
            "guilt or remorse",
            "How often during the last year have you had a feeling of guilt or remorse after drinking?",
        ),
        _frequency(
            8,
            "blackouts",
            "How often during the last year have you been unable to remember what happened the night before because "
            "you had been drinking?",
        ),
        _item(
            9, "alcohol-related injury", "Have you or someone else been injured as a result of your drinking?", _INJURY
        ),
        _item(
            10,
            "others concerned",
            "Has a relative or friend or a doctor or another health worker been concerned about your drinking or "
            "suggested you cut down?",
            _INJURY,
        ),
    ),
    citations=(cite("R42", "§4.8 Q1–8 scored 0–4, Q9–10 scored 0, 2, 4; total 0–40"),),
    subscales=(
        ("consumption", ("q1", "q2", "q3")),
        ("dependence", ("q4", "q5", "q6")),
        ("harm", ("q7", "q8", "q9", "q10")),
    ),
    subscale_citations=(cite("R42", "Babor 2001 domains: consumption Q1–3, dependence Q4–6, harm Q7–10"),),
    bands=(
        Band(0, 7, "zone 1"),
        Band(8, 15, "zone 2"),
        Band(16, 19, "zone 3"),
        Band(20, 40, "zone 4"),
    ),
    band_citations=(cite("R42", "§4.8 zones I 0–7, II 8–15, III 16–19, IV 20–40 (Babor/WHO 2001)"),),
    band_note="Zone 1 alcohol education; zone 2 simple advice; zone 3 simple advice plus brief counselling and "
    "monitoring; zone 4 referral for diagnostic evaluation and treatment. The band is always the plain zone of the "
    "total; escalation is reported separately in recommended_band.",
    flags=(
        Flag(
            name="audit_higher_zone",
            title="AUDIT: next higher intervention level recommended",
            statement="A combined Q4–6 score of 2 or more, or Q9 or Q10 scored 4, raises audit_higher_zone; "
            "recommended_band is then the next zone up (zone 4 stays zone 4) while band stays the zone of the total.",
            test=_higher_zone,
            citations=(cite("R42", "§4.8 provide the next highest level if Q4–6 ≥2 or Q9/Q10 = 4"),),
            note="The source's 'score 2 or more on Questions 4, 5 and 6' is read as the combined score (safer: it "
            "includes every case where a single item is 2 or more).",
        ),
        Flag(
            name="possible_dependence",
            title="AUDIT: dependence sub-score suggests dependence",
            statement="A dependence sub-score (Q4–6) of 4 or more raises possible_dependence.",
            test=lambda context: context.subscores["dependence"] >= 4,
            citations=(cite("R42", "§4.8 dependence sub-score Q4–6 ≥4"),),
            evidence=Evidence.BEST_KNOWLEDGE,
        ),
    ),
    escalating_flag="audit_higher_zone",
    licence="© World Health Organization; free use.",
    item_text_shippable=True,
    licence_citations=(cite("R42", "§4.12 WHO, free use"),),
    licence_evidence=Evidence.BEST_KNOWLEDGE,
)

INSTRUMENTS = (AUDIT,)
