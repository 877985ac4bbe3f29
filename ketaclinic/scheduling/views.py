"""Scheduling screens: day and week calendars, the front-desk day list, booking with conflicts and alternatives,
quick rescheduling, cancel / no-show / check-in, the staff roster, chairs and rooms, and calendar feeds.

Everyone who may see patient identity reads the calendars of their sites; coordinators (``MANAGE_SCHEDULE``) book,
move and cancel; clinic admins (``MANAGE_SITE``) manage chairs, rooms and the site policy. A refused booking answers
409 with every conflict and the nearest alternatives as buttons (the typed values stay); bad input 400.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.http import require_POST

from ketaclinic.accounts.models import Site
from ketaclinic.accounts.roles import Perm
from ketaclinic.patients.access import audit_patient_list
from ketaclinic.patients.models import Patient
from ketaclinic.scheduling import access
from ketaclinic.scheduling.actions import (
    BookingConflict,
    Slot,
    StaleAppointmentError,
    add_resource,
    add_shift,
    book_appointment,
    cancel_appointment,
    check_in,
    feed_token_for,
    find_free_slots,
    mark_no_show,
    move_appointment,
    regenerate_feed_token,
    remove_shift,
    update_resource,
    update_site_policy,
)
from ketaclinic.scheduling.feeds import feed_for
from ketaclinic.scheduling.forms import (
    BookingForm,
    CancelForm,
    FindForm,
    MoveForm,
    PolicyForm,
    ResourceEditForm,
    ResourceForm,
    ShiftForm,
    local_start,
)
from ketaclinic.scheduling.models import (
    SLOT,
    SLOT_MINUTES,
    Appointment,
    AppointmentType,
    FeedToken,
    Resource,
    ResourceKind,
    SitePolicy,
    StaffShift,
)

SHOWN = (
    Appointment.Status.BOOKED,
    Appointment.Status.CHECKED_IN,
    Appointment.Status.COMPLETED,
    Appointment.Status.NO_SHOW,
)
ESCORT_NOTE = "Escort home needed — no driving today"


# --- helpers ------------------------------------------------------------------------------------------------------


def _can(request: HttpRequest, perm: Perm) -> bool:
    return bool(request.user.can(perm))  # type: ignore[union-attr]


def _site(request: HttpRequest, need: Perm = Perm.VIEW_DEMOGRAPHICS) -> Site:
    return access.schedule_site(
        request.user,
        request.GET.get("site") or request.POST.get("site"),
        default=getattr(request, "site", None),
        need=need,
    )


def _day(request: HttpRequest, site: Site) -> dt.date:
    raw = request.GET.get("date", "")
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        return timezone.now().astimezone(site.zone).date()


def _day_bounds(site: Site, day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """Local midnight to local midnight (23 or 25 hours long on DST days)."""
    zone = site.zone
    return dt.datetime.combine(day, dt.time(0), tzinfo=zone), dt.datetime.combine(
        day + dt.timedelta(days=1), dt.time(0), tzinfo=zone
    )


def _periods(site: Site, day: dt.date) -> tuple[list[tuple[dt.time, dt.time]], str]:
    """Opening periods of ``day`` and, when closed, why."""
    closed = site.closed_days.filter(date=day).first()
    if closed is not None:
        return [], closed.reason or "closed"
    hours = [(h.opens_at, h.closes_at) for h in site.opening_hours.filter(weekday=day.weekday()).order_by("opens_at")]
    return hours, "" if hours else "no opening hours"


def _safe_next(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=False):
        return target
    return default


def _slot_value(slot: Slot) -> str:
    """How an offered slot travels in a button: its UTC start and its chair or room."""
    return f"{slot.start.astimezone(dt.UTC).isoformat()}|{slot.resource.pk if slot.resource else ''}"


def _parse_slot_value(raw: str) -> tuple[dt.datetime, int | None] | None:
    start_text, _, resource_text = raw.partition("|")
    try:
        start = dt.datetime.fromisoformat(start_text)
        resource_id = int(resource_text) if resource_text else None
    except ValueError:
        return None
    if timezone.is_naive(start):
        return None
    return start, resource_id


def _offers(slots: list[Slot], site: Site) -> list[dict[str, str]]:
    return [{"value": _slot_value(s), "label": s.label(site.zone)} for s in slots]


def _in_kind_order(resources: Iterable[Resource]) -> list[Resource]:
    """Chairs first, then treatment, therapy and consult rooms; by name within a kind."""
    order = {kind: i for i, kind in enumerate(ResourceKind.values)}
    return sorted(resources, key=lambda r: (order.get(r.kind, 99), r.name, r.pk))


def _week_start(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


# --- calendars ----------------------------------------------------------------------------------------------------


@dataclass
class Column:
    label: str
    sub: str = ""
    resource_id: int | None = None
    blocks: list[dict[str, Any]] = field(default_factory=list)


def day_view(request: HttpRequest) -> HttpResponse:
    """The day calendar of a site: a column per chair or room, a row per quarter hour, closed hours shaded."""
    site = _site(request)
    day = _day(request, site)
    zone = site.zone
    lo, hi = _day_bounds(site, day)
    appointments = list(
        Appointment.objects.filter(site=site, starts_at__gte=lo, starts_at__lt=hi, status__in=SHOWN)
        .select_related("patient", "appointment_type", "resource", "staff")
        .order_by("starts_at", "pk")
    )
    cancelled = Appointment.objects.filter(
        site=site, starts_at__gte=lo, starts_at__lt=hi, status=Appointment.Status.CANCELLED
    ).count()
    access.audit_schedule_list(request.user, site, view="day", count=len(appointments), day=day.isoformat())
    periods, closed_reason = _periods(site, day)

    # Rows: from the earliest opening (or 08:00) to the latest closing (or 18:00), stretched to fit every block.
    first = min([dt.datetime.combine(day, o, tzinfo=zone) for o, _ in periods] or [lo + dt.timedelta(hours=8)])
    last = max([dt.datetime.combine(day, c, tzinfo=zone) for _, c in periods] or [lo + dt.timedelta(hours=18)])
    if appointments:
        first = min(first, *(a.starts_at for a in appointments))
        last = max(last, *(a.ends_at for a in appointments))
    first = first.astimezone(dt.UTC)
    first = first.replace(minute=first.minute - first.minute % SLOT_MINUTES, second=0, microsecond=0)
    rows = []
    moment = first
    while moment < last:
        local = moment.astimezone(zone)
        is_open = any(
            dt.datetime.combine(day, o, tzinfo=zone) <= moment < dt.datetime.combine(day, c, tzinfo=zone)
            for o, c in periods
        )
        rows.append({"label": f"{local:%H:%M}", "hour": local.minute == 0, "open": is_open})
        moment += SLOT

    resources = _in_kind_order(Resource.objects.filter(site=site))
    used = {a.resource_id for a in appointments}
    columns: dict[Any, Column] = {
        r.pk: Column(r.name, r.monitor_label or r.get_kind_display(), r.pk if r.active else None)
        for r in resources
        if r.active or r.pk in used
    }
    for a in appointments:
        key: Any = a.resource_id if a.resource_id else ("staff", a.staff_id)
        if key not in columns:
            columns[key] = Column(str(a.staff) if a.staff else "No room", "no room")
        row = int((a.starts_at - first) / SLOT) + 2  # row 1 is the header
        span = max(1, -(-int((a.ends_at - a.starts_at) / dt.timedelta(minutes=1)) // SLOT_MINUTES))
        columns[key].blocks.append({"a": a, "row": row, "span": span, "escort": a.appointment_type.is_dosing})
    for index, column in enumerate(columns.values(), start=2):
        for block in column.blocks:
            block["col"] = index
    return render(
        request,
        "scheduling/day.html",
        {
            "site": site,
            "day": day,
            "prev_day": day - dt.timedelta(days=1),
            "next_day": day + dt.timedelta(days=1),
            "today": timezone.now().astimezone(zone).date(),
            "rows": rows,
            "columns": list(columns.values()),
            "closed_reason": closed_reason,
            "periods": periods,
            "count": len(appointments),
            "cancelled": cancelled,
            "can_book": _can(request, Perm.MANAGE_SCHEDULE),
        },
    )


def week_view(request: HttpRequest) -> HttpResponse:
    """A site's week (Monday to Sunday), optionally one chair or room: each day's appointments in time order."""
    site = _site(request)
    monday = _week_start(_day(request, site))
    lo, _ = _day_bounds(site, monday)
    _, hi = _day_bounds(site, monday + dt.timedelta(days=6))
    resources = _in_kind_order(Resource.objects.filter(site=site))
    resource = None
    raw = request.GET.get("resource", "")
    if raw:
        resource = next((r for r in resources if str(r.pk) == raw), None)
    query = Appointment.objects.filter(site=site, starts_at__gte=lo, starts_at__lt=hi, status__in=SHOWN)
    if resource is not None:
        query = query.filter(resource=resource)
    appointments = list(query.select_related("patient", "appointment_type", "resource", "staff").order_by("starts_at"))
    access.audit_schedule_list(
        request.user,
        site,
        view=f"week:{resource.pk}" if resource else "week",
        count=len(appointments),
        day=monday.isoformat(),
    )
    closed = dict(
        site.closed_days.filter(date__gte=monday, date__lte=monday + dt.timedelta(days=6)).values_list("date", "reason")
    )
    hours: dict[int, list[str]] = {}
    for h in site.opening_hours.order_by("opens_at"):
        hours.setdefault(h.weekday, []).append(f"{h.opens_at:%H:%M}–{h.closes_at:%H:%M}")
    days = []
    for offset in range(7):
        day = monday + dt.timedelta(days=offset)
        items = [a for a in appointments if a.starts_at.astimezone(site.zone).date() == day]
        closed_reason = closed.get(day)
        days.append(
            {
                "day": day,
                "appointments": items,
                "closed": closed_reason is not None or day.weekday() not in hours,
                "closed_reason": closed_reason or ("" if day.weekday() in hours else "no opening hours"),
                "hours": ", ".join(hours.get(day.weekday(), [])),
            }
        )
    return render(
        request,
        "scheduling/week.html",
        {
            "site": site,
            "monday": monday,
            "prev_week": monday - dt.timedelta(days=7),
            "next_week": monday + dt.timedelta(days=7),
            "days": days,
            "resources": resources,
            "resource": resource,
            "can_book": _can(request, Perm.MANAGE_SCHEDULE),
        },
    )


def desk(request: HttpRequest) -> HttpResponse:
    """The front desk's list for a day (default today): who comes when, their phone, escort reminder, check-in."""
    site = _site(request)
    day = _day(request, site)
    lo, hi = _day_bounds(site, day)
    appointments = list(
        Appointment.objects.filter(site=site, starts_at__gte=lo, starts_at__lt=hi)
        .exclude(status=Appointment.Status.CANCELLED)
        .select_related("patient", "appointment_type", "resource", "staff")
        .order_by("starts_at", "pk")
    )
    access.audit_schedule_list(request.user, site, view="desk", count=len(appointments), day=day.isoformat())
    now = timezone.now()
    today = now.astimezone(site.zone).date()
    rows = [
        {
            "a": a,
            "escort": a.appointment_type.is_dosing,
            "can_check_in": a.status == Appointment.Status.BOOKED and day == today,
            "can_no_show": a.status == Appointment.Status.BOOKED and a.starts_at <= now,
        }
        for a in appointments
    ]
    context = {
        "site": site,
        "day": day,
        "today": today,
        "prev_day": day - dt.timedelta(days=1),
        "next_day": day + dt.timedelta(days=1),
        "rows": rows,
        "escort_note": ESCORT_NOTE,
        "may_check_in": any(_can(request, p) for p in access.CHECK_IN_PERMS),
        "may_manage": _can(request, Perm.MANAGE_SCHEDULE),
    }
    template = "scheduling/_desk_rows.html" if request.headers.get("HX-Request") else "scheduling/desk.html"
    return render(request, template, context)


