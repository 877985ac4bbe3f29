"""The synthetic demo clinic: two sites and a member of staff for each role. Never real people."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from django.db import transaction

from ketaclinic.accounts.actions import create_staff_member, sync_roles
from ketaclinic.accounts.models import ClosedDay, OpeningHours, Site, User
from ketaclinic.accounts.roles import Role

#: Demo-only password, printed by `make run` and documented in the README. Never use it on a real installation.
DEMO_PASSWORD = "ketaclinic-demo"  # noqa: S105

SITES = [
    {
        "code": "riverside",
        "name": "Riverside Ketamine Clinic",
        "address": "100 Example Avenue, Suite 200, Springfield",
        "phone": "555-0100",
        "time_zone": "America/Chicago",
        "hours": {
            0: ("08:00", "18:00"),
            1: ("08:00", "18:00"),
            2: ("08:00", "18:00"),
            3: ("08:00", "18:00"),
            4: ("08:00", "17:00"),
            5: ("09:00", "13:00"),
        },
    },
    {
        "code": "hillcrest",
        "name": "Hillcrest Interventional Psychiatry",
        "address": "42 Sample Road, Shelbyville",
        "phone": "555-0199",
        "time_zone": "America/Chicago",
        "hours": {0: ("09:00", "17:00"), 1: ("09:00", "17:00"), 2: ("09:00", "17:00"), 3: ("09:00", "17:00")},
    },
]

CLOSED_DAYS = [(dt.date(2026, 12, 25), "Christmas Day"), (dt.date(2027, 1, 1), "New Year's Day")]

STAFF = [
    ("dr.rivera", "Dr Ana Rivera", "MD", [Role.PRESCRIBER], ["riverside"]),
    ("nurse.okafor", "Grace Okafor", "RN", [Role.NURSE], ["riverside"]),
    ("therapist.lind", "Jonas Lind", "LCSW", [Role.THERAPIST], ["riverside"]),
    ("desk.patel", "Priya Patel", "", [Role.COORDINATOR], ["riverside"]),
    ("admin.chen", "Wei Chen", "", [Role.CLINIC_ADMIN], ["riverside", "hillcrest"]),
    ("nurse.hill", "Sam Hill", "RN", [Role.NURSE], ["hillcrest"]),
    ("dr.hale", "Dr Morgan Hale", "MD", [Role.PRESCRIBER], ["hillcrest"]),
]


def _time(value: str) -> dt.time:
    return dt.time.fromisoformat(value)


@transaction.atomic
def seed(say: Callable[[str], None]) -> None:
    """Create what is missing; never duplicate and never overwrite what a demo user changed."""
    sync_roles()
    sites: dict[str, Site] = {}
    for spec in SITES:
        site, created = Site.objects.get_or_create(
            code=spec["code"],
            defaults={k: spec[k] for k in ("name", "address", "phone", "time_zone")},
        )
        sites[site.code] = site
        if created:
            for weekday, (opens, closes) in spec["hours"].items():  # type: ignore[attr-defined]
                OpeningHours.objects.create(site=site, weekday=weekday, opens_at=_time(opens), closes_at=_time(closes))
            for day, reason in CLOSED_DAYS:
                ClosedDay.objects.create(site=site, date=day, reason=reason)
        say(f"  site {site.name}: {'created' if created else 'already there'}")
    for username, name, credentials, roles, site_codes in STAFF:
        if User.objects.filter(username=username).exists():
            say(f"  staff {username}: already there")
            continue
        create_staff_member(
            username=username,
            password=DEMO_PASSWORD,
            roles=roles,
            sites=[sites[c] for c in site_codes],
            display_name=name,
            credentials=credentials,
            email=f"{username}@example.invalid",
        )
        say(f"  staff {username}: created")
