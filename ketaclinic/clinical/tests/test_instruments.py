"""Table-driven tests of every instrument: range ends, band boundaries, flags, subscores and refused input."""

from __future__ import annotations

import re

import pytest

from ketaclinic.clinical import DEFAULT_POLICY
from ketaclinic.clinical.instruments import (
    CADSS6_SOURCE_ITEMS,
    INSTRUMENTS,
    allowed_values,
    cadss6_from_cadss,
    get_instrument,
    score,
)
from ketaclinic.clinical.tests.instrument_answers import answers_for_total, maximal_answers, minimal_answers

NUMERIC = [i for i in INSTRUMENTS.values() if i.total_range is not None]
BANDED = [(i.id, band) for i in NUMERIC for band in i.bands]


@pytest.mark.parametrize("instrument", NUMERIC, ids=lambda i: i.id)
def test_it_scores_the_lowest_and_highest_totals(instrument) -> None:
    low, high = instrument.total_range
    assert score(instrument.id, minimal_answers(instrument)).total == low
    assert score(instrument.id, maximal_answers(instrument)).total == high


@pytest.mark.parametrize(
    ("instrument_id", "expected"),
    [
        ("phq9", (0, 27)),
        ("gad7", (0, 21)),
        ("madrs", (0, 60)),
        ("qids_sr16", (0, 27)),
        ("pcl5", (0, 80)),
        ("ybocs", (0, 40)),
        ("audit", (0, 40)),
        ("nrs_pain", (0, 10)),
        ("midas", (0, 276)),
        ("hamd17", (0, 52)),
        ("cadss", (0, 92)),
        ("cadss6", (0, 24)),
        ("moaas", (0, 5)),
        ("aldrete", (0, 10)),
        ("padss", (0, 10)),
        ("cssrs_screener", None),
    ],
)
def test_it_has_the_published_total_range(instrument_id: str, expected: tuple[int, int] | None) -> None:
    assert get_instrument(instrument_id).total_range == expected


@pytest.mark.parametrize(("instrument_id", "band"), BANDED, ids=lambda x: x if isinstance(x, str) else x.label)
def test_it_bands_both_ends_of_every_band(instrument_id: str, band) -> None:
    instrument = get_instrument(instrument_id)
    for total in (band.low, band.high):
        result = score(instrument, answers_for_total(instrument, total))
        assert (result.total, result.band) == (total, band.label)


@pytest.mark.parametrize(
    ("instrument_id", "labels"),
    [
        ("phq9", ["minimal", "mild", "moderate", "moderately severe", "severe"]),
        ("gad7", ["minimal", "mild", "moderate", "severe"]),
        ("madrs", ["normal", "mild", "moderate", "severe"]),
        ("qids_sr16", ["none", "mild", "moderate", "severe", "very severe"]),
        ("ybocs", ["subclinical", "mild", "moderate", "severe", "extreme"]),
        ("audit", ["zone 1", "zone 2", "zone 3", "zone 4"]),
        ("nrs_pain", ["none", "mild", "moderate", "severe"]),
        ("midas", ["grade i", "grade ii", "grade iii", "grade iv"]),
        ("hamd17", ["no depression", "mild", "moderate", "severe"]),
    ],
)
def test_it_uses_the_published_band_labels(instrument_id: str, labels: list[str]) -> None:
    assert [b.label for b in get_instrument(instrument_id).bands] == labels


@pytest.mark.parametrize(
    ("instrument_id", "cut_points"),
    [
        ("phq9", [0, 5, 10, 15, 20]),
        ("gad7", [0, 5, 10, 15]),
        ("madrs", [0, 7, 20, 35]),
        ("qids_sr16", [0, 6, 11, 16, 21]),
        ("ybocs", [0, 8, 16, 24, 32]),
        ("audit", [0, 8, 16, 20]),
        ("nrs_pain", [0, 1, 4, 7]),
        ("midas", [0, 6, 11, 21]),
        ("hamd17", [0, 8, 17, 24]),
    ],
)
def test_it_uses_the_published_cut_points(instrument_id: str, cut_points: list[int]) -> None:
    assert [b.low for b in get_instrument(instrument_id).bands] == cut_points