# --- booking ------------------------------------------------------------------------------------------------------


def _patient_search(request: HttpRequest, site: Site) -> tuple[str, list[Patient]]:
    text = request.GET.get("q", "").strip()
    if not text:
        return "", []
    found = list(Patient.objects.visible_to(request.user).filter(site=site).search(text)[:20])
    audit_patient_list(request.user, count=len(found), query={"q": text, "purpose": "booking"})
    return text, found


def book(request: HttpRequest) -> HttpResponse:
    """Book an appointment: find the patient, choose type, date and time (and a chair or room if it matters).

    A refused booking answers 409 with the conflicts and the nearest free alternatives as buttons that book them with
    everything else kept; a field error answers 400.
    """
    site = _site(request, need=Perm.MANAGE_SCHEDULE)
    patient_id = request.POST.get("patient") or request.GET.get("patient")
    if not patient_id:
        query, found = _patient_search(request, site)
        return render(request, "scheduling/book_find.html", {"site": site, "query": query, "found": found})
    patient = access.access_schedule_patient(request.user, patient_id, need=Perm.MANAGE_SCHEDULE, write=True)
    if patient.site_id != site.pk:
        site = patient.site  # a patient is booked at their own site
    status = 200
    conflict: BookingConflict | None = None
    if request.method == "POST":
        data = request.POST.copy()
        picked = _parse_slot_value(request.POST.get("alternative", ""))
        if picked is not None:
            start, resource_id = picked
            local = start.astimezone(site.zone)
            data["date"], data["time"] = local.date().isoformat(), f"{local:%H:%M}"
            data["resource"] = str(resource_id or "")
        form = BookingForm(data, site=site)
        if form.is_valid():
            try:
                appointment = book_appointment(
                    patient=patient,
                    appointment_type=form.cleaned_data["appointment_type"],
                    start=form.cleaned_data["start"],
                    by=request.user,
                    resource=form.cleaned_data["resource"],
                    staff=form.cleaned_data["staff"],
                )
            except BookingConflict as exc:
                conflict, status = exc, 409
            except ValueError as exc:
                form.add_error(None, str(exc))
                status = 400
            else:
                local = appointment.starts_at.astimezone(site.zone)
                messages.success(
                    request,
                    f"Booked {appointment.appointment_type.name} for {patient.display_name} on "
                    f"{local:%a %d %b %Y} at {local:%H:%M}"
                    + (f" in {appointment.resource.name}" if appointment.resource else "")
                    + ".",
                )
                return redirect("scheduling:appointment", appointment_id=appointment.pk)
        else:
            status = 400
    else:
        initial: dict[str, Any] = {}
        for name in ("date", "time", "appointment_type", "resource"):
            if request.GET.get(name):
                initial[name] = request.GET[name]
        form = BookingForm(initial=initial, site=site)
    return render(
        request,
        "scheduling/book.html",
        {
            "site": site,
            "patient": patient,
            "form": form,
            "conflict": conflict,
            "alternatives": _offers(conflict.alternatives, site) if conflict else [],
            "types": AppointmentType.objects.filter(active=True).order_by("name"),
        },
        status=status,
    )


