"""Every ``dose`` and ``predose_check`` reference vector passes."""

from __future__ import annotations

from typing import Any

import pytest

from ketaclinic.clinical.protocols import dose
from ketaclinic.clinical.safety import predose_check
from ketaclinic.clinical.tests.conftest import reference_vectors

DOSE_VECTORS = reference_vectors("dose")
PREDOSE_VECTORS = reference_vectors("predose_check")
_DOSE_ARGS = ("weight_kg", "age_years", "session_number", "jurisdiction")


def test_it_has_vectors_for_both_calls() -> None:
    assert DOSE_VECTORS
    assert PREDOSE_VECTORS


@pytest.mark.parametrize("vector", DOSE_VECTORS, ids=[v["id"] for v in DOSE_VECTORS])
def test_it_doses_each_reference_vector(vector: dict[str, Any]) -> None:
    order = dose(vector["protocol"], **{k: vector[k] for k in _DOSE_ARGS if k in vector})
    for name, expected in vector["expect"].items():
        assert getattr(order, name) == pytest.approx(expected), name


@pytest.mark.parametrize("vector", PREDOSE_VECTORS, ids=[v["id"] for v in PREDOSE_VECTORS])
def test_it_gates_each_reference_vector(vector: dict[str, Any]) -> None:
    decision = predose_check(vector["route"], vector["vitals"])
    assert decision.decision == vector["expect"]["decision"]
