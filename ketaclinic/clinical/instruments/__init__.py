"""Rating instruments: definitions as data, one validating scorer, and their rules in the catalogue.

``score("phq9", [3, 3, 2, 2, 1, 1, 0, 0, 1])`` returns a :class:`Score` with total, band, flags and subscores.
Every instrument is an :class:`Instrument` in :data:`INSTRUMENTS`; their scoring, bands, flags and licences are
registered as catalogue rules when this package is imported.
"""

from ketaclinic.clinical.instruments.item_text import load_item_text
from ketaclinic.clinical.instruments.model import (
    Anchor,
    AnswerValue,
    Band,
    Flag,
    FlagContext,
    Instrument,
    Item,
    Respondent,
    Score,
    SumLimit,
    Tier,
)
from ketaclinic.clinical.instruments.registry import INSTRUMENTS, describe_scoring, get_instrument, score
from ketaclinic.clinical.instruments.scoring import allowed_values, validate_answers
from ketaclinic.clinical.instruments.session import CADSS6_SOURCE_ITEMS, cadss6_from_cadss

__all__ = [
    "CADSS6_SOURCE_ITEMS",
    "INSTRUMENTS",
    "Anchor",
    "AnswerValue",
    "Band",
    "Flag",
    "FlagContext",
    "Instrument",
    "Item",
    "Respondent",
    "Score",
    "SumLimit",
    "Tier",
    "allowed_values",
    "cadss6_from_cadss",
    "describe_scoring",
    "get_instrument",
    "load_item_text",
    "score",
    "validate_answers",
]
