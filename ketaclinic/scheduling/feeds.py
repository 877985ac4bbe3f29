"""Calendar feeds (iCalendar, RFC 5545) for a patient's appointments and a staff member's shifts and appointments.

A feed is read by calendar apps outside the clinic through a secret URL, so events say only "KetaClinic
appointment" (or shift), when and where: no patient name, no treatment, no diagnosis. A patient's own feed also
carries the pre-visit instructions they are e-mailed. Times are written in UTC (``DTSTART:20261102T160000Z``), which
every client shows in its own zone.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.utils import timezone

from ketaclinic.scheduling.models import Appointment, FeedToken, StaffShift

#: Feeds cover the last month and the coming year.
PAST = dt.timedelta(days=31)
FUTURE = dt.timedelta(days=366)
PRODID = "-//KetaClinic//Scheduling//EN"


def escape(text: str) -> str:
    """RFC 5545 TEXT escaping (backslash, semicolon, comma, newline)."""
    return (
        text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\r\n", "\\n").replace("\n", "\\n")
    )


def fold(line: str) -> str:
    """Fold a content line at 75 octets (RFC 5545 §3.1), never splitting a UTF-8 character."""
    out: list[str] = []
    current = ""
    size = 0
    limit = 75
    for char in line:
        width = len(char.encode("utf-8"))
        if size + width > limit:
            out.append(current)
            current, size, limit = " ", 1, 75
        current += char
        size += width
    out.append(current)
    return "\r\n".join(out)


def utc(moment: dt.datetime) -> str:
    return f"{moment.astimezone(dt.UTC):%Y%m%dT%H%M%SZ}"


def _event(
    uid: str,
    start: dt.datetime,
    end: dt.datetime,
    summary: str,
    *,
    stamp: dt.datetime,
    sequence: int = 0,
    location: str = "",
    description: str = "",
    status: str = "CONFIRMED",
) -> list[str]:
    lines = [
        "BEGIN:VEVENT",
        f"UID:{uid}",
        f"DTSTAMP:{utc(stamp)}",
        f"DTSTART:{utc(start)}",
        f"DTEND:{utc(end)}",
        f"SEQUENCE:{sequence}",
        f"SUMMARY:{escape(summary)}",
        f"STATUS:{status}",
    ]
    if location:
        lines.append(f"LOCATION:{escape(location)}")
    if description:
        lines.append(f"DESCRIPTION:{escape(description)}")
    lines.append("END:VEVENT")
    return lines


def _location(site: object) -> str:
    name = getattr(site, "name", "")
    address = getattr(site, "address", "")
    return f"{name}, {address}" if address else name


def calendar(name: str, events: Iterable[list[str]]) -> str:
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{escape(name)}",
    ]
    for event in events:
        lines.extend(event)
    lines.append("END:VCALENDAR")
    return "".join(fold(line) + "\r\n" for line in lines)


def feed_for(token: FeedToken) -> str:
    """The iCalendar text of ``token``'s feed (a fixed number of queries)."""
    now = timezone.now()
    window = {"starts_at__gte": now - PAST, "starts_at__lt": now + FUTURE}
    shown = (Appointment.Status.BOOKED, Appointment.Status.CHECKED_IN, Appointment.Status.COMPLETED)
    events: list[list[str]] = []
    if token.patient_id is not None:
        appointments = Appointment.objects.filter(patient_id=token.patient_id, status__in=shown, **window)
        for a in appointments.select_related("site", "appointment_type"):
            events.append(
                _event(
                    f"appointment-{a.pk}@ketaclinic",
                    a.starts_at,
                    a.ends_at,
                    "KetaClinic appointment",
                    stamp=now,
                    sequence=a.version,
                    location=_location(a.site),
                    description=a.appointment_type.instructions,
                )
            )
        return calendar("KetaClinic appointments", events)
    for a in Appointment.objects.filter(staff_id=token.user_id, status__in=shown, **window).select_related("site"):
        events.append(
            _event(
                f"appointment-{a.pk}@ketaclinic",
                a.starts_at,
                a.ends_at,
                "KetaClinic appointment",
                stamp=now,
                sequence=a.version,
                location=_location(a.site),
            )
        )
    for shift in StaffShift.objects.filter(user=token.user, **window).select_related("site"):
        events.append(
            _event(
                f"shift-{shift.pk}@ketaclinic",
                shift.starts_at,
                shift.ends_at,
                f"KetaClinic shift ({shift.get_role_on_shift_display().lower()})",
                stamp=now,
                location=_location(shift.site),
            )
        )
    return calendar("KetaClinic work", events)
