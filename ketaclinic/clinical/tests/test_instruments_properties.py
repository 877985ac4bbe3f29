"""Property tests over every instrument: totals stay in range, raising an answer never lowers the total, and every
value outside an item's options is refused.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from ketaclinic.clinical.instruments import INSTRUMENTS, Instrument, score

DETERMINISTIC = settings(derandomize=True, database=None, deadline=None, max_examples=150)
ALL = list(INSTRUMENTS.values())
NUMERIC = [i for i in ALL if i.total_range is not None]
TIER_ORDER = ["none", "low", "moderate", "high"]


@st.composite
def valid_answers(draw: st.DrawFn, instrument: Instrument) -> dict[str, Any]:
    """Any valid answer set for ``instrument``: skip logic honoured, optional items sometimes left out."""
    answers: dict[str, Any] = {}
    for item in instrument.items:
        if item.asked_when is not None and answers.get(item.asked_when[0]) != item.asked_when[1]:
            continue
        if not item.required and draw(st.booleans()):
            continue
        answers[item.id] = draw(st.sampled_from(item.options))
    for group in instrument.one_of_required:
        if not any(i in answers for i in group):
            answers[group[0]] = draw(st.sampled_from(instrument.item(group[0]).options))
    for limit in instrument.sum_limits:
        used = 0
        for item_id in limit.items:
            if answers[item_id] > limit.maximum - used:
                answers[item_id] = draw(st.integers(0, limit.maximum - used))
            used += answers[item_id]
    return answers


def _instrument_and_answers(instruments: list[Instrument]) -> st.SearchStrategy[tuple[Instrument, dict[str, Any]]]:
    return st.sampled_from(instruments).flatmap(lambda i: st.tuples(st.just(i), valid_answers(i)))


@DETERMINISTIC
@given(case=_instrument_and_answers(NUMERIC))
def test_it_keeps_every_total_in_range_and_in_its_band(case) -> None:
    instrument, answers = case
    result = score(instrument, answers)
    low, high = instrument.total_range
    assert result.total is not None and low <= result.total <= high
    if instrument.bands:
        band = next(b for b in instrument.bands if b.label == result.band)
        assert band.low <= result.total <= band.high


@DETERMINISTIC
@given(case=_instrument_and_answers(NUMERIC), data=st.data())
def test_it_never_lowers_the_total_when_an_answer_rises(case, data: st.DataObject) -> None:
    instrument, answers = case
    scored = [i for i in instrument.items if i.scored and i.id in answers]
    item = data.draw(st.sampled_from(scored))
    higher = [o for o in item.options if o > answers[item.id]]
    assume(higher)
    raised = answers | {item.id: data.draw(st.sampled_from(higher))}
    assume(all(sum(raised[i] for i in limit.items) <= limit.maximum for limit in instrument.sum_limits))
    before, after = score(instrument, answers).total, score(instrument, raised).total
    assert before is not None and after is not None and after >= before


@DETERMINISTIC
@given(case=_instrument_and_answers(ALL), data=st.data())
def test_it_refuses_every_value_outside_an_items_options(case, data: st.DataObject) -> None:
    instrument, answers = case
    item = data.draw(st.sampled_from([instrument.item(i) for i in answers]))
    if item.yes_no:
        bad: Any = data.draw(st.one_of(st.integers(-5, 5), st.just("yes")))
    else:
        bad = data.draw(
            st.one_of(
                st.integers(-1000, 1000).filter(lambda v: v not in item.options),
                st.booleans(),
                st.floats(allow_nan=False).filter(lambda v: v not in item.options),
            )
        )
    with pytest.raises(ValueError, match=rf"item {item.id}: .* allowed values: "):
        score(instrument, answers | {item.id: bad})


@DETERMINISTIC
@given(case=_instrument_and_answers(ALL))
def test_it_scores_a_list_and_a_mapping_alike(case) -> None:
    instrument, answers = case
    in_order = [answers.get(item_id) for item_id in instrument.item_ids]
    assert score(instrument, in_order) == score(instrument, answers)


@DETERMINISTIC
@given(answers=valid_answers(INSTRUMENTS["cssrs_screener"]), data=st.data())
def test_it_never_lowers_the_cssrs_tier_when_a_no_becomes_yes(answers: dict[str, Any], data: st.DataObject) -> None:
    instrument = INSTRUMENTS["cssrs_screener"]
    noes = [item_id for item_id, value in answers.items() if value is False]
    assume(noes)
    flipped = answers | {data.draw(st.sampled_from(noes)): True}
    for item in instrument.items:  # questions the new yes opens are answered no, the most conservative addition
        if item.asked_when is not None and flipped.get(item.asked_when[0]) == item.asked_when[1]:
            flipped.setdefault(item.id, False)
    before, after = score(instrument, answers).band, score(instrument, flipped).band
    assert before is not None and after is not None
    assert TIER_ORDER.index(after) >= TIER_ORDER.index(before)
