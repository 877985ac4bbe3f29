"""Every instrument the clinic can score, the public ``score`` entry point, and their rules in the catalogue.

The catalogue rules are generated from the instrument definitions themselves (scoring formula, bands, subscores,
flags, licence), so the documentation states exactly what the code computes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from ketaclinic.clinical.instruments import alcohol, anxiety, depression, pain, session, suicide
from ketaclinic.clinical.instruments.model import AnswerValue, Instrument, Score
from ketaclinic.clinical.instruments.scoring import allowed_values, score_answers
from ketaclinic.clinical.policy import ClinicPolicy
from ketaclinic.clinical.rules import rule

_ALL = {
    i.id: i
    for i in (
        *depression.INSTRUMENTS,
        *anxiety.INSTRUMENTS,
        *suicide.INSTRUMENTS,
        *alcohol.INSTRUMENTS,
        *pain.INSTRUMENTS,
        *session.INSTRUMENTS,
    )
}
_ORDER = (
    "phq9",
    "gad7",
    "madrs",
    "qids_sr16",
    "cssrs_screener",
    "pcl5",
    "ybocs",
    "audit",
    "nrs_pain",
    "midas",
    "hamd17",
    "cadss",
    "cadss6",
    "moaas",
    "aldrete",
    "padss",
)

#: Every instrument by id, in the order of the clinic's reference list.
INSTRUMENTS: Mapping[str, Instrument] = {key: _ALL[key] for key in _ORDER}


def get_instrument(instrument_id: str) -> Instrument:
    """The instrument with ``instrument_id``; an unknown id raises ``ValueError`` listing the known ids."""
    try:
        return INSTRUMENTS[instrument_id]
    except KeyError:
        raise ValueError(f"instrument: unknown id {instrument_id!r}; known: {', '.join(INSTRUMENTS)}") from None


def score(
    instrument: str | Instrument,
    answers: Sequence[AnswerValue | None] | Mapping[str, AnswerValue | None],
    *,
    policy: ClinicPolicy | None = None,
) -> Score:
    """Score a completed instrument.

    ``instrument`` is an id such as ``"phq9"`` (or an :class:`Instrument`); ``answers`` are the item values in
    questionnaire order or a mapping by item id (``None`` or absent = unanswered). Policy-dependent flags (PCL-5
    cut-point, discharge readiness) use ``policy`` (default: the guideline defaults). Invalid answers raise
    ``ValueError`` naming the item and its allowed values; nothing is clamped or guessed.
    """
    definition = instrument if isinstance(instrument, Instrument) else get_instrument(instrument)
    return score_answers(definition, answers, policy=policy)


_QN = re.compile(r"q(\d+)$")


def _span(item_ids: Sequence[str]) -> str:
    """Item ids as text, runs of three or more consecutive numbered items collapsed: ``q1–q9, difficulty``."""
    runs: list[list[str]] = []
    previous = None
    for item_id in item_ids:
        match = _QN.match(item_id)
        number = int(match.group(1)) if match else None
        if runs and number is not None and previous is not None and number == previous + 1:
            runs[-1].append(item_id)
        else:
            runs.append([item_id])
        previous = number
    return ", ".join(f"{run[0]}–{run[-1]}" if len(run) > 2 else ", ".join(run) for run in runs)


def describe_scoring(instrument: Instrument) -> str:
    """The scoring rule in words, generated from the definition (item options, formula, skip logic, range)."""
    groups: list[tuple[list[str], str]] = []
    for item in instrument.items:
        allowed = allowed_values(item)
        if groups and groups[-1][1] == allowed:
            groups[-1][0].append(item.id)
        else:
            groups.append(([item.id], allowed))
    count = len(instrument.items)
    parts = [
        f"{count} item{'s' if count > 1 else ''}: "
        + "; ".join(
            f"{_span(ids)} {'answered' if allowed.startswith('yes') else 'scored'} {allowed}" for ids, allowed in groups
        )
    ]
    unscored = [i.id for i in instrument.items if not i.scored]
    optional = [i.id for i in instrument.items if not i.required and i.scored]
    if unscored:
        parts.append(f"{_span(unscored)} optional and not scored")
    if optional:
        parts.append(f"{_span(optional)} may be left unanswered")
    skip_logic: dict[tuple[str, AnswerValue], list[str]] = {}
    for item in instrument.items:
        if item.asked_when is not None:
            skip_logic.setdefault(item.asked_when, []).append(item.id)
    for (trigger, needed), ids in skip_logic.items():
        parts.append(f"{_span(ids)} asked only when {trigger} is {'yes' if needed is True else needed}")
    for group in instrument.one_of_required:
        parts.append(f"at least one of {' or '.join(group)} answered")
    for limit in instrument.sum_limits:
        parts.append(f"{' + '.join(limit.items)} ≤ {limit.maximum}")
    total_range = instrument.total_range
    if total_range is None:
        parts.append("no total score: the result is the risk tier")
    else:
        terms = [domain[0] if len(domain) == 1 else f"max({_span(domain)})" for domain in instrument.scoring_domains]
        formula = " + ".join(terms) if instrument.domains or len(terms) == 1 else f"sum of {_span(terms)}"
        parts.append(f"total = {formula}, range {total_range[0]}–{total_range[1]}")
    return "; ".join(parts) + "."


def _describe_bands(instrument: Instrument) -> str:
    if instrument.tiers:
        steps = [f"{t.label} if yes to any of {', '.join(t.any_yes)}" for t in instrument.tiers]
        return "Risk tier, first match: " + "; ".join(steps) + f"; otherwise {instrument.tier_default}."
    if not instrument.bands:
        return "No severity band is reported."
    return "Bands: " + "; ".join(f"{b.low}–{b.high} {b.label}" for b in instrument.bands) + "."


def _register(instrument: Instrument) -> None:
    area = "instruments"
    name = instrument.name
    rule(
        f"{instrument.id}.scoring",
        area=area,
        title=f"{name}: scoring",
        statement=describe_scoring(instrument),
        citations=instrument.citations,
        evidence=instrument.scoring_evidence,
        note=instrument.scoring_note,
    )
    if instrument.bands or instrument.tiers or instrument.band_note:
        rule(
            f"{instrument.id}.bands",
            area=area,
            title=f"{name}: {'risk tiers' if instrument.tiers else 'severity bands'}",
            statement=_describe_bands(instrument),
            citations=instrument.band_citations,
            evidence=instrument.band_evidence,
            note=instrument.band_note,
        )
    if instrument.subscales:
        rule(
            f"{instrument.id}.subscores",
            area=area,
            title=f"{name}: subscores",
            statement="Subscores (sums): "
            + "; ".join(f"{label} = {_span(items)}" for label, items in instrument.subscales)
            + ".",
            citations=instrument.subscale_citations,
            evidence=instrument.subscale_evidence,
        )
    for flag in instrument.flags:
        rule(
            f"{instrument.id}.flag.{flag.name}",
            area=area,
            title=flag.title,
            statement=flag.statement,
            citations=flag.citations,
            evidence=flag.evidence,
            note=flag.note,
        )
    rule(
        f"{instrument.id}.licence",
        area=area,
        title=f"{name}: licence and item text",
        statement=f"{instrument.licence} Item text shipped: {'yes' if instrument.item_text_shippable else 'no'}.",
        citations=instrument.licence_citations,
        evidence=instrument.licence_evidence,
    )


for _instrument in INSTRUMENTS.values():
    _register(_instrument)