@pytest.mark.parametrize("instrument_id", ["pcl5", "cadss", "cadss6", "aldrete", "padss"])
def test_it_reports_no_band_where_none_is_published(instrument_id: str) -> None:
    instrument = get_instrument(instrument_id)
    assert score(instrument, minimal_answers(instrument)).band is None


# --- flags -----------------------------------------------------------------------------------------------------------


def _with(instrument_id: str, total: int = 0, **answers: int) -> dict[str, int]:
    base = answers_for_total(get_instrument(instrument_id), total)
    base.update(answers)
    return base


@pytest.mark.parametrize(
    ("instrument_id", "item", "off", "on"),
    [("phq9", "q9", 0, 1), ("madrs", "q10", 0, 1), ("qids_sr16", "q12", 0, 1), ("hamd17", "q3", 0, 1)],
)
def test_it_raises_suicidal_ideation_on_any_nonzero_suicide_item(instrument_id, item, off, on) -> None:
    assert "suicidal_ideation" not in score(instrument_id, _with(instrument_id, **{item: off})).flags
    assert "suicidal_ideation" in score(instrument_id, _with(instrument_id, **{item: on})).flags


def test_it_raises_suicidal_ideation_on_phq9_item_9_whatever_the_total() -> None:
    result = score("phq9", [0, 0, 0, 0, 0, 0, 0, 0, 1])
    assert (result.total, result.band, "suicidal_ideation" in result.flags) == (1, "minimal", True)


NO = False
YES = True


@pytest.mark.parametrize(
    ("answers", "tier", "flags"),
    [
        ({"q1": NO, "q2": NO, "q6": NO}, "none", set()),
        ({"q1": YES, "q2": NO, "q6": NO}, "low", {"suicidal_ideation", "cssrs_risk_low"}),
        (
            {"q1": NO, "q2": YES, "q3": NO, "q4": NO, "q5": NO, "q6": NO},
            "low",
            {"suicidal_ideation", "cssrs_risk_low"},
        ),
        (
            {"q1": YES, "q2": YES, "q3": YES, "q4": NO, "q5": NO, "q6": NO},
            "moderate",
            {"suicidal_ideation", "cssrs_risk_moderate"},
        ),
        (
            {"q1": YES, "q2": YES, "q3": NO, "q4": YES, "q5": NO, "q6": NO},
            "high",
            {"suicidal_ideation", "cssrs_risk_high"},
        ),
        (
            {"q1": YES, "q2": YES, "q3": NO, "q4": NO, "q5": YES, "q6": NO},
            "high",
            {"suicidal_ideation", "cssrs_risk_high"},
        ),
        (
            {"q1": NO, "q2": NO, "q6": YES, "q6_past_3_months": NO},
            "moderate",
            {"suicidal_behaviour", "cssrs_risk_moderate"},
        ),
        (
            {"q1": NO, "q2": NO, "q6": YES, "q6_past_3_months": YES},
            "high",
            {"suicidal_behaviour", "cssrs_risk_high"},
        ),
    ],
)
def test_it_derives_the_cssrs_risk_tier(answers, tier: str, flags: set[str]) -> None:
    result = score("cssrs_screener", answers)
    assert (result.total, result.band, set(result.flags)) == (None, tier, flags)


def test_it_accepts_cssrs_answers_in_order_with_skipped_items_as_none() -> None:
    result = score("cssrs_screener", [YES, NO, None, None, None, YES, NO])
    assert result.band == "moderate"
    assert dict(result.answers) == {"q1": YES, "q2": NO, "q6": YES, "q6_past_3_months": NO}
    assert score("cssrs_screener", [NO, NO, None, None, None, NO]).band == "none"


def test_it_keeps_skipped_items_out_of_the_answers() -> None:
    result = score("cssrs_screener", {"q1": NO, "q2": NO, "q3": None, "q6": NO})
    assert list(result.answers) == ["q1", "q2", "q6"]


