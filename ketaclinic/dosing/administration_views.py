"""The session page's dose panel and its endpoints: start the dose, IV rate changes, pause, resume, stop, esketamine
devices, and waste of drug drawn up for the dose. Thin views: access, form, action, render.

Bad input re-renders the session page with the error next to the field and what was typed kept (400; a witness's
password is never sent back); a stale ``version`` answers 409. Only staff who administer doses may post here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib.auth import authenticate
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from ketaclinic.accounts.roles import Perm
from ketaclinic.dosing import administration as adm
from ketaclinic.dosing import administration_forms as f
from ketaclinic.dosing import stock
from ketaclinic.dosing.access import access_session
from ketaclinic.dosing.actions import DosingError, StaleSessionError, dosing_allowed
from ketaclinic.dosing.models import DoseAdministration, DosingSession, SessionState

S = SessionState
#: States before the dose, in which the panel shows the dose computed for today.
BEFORE_DOSE = frozenset({S.CHECKED_IN, S.CLEARED, S.REVIEW, S.ON_HOLD})


def _build(name: str, session: DosingSession, user: Any, data: Any = None) -> forms.Form:
    """The panel's form ``name`` (bound to ``data`` when given), at the session's version."""
    kwargs: dict[str, Any] = {"prefix": f"dose_{name}"}
    if data is None:
        kwargs["initial"] = {"version": session.version}
    site = {"site": session.site, "user": user}
    if name == "start":
        return f.StartDoseForm(data, route=session.route, **site, **kwargs)
    if name in ("stop", "waste"):
        cls: Any = f.StopInfusionForm if name == "stop" else f.DoseWasteForm
        return cls(data, **site, **kwargs)
    simple: dict[str, type[forms.Form]] = {
        "rate": f.RateForm,
        "pause": f.PauseForm,
        "resume": f.ResumeForm,
        "device": f.DeviceForm,
        "stop_devices": f.StopDevicesForm,
    }
    return simple[name](data, **kwargs)


FORM_NAMES = ("start", "rate", "pause", "resume", "stop", "device", "stop_devices", "waste")


def _lot_options(today: adm.TodayDose, session: DosingSession) -> list[dict[str, Any]]:
    """For each concentration in stock: the volume to draw and (IV) the pump rate with the default diluent."""
    local_day = timezone.now().astimezone(session.site.zone).date()
    lots: Any = stock.site_lots(session.site).filter(drug=today.drug, expires_on__gte=local_day)
    options = []
    for concentration in sorted({lot.concentration_mg_per_ml for lot in lots if lot.concentration_mg_per_ml}):
        options.append(
            {
                "concentration": concentration,
                "volume_ml": today.volume_ml(concentration),
                "rate_ml_per_h": today.rate_ml_per_h(concentration, adm.DEFAULT_DILUENT_ML),
            }
        )
    return options


def panel_context(session: DosingSession, user: Any, bound: dict[str, forms.Form] | None = None) -> dict[str, Any]:
    """What the session page's administration panel needs (dosing/panels/administration.html), as ``dose_panel``."""
    can = bool(user.can(Perm.ADMINISTER_DOSE))
    now = timezone.now()
    ctx: dict[str, Any] = {"can_administer": can, "now": now}
    record = (
        DoseAdministration.objects.filter(session=session)
        .select_related("lot", "administered_by", "witnessed_by", "order__ordered_by")
        .first()
    )
    ctx["record"] = record
    if record is None:
        if session.state in BEFORE_DOSE:
            try:
                today = adm.dose_for_today(session)
            except DosingError as error:
                ctx["dose_error"] = f"{error.message[:1].upper()}{error.message[1:]}."
            else:
                ctx["today"] = today
                ctx["lot_options"] = _lot_options(today, session)
                ctx["may_start"] = can and dosing_allowed(session)
    else:
        ctx["rate_changes"] = list(record.rate_changes.select_related("by"))
        ctx["devices"] = list(record.devices.select_related("by"))
        ctx["movements"] = list(record.movements.select_related("by", "witness").order_by("at", "id"))
        ctx["running"] = record.stopped_at is None and session.state == SessionState.DOSING
        ctx["elapsed_min"] = int(((record.stopped_at or now) - record.started_at) / dt.timedelta(minutes=1))
        if record.route == "iv":
            ctx["rate_now"] = adm.current_rate(record)
            ctx["paused"] = ctx["running"] and ctx["rate_now"] == 0
            ctx["infused_mg"] = adm.infused_mg(record, record.stopped_at or now)
            if record.planned_duration_min:
                ctx["planned_end"] = record.started_at + dt.timedelta(minutes=float(record.planned_duration_min))
        if record.route == "esketamine_nasal":
            ctx["devices_ordered"] = adm.devices_ordered(record)
            upcoming = adm.next_device(record) if ctx["running"] else None
            if upcoming is not None:
                ctx["next_device"], ctx["next_device_at"] = upcoming
                ctx["next_device_ready"] = upcoming[1] is None or upcoming[1] <= now
    built = {name: (bound or {}).get(name) or _build(name, session, user) for name in FORM_NAMES}
    if record is not None and "infused_mg" in ctx and ctx["running"]:
        built["stop"].fields["amount_given_mg"].help_text = (
            f"Blank: the whole dose ({stock.fmt_mg(record.amount_mg)} mg, it ran to completion). "
            f"By the rates recorded about {stock.fmt_mg(ctx['infused_mg'])} mg has gone in so far."
        )
    ctx["forms"] = built
    return {"dose_panel": ctx}


