"""The clinic outcomes dashboard, the patients behind each figure, and CSV exports (all audited).

Figures are aggregates and need ``VIEW_REPORTS``; a list of patients is chart data and needs ``VIEW_CHART`` as well
(a clinic admin sees the figures, not the names), is limited to patients the user may see, and is audited as a read
naming the patients listed.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Any

from django.db import transaction
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.http import urlencode

from ketaclinic.accounts.access import require
from ketaclinic.accounts.roles import Perm
from ketaclinic.audit.actions import Action, record
from ketaclinic.clinical import DEFAULT_POLICY, PROTOCOLS
from ketaclinic.courses.models import Indication
from ketaclinic.outcomes import charts
from ketaclinic.outcomes import definitions as d
from ketaclinic.outcomes.drilldown import UnknownFigure, figure_rows
from ketaclinic.outcomes.figures import Figures, Filters, dashboard_figures
from ketaclinic.outcomes.forms import FilterForm
from ketaclinic.outcomes.models import RefreshQueue
from ketaclinic.outcomes.rollup import refresh_pending
from ketaclinic.patients.models import Patient

PROTOCOL_TITLES = {p.id: p.title for p in PROTOCOLS.values()}
INDICATIONS = dict(Indication.choices)
#: Queued patients the dashboard refreshes before it answers; past this the job catches up and the page says so.
REFRESH_ON_READ_MAX = 5000
#: Rows a patient list shows on screen (the CSV has them all).
LIST_LIMIT = 500


def _form(request: HttpRequest) -> FilterForm:
    return FilterForm(request.GET, user=request.user)  # always bound: every field has a default


def _bad_filters(request: HttpRequest, form: FilterForm, template: str = "outcomes/dashboard.html") -> HttpResponse:
    return render(request, template, {"form": form, "figures": None}, status=400)


def _refresh() -> int:
    """Bring the rollups up to date if that is quick; returns how many patients are still queued."""
    pending = RefreshQueue.objects.count()
    if 0 < pending <= REFRESH_ON_READ_MAX:
        refresh_pending()
        return RefreshQueue.objects.count()
    return pending


def measure_context(filters: Filters) -> dict[str, str]:
    """What the course figures are measured on, in words, for the chosen indication (or all of them).

    ``measure``: "PHQ-9 for depression, GAD-7 for anxiety", or the chosen indication's instrument ("GAD-7");
    ``no_measure_reason``: why the chosen indication's courses cannot be judged at all (empty when they can).
    """
    if not filters.indication:
        return {"measure": d.MEASURES_TEXT, "no_measure_reason": ""}
    instrument = d.instrument_for(filters.indication)
    if instrument is None:
        reason = d.NOT_EVALUABLE.get(filters.indication, "no primary outcome for this indication")
        return {"measure": "", "no_measure_reason": reason}
    return {"measure": d.measure_name(instrument), "no_measure_reason": ""}


def _row_measure(indication: str) -> str:
    instrument = d.instrument_for(indication)
    if instrument is None:
        return f"not evaluable: {d.NOT_EVALUABLE.get(indication, 'no primary outcome for this indication')}"
    return d.measure_name(instrument)


def dashboard(request: HttpRequest) -> HttpResponse:
    """The clinic's outcomes for the chosen range, site, protocol, route and indication."""
    require(request.user, Perm.VIEW_REPORTS)  # type: ignore[arg-type]
    form = _form(request)
    if not form.is_valid():
        return _bad_filters(request, form)
    pending = _refresh()
    filters = form.filters()
    figures = dashboard_figures(filters)
    query = form.query()
    record(Action.VIEW, object_type="outcomes.dashboard", detail={"filters": query})
    context = {
        **measure_context(filters),
        "indication_label": INDICATIONS.get(filters.indication, filters.indication),
        "response_pct": DEFAULT_POLICY.response_reduction_pct,
        "measures_all": d.MEASURES_TEXT,
        "form": form,
        "figures": figures,
        "pending": pending,
        "query": urlencode(query),
        "may_list": request.user.can(Perm.VIEW_CHART),  # type: ignore[union-attr]
        "km_svg": charts.km_svg(figures.km),
        "dissociation_charts": [
            (instrument, charts.dissociation_svg(figures.dissociation, instrument))
            for instrument in sorted({row.instrument for row in figures.dissociation})
        ],
        "rates": [
            (name, label, count, figures.per_100_sessions(count))
            for name, label, count in (
                ("alerts", "Alerts", figures.alerts),
                ("urgent_alerts", "Urgent alerts", figures.urgent_alerts),
                ("adverse_events", "Adverse events", figures.adverse_events),
                ("serious_adverse_events", "Serious adverse events", figures.serious_adverse_events),
            )
        ],
        "response_rows": [
            (
                row,
                PROTOCOL_TITLES.get(row.protocol, row.protocol),
                INDICATIONS.get(row.indication, row.indication),
                _row_measure(row.indication),
            )
            for row in figures.response_table
        ],
        "generated_at": timezone.now(),
    }
    return render(request, "outcomes/dashboard.html", context)


