"""The controlled-substance log of the acting site: lots on hand, receiving, waste, returns, two-person counts, each
lot's ledger with its running balance, and the CSV export (audited).

Nurses and prescribers (who administer doses) read and record; clinic admins read and export; other roles get 403.
A lot of another site answers 404. Bad input re-renders the page with 400 and what was typed kept (never a witness's
password).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from ketaclinic.accounts.models import Site
from ketaclinic.dosing import administration_forms as f
from ketaclinic.dosing import stock
from ketaclinic.dosing.actions import DosingError
from ketaclinic.dosing.administration_views import witness_authenticated
from ketaclinic.dosing.models import DrugLot


def _site(request: HttpRequest, *, write: bool = False) -> Site:
    user: Any = request.user
    allowed = stock.may_record(user) if write else stock.may_read(user)
    if not allowed:
        raise PermissionDenied("Your role does not allow this: the controlled-substance log.")
    site = getattr(request, "site", None)
    if site is None:
        raise Http404("No site.")
    return site


def _lot(site: Site, lot_id: int) -> Any:
    found = stock.with_balances(DrugLot.objects.filter(site=site, pk=lot_id)).select_related("received_by").first()
    if found is None:
        raise Http404("No such lot.")
    return found


def _error(form: forms.Form, error: DosingError) -> None:
    field = error.field if error.field in form.fields else None
    label = "" if field else f"{error.field.replace('_', ' ').capitalize()}: "
    form.add_error(field, f"{label}{error.message[:1].upper()}{error.message[1:]}.")


# --- The list of lots -------------------------------------------------------------------------------------------


def _list(request: HttpRequest, site: Site, receive_form: forms.Form | None = None, status: int = 200) -> HttpResponse:
    today = timezone.now().astimezone(site.zone).date()
    include_empty = request.GET.get("all") == "1"
    lots = list(stock.site_lots(site, include_empty=include_empty))
    for lot in lots:
        lot.flag = stock.expiry_flag(lot, today)  # type: ignore[attr-defined]
    context = {
        "site": site,
        "lots": lots,
        "include_empty": include_empty,
        "soon_days": stock.SOON_DAYS,
        "can_record": stock.may_record(request.user),
        "receive_form": receive_form or f.ReceiveForm(),
    }
    return render(request, "dosing/stock/list.html", context, status=status)


@require_GET
def stock_list(request: HttpRequest) -> HttpResponse:
    """Lots on hand at the acting site: received, administered, wasted, returned, adjustments, on hand, expiry."""
    return _list(request, _site(request))


@require_POST
def receive(request: HttpRequest) -> HttpResponse:
    site = _site(request, write=True)
    form = f.ReceiveForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            movement = stock.receive_lot(site, by=request.user, **data)
        except DosingError as error:
            _error(form, error)
        else:
            return redirect(reverse("dosing_site:stock_lot", args=[movement.lot_id]))
    return _list(request, site, form, status=400)


# --- One lot ------------------------------------------------------------------------------------------------------

LOT_FORMS = ("waste", "return", "count")


def _lot_form(name: str, site: Site, user: Any, data: Any = None) -> forms.Form:
    if name == "return":
        return f.ReturnForm(data, prefix=name)
    cls: Any = f.LotWasteForm if name == "waste" else f.CountForm
    return cls(data, prefix=name, site=site, user=user)


def _lot_page(
    request: HttpRequest, site: Site, lot: Any, bound: dict[str, forms.Form] | None = None, status: int = 200
) -> HttpResponse:
    today = timezone.now().astimezone(site.zone).date()
    context = {
        "site": site,
        "lot": lot,
        "flag": stock.expiry_flag(lot, today),
        "movements": list(stock.ledger(lot)),
        "counts": list(lot.counts.select_related("by", "witness").order_by("-at", "-id")),
        "can_record": stock.may_record(request.user),
        "forms": {n: (bound or {}).get(n) or _lot_form(n, site, request.user) for n in LOT_FORMS},
    }
    return render(request, "dosing/stock/lot.html", context, status=status)


@require_GET
def lot_detail(request: HttpRequest, lot_id: int) -> HttpResponse:
    """A lot's ledger (each movement with who, witness and the running balance) and its counts."""
    site = _site(request)
    return _lot_page(request, site, _lot(site, lot_id))


def _handle(request: HttpRequest, lot_id: int, name: str, act: Callable[[Any, Any], object]) -> HttpResponse:
    site = _site(request, write=True)
    lot = _lot(site, lot_id)
    form = _lot_form(name, site, request.user, request.POST)
    if form.is_valid() and witness_authenticated(request, form):
        try:
            act(lot, form)
        except DosingError as error:
            _error(form, error)
        else:
            return redirect(reverse("dosing_site:stock_lot", args=[lot.pk]))
    return _lot_page(request, site, _lot(site, lot_id), {name: form}, status=400)


@require_POST
def waste(request: HttpRequest, lot_id: int) -> HttpResponse:
    def act(lot: Any, form: Any) -> object:
        data = form.cleaned_data
        return stock.record_waste(
            lot,
            by=request.user,
            witness=data["witness"],
            witness_password=data["witness_password"],
            amount_mg=data["amount_mg"],
            reason=data["reason"],
        )

    return _handle(request, lot_id, "waste", act)


@require_POST
def return_stock(request: HttpRequest, lot_id: int) -> HttpResponse:
    def act(lot: Any, form: Any) -> object:
        data = form.cleaned_data
        return stock.return_stock(lot, by=request.user, amount_mg=data["amount_mg"], reason=data["reason"])

    return _handle(request, lot_id, "return", act)


@require_POST
def count(request: HttpRequest, lot_id: int) -> HttpResponse:
    def act(lot: Any, form: Any) -> object:
        data = form.cleaned_data
        return stock.count_lot(
            lot,
            by=request.user,
            witness=data["witness"],
            witness_password=data["witness_password"],
            counted_mg=form.counted_mg(lot),
            note=data["note"],
        )

    return _handle(request, lot_id, "count", act)


@require_GET
def export(request: HttpRequest) -> HttpResponse:
    """The site's log as CSV (one row per movement with the running balance); audited as an export."""
    site = _site(request)
    text = stock.export_csv(site, by=request.user)
    response = HttpResponse(text, content_type="text/csv; charset=utf-8")
    stamp = timezone.now().astimezone(site.zone).strftime("%Y-%m-%d")
    response["Content-Disposition"] = f'attachment; filename="controlled-substance-log-{site.code}-{stamp}.csv"'
    return response


#: Site-level URLs, mounted under /dosing/ with the namespace dosing_site.
urlpatterns: list[URLPattern] = [
    path("stock/", stock_list, name="stock"),
    path("stock/receive/", receive, name="stock_receive"),
    path("stock/export.csv", export, name="stock_export"),
    path("stock/<int:lot_id>/", lot_detail, name="stock_lot"),
    path("stock/<int:lot_id>/waste/", waste, name="stock_waste"),
    path("stock/<int:lot_id>/return/", return_stock, name="stock_return"),
    path("stock/<int:lot_id>/count/", count, name="stock_count"),
]
