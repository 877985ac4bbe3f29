from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from ketaclinic.audit.models import AuditEvent
from ketaclinic.consents.actions import sign_consent
from ketaclinic.consents.models import Consent
from ketaclinic.portal.actions import create_link, revoke_link
from ketaclinic.portal.models import PortalLink

pytestmark = pytest.mark.django_db

KIND = "ketamine_treatment"


@pytest.fixture
def consent_link(patient, cast):
    return create_link(patient, purpose=PortalLink.Purpose.CONSENT, by=cast.nurse, email=None)


def sign_url(token, kind=KIND):
    return reverse("consents_portal:sign", kwargs={"token": token, "kind": kind})


def test_it_lets_the_patient_read_and_sign_without_signing_in(client, patient, consent_link) -> None:
    link, token = consent_link

    page = client.get(sign_url(token))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Racemic ketamine for depression is off-label." in html
    assert "I have read the text above and I agree." in html
    assert page["Cache-Control"].startswith("max-age=0") or "no-store" in page["Cache-Control"]

    response = client.post(sign_url(token), {"signed_name": "MAYA holloway-reyes", "agree": "on"})

    assert response.status_code == 200
    assert "Thank you — signed" in response.content.decode()
    assert "will not open again" in response.content.decode()  # a consent link is single-use
    consent = Consent.objects.get(patient=patient)
    assert (consent.kind, consent.channel, consent.signed_name) == (KIND, "portal", "MAYA holloway-reyes")
    assert consent.signed_ip == "127.0.0.1" and consent.witnessed_by is None and consent.recorded_by is None
    assert consent.pdf_sha256
    link.refresh_from_db()
    assert link.completed_at is not None
    assert client.get(sign_url(token)).status_code == 410  # spent


def test_it_audits_the_portal_signature_as_the_patient_with_the_token_redacted(client, patient, consent_link):
    link, token = consent_link
    client.post(sign_url(token), {"signed_name": "Maya Holloway-Reyes", "agree": "on"})

    created = AuditEvent.objects.get(action="create", object_type="consents.consent")
    assert created.actor is None and created.patient_id == patient.pk and created.site == patient.site
    assert token not in created.path and f"<link {link.pk}>" in created.path
    assert not AuditEvent.objects.filter(path__contains=token).exists()


def test_it_keeps_what_was_typed_on_a_wrong_name_or_no_agreement(client, patient, consent_link) -> None:
    _, token = consent_link

    wrong = client.post(sign_url(token), {"signed_name": "May Holloway", "agree": "on"})
    assert wrong.status_code == 400
    assert 'id="id_signed_name_error"' in wrong.content.decode()
    assert 'value="May Holloway"' in wrong.content.decode()

    unticked = client.post(sign_url(token), {"signed_name": "Maya Holloway-Reyes"})
    assert unticked.status_code == 400
    assert "Tick “I agree” to sign" in unticked.content.decode()
    assert 'value="Maya Holloway-Reyes"' in unticked.content.decode()
    assert not Consent.objects.exists()


def test_it_opens_consents_from_any_live_link_which_keeps_working(client, patient, cast) -> None:
    link, token = create_link(patient, purpose=PortalLink.Purpose.INTAKE, by=cast.nurse, email=None)

    index = client.get(reverse("consents_portal:index", kwargs={"token": token}))
    assert index.status_code == 200
    assert index.content.decode().count("Read and sign") == 3

    response = client.post(sign_url(token, "psychotherapy"), {"signed_name": "maya holloway-reyes", "agree": "on"})
    done = reverse("consents_portal:done", kwargs={"token": token, "kind": "psychotherapy"})
    assert response.status_code == 302 and response["Location"] == done

    page = client.get(done)
    assert page.status_code == 200 and "Download your copy" in page.content.decode()
    copy = client.get(reverse("consents_portal:copy", kwargs={"token": token, "kind": "psychotherapy"}))
    assert copy.status_code == 200 and copy["Content-Type"] == "application/pdf"
    assert copy["Content-Disposition"].startswith("attachment;")
    link.refresh_from_db()
    assert link.completed_at is None  # the intake link is spent by the intake, not by a consent
    consent = Consent.objects.get()
    assert AuditEvent.objects.filter(action="view", object_type="consents.consent", object_id=str(consent.pk)).exists()


def test_it_shows_a_valid_consent_instead_of_a_second_form(client, patient, cast, consent_link) -> None:
    _, token = consent_link
    sign_consent(patient, kind=KIND, signed_name=patient.legal_name, channel="portal", ip=None)

    page = client.get(sign_url(token))
    assert page.status_code == 200
    assert "You signed this on" in page.content.decode() and 'name="signed_name"' not in page.content.decode()
    again = client.post(sign_url(token), {"signed_name": patient.legal_name, "agree": "on"})
    assert again.status_code == 302
    assert Consent.objects.count() == 1


def test_it_lets_a_consent_ending_within_30_days_be_renewed(client, patient, cast) -> None:
    with time_machine.travel(dt.datetime(2025, 12, 10, 15, 0, tzinfo=dt.UTC), tick=False):
        sign_consent(patient, kind=KIND, signed_name=patient.legal_name, channel="portal", ip=None)
    with time_machine.travel(dt.datetime(2026, 11, 25, 15, 0, tzinfo=dt.UTC)):
        _, token = create_link(patient, purpose=PortalLink.Purpose.CONSENT, by=cast.nurse, email=None)
        page = client.get(sign_url(token))
        assert "It ends soon" in page.content.decode() and 'name="signed_name"' in page.content.decode()
        response = client.post(sign_url(token), {"signed_name": patient.legal_name, "agree": "on"})
    assert response.status_code == 200
    assert Consent.objects.count() == 2


def test_it_sends_done_without_a_signature_back_to_the_form(client, patient, cast) -> None:
    _, token = create_link(patient, purpose=PortalLink.Purpose.INTAKE, by=cast.nurse, email=None)
    response = client.get(reverse("consents_portal:done", kwargs={"token": token, "kind": KIND}))
    assert response.status_code == 302 and response["Location"] == sign_url(token)
    assert client.get(reverse("consents_portal:copy", kwargs={"token": token, "kind": KIND})).status_code == 404


def test_it_answers_bad_links_with_the_portal_page_and_unknown_kinds_with_404(
    client, patient, cast, consent_link
) -> None:
    link, token = consent_link
    assert client.get(sign_url(token, "tattoo")).status_code == 404
    assert client.get(sign_url("x" * 43)).status_code == 404
    revoke_link(link, by=cast.nurse)
    revoked = client.get(sign_url(token))
    assert revoked.status_code == 410 and "This link was cancelled" in revoked.content.decode()

    _, fresh = create_link(patient, purpose=PortalLink.Purpose.CONSENT, by=cast.nurse, email=None)
    with time_machine.travel(dt.datetime.now(tz=dt.UTC) + dt.timedelta(days=30)):
        expired = client.post(sign_url(fresh), {"signed_name": patient.legal_name, "agree": "on"})
    assert expired.status_code == 410 and "This link has expired" in expired.content.decode()
    assert not Consent.objects.exists()