# --- one appointment ----------------------------------------------------------------------------------------------


def _appointment_context(request: HttpRequest, appointment: Appointment) -> dict[str, Any]:
    now = timezone.now()
    zone = appointment.site.zone
    return {
        "appointment": appointment,
        "patient": appointment.patient,
        "site": appointment.site,
        "local_start": appointment.starts_at.astimezone(zone),
        "local_end": appointment.ends_at.astimezone(zone),
        "escort": appointment.appointment_type.is_dosing,
        "escort_note": ESCORT_NOTE,
        "may_manage": _can(request, Perm.MANAGE_SCHEDULE),
        "may_check_in": any(_can(request, p) for p in access.CHECK_IN_PERMS),
        "can_move": appointment.status == Appointment.Status.BOOKED,
        "can_cancel": appointment.can_become(Appointment.Status.CANCELLED),
        "can_check_in": appointment.status == Appointment.Status.BOOKED
        and appointment.starts_at.astimezone(zone).date() == now.astimezone(zone).date(),
        "can_no_show": appointment.status == Appointment.Status.BOOKED and appointment.starts_at <= now,
    }


def appointment_detail(request: HttpRequest, appointment_id: int) -> HttpResponse:
    """One appointment: when, where, with whom, status, instructions, and what may be done with it."""
    appointment = access.access_appointment(request.user, appointment_id)
    return render(request, "scheduling/appointment.html", _appointment_context(request, appointment))