PCL5_SYMPTOMS = {f"q{n}": 0 for n in range(1, 21)} | {"q1": 2, "q6": 2, "q8": 2, "q9": 2, "q15": 2, "q16": 2}


def test_it_applies_the_pcl5_dsm_rule() -> None:
    assert "provisional_ptsd_dsm" in score("pcl5", PCL5_SYMPTOMS).flags


@pytest.mark.parametrize("dropped", ["q1", "q6", "q8", "q15"])
def test_it_needs_every_pcl5_cluster_for_the_dsm_rule(dropped: str) -> None:
    answers = PCL5_SYMPTOMS | {dropped: 1}
    assert "provisional_ptsd_dsm" not in score("pcl5", answers).flags


def test_it_applies_the_pcl5_cut_point_from_the_policy() -> None:
    at_32 = answers_for_total(get_instrument("pcl5"), 32)
    at_33 = answers_for_total(get_instrument("pcl5"), 33)
    assert "provisional_ptsd_cutoff" not in score("pcl5", at_32).flags
    assert "provisional_ptsd_cutoff" in score("pcl5", at_33).flags
    lenient = DEFAULT_POLICY.with_overrides({"pcl5_provisional_cutoff": 31})
    strict = DEFAULT_POLICY.with_overrides({"pcl5_provisional_cutoff": 38})
    assert (
        "provisional_ptsd_cutoff" in score("pcl5", answers_for_total(get_instrument("pcl5"), 31), policy=lenient).flags
    )
    assert "provisional_ptsd_cutoff" not in score("pcl5", at_33, policy=strict).flags


def test_it_reports_pcl5_clusters_as_subscores() -> None:
    result = score("pcl5", list(range(5)) * 4)
    assert dict(result.subscores) == {"cluster_b": 10, "cluster_c": 1, "cluster_d": 15, "cluster_e": 14}
    assert result.total == sum(result.subscores.values())


AUDIT_ZERO = [0] * 10


@pytest.mark.parametrize(
    ("changes", "raised"),
    [
        ({}, False),
        ({3: 1}, False),
        ({3: 1, 4: 1}, True),  # combined Q4–6 = 2: the safer (combined) reading escalates
        ({5: 2}, True),
        ({8: 2, 9: 2}, False),
        ({8: 4}, True),
        ({9: 4}, True),
    ],
)
def test_it_recommends_the_next_audit_zone(changes: dict[int, int], raised: bool) -> None:
    answers = list(AUDIT_ZERO)
    for index, value in changes.items():
        answers[index] = value
    result = score("audit", answers)
    assert result.band == "zone 1"
    assert ("audit_higher_zone" in result.flags) is raised
    assert result.recommended_band == ("zone 2" if raised else "zone 1")


def test_it_keeps_zone_4_as_the_highest_recommendation() -> None:
    result = score("audit", [4, 4, 4, 4, 4, 4, 0, 0, 0, 0])
    assert (result.total, result.band, result.recommended_band) == (24, "zone 4", "zone 4")
    assert {"audit_higher_zone", "possible_dependence"} <= result.flags


def test_it_reports_audit_domains_and_possible_dependence() -> None:
    result = score("audit", [1, 1, 1, 2, 1, 0, 1, 1, 2, 0])
    assert dict(result.subscores) == {"consumption": 3, "dependence": 3, "harm": 4}
    assert "possible_dependence" not in result.flags
    assert "possible_dependence" in score("audit", [1, 1, 1, 2, 1, 1, 1, 1, 2, 0]).flags


def test_it_does_not_escalate_instruments_without_escalation() -> None:
    result = score("phq9", [3] * 9)
    assert result.recommended_band == result.band == "severe"


@pytest.mark.parametrize(
    ("value", "flags", "band"),
    [
        (0, {"loss_of_consciousness", "sedation"}, "no response"),
        (1, {"sedation"}, "responds to pain only"),
        (3, {"sedation"}, "responds to loud voice"),
        (4, set(), "lethargic"),
        (5, set(), "alert"),
    ],
)
def test_it_flags_sedation_on_the_moaas(value: int, flags: set[str], band: str) -> None:
    result = score("moaas", [value])
    assert (set(result.flags), result.band) == (flags, band)


