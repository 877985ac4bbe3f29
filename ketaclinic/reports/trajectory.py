"""A small, self-contained trajectory chart for reports: one instrument's totals over time, doses marked.

Kept deliberately simple (one function, plain SVG) so it can be swapped for the measures app's trajectory chart.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

W, H = 640, 240
L, R, T, B = 40, 12, 14, 30


def trajectory_svg(
    points: Sequence[tuple[dt.datetime, int]],
    doses: Sequence[dt.datetime],
    *,
    maximum: int,
    label: str,
    lines: Sequence[tuple[float, str]] = (),
) -> SafeString:
    """Totals (``points``, time-ordered) as a line with dots on a 0–``maximum`` axis, a dashed vertical line at each
    dose, and horizontal reference ``lines`` (value, label) such as the response and remission thresholds."""
    if not points:
        return mark_safe("")
    times = [t for t, _ in points] + list(doses)
    first, last = min(times), max(times)
    span = (last - first).total_seconds() or 1.0

    def x(at: dt.datetime) -> float:
        return L + (W - L - R) * (at - first).total_seconds() / span

    def y(value: float) -> float:
        return T + (H - T - B) * (1 - value / maximum)

    parts = [f'<line x1="{L}" y1="{y(0):.1f}" x2="{W - R}" y2="{y(0):.1f}" stroke="#888"/>']
    for tick in range(0, maximum + 1, max(1, maximum // 4)):
        parts.append(f'<text x="{L - 5}" y="{y(tick) + 4:.1f}" text-anchor="end" font-size="10">{tick}</text>')
    for at in doses:
        parts.append(f'<line x1="{x(at):.1f}" y1="{T}" x2="{x(at):.1f}" y2="{y(0):.1f}" stroke="#b9a6d6" '
                     'stroke-dasharray="3,3" class="dose"/>')  # fmt: skip
    for value, text in lines:
        parts.append(
            f'<line x1="{L}" y1="{y(value):.1f}" x2="{W - R}" y2="{y(value):.1f}" stroke="#6a9" '
            'stroke-dasharray="6,3"/>'
            f'<text x="{W - R}" y="{y(value) - 3:.1f}" text-anchor="end" font-size="9" fill="#385">'
            f"{escape(text)}</text>"
        )
    path = " ".join(f"{x(t):.1f},{y(v):.1f}" for t, v in points)
    parts.append(f'<polyline points="{path}" fill="none" stroke="#1f5f99" stroke-width="2"/>')
    parts += [f'<circle cx="{x(t):.1f}" cy="{y(v):.1f}" r="3" fill="#1f5f99"/>' for t, v in points]
    parts.append(f'<text x="{L}" y="{H - 8}" font-size="10">{first:%Y-%m-%d}</text>')
    parts.append(f'<text x="{W - R}" y="{H - 8}" font-size="10" text-anchor="end">{last:%Y-%m-%d}</text>')
    return mark_safe(  # noqa: S308 - numbers and escaped text only
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" width="170mm" role="img" '
        f'aria-label="{escape(label)}"><title>{escape(label)}</title>{"".join(parts)}</svg>'
    )