def move(request: HttpRequest, appointment_id: int) -> HttpResponse:
    """Quick reschedule: free times from a chosen day are offered as buttons; or type a date and time."""
    appointment = access.access_appointment(request.user, appointment_id, need=Perm.MANAGE_SCHEDULE, write=True)
    site = appointment.site
    status = 200
    conflict: BookingConflict | None = None
    stale = ""
    form = MoveForm(site=site)
    if request.method == "POST":
        picked = _parse_slot_value(request.POST.get("slot", ""))
        new_start: dt.datetime | None = None
        resource = None
        if picked is not None:
            new_start, resource_id = picked
            resource = Resource.objects.filter(pk=resource_id, site=site).first() if resource_id else None
        else:
            form = MoveForm(request.POST, site=site)
            if form.is_valid():
                new_start = form.cleaned_data["start"]
            else:
                status = 400
        if new_start is not None:
            try:
                version = int(request.POST.get("version", ""))
            except ValueError:
                version = None
            try:
                moved = move_appointment(
                    appointment, new_start=new_start, by=request.user, expected_version=version, resource=resource
                )
            except StaleAppointmentError as exc:
                stale, status = str(exc), 409
                appointment.refresh_from_db()
            except BookingConflict as exc:
                conflict, status = exc, 409
            except ValueError as exc:
                form.add_error(None, str(exc))
                status = 400
            else:
                local = moved.starts_at.astimezone(site.zone)
                messages.success(request, f"Moved to {local:%a %d %b %Y} at {local:%H:%M}.")
                return redirect("scheduling:appointment", appointment_id=moved.pk)
    find = FindForm(request.GET or None, site=site)
    zone = site.zone
    from_day = find.cleaned_data.get("date") if find.is_valid() else None
    earliest = dt.datetime.combine(from_day, dt.time(0), tzinfo=zone) if from_day else appointment.starts_at
    offers: list[Slot] = []
    if appointment.status == Appointment.Status.BOOKED:
        offers = find_free_slots(
            site,
            appointment.appointment_type,
            earliest=earliest,
            patient=appointment.patient,
            count=12,
            exclude_appointment=appointment,
        )
    context = _appointment_context(request, appointment)
    context.update(
        {
            "form": form,
            "find": find,
            "offers": _offers(offers, site),
            "conflict": conflict,
            "alternatives": _offers(conflict.alternatives, site) if conflict else [],
            "stale": stale,
        }
    )
    return render(request, "scheduling/move.html", context, status=status)


