"""find_free_slots: opening hours, closing time, closed days, DST, resources, staff and the patient's other visits."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from ketaclinic.accounts.models import OpeningHours
from ketaclinic.scheduling.actions import book_appointment, find_free_slots
from ketaclinic.scheduling.models import SitePolicy
from ketaclinic.scheduling.tests.conftest import CHICAGO, at


def local(slot_start: dt.datetime) -> str:
    return f"{slot_start.astimezone(CHICAGO):%Y-%m-%d %H:%M}"


def test_it_offers_the_first_quarter_hours_of_the_opening_day_nearest_first(clinic, types):
    slots = find_free_slots(clinic, types["ketamine_iv"], earliest=at("2026-11-02", "06:00"))
    assert [local(s.start) for s in slots] == [
        "2026-11-02 08:00",
        "2026-11-02 08:15",
        "2026-11-02 08:30",
        "2026-11-02 08:45",
        "2026-11-02 09:00",
    ]
    assert slots[0].end - slots[0].start == dt.timedelta(minutes=70)
    assert slots[0].resource is not None and slots[0].resource.name == "Chair 1"
    assert slots[0].staff is None


def test_it_rounds_the_earliest_time_up_to_a_quarter_hour(clinic, types):
    slots = find_free_slots(clinic, types["ketamine_iv"], earliest=at("2026-11-02", "10:07"), count=1)
    assert local(slots[0].start) == "2026-11-02 10:15"


def test_it_never_offers_a_time_in_the_past(clinic, types):
    with time_machine.travel(at("2026-11-02", "10:05"), tick=False):
        slots = find_free_slots(clinic, types["ketamine_iv"], earliest=at("2026-11-02", "08:00"), count=1)
    assert local(slots[0].start) == "2026-11-02 10:15"


def test_it_ends_every_visit_by_closing_time(clinic, types):
    slots = find_free_slots(clinic, types["ketamine_iv"], earliest=at("2026-11-02", "16:30"), count=3)
    # 70 minutes must fit before 18:00: 16:45 is the last start on Monday, then Tuesday 08:00
    assert [local(s.start) for s in slots] == ["2026-11-02 16:30", "2026-11-02 16:45", "2026-11-03 08:00"]
    assert all(s.end.astimezone(CHICAGO).time() <= dt.time(18) for s in slots)


def test_it_respects_a_lunch_break(clinic, types):
    OpeningHours.objects.filter(site=clinic, weekday=0).delete()
    OpeningHours.objects.create(site=clinic, weekday=0, opens_at=dt.time(8), closes_at=dt.time(12))
    OpeningHours.objects.create(site=clinic, weekday=0, opens_at=dt.time(13), closes_at=dt.time(18))
    slots = find_free_slots(clinic, types["ketamine_iv"], earliest=at("2026-11-02", "10:45"), count=2)
    assert [local(s.start) for s in slots] == ["2026-11-02 10:45", "2026-11-02 13:00"]


def test_it_skips_a_closed_day_and_the_weekend(clinic, types):
    slots = find_free_slots(clinic, types["ketamine_iv"], earliest=at("2026-12-24", "16:45"), count=2)
    # 24 Dec 16:45 fits; 25 Dec is Christmas Day; Saturday has opening hours but no nurse on shift; Sunday is closed
    assert [local(s.start) for s in slots] == ["2026-12-24 16:45", "2026-12-28 08:00"]


def test_it_keeps_local_times_across_the_autumn_dst_change(clinic, types):
    # Sunday 1 November 2026: CDT (UTC-5) becomes CST (UTC-6)
    before = find_free_slots(clinic, types["ketamine_iv"], earliest=at("2026-10-30", "08:00"), count=1)[0]
    after = find_free_slots(clinic, types["ketamine_iv"], earliest=at("2026-11-02", "08:00"), count=1)[0]
    assert local(before.start) == "2026-10-30 08:00" and before.start.utcoffset() == dt.timedelta(0)
    assert before.start.astimezone(dt.UTC).hour == 13
    assert local(after.start) == "2026-11-02 08:00"
    assert after.start.astimezone(dt.UTC).hour == 14


def test_it_keeps_local_times_across_the_spring_dst_change(clinic, types):
    # Sunday 14 March 2027: CST (UTC-6) becomes CDT (UTC-5)
    with time_machine.travel(at("2027-03-10", "07:00"), tick=False):
        slots = find_free_slots(clinic, types["ketamine_iv"], earliest=at("2027-03-12", "16:45"), count=2)
    assert [local(s.start) for s in slots] == ["2027-03-12 16:45", "2027-03-15 08:00"]
    assert [s.start.astimezone(dt.UTC).hour for s in slots] == [22, 13]


def test_it_offers_nothing_without_a_chair_of_the_right_kind(site, staffed, types):
    assert find_free_slots(site, types["ketamine_iv"], earliest=at("2026-11-02", "08:00")) == []


def test_it_stops_at_latest(clinic, types):
    slots = find_free_slots(
        clinic, types["ketamine_iv"], earliest=at("2026-11-02", "08:00"), latest=at("2026-11-02", "08:30"), count=10
    )
    assert [local(s.start) for s in slots] == ["2026-11-02 08:00", "2026-11-02 08:15", "2026-11-02 08:30"]


def test_it_looks_as_far_ahead_as_the_site_policy_says(clinic, types):
    policy = SitePolicy.objects.create(site=clinic, search_days=1)
    # From Friday 17:00 one day ahead reaches Saturday, when no nurse is on shift
    assert find_free_slots(clinic, types["ketamine_iv"], earliest=at("2026-11-06", "17:00")) == []
    policy.search_days = 3
    policy.save()
    slots = find_free_slots(clinic, types["ketamine_iv"], earliest=at("2026-11-06", "17:00"), count=1)
    assert local(slots[0].start) == "2026-11-09 08:00"


def test_it_skips_the_patients_other_appointments(clinic, types, patient, cast):
    book_appointment(
        patient=patient, appointment_type=types["consult"], start=at("2026-11-02", "08:00"), by=cast.coordinator
    )
    slots = find_free_slots(clinic, types["ketamine_iv"], earliest=at("2026-11-02", "08:00"), patient=patient, count=1)
    assert local(slots[0].start) == "2026-11-02 09:00"
    anyone = find_free_slots(clinic, types["ketamine_iv"], earliest=at("2026-11-02", "08:00"), count=1)
    assert local(anyone[0].start) == "2026-11-02 08:00"


def test_it_books_a_therapist_for_therapy(clinic, types, cast):
    slots = find_free_slots(clinic, types["therapy_preparation"], earliest=at("2026-11-02", "08:00"), count=1)
    assert slots[0].staff == cast.therapist
    assert slots[0].resource is not None and slots[0].resource.kind == "therapy_room"


def test_it_needs_a_prescriber_on_site_for_esketamine(site, chairs, cast, types):
    from ketaclinic.scheduling.tests.conftest import put_on_shift

    put_on_shift(cast.nurse, site, "nurse", dt.date(2026, 11, 2), dt.date(2026, 11, 6))
    put_on_shift(cast.prescriber, site, "prescriber", dt.date(2026, 11, 4), dt.date(2026, 11, 4), ("12:00", "18:00"))
    slots = find_free_slots(site, types["esketamine_nasal"], earliest=at("2026-11-02", "08:00"), count=2)
    assert [local(s.start) for s in slots] == ["2026-11-04 12:00", "2026-11-04 12:15"]
    assert all(s.end - s.start == dt.timedelta(minutes=140) for s in slots)


@pytest.mark.parametrize("count", [0, 51, True])
def test_it_refuses_a_count_out_of_range(clinic, types, count):
    with pytest.raises(ValueError, match="count: from 1 to 50"):
        find_free_slots(clinic, types["ketamine_iv"], earliest=at("2026-11-02", "08:00"), count=count)


def test_it_refuses_a_naive_earliest(clinic, types):
    with pytest.raises(ValueError, match="earliest: must be a date and time with a time zone"):
        find_free_slots(clinic, types["ketamine_iv"], earliest=dt.datetime(2026, 11, 2, 8))


def test_it_refuses_a_type_no_longer_offered(clinic, types):
    iv = types["ketamine_iv"]
    iv.active = False
    with pytest.raises(ValueError, match="appointment_type: IV infusion session is no longer offered"):
        find_free_slots(clinic, iv, earliest=at("2026-11-02", "08:00"))
