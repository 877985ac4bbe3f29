"""The in-session vital-signs chart as inline SVG, drawn on the server (no JavaScript, no CDN; prints as it shows).

Two bands share the time axis (minutes since the start of the dose): blood pressure, heart rate and respiratory rate
on top, SpO2 below on its own scale so a fall from 98 to 90 % is visible. Dashed lines mark the baseline blood
pressure; ticks under the axis mark the protocol's timepoints (red when overdue); triangles mark alerts.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from django.utils.safestring import SafeString, mark_safe

from ketaclinic.markup import esc as _e

WIDTH, HEIGHT = 760, 356
LEFT, RIGHT = 44, 16
TOP_Y0, TOP_Y1 = 16, 216  # the top band's pixel range
LOW_Y0, LOW_Y1 = 236, 300  # the SpO2 band
AXIS_Y = 312
TOP_RANGE = (20.0, 220.0)
SPO2_RANGE = (80.0, 100.0)

#: (field, label, colour, dash) of each line; colours pass WCAG contrast on white and differ in dash for print.
SERIES = (
    ("systolic", "Systolic", "#b42318", ""),
    ("diastolic", "Diastolic", "#c4320a", "6 3"),
    ("heart_rate", "Heart rate", "#1d4ed8", ""),
    ("resp_rate", "Resp. rate", "#047857", "2 3"),
)
TICK_COLOUR = {"done": "#067647", "due": "#b54708", "overdue": "#b42318", "missed": "#b42318", "upcoming": "#98a2b3"}
#: Readings are also drawn as dots while there are few of them (a single reading is otherwise invisible).
MAX_DOTS = 60
ALERT_COLOUR = {"urgent": "#b42318", "warning": "#b54708"}


class Point(NamedTuple):
    """One set of readings at ``minute`` (since the dose start; negative before it). A tuple: hundreds per poll.
    Readings are whole numbers, possibly as floats (as PostgreSQL's rows of the panel give them)."""

    minute: float
    systolic: float
    diastolic: float
    heart_rate: float
    spo2: float
    resp_rate: float | None


def _scale(value: float, lo: float, hi: float, y0: float, y1: float) -> float:
    value = min(max(value, lo), hi)
    return y1 - (value - lo) / (hi - lo) * (y1 - y0)


class _Band:
    """A band's y for a reading, formatted: looked up for the whole numbers readings are, computed otherwise."""

    def __init__(self, lo: float, hi: float, y0: float, y1: float) -> None:
        self.bounds = (lo, hi, y0, y1)
        #: Readings 0 … 399 (every plausible vital sign); 120 and 120.0 are the same key.
        self.table: dict[float, str] = {value: self.compute(value) for value in range(400)}

    def compute(self, value: float) -> str:
        return f"{_scale(float(value), *self.bounds):.1f}"

    def ys(self, values: Sequence[float]) -> list[str]:
        ys = list(map(self.table.get, values))
        if None in ys:  # a value off the table (not a whole number, or out of range)
            return [y if y is not None else self.compute(v) for y, v in zip(ys, values, strict=True)]
        return ys  # type: ignore[return-value]  # no None left


_TOP = _Band(*TOP_RANGE, TOP_Y0, TOP_Y1)
_SPO2 = _Band(*SPO2_RANGE, LOW_Y0, LOW_Y1)


def _head() -> str:
    return (
        f'<svg class="vitals-chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="vc-title vc-desc" '
        f'xmlns="http://www.w3.org/2000/svg" font-family="system-ui, sans-serif" font-size="11">'
        '<title id="vc-title">Vital signs over minutes since the start of the dose</title>'
    )


def _grid() -> str:
    out = [
        f'<rect x="{LEFT}" y="{TOP_Y0}" width="{WIDTH - LEFT - RIGHT}" height="{TOP_Y1 - TOP_Y0}" fill="#fff" '
        'stroke="#d0d5dd"/>',
        f'<rect x="{LEFT}" y="{LOW_Y0}" width="{WIDTH - LEFT - RIGHT}" height="{LOW_Y1 - LOW_Y0}" fill="#fff" '
        'stroke="#d0d5dd"/>',
    ]
    for value in range(40, 221, 40):
        y = _scale(value, *TOP_RANGE, TOP_Y0, TOP_Y1)
        out.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eaecf0"/>')
        out.append(f'<text x="{LEFT - 4}" y="{y + 4:.1f}" text-anchor="end" fill="#475467">{value}</text>')
    for value in (80, 90, 100):
        y = _scale(value, *SPO2_RANGE, LOW_Y0, LOW_Y1)
        out.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eaecf0"/>')
        out.append(f'<text x="{LEFT - 4}" y="{y + 4:.1f}" text-anchor="end" fill="#475467">{value}%</text>')
    out.append(f'<text x="{LEFT + 4}" y="{LOW_Y0 + 12}" fill="#6d28d9">SpO2 %</text>')
    return "".join(out)


def _legend() -> str:
    out, legend_x = [], LEFT + 40
    for _name, label, colour, dash in (*SERIES, ("spo2", "SpO2", "#6d28d9", "")):
        dashed = f' stroke-dasharray="{dash}"' if dash else ""
        out.append(
            f'<line x1="{legend_x}" x2="{legend_x + 18}" y1="{HEIGHT - 6}" y2="{HEIGHT - 6}" stroke="{colour}" '
            f'stroke-width="2"{dashed}/><text x="{legend_x + 22}" y="{HEIGHT - 2}" fill="#344054">{label}</text>'
        )
        legend_x += 110
    return "".join(out)


# What does not depend on the session (the frame, the grid, the legend), drawn once.
_HEAD, _GRID, _LEGEND = _head(), _grid(), _legend()


class Columns(NamedTuple):
    """The readings as one list per field, in time order (what :func:`vitals_chart` draws)."""

    minute: Sequence[float]
    systolic: Sequence[float]
    diastolic: Sequence[float]
    heart_rate: Sequence[float]
    spo2: Sequence[float]
    resp_rate: Sequence[float | None]


def vitals_chart(
    points: Sequence[Point],
    *,
    baseline: tuple[int, int] | None,
    ticks: Sequence[tuple[int, str, str]],
    alerts: Sequence[tuple[float, str, str]],
    end_minute: float,
) -> SafeString:
    """The chart as an ``<svg>`` element.

    ``ticks`` are ``(minute, state, label)`` of the timepoints; ``alerts`` are ``(minute, level, message)``;
    ``end_minute`` is the end of the planned observation (the axis always reaches it).
    """
    columns = Columns(*map(list, zip(*points, strict=True))) if points else Columns([], [], [], [], [], [])
    return vitals_chart_columns(columns, baseline=baseline, ticks=ticks, alerts=alerts, end_minute=end_minute)


def vitals_chart_columns(
    columns: Columns,
    *,
    baseline: tuple[int, int] | None,
    ticks: Sequence[tuple[int, str, str]],
    alerts: Sequence[tuple[float, str, str]],
    end_minute: float,
) -> SafeString:
    """:func:`vitals_chart` from the readings as columns: a 2-hour session's 480 sets, drawn without an object
    per reading (the monitoring panel redraws it on every poll)."""
    count = len(columns.minute)
    minutes = [*columns.minute, *(t[0] for t in ticks), *(a[0] for a in alerts)]
    x_lo = min([-10.0, *minutes])
    x_hi = max([end_minute, *minutes]) + 5

    def x(minute: float) -> float:
        return LEFT + (minute - x_lo) / (x_hi - x_lo) * (WIDTH - LEFT - RIGHT)

    c = columns
    last = (
        Point(c.minute[-1], c.systolic[-1], c.diastolic[-1], c.heart_rate[-1], c.spo2[-1], c.resp_rate[-1])
        if count
        else None
    )
    summary = (
        f"Latest: {last.systolic:.0f}/{last.diastolic:.0f} mmHg, heart rate {last.heart_rate:.0f}/min, "
        f"SpO2 {last.spo2:.0f} %"
        + (f", respiratory rate {last.resp_rate:.0f}/min" if last.resp_rate is not None else "")
        + f", at minute {last.minute:.0f}."
        if last
        else "No vital signs yet."
    )
    out = [
        _HEAD,
        f'<desc id="vc-desc">{_e(summary)} {count} sets recorded.</desc>',
        _GRID,
    ]
    zero = x(0)
    out.append(
        f'<line x1="{zero:.1f}" x2="{zero:.1f}" y1="{TOP_Y0}" y2="{LOW_Y1}" stroke="#344054" stroke-dasharray="2 2"/>'
    )
    out.append(f'<text x="{zero + 3:.1f}" y="{TOP_Y0 + 11}" fill="#344054">dose</text>')
    if baseline is not None:
        for value, name in zip(baseline, ("systolic", "diastolic"), strict=True):
            y = _scale(value, *TOP_RANGE, TOP_Y0, TOP_Y1)
            out.append(
                f'<line class="baseline" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
                f'stroke="#667085" stroke-dasharray="8 4"><title>Baseline {name} {value} mmHg</title></line>'
            )
    # A 2-hour session has 480 points on five lines: each x is formatted once, and each y looked up by reading.
    x_span, width = x_hi - x_lo, WIDTH - LEFT - RIGHT  # x(), inlined: the same arithmetic, so the same pixels
    xs = [f"{LEFT + (minute - x_lo) / x_span * width:.1f}" for minute in columns.minute]
    for field, label, colour, dash in SERIES:
        values: Sequence[float | None] = getattr(columns, field)
        if None in values:  # a reading without this sign (respiratory rate is optional): a gap in the line
            kept = [(cx, value) for cx, value in zip(xs, values, strict=True) if value is not None]
            line_xs, line_values = [cx for cx, _ in kept], [value for _, value in kept]
        else:
            line_xs, line_values = xs, values  # type: ignore[assignment]
        ys = _TOP.ys(line_values)
        coords = list(zip(line_xs, ys, strict=True))
        if coords:
            path = " ".join([f"{cx},{cy}" for cx, cy in coords])
            dashed = f' stroke-dasharray="{dash}"' if dash else ""
            if len(coords) <= MAX_DOTS:
                out.extend(f'<circle cx="{cx}" cy="{cy}" r="3" fill="{colour}"/>' for cx, cy in coords)
            out.append(
                f'<polyline class="series-{field}" points="{path}" fill="none" stroke="{colour}" '
                f'stroke-width="2"{dashed}><title>{label}</title></polyline>'
            )
    if count:
        path = " ".join([f"{cx},{cy}" for cx, cy in zip(xs, _SPO2.ys(columns.spo2), strict=True)])
        out.append(
            f'<polyline class="series-spo2" points="{path}" fill="none" stroke="#6d28d9" stroke-width="2">'
            "<title>SpO2</title></polyline>"
        )
    out.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{AXIS_Y}" y2="{AXIS_Y}" stroke="#344054"/>')
    for minute, state, label in ticks:
        tx = x(minute)
        colour = TICK_COLOUR.get(state, "#98a2b3")
        out.append(
            f'<line class="tick tick-{_e(state)}" x1="{tx:.1f}" x2="{tx:.1f}" y1="{AXIS_Y - 6}" '
            f'y2="{AXIS_Y + 6}" stroke="{colour}" stroke-width="3"><title>{minute} min: {_e(label)} '
            f"({_e(state)})</title></line>"
        )
        out.append(f'<text x="{tx:.1f}" y="{AXIS_Y + 18}" text-anchor="middle" fill="{colour}">{minute}</text>')
    for at, level, message in alerts:
        ax = x(at)
        colour = ALERT_COLOUR.get(level, "#b42318")
        out.append(
            f'<path class="alert-marker alert-{_e(level)}" d="M{ax:.1f},{TOP_Y0 + 2} l-6,10 h12 z" '
            f'fill="{colour}"><title>{_e(message)}</title></path>'
        )
    out.append(_LEGEND)
    out.append("</svg>")
    return mark_safe("".join(out))  # noqa: S308 - every interpolated text is escaped above; numbers are formatted
