"""The monitoring panel's repeated rows, built in Python: the readings table, the timepoints, the scale ratings and
the PHQ-9 strip.

The panel is polled every 15 s by every screen watching a session. Its loops were most of its template's cost
(about 70 %: each cell of a row resolved attributes and ran ``date``/``floatformat`` filters), so the rows are
built here and the template places them: text escaped and numbers rounded as the templates did
(:mod:`ketaclinic.markup`), formatted times as they are, in the site's time zone.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from zoneinfo import ZoneInfo

from django.template.defaultfilters import floatformat
from django.utils.safestring import SafeString, mark_safe

from ketaclinic.clinical import Due, TimepointStatus
from ketaclinic.dosing.monitoring_panel import Reading, Scale
from ketaclinic.markup import esc as _e
from ketaclinic.markup import rounded

_BADGE = {"done": "ok", "overdue": "danger", "missed": "danger", "due": "warn"}


def readings_rows(readings: Sequence[Reading], zone: str) -> SafeString:
    """The ``<tr>`` rows of the readings table, newest first as given."""
    tz = ZoneInfo(zone)  # ZoneInfo keeps one instance per key
    # Every cell but the source is a number or a formatted time; only the source needs escaping.
    rows = [
        f"<tr><td>{r.at.astimezone(tz):%H:%M:%S}</td><td>{rounded(r.minute)}</td>"
        f"<td>{int(r.systolic_mmhg)}/{int(r.diastolic_mmhg)}</td><td>{int(r.heart_rate_bpm)}</td>"
        f"<td>{int(r.spo2_pct)}</td><td>{'—' if r.resp_rate_per_min is None else int(r.resp_rate_per_min)}</td>"
        f"<td>{'' if r.timepoint_min is None else f'{int(r.timepoint_min)} min'}</td><td>{_e(r.source)}</td></tr>"
        for r in readings
    ]
    return mark_safe("".join(rows))  # noqa: S308 - numbers, times and the escaped source only


def one_decimal(value: float) -> str:
    """``value`` as Django's ``floatformat:"-1"`` shows it: whole numbers without decimals, others with one."""
    if value == int(value):
        return str(int(value))
    return floatformat(value, -1)  # rare (scale totals are whole numbers): the filter itself, its rounding exact


def scale_items(scales: Iterable[Scale], zone: str) -> SafeString:
    """The ``<li>`` items of the scale ratings: local time, scale, total, band and timepoint (a session rates a scale
    at every timepoint that asks for one, so a dozen or more)."""
    tz = ZoneInfo(zone)
    items = [
        f"<li>{o.at.astimezone(tz):%H:%M} · {_e(o.label)} <strong>{one_decimal(o.total)}</strong>"
        + (f" ({_e(o.band)})" if o.band else "")
        + (f" · {int(o.timepoint_min)}-min timepoint" if o.timepoint_min is not None else "")
        + "</li>"
        for o in scales
    ]
    return mark_safe("".join(items))  # noqa: S308 - texts escaped, numbers and times formatted


def phq9_strip(points: Iterable[tuple[dt.datetime, float, str]], zone: str) -> SafeString:
    """The PHQ-9 history as ``<span>`` items (date and total, the band on hover), or "none recorded"."""
    tz = ZoneInfo(zone)  # ZoneInfo keeps one instance per key
    items = [
        f'<span class="phq9" title="{_e(band)}">{_month_day(at.astimezone(tz))}: {int(total)}</span>'
        for at, total, band in points
    ]
    return mark_safe(" · ".join(items)) if items else SafeString("none recorded")  # noqa: S308 - escaped above


def _month_day(moment: dt.datetime) -> str:
    # Django's "M j" (e.g. "Sep 3"): English month abbreviations, as everywhere else in the panel.
    return f"{moment:%b} {moment.day}"


def _in_order(due: Iterable[Due]) -> list[str]:
    # The sets have no order of their own; vitals, MOAA/S, CADSS as declared, the same on every poll.
    return [str(d) for d in Due if d in due]


def timepoint_items(statuses: Iterable[TimepointStatus], *, finished: bool = False) -> SafeString:
    """The ``<li>`` items of the timepoints list: state badge, minute, label, what is due, what is missing. On a
    ``finished`` session (discharged, ended) an overdue timepoint can no longer be done: it reads "missed"."""
    parts = []
    for s in statuses:
        state = _e(s.state.value)
        if finished and state == "overdue":
            state = "missed"
        missing = ""
        if s.missing and state != "upcoming":
            missing = f'<span class="missing">missing: {_e(", ".join(_in_order(s.missing)))}</span>'
        late = f'<span class="overdue-by">{rounded(s.overdue_by_min)} min late</span>' if state == "overdue" else ""
        parts.append(
            f'<li class="tp tp-{state}"><span class="badge {_BADGE.get(state, "")}">{state}</span> '
            f"<strong>{s.timepoint.minute} min</strong> · {_e(s.timepoint.label)} · "
            f"{_e(' + '.join(_in_order(s.timepoint.due)))} {missing}{late}</li>"
        )
    return mark_safe("".join(parts))  # noqa: S308 - texts escaped, numbers formatted
