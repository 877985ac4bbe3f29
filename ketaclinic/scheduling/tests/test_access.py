"""Access to the schedule: own sites only, patient rules for appointments, audited reads, feeds by secret."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.http import Http404

from ketaclinic.accounts.roles import Perm
from ketaclinic.audit.models import AuditEvent
from ketaclinic.scheduling import access
from ketaclinic.scheduling.actions import book_appointment
from ketaclinic.scheduling.tests.conftest import at


@pytest.fixture
def iv(clinic, types, patient, cast):
    return book_appointment(
        patient=patient, appointment_type=types["ketamine_iv"], start=at("2026-11-02", "10:00"), by=cast.coordinator
    )


def test_schedule_site_picks_the_asked_the_acting_or_the_first_site(cast):
    assert access.schedule_site(cast.nurse) == cast.site_a
    assert access.schedule_site(cast.nurse, str(cast.site_a.pk)) == cast.site_a
    assert access.schedule_site(cast.nurse, default=cast.site_b) == cast.site_a  # not one of theirs: ignored
    cast.admin.sites.add(cast.site_b)
    assert access.schedule_site(cast.admin, default=cast.site_b) == cast.site_b


def test_schedule_site_refuses_other_sites_roles_and_the_siteless(cast):
    with pytest.raises(Http404):
        access.schedule_site(cast.nurse, cast.site_b.pk)
    with pytest.raises(Http404):
        access.schedule_site(cast.nurse, "not-a-number")
    with pytest.raises(PermissionDenied):
        access.schedule_site(cast.nurse, need=Perm.MANAGE_SITE)
    cast.nurse.sites.clear()
    with pytest.raises(Http404):
        access.schedule_site(cast.nurse)


def test_appointments_visible_to_is_site_scoped_and_fails_closed(iv, cast):
    assert list(access.appointments_visible_to(cast.coordinator)) == [iv]
    assert list(access.appointments_visible_to(cast.nurse_b)) == []
    assert list(access.appointments_visible_to(AnonymousUser())) == []
    assert list(access.appointments_visible_to(None)) == []


def test_access_appointment_follows_the_patients_rules_and_audits(iv, cast):
    assert access.access_appointment(cast.therapist, iv.pk) == iv
    assert AuditEvent.objects.filter(object_type="scheduling.appointment", action="view", outcome="success").exists()
    with pytest.raises(Http404):
        access.access_appointment(cast.nurse_b, iv.pk)
    with pytest.raises(PermissionDenied):
        access.access_appointment(cast.nurse, iv.pk, need=Perm.MANAGE_SCHEDULE)
    assert access.access_appointment(cast.nurse, iv.pk, need=access.CHECK_IN_PERMS, write=True) == iv
    with pytest.raises(Http404):
        access.access_appointment(cast.nurse, 999999)
    with pytest.raises(Http404):
        access.access_appointment(cast.nurse, "abc")
    assert AuditEvent.objects.filter(object_type="scheduling.appointment", outcome="not_found").count() >= 2


def test_access_schedule_patient_uses_the_patient_rules(patient, patient_b, cast):
    assert access.access_schedule_patient(cast.coordinator, patient.pk) == patient
    with pytest.raises(Http404):
        access.access_schedule_patient(cast.coordinator, patient_b.pk)
    with pytest.raises(PermissionDenied):
        access.access_schedule_patient(cast.nurse, patient.pk, need=Perm.MANAGE_SCHEDULE)


def test_require_any(cast):
    access.require_any(cast.nurse, access.CHECK_IN_PERMS)
    with pytest.raises(PermissionDenied, match="book and move appointments"):
        access.require_any(cast.therapist, access.CHECK_IN_PERMS)


def test_a_list_read_is_audited_without_names(cast, site):
    access.audit_schedule_list(cast.nurse, site, view="day", count=3, day="2026-11-02")
    event = AuditEvent.objects.get(action="list", object_type="scheduling.appointment")
    assert event.detail == {"view": "day", "day": "2026-11-02", "count": 3} and event.site == site


def test_access_feed_finds_a_token_or_answers_404(patient, cast):
    from ketaclinic.scheduling.actions import feed_token_for

    token = feed_token_for(patient=patient, by=cast.coordinator)
    assert access.access_feed(token.token) == token
    staff = feed_token_for(user=cast.nurse, by=cast.nurse)
    assert access.access_feed(staff.token) == staff
    with pytest.raises(Http404):
        access.access_feed("")
    with pytest.raises(Http404):
        access.access_feed("nope")
