"""Server-side SVG for the dashboard: the Kaplan–Meier step curve and the dissociation-by-dose bars.

Plain SVG strings (numbers and escaped labels only), so the same chart serves the screen, a printout or a PDF.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from ketaclinic.outcomes.figures import DissociationRow
from ketaclinic.outcomes.km import Step

WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 60, 16, 16, 40


def _x(value: float, top: float) -> float:
    return LEFT + (WIDTH - LEFT - RIGHT) * (value / top if top else 0)


def _y(fraction: float) -> float:
    return TOP + (HEIGHT - TOP - BOTTOM) * (1 - fraction)


def km_svg(steps: Sequence[Step], *, title: str = "Still responding") -> SafeString:
    """The survival curve as a step line from 100 % at day 0, with its 95 % band and censoring ticks."""
    if not steps:
        return mark_safe("")
    top = max(s.time for s in steps) or 1.0

    def stair(value: Callable[[Step], float]) -> list[tuple[float, float]]:
        points, level = [(0.0, 1.0)], 1.0
        for step in steps:
            points += [(step.time, level), (step.time, value(step))]
            level = value(step)
        return [*points, (top, level)]

    def path(points: Sequence[tuple[float, float]]) -> str:
        return " ".join(f"{_x(t, top):.1f},{_y(v):.1f}" for t, v in points)

    line = path(stair(lambda s: s.survival))
    band = path(stair(lambda s: s.upper) + list(reversed(stair(lambda s: s.lower))))
    ticks = [f'<path d="M{_x(s.time, top):.1f},{_y(s.survival) - 4:.1f}v8"/>' for s in steps if s.censored]
    axis = [
        f'<line x1="{LEFT}" y1="{_y(0):.1f}" x2="{WIDTH - RIGHT}" y2="{_y(0):.1f}" class="axis"/>',
        f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{_y(0):.1f}" class="axis"/>',
    ]
    for frac in (0, 0.25, 0.5, 0.75, 1):
        axis.append(f'<text x="{LEFT - 6}" y="{_y(frac) + 4:.1f}" text-anchor="end">{frac * 100:.0f} %</text>')
    for k in range(5):
        day = top * k / 4
        axis.append(f'<text x="{_x(day, top):.1f}" y="{HEIGHT - 12}" text-anchor="middle">{day:.0f}</text>')
    axis.append(f'<text x="{WIDTH - RIGHT}" y="{HEIGHT - 1}" text-anchor="end">days since first response</text>')
    svg = (
        f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" role="img" aria-label="{escape(title)}" class="chart km" '
        'font-size="12">'
        f"<title>{escape(title)}</title>{''.join(axis)}"
        f'<polygon points="{band}" class="band" fill="#cfe3f5" stroke="none"/>'
        f'<polyline points="{line}" fill="none" stroke="#1f5f99" stroke-width="2" class="curve"/>'
        f'<g stroke="#1f5f99" class="censored">{"".join(ticks)}</g></svg>'
    )
    return mark_safe(svg)  # noqa: S308 - built from numbers and escaped text only


def dissociation_svg(rows: Sequence[DissociationRow], instrument: str) -> SafeString:
    """Mean peak dissociation per dose group of one instrument, as labelled horizontal bars."""
    chosen = [r for r in rows if r.instrument == instrument]
    if not chosen:
        return mark_safe("")
    top = max(r.mean_peak for r in chosen) or 1.0
    bar_h, gap = 22, 8
    height = TOP + len(chosen) * (bar_h + gap)
    parts = []
    for n, row in enumerate(chosen):
        y = TOP + n * (bar_h + gap)
        width = (WIDTH - 200) * row.mean_peak / top
        label = f"{row.dose_value} {row.dose_unit}"
        parts.append(
            f'<text x="110" y="{y + 15}" text-anchor="end">{escape(label)}</text>'
            f'<rect x="120" y="{y}" width="{width:.1f}" height="{bar_h}" fill="#7a5ba6"/>'
            f'<text x="{126 + width:.1f}" y="{y + 15}">{row.mean_peak:.1f} (n={row.sessions})</text>'
        )
    title = f"Mean peak {instrument.upper()} by dose"
    return mark_safe(  # noqa: S308 - built from numbers and escaped text only
        f'<svg viewBox="0 0 {WIDTH} {height}" width="100%" role="img" aria-label="{escape(title)}" class="chart" '
        'font-size="12">'
        f"<title>{escape(title)}</title>{''.join(parts)}</svg>"
    )
