from __future__ import annotations

import datetime as dt
import hashlib
import io
from pathlib import Path

import pytest
import time_machine
from django.core.exceptions import ImproperlyConfigured
from pypdf import PdfReader

from ketaclinic.audit.models import AuditEvent
from ketaclinic.consents import actions, texts
from ketaclinic.consents.actions import revoke_consent, sign_consent, valid_consent
from ketaclinic.consents.models import Consent

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 27, 15, 30, tzinfo=dt.UTC)  # 09:30 in Chicago


def sign(patient, cast, kind=Consent.Kind.KETAMINE_TREATMENT, **kwargs):
    defaults = {
        "kind": kind,
        "signed_name": patient.legal_name,
        "channel": Consent.Channel.CLINIC,
        "ip": "10.0.0.7",
        "by": cast.nurse,
        "witnessed_by": cast.nurse,
    }
    return sign_consent(patient, **{**defaults, **kwargs})


def pdf_text(consent: Consent) -> str:
    with consent.pdf.open("rb") as handle:
        reader = PdfReader(io.BytesIO(handle.read()))
    return " ".join(" ".join(page.extract_text().split()) for page in reader.pages)


@time_machine.travel(NOW, tick=False)
def test_it_records_who_signed_what_when_and_how(patient, cast) -> None:
    consent = sign(patient, cast, signed_name="  maya   HOLLOWAY-reyes ")

    assert consent.signed_name == "maya HOLLOWAY-reyes"
    assert consent.signed_at == NOW
    assert consent.signed_ip == "10.0.0.7"
    assert consent.channel == "clinic"
    assert consent.witnessed_by == cast.nurse and consent.recorded_by == cast.nurse
    assert consent.text_version == texts.CURRENT_VERSIONS["ketamine_treatment"]
    assert consent.site == patient.site
    assert consent.expires_at == dt.datetime(2027, 11, 27, 15, 30, tzinfo=dt.UTC)


def test_it_refuses_a_name_that_does_not_match_the_legal_name(patient, cast) -> None:
    with pytest.raises(ValueError, match=r"^signed_name: .*legal name"):
        sign(patient, cast, signed_name="May Holloway-Reyes")  # the preferred name is not the legal name
    with pytest.raises(ValueError, match=r"^signed_name: "):
        sign(patient, cast, signed_name="   ")
    with pytest.raises(ValueError, match=r"^signed_name: at most 160"):
        sign(patient, cast, signed_name="x" * 161)
    assert not Consent.objects.exists()


def test_it_refuses_unknown_kinds_channels_addresses_and_unwitnessed_clinic_signatures(patient, cast) -> None:
    with pytest.raises(ValueError, match=r"^kind: 'tattoo' is not a consent kind; allowed: ketamine_treatment"):
        sign(patient, cast, kind="tattoo")
    with pytest.raises(ValueError, match=r"^channel: 'fax'"):
        sign(patient, cast, channel="fax")
    with pytest.raises(ValueError, match=r"^ip: 'not-an-ip'"):
        sign(patient, cast, ip="not-an-ip")
    with pytest.raises(ValueError, match=r"^witnessed_by: "):
        sign(patient, cast, witnessed_by=None)
    assert not Consent.objects.exists()


def test_it_renders_a_parseable_pdf_with_the_typed_name_and_the_off_label_statement(patient, cast) -> None:
    with time_machine.travel(NOW, tick=False):
        consent = sign(patient, cast, signed_name="MAYA holloway-reyes")

    text = pdf_text(consent)
    assert "MAYA holloway-reyes" in text
    assert "Racemic ketamine for depression is off-label." in text
    assert "Site A Clinic" in text
    assert "2026-11-27 09:30 (America/Chicago)" in text  # the site's local time, not UTC
    assert "10.0.0.7" in text and "Signed in clinic" in text
    assert str(cast.nurse) in text  # the witness
    assert patient.mrn in text
    assert consent.pdf.name.startswith("consents/2026/11/") and consent.pdf.name.endswith(".pdf")
    assert patient.legal_last_name not in consent.pdf.name


def test_it_stores_the_sha256_of_the_pdf_file(patient, cast, media_root: Path) -> None:
    consent = sign(patient, cast)
    stored = (media_root / consent.pdf.name).read_bytes()
    assert stored.startswith(b"%PDF-")
    assert consent.pdf_sha256 == hashlib.sha256(stored).hexdigest()


