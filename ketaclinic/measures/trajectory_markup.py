"""The trajectory charts' figures and the C-SSRS list, built in Python.

They were a template included once per instrument (``measures/_chart.html``), each resolving a dozen attributes and
running ``date``/``stringformat``/``floatformat``/``capfirst`` filters, plus a loop over the screens: a large share
of the trajectory page's rendering. The markup is the same, byte for byte: every text is escaped with
``html.escape`` (what Django's ``escape`` and autoescaping do), times are shown in the site's time zone as the
templates' ``{% timezone %}`` block showed them, and the percentage is rounded half away from zero on its decimal
form, as ``floatformat:0`` does.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.urls import reverse
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe

from ketaclinic.markup import esc, rounded
from ketaclinic.measures.models import QuestionnaireResponse
from ketaclinic.measures.trajectory import InstrumentTrajectory


def _esc(value: object) -> str:
    # Every value here is a plain str or number (the clinical catalogue's names and texts).
    return esc(str(value))


def _local(at: dt.datetime, zone: dt.tzinfo) -> dt.datetime:
    # As the template's ``date`` filter inside ``{% timezone zone %}``: aware times converted, naive ones as they are.
    return at.astimezone(zone) if at.utcoffset() is not None else at


def _day(at: dt.datetime) -> str:
    # Django's "Y-m-d".
    return f"{at.year:04d}-{at.month:02d}-{at.day:02d}"


def _minute(at: dt.datetime) -> str:
    # Django's "Y-m-d H:i".
    return f"{at.year:04d}-{at.month:02d}-{at.day:02d} {at.hour:02d}:{at.minute:02d}"


def chart_figure(series: InstrumentTrajectory, svg: SafeString, *, patient_id: int, zone: dt.tzinfo) -> SafeString:
    """One instrument's ``<figure>``: caption (link to the items, status badge, latest, baseline, change since
    baseline and since the last session), the chart ``svg`` (safe markup, placed as it is; a plain string would be
    escaped, as the template did), the status's reason and the notes. ``zone`` is the site's time zone."""
    status = series.trajectory.status if series.trajectory is not None else None
    latest = series.points[-1]
    url = reverse("measures:instrument", args=[patient_id, series.id])
    parts = [
        f'<figure class="score-chart" id="chart-{_esc(series.id)}">\n'
        f'  <figcaption><strong><a href="{_esc(url)}">{_esc(series.instrument.name)}</a></strong>\n  '
    ]
    if status:
        text = status.value
        capitalised = text[0].upper() + text[1:]  # capfirst
        parts.append(f'<span class="badge {_esc(series.badge)}" data-status="{_esc(text)}">{_esc(capitalised)}</span>')
    parts.append(f"\n  · latest <strong data-latest>{latest.score}</strong> ({_day(_local(latest.at, zone))})\n  ")
    if series.baseline is not None:
        parts.append(f"· baseline {series.baseline.score}")
    parts.append("\n  ")
    if series.since_baseline is not None:
        parts.append(f"· since baseline {series.since_baseline:+d}")
        if series.since_baseline_pct is not None:
            parts.append(f" ({rounded(series.since_baseline_pct)} % reduction)")
    parts.append("\n  ")
    if series.since_last_session is not None:
        parts.append(f"· since last session {series.since_last_session:+d}")
    parts.append("\n  </figcaption>\n  ")
    parts.append(conditional_escape(svg))  # the chart's markup is safe already; anything else is escaped as before
    parts.append("\n  ")
    if series.trajectory is not None:
        parts.append(f'<p class="help">{_esc(series.trajectory.reason)}</p>')
    parts.append("\n  ")
    parts.extend(f'<p class="help">{_esc(note)}</p>' for note in series.notes)
    parts.append("\n</figure>\n")
    return mark_safe("".join(parts))  # noqa: S308 - texts escaped by _esc; numbers; svg is safe markup


def screen_items(screens: Iterable[QuestionnaireResponse], zone: dt.tzinfo) -> SafeString:
    """The ``<li>`` items of the suicide-screen list: when (site time), instrument, and the band as a badge, red
    when the screen is positive ("none" when it has no band)."""
    items = [
        f"<li>{_minute(_local(r.completed_at, zone))} · {_esc(r.instrument)} · "
        f'<span class="badge {"danger" if r.is_positive_suicide_screen else "ok"}">{_esc(r.band or "none")}</span></li>'
        for r in screens
    ]
    return mark_safe("".join(items))  # noqa: S308 - texts escaped by _esc; times and constants
