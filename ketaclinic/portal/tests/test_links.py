"""Portal links: issue, e-mail, open, resume, spend, expire, revoke, unknown, and asking for a new one."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.core import mail
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

from ketaclinic.audit.models import AuditEvent
from ketaclinic.conftest import Cast
from ketaclinic.patients.models import Patient
from ketaclinic.portal import actions
from ketaclinic.portal.access import LinkUnavailable, hash_token, resolve_link
from ketaclinic.portal.models import PortalLink
from ketaclinic.portal.tests.conftest import step_url, walk
from ketaclinic.tasks.models import Task

pytestmark = pytest.mark.django_db(transaction=False)

NOW = dt.datetime(2026, 3, 2, 15, 0, tzinfo=dt.UTC)


def start_url(token: str) -> str:
    return reverse("portal:start", kwargs={"token": token})


def test_it_emails_the_link_with_its_address_and_expiry_and_no_health_data(
    patient: Patient, cast: Cast, django_capture_on_commit_callbacks
) -> None:
    with time_machine.travel(NOW, tick=False), django_capture_on_commit_callbacks(execute=True):
        link, token = actions.create_link(
            patient, purpose=PortalLink.Purpose.INTAKE, by=cast.coordinator, email="robin@example.invalid"
        )
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["robin@example.invalid"]
    assert f"http://127.0.0.1:8000/p/{token}/" in message.body
    assert "Thursday 5 March 2026, 9:00" in message.body  # 72 h later, in the clinic's time zone (CST)
    for private in ("Robin", "Rob", "Testpatient", patient.mrn, "ketamine", "depress"):
        assert private not in message.body and private not in message.subject
    assert link.expires_at == NOW + dt.timedelta(hours=72)
    assert link.sent_to == "robin@example.invalid"
    assert link.created_by == cast.coordinator


def test_it_stores_only_the_hash_of_the_token(intake: tuple[PortalLink, str]) -> None:
    link, token = intake
    assert len(token) >= 43
    assert link.token_hash == hash_token(token) != token
    assert not PortalLink.objects.filter(token_hash=token).exists()


@override_settings(PORTAL_LINK_HOURS=2)
def test_it_reads_the_link_lifetime_from_settings(patient: Patient, cast: Cast) -> None:
    link, _ = actions.create_link(patient, purpose="intake", by=cast.nurse, email=None)
    assert link.expires_at - link.created_at == dt.timedelta(hours=2)
    assert mail.outbox == []


def test_it_refuses_an_unknown_purpose(patient: Patient, cast: Cast) -> None:
    with pytest.raises(ValueError, match="purpose"):
        actions.create_link(patient, purpose="holiday", by=cast.nurse, email=None)


def test_a_new_intake_link_revokes_the_previous_live_one(patient: Patient, cast: Cast) -> None:
    first, first_token = actions.create_link(patient, purpose="intake", by=cast.nurse, email=None)
    consent, _ = actions.create_link(patient, purpose="consent", by=cast.nurse, email=None)
    actions.create_link(patient, purpose="intake", by=cast.nurse, email=None)
    first.refresh_from_db()
    consent.refresh_from_db()
    assert first.state == PortalLink.State.REVOKED
    assert consent.state == PortalLink.State.SENT
    with pytest.raises(LinkUnavailable) as caught:
        resolve_link(first_token)
    assert caught.value.reason == "revoked"


def test_it_walks_the_link_through_its_states(client: Client, intake: tuple[PortalLink, str]) -> None:
    link, token = intake
    assert link.state == "sent"
    response = client.get(start_url(token))
    assert response.status_code == 200
    assert "Hello Rob" in response.content.decode()
    assert response["Cache-Control"].startswith("no-store") or "no-store" in response["Cache-Control"]
    assert response["Referrer-Policy"] == "same-origin"
    link.refresh_from_db()
    assert link.state == "opened" and link.first_opened_at is not None
    walk(client, token)
    response = client.post(reverse("portal:intake_review", kwargs={"token": token}))
    assert response.status_code == 200
    assert "Thank you" in response.content.decode()
    link.refresh_from_db()
    assert link.state == "completed"
    again = client.get(start_url(token))
    assert again.status_code == 410
    assert "already been used" in again.content.decode()
    assert client.post(reverse("portal:intake_review", kwargs={"token": token})).status_code == 410


def test_reopening_resumes_at_the_first_incomplete_step(intake: tuple[PortalLink, str]) -> None:
    _, token = intake
    walk(Client(), token, until="antidepressants")
    fresh = Client()  # another day, another browser: only the link carries the progress
    response = fresh.get(start_url(token))
    assert response.status_code == 302
    assert response["Location"] == step_url(token, "antidepressants")
    # What was saved comes back when the patient goes back a step.
    body = fresh.get(step_url(token, "medications")).content.decode()
    assert 'value="lorazepam"' in body and 'value="1 mg at night"' in body


def test_it_keeps_the_welcome_page_reachable_with_back(intake: tuple[PortalLink, str]) -> None:
    _, token = intake
    client = Client()
    walk(client, token, until="history")
    body = client.get(step_url(token, "contact")).content.decode()
    assert f'href="{start_url(token)}?welcome=1"' in body
    assert client.get(start_url(token) + "?welcome=1").status_code == 200


def test_it_does_not_let_the_patient_skip_ahead(client: Client, intake: tuple[PortalLink, str]) -> None:
    _, token = intake
    walk(client, token, until="history")
    response = client.get(step_url(token, "gad7"))
    assert response.status_code == 302 and response["Location"] == step_url(token, "history")
    review = client.get(reverse("portal:intake_review", kwargs={"token": token}))
    assert review["Location"] == step_url(token, "history")
    assert client.get(step_url(token, "nonsense")).status_code == 404
    assert client.get(reverse("portal:intake_support", kwargs={"token": token, "step": "contact"})).status_code == 404


def test_an_expired_link_answers_410_and_keeps_nothing_typed_afterwards(intake: tuple[PortalLink, str]) -> None:
    link, token = intake
    client = Client()
    with time_machine.travel(link.created_at + dt.timedelta(hours=71, minutes=59)):
        assert client.get(start_url(token)).status_code == 200
    with time_machine.travel(link.expires_at + dt.timedelta(seconds=1)):
        response = client.get(start_url(token))
        assert response.status_code == 410
        body = response.content.decode()
        assert "This link has expired" in body
        assert "Ask the clinic for a new link" in body
        assert "Robin" not in body and "Testpatient" not in body  # never reveals whose link it was
        assert client.post(step_url(token, "contact"), {"phone": "1"}).status_code == 410
        link.refresh_from_db()
        assert link.state == "expired"


def test_a_revoked_link_answers_410(client: Client, intake: tuple[PortalLink, str], cast: Cast) -> None:
    link, token = intake
    actions.revoke_link(link, by=cast.nurse)
    response = client.get(start_url(token))
    assert response.status_code == 410
    assert "This link was cancelled" in response.content.decode()


@pytest.mark.parametrize("token", ["x" * 43, "short", "has spaces in it and more text", "a" * 101])
def test_an_unknown_link_answers_404_without_a_renewal_button(client: Client, cast: Cast, token: str) -> None:
    response = client.get(start_url(token))
    assert response.status_code == 404
    body = response.content.decode()
    assert "We could not find this link" in body
    assert "Ask the clinic for a new link" not in body


def test_asking_for_a_new_link_raises_one_routine_task(intake: tuple[PortalLink, str]) -> None:
    link, token = intake
    client = Client()
    with time_machine.travel(link.expires_at + dt.timedelta(hours=1)):
        response = client.post(reverse("portal:renew", kwargs={"token": token}))
        assert response.status_code == 200
        assert "The clinic has been asked" in response.content.decode()
        client.post(reverse("portal:renew", kwargs={"token": token}))  # asked twice: still one task
    tasks = Task.objects.filter(patient=link.patient, kind=Task.Kind.OTHER)
    assert tasks.count() == 1
    task = tasks.get()
    assert task.priority == Task.Priority.ROUTINE and task.status == Task.Status.OPEN
    assert "new portal link" in task.title
    link.refresh_from_db()
    assert link.renewal_requested_at is not None


def test_asking_with_an_unknown_or_live_link_raises_nothing(client: Client, intake: tuple[PortalLink, str]) -> None:
    _, token = intake
    assert client.post(reverse("portal:renew", kwargs={"token": "y" * 43})).status_code == 404
    live = client.post(reverse("portal:renew", kwargs={"token": token}))
    assert live.status_code == 302 and live["Location"] == start_url(token)
    assert not Task.objects.exists()


def test_resolve_link_checks_the_purpose(intake: tuple[PortalLink, str]) -> None:
    link, token = intake
    assert resolve_link(token, purpose="intake") == link
    assert resolve_link(token) == link
    with pytest.raises(LinkUnavailable) as caught:
        resolve_link(token, purpose="consent")
    assert caught.value.reason == "unknown" and caught.value.status == 404 and caught.value.link is None
    with pytest.raises(ValueError):
        LinkUnavailable("stale")


def test_a_consent_link_opens_the_consent_pages(client: Client, patient: Patient, cast: Cast) -> None:
    _, token = actions.create_link(patient, purpose="consent", by=cast.nurse, email=None)
    response = client.get(start_url(token))
    assert response.status_code == 302 and response["Location"] == f"/p/{token}/consent/"
    assert client.get(step_url(token, "contact")).status_code == 404  # an intake page does not open for it


def test_the_audit_trail_never_holds_the_token(client: Client, intake: tuple[PortalLink, str]) -> None:
    link, token = intake
    walk(client, token, until="history")
    client.get(start_url("z" * 43))
    events = AuditEvent.objects.filter(patient_id=link.patient_id)
    assert events.filter(detail__event="opened").exists()
    assert events.filter(detail__step="contact").exists()
    assert all(token not in e.path for e in AuditEvent.objects.all())
    assert all(e.actor is None for e in events.filter(object_type="portal.intakedraft"))
    assert any(re.search(rf"<link {link.pk}>", e.path) for e in events)


def test_a_signed_in_staff_browser_still_acts_as_the_patient(intake: tuple[PortalLink, str], cast: Cast) -> None:
    _link, token = intake
    client = Client()
    client.force_login(cast.nurse)
    walk(client, token, until="history")
    saved = AuditEvent.objects.get(object_type="portal.intakedraft", detail__step="contact")
    assert saved.actor is None


def test_link_states_are_derived_from_time(intake: tuple[PortalLink, str]) -> None:
    link, _ = intake
    assert link.state_at(link.expires_at) == "expired"
    assert link.state_at(link.expires_at - dt.timedelta(seconds=1)) == "sent"
    assert link.state_label == "Sent"
    assert str(link) == f"Intake form link #{link.pk}"
    assert link.is_usable
    link.completed_at = timezone.now()
    assert link.state == "completed" and not link.is_usable
