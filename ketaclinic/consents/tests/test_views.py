from __future__ import annotations

import datetime as dt
import hashlib
import re

import pytest
import time_machine
from django.contrib.auth.models import AnonymousUser
from django.http import Http404
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.urls import reverse

from ketaclinic.accounts.roles import Role
from ketaclinic.accounts.tests.factories import UserFactory
from ketaclinic.accounts.tests.matrix import PermissionMatrix
from ketaclinic.audit.models import AuditEvent
from ketaclinic.consents import access
from ketaclinic.consents.actions import revoke_consent, sign_consent
from ketaclinic.consents.chart import chart_card
from ketaclinic.consents.models import Consent
from ketaclinic.patients.actions import register_patient

pytestmark = pytest.mark.django_db

ALL_ROLES = {Role.PRESCRIBER, Role.NURSE, Role.THERAPIST, Role.COORDINATOR, Role.CLINIC_ADMIN}


def new_patient(cast, first="Ines", last="Marlowe"):
    return register_patient(
        site=cast.site_a,
        by=cast.coordinator,
        legal_first_name=first,
        legal_last_name=last,
        date_of_birth=dt.date(1990, 5, 6),
    )


def signed(cast, patient=None, kind=Consent.Kind.KETAMINE_TREATMENT):
    patient = patient or new_patient(cast)
    return sign_consent(
        patient,
        kind=kind,
        signed_name=patient.legal_name,
        channel="clinic",
        ip="10.1.2.3",
        by=cast.nurse,
        witnessed_by=cast.nurse,
    )


class TestConsentList(PermissionMatrix):
    allowed = ALL_ROLES
    patient_scoped = True

    def url(self, cast):
        return reverse("consents:list", kwargs={"patient_id": new_patient(cast).pk})


class TestSignInClinic(PermissionMatrix):
    allowed = {Role.PRESCRIBER, Role.NURSE, Role.COORDINATOR}
    patient_scoped = True

    def url(self, cast):
        return reverse("consents:sign", kwargs={"patient_id": new_patient(cast).pk, "kind": "ketamine_treatment"})


class TestConsentPdf(PermissionMatrix):
    allowed = ALL_ROLES
    patient_scoped = True

    def url(self, cast):
        consent = signed(cast)
        return reverse("consents:pdf", kwargs={"patient_id": consent.patient_id, "consent_id": consent.pk})


class TestRevoke(PermissionMatrix):
    allowed = {Role.PRESCRIBER, Role.NURSE}
    patient_scoped = True

    def url(self, cast):
        consent = signed(cast)
        return reverse("consents:revoke", kwargs={"patient_id": consent.patient_id, "consent_id": consent.pk})


def test_it_signs_in_clinic_witnessed_by_the_signed_in_member_of_staff(client, cast) -> None:
    patient = new_patient(cast)
    client.force_login(cast.coordinator)
    url = reverse("consents:sign", kwargs={"patient_id": patient.pk, "kind": "psychotherapy"})

    page = client.get(url)
    assert page.status_code == 200
    assert "Confidentiality and its limits" in page.content.decode()
    assert "Legal name on record: <strong>Ines Marlowe</strong>" in page.content.decode()

    response = client.post(url, {"signed_name": "ines  marlowe", "patient_agrees": "on", "witnessed": "on"})
    assert response.status_code == 302
    assert response["Location"] == reverse("consents:list", kwargs={"patient_id": patient.pk})
    consent = Consent.objects.get(patient=patient)
    assert (consent.kind, consent.channel, consent.signed_name) == ("psychotherapy", "clinic", "ines marlowe")
    assert consent.witnessed_by == cast.coordinator and consent.recorded_by == cast.coordinator
    assert consent.signed_ip == "127.0.0.1"
    assert AuditEvent.objects.filter(action="create", object_type="consents.consent", actor=cast.coordinator).exists()


