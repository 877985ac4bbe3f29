"""Answer builders shared by the instrument tests: valid answer sets with a chosen total."""

from __future__ import annotations

from ketaclinic.clinical.instruments import Instrument, Item


def _contiguous(item: Item) -> bool:
    values = sorted(int(o) for o in item.options)
    return values == list(range(values[0], values[-1] + 1))


def answers_for_total(instrument: Instrument, total: int) -> dict[str, int]:
    """Valid answers to every required item whose total is exactly ``total`` (plain-sum and max-of-domain scales).

    Items with gaps in their options (AUDIT Q9/Q10) are filled first so that the 0..4 items can absorb any
    remainder; day counts sharing a window (MIDAS) respect their limit.
    """
    answers = {i.id: int(min(i.options)) for i in instrument.items if i.required}
    for group in instrument.one_of_required:
        answers.setdefault(group[0], 0)
    remaining = total - sum(max(answers.get(i, 0) for i in domain) for domain in instrument.scoring_domains)
    domains = sorted(instrument.scoring_domains, key=lambda d: _contiguous(instrument.item(d[0])))
    for domain in domains:
        item = instrument.item(domain[0])
        cap = remaining
        for limit in instrument.sum_limits:
            if item.id in limit.items:
                cap = min(cap, limit.maximum - sum(answers[i] for i in limit.items if i != item.id))
        choice = max(int(o) for o in item.options if int(o) <= answers[item.id] + cap)
        remaining -= choice - answers[item.id]
        answers[item.id] = choice
    assert remaining == 0, f"{instrument.id}: cannot build answers totalling {total}"
    return answers


def minimal_answers(instrument: Instrument) -> dict[str, int]:
    """Valid answers giving the lowest total."""
    return answers_for_total(instrument, instrument.total_range[0])


def maximal_answers(instrument: Instrument) -> dict[str, int]:
    """Valid answers giving the highest total."""
    return answers_for_total(instrument, instrument.total_range[1])
