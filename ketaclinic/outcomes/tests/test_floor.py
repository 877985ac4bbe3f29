"""The dashboard's figures (SQL over the rollups) equal the floor's (plain SQL over the clinical tables)."""

from __future__ import annotations

import datetime as dt

import pytest

from ketaclinic.outcomes import synthetic
from ketaclinic.outcomes.figures import Filters, dashboard_figures
from ketaclinic.outcomes.floor import django_runner, floor_figures
from ketaclinic.outcomes.tests.conftest import all_time

pytestmark = pytest.mark.django_db


def floor(filters: Filters):
    run, dialect = django_runner()
    return floor_figures(run, dialect, filters)


def test_it_matches_the_floor_over_all_time(network: synthetic.Network) -> None:
    filters = all_time(network)
    figures = dashboard_figures(filters)
    assert figures == floor(filters)
    # The network is not trivial: every kind of figure has something in it.
    assert figures.patients_treated == 100
    assert figures.sessions == network.sessions
    assert 0 < figures.remitters < figures.responders < figures.evaluable < figures.courses
    assert figures.losses > 0
    assert figures.alerts > 0 and figures.adverse_events > 0
    assert {row.dose_unit for row in figures.dissociation} == {"mg", "mg/kg"}
    # Each course on its own measure: depression on the PHQ-9, anxiety on the GAD-7, PTSD on none.
    by_instrument = dict(figures.evaluable_by_instrument)
    assert by_instrument["phq9"] > 0 and by_instrument["gad7"] > 0
    assert sum(by_instrument.values()) == figures.evaluable
    assert figures.without_measure > 0


def test_it_judges_anxiety_courses_on_the_gad7_as_the_floor_does(network: synthetic.Network) -> None:
    filters = all_time(network, indication="anxiety")
    figures = dashboard_figures(filters)
    assert figures == floor(filters)
    assert figures.evaluable_by_instrument == (("gad7", figures.evaluable), ("phq9", 0))
    assert 0 < figures.responders <= figures.evaluable <= figures.courses
    assert figures.responded > 0 and figures.without_measure == 0


def test_it_counts_ptsd_courses_as_not_evaluable_as_the_floor_does(network: synthetic.Network) -> None:
    filters = all_time(network, indication="ptsd")
    figures = dashboard_figures(filters)
    assert figures == floor(filters)
    assert figures.courses > 0 and figures.without_measure == figures.courses
    assert (figures.evaluable, figures.responders, figures.responded, figures.km_groups) == (0, 0, 0, ())
    assert figures.sessions > 0  # their sessions still count


@pytest.mark.parametrize(
    "fields",
    [
        {"protocol": "esketamine_trd"},
        {"route": "iv"},
        {"indication": "trd"},
        {"indication": "anxiety"},
        {"route": "iv", "indication": "ptsd"},
    ],
)
def test_it_matches_the_floor_with_filters(network: synthetic.Network, fields: dict[str, str]) -> None:
    filters = all_time(network, **fields)
    figures = dashboard_figures(filters)
    assert figures == floor(filters)
    assert figures.courses > 0


def test_it_matches_the_floor_for_one_site_and_a_date_range(network: synthetic.Network) -> None:
    site = network.sites[1]
    filters = Filters(dt.datetime(2025, 6, 1, tzinfo=dt.UTC), dt.datetime(2026, 1, 1, tzinfo=dt.UTC), (site.pk,))
    figures = dashboard_figures(filters)
    assert figures == floor(filters)
    assert 0 < figures.courses < 50
    assert figures.sessions < network.sessions / 2
