"""Anxiety, trauma and obsessive-compulsive scales: GAD-7, PCL-5 and Y-BOCS (REFERENCE §4.2, §4.6, §4.7)."""

from __future__ import annotations

from ketaclinic.clinical.instruments.builders import difficulty_item, rated_items, total_at_least_setting
from ketaclinic.clinical.instruments.model import Band, Flag, FlagContext, Instrument, Respondent
from ketaclinic.clinical.sources import Evidence, cite

GAD7 = Instrument(
    id="gad7",
    name="GAD-7",
    respondent=Respondent.PATIENT,
    recall="past 2 weeks",
    instructions="Over the last 2 weeks, how often have you been bothered by the following problems?",
    items=(
        *rated_items(
            (
                "nervous, anxious or on edge",
                "unable to stop or control worrying",
                "worrying too much",
                "trouble relaxing",
                "restless",
                "easily annoyed or irritable",
                "afraid something awful might happen",
            ),
            maximum=3,
            texts=(
                "Feeling nervous, anxious, or on edge",
                "Not being able to stop or control worrying",
                "Worrying too much about different things",
                "Trouble relaxing",
                "Being so restless that it is hard to sit still",
                "Becoming easily annoyed or irritable",
                "Feeling afraid, as if something awful might happen",
            ),
            anchors=("Not at all", "Several days", "More than half the days", "Nearly every day"),
            loincs=("69725-0", "68509-9", "69733-4", "69734-2", "69735-9", "69689-8", "69736-7"),
        ),
        difficulty_item(),
    ),
    citations=(cite("R36", "§4.2 Spitzer 2006: 7 items 0–3, total 0–21"),),
    scoring_note="The functional-difficulty question is optional and not scored.",
    bands=(
        Band(0, 4, "minimal"),
        Band(5, 9, "mild"),
        Band(10, 14, "moderate"),
        Band(15, 21, "severe"),
    ),
    band_citations=(cite("R36", "§4.2 cut-points 5, 10, 15"),),
    loinc_panel="69737-5",
    loinc_total="70274-6",
    licence="© Pfizer; no permission required to reproduce, translate, display or distribute.",
    item_text_shippable=True,
    licence_citations=(cite("R36", "§4.12 licence"), cite("R46", "public FHIR Questionnaire copyright field")),
)

PCL5_CLUSTERS = (
    ("cluster_b", ("q1", "q2", "q3", "q4", "q5")),
    ("cluster_c", ("q6", "q7")),
    ("cluster_d", ("q8", "q9", "q10", "q11", "q12", "q13", "q14")),
    ("cluster_e", ("q15", "q16", "q17", "q18", "q19", "q20")),
)
#: DSM-5 symptom counts needed per cluster for a provisional diagnosis (an item rated ≥2 counts as a symptom).
PCL5_DSM_NEEDED = {"cluster_b": 1, "cluster_c": 1, "cluster_d": 2, "cluster_e": 2}


def _pcl5_dsm_rule(context: FlagContext) -> bool:
    return all(
        sum(1 for i in items if int(context.answers[i]) >= 2) >= PCL5_DSM_NEEDED[name] for name, items in PCL5_CLUSTERS
    )


