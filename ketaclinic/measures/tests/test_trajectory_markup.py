"""The trajectory figures and the C-SSRS list built in Python: the same markup as the templates they replace (kept
here as the reference), every text escaped, times in the site's time zone, the percentage rounded as
``floatformat:0`` rounded it."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.template import Context, Template
from django.utils.safestring import SafeString, mark_safe

from ketaclinic import clinical
from ketaclinic.measures.models import QuestionnaireResponse
from ketaclinic.measures.trajectory import InstrumentTrajectory, Point, _build
from ketaclinic.measures.trajectory_markup import chart_figure, rounded, screen_items

# The templates these builders replace, as they were (measures/_chart.html; the screens loop of trajectory.html),
# each inside the {% timezone %} block its page wrapped it in.
CHART_TEMPLATE = """{% load tz %}{% timezone zone %}<figure class="score-chart" id="chart-{{ series.id }}">
  <figcaption><strong><a href="{% url 'measures:instrument' patient.pk series.id %}">{{ series.instrument.name }}</a></strong>
  {% if series.status %}<span class="badge {{ series.badge }}" data-status="{{ series.status.value }}">{{ series.status.value|capfirst }}</span>{% endif %}
  · latest <strong data-latest>{{ series.latest.score }}</strong> ({{ series.latest.at|date:"Y-m-d" }})
  {% if series.baseline %}· baseline {{ series.baseline.score }}{% endif %}
  {% if series.since_baseline is not None %}· since baseline {{ series.since_baseline|stringformat:"+d" }}{% if series.since_baseline_pct is not None %} ({{ series.since_baseline_pct|floatformat:0 }} % reduction){% endif %}{% endif %}
  {% if series.since_last_session is not None %}· since last session {{ series.since_last_session|stringformat:"+d" }}{% endif %}
  </figcaption>
  {{ svg }}
  {% if series.trajectory %}<p class="help">{{ series.trajectory.reason }}</p>{% endif %}
  {% for note in series.notes %}<p class="help">{{ note }}</p>{% endfor %}