def cancel(request: HttpRequest, appointment_id: int) -> HttpResponse:
    """Cancel with a reason; the chair and the time are free again."""
    appointment = access.access_appointment(request.user, appointment_id, need=Perm.MANAGE_SCHEDULE, write=True)
    status = 200
    form = CancelForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            try:
                cancel_appointment(appointment, by=request.user, reason=form.cleaned_data["reason"])
            except ValueError as exc:
                form.add_error(None, str(exc))
                status = 400
            else:
                messages.success(request, "The appointment is cancelled; its time is free again.")
                return redirect(_safe_next(request, reverse("scheduling:appointment", args=[appointment.pk])))
        else:
            status = 400
    context = _appointment_context(request, appointment)
    context["form"] = form
    return render(request, "scheduling/cancel.html", context, status=status)


def _status_change(request: HttpRequest, appointment: Appointment, change: Any, done: str) -> HttpResponse:
    try:
        change(appointment, by=request.user)
    except ValueError as exc:
        context = _appointment_context(request, appointment)
        context["error"] = str(exc)
        return render(request, "scheduling/appointment.html", context, status=400)
    messages.success(request, done)
    return redirect(_safe_next(request, reverse("scheduling:appointment", args=[appointment.pk])))


@require_POST
def no_show(request: HttpRequest, appointment_id: int) -> HttpResponse:
    appointment = access.access_appointment(request.user, appointment_id, need=Perm.MANAGE_SCHEDULE, write=True)
    return _status_change(
        request, appointment, mark_no_show, f"{appointment.patient.display_name}: marked as a no-show."
    )


