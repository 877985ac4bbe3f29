"""The audit trail screen: filter by patient, user, action and date; export what is shown as CSV."""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterator

from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils import timezone

from ketaclinic.accounts.access import require, sites_for
from ketaclinic.accounts.roles import Perm
from ketaclinic.audit.actions import Action, record
from ketaclinic.audit.forms import AuditFilterForm
from ketaclinic.audit.models import AuditEvent

PAGE_SIZE = 50
CSV_COLUMNS = [
    "occurred_at_utc",
    "user",
    "acting_role",
    "site",
    "action",
    "object_type",
    "object_id",
    "patient_id",
    "ip_address",
    "outcome",
    "path",
]


def _filtered(request: HttpRequest) -> tuple[AuditFilterForm, QuerySet[AuditEvent]]:
    require(request.user, Perm.VIEW_AUDIT)  # type: ignore[arg-type]
    form = AuditFilterForm(request.GET or None)
    events: QuerySet[AuditEvent] = AuditEvent.objects.for_sites(sites_for(request.user)).select_related("site")
    if form.is_bound and form.is_valid():
        site = getattr(request, "site", None)
        events = form.apply(events, site.zone if site else timezone.get_current_timezone())
    elif form.is_bound:
        events = events.none()
    return form, events


def events(request: HttpRequest) -> HttpResponse:
    form, queryset = _filtered(request)
    page = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    status = 400 if form.is_bound and form.errors else 200
    return render(
        request,
        "audit/events.html",
        {"form": form, "page": page, "query": query.urlencode()},
        status=status,
    )


class _Echo:
    def write(self, value: str) -> str:
        return value


def export_csv(request: HttpRequest) -> HttpResponseBase:
    """Stream the filtered events as CSV; the export itself is audited with its filters."""
    form, queryset = _filtered(request)
    if form.is_bound and form.errors:
        return render(request, "audit/events.html", {"form": form, "page": None, "query": ""}, status=400)
    filters = {k: v for k, v in request.GET.items() if k in form.fields and v}
    with transaction.atomic():
        record(Action.EXPORT, object_type="audit.auditevent", detail={"filters": filters, "format": "csv"})

    writer = csv.writer(_Echo())

    def rows() -> Iterator[str]:
        yield writer.writerow(CSV_COLUMNS)
        for e in queryset.iterator(chunk_size=2000):
            yield writer.writerow(
                [
                    e.occurred_at.astimezone(dt.UTC).isoformat(),
                    e.actor_username,
                    e.acting_role,
                    e.site.code if e.site else "",
                    e.action,
                    e.object_type,
                    e.object_id,
                    e.patient_id or "",
                    e.ip_address or "",
                    e.outcome,
                    e.path,
                ]
            )

    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="audit-{stamp}.csv"'
    return response
