"""The monitoring panel of the session page, its live fragment and the POST endpoints behind its forms.

The fragment (``dosing:monitor``) is polled every 15 s by every screen watching the session. It reads everything in
one query (:mod:`ketaclinic.dosing.monitoring_panel`) and checks access from what the middleware already loaded
(the reader's sites) and the roles that query returns, so a poll costs five statements: the Django session, the
user, the user's sites, the panel, and the audit row. When that quick check fails the view falls back to
``access_session``, which answers 404/403 and audits the refusal exactly as every other session view does.

Each form is an independent POST (``data-offline-safe``): success redirects to the panel; bad input re-renders the
session page with the error next to the field and what was typed kept (400); a stale version answers 409.
"""

from __future__ import annotations

from collections.abc import Callable
from operator import itemgetter
from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.template.loader import get_template
from django.urls import URLPattern, path, reverse
from django.views.decorators.http import require_GET, require_POST

from ketaclinic.accounts.roles import ROLE_PERMISSIONS, Perm, Role
from ketaclinic.audit.actions import Action, record
from ketaclinic.dosing import monitoring, monitoring_markup
from ketaclinic.dosing.access import AUDIT_AS, access_session
from ketaclinic.dosing.actions import DosingError, StaleSessionError
from ketaclinic.dosing.models import DosingSession, ScaleObservation, SessionAlert
from ketaclinic.dosing.monitoring_forms import AckForm, AdverseEventForm, MonitorVitalsForm, ScaleForm, at_today
from ketaclinic.dosing.monitoring_panel import (
    V_BASELINE,
    V_DBP,
    V_EPOCH,
    V_HR,
    V_RR,
    V_SBP,
    V_SPO2,
    Panel,
    load_panel,
    phq9_points,
)
from ketaclinic.dosing.svg import Columns, vitals_chart_columns

TEMPLATE = "dosing/panels/_monitor_live.html"
SCALES = tuple(ScaleObservation.Instrument.values)
#: The scales shown open on the panel; the others are folded away.
QUICK_SCALES = ("moaas", "cadss6")
#: How many of the latest readings the table lists (the chart shows all of them).
TABLE_ROWS = 15
#: The fields of a reading the chart draws, in :class:`~ketaclinic.dosing.svg.Columns` order (epoch for minutes).
_CHART_FIELDS = itemgetter(V_EPOCH, V_SBP, V_DBP, V_HR, V_SPO2, V_RR)
#: Capabilities a reader of the panel needs (visible patient, session-day records).
NEEDS = (Perm.VIEW_DEMOGRAPHICS, Perm.RECORD_SESSION)


# --- Reading the panel ------------------------------------------------------------------------------------------


def _roles_allow(user: Any, roles: list[str]) -> bool:
    if not getattr(user, "is_active", False):
        return False
    if user.is_superuser:
        return True
    granted: set[Perm] = set()
    for name in roles:
        if name in {r.value for r in Role}:
            granted |= ROLE_PERMISSIONS[Role(name)]
    return all(perm in granted for perm in NEEDS)


def _acting_role(user: Any, roles: list[str]) -> str:
    names = [r.value for r in Role if r.value in roles]
    return ",".join(names) or ("superuser" if user.is_superuser else "")


def _chart(panel: Panel) -> Any:
    # Before the dose starts, the baseline alone is drawn, at minute 0. Minutes come from the readings' epoch seconds
    # (the chart needs no more than a pixel's precision).
    start = panel.start.timestamp() if panel.start is not None else None
    rows = panel.vitals if start is not None else [r for r in panel.vitals if r[V_BASELINE]]
    if rows:
        epoch, *readings = zip(*map(_CHART_FIELDS, rows), strict=True)
        minutes = [(e - start) / 60 for e in epoch] if start is not None else [0.0] * len(rows)
        columns = Columns(minutes, *readings)
    else:
        columns = Columns([], [], [], [], [], [])
    base = panel.baseline
    line = panel.timeline
    assert line is not None
    finished = panel.state not in monitoring.MONITOR_STATES
    ticks = [
        (s.timepoint.minute, "missed" if finished and s.state.value == "overdue" else s.state.value, s.timepoint.label)
        for s in line.statuses
    ]
    alerts = [(a.minute, a.level, a.message) for a in panel.alerts if a.minute is not None]
    end = max((t[0] for t in ticks), default=60)
    return vitals_chart_columns(
        columns,
        baseline=(base.systolic_mmhg, base.diastolic_mmhg) if base else None,
        ticks=ticks,
        alerts=alerts,
        end_minute=end,
    )


