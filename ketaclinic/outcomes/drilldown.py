"""The patients behind each dashboard figure: every figure has a name here and a filter over its rollup."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db.models import Q, QuerySet

from ketaclinic.outcomes.figures import Filters, courses_in, sessions_in


@dataclass(frozen=True)
class Figure:
    label: str
    kind: str  # "course" or "session"
    condition: Q


FIGURES: dict[str, Figure] = {
    "treated": Figure("Patients treated (a dosed session in the range)", "session", Q()),
    "alerts": Figure("Sessions with an alert", "session", Q(alerts__gt=0)),
    "urgent_alerts": Figure("Sessions with an urgent alert", "session", Q(urgent_alerts__gt=0)),
    "adverse_events": Figure("Sessions with an adverse event", "session", Q(adverse_events__gt=0)),
    "serious_adverse_events": Figure(
        "Sessions with a serious adverse event", "session", Q(serious_adverse_events__gt=0)
    ),
    "dissociation": Figure(
        "Sessions with a dissociation score at this dose", "session", Q(dissociation_max__isnull=False)
    ),
    "courses": Figure("Courses started (first dose in the range)", "course", Q()),
    "no_measure": Figure(
        "Courses not evaluable: no sourced response definition for their indication's measure",
        "course",
        Q(instrument=""),
    ),
    "evaluable": Figure("Courses evaluable at the end of induction", "course", Q(eoi_response__isnull=False)),
    "responders": Figure("Responders at the end of induction", "course", Q(eoi_response=True)),
    "non_responders": Figure("Non-responders at the end of induction", "course", Q(eoi_response=False)),
    "remitters": Figure("Remitters at the end of induction", "course", Q(eoi_remission=True)),
    "responded": Figure("Courses with a response at any time", "course", Q(sessions_to_response__isnull=False)),
    "lost": Figure("Courses that lost their response", "course", Q(lost_response=True)),
}


class UnknownFigure(ValueError):
    pass


def figure_rows(name: str, filters: Filters, params: dict[str, str]) -> tuple[Figure, QuerySet[Any]]:
    """The rollup rows behind figure ``name``; ``params`` may narrow it (``sessions``, or a dose group)."""
    figure = FIGURES.get(name)
    if figure is None:
        raise UnknownFigure(f"figure: {name!r} is not a dashboard figure; choose one of {', '.join(FIGURES)}")
    rows: QuerySet[Any] = (courses_in if figure.kind == "course" else sessions_in)(filters).filter(figure.condition)
    if name == "responded" and params.get("sessions"):
        if not params["sessions"].isdigit():
            raise UnknownFigure("sessions: must be a whole number of sessions")
        rows = rows.filter(sessions_to_response=int(params["sessions"]))
    if name == "dissociation" and params.get("dose"):
        try:
            value = Decimal(params["dose"])
        except InvalidOperation:
            raise UnknownFigure("dose: must be a number (mg or mg/kg)") from None
        rows = rows.filter(
            dose_value=value, dose_unit=params.get("unit", ""), dissociation_instrument=params.get("instrument", "")
        )
    return figure, rows
