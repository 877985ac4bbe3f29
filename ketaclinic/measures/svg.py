"""Server-side SVG line charts of scores over time (no JavaScript, no CDN). The same markup renders in a browser and
in WeasyPrint for PDF reports: plain SVG elements with presentation attributes, no CSS classes required.

:func:`score_chart` takes plain values (datetimes and ints), so reports can call it without a request or a model.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from html import escape

WIDTH, HEIGHT = 640, 240
PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 40, 16, 16, 34
LINE, POINT, SESSION, BASELINE, RESPONSE, REMISSION = (
    "#1f5f8b",
    "#1f5f8b",
    "#8a6d3b",
    "#555555",
    "#b8860b",
    "#2e7d32",
)


def _fmt(value: float) -> str:
    text = f"{value:.1f}"
    # With one decimal, a trailing ".0" is all that rstrip("0").rstrip(".") ever took off (half the cost, per point).
    return text[:-2] if text.endswith(".0") else text


def score_chart(
    points: Sequence[tuple[dt.datetime, int]],
    *,
    y_max: int,
    title: str,
    sessions: Sequence[dt.datetime] = (),
    baseline: float | None = None,
    response_line: float | None = None,
    remission_line: float | None = None,
    zone: dt.tzinfo | None = None,
    width: int = WIDTH,
    height: int = HEIGHT,
) -> str:
    """An accessible inline ``<svg>``: the scores as a line with points, dosing sessions as ticks on the time axis,
    dashed baseline, response and remission lines, and labelled axes. ``points`` must be in time order."""
    if not points:
        raise ValueError("points: at least one score is needed for a chart")
    plot_w = width - PAD_LEFT - PAD_RIGHT
    plot_h = height - PAD_TOP - PAD_BOTTOM
    first = min([points[0][0], *sessions])
    last = max([points[-1][0], *sessions])
    span = max((last - first).total_seconds(), 86400.0)
    top = max(y_max, 1)

    def x(at: dt.datetime) -> float:
        return PAD_LEFT + (at - first).total_seconds() / span * plot_w

    def y(score: float) -> float:
        return PAD_TOP + plot_h - min(max(score, 0), top) / top * plot_h

    local = (lambda at: at.astimezone(zone)) if zone else (lambda at: at)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-label="{escape(title)}" font-family="sans-serif" font-size="11">',
        f"<title>{escape(title)}</title>",
        f'<rect x="{PAD_LEFT}" y="{PAD_TOP}" width="{plot_w}" height="{plot_h}" fill="#ffffff" stroke="#cccccc"/>',
    ]
    for tick in (0, top / 2, top):
        ty = y(tick)
        out.append(f'<line x1="{PAD_LEFT}" y1="{_fmt(ty)}" x2="{PAD_LEFT + plot_w}" y2="{_fmt(ty)}" stroke="#eeeeee"/>')
        out.append(f'<text x="{PAD_LEFT - 6}" y="{_fmt(ty + 4)}" text-anchor="end" fill="#444444">{_fmt(tick)}</text>')
    for label, value, colour in (
        ("baseline", baseline, BASELINE),
        ("response", response_line, RESPONSE),
        ("remission", remission_line, REMISSION),
    ):
        if value is None:
            continue
        ly = _fmt(y(value))
        out.append(
            f'<line x1="{PAD_LEFT}" y1="{ly}" x2="{PAD_LEFT + plot_w}" y2="{ly}" stroke="{colour}" '
            f'stroke-dasharray="5 4" data-line="{label}"/>'
        )
        out.append(
            f'<text x="{PAD_LEFT + plot_w - 4}" y="{_fmt(y(value) - 3)}" text-anchor="end" fill="{colour}">'
            f"{label} {_fmt(value)}</text>"
        )
    # Each time is converted and formatted once, each coordinate rounded once (the line and its points share them):
    # the chart is drawn on every trajectory page, once per instrument.
    for at in sessions:
        minute = f"{local(at):%Y-%m-%d %H:%M}"
        out.append(
            f'<path d="M{_fmt(x(at))} {PAD_TOP + plot_h} l-4 8 h8 z" fill="{SESSION}" '
            f'data-session="{minute.partition(" ")[0]}"><title>Dosing session {minute}</title></path>'
        )
    coords = [(_fmt(x(at)), _fmt(y(score))) for at, score in points]
    if len(coords) > 1:
        path = " ".join(f"{px},{py}" for px, py in coords)
        out.append(f'<polyline points="{path}" fill="none" stroke="{LINE}" stroke-width="2"/>')
    for (at, score), (px, py) in zip(points, coords, strict=True):
        out.append(
            f'<circle cx="{px}" cy="{py}" r="4" fill="{POINT}" data-score="{score}">'
            f"<title>{local(at):%Y-%m-%d %H:%M}: {score}</title></circle>"
        )
    out.append(
        f'<text x="{PAD_LEFT}" y="{height - 6}" fill="#444444">{local(first):%Y-%m-%d}</text>'
        f'<text x="{PAD_LEFT + plot_w}" y="{height - 6}" text-anchor="end" fill="#444444">{local(last):%Y-%m-%d}</text>'
    )
    out.append("</svg>")
    return "".join(out)