@require_POST
def check_in_view(request: HttpRequest, appointment_id: int) -> HttpResponse:
    appointment = access.access_appointment(request.user, appointment_id, need=access.CHECK_IN_PERMS, write=True)
    return _status_change(request, appointment, check_in, f"{appointment.patient.display_name} is checked in.")


# --- a patient's appointments and calendar feeds ------------------------------------------------------------------


def patient_appointments(request: HttpRequest, patient_id: int) -> HttpResponse:
    """A patient's upcoming and past appointments, and their calendar feed."""
    patient = access.access_schedule_patient(request.user, patient_id)
    now = timezone.now()
    rows = list(
        Appointment.objects.filter(patient=patient)
        .select_related("site", "appointment_type", "resource", "staff")
        .order_by("-starts_at")[:200]
    )
    feed = FeedToken.objects.filter(patient=patient).first()
    return render(
        request,
        "scheduling/patient.html",
        {
            "patient": patient,
            "upcoming": sorted((a for a in rows if a.ends_at >= now), key=lambda a: a.starts_at),
            "past": [a for a in rows if a.ends_at < now],
            "feed_url": request.build_absolute_uri(reverse("scheduling:ics", args=[feed.token])) if feed else "",
            "may_manage": _can(request, Perm.MANAGE_SCHEDULE),
        },
    )


@require_POST
def patient_feed(request: HttpRequest, patient_id: int) -> HttpResponse:
    """Create the patient's calendar feed, or replace its secret (the old link stops working)."""
    patient = access.access_schedule_patient(request.user, patient_id, need=Perm.MANAGE_SCHEDULE, write=True)
    existing = FeedToken.objects.filter(patient=patient).first()
    if existing is None:
        feed_token_for(patient=patient, by=request.user)
        messages.success(request, "Calendar link created. Give it to the patient only.")
    else:
        regenerate_feed_token(existing, by=request.user)
        messages.success(request, "New calendar link made; the old one no longer works.")
    return redirect("scheduling:patient", patient_id=patient.pk)


def my_calendar(request: HttpRequest) -> HttpResponse:
    """The signed-in member of staff's own feed of shifts and appointments."""
    user: Any = request.user
    if request.method == "POST":
        token = feed_token_for(user=user, by=user)
        if request.POST.get("regenerate"):
            regenerate_feed_token(token, by=user)
            messages.success(request, "New calendar link made; the old one no longer works.")
        return redirect("scheduling:my_calendar")
    feed = FeedToken.objects.filter(user=user).first()
    now = timezone.now()
    shifts = list(
        StaffShift.objects.filter(user=user, ends_at__gte=now).select_related("site").order_by("starts_at")[:20]
    )
    return render(
        request,
        "scheduling/my_calendar.html",
        {
            "feed_url": request.build_absolute_uri(reverse("scheduling:ics", args=[feed.token])) if feed else "",
            "shifts": shifts,
        },
    )


@login_not_required
def ics(request: HttpRequest, token: str) -> HttpResponse:
    """A calendar feed by its secret (no sign-in: calendar apps cannot). No clinical detail in it."""
    feed = access.access_feed(token)
    response = HttpResponse(feed_for(feed), content_type="text/calendar; charset=utf-8")
    response["Cache-Control"] = "private, max-age=300"
    response["Content-Disposition"] = 'inline; filename="ketaclinic.ics"'
    return response


# --- roster, chairs and rooms -------------------------------------------------------------------------------------


