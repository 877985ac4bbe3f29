"""Staff side of links: the links page and chart card, sending (e-mail and shown once), revoking; access rules."""

from __future__ import annotations

import pytest
from django.core import mail
from django.http import Http404
from django.test import Client, RequestFactory
from django.urls import reverse

from ketaclinic.accounts.roles import Role
from ketaclinic.accounts.tests.matrix import PermissionMatrix
from ketaclinic.conftest import Cast
from ketaclinic.patients.actions import register_patient
from ketaclinic.patients.models import Patient
from ketaclinic.portal import actions
from ketaclinic.portal.access import access_link, access_submission
from ketaclinic.portal.chart import chart_card
from ketaclinic.portal.models import PortalLink
from ketaclinic.portal.tests.conftest import text_of, walk

pytestmark = pytest.mark.django_db

SENDERS = {Role.PRESCRIBER, Role.NURSE, Role.THERAPIST, Role.COORDINATOR}


def links_url(patient: Patient) -> str:
    return reverse("portal:patient_links", args=[patient.pk])


class TestLinksPage(PermissionMatrix):
    allowed = SENDERS
    patient_scoped = True

    def url(self, cast: Cast) -> str:
        patient = register_patient(
            site=cast.site_a, by=cast.coordinator, legal_first_name="Matrix", legal_last_name="Patient",
            date_of_birth="1980-01-01",
        )  # fmt: skip
        return links_url(patient)


def test_the_desk_sends_a_link_and_sees_the_address_once(
    client: Client, cast: Cast, patient: Patient, django_capture_on_commit_callbacks
) -> None:
    client.force_login(cast.coordinator)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(links_url(patient), {"email": "robin@example.invalid"})
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    link = PortalLink.objects.get(patient=patient)
    body = response.content.decode()
    url = body.split('id="portal-url" class="portal-url" type="text" readonly value="')[1].split('"')[0]
    assert url.startswith("http://testserver/p/")
    assert actions.hash_token(url.rstrip("/").rsplit("/", 1)[1]) == link.token_hash
    assert "shown only now" in text_of(response)
    assert len(mail.outbox) == 1 and url in mail.outbox[0].body
    # The list shows it without the address.
    listing = client.get(links_url(patient))
    assert url not in listing.content.decode()
    assert "Sent" in text_of(listing) and "to robin@example.invalid" in text_of(listing)


def test_a_link_can_be_handed_over_without_e_mail(client: Client, cast: Cast, patient: Patient) -> None:
    client.force_login(cast.nurse)
    response = client.post(links_url(patient), {"email": ""})
    assert response.status_code == 200
    assert "Not e-mailed: hand this address to the patient." in text_of(response)
    assert mail.outbox == []
    assert PortalLink.objects.get(patient=patient).sent_to == ""


def test_a_bad_address_answers_400_and_keeps_it(client: Client, cast: Cast, patient: Patient) -> None:
    client.force_login(cast.coordinator)
    response = client.post(links_url(patient), {"email": "robin@"})
    assert response.status_code == 400
    assert "E-mail: enter an address like name@example.com." in text_of(response)
    assert 'value="robin@"' in response.content.decode()
    assert not PortalLink.objects.exists()


def test_revoking_a_link_stops_it_and_returns_to_where_staff_were(
    client: Client, cast: Cast, intake: tuple[PortalLink, str]
) -> None:
    link, token = intake
    client.force_login(cast.coordinator)
    response = client.post(reverse("portal:revoke", args=[link.pk]), {"next": "/patients/"})
    assert response.status_code == 302 and response["Location"] == "/patients/"
    link.refresh_from_db()
    assert link.state == "revoked" and link.revoked_by == cast.coordinator
    assert Client().get(reverse("portal:start", kwargs={"token": token})).status_code == 410
    offsite = client.post(reverse("portal:revoke", args=[link.pk]), {"next": "https://evil.example/"})
    assert offsite["Location"] == links_url(link.patient)