@pytest.mark.parametrize("instrument_id", ["aldrete", "padss"])
def test_it_flags_discharge_readiness_at_the_policy_score(instrument_id: str) -> None:
    instrument = get_instrument(instrument_id)
    assert "discharge_ready" not in score(instrument, answers_for_total(instrument, 8)).flags
    assert "discharge_ready" in score(instrument, answers_for_total(instrument, 9)).flags
    stricter = DEFAULT_POLICY.with_overrides({"discharge_min_recovery_score": 10})
    assert "discharge_ready" not in score(instrument, answers_for_total(instrument, 9), policy=stricter).flags


@pytest.mark.parametrize(
    ("instrument_id", "expected"),
    [
        ("ybocs", {"obsessions": 15, "compulsions": 10}),
        ("cadss", {"depersonalisation": 14, "derealisation": 24, "amnesia": 8}),
    ],
)
def test_it_reports_subscales(instrument_id: str, expected: dict[str, int]) -> None:
    instrument = get_instrument(instrument_id)
    answers = [3] * 5 + [2] * 5 if instrument_id == "ybocs" else [2] * 23
    assert dict(score(instrument, answers).subscores) == expected


def test_it_splits_every_cadss_item_into_exactly_one_subscale() -> None:
    subscales = get_instrument("cadss").subscales
    items = [i for _, members in subscales for i in members]
    assert sorted(items) == sorted(get_instrument("cadss").item_ids)


def test_it_derives_cadss6_from_a_full_cadss() -> None:
    full = score("cadss", list(range(5)) * 4 + [0, 1, 2])
    short = cadss6_from_cadss(full)
    assert short.instrument == "cadss6"
    assert list(short.answers.values()) == [full.answers[i] for i in CADSS6_SOURCE_ITEMS]
    assert short.total == 0 + 1 + 0 + 1 + 4 + 1


def test_it_refuses_to_derive_cadss6_from_another_instrument() -> None:
    with pytest.raises(ValueError, match="instrument: a cadss score is needed, got phq9"):
        cadss6_from_cadss(score("phq9", [0] * 9))


def test_it_scores_qids_by_the_highest_item_of_each_domain() -> None:
    answers = {f"q{n}": 0 for n in range(1, 17)} | {"q1": 1, "q3": 3, "q7": 2, "q9": 1, "q15": 1, "q16": 2}
    assert score("qids_sr16", answers).total == 3 + 2 + 2


def test_it_accepts_one_answer_per_qids_appetite_and_weight_pair() -> None:
    answers = {f"q{n}": 1 for n in range(1, 17)}
    del answers["q6"], answers["q9"]
    result = score("qids_sr16", answers)
    assert result.total == 9 and "q6" not in result.answers


def test_it_keeps_the_unscored_phq9_difficulty_answer() -> None:
    result = score("phq9", [1] * 9 + [2])
    assert result.total == 9
    assert result.answers["difficulty"] == 2


def test_it_keeps_unscored_midas_questions_out_of_the_total() -> None:
    result = score("midas", {"q1": 3, "q2": 2, "q3": 1, "q4": 0, "q5": 4, "qa": 30, "qb": 7})
    assert (result.total, result.band) == (10, "grade ii")


def test_it_accepts_an_instrument_object() -> None:
    assert score(get_instrument("gad7"), [0] * 7).band == "minimal"


def test_it_normalises_answers_to_item_order() -> None:
    result = score("gad7", {f"q{n}": 1 for n in range(7, 0, -1)})
    assert list(result.answers) == [f"q{n}" for n in range(1, 8)]


