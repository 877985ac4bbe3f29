"""The repository carries a copy of the clinic's reference vectors; it must match the shared original."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ketaclinic.clinical.tests.conftest import VECTORS_FILE

SHARED = Path(__file__).resolve().parents[4] / "shared" / "clinical" / "vectors.json"


def test_it_ships_every_call_kind() -> None:
    data = json.loads(VECTORS_FILE.read_text(encoding="utf-8"))
    assert {v["call"] for v in data["vectors"]} == {"score", "classify_change", "dose", "predose_check"}


@pytest.mark.skipif(not SHARED.exists(), reason="shared/ reference folder not beside this checkout")
def test_it_matches_the_shared_reference() -> None:
    assert json.loads(SHARED.read_text(encoding="utf-8")) == json.loads(VECTORS_FILE.read_text(encoding="utf-8"))
