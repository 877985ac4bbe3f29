"""The clinic dashboard's figures: SQL aggregates over the rollups, for a date range, sites, protocol, route and
indication. :mod:`ketaclinic.outcomes.floor` computes the same :class:`Figures` straight from the clinical tables;
tests hold the two equal.

Cohorts: session figures (patients treated, rates per 100 sessions, dissociation by dose) count dosed sessions in the
range; course figures (response and remission at the end of induction, sessions to response, time to loss of
response) count courses whose first dose falls in the range, each judged on its own indication's measure (PHQ-9 for
depression, GAD-7 for anxiety); courses of an indication without one are counted apart as not evaluable.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Avg, Count, Q, QuerySet, Sum

from ketaclinic.outcomes import definitions as d
from ketaclinic.outcomes.km import Step, kaplan_meier, median_time
from ketaclinic.outcomes.models import CourseOutcome, SessionOutcome


@dataclass(frozen=True)
class Filters:
    """What the dashboard counts: ``start`` ≤ time < ``end`` (aware), at ``site_ids``, optionally one protocol,
    route and indication."""

    start: dt.datetime
    end: dt.datetime
    site_ids: tuple[int, ...]
    protocol: str = ""
    route: str = ""
    indication: str = ""

    def course_filter(self) -> dict[str, Any]:
        chosen = {"protocol": self.protocol, "route": self.route, "indication": self.indication}
        return {"site_id__in": self.site_ids, **{k: v for k, v in chosen.items() if v}}


def dose_key(value: Any) -> str:
    """A dose group's value as text (``0.5``, ``56``): the same whichever database returned it."""
    return f"{Decimal(str(value)).normalize():f}"


@dataclass(frozen=True)
class ResponseRow:
    """Response and remission at the end of induction for one protocol and indication."""

    protocol: str
    indication: str
    courses: int
    evaluable: int
    responders: int
    remitters: int

    @property
    def response_pct(self) -> float | None:
        return pct(self.responders, self.evaluable)

    @property
    def remission_pct(self) -> float | None:
        return pct(self.remitters, self.evaluable)


@dataclass(frozen=True)
class DissociationRow:
    """Sessions at one dose with a CADSS (or CADSS-6) and the mean of each session's peak total."""

    instrument: str
    dose_unit: str
    dose_value: str
    sessions: int
    mean_peak: float


@dataclass(frozen=True)
class Figures:
    patients_treated: int = 0
    sessions: int = 0
    alerts: int = 0
    urgent_alerts: int = 0
    adverse_events: int = 0
    serious_adverse_events: int = 0
    courses: int = 0
    evaluable: int = 0
    responders: int = 0
    remitters: int = 0
    #: Courses whose indication has no primary outcome (no sourced response definition): never evaluable.
    without_measure: int = 0
    #: (instrument, courses evaluable at the end of induction on it) for each of ``definitions.INSTRUMENTS``
    evaluable_by_instrument: tuple[tuple[str, int], ...] = ()
    #: (dosed sessions up to the first benefit, courses)
    sessions_to_response: tuple[tuple[int, int], ...] = ()
    #: (days from first benefit, losses of response, censored)
    km_groups: tuple[tuple[int, int, int], ...] = ()
    dissociation: tuple[DissociationRow, ...] = ()
    response_table: tuple[ResponseRow, ...] = field(default=())

    @property
    def response_pct(self) -> float | None:
        return pct(self.responders, self.evaluable)

    @property
    def remission_pct(self) -> float | None:
        return pct(self.remitters, self.evaluable)

    def per_100_sessions(self, count: int) -> float | None:
        return None if not self.sessions else round(count * 100 / self.sessions, 1)

    @property
    def responded(self) -> int:
        return sum(n for _, n in self.sessions_to_response)

    @property
    def median_sessions_to_response(self) -> float | None:
        return histogram_median(self.sessions_to_response)

    @property
    def km(self) -> list[Step]:
        return kaplan_meier(self.km_groups)

    @property
    def median_days_to_loss(self) -> float | None:
        return median_time(self.km)

    @property
    def losses(self) -> int:
        return sum(e for _, e, _ in self.km_groups)


def pct(part: int, whole: int) -> float | None:
    return None if not whole else round(part * 100 / whole, 1)