def test_a_used_link_cannot_be_revoked(client: Client, cast: Cast, intake: tuple[PortalLink, str]) -> None:
    link, token = intake
    walk(Client(), token)
    Client().post(reverse("portal:intake_review", kwargs={"token": token}))
    client.force_login(cast.nurse)
    response = client.post(reverse("portal:revoke", args=[link.pk]), follow=True)
    assert "Not revoked: this link was already used" in text_of(response)


def test_revoking_is_refused_to_other_sites_and_other_roles(
    client: Client, cast: Cast, intake: tuple[PortalLink, str]
) -> None:
    link, _ = intake
    client.force_login(cast.nurse_b)
    assert client.post(reverse("portal:revoke", args=[link.pk])).status_code == 404
    client.force_login(cast.admin)
    assert client.post(reverse("portal:revoke", args=[link.pk])).status_code == 403
    client.force_login(cast.nurse)
    assert client.get(reverse("portal:revoke", args=[link.pk])).status_code == 405
    link.refresh_from_db()
    assert link.revoked_at is None


def test_access_functions_answer_404_for_nonsense_ids(cast: Cast) -> None:
    for fn in (access_link, access_submission):
        with pytest.raises(Http404):
            fn(cast.nurse, "abc")
        with pytest.raises(Http404):
            fn(cast.nurse, 12345)


def _card(user, patient: Patient):
    request = RequestFactory().get("/")
    request.user = user
    return chart_card(request, patient)


def test_the_chart_card_is_for_senders_and_the_review_only_for_chart_editors(
    cast: Cast, intake: tuple[PortalLink, str]
) -> None:
    link, token = intake
    walk(Client(), token)
    Client().post(reverse("portal:intake_review", kwargs={"token": token}))
    assert _card(cast.admin, link.patient) is None
    desk = _card(cast.coordinator, link.patient)
    assert desk is not None and desk["can_send"] and not desk["can_review"] and desk["pending_intakes"] == []
    nurse = _card(cast.nurse, link.patient)
    assert nurse is not None and nurse["can_review"] and len(nurse["pending_intakes"]) == 1
    assert nurse["portal_links"] == [link]


def test_the_chart_card_template_renders_states_and_actions(
    cast: Cast, intake: tuple[PortalLink, str], rf: RequestFactory
) -> None:
    from django.template.loader import render_to_string

    link, token = intake
    walk(Client(), token)
    Client().post(reverse("portal:intake_review", kwargs={"token": token}))
    live, _ = actions.create_link(link.patient, purpose="intake", by=cast.nurse, email="robin@example.invalid")
    request = rf.get("/patients/1/")
    request.user = cast.nurse
    context = chart_card(request, link.patient)
    assert context is not None
    html = render_to_string("portal/_chart_card.html", {**context, "patient": link.patient, "request": request})
    assert "Intake awaiting review" in html and reverse("portal:review", args=[link.submission.pk]) in html
    assert reverse("portal:revoke", args=[live.pk]) in html
    assert reverse("portal:revoke", args=[link.pk]) not in html  # completed: nothing to revoke
    assert "Completed" in html and "Send intake link" in html


def test_the_front_desk_chart_offers_the_link_but_not_the_review(
    client: Client, cast: Cast, intake: tuple[PortalLink, str]
) -> None:
    link, token = intake
    walk(Client(), token)
    Client().post(reverse("portal:intake_review", kwargs={"token": token}))
    client.force_login(cast.coordinator)
    desk = client.get(reverse("patients:chart", args=[link.patient_id])).content.decode()
    assert "Send intake link" in desk and "Intake awaiting review" not in desk
    client.force_login(cast.nurse)
    nurse = client.get(reverse("patients:chart", args=[link.patient_id])).content.decode()
    assert "Intake awaiting review" in nurse and reverse("portal:review", args=[link.submission.pk]) in nurse
