"""The in-session vital-signs chart: what it draws and where; its fast paths draw what plain arithmetic does."""

from __future__ import annotations

import random
import re

from ketaclinic.dosing import svg
from ketaclinic.dosing.svg import MAX_DOTS, Point, vitals_chart

TICKS = [(0, "done", "Pre-dose"), (40, "overdue", "40 min <check>"), (120, "upcoming", "Before discharge")]


def session(count: int, *, seed: int = 7) -> list[Point]:
    rng = random.Random(seed)
    return [
        Point(
            -0.75 + k * 0.25,
            rng.randint(95, 190),
            rng.randint(55, 110),
            rng.randint(50, 130),
            rng.randint(86, 100),
            None if k % 5 == 0 else rng.randint(8, 24),
        )
        for k in range(count)
    ]


def polyline(chart: str, series: str) -> list[tuple[float, float]]:
    found = re.search(rf'class="series-{series}" points="([^"]*)"', chart)
    assert found, series
    return [tuple(map(float, pair.split(","))) for pair in found.group(1).split()]  # type: ignore[misc]


def test_every_reading_of_a_two_hour_session_is_drawn_on_each_line() -> None:
    points = session(480)
    chart = vitals_chart(points, baseline=(120, 80), ticks=TICKS, alerts=[], end_minute=120)
    assert len(polyline(chart, "systolic")) == len(polyline(chart, "spo2")) == 480
    assert len(polyline(chart, "resp_rate")) == sum(p.resp_rate is not None for p in points)  # gaps are skipped
    assert "<circle" not in chart  # too many points for dots
    assert "480 sets recorded" in chart


def test_the_lines_sit_where_the_plain_arithmetic_puts_them() -> None:
    points = session(120, seed=11)
    chart = vitals_chart(points, baseline=None, ticks=TICKS, alerts=[], end_minute=120)
    x_lo = min(-10.0, *(p.minute for p in points), *(t[0] for t in TICKS))
    x_hi = max(120 + 5, *(p.minute + 5 for p in points), *(t[0] + 5 for t in TICKS))

    def x(minute: float) -> float:
        return round(svg.LEFT + (minute - x_lo) / (x_hi - x_lo) * (svg.WIDTH - svg.LEFT - svg.RIGHT), 1)

    def y(value: float, lo: float, hi: float, y0: float, y1: float) -> float:
        return round(y1 - (min(max(value, lo), hi) - lo) / (hi - lo) * (y1 - y0), 1)

    assert polyline(chart, "systolic") == [(x(p.minute), y(p.systolic, 20, 220, 16, 216)) for p in points]
    assert polyline(chart, "spo2") == [(x(p.minute), y(p.spo2, 80, 100, 236, 300)) for p in points]


def test_whole_numbers_as_floats_and_out_of_table_values_draw_the_same() -> None:
    points = session(30, seed=3)
    as_floats = [
        Point(p.minute, float(p.systolic), float(p.diastolic), float(p.heart_rate), float(p.spo2), p.resp_rate)
        for p in points
    ]
    args = {"baseline": (118, 76), "ticks": TICKS, "alerts": [(25.0, "warning", "BP <high>")], "end_minute": 120}
    assert vitals_chart(points, **args) == vitals_chart(as_floats, **args)  # type: ignore[arg-type]
    band = svg._TOP
    for value in (-5, 0, 19, 20, 120, 120.0, 120.5, 219.9, 220, 399, 400, 1000):
        assert band.ys([value]) == [f"{svg._scale(float(value), 20.0, 220.0, 16, 216):.1f}"]
    assert band.ys([220])[0] == "16.0" and band.ys([20])[0] == band.ys([-5])[0] == "216.0"  # clamped to the band


def test_few_readings_get_dots_and_texts_are_escaped() -> None:
    points = session(3)
    chart = vitals_chart(
        points, baseline=(120, 80), ticks=TICKS, alerts=[(25.0, "urgent", "SpO2 <90 & falling")], end_minute=120
    )
    assert chart.count("<circle") == 3 * 3 + 2  # systolic, diastolic, heart rate; resp rate misses the first
    assert MAX_DOTS >= 3
    assert "SpO2 &lt;90 &amp; falling" in chart and "40 min &lt;check&gt;" in chart and "<check>" not in chart
    assert 'class="tick tick-overdue"' in chart and "Baseline systolic 120 mmHg" in chart
    assert "Latest: " in chart and "No vital signs yet." in vitals_chart(
        [], baseline=None, ticks=[], alerts=[], end_minute=60
    )
