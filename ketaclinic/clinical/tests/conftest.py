"""Shared fixtures for the clinical-rule tests: the reference vectors shipped with the repository."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import settings

# Property tests are deterministic (the same examples every run) and never fail on wall-clock deadlines.
settings.register_profile("ketaclinic", derandomize=True, deadline=None, print_blob=True)
settings.load_profile("ketaclinic")

VECTORS_FILE = Path(__file__).with_name("vectors.json")


def reference_vectors(call: str) -> list[dict[str, Any]]:
    """The reference vectors for one API call (``score``, ``classify_change``, ``dose``, ``predose_check``)."""
    data = json.loads(VECTORS_FILE.read_text(encoding="utf-8"))
    return [v for v in data["vectors"] if v["call"] == call]