def histogram_median(histogram: Iterable[tuple[int, int]]) -> float | None:
    """The median of values given as (value, count) pairs: the middle value, or the mean of the two middle ones."""
    ordered = sorted((v, n) for v, n in histogram if n)
    total = sum(n for _, n in ordered)
    if not total:
        return None

    def nth(k: int) -> int:
        seen = 0
        for value, n in ordered:
            seen += n
            if k < seen:
                return value
        raise AssertionError("unreachable: k < total")

    return (nth((total - 1) // 2) + nth(total // 2)) / 2


def sessions_in(filters: Filters) -> QuerySet[SessionOutcome]:
    return SessionOutcome.objects.filter(
        dosed_at__gte=filters.start, dosed_at__lt=filters.end, **filters.course_filter()
    ).order_by()


def courses_in(filters: Filters) -> QuerySet[CourseOutcome]:
    return CourseOutcome.objects.filter(
        first_dose_at__gte=filters.start, first_dose_at__lt=filters.end, **filters.course_filter()
    ).order_by()


def _evaluable_counts() -> dict[str, Any]:
    return {
        "courses": Count("pk"),
        "evaluable": Count("pk", filter=Q(eoi_response__isnull=False)),
        "responders": Count("pk", filter=Q(eoi_response=True)),
        "remitters": Count("pk", filter=Q(eoi_remission=True)),
    }


def response_table(filters: Filters) -> tuple[ResponseRow, ...]:
    """Response and remission at the end of induction by protocol and indication (one GROUP BY over the rollup)."""
    rows = (
        courses_in(filters)
        .values_list("protocol", "indication")
        .annotate(**_evaluable_counts())
        .order_by("protocol", "indication")
    )
    return tuple(ResponseRow(*row) for row in rows)


def dashboard_figures(filters: Filters) -> Figures:
    """Every dashboard figure for ``filters``, in six aggregate queries over the rollups."""
    sessions = sessions_in(filters).aggregate(
        sessions=Count("pk"),
        patients=Count("patient_id", distinct=True),
        alerts=Sum("alerts"),
        urgent=Sum("urgent_alerts"),
        events=Sum("adverse_events"),
        serious=Sum("serious_adverse_events"),
    )
    dissociation = (
        sessions_in(filters)
        .filter(dissociation_max__isnull=False)
        .values_list("dissociation_instrument", "dose_unit", "dose_value")
        .annotate(n=Count("pk"), mean=Avg("dissociation_max"))
    )
    courses = courses_in(filters).aggregate(
        **_evaluable_counts(),
        without_measure=Count("pk", filter=Q(instrument="")),
        **{f"evaluable_{i}": Count("pk", filter=Q(instrument=i, eoi_response__isnull=False)) for i in d.INSTRUMENTS},
    )
    histogram = (
        courses_in(filters)
        .filter(sessions_to_response__isnull=False)
        .values_list("sessions_to_response")
        .annotate(n=Count("pk"))
    )
    km = (
        courses_in(filters)
        .filter(followup_days__isnull=False)
        .values_list("followup_days")
        .annotate(events=Count("pk", filter=Q(lost_response=True)), censored=Count("pk", filter=Q(lost_response=False)))
    )
    return Figures(
        patients_treated=sessions["patients"],
        sessions=sessions["sessions"],
        alerts=sessions["alerts"] or 0,
        urgent_alerts=sessions["urgent"] or 0,
        adverse_events=sessions["events"] or 0,
        serious_adverse_events=sessions["serious"] or 0,
        courses=courses["courses"],
        evaluable=courses["evaluable"],
        responders=courses["responders"],
        remitters=courses["remitters"],
        without_measure=courses["without_measure"],
        evaluable_by_instrument=tuple((i, courses[f"evaluable_{i}"]) for i in d.INSTRUMENTS),
        sessions_to_response=tuple(sorted((int(v), int(n)) for v, n in histogram)),
        km_groups=tuple(sorted((int(t), int(e), int(c)) for t, e, c in km)),
        dissociation=dissociation_rows(dissociation),
        response_table=response_table(filters),
    )


def dissociation_rows(rows: Iterable[tuple[Any, ...]]) -> tuple[DissociationRow, ...]:
    parsed = [DissociationRow(str(i), str(u), dose_key(v), int(n), round(float(m), 3)) for i, u, v, n, m in rows]
    return tuple(sorted(parsed, key=lambda r: (r.instrument, r.dose_unit, Decimal(r.dose_value))))