def test_it_shows_a_name_mismatch_next_to_the_field_and_keeps_it(client, cast) -> None:
    patient = new_patient(cast)
    client.force_login(cast.nurse)
    url = reverse("consents:sign", kwargs={"patient_id": patient.pk, "kind": "ketamine_treatment"})

    response = client.post(url, {"signed_name": "Inez Marlow", "patient_agrees": "on", "witnessed": "on"})

    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="id_signed_name_error"' in html
    assert "The typed name does not match the patient&#x27;s legal name on record" in html
    assert 'value="Inez Marlow"' in html
    assert re.search(r'<input[^>]*name="patient_agrees"[^>]*checked', html)
    assert not Consent.objects.exists()


def test_it_needs_the_agreement_and_the_witness_confirmation(client, cast) -> None:
    patient = new_patient(cast)
    client.force_login(cast.nurse)
    url = reverse("consents:sign", kwargs={"patient_id": patient.pk, "kind": "ketamine_treatment"})

    response = client.post(url, {"signed_name": "Ines Marlowe"})

    assert response.status_code == 400
    html = response.content.decode()
    assert "Tick this box only when the patient has read the text and agrees." in html
    assert "The signature needs a witness" in html
    assert not Consent.objects.exists()


def test_it_answers_404_for_an_unknown_kind(client, cast) -> None:
    client.force_login(cast.nurse)
    url = reverse("consents:sign", kwargs={"patient_id": new_patient(cast).pk, "kind": "tattoo"})
    assert client.get(url).status_code == 404


def test_it_downloads_the_pdf_as_an_attachment_and_audits_the_read(client, cast) -> None:
    consent = signed(cast)
    client.force_login(cast.therapist)

    response = client.get(reverse("consents:pdf", kwargs={"patient_id": consent.patient_id, "consent_id": consent.pk}))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    signed_on = consent.signed_at.astimezone(consent.site.zone).date()
    expected = f'attachment; filename="{consent.patient.mrn}-ketamine_treatment-{signed_on:%Y-%m-%d}.pdf"'
    assert response["Content-Disposition"] == expected
    assert response["Cache-Control"] == "no-store"
    assert hashlib.sha256(response.content).hexdigest() == consent.pdf_sha256
    event = AuditEvent.objects.filter(action="view", object_type="consents.consent", object_id=str(consent.pk)).get()
    assert (event.actor, event.patient_id, event.outcome) == (cast.therapist, consent.patient_id, "success")


def test_it_reaches_a_consent_only_under_its_own_patient(client, cast) -> None:
    consent = signed(cast)
    other = new_patient(cast, "Otto", "Brandvold")
    client.force_login(cast.nurse)

    for name in ("consents:pdf", "consents:revoke"):
        url = reverse(name, kwargs={"patient_id": other.pk, "consent_id": consent.pk})
        assert client.get(url).status_code == 404
    assert AuditEvent.objects.filter(object_type="consents.consent", outcome="not_found").count() == 2
    assert client.get(f"/patients/{consent.patient_id}/consents/abc/pdf/").status_code == 404
    with pytest.raises(Http404):
        access.access_consent(cast.nurse, consent.patient_id, "abc")


def test_it_answers_404_for_a_consent_without_its_pdf(client, cast) -> None:
    consent = signed(cast)
    Consent.objects.filter(pk=consent.pk).update(pdf="")
    client.force_login(cast.nurse)
    url = reverse("consents:pdf", kwargs={"patient_id": consent.patient_id, "consent_id": consent.pk})
    assert client.get(url).status_code == 404


def test_it_audits_denied_signing(client, cast) -> None:
    client.force_login(cast.therapist)
    patient = new_patient(cast)
    assert (
        client.get(reverse("consents:sign", kwargs={"patient_id": patient.pk, "kind": "psychotherapy"})).status_code
        == 403
    )
    assert AuditEvent.objects.filter(object_type="consents.consent", outcome="denied", patient_id=patient.pk).exists()