def witness_authenticated(request: HttpRequest, form: forms.Form) -> bool:
    """Check a typed witness password through the sign-in backends, so repeated wrong passwords are throttled and
    locked out (django-axes) and audited as failed sign-ins like any other; adds the error to the form when wrong.

    Blank witness or password is left to the action (which names the missing field).
    """
    data = form.cleaned_data
    witness, password = data.get("witness"), data.get("witness_password")
    if witness is None or not password:
        return True
    user = authenticate(request, username=witness.get_username(), password=password)
    # django-axes marks the request when this attempt locks the account; answer with this page, not its sign-in page.
    locked = bool(getattr(request, "axes_locked_out", False))
    request.axes_locked_out = False  # type: ignore[attr-defined]
    if user is not None and user.pk == witness.pk:
        return True
    message = (
        f"Too many wrong passwords for {witness}: their account is locked for a while. Choose another witness."
        if locked
        else f"The password of {witness} is not correct; they type it themselves."
    )
    form.add_error("witness_password", message)
    return False


def _session_url(session: DosingSession) -> str:
    return reverse("dosing:session", args=[session.patient_id, session.pk]) + "#administration"


def _handle(
    request: HttpRequest, patient_id: int, session_id: int, name: str, act: Callable[[DosingSession, Any], object]
) -> HttpResponse:
    from ketaclinic.dosing import views  # the session page's context; views imports this module

    session = access_session(request.user, patient_id, session_id, need=Perm.ADMINISTER_DOSE, write=True)
    form = _build(name, session, request.user, request.POST)
    status = 400
    if form.is_valid() and witness_authenticated(request, form):
        try:
            act(session, form)
        except StaleSessionError as stale:
            session = stale.session
            data = request.POST.copy()
            data[f"dose_{name}-version"] = str(session.version)
            form = _build(name, session, request.user, data)
            form.is_valid()
            form.add_error(
                None,
                "Someone else changed this session while you were typing (it is now "
                f"{session.get_state_display().lower()}). Your entries are kept: check the page and submit again.",
            )
            status = 409
        except DosingError as error:
            field = error.field if error.field in form.fields else None
            label = "" if field else f"{error.field.replace('_', ' ').capitalize()}: "
            form.add_error(field, f"{label}{error.message[:1].upper()}{error.message[1:]}.")
        else:
            return redirect(_session_url(session))
    session.refresh_from_db()
    context = views._context(request, session, {})
    context.update(panel_context(session, request.user, {name: form}))
    return render(request, "dosing/session.html", context, status=status)


def _version(form: Any) -> int:
    return int(form.cleaned_data["version"])


def _zone(session: DosingSession) -> dt.tzinfo:
    return session.site.zone


@require_POST
def start_dose(request: HttpRequest, patient_id: int, session_id: int) -> HttpResponse:
    def act(session: DosingSession, form: Any) -> object:
        data = form.cleaned_data
        extra: dict[str, Any] = {}
        if "diluent" in form.fields:
            extra = {"diluent": data["diluent"], "diluent_ml": data["diluent_ml"]}
        if "site_of_administration" in form.fields:
            extra["site_of_administration"] = data["site_of_administration"]
        return adm.start_dose(
            session,
            by=request.user,
            lot=data["lot"],
            witness=data["witness"],
            witness_password=data["witness_password"],
            started_at=f.local_time(data["started_at"], _zone(session)),
            version=_version(form),
            **extra,
        )

    return _handle(request, patient_id, session_id, "start", act)


