"""The shape of a rating instrument and of its score.

An instrument is data: its items with their allowed answers, how the total is formed, its severity bands, its
flags, its LOINC codes, its licence and its sources. One generic scorer (:mod:`.scoring`) reads that data, so adding
an instrument never means writing a new scoring function, and the rule catalogue is generated from the same data.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property

from ketaclinic.clinical.policy import ClinicPolicy
from ketaclinic.clinical.sources import Citation, Evidence

#: An answer to one item: a whole number for rated items, ``True``/``False`` for yes/no items.
AnswerValue = int | bool


class Respondent(StrEnum):
    """Who fills the instrument in: the patient (self-report, e.g. in the portal) or a clinician (rating/interview)."""

    PATIENT = "patient"
    CLINICIAN = "clinician"


@dataclass(frozen=True)
class Anchor:
    """The label of one allowed answer, with its LOINC answer code where one is published."""

    value: AnswerValue
    label: str
    loinc: str | None = None


@dataclass(frozen=True, kw_only=True)
class Item:
    """One question or rating.

    ``options`` are the only values accepted (never clamped). ``text`` is the published wording and is set only
    where the licence lets us ship it; otherwise ``label`` is a short neutral name and clinics load their licensed
    wording with :func:`~ketaclinic.clinical.instruments.load_item_text`. ``asked_when`` encodes skip logic: the item
    is asked only when another item has the given answer, and must be left unanswered otherwise.
    """

    id: str
    label: str
    options: tuple[AnswerValue, ...]
    text: str | None = None
    anchors: tuple[Anchor, ...] = ()
    loinc: str | None = None
    required: bool = True
    scored: bool = True
    asked_when: tuple[str, AnswerValue] | None = None

    @property
    def yes_no(self) -> bool:
        """True for a yes/no item (answers are ``True``/``False``, not numbers)."""
        return all(isinstance(o, bool) for o in self.options)


@dataclass(frozen=True)
class Band:
    """A severity band: totals from ``low`` to ``high`` inclusive carry ``label`` (lower-case)."""

    low: int
    high: int
    label: str


@dataclass(frozen=True)
class Tier:
    """A category reached when any of ``any_yes`` is answered yes; tiers are checked from the first (most severe)."""

    label: str
    any_yes: tuple[str, ...]


@dataclass(frozen=True)
class SumLimit:
    """Items whose answers together may not exceed ``maximum`` (e.g. day counts sharing one 3-month window)."""

    items: tuple[str, ...]
    maximum: int
    reason: str


@dataclass(frozen=True)
class FlagContext:
    """What a flag test sees: the validated answers and the derived total, band and subscores."""

    answers: Mapping[str, AnswerValue]
    total: int | None
    band: str | None
    subscores: Mapping[str, int]
    policy: ClinicPolicy


@dataclass(frozen=True, kw_only=True)
class Flag:
    """A clinically actionable finding raised on a score (e.g. ``suicidal_ideation``), with its rule and sources."""

    name: str
    title: str
    statement: str
    test: Callable[[FlagContext], bool]
    citations: tuple[Citation, ...]
    evidence: Evidence = Evidence.PUBLISHED
    note: str = ""


@dataclass(frozen=True, kw_only=True)
class Instrument:
    """A rating instrument defined as data.

    Scoring: the total is the sum over ``domains`` of the highest answer within each domain; an empty ``domains``
    means every scored item is its own domain (a plain sum). Yes/no instruments (the C-SSRS screener) have no total;
    their ``tiers`` give the band instead. ``bands`` cover the whole total range without gaps.
    """

    id: str
    name: str
    respondent: Respondent
    recall: str
    items: tuple[Item, ...]
    citations: tuple[Citation, ...]
    licence: str
    item_text_shippable: bool
    licence_citations: tuple[Citation, ...]
    licence_evidence: Evidence = Evidence.PUBLISHED
    scoring_evidence: Evidence = Evidence.PUBLISHED
    scoring_note: str = ""
    domains: tuple[tuple[str, ...], ...] = ()
    bands: tuple[Band, ...] = ()
    band_citations: tuple[Citation, ...] = ()
    band_evidence: Evidence = Evidence.PUBLISHED
    band_note: str = ""
    tiers: tuple[Tier, ...] = ()
    tier_default: str = ""
    subscales: tuple[tuple[str, tuple[str, ...]], ...] = ()
    subscale_citations: tuple[Citation, ...] = ()
    subscale_evidence: Evidence = Evidence.PUBLISHED
    flags: tuple[Flag, ...] = ()
    one_of_required: tuple[tuple[str, ...], ...] = ()
    sum_limits: tuple[SumLimit, ...] = ()
    escalating_flag: str | None = None
    higher_is_worse: bool = True
    loinc_panel: str | None = None
    loinc_total: str | None = None
    loinc_band: str | None = None
    instructions: str | None = None

    @property
    def item_ids(self) -> tuple[str, ...]:
        """Item ids in questionnaire order."""
        return tuple(i.id for i in self.items)

    def item(self, item_id: str) -> Item:
        """The item with ``item_id``; ``KeyError`` if there is none."""
        for candidate in self.items:
            if candidate.id == item_id:
                return candidate
        raise KeyError(item_id)

    @property
    def scoring_domains(self) -> tuple[tuple[str, ...], ...]:
        """The domains the total is summed over (each scored item alone when ``domains`` is empty)."""
        if self.domains:
            return self.domains
        return tuple((i.id,) for i in self.items if i.scored)

    @cached_property
    def total_range(self) -> tuple[int, int] | None:
        """Lowest and highest possible total, honouring ``sum_limits``; ``None`` for instruments without a total.

        Cached on the (frozen) instance: scoring and every change classification ask for it, dozens of times per
        trajectory page.
        """
        if self.tiers:
            return None
        limited = {item_id: limit for limit in self.sum_limits for item_id in limit.items}
        low = high = 0
        for domain in self.scoring_domains:
            options = [o for item_id in domain for o in self.item(item_id).options]
            low += min(options)
            if domain[0] not in limited:
                high += max(options)
        # Day counts that share one window can together reach only the window's length.
        for limit in self.sum_limits:
            high += min(limit.maximum, sum(int(max(self.item(i).options)) for i in limit.items))
        return low, high


@dataclass(frozen=True)
class Score:
    """The scored result of one completed instrument.

    ``answers`` holds the validated answers by item id in questionnaire order (items left unanswered, such as those
    skipped by skip logic, are absent). ``total`` is ``None`` for instruments without a summed score (the C-SSRS
    screener, whose result is its risk tier in ``band``). ``band`` is the plain band of the total;
    ``recommended_band`` is the band to act on, which differs only where the instrument's guidance escalates (AUDIT).
    """

    instrument: str
    total: int | None
    band: str | None
    recommended_band: str | None
    flags: frozenset[str]
    subscores: Mapping[str, int] = field(default_factory=dict)
    answers: Mapping[str, AnswerValue] = field(default_factory=dict)