def test_it_records_a_withdrawal_with_its_reason(client, cast) -> None:
    consent = signed(cast)
    client.force_login(cast.prescriber)
    url = reverse("consents:revoke", kwargs={"patient_id": consent.patient_id, "consent_id": consent.pk})

    missing = client.post(url, {"reason": "  "})
    assert missing.status_code == 400
    assert "Give the reason the consent is withdrawn." in missing.content.decode()

    response = client.post(url, {"reason": "Patient withdrew consent by phone"})
    assert response.status_code == 302
    consent.refresh_from_db()
    assert consent.revoked_by == cast.prescriber and consent.revoked_reason == "Patient withdrew consent by phone"

    again = client.post(url, {"reason": "Twice"})
    assert again.status_code == 400
    assert "This consent was already revoked" in again.content.decode()


def test_it_lists_valid_expired_and_withdrawn_consents_with_downloads(client, cast) -> None:
    patient = new_patient(cast)
    with time_machine.travel(dt.datetime(2024, 6, 1, 15, 0, tzinfo=dt.UTC), tick=False):
        expired = signed(cast, patient)
    rems = signed(cast, patient, Consent.Kind.ESKETAMINE_REMS)
    therapy = signed(cast, patient, Consent.Kind.PSYCHOTHERAPY)
    revoke_consent(therapy, by=cast.nurse, reason="Stopped therapy")
    client.force_login(cast.nurse)

    html = client.get(reverse("consents:list", kwargs={"patient_id": patient.pk})).content.decode()

    assert html.count(">Expired<") == 2  # the kind's state and the row
    assert html.count(">Valid<") == 2
    assert html.count(">Withdrawn<") == 2
    for consent in (expired, rems, therapy):
        assert reverse("consents:pdf", kwargs={"patient_id": patient.pk, "consent_id": consent.pk}) in html
    assert "Stopped therapy" in html
    assert reverse("consents:revoke", kwargs={"patient_id": patient.pk, "consent_id": rems.pk}) in html
    assert reverse("consents:revoke", kwargs={"patient_id": patient.pk, "consent_id": therapy.pk}) not in html


def test_it_offers_no_signing_or_withdrawal_to_read_only_roles(client, cast) -> None:
    consent = signed(cast)
    client.force_login(cast.therapist)
    html = client.get(reverse("consents:list", kwargs={"patient_id": consent.patient_id})).content.decode()
    assert "Sign in clinic" not in html and "Withdraw" not in html
    assert "Download PDF" in html


def _card(cast, user, patient):
    request = RequestFactory().get("/")
    request.user = user
    return chart_card(request, patient)


def test_it_shows_each_kind_and_what_staff_can_do_on_the_chart_card(cast) -> None:
    patient = new_patient(cast)
    with time_machine.travel(dt.datetime(2026, 1, 10, 15, 0, tzinfo=dt.UTC), tick=False):
        treatment = signed(cast, patient)
    with time_machine.travel(dt.datetime(2026, 12, 20, 15, 0, tzinfo=dt.UTC), tick=False):
        context = _card(cast, cast.coordinator, patient)
        states = {s.kind: s.state for s in context["consent_statuses"]}
        html = render_to_string("consents/_chart_card.html", {**context, "patient": patient})

    assert states == {"ketamine_treatment": "expiring", "esketamine_rems": "missing", "psychotherapy": "missing"}
    assert context["can_sign_consents"] is True
    assert "until 2027-01-10" in html and "Expires soon" in html
    assert reverse("consents:sign", kwargs={"patient_id": patient.pk, "kind": "esketamine_rems"}) in html
    assert reverse("consents:pdf", kwargs={"patient_id": patient.pk, "consent_id": treatment.pk}) in html


def test_it_shows_a_read_only_card_to_therapists_and_none_without_access(cast) -> None:
    patient = new_patient(cast)
    context = _card(cast, cast.therapist, patient)
    html = render_to_string("consents/_chart_card.html", {**context, "patient": patient})
    assert "Sign in clinic" not in html and "Not signed" in html
    nobody = UserFactory.create(username="no-roles", sites=[cast.site_a])
    assert _card(cast, nobody, patient) is None
    assert _card(cast, AnonymousUser(), patient) is None
