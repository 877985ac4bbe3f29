"""The instrument definitions are internally consistent, carry only sourced codes, and ship only licensed text."""

from __future__ import annotations

import json
import re

import pytest

from ketaclinic.clinical.instruments import INSTRUMENTS, Respondent, get_instrument, load_item_text
from ketaclinic.clinical.tests.conftest import VECTORS_FILE

ALL = list(INSTRUMENTS.values())

#: Every LOINC code the definitions may carry, exactly as REFERENCE §6.1 gives them; anything else must be None.
REFERENCE_LOINC = {
    ("phq9", "panel"): "44249-1",
    ("phq9", "total"): "44261-6",
    ("phq9", "q1"): "44250-9",
    ("phq9", "q2"): "44255-8",
    ("phq9", "q3"): "44259-0",
    ("phq9", "q4"): "44254-1",
    ("phq9", "q5"): "44251-7",
    ("phq9", "q6"): "44258-2",
    ("phq9", "q7"): "44252-5",
    ("phq9", "q8"): "44253-3",
    ("phq9", "q9"): "44260-8",
    ("phq9", "difficulty"): "69722-7",
    ("gad7", "panel"): "69737-5",
    ("gad7", "total"): "70274-6",
    ("gad7", "q1"): "69725-0",
    ("gad7", "q2"): "68509-9",
    ("gad7", "q3"): "69733-4",
    ("gad7", "q4"): "69734-2",
    ("gad7", "q5"): "69735-9",
    ("gad7", "q6"): "69689-8",
    ("gad7", "q7"): "69736-7",
    ("cssrs_screener", "panel"): "93373-9",
    ("cssrs_screener", "band"): "93374-7",
    ("cssrs_screener", "q1"): "93246-7",
    ("cssrs_screener", "q2"): "93247-5",
    ("cssrs_screener", "q3"): "93248-3",
    ("cssrs_screener", "q4"): "93249-1",
    ("cssrs_screener", "q5"): "93250-9",
    ("cssrs_screener", "q6"): "93267-3",
    ("cssrs_screener", "q6_past_3_months"): "93269-9",
    ("nrs_pain", "total"): "72514-3",
}
SHIPPABLE = {"phq9", "gad7", "pcl5", "audit", "nrs_pain"}


def _loinc_codes() -> dict[tuple[str, str], str]:
    codes: dict[tuple[str, str], str] = {}
    for instrument in ALL:
        for key, code in (
            ("panel", instrument.loinc_panel),
            ("total", instrument.loinc_total),
            ("band", instrument.loinc_band),
        ):
            if code is not None:
                codes[(instrument.id, key)] = code
        for item in instrument.items:
            if item.loinc is not None:
                codes[(instrument.id, item.id)] = item.loinc
    return codes


def _loinc_check_digit_ok(code: str) -> bool:
    """LOINC's mod-10 check digit, so a mistyped code cannot slip in."""
    body, digit = code.split("-")
    reversed_digits = body[::-1]
    odd = reversed_digits[0::2][::-1]
    even = reversed_digits[1::2][::-1]
    total = sum(int(c) for c in even + str(int(odd) * 2))
    return (10 - total % 10) % 10 == int(digit)


def test_it_defines_exactly_the_reference_instruments_in_order() -> None:
    data = json.loads(VECTORS_FILE.read_text(encoding="utf-8"))
    assert list(INSTRUMENTS) == data["instruments"]


def test_it_carries_only_the_loinc_codes_the_reference_gives() -> None:
    assert _loinc_codes() == REFERENCE_LOINC


@pytest.mark.parametrize("code", sorted(REFERENCE_LOINC.values()))
def test_it_carries_loinc_codes_with_valid_check_digits(code: str) -> None:
    assert _loinc_check_digit_ok(code)


def test_it_carries_the_phq9_answer_codes() -> None:
    anchors = get_instrument("phq9").item("q1").anchors
    assert [(a.value, a.loinc) for a in anchors] == [
        (0, "LA6568-5"),
        (1, "LA6569-3"),
        (2, "LA6570-1"),
        (3, "LA6571-9"),
    ]


