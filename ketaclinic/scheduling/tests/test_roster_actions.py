"""The roster, chair and room, and policy actions: validation messages naming the argument, and audit."""

from __future__ import annotations

import pytest

from ketaclinic.audit.models import AuditEvent
from ketaclinic.scheduling.actions import (
    add_resource,
    add_shift,
    book_appointment,
    remove_shift,
    update_resource,
    update_site_policy,
)
from ketaclinic.scheduling.models import Resource, SitePolicy, StaffShift
from ketaclinic.scheduling.tests.conftest import at


def shift(cast, site, **overrides):
    args = {
        "user": cast.therapist,
        "site": site,
        "starts_at": at("2027-04-05", "09:00"),
        "ends_at": at("2027-04-05", "17:00"),
        "role_on_shift": "therapist",
        "by": cast.coordinator,
    }
    args.update(overrides)
    return add_shift(**args)


def test_it_adds_a_shift_and_audits_it(site, cast):
    added = shift(cast, site)
    assert added.created_by == cast.coordinator and added.role_on_shift == "therapist"
    event = AuditEvent.objects.get(object_type="scheduling.staffshift", action="create")
    assert event.detail == {"user": cast.therapist.pk, "role_on_shift": "therapist"}


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"ends_at": at("2027-04-05", "09:00")}, "ends_at: the shift must end after it starts"),
        ({"ends_at": at("2027-04-06", "02:00")}, "ends_at: a shift is at most 16 hours"),
        ({"starts_at": at("2027-04-05", "09:10")}, "starts_at: 2027-04-05 09:10 is not on a quarter hour"),
        ({"role_on_shift": "cook"}, "role_on_shift: one of prescriber, nurse, therapist"),
        ({"role_on_shift": "nurse"}, "does not hold the nurse role"),
    ],
)
def test_it_refuses_a_bad_shift(site, cast, overrides, message):
    with pytest.raises(ValueError, match=message):
        shift(cast, site, **overrides)


def test_it_refuses_a_shift_at_a_site_they_do_not_work_at(site, cast):
    with pytest.raises(ValueError, match=r"staff: .* does not work at Site B Clinic"):
        shift(cast, cast.site_b)


def test_it_refuses_overlapping_shifts(site, cast):
    shift(cast, site)
    with pytest.raises(ValueError, match=r"starts_at: .* already has a shift 2027-04-05 09:00–17:00"):
        shift(cast, site, starts_at=at("2027-04-05", "16:00"), ends_at=at("2027-04-05", "20:00"))


def test_it_removes_a_shift(site, cast):
    added = shift(cast, site)
    remove_shift(added, by=cast.coordinator)
    assert not StaffShift.objects.exists()
    assert AuditEvent.objects.filter(object_type="scheduling.staffshift", action="delete").count() == 1


def test_it_adds_and_updates_resources(site, cast):
    chair = add_resource(site=site, kind="infusion_chair", name=" Chair 7 ", monitor_label=" M7 ", by=cast.admin)
    assert (chair.name, chair.monitor_label, chair.active) == ("Chair 7", "M7", True)
    update_resource(chair, by=cast.admin, name="Chair 8", monitor_label="M8", active=False)
    chair.refresh_from_db()
    assert (chair.name, chair.monitor_label, chair.active) == ("Chair 8", "M8", False)
    update_resource(chair, by=cast.admin, name="Chair 8", monitor_label="M8", active=False)  # no change, no event
    assert AuditEvent.objects.filter(object_type="scheduling.resource", action="update").count() == 1
    assert AuditEvent.objects.get(object_type="scheduling.resource", action="update").detail == {
        "fields": ["name", "monitor_label", "active"]
    }
    update_resource(chair, by=cast.admin, active=True)
    assert Resource.objects.get(pk=chair.pk).active


@pytest.mark.parametrize(
    ("kind", "name", "message"),
    [
        ("sofa", "Sofa", "kind: one of infusion_chair"),
        ("infusion_chair", "  ", "name: give the chair or room a name"),
    ],
)
def test_it_refuses_a_bad_resource(site, cast, kind, name, message):
    with pytest.raises(ValueError, match=message):
        add_resource(site=site, kind=kind, name=name, by=cast.admin)


def test_it_refuses_duplicate_or_empty_names(site, cast):
    add_resource(site=site, kind="infusion_chair", name="Chair 1", by=cast.admin)
    second = add_resource(site=site, kind="infusion_chair", name="Chair 2", by=cast.admin)
    with pytest.raises(ValueError, match="name: Site A Clinic already has a chair 1"):
        add_resource(site=site, kind="infusion_chair", name="chair 1", by=cast.admin)
    with pytest.raises(ValueError, match="name: this site already has a CHAIR 1"):
        update_resource(second, by=cast.admin, name="CHAIR 1")
    with pytest.raises(ValueError, match="name: give the chair or room a name"):
        update_resource(second, by=cast.admin, name=" ")


def test_it_keeps_a_chair_in_service_while_it_has_bookings(clinic, types, patient, cast, chairs):
    book_appointment(
        patient=patient,
        appointment_type=types["ketamine_iv"],
        start=at("2026-11-02", "10:00"),
        by=cast.coordinator,
        resource=chairs[0],
    )
    book_appointment(
        patient=patient,
        appointment_type=types["ketamine_iv"],
        start=at("2026-11-04", "10:00"),
        by=cast.coordinator,
        resource=chairs[0],
    )
    with pytest.raises(ValueError, match="active: Chair 1 has 2 upcoming appointments; move them"):
        update_resource(chairs[0], by=cast.admin, active=False)


def test_it_sets_the_site_policy(site, cast):
    policy = update_site_policy(site, by=cast.admin, nurse_ratio=3)
    assert (policy.nurse_ratio, policy.search_days) == (3, 28)
    update_site_policy(site, by=cast.admin, nurse_ratio=5, search_days=60)
    assert SitePolicy.objects.get(site=site).search_days == 60
    events = AuditEvent.objects.filter(object_type="scheduling.sitepolicy").order_by("pk")
    assert [e.detail["fields"] for e in events] == [["nurse_ratio"], ["nurse_ratio", "search_days"]]


@pytest.mark.parametrize(
    ("ratio", "days", "message"),
    [(0, None, "nurse_ratio: 1 to 12"), (13, None, "nurse_ratio"), (True, None, "nurse_ratio"), (4, 0, "search_days")],
)
def test_it_refuses_a_bad_policy(site, cast, ratio, days, message):
    with pytest.raises(ValueError, match=message):
        update_site_policy(site, by=cast.admin, nurse_ratio=ratio, search_days=days)