def _figure_patients(request: HttpRequest) -> tuple[FilterForm, str, Any, list[Any]]:
    require(request.user, Perm.VIEW_REPORTS)  # type: ignore[arg-type]
    require(request.user, Perm.VIEW_CHART)  # type: ignore[arg-type]
    form = _form(request)
    name = request.GET.get("figure", "")
    if not form.is_valid():
        return form, name, None, []
    _refresh()
    figure, rows = figure_rows(name, form.filters(), request.GET.dict())
    visible = Patient.objects.visible_to(request.user)
    listed = list(
        rows.filter(patient__in=visible)
        .select_related("patient", "site")
        .order_by("patient__legal_last_name", "patient__legal_first_name", "patient_id", "pk")
    )
    return form, name, figure, listed


def figure_patients(request: HttpRequest) -> HttpResponse:
    """The patients (courses or sessions) behind one dashboard figure."""
    try:
        form, name, figure, listed = _figure_patients(request)
    except UnknownFigure as error:
        return render(request, "outcomes/patients.html", {"error": str(error)}, status=400)
    if figure is None:
        return _bad_filters(request, form)
    patient_ids = sorted({row.patient_id for row in listed})
    record(
        Action.LIST,
        object_type="outcomes.figure_patients",
        detail={"figure": name, "filters": form.query(), "patient_ids": patient_ids},
    )
    extra = {k: v for k, v in request.GET.dict().items() if k not in form.fields}
    query = urlencode({**form.query(), **extra})
    return render(
        request,
        "outcomes/patients.html",
        {
            "form": form,
            "name": name,
            "figure": figure,
            "rows": listed[:LIST_LIMIT],
            "total": len(listed),
            "patients": len(patient_ids),
            "limit": LIST_LIMIT,
            "query": query,
            "back": urlencode(form.query()),
        },
    )


class _Echo:
    def write(self, value: str) -> str:
        return value


def _csv(name: str, rows: Iterator[list[Any]]) -> StreamingHttpResponse:
    writer = csv.writer(_Echo())
    response = StreamingHttpResponse((writer.writerow(row) for row in rows), content_type="text/csv; charset=utf-8")
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="{name}-{stamp}.csv"'
    return response