def test_it_records_portal_signatures_without_a_witness_and_with_the_address(patient, cast) -> None:
    consent = sign(patient, cast, channel="portal", by=None, witnessed_by=None, ip="2001:db8::5")
    assert consent.witnessed_by is None and consent.recorded_by is None
    assert consent.signed_ip == "2001:db8::5"
    text = pdf_text(consent)
    assert "Signed through the portal" in text and "none (signed by the patient through the patient portal)" in text
    assert sign(patient, cast, channel="portal", by=None, witnessed_by=None, ip=None).signed_ip is None


def test_it_renders_rems_and_psychotherapy_texts_that_say_what_they_must(patient, cast) -> None:
    rems = pdf_text(sign(patient, cast, kind=Consent.Kind.ESKETAMINE_REMS))
    for phrase in (
        "You must be enrolled in the SPRAVATO REMS before your first dose",
        "at least 2 hours after each dose",
        "A prescriber is on site",
        "until the next day, after a restful sleep",
        "lasts for as long as you receive SPRAVATO",
    ):
        assert phrase in rems, phrase
    therapy = pdf_text(sign(patient, cast, kind=Consent.Kind.PSYCHOTHERAPY))
    sessions = ("Preparation sessions", "Dosing-day sessions", "Integration sessions")
    for phrase in (*sessions, "Confidentiality and its limits", "Notes and recording"):
        assert phrase in therapy, phrase
    assert "valid for 12 months" in therapy


def test_it_keeps_rems_enrolment_without_expiry_by_default(patient, cast) -> None:
    assert sign(patient, cast, kind=Consent.Kind.ESKETAMINE_REMS).expires_at is None


def test_it_sets_expiry_from_the_clinic_setting(patient, cast, settings) -> None:
    settings.CONSENT_EXPIRY_MONTHS = {"ketamine_treatment": 6, "esketamine_rems": 24}
    with time_machine.travel(dt.datetime(2026, 8, 31, 17, 0, tzinfo=dt.UTC), tick=False):
        treatment = sign(patient, cast)
        rems = sign(patient, cast, kind=Consent.Kind.ESKETAMINE_REMS)
        therapy = sign(patient, cast, kind=Consent.Kind.PSYCHOTHERAPY)
    # 31 August + 6 months = the last day of February, same local clock time (12:00 CDT = 12:00 CST = 18:00 UTC).
    assert treatment.expires_at == dt.datetime(2027, 2, 28, 18, 0, tzinfo=dt.UTC)
    assert rems.expires_at == dt.datetime(2028, 8, 31, 17, 0, tzinfo=dt.UTC)
    assert therapy.expires_at == dt.datetime(2027, 8, 31, 17, 0, tzinfo=dt.UTC)  # default 12 months


@pytest.mark.parametrize(
    ("configured", "message"),
    [
        ({"ketamine_treatment": 0}, "from 1 to 120"),
        ({"ketamine_treatment": True}, "from 1 to 120"),
        ({"ketamine_treatment": "12"}, "from 1 to 120"),
        ({"tattoo": 12}, "unknown kinds tattoo"),
        (["ketamine_treatment"], "must map consent kinds"),
    ],
)
def test_it_refuses_a_bad_expiry_setting(settings, configured, message) -> None:
    settings.CONSENT_EXPIRY_MONTHS = configured
    with pytest.raises(ImproperlyConfigured, match=message):
        texts.expiry_months("ketamine_treatment")


def test_it_finds_the_latest_consent_that_holds_at_the_moment(patient, cast) -> None:
    with time_machine.travel(dt.datetime(2025, 1, 10, 15, 0, tzinfo=dt.UTC), tick=False):
        first = sign(patient, cast)
    with time_machine.travel(dt.datetime(2025, 12, 1, 15, 0, tzinfo=dt.UTC), tick=False):
        second = sign(patient, cast)
    kind = Consent.Kind.KETAMINE_TREATMENT

    assert valid_consent(patient, kind, at=dt.datetime(2025, 1, 9, tzinfo=dt.UTC)) is None  # before signing
    assert valid_consent(patient, kind, at=dt.datetime(2025, 6, 1, tzinfo=dt.UTC)) == first
    assert valid_consent(patient, kind, at=dt.datetime(2025, 12, 2, tzinfo=dt.UTC)) == second
    assert valid_consent(patient, kind, at=dt.datetime(2026, 11, 30, tzinfo=dt.UTC)) == second  # first expired
    assert valid_consent(patient, kind, at=dt.datetime(2026, 12, 1, 15, 0, tzinfo=dt.UTC)) is None  # both expired
    assert valid_consent(patient, Consent.Kind.ESKETAMINE_REMS, at=dt.datetime(2025, 6, 1, tzinfo=dt.UTC)) is None
    with time_machine.travel(dt.datetime(2026, 2, 1, tzinfo=dt.UTC), tick=False):
        assert valid_consent(patient, kind) == second  # default: now
    with pytest.raises(ValueError, match=r"^kind: "):
        valid_consent(patient, "nothing")