@pytest.mark.parametrize("instrument", ALL, ids=lambda i: i.id)
def test_it_ships_item_text_only_where_the_licence_allows(instrument) -> None:
    assert instrument.item_text_shippable is (instrument.id in SHIPPABLE)
    texts = [item.text for item in instrument.items]
    if instrument.item_text_shippable:
        assert all(texts)
    else:
        assert texts == [None] * len(texts)
        assert instrument.instructions is None


@pytest.mark.parametrize("instrument", ALL, ids=lambda i: i.id)
def test_it_has_bands_that_cover_the_range_without_gaps(instrument) -> None:
    if not instrument.bands:
        return
    low, high = instrument.total_range
    assert instrument.bands[0].low == low
    assert instrument.bands[-1].high == high
    for before, after in zip(instrument.bands, instrument.bands[1:], strict=False):
        assert after.low == before.high + 1
    for band in instrument.bands:
        assert band.label == band.label.lower()


@pytest.mark.parametrize("instrument", ALL, ids=lambda i: i.id)
def test_it_refers_only_to_its_own_items_and_flags(instrument) -> None:
    ids = instrument.item_ids
    assert len(set(ids)) == len(ids)
    numbered = [i for i in ids if re.fullmatch(r"q\d+", i)]
    assert numbered == [f"q{n}" for n in range(1, len(numbered) + 1)]
    referenced = [i for d in instrument.domains for i in d]
    referenced += [i for _, members in instrument.subscales for i in members]
    referenced += [i for g in instrument.one_of_required for i in g]
    referenced += [i for limit in instrument.sum_limits for i in limit.items]
    referenced += [i for t in instrument.tiers for i in t.any_yes]
    referenced += [item.asked_when[0] for item in instrument.items if item.asked_when]
    assert set(referenced) <= set(ids)
    flags = [f.name for f in instrument.flags]
    assert len(set(flags)) == len(flags)
    assert instrument.escalating_flag in {None, *flags}
    for item in instrument.items:
        assert {a.value for a in item.anchors} <= set(item.options)


@pytest.mark.parametrize("instrument", ALL, ids=lambda i: i.id)
def test_it_cites_sources_for_scoring_and_licence(instrument) -> None:
    assert instrument.citations and instrument.licence_citations
    assert isinstance(instrument.respondent, Respondent)


def test_it_rates_hamd17_items_on_hamiltons_maxima() -> None:
    maxima = [max(item.options) for item in get_instrument("hamd17").items]
    two_point = {4, 5, 6, 12, 13, 14, 16, 17}
    assert maxima == [2 if n in two_point else 4 for n in range(1, 18)]


# --- licensed item text ----------------------------------------------------------------------------------------------


def test_it_loads_licensed_item_text(tmp_path) -> None:
    path = tmp_path / "madrs.json"
    wording = {f"q{n}": f"Item {n} wording" for n in range(1, 11)} | {"instructions": "Rate the past week."}
    path.write_text(json.dumps(wording), encoding="utf-8")
    loaded = load_item_text("madrs", path)
    assert dict(loaded) == wording
    assert list(loaded)[-1] == "instructions"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid JSON"),
        ('["q1"]', "expected a JSON object mapping item ids to text"),
        ('{"q1": "a", "q11": "b"}', "unknown item ids for madrs: q11; the items are q1, q2"),
        ('{"q1": "a"}', "no text for madrs items q2, q3, q4, q5, q6, q7, q8, q9, q10"),
        (
            json.dumps({f"q{n}": "x" for n in range(1, 10)} | {"q10": " "}),
            "the text for q10 must be a non-empty string",
        ),
        (json.dumps({f"q{n}": "x" for n in range(1, 10)} | {"q10": 3}), "the text for q10 must be a non-empty string"),
    ],
)
def test_it_refuses_incomplete_or_malformed_item_text(tmp_path, content: str, message: str) -> None:
    path = tmp_path / "madrs.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match=re.escape(message)):
        load_item_text("madrs", path)


def test_it_refuses_item_text_for_an_unknown_instrument(tmp_path) -> None:
    with pytest.raises(ValueError, match="unknown id"):
        load_item_text("nope", tmp_path / "x.json")


def test_it_refuses_an_unknown_item_id() -> None:
    with pytest.raises(KeyError):
        get_instrument("phq9").item("q10")