</figure>
{% endtimezone %}"""  # noqa: E501 - the template's own lines
SCREENS_TEMPLATE = """{% load tz %}{% timezone zone %}{% for r in screens %}<li>{{ r.completed_at|date:"Y-m-d H:i" }} · {{ r.instrument }} · <span class="badge{% if r.is_positive_suicide_screen %} danger{% else %} ok{% endif %}">{{ r.band|default:"none" }}</span></li>{% endfor %}{% endtimezone %}"""  # noqa: E501

UTC = dt.UTC
# 04:30 UTC on 8 March 2026 is still 7 March in Chicago and already the evening of 8 March in Auckland; daylight
# time began in Chicago at 02:00 local that morning.
AT = dt.datetime(2026, 3, 8, 4, 30, tzinfo=UTC)
DAY = dt.timedelta(days=1)
ZONES = ["UTC", "America/Chicago", "Pacific/Auckland", "Asia/Kathmandu"]
SVG = mark_safe('<svg role="img"><title>PHQ-9 over time</title></svg>')
HOSTILE = "<script>alert(\"x\")</script> & 'quoted'"


class _Patient:
    pk = 42


def expected_figure(series: InstrumentTrajectory, svg: Any, zone: str) -> str:
    return Template(CHART_TEMPLATE).render(Context({"series": series, "svg": svg, "patient": _Patient(), "zone": zone}))


def series_of(scores: list[int], *, instrument: str = "phq9", sessions: int = 3, first_session: int = 1) -> Any:
    points = [Point(AT + n * 2 * DAY, score, n + 1, "patient") for n, score in enumerate(scores)]
    starts = [AT + (first_session + 2 * n) * DAY + dt.timedelta(hours=1) for n in range(sessions)]
    return _build(clinical.get_instrument(instrument), points, starts, None, lambda: clinical.DEFAULT_POLICY)


CASES = {
    "responder": series_of([20, 14, 9, 8, 6]),
    "non-responder": series_of([15, 15, 14, 16]),
    "remitter on GAD-7": series_of([12, 8, 3, 2], instrument="gad7"),
    "no score before session 1": series_of([18, 10, 7], first_session=-1),
    "one score": series_of([9], sessions=0),
    "zero baseline": series_of([0, 3, 5]),
    "worse than baseline": series_of([1, 27, 27]),
    "no status (MADRS without later scores)": series_of([30], instrument="madrs"),
}


@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize("case", list(CASES))
def test_a_figure_is_the_markup_the_template_made(case: str, zone: str) -> None:
    series = CASES[case]
    assert chart_figure(series, SVG, patient_id=42, zone=ZoneInfo(zone)) == expected_figure(series, SVG, zone)


def test_every_text_is_escaped_as_the_template_escaped_it() -> None:
    series = dataclasses.replace(
        CASES["responder"], notes=[HOSTILE, "plain <b>note</b>"], instrument=clinical.get_instrument("phq9")
    )
    series.instrument = dataclasses.replace(series.instrument, name=HOSTILE)
    assert series.trajectory is not None
    series.trajectory = dataclasses.replace(series.trajectory, reason=HOSTILE)
    html = chart_figure(series, SVG, patient_id=42, zone=ZoneInfo("UTC"))
    assert html == expected_figure(series, SVG, "UTC")
    assert "<script>" not in html and html.count("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#x27;") == 3
    assert "plain &lt;b&gt;note&lt;/b&gt;" in html


def test_the_chart_is_placed_as_it_is_and_a_plain_string_escaped() -> None:
    series = CASES["responder"]
    html = chart_figure(series, SVG, patient_id=42, zone=ZoneInfo("UTC"))
    assert isinstance(html, SafeString) and str(SVG) in html
    unsafe = "<svg>not marked safe</svg>"
    plain = chart_figure(series, unsafe, patient_id=42, zone=ZoneInfo("UTC"))  # type: ignore[arg-type]
    assert plain == expected_figure(series, unsafe, "UTC") and "&lt;svg&gt;" in plain


def test_the_latest_date_is_the_local_date_of_the_site() -> None:
    series = series_of([9], sessions=0)  # one score, at AT
    assert "(2026-03-07)" in chart_figure(series, SVG, patient_id=42, zone=ZoneInfo("America/Chicago"))
    assert "(2026-03-08)" in chart_figure(series, SVG, patient_id=42, zone=ZoneInfo("Pacific/Auckland"))


@pytest.mark.parametrize(
    "value", [0.0, 0.4, 0.5, 1.5, 2.5, 12.5, -0.4, -0.5, -2.5, 49.99999999999999, 0.49999999999999994, -2600.0, 100.0]
)
def test_rounding_matches_the_floatformat_filter_it_replaces(value: float) -> None:
    assert rounded(value) == Template("{{ v|floatformat:0 }}").render(Context({"v": value}))


def test_rounding_matches_floatformat_for_every_change_a_scale_can_show() -> None:
    template = Template("{{ v|floatformat:0 }}")
    for baseline in range(1, 61):
        for latest in range(0, 61):
            value = (baseline - latest) / baseline * 100  # as _build computes since_baseline_pct
            assert rounded(value) == template.render(Context({"v": value})), (baseline, latest)


def screen(at: dt.datetime, *, band: str, flags: list[str], instrument: str = "cssrs_screener") -> Any:
    return QuestionnaireResponse(instrument=instrument, completed_at=at, band=band, flags=flags, total=None)


@pytest.mark.parametrize("zone", ZONES)
def test_screens_are_the_markup_the_template_made(zone: str) -> None:
    screens = [
        screen(AT, band="low", flags=[]),
        screen(AT + DAY, band="high", flags=["cssrs_risk_high"]),
        screen(AT + 2 * DAY, band="", flags=["suicidal_ideation"]),
        screen(AT + 3 * DAY, band="", flags=[]),
        screen(AT + 4 * DAY, band=HOSTILE, flags=[], instrument="<i>x</i>"),
    ]
    expected = Template(SCREENS_TEMPLATE).render(Context({"screens": screens, "zone": zone}))
    html = screen_items(screens, ZoneInfo(zone))
    assert html == expected
    assert html.count('class="badge danger"') == 2 and html.count(">none</span>") == 2
    assert "<script>" not in html and "&lt;i&gt;x&lt;/i&gt;" in html


def test_screens_show_the_local_minute() -> None:
    html = screen_items([screen(AT, band="low", flags=[])], ZoneInfo("Asia/Kathmandu"))  # UTC+05:45
    assert html.startswith("<li>2026-03-08 10:15 · cssrs_screener · ")
    assert screen_items([], ZoneInfo("UTC")) == ""