# --- refused input ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("instrument", INSTRUMENTS.values(), ids=lambda i: i.id)
def test_it_names_the_item_and_allowed_values_for_a_value_outside_the_options(instrument) -> None:
    base: dict[str, int | bool] = {i.id: False for i in instrument.items if i.required and i.asked_when is None}
    if instrument.total_range is not None:
        base = dict(minimal_answers(instrument))
    for item in instrument.items:
        if item.asked_when is not None:
            continue
        bad = 7 if item.yes_no else max(int(o) for o in item.options) + 1
        with pytest.raises(ValueError) as raised:
            score(instrument, base | {item.id: bad})
        message = str(raised.value)
        assert f"item {item.id}:" in message and allowed_values(item) in message


@pytest.mark.parametrize(
    ("instrument_id", "answers", "message"),
    [
        ("phq9", [0] * 11, "phq9: 11 answers given but the instrument has 10 items"),
        ("phq9", [0] * 8, "phq9 item q9: answer missing; allowed values: 0–3"),
        ("phq9", {"q1": 0, "q99": 1}, "phq9: unknown item 'q99'; the items are q1, q2"),
        ("phq9", [True, 0, 0, 0, 0, 0, 0, 0, 0], "phq9 item q1: True is not a whole number; allowed values: 0–3"),
        ("phq9", [1.0, 0, 0, 0, 0, 0, 0, 0, 0], "phq9 item q1: 1.0 is not a whole number"),
        ("phq9", ["1", 0, 0, 0, 0, 0, 0, 0, 0], "phq9 item q1: '1' is not a whole number"),
        ("phq9", [-1, 0, 0, 0, 0, 0, 0, 0, 0], "phq9 item q1: -1 is not an allowed answer; allowed values: 0–3"),
        ("phq9", "000000000", "phq9: answers must be a list in item order or a mapping by item id"),
        ("audit", [0] * 8 + [1, 0], "audit item q9: 1 is not an allowed answer; allowed values: 0, 2, 4"),
        ("audit", [0] * 8 + [0, 3], "audit item q10: 3 is not an allowed answer; allowed values: 0, 2, 4"),
        (
            "cssrs_screener",
            {"q1": 1, "q2": False, "q6": False},
            "cssrs_screener item q1: 1 is not a yes/no answer; allowed values: yes (true) or no (false)",
        ),
        (
            "cssrs_screener",
            {"q1": True, "q2": False, "q3": True, "q6": False},
            "cssrs_screener item q3: must be left unanswered unless q2 is yes (skip logic)",
        ),
        (
            "cssrs_screener",
            {"q1": True, "q2": False, "q6": False, "q6_past_3_months": False},
            "cssrs_screener item q6_past_3_months: must be left unanswered unless q6 is yes",
        ),
        (
            "cssrs_screener",
            {"q1": True, "q2": True, "q3": True, "q4": False, "q6": False},
            "cssrs_screener item q5: answer missing; allowed values: yes (true) or no (false)",
        ),
        (
            "cssrs_screener",
            {"q1": False, "q2": False, "q6": True},
            "cssrs_screener item q6_past_3_months: answer missing",
        ),
        ("cssrs_screener", {"q1": False, "q6": False}, "cssrs_screener item q2: answer missing"),
        (
            "qids_sr16",
            {f"q{n}": 0 for n in range(1, 17) if n not in (8, 9)},
            "qids_sr16 items q8 or q9: answer at least one; allowed values: 0–3",
        ),
        (
            "midas",
            [60, 40, 0, 0, 0],
            "midas items q1 + q2: 60 + 40 = 100 exceeds 92 (q2 excludes the days counted in q1",
        ),
        ("midas", [0, 0, 50, 43, 0], "midas items q3 + q4: 50 + 43 = 93 exceeds 92"),
        ("midas", [93, 0, 0, 0, 0], "midas item q1: 93 is not an allowed answer; allowed values: 0–92"),
        ("moaas", [6], "moaas item q1: 6 is not an allowed answer; allowed values: 0–5"),
    ],
)
def test_it_refuses_invalid_answers_with_a_clear_message(instrument_id: str, answers, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        score(instrument_id, answers)


def test_it_refuses_an_unknown_instrument() -> None:
    with pytest.raises(ValueError, match=r"instrument: unknown id 'phq10'; known: phq9, gad7"):
        score("phq10", [0])
