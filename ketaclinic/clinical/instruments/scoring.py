"""Scoring: validate answers against an instrument's definition and derive total, band, subscores and flags.

Invalid input is refused, never repaired: an unknown item, a value outside the item's options, a bool where a number
is expected, a missing required answer or an answer to an item the skip logic says was not asked raises
``ValueError`` naming the instrument, the item and the allowed values.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType

from ketaclinic.clinical.instruments.model import AnswerValue, FlagContext, Instrument, Item, Score
from ketaclinic.clinical.policy import DEFAULT_POLICY, ClinicPolicy

Answers = Sequence[AnswerValue | None] | Mapping[str, AnswerValue | None]


def allowed_values(item: Item) -> str:
    """The item's allowed answers in words, for error messages and forms: ``0–3``, ``0, 2, 4`` or ``yes or no``."""
    if item.yes_no:
        return "yes (true) or no (false)"
    values = sorted(int(o) for o in item.options)
    if values == list(range(values[0], values[-1] + 1)):
        return f"{values[0]}–{values[-1]}"
    return ", ".join(str(v) for v in values)


def _as_mapping(instrument: Instrument, answers: Answers) -> dict[str, AnswerValue | None]:
    if isinstance(answers, Mapping):
        known = set(instrument.item_ids)
        for key in answers:
            if key not in known:
                raise ValueError(
                    f"{instrument.id}: unknown item {key!r}; the items are {', '.join(instrument.item_ids)}"
                )
        return dict(answers)
    if isinstance(answers, str | bytes):
        raise ValueError(f"{instrument.id}: answers must be a list in item order or a mapping by item id")
    if len(answers) > len(instrument.items):
        raise ValueError(
            f"{instrument.id}: {len(answers)} answers given but the instrument has {len(instrument.items)} items "
            f"({', '.join(instrument.item_ids)})"
        )
    return dict(zip(instrument.item_ids, answers, strict=False))


def _check_value(instrument: Instrument, item: Item, value: object) -> AnswerValue:
    where = f"{instrument.id} item {item.id}"
    if item.yes_no:
        if not isinstance(value, bool):
            raise ValueError(f"{where}: {value!r} is not a yes/no answer; allowed values: {allowed_values(item)}")
        return value
    # bool is a subclass of int in Python; a True sent for a 0–3 item is a client bug, not the answer 1.
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{where}: {value!r} is not a whole number; allowed values: {allowed_values(item)}")
    if value not in item.options:
        raise ValueError(f"{where}: {value} is not an allowed answer; allowed values: {allowed_values(item)}")
    return value


def validate_answers(instrument: Instrument, answers: Answers) -> dict[str, AnswerValue]:
    """The validated answers by item id in questionnaire order; unanswered items (``None`` or absent) are omitted.

    Raises ``ValueError`` naming the item and its allowed values for any invalid, missing or unexpected answer.
    """
    given = _as_mapping(instrument, answers)
    valid: dict[str, AnswerValue] = {}
    for item in instrument.items:
        value = given.get(item.id)
        if item.asked_when is not None and valid.get(item.asked_when[0]) != item.asked_when[1]:
            if value is not None:
                trigger, needed = item.asked_when
                answer = "yes" if needed is True else "no" if needed is False else str(needed)
                raise ValueError(
                    f"{instrument.id} item {item.id}: must be left unanswered unless {trigger} is {answer} "
                    f"(skip logic); allowed values when asked: {allowed_values(item)}"
                )
            continue
        if value is None:
            if item.required:
                raise ValueError(
                    f"{instrument.id} item {item.id}: answer missing; allowed values: {allowed_values(item)}"
                )
            continue
        valid[item.id] = _check_value(instrument, item, value)
    for group in instrument.one_of_required:
        if not any(item_id in valid for item_id in group):
            raise ValueError(
                f"{instrument.id} items {' or '.join(group)}: answer at least one; "
                f"allowed values: {allowed_values(instrument.item(group[0]))}"
            )
    for limit in instrument.sum_limits:
        parts = [int(valid[i]) for i in limit.items]
        if sum(parts) > limit.maximum:
            raise ValueError(
                f"{instrument.id} items {' + '.join(limit.items)}: {' + '.join(str(p) for p in parts)} = {sum(parts)} "
                f"exceeds {limit.maximum} ({limit.reason})"
            )
    return valid


def _band_of(instrument: Instrument, total: int | None, answers: Mapping[str, AnswerValue]) -> str | None:
    if instrument.tiers:
        for tier in instrument.tiers:
            if any(answers.get(item_id) is True for item_id in tier.any_yes):
                return tier.label
        return instrument.tier_default
    return next((b.label for b in instrument.bands if total is not None and b.low <= total <= b.high), None)


def _escalated(instrument: Instrument, band: str | None, flags: frozenset[str]) -> str | None:
    if instrument.escalating_flag is None or instrument.escalating_flag not in flags:
        return band
    labels = [b.label for b in instrument.bands]
    return labels[min(labels.index(str(band)) + 1, len(labels) - 1)]


def score_answers(instrument: Instrument, answers: Answers, *, policy: ClinicPolicy | None = None) -> Score:
    """Score ``answers`` (a list in item order or a mapping by item id) on ``instrument``.

    Guarantees: the total lies within ``instrument.total_range``; ``band`` is the band containing the total (or the
    risk tier for yes/no instruments); flags are evaluated with ``policy`` (default: :data:`DEFAULT_POLICY`).
    """
    policy = policy or DEFAULT_POLICY
    valid = validate_answers(instrument, answers)
    total: int | None = None
    if not instrument.tiers:
        total = sum(
            max((int(valid[i]) for i in domain if i in valid), default=0) for domain in instrument.scoring_domains
        )
    subscores = {name: sum(int(valid[i]) for i in items if i in valid) for name, items in instrument.subscales}
    band = _band_of(instrument, total, valid)
    context = FlagContext(MappingProxyType(valid), total, band, MappingProxyType(subscores), policy)
    flags = frozenset(f.name for f in instrument.flags if f.test(context))
    return Score(
        instrument=instrument.id,
        total=total,
        band=band,
        recommended_band=_escalated(instrument, band, flags),
        flags=flags,
        subscores=MappingProxyType(subscores),
        answers=MappingProxyType(valid),
    )