def shifts(request: HttpRequest) -> HttpResponse:
    """The staff roster of a site for two weeks from a day, and a form to add shifts (weekly repeats)."""
    require_roster(request)
    site = _site(request)
    zone = site.zone
    status = 200
    if request.method == "POST":
        form = ShiftForm(request.POST, site=site)
        if form.is_valid():
            data = form.cleaned_data
            created = 0
            try:
                for week in range(data["repeat_weeks"]):
                    day = data["date"] + dt.timedelta(weeks=week)
                    add_shift(
                        user=data["user"],
                        site=site,
                        starts_at=local_start(site, day, data["starts"]),
                        ends_at=local_start(site, day, data["ends"]),
                        role_on_shift=data["role_on_shift"],
                        by=request.user,
                    )
                    created += 1
            except ValueError as exc:
                form.add_error(None, f"{exc} (shifts added before this one: {created})")
                status = 400
            else:
                messages.success(request, f"Added {created} shift{'s' if created > 1 else ''} for {data['user']}.")
                return redirect(f"{reverse('scheduling:shifts')}?{urlencode({'date': data['date'].isoformat()})}")
        else:
            status = 400
    else:
        form = ShiftForm(site=site, initial={"repeat_weeks": 1})
    day = _day(request, site)
    lo, _ = _day_bounds(site, day)
    rows = list(
        StaffShift.objects.filter(site=site, starts_at__gte=lo, starts_at__lt=lo + dt.timedelta(days=14))
        .select_related("user")
        .order_by("starts_at", "user__display_name")
    )
    return render(
        request,
        "scheduling/shifts.html",
        {
            "site": site,
            "form": form,
            "shifts": [
                {"shift": s, "start": s.starts_at.astimezone(zone), "end": s.ends_at.astimezone(zone)} for s in rows
            ],
            "day": day,
            "next_day": day + dt.timedelta(days=14),
            "prev_day": day - dt.timedelta(days=14),
        },
        status=status,
    )


def require_roster(request: HttpRequest) -> None:
    access.require_any(request.user, access.ROSTER_PERMS)


@require_POST
def shift_remove(request: HttpRequest, shift_id: int) -> HttpResponse:
    require_roster(request)
    site = _site(request)
    shift = StaffShift.objects.filter(pk=shift_id, site=site).first()
    if shift is None:
        raise Http404("No such shift.")
    remove_shift(shift, by=request.user)
    messages.success(request, "Shift removed.")
    return redirect(_safe_next(request, reverse("scheduling:shifts")))


def resources(request: HttpRequest) -> HttpResponse:
    """A site's chairs and rooms (add, rename, assign a monitor, take out of service) and its scheduling policy."""
    site = _site(request, need=Perm.MANAGE_SITE)
    status = 200
    form = ResourceForm()
    policy = SitePolicy.objects.filter(site=site).first() or SitePolicy(site=site)
    policy_form = PolicyForm(initial={"nurse_ratio": policy.nurse_ratio, "search_days": policy.search_days})
    if request.method == "POST":
        if request.POST.get("form") == "policy":
            policy_form = PolicyForm(request.POST)
            if policy_form.is_valid():
                update_site_policy(site, by=request.user, **policy_form.cleaned_data)
                messages.success(request, "Scheduling policy saved.")
                return redirect("scheduling:resources")
            status = 400
        else:
            form = ResourceForm(request.POST)
            if form.is_valid():
                try:
                    add_resource(site=site, by=request.user, **form.cleaned_data)
                except ValueError as exc:
                    form.add_error("name", str(exc))
                    status = 400
                else:
                    messages.success(request, f"Added {form.cleaned_data['name']}.")
                    return redirect("scheduling:resources")
            else:
                status = 400
    return render(
        request,
        "scheduling/resources.html",
        {
            "site": site,
            "form": form,
            "policy_form": policy_form,
            "resources": _in_kind_order(Resource.objects.filter(site=site)),
        },
        status=status,
    )


def resource_edit(request: HttpRequest, resource_id: int) -> HttpResponse:
    site = _site(request, need=Perm.MANAGE_SITE)
    resource = Resource.objects.filter(pk=resource_id, site=site).first()
    if resource is None:
        raise Http404("No such chair or room.")
    status = 200
    if request.method == "POST":
        form = ResourceEditForm(request.POST)
        if form.is_valid():
            try:
                update_resource(resource, by=request.user, **form.cleaned_data)
            except ValueError as exc:
                field = str(exc).split(":", 1)[0]
                form.add_error(field if field in form.fields else None, str(exc))
                status = 400
            else:
                messages.success(request, f"{resource.name} saved.")
                return redirect("scheduling:resources")
        else:
            status = 400
    else:
        form = ResourceEditForm(
            initial={"name": resource.name, "monitor_label": resource.monitor_label, "active": resource.active}
        )
    return render(
        request, "scheduling/resource_edit.html", {"site": site, "resource": resource, "form": form}, status=status
    )