PCL5 = Instrument(
    id="pcl5",
    name="PCL-5",
    respondent=Respondent.PATIENT,
    recall="past month",
    instructions="Below is a list of problems that people sometimes have in response to a very stressful experience. "
    "Please read each problem carefully and then indicate how much you have been bothered by that problem in the "
    "past month. In the past month, how much were you bothered by:",
    items=rated_items(
        (
            "intrusive memories",
            "disturbing dreams",
            "flashbacks",
            "upset at reminders",
            "physical reactions to reminders",
            "avoiding memories, thoughts or feelings",
            "avoiding external reminders",
            "trouble remembering parts of the event",
            "strong negative beliefs",
            "blame",
            "strong negative feelings",
            "loss of interest",
            "feeling distant or cut off",
            "trouble experiencing positive feelings",
            "irritability or aggression",
            "risk taking",
            "hypervigilance",
            "easily startled",
            "difficulty concentrating",
            "sleep problems",
        ),
        maximum=4,
        texts=(
            "Repeated, disturbing, and unwanted memories of the stressful experience?",
            "Repeated, disturbing dreams of the stressful experience?",
            "Suddenly feeling or acting as if the stressful experience were actually happening again (as if you "
            "were actually back there reliving it)?",
            "Feeling very upset when something reminded you of the stressful experience?",
            "Having strong physical reactions when something reminded you of the stressful experience (for example, "
            "heart pounding, trouble breathing, sweating)?",
            "Avoiding memories, thoughts, or feelings related to the stressful experience?",
            "Avoiding external reminders of the stressful experience (for example, people, places, conversations, "
            "activities, objects, or situations)?",
            "Trouble remembering important parts of the stressful experience?",
            "Having strong negative beliefs about yourself, other people, or the world (for example, having "
            "thoughts such as: I am bad, there is something seriously wrong with me, no one can be trusted, the "
            "world is completely dangerous)?",
            "Blaming yourself or someone else for the stressful experience or what happened after it?",
            "Having strong negative feelings such as fear, horror, anger, guilt, or shame?",
            "Loss of interest in activities that you used to enjoy?",
            "Feeling distant or cut off from other people?",
            "Trouble experiencing positive feelings (for example, being unable to feel happiness or have loving "
            "feelings for people close to you)?",
            "Irritable behavior, angry outbursts, or acting aggressively?",
            "Taking too many risks or doing things that could cause you harm?",
            'Being "superalert" or watchful or on guard?',
            "Feeling jumpy or easily startled?",
            "Having difficulty concentrating?",
            "Trouble falling or staying asleep?",
        ),
        anchors=("Not at all", "A little bit", "Moderately", "Quite a bit", "Extremely"),
    ),
    citations=(cite("R40", "§4.6 20 items 0–4, total 0–80"),),
    subscales=PCL5_CLUSTERS,
    subscale_citations=(cite("R40", "§4.6 clusters B 1–5, C 6–7, D 8–14, E 15–20"),),
    band_citations=(cite("R40", "§4.6 no empirical severity bands"),),
    band_note="The PCL-5 has no empirically derived severity bands, so no band is reported.",
    flags=(
        Flag(
            name="provisional_ptsd_cutoff",
            title="PCL-5 total at or above the provisional-PTSD cut-point",
            statement="A total at or above ClinicPolicy.pcl5_provisional_cutoff (default 33) raises "
            "provisional_ptsd_cutoff.",
            test=total_at_least_setting("pcl5_provisional_cutoff"),
            citations=(cite("R40", "§4.6 provisional PTSD: total ≥31–33; early VA guidance 38"),),
            note="A screening result, not a diagnosis; the cut-point is a clinic setting (31–38).",
        ),
        Flag(
            name="provisional_ptsd_dsm",
            title="PCL-5 DSM-5 symptom-cluster rule met",
            statement="Treating an item rated 2 or more as an endorsed symptom, at least 1 cluster B item, 1 cluster "
            "C item, 2 cluster D items and 2 cluster E items raise provisional_ptsd_dsm.",
            test=_pcl5_dsm_rule,
            citations=(cite("R40", "§4.6 DSM rule: ≥1 B, ≥1 C, ≥2 D, ≥2 E with items ≥2"),),
        ),
    ),
    licence="National Center for PTSD (US Department of Veterans Affairs); public domain.",
    item_text_shippable=True,
    licence_citations=(cite("R40", "§4.12 public domain"),),
)

_YBOCS_ASPECTS = ("time occupied", "interference", "distress", "resistance", "degree of control")

YBOCS = Instrument(
    id="ybocs",
    name="Y-BOCS",
    respondent=Respondent.CLINICIAN,
    recall="past week",
    items=rated_items(
        tuple(f"obsessions: {a}" for a in _YBOCS_ASPECTS) + tuple(f"compulsions: {a}" for a in _YBOCS_ASPECTS),
        maximum=4,
    ),
    citations=(cite("R41", "§4.7 10 severity items 0–4, total 0–40"),),
    subscales=(("obsessions", ("q1", "q2", "q3", "q4", "q5")), ("compulsions", ("q6", "q7", "q8", "q9", "q10"))),
    subscale_citations=(cite("R41", "§4.7 obsessions 1–5, compulsions 6–10 (0–20 each)"),),
    bands=(
        Band(0, 7, "subclinical"),
        Band(8, 15, "mild"),
        Band(16, 23, "moderate"),
        Band(24, 31, "severe"),
        Band(32, 40, "extreme"),
    ),
    band_citations=(cite("R41", "§4.7 Goodman 1989 bands"),),
    band_note="These are the original Y-BOCS bands; Y-BOCS-II (items 0–5, total 0–50) is a different instrument.",
    licence="OCD Scales LLC; a licence is required for use in an EMR or app and for any distribution. Item text is "
    "never shipped; a licensed clinic loads its own wording.",
    item_text_shippable=False,
    licence_citations=(cite("R41", "§4.7 ocdscales.com terms"),),
    licence_evidence=Evidence.PUBLISHED,
)

INSTRUMENTS = (GAD7, PCL5, YBOCS)