@require_POST
def change_rate(request: HttpRequest, patient_id: int, session_id: int) -> HttpResponse:
    def act(session: DosingSession, form: Any) -> object:
        data = form.cleaned_data
        return adm.change_rate(
            session,
            by=request.user,
            rate_ml_per_h=data["rate_ml_per_h"],
            reason=data["reason"],
            at=f.local_time(data["at"], _zone(session)),
            version=_version(form),
        )

    return _handle(request, patient_id, session_id, "rate", act)


@require_POST
def pause_infusion(request: HttpRequest, patient_id: int, session_id: int) -> HttpResponse:
    def act(session: DosingSession, form: Any) -> object:
        return adm.pause_infusion(session, by=request.user, reason=form.cleaned_data["reason"], version=_version(form))

    return _handle(request, patient_id, session_id, "pause", act)


@require_POST
def resume_infusion(request: HttpRequest, patient_id: int, session_id: int) -> HttpResponse:
    def act(session: DosingSession, form: Any) -> object:
        return adm.resume_infusion(session, by=request.user, version=_version(form))

    return _handle(request, patient_id, session_id, "resume", act)


@require_POST
def stop_infusion(request: HttpRequest, patient_id: int, session_id: int) -> HttpResponse:
    def act(session: DosingSession, form: Any) -> object:
        data = form.cleaned_data
        return adm.stop_infusion(
            session,
            by=request.user,
            stopped_at=f.local_time(data["stopped_at"], _zone(session)),
            amount_given_mg=data["amount_given_mg"],
            reason=data["reason"],
            witness=data["witness"],
            witness_password=data["witness_password"],
            version=_version(form),
        )

    return _handle(request, patient_id, session_id, "stop", act)


@require_POST
def record_device(request: HttpRequest, patient_id: int, session_id: int) -> HttpResponse:
    def act(session: DosingSession, form: Any) -> object:
        at = f.local_time(form.cleaned_data["at"], _zone(session))
        return adm.record_device(session, by=request.user, at=at, version=_version(form))

    return _handle(request, patient_id, session_id, "device", act)


@require_POST
def stop_devices(request: HttpRequest, patient_id: int, session_id: int) -> HttpResponse:
    def act(session: DosingSession, form: Any) -> object:
        return adm.stop_devices(session, by=request.user, reason=form.cleaned_data["reason"], version=_version(form))

    return _handle(request, patient_id, session_id, "stop_devices", act)


@require_POST
def waste_dose(request: HttpRequest, patient_id: int, session_id: int) -> HttpResponse:
    def act(session: DosingSession, form: Any) -> object:
        record = DoseAdministration.objects.filter(session=session).first()
        if record is None:
            raise DosingError("dose", "waste of a dose is recorded once the dose has started")
        data = form.cleaned_data
        return stock.record_waste(
            record.lot,
            by=request.user,
            witness=data["witness"],
            witness_password=data["witness_password"],
            amount_mg=data["amount_mg"],
            reason=data["reason"],
            administration=record,
        )

    return _handle(request, patient_id, session_id, "waste", act)


@require_GET
def dose_panel(request: HttpRequest, patient_id: int, session_id: int) -> HttpResponse:
    """The panel alone, for the htmx refresh while a dose runs (elapsed time, the next device)."""
    session = access_session(request.user, patient_id, session_id)
    context = {"patient": session.patient, "session": session, "zone": session.site.time_zone}
    context.update(panel_context(session, request.user))
    return render(request, "dosing/panels/administration.html", context)


#: Session-scoped URLs, mounted under /patients/<patient_id>/sessions/ with the namespace dosing.
urlpatterns: list[URLPattern] = [
    path("<int:session_id>/dose/", dose_panel, name="dose_panel"),
    path("<int:session_id>/dose/start/", start_dose, name="dose_start"),
    path("<int:session_id>/dose/rate/", change_rate, name="dose_rate"),
    path("<int:session_id>/dose/pause/", pause_infusion, name="dose_pause"),
    path("<int:session_id>/dose/resume/", resume_infusion, name="dose_resume"),
    path("<int:session_id>/dose/stop/", stop_infusion, name="dose_stop"),
    path("<int:session_id>/dose/device/", record_device, name="dose_device"),
    path("<int:session_id>/dose/stop-devices/", stop_devices, name="dose_stop_devices"),
    path("<int:session_id>/dose/waste/", waste_dose, name="dose_waste"),
]
