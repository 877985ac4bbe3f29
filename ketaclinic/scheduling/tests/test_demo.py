"""The scheduling demo: chairs, rooms, policies, a roster within opening hours, a few visits; twice changes nothing."""

from __future__ import annotations

import datetime as dt

import time_machine

from ketaclinic.accounts import demo as accounts_demo
from ketaclinic.accounts.models import Site
from ketaclinic.patients.models import Patient
from ketaclinic.patients.tests.factories import PatientFactory
from ketaclinic.scheduling import demo
from ketaclinic.scheduling.models import Appointment, Resource, SitePolicy, StaffShift

#: Tuesday afternoon in Chicago.
NOW = dt.datetime(2026, 12, 1, 20, 0, tzinfo=dt.UTC)


def counts() -> dict[str, int]:
    return {m.__name__: m.objects.count() for m in (Resource, SitePolicy, StaffShift, Appointment)}


def test_it_builds_the_demo_schedule_once(db):
    with time_machine.travel(NOW, tick=False):
        messages: list[str] = []
        demo.seed(messages.append)
        assert messages == ["  scheduling: the demo sites are missing; run the accounts demo first"]
        accounts_demo.seed(lambda _m: None)
        riverside, hillcrest = Site.objects.get(code="riverside"), Site.objects.get(code="hillcrest")
        screening = PatientFactory.create(site=riverside, status=Patient.Status.SCREENING)
        eligible = PatientFactory.create(site=riverside, status=Patient.Status.ELIGIBLE)
        eligible_h = PatientFactory.create(site=hillcrest, status=Patient.Status.ELIGIBLE)
        screening_h = PatientFactory.create(site=hillcrest, status=Patient.Status.SCREENING)
        demo.seed(messages.append)
        first = counts()
        demo.seed(messages.append)
        assert counts() == first

    assert Resource.objects.filter(site=riverside, kind="infusion_chair").count() == 6
    assert Resource.objects.filter(site=riverside, kind="infusion_chair").exclude(monitor_label="").count() == 6
    assert Resource.objects.filter(site=riverside).count() == 11
    assert Resource.objects.filter(site=hillcrest).count() == 6
    assert first["SitePolicy"] == 2 and SitePolicy.objects.get(site=riverside).nurse_ratio == 4
    # Eight weeks back to three weeks ahead, weekdays only, within opening hours
    zone = riverside.zone
    okafor = StaffShift.objects.filter(user__username="nurse.okafor").order_by("starts_at")
    assert okafor.count() == 11 * 5
    assert okafor.first().starts_at.astimezone(zone).date() == dt.date(2026, 10, 5)
    assert okafor.last().starts_at.astimezone(zone).date() == dt.date(2026, 12, 18)
    for shift in StaffShift.objects.select_related("site"):
        local = shift.starts_at.astimezone(shift.site.zone)
        hours = shift.site.hours_on(local.date())
        assert local.weekday() < 5 and any(
            h.opens_at <= local.time() and shift.ends_at.astimezone(shift.site.zone).time() <= h.closes_at
            for h in hours
        )
    assert StaffShift.objects.filter(user__username="nurse.hill").count() == 11 * 4
    # This week's visits: a consult in screening, a preparation session when eligible (no therapist at Hillcrest)
    booked = {(a.patient_id, a.appointment_type.code) for a in Appointment.objects.select_related("appointment_type")}
    assert booked == {
        (screening.pk, "consult"),
        (eligible.pk, "therapy_preparation"),
        (screening_h.pk, "consult"),
    }
    assert eligible_h.pk not in {p for p, _ in booked}
    assert all(a.starts_at > NOW for a in Appointment.objects.all())
    assert messages[-1] == "  consults and therapy sessions: 0 booked"