def test_it_finds_valid_consents_per_patient(patient, patient_b, cast) -> None:
    sign(patient, cast)
    assert valid_consent(patient_b, Consent.Kind.KETAMINE_TREATMENT) is None


def test_it_ends_validity_at_revocation_and_keeps_the_document(patient, cast) -> None:
    with time_machine.travel(dt.datetime(2026, 1, 5, 15, 0, tzinfo=dt.UTC), tick=False):
        consent = sign(patient, cast, kind=Consent.Kind.ESKETAMINE_REMS)
    with time_machine.travel(dt.datetime(2026, 3, 1, 15, 0, tzinfo=dt.UTC), tick=False):
        revoke_consent(consent, by=cast.prescriber, reason="  Patient withdrew   by phone ")
    consent.refresh_from_db()

    assert consent.revoked_at == dt.datetime(2026, 3, 1, 15, 0, tzinfo=dt.UTC)
    assert consent.revoked_by == cast.prescriber and consent.revoked_reason == "Patient withdrew by phone"
    assert consent.pdf and consent.pdf_sha256
    kind = Consent.Kind.ESKETAMINE_REMS
    assert valid_consent(patient, kind, at=dt.datetime(2026, 2, 1, tzinfo=dt.UTC)) == consent
    assert valid_consent(patient, kind, at=dt.datetime(2026, 3, 2, tzinfo=dt.UTC)) is None


def test_it_revokes_once_and_only_with_a_reason(patient, cast) -> None:
    consent = sign(patient, cast)
    with pytest.raises(ValueError, match=r"^reason: say why"):
        revoke_consent(consent, by=cast.nurse, reason="  ")
    with pytest.raises(ValueError, match=r"^reason: at most 200"):
        revoke_consent(consent, by=cast.nurse, reason="x" * 201)
    revoke_consent(consent, by=cast.nurse, reason="Patient asked")
    with pytest.raises(ValueError, match="already revoked"):
        revoke_consent(consent, by=cast.nurse, reason="Again")


def test_it_audits_signing_and_revoking_without_clinical_values(patient, cast) -> None:
    consent = sign(patient, cast)
    revoke_consent(consent, by=cast.prescriber, reason="Patient changed their mind about treatment")

    events = AuditEvent.objects.filter(object_type="consents.consent", object_id=str(consent.pk)).order_by("id")
    created, revoked = events
    assert (created.action, created.actor, created.patient_id) == ("create", cast.nurse, patient.pk)
    assert created.detail == {"kind": "ketamine_treatment", "channel": "clinic", "text_version": "2026-11-27"}
    assert (revoked.action, revoked.actor) == ("update", cast.prescriber)
    assert revoked.detail == {"event": "revoked", "kind": "ketamine_treatment"}
    assert "changed their mind" not in str(revoked.detail)


def test_it_removes_the_file_and_the_row_when_signing_fails_late(patient, cast, monkeypatch, media_root):
    def broken_record(*args, **kwargs):
        raise RuntimeError("audit store unavailable")

    monkeypatch.setattr(actions, "record", broken_record)
    with pytest.raises(RuntimeError):
        sign(patient, cast)
    assert not Consent.objects.exists()
    assert not any(path.is_file() for path in media_root.rglob("*.pdf"))


def test_it_fetches_nothing_from_urls_into_pdfs() -> None:
    with pytest.raises(ValueError, match="no external resources"):
        actions._refuse_fetching("http://169.254.169.254/latest/meta-data/")


def test_it_reads_as_kind_and_date_and_is_not_valid_before_signing(patient, cast) -> None:
    with time_machine.travel(NOW, tick=False):
        consent = sign(patient, cast)
    earlier = NOW - dt.timedelta(days=1)
    assert str(consent) == "Ketamine treatment (off-label use of racemic ketamine) signed 2026-11-27"
    assert not consent.is_valid_on(earlier)
    assert consent.state_on(earlier) == "pending"
    assert consent.state_on(NOW) == "valid"
