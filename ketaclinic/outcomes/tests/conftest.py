"""A small seeded synthetic network (the benchmark's generator at 1/50 scale) with its rollups built."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from ketaclinic.conftest import Cast
from ketaclinic.outcomes import rollup, synthetic
from ketaclinic.outcomes.figures import Filters

#: The whole span the generator covers (courses start over 600 days from 6 January 2025, then follow-up).
ALL_TIME = (dt.datetime(2024, 1, 1, tzinfo=dt.UTC), dt.datetime(2028, 1, 1, tzinfo=dt.UTC))


@pytest.fixture
def network(cast: Cast) -> synthetic.Network:
    """100 patients at the cast's two sites, rollups rebuilt."""
    built = synthetic.generate(scale=0.02, seed=7, sites=[cast.site_a, cast.site_b], tag="t")
    rollup.rebuild_all()
    return built


def all_time(network: synthetic.Network, **fields: Any) -> Filters:
    return Filters(ALL_TIME[0], ALL_TIME[1], tuple(s.pk for s in network.sites), **fields)
