"""Loading licensed item wording that the project may not ship.

For instruments whose licence forbids redistribution (MADRS, Y-BOCS, C-SSRS, …) the code carries only item ids and
neutral labels. A clinic holding a licence keeps the wording in a JSON file ``{"q1": "…", "q2": "…"}`` (optionally
with an ``"instructions"`` entry) and loads it here; the file is checked against the instrument's items so a
questionnaire can never be shown with a question missing or mislabelled.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

from ketaclinic.clinical.instruments.registry import get_instrument

INSTRUCTIONS_KEY = "instructions"


def load_item_text(instrument_id: str, path: str | Path) -> Mapping[str, str]:
    """The clinic-licensed wording for ``instrument_id`` read from the JSON file at ``path``, by item id.

    Guarantees every item of the instrument has non-empty text and no unknown key is present; otherwise raises
    ``ValueError`` naming the file and the offending item ids. A missing file raises ``FileNotFoundError``.
    """
    instrument = get_instrument(instrument_id)
    source = Path(path)
    try:
        data = json.loads(source.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ValueError(f"{source}: not valid JSON ({error.msg} at line {error.lineno})") from None
    if not isinstance(data, dict):
        raise ValueError(f"{source}: expected a JSON object mapping item ids to text")
    allowed = set(instrument.item_ids) | {INSTRUCTIONS_KEY}
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ValueError(
            f"{source}: unknown item ids for {instrument.id}: {', '.join(unknown)}; "
            f"the items are {', '.join(instrument.item_ids)}"
        )
    missing = [item_id for item_id in instrument.item_ids if item_id not in data]
    if missing:
        raise ValueError(f"{source}: no text for {instrument.id} items {', '.join(missing)}")
    blank = [key for key, text in data.items() if not isinstance(text, str) or not text.strip()]
    if blank:
        raise ValueError(f"{source}: the text for {', '.join(blank)} must be a non-empty string")
    return MappingProxyType({key: data[key] for key in (*instrument.item_ids, INSTRUCTIONS_KEY) if key in data})
