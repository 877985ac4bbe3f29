"""The demo clinic's schedule: chairs and rooms, site policies, the staff roster, and a few consults and therapy
sessions this week for patients in screening or eligible.

Riverside has six infusion chairs (each with its bedside monitor), two treatment rooms, two therapy rooms and a consult
room; Hillcrest four chairs, a therapy room and a consult room. The roster puts the demo nurse, prescriber and
therapist on weekday shifts within opening hours from eight weeks back (so the courses demo can book past sessions)
to three weeks ahead (a whole induction series). Dosing sessions are booked by the courses demo, which runs after this.

Deterministic (everything follows from the day of seeding) and idempotent: a chair or room is keyed on its name at its
site, a shift on its member of staff and start, a demo appointment on its patient and type; what exists is left alone.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from django.db import transaction
from django.utils import timezone

from ketaclinic.accounts import demo as accounts_demo
from ketaclinic.accounts.models import Site, User
from ketaclinic.patients.models import Patient
from ketaclinic.scheduling.actions import BookingConflict, add_shift, book_appointment, find_free_slots
from ketaclinic.scheduling.models import Appointment, AppointmentType, Resource, ResourceKind, SitePolicy, StaffShift

K = ResourceKind
#: (site code, kind, name, bedside monitor)
RESOURCES: tuple[tuple[str, str, str, str], ...] = (
    *(("riverside", K.INFUSION_CHAIR, f"Chair {n}", f"Monitor R{n}") for n in range(1, 7)),
    ("riverside", K.TREATMENT_ROOM, "Treatment room 1", "Monitor RT1"),
    ("riverside", K.TREATMENT_ROOM, "Treatment room 2", "Monitor RT2"),
    ("riverside", K.THERAPY_ROOM, "Therapy room 1", ""),
    ("riverside", K.THERAPY_ROOM, "Therapy room 2", ""),
    ("riverside", K.CONSULT_ROOM, "Consult room", ""),
    *(("hillcrest", K.INFUSION_CHAIR, f"Chair {n}", f"Monitor H{n}") for n in range(1, 5)),
    ("hillcrest", K.THERAPY_ROOM, "Therapy room", ""),
    ("hillcrest", K.CONSULT_ROOM, "Consult room", ""),
)

#: (username, site code, role on shift, {weekday: (from, until)}) — within each site's opening hours.
WEEKDAYS = {0: ("08:00", "18:00"), 1: ("08:00", "18:00"), 2: ("08:00", "18:00"), 3: ("08:00", "18:00")}
ROSTER: tuple[tuple[str, str, str, dict[int, tuple[str, str]]], ...] = (
    ("nurse.okafor", "riverside", "nurse", {**WEEKDAYS, 4: ("08:00", "17:00")}),
    ("dr.rivera", "riverside", "prescriber", dict.fromkeys(range(5), ("08:00", "17:00"))),
    ("therapist.lind", "riverside", "therapist", dict.fromkeys(range(5), ("09:00", "17:00"))),
    ("nurse.hill", "hillcrest", "nurse", dict.fromkeys(range(4), ("09:00", "17:00"))),
    ("dr.hale", "hillcrest", "prescriber", dict.fromkeys(range(4), ("09:00", "17:00"))),
)
WEEKS_BACK = 8
WEEKS_AHEAD = 3
#: Who books the demo appointments and keeps the roster, per site.
DESK = {"riverside": "desk.patel", "hillcrest": "admin.chen"}
#: What a patient in each status is booked for this week (therapy only where a therapist works).
VISITS = {
    Patient.Status.SCREENING: ("consult", 10),
    Patient.Status.ELIGIBLE: ("therapy_preparation", 14),
}


def _time(value: str) -> dt.time:
    return dt.time.fromisoformat(value)


def _resources(sites: dict[str, Site]) -> int:
    created = 0
    for code, kind, name, monitor in RESOURCES:
        _, new = Resource.objects.get_or_create(
            site=sites[code], name=name, defaults={"kind": kind, "monitor_label": monitor}
        )
        created += new
    return created


def _roster(sites: dict[str, Site], today: dt.date) -> int:
    monday = today - dt.timedelta(days=today.weekday())
    first, last = monday - dt.timedelta(weeks=WEEKS_BACK), monday + dt.timedelta(weeks=WEEKS_AHEAD)
    created = 0
    for username, code, role, hours in ROSTER:
        user = User.objects.filter(username=username).first()
        if user is None:
            continue
        site, by = sites[code], User.objects.filter(username=DESK[code]).first()
        zone = site.zone
        have = set(
            StaffShift.objects.filter(user=user, starts_at__gte=_at(first, "00:00", zone)).values_list(
                "starts_at", flat=True
            )
        )
        day = first
        while day < last:
            if day.weekday() in hours:
                opens, closes = hours[day.weekday()]
                start, end = _at(day, opens, zone), _at(day, closes, zone)
                if (
                    start not in have
                    and not StaffShift.objects.filter(user=user, starts_at__lt=end, ends_at__gt=start).exists()
                ):
                    add_shift(user=user, site=site, starts_at=start, ends_at=end, role_on_shift=role, by=by)
                    created += 1
            day += dt.timedelta(days=1)
    return created


def _at(day: dt.date, time: str, zone: dt.tzinfo) -> dt.datetime:
    return dt.datetime.combine(day, _time(time), tzinfo=zone)


def _visits(sites: dict[str, Site], today: dt.date) -> int:
    """A consult for each patient in screening and a preparation session for each eligible one, from tomorrow."""
    types = {t.code: t for t in AppointmentType.objects.filter(code__in=[v[0] for v in VISITS.values()])}
    created = 0
    for code, site in sites.items():
        by = User.objects.filter(username=DESK[code]).first()
        if by is None:
            continue
        patients = Patient.objects.filter(site=site, status__in=list(VISITS)).order_by("pk")
        for index, patient in enumerate(patients):
            code_wanted, hour = VISITS[Patient.Status(patient.status)]
            atype = types[code_wanted]
            if Appointment.objects.filter(patient=patient, appointment_type=atype).exists():
                continue
            day = today + dt.timedelta(days=1 + index % 4)
            slots = find_free_slots(
                site, atype, earliest=_at(day, f"{hour:02d}:00", site.zone), patient=patient, count=1
            )
            if not slots:  # e.g. no therapist works at the site
                continue
            try:
                book_appointment(
                    patient=patient, appointment_type=atype, start=slots[0].start, by=by, staff=slots[0].staff
                )
            except BookingConflict:
                continue
            created += 1
    return created


@transaction.atomic
def seed(say: Callable[[str], None]) -> None:
    """Create what is missing; never duplicate and never overwrite what a demo user changed."""
    sites = {s.code: s for s in Site.objects.filter(code__in=[spec["code"] for spec in accounts_demo.SITES])}
    if len(sites) < len(accounts_demo.SITES):
        say("  scheduling: the demo sites are missing; run the accounts demo first")
        return
    for site in sites.values():
        SitePolicy.objects.get_or_create(site=site)
    say(f"  chairs and rooms: {_resources(sites)} created")
    today = timezone.now().astimezone(sites["riverside"].zone).date()
    say(f"  staff shifts: {_roster(sites, today)} created")
    say(f"  consults and therapy sessions: {_visits(sites, today)} booked")