def _forms(panel: Panel, bound: dict[str, Any]) -> dict[str, Any]:
    version = {"version": panel.version}
    out: dict[str, Any] = {
        "vitals": bound.get("vitals") or MonitorVitalsForm(prefix="mvitals", initial=dict(version), last=panel.last),
        "event": bound.get("event") or AdverseEventForm(prefix="mevent", initial=dict(version)),
        "scales": [
            bound.get(f"scale-{name}") or ScaleForm(prefix=f"m{name}", instrument=name, initial=dict(version))
            for name in SCALES
        ],
    }
    acks = {}
    for alert in panel.open_alerts:
        acks[alert.id] = bound.get(f"ack-{alert.id}") or AckForm(
            prefix=f"ack{alert.id}", initial=dict(version), route=panel.route
        )
    out["acks"] = acks
    # An acknowledgement refused because the alert is no longer open has no form left to show its error on.
    out["ack_errors"] = [
        error
        for key, form in bound.items()
        if key.startswith("ack-") and int(key[4:]) not in acks
        for error in form.non_field_errors()
    ]
    return out


def context_for(
    panel: Panel, *, allowed: bool, patient_id: int, zone: str, bound: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The panel template's context (no queries: everything comes from ``panel``). ``allowed``: the reader may
    record session-day observations."""
    line = panel.timeline
    assert line is not None
    writable = allowed and panel.state in monitoring.MONITOR_STATES
    forms_ = _forms(panel, bound or {}) if writable else {}
    open_alerts = panel.open_alerts
    rows = panel.latest_in_session(TABLE_ROWS)
    live = panel.state in monitoring.MONITOR_STATES
    return {
        "mon": panel,
        "mon_patient_id": patient_id,
        "mon_writable": writable,
        "mon_live": live,
        "mon_show": panel.state in monitoring.MONITOR_STATES or panel.state == "discharged",
        "mon_zone": zone,
        "mon_chart": _chart(panel),
        "mon_timeline": line,
        # A finished session's overdue timepoints can no longer be done: they are listed as missed, not as a task.
        "mon_overdue": line.overdue if live else [],
        "mon_missed": [] if live else line.overdue,
        "mon_rows": rows,
        "mon_in_session": panel.in_session_count,
        "mon_baseline": panel.baseline,
        "mon_table": monitoring_markup.readings_rows(rows, zone),
        "mon_timepoints": monitoring_markup.timepoint_items(line.statuses, finished=not live),
        "mon_scales": monitoring_markup.scale_items(panel.scales, zone),
        "mon_open_alerts": [(a, forms_.get("acks", {}).get(a.id)) for a in open_alerts],
        "mon_urgent": any(a.level == "urgent" for a in open_alerts),
        "mon_forms": forms_,
        "mon_quick_scales": QUICK_SCALES,
        "mon_phq9": phq9_points(panel),
        "mon_phq9_strip": monitoring_markup.phq9_strip(panel.phq9, zone),
        "mon_note": panel.note,
    }


def panel_context(session: DosingSession, user: Any) -> dict[str, Any]:
    """What the session page's monitoring panel needs (dosing/panels/monitoring.html): one query."""
    panel = load_panel(session.pk, session.patient_id, [session.site_id], getattr(user, "pk", None))
    assert panel is not None  # the session was reached through access_session
    bound = getattr(session, "_monitor_bound", None)
    allowed = bool(user.can(Perm.RECORD_SESSION))
    return context_for(panel, allowed=allowed, patient_id=session.patient_id, zone=session.site.time_zone, bound=bound)


@require_GET
def monitor_fragment(request: HttpRequest, patient_id: int, session_id: int) -> HttpResponse:
    """The live monitoring panel alone (what the session page polls every 15 s)."""
    return _fragment(request, patient_id, session_id)


def _fragment(request: HttpRequest, patient_id: int, session_id: int) -> HttpResponse:
    user: Any = request.user
    sites = list(getattr(request, "available_sites", []))
    panel = load_panel(session_id, patient_id, [s.pk for s in sites], user.pk)
    if panel is None or not _roles_allow(user, panel.roles):
        # The authoritative check: 404 (missing or another site), 403 (role), each audited; a user it lets through
        # (a capability granted outside the roles) gets the panel read the ordinary way.
        session = access_session(user, patient_id, session_id)
        panel = load_panel(session.pk, session.patient_id, [session.site_id], user.pk)
        assert panel is not None
        zone = session.site.time_zone
    else:
        site = next((s for s in sites if s.pk == panel.site_id), None)
        zone = site.time_zone if site is not None else "UTC"
        record(
            Action.VIEW,
            object_type=AUDIT_AS,
            object_id=patient_id,
            patient_id=patient_id,
            site=site,
            acting_role=_acting_role(user, panel.roles),
        )
    context = context_for(panel, allowed=True, patient_id=int(patient_id), zone=zone)
    if context["mon_writable"]:  # only a writable panel has forms (a token also sets the CSRF cookie on the answer)
        context["csrf_token"] = get_token(request)
    # Rendered without the request's context processors: they read the user's permissions and roles again.
    return HttpResponse(get_template(TEMPLATE).render(context))


# --- Writing ----------------------------------------------------------------------------------------------------


def panel_url(session: DosingSession) -> str:
    return reverse("dosing:session", args=[session.patient_id, session.pk]) + "#monitoring"


def _handle(
    request: HttpRequest,
    patient_id: int,
    session_id: int,
    key: str,
    make_form: Callable[[Any], forms.Form],
    act: Callable[[DosingSession, Any], object],
) -> HttpResponse:
    from ketaclinic.dosing.views import _context

    session = access_session(request.user, patient_id, session_id, need=Perm.RECORD_SESSION, write=True)
    form = make_form(request.POST)
    status = 400
    if form.is_valid():
        try:
            act(session, form)
        except StaleSessionError as stale:
            session = stale.session
            data = request.POST.copy()
            data[f"{form.prefix}-version"] = str(session.version)
            form = make_form(data)
            form.is_valid()
            form.add_error(
                None,
                "Someone else changed this session while you were typing (it is now "
                f"{session.get_state_display().lower()}). Your entries are kept: check them and save again.",
            )
            status = 409
        except DosingError as error:
            field = error.field if error.field in form.fields else None
            if field is None and " item " in error.field:
                field = error.field.rsplit(" ", 1)[-1]
                field = field if field in form.fields else None
            label = "" if field else f"{error.field.replace('_', ' ').capitalize()}: "
            form.add_error(field, f"{label}{error.message[:1].upper()}{error.message[1:]}.")
            status = 409 if error.field == "alert" else 400
        else:
            if getattr(request, "htmx", False):
                return _fragment(request, patient_id, session_id)
            return redirect(panel_url(session))
    session.refresh_from_db()
    session._monitor_bound = {key: form}  # type: ignore[attr-defined]
    return render(request, "dosing/session.html", _context(request, session, {}), status=status)


def _zone(session: DosingSession) -> Any:
    return session.site.zone


@require_POST
def record_vitals(request: HttpRequest, patient_id: int, session_id: int) -> HttpResponse:
    def act(session: DosingSession, form: Any) -> object:
        data = form.cleaned_data
        return monitoring.record_session_vitals(
            session,
            by=request.user,
            vitals=form.vitals(),
            taken_at=at_today(data.get("taken_at"), _zone(session)),
            client_token=data.get("client_token") or "",
            version=data["version"],
        )

    return _handle(
        request, patient_id, session_id, "vitals", lambda data: MonitorVitalsForm(data, prefix="mvitals"), act
    )


@require_POST
def record_scale(request: HttpRequest, patient_id: int, session_id: int, instrument: str) -> HttpResponse:
    if instrument not in SCALES:
        return HttpResponse(f"Instrument: one of {', '.join(SCALES)}.", status=404, content_type="text/plain")

    def act(session: DosingSession, form: Any) -> object:
        data = form.cleaned_data
        return monitoring.record_scale(
            session,
            by=request.user,
            instrument=instrument,
            answers=form.answers(),
            client_token=data.get("client_token") or "",
            version=data["version"],
        )

    return _handle(
        request,
        patient_id,
        session_id,
        f"scale-{instrument}",
        lambda data: ScaleForm(data, prefix=f"m{instrument}", instrument=instrument),
        act,
    )


@require_POST
def acknowledge(request: HttpRequest, patient_id: int, session_id: int, alert_id: int) -> HttpResponse:
    def act(session: DosingSession, form: Any) -> object:
        alert = SessionAlert.objects.filter(session=session, pk=alert_id).first()
        if alert is None:
            raise DosingError("alert", "no such alert in this session")
        data = form.cleaned_data
        return monitoring.acknowledge_alert(
            alert,
            by=request.user,
            action=data["action"],
            note=data["note"],
            medication=form.medication_given(),
            version=data["version"],
        )

    return _handle(
        request, patient_id, session_id, f"ack-{alert_id}", lambda data: AckForm(data, prefix=f"ack{alert_id}"), act
    )


@require_POST
def adverse_event(request: HttpRequest, patient_id: int, session_id: int) -> HttpResponse:
    def act(session: DosingSession, form: Any) -> object:
        data = form.cleaned_data
        return monitoring.record_adverse_event(
            session,
            by=request.user,
            kind=data["kind"],
            severity=data["severity"],
            outcome=data["outcome"],
            serious=data["serious"],
            onset_at=at_today(data.get("onset_at"), _zone(session)),
            description=data.get("description") or "",
            interventions=form.interventions(),
            client_token=data.get("client_token") or "",
            version=data["version"],
        )

    return _handle(request, patient_id, session_id, "event", lambda data: AdverseEventForm(data, prefix="mevent"), act)


#: Session-scoped URLs, mounted under /patients/<patient_id>/sessions/ with the namespace dosing.
urlpatterns: list[URLPattern] = [
    path("<int:session_id>/monitor/", monitor_fragment, name="monitor"),
    path("<int:session_id>/monitor/vitals/", record_vitals, name="monitor_vitals"),
    path("<int:session_id>/monitor/scale/<str:instrument>/", record_scale, name="monitor_scale"),
    path("<int:session_id>/monitor/alerts/<int:alert_id>/acknowledge/", acknowledge, name="monitor_ack"),
    path("<int:session_id>/monitor/adverse-event/", adverse_event, name="monitor_event"),
]
