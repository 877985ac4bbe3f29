"""The monitoring panel's rows built in Python: what the nurse reads, escaped, in the site's time zone."""

from __future__ import annotations

import datetime as dt

import pytest
from django.template import Context, Template

from ketaclinic.clinical import Due, TimepointState, TimepointStatus
from ketaclinic.clinical.monitoring import Timepoint
from ketaclinic.clinical.sources import Evidence
from ketaclinic.dosing.monitoring_markup import phq9_strip, readings_rows, rounded, timepoint_items
from ketaclinic.dosing.monitoring_panel import Reading

UTC = dt.UTC
AT = dt.datetime(2026, 3, 8, 15, 4, 5, tzinfo=UTC)  # 10:04:05 in Chicago: daylight time began at 02:00 that morning


@pytest.mark.parametrize("value", [0.0, 0.4, 0.5, 1.5, 2.5, 2.49, -0.4, -0.5, -2.5, 44.99, 120.5, None])
def test_rounding_matches_the_floatformat_filter_it_replaces(value: float | None) -> None:
    expected = Template("{{ v|floatformat:0 }}").render(Context({"v": value}))
    assert rounded(value) == expected


def reading(**overrides: object) -> Reading:
    values: dict = {
        "id": 1, "at": AT, "systolic_mmhg": 172, "diastolic_mmhg": 104, "heart_rate_bpm": 88, "spo2_pct": 97,
        "resp_rate_per_min": 16, "timepoint_min": 40, "is_baseline": False, "source": "monitor", "minute": 40.4,
    }  # fmt: skip
    values.update(overrides)
    return Reading(**values)


def test_a_reading_row_shows_local_time_minute_values_and_timepoint() -> None:
    html = readings_rows([reading()], "America/Chicago")
    assert html == (
        "<tr><td>10:04:05</td><td>40</td><td>172/104</td><td>88</td><td>97</td><td>16</td><td>40 min</td>"
        "<td>monitor</td></tr>"
    )


def test_missing_respiratory_rate_and_timepoint_read_as_a_dash_and_blank() -> None:
    html = readings_rows([reading(resp_rate_per_min=None, timepoint_min=None, minute=None)], "UTC")
    assert "<td>15:04:05</td><td></td>" in html
    assert "<td>—</td><td></td><td>monitor</td>" in html


def test_rows_keep_the_given_order_and_escape_the_source() -> None:
    later = reading(id=2, at=AT + dt.timedelta(seconds=15), source="<script>x</script>")
    html = readings_rows([later, reading()], "UTC")
    assert html.index("15:04:20") < html.index("15:04:05")
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_the_phq9_strip_lists_local_dates_totals_and_bands() -> None:
    points = [(AT - dt.timedelta(days=30), 19.0, "moderately severe"), (AT, 7.0, 'mild "<b>"')]
    html = phq9_strip(points, "Pacific/Auckland")  # already 9 March there
    assert html == (
        '<span class="phq9" title="moderately severe">Feb 7: 19</span> · '
        '<span class="phq9" title="mild &quot;&lt;b&gt;&quot;">Mar 9: 7</span>'
    )
    assert phq9_strip([], "UTC") == "none recorded"


def test_timepoints_show_state_due_missing_and_lateness() -> None:
    forty = Timepoint(40, frozenset({Due.CADSS, Due.VITALS}), "BP peak", (), Evidence.BEST_KNOWLEDGE)
    hundred_twenty = Timepoint(120, frozenset({Due.VITALS}), "Before discharge", (), Evidence.BEST_KNOWLEDGE)
    zero = Timepoint(0, frozenset({Due.VITALS}), "Pre-dose", (), Evidence.BEST_KNOWLEDGE)
    html = timepoint_items(
        [
            TimepointStatus(zero, TimepointState.DONE, frozenset()),
            TimepointStatus(forty, TimepointState.OVERDUE, frozenset({Due.VITALS, Due.CADSS}), overdue_by_min=12.5),
            TimepointStatus(hundred_twenty, TimepointState.UPCOMING, frozenset({Due.VITALS})),
        ]
    )
    assert (
        '<li class="tp tp-done"><span class="badge ok">done</span> <strong>0 min</strong> · Pre-dose · vitals' in html
    )
    assert (
        '<li class="tp tp-overdue"><span class="badge danger">overdue</span> <strong>40 min</strong> · BP peak · '
        'vitals + cadss <span class="missing">missing: vitals, cadss</span>'
        '<span class="overdue-by">13 min late</span></li>'
    ) in html
    upcoming = html[html.index("tp-upcoming") :]
    assert "missing" not in upcoming and "late" not in upcoming


SCALES_TEMPLATE = (
    '{% load tz %}{% timezone zone %}{% for o in scales %}<li>{{ o.at|date:"H:i" }} · {{ o.label }} '
    '<strong>{{ o.total|floatformat:"-1" }}</strong>{% if o.band %} ({{ o.band }}){% endif %}'
    "{% if o.timepoint_min is not None %} · {{ o.timepoint_min }}-min timepoint{% endif %}</li>{% endfor %}"
    "{% endtimezone %}"
)  # what the panel's template did before scale_items


@pytest.mark.parametrize("total", [0.0, 3.0, 24.0, 2.5, 2.25, 2.35, 17.04, 91.96])
def test_scale_items_show_what_the_template_showed(total: float) -> None:
    from ketaclinic.dosing.monitoring_markup import one_decimal, scale_items
    from ketaclinic.dosing.monitoring_panel import Scale

    scales = [
        Scale(1, AT, "moaas", total, "", 40),
        Scale(2, AT + dt.timedelta(hours=9), "cadss6", total, "mild <dissociation> & more", None),
        Scale(3, AT - dt.timedelta(hours=9), "aldrete", total, "ready", 120),
    ]
    for zone in ("America/Chicago", "Europe/London", "UTC"):
        expected = Template(SCALES_TEMPLATE).render(Context({"scales": scales, "zone": zone}))
        assert scale_items(scales, zone) == expected
    assert one_decimal(total) == Template('{{ v|floatformat:"-1" }}').render(Context({"v": total}))
    assert "&lt;dissociation&gt; &amp; more" in scale_items(scales, "UTC")


def test_timepoint_labels_are_escaped() -> None:
    odd = Timepoint(15, frozenset({Due.MOAAS}), 'MOAA/S "quick" <check> & note', (), Evidence.BEST_KNOWLEDGE)
    html = timepoint_items([TimepointStatus(odd, TimepointState.DUE, frozenset({Due.MOAAS}))])
    assert "MOAA/S &quot;quick&quot; &lt;check&gt; &amp; note" in html and "<check>" not in html
    assert '<span class="badge warn">due</span> <strong>15 min</strong>' in html
