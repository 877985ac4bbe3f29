"""How views, the API and the calendar feeds reach the schedule.

Calendars show patients' names, so they need the capability to see patient identity (``VIEW_DEMOGRAPHICS``) and
show only the user's own sites; an appointment is reached through its patient's access rules (``access_patient``):
another site's appointment answers 404 exactly like a missing one, a role without the capability 403. Reads are
audited. A calendar feed is reached by its secret alone (calendar apps cannot sign in); an unknown secret is 404.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404

from ketaclinic.accounts.access import require, sites_for
from ketaclinic.accounts.models import Site
from ketaclinic.accounts.roles import Perm
from ketaclinic.audit.actions import Action, Outcome, record
from ketaclinic.patients.access import access_patient
from ketaclinic.patients.models import Patient
from ketaclinic.scheduling.models import Appointment, FeedToken

AUDIT_AS = "scheduling.appointment"
#: Who may check a patient in: the front desk, and the nurses who receive patients on the session day.
CHECK_IN_PERMS: tuple[Perm, ...] = (Perm.MANAGE_SCHEDULE, Perm.RECORD_SESSION)
#: Who may keep the staff roster: the front desk and clinic admins.
ROSTER_PERMS: tuple[Perm, ...] = (Perm.MANAGE_SCHEDULE, Perm.MANAGE_SITE)


def _pk(value: Any, what: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise Http404(f"No such {what}.") from None


def require_any(user: Any, perms: tuple[Perm, ...]) -> None:
    """403 unless one of the user's roles grants one of ``perms``."""
    if not any(user.can(perm) for perm in perms):
        raise PermissionDenied(f"Your role does not allow this: {perms[0].label.lower()}.")


def schedule_site(
    user: Any, site_id: Any = None, *, default: Site | None = None, need: Perm = Perm.VIEW_DEMOGRAPHICS
) -> Site:
    """The site whose schedule ``user`` may work with: ``site_id`` if it is one of theirs (404 otherwise), else
    ``default`` (the acting site), else their first site. 403 without ``need``; 404 when they have no site."""
    require(user, need)
    sites = sites_for(user)
    if site_id not in (None, ""):
        site = sites.filter(pk=_pk(site_id, "site")).first()
    elif default is not None and sites.filter(pk=default.pk).exists():
        site = default
    else:
        site = sites.order_by("name").first()
    if site is None:
        raise Http404("No such site.")
    return site


def appointments_visible_to(user: Any) -> QuerySet[Appointment]:
    """Appointments at the user's sites, if their roles let them see patient identity; none otherwise."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.can(Perm.VIEW_DEMOGRAPHICS):
        return Appointment.objects.none()
    return Appointment.objects.filter(site__in=sites_for(user))


def access_schedule_patient(
    user: Any, patient_id: Any, *, need: Perm = Perm.VIEW_DEMOGRAPHICS, write: bool = False
) -> Patient:
    """The patient whose appointments ``user`` may see (or book, with ``need=MANAGE_SCHEDULE``); 404/403 as the
    patient's access rules say. A read is audited as a view of the patient's appointments."""
    return access_patient(user, patient_id, need=need, write=write, audit_as=AUDIT_AS)


def access_appointment(
    user: Any, appointment_id: Any, *, need: Perm | tuple[Perm, ...] = Perm.VIEW_DEMOGRAPHICS, write: bool = False
) -> Appointment:
    """Appointment ``appointment_id`` if ``user`` may reach its patient with ``need`` (any of several).

    Missing and other-site appointments answer 404 alike; a read is audited as a view of the appointment, a write
    by the action that follows.
    """
    pk = _pk(appointment_id, "appointment")
    appointment = (
        Appointment.objects.select_related("site", "patient", "appointment_type", "resource", "staff", "created_by")
        .filter(pk=pk)
        .first()
    )
    if appointment is None:
        record(Action.VIEW, object_type=AUDIT_AS, object_id=pk, outcome=Outcome.NOT_FOUND)
        raise Http404("No such appointment.")
    needs = need if isinstance(need, tuple) else (need,)
    access_patient(user, appointment.patient_id, need=needs, write=True, audit_as=AUDIT_AS)
    if not write:
        record(Action.VIEW, obj=appointment, patient_id=appointment.patient_id, site=appointment.site)
    return appointment


def audit_schedule_list(user: Any, site: Site, *, view: str, count: int, day: str) -> None:
    """Record that ``user`` read a calendar or list of ``site`` (which view and day, not the names on it)."""
    record(
        Action.LIST,
        object_type=AUDIT_AS,
        site=site,
        user=user,
        detail={"view": view, "day": day, "count": count},
    )


def access_feed(token: str) -> FeedToken:
    """The calendar feed whose secret is ``token``; 404 for an unknown one. Every read is audited (no user)."""
    feed = FeedToken.objects.select_related("patient", "user").filter(token=token).first() if token else None
    if feed is None:
        record(Action.VIEW, object_type="scheduling.feedtoken", outcome=Outcome.NOT_FOUND, username="(calendar feed)")
        raise Http404("No such calendar.")
    record(
        Action.EXPORT,
        obj=feed,
        patient_id=feed.patient_id,
        site=feed.patient.site if feed.patient is not None else None,
        username="(calendar feed)",
    )
    return feed