def export_figures(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    """The dashboard's figures as CSV (one figure a line); the export is audited with its filters."""
    require(request.user, Perm.VIEW_REPORTS)  # type: ignore[arg-type]
    form = _form(request)
    if not form.is_valid():
        return _bad_filters(request, form)
    _refresh()
    figures = dashboard_figures(form.filters())
    with transaction.atomic():
        record(Action.EXPORT, object_type="outcomes.dashboard", detail={"filters": form.query(), "format": "csv"})
    return _csv("outcomes", iter(figure_lines(figures)))


def figure_lines(figures: Figures) -> list[list[Any]]:
    """The figures as (section, figure, group, value, denominator, instrument) lines.

    ``instrument`` is what a course figure was measured on: the instruments of the courses it counts (``gad7+phq9``
    when both), a response-table row's own; empty for session figures and for courses without a measure.
    """
    m = "+".join(i for i, n in figures.evaluable_by_instrument if n)
    lines: list[list[Any]] = [["section", "figure", "group", "value", "denominator", "instrument"]]
    lines += [
        ["sessions", "patients_treated", "", figures.patients_treated, "", ""],
        ["sessions", "dosed_sessions", "", figures.sessions, "", ""],
        ["sessions", "alerts_per_100_sessions", "", figures.per_100_sessions(figures.alerts), figures.sessions, ""],
        ["sessions", "urgent_alerts_per_100_sessions", "", figures.per_100_sessions(figures.urgent_alerts),
         figures.sessions, ""],
        ["sessions", "adverse_events_per_100_sessions", "", figures.per_100_sessions(figures.adverse_events),
         figures.sessions, ""],
        ["sessions", "serious_adverse_events_per_100_sessions", "",
         figures.per_100_sessions(figures.serious_adverse_events), figures.sessions, ""],
        ["courses", "courses_started", "", figures.courses, "", ""],
        ["courses", "not_evaluable_no_primary_outcome", "", figures.without_measure, figures.courses, ""],
        ["courses", "evaluable_at_end_of_induction", "", figures.evaluable, figures.courses, m],
        *(["courses", "evaluable_at_end_of_induction", i, n, figures.evaluable, i]
          for i, n in figures.evaluable_by_instrument),
        ["courses", "response_pct", "", figures.response_pct, figures.evaluable, m],
        ["courses", "remission_pct", "", figures.remission_pct, figures.evaluable, m],
        ["courses", "median_sessions_to_response", "", figures.median_sessions_to_response, figures.responded, m],
        ["courses", "median_days_to_loss_of_response", "", figures.median_days_to_loss, figures.responded, m],
    ]  # fmt: skip
    for row in figures.response_table:
        group = f"{row.protocol}/{row.indication}"
        instrument = d.instrument_for(row.indication) or ""
        lines.append(["response_table", "response_pct", group, row.response_pct, row.evaluable, instrument])
        lines.append(["response_table", "remission_pct", group, row.remission_pct, row.evaluable, instrument])
    for dz in figures.dissociation:
        group = f"{dz.instrument} {dz.dose_value} {dz.dose_unit}"
        lines.append(["dissociation", "mean_peak", group, dz.mean_peak, dz.sessions, ""])
    for step in figures.km:
        lines.append(["km", "still_responding", f"day {step.time:g}", round(step.survival, 4), step.at_risk, m])
    return lines


def export_patients(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    """The patients behind one figure as CSV; audited as an export naming the patients."""
    try:
        form, name, figure, listed = _figure_patients(request)
    except UnknownFigure as error:
        return render(request, "outcomes/patients.html", {"error": str(error)}, status=400)
    if figure is None:
        return _bad_filters(request, form)
    patient_ids = sorted({row.patient_id for row in listed})
    with transaction.atomic():
        record(
            Action.EXPORT,
            object_type="outcomes.figure_patients",
            detail={"figure": name, "filters": form.query(), "patient_ids": patient_ids, "format": "csv"},
        )

    def rows() -> Iterator[list[Any]]:
        if figure.kind == "course":
            yield ["mrn", "patient", "site", "course", "protocol", "indication", "instrument", "first_dose",
                   "sessions", "baseline", "end_of_induction_score", "response", "remission", "sessions_to_response",
                   "lost_response"]  # fmt: skip
            for r in listed:
                yield [r.patient.mrn, r.patient.legal_name, r.site.code, r.course_id, r.protocol, r.indication,
                       r.instrument,
                       r.first_dose_at.date().isoformat() if r.first_dose_at else "", r.sessions, r.baseline_score,
                       r.eoi_score, r.eoi_response, r.eoi_remission, r.sessions_to_response,
                       r.lost_response]  # fmt: skip
        else:
            yield ["mrn", "patient", "site", "course", "session", "dosed_at", "dose", "unit", "alerts",
                   "adverse_events", "dissociation_instrument", "dissociation_peak"]  # fmt: skip
            for r in listed:
                yield [r.patient.mrn, r.patient.legal_name, r.site.code, r.course_id, r.session_id,
                       r.dosed_at.isoformat(), r.dose_value, r.dose_unit, r.alerts, r.adverse_events,
                       r.dissociation_instrument, r.dissociation_max]  # fmt: skip

    return _csv(f"outcomes-{name}", rows())
