"""Every ``score`` and ``classify_change`` reference vector, through the public package API."""

from __future__ import annotations

from typing import Any

import pytest

from ketaclinic import clinical
from ketaclinic.clinical.tests.conftest import reference_vectors


@pytest.mark.parametrize("vector", reference_vectors("score"), ids=lambda v: v["id"])
def test_it_scores_the_reference_vector(vector: dict[str, Any]) -> None:
    result = clinical.score(vector["instrument"], vector["answers"])
    expect = vector["expect"]
    if "total" in expect:
        assert result.total == expect["total"]
    if "band" in expect:
        assert result.band == expect["band"]
    assert set(expect.get("flags_include", ())) <= result.flags
    assert not set(expect.get("flags_exclude", ())) & result.flags


@pytest.mark.parametrize("vector", reference_vectors("classify_change"), ids=lambda v: v["id"])
def test_it_classifies_the_reference_change(vector: dict[str, Any]) -> None:
    change = clinical.classify_change(
        vector["instrument"],
        vector["baseline"],
        vector["current"],
        remission_threshold=vector.get("remission_threshold"),
    )
    for key, expected in vector["expect"].items():
        assert getattr(change, key) == expected, key


def test_it_covers_every_vector_kind_it_owns() -> None:
    assert len(reference_vectors("score")) >= 20
    assert len(reference_vectors("classify_change")) >= 7
