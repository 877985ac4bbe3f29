"""Signing, revoking and checking consents. Each change is atomic and audited in the same transaction.

A consent is signed by the patient typing their full legal name (in clinic, witnessed by a member of staff, or
through a portal link). The signed text is rendered to a PDF at once, stored with its SHA-256, and never re-rendered:
the PDF is the document of record.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import unicodedata
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.validators import validate_ipv46_address
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from ketaclinic.audit.actions import Action, record
from ketaclinic.consents.models import Consent
from ketaclinic.consents.texts import CURRENT_VERSIONS, check_kind, expiry_for, render_text

SIGNED_NAME_MAX = Consent._meta.get_field("signed_name").max_length or 160
REASON_MAX = Consent._meta.get_field("revoked_reason").max_length or 200


def normalised_name(name: str) -> str:
    """A name compared without regard to case, repeated or surrounding spaces, or Unicode presentation forms."""
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())


def _actor(user: Any) -> Any:
    return user if getattr(user, "is_authenticated", False) else None


def _refuse_fetching(url: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
    # The PDF is built from our own template only; nothing may be fetched from a URL (no SSRF, no file reads).
    raise ValueError(f"consent PDFs load no external resources (refused {url[:60]!r})")


def render_pdf(consent: Consent) -> bytes:
    """The signed consent as a PDF: its text at the signed version, then the signature block, in the site's zone."""
    from weasyprint import HTML  # imported here: loading WeasyPrint is slow and only signing needs it

    site = consent.site
    # Dates on the document are the clinic's local times, whoever (and wherever) triggers the signing.
    with timezone.override(site.zone):
        html = render_to_string(
            "consents/pdf/signed_consent.html",
            {
                "consent": consent,
                "patient": consent.patient,
                "site": site,
                "text": render_text(consent.kind, site=site, version=consent.text_version),
                "time_zone": site.time_zone,
            },
        )
    pdf: bytes = HTML(string=html, url_fetcher=_refuse_fetching).write_pdf()
    return pdf


@transaction.atomic
def sign_consent(
    patient: Any,
    *,
    kind: str,
    signed_name: str,
    channel: str,
    ip: str | None,
    by: Any = None,
    witnessed_by: Any = None,
) -> Consent:
    """Record that ``patient`` signed the current text of ``kind`` now, and store the signed PDF with its SHA-256.

    ``signed_name`` must be the patient's legal first and last name (case and spacing do not matter); otherwise
    ``ValueError`` naming ``signed_name``. ``channel`` is ``clinic`` (then ``witnessed_by``, the member of staff who
    watched the patient sign, is required) or ``portal``. ``ip`` is the address the signature came from. ``by`` is
    the member of staff who ran the signing (None through the portal). The expiry follows
    ``texts.expiry_months(kind)``. Audited as a CREATE in the same transaction.

    The SPRAVATO REMS enrolment consent (``esketamine_rems``) is what the treatment-course checks require, through
    :func:`valid_consent`, before the first esketamine dose (REMS: patients are enrolled before treatment).
    """
    check_kind(kind)
    if channel not in Consent.Channel.values:
        raise ValueError(f"channel: {channel!r} is not one of {', '.join(Consent.Channel.values)}")
    typed = " ".join(signed_name.split())
    if not typed:
        raise ValueError("signed_name: the patient signs by typing their full legal name")
    if len(typed) > SIGNED_NAME_MAX:
        raise ValueError(f"signed_name: at most {SIGNED_NAME_MAX} characters")
    if normalised_name(typed) != normalised_name(patient.legal_name):
        raise ValueError(
            "signed_name: the typed name does not match the patient's legal name on record; type the full legal "
            "first and last name"
        )
    if channel == Consent.Channel.CLINIC and _actor(witnessed_by) is None:
        raise ValueError("witnessed_by: a consent signed in clinic needs the member of staff who witnessed it")
    if ip:
        try:
            validate_ipv46_address(ip)
        except ValidationError:
            raise ValueError(f"ip: {ip[:60]!r} is not an IPv4 or IPv6 address") from None
    signed_at = timezone.now()
    consent = Consent.objects.create(
        patient=patient,
        site=patient.site,
        kind=kind,
        text_version=CURRENT_VERSIONS[kind],
        signed_name=typed,
        signed_at=signed_at,
        signed_ip=ip or None,
        channel=channel,
        witnessed_by=_actor(witnessed_by),
        recorded_by=_actor(by),
        expires_at=expiry_for(kind, signed_at, patient.site.zone),
    )
    document = render_pdf(consent)
    # A random file name: the path reveals neither the patient nor the kind of consent.
    consent.pdf.save(f"{secrets.token_hex(16)}.pdf", ContentFile(document), save=False)
    try:
        consent.pdf_sha256 = hashlib.sha256(document).hexdigest()
        consent.save(update_fields=["pdf", "pdf_sha256"])
        record(
            Action.CREATE,
            obj=consent,
            patient_id=patient.pk,
            site=patient.site,
            user=_actor(by),
            detail={"kind": kind, "channel": channel, "text_version": consent.text_version},
        )
    except BaseException:
        # The row rolls back with the transaction; the file is not transactional, so remove it here.
        consent.pdf.storage.delete(consent.pdf.name)
        raise
    return consent


@transaction.atomic
def revoke_consent(consent: Consent, *, by: Any, reason: str) -> Consent:
    """Record that the patient withdrew ``consent`` (from now on it no longer counts); the PDF and row are kept.

    ``reason`` is required (``ValueError`` naming ``reason``); a consent is revoked only once. Audited as an UPDATE.
    """
    reason = " ".join(reason.split())
    if not reason:
        raise ValueError("reason: say why the consent is withdrawn, e.g. 'patient withdrew consent by phone'")
    if len(reason) > REASON_MAX:
        raise ValueError(f"reason: at most {REASON_MAX} characters")
    if consent.revoked_at is not None:
        raise ValueError("this consent was already revoked")
    consent.revoked_at = timezone.now()
    consent.revoked_by = _actor(by)
    consent.revoked_reason = reason
    consent.save(update_fields=["revoked_at", "revoked_by", "revoked_reason"])
    record(
        Action.UPDATE,
        obj=consent,
        patient_id=consent.patient_id,
        site=consent.site,
        user=_actor(by),
        detail={"event": "revoked", "kind": consent.kind},
    )
    return consent


def valid_consent(patient: Any, kind: str, at: dt.datetime | None = None) -> Consent | None:
    """The most recently signed consent of ``kind`` that holds for ``patient`` at ``at`` (default now), or None.

    Holds = signed by then, not revoked by then, not expired. This is the check the treatment-course code makes
    before the first esketamine dose (``esketamine_rems``) and before any ketamine session (``ketamine_treatment``).
    """
    check_kind(kind)
    moment = at or timezone.now()
    return Consent.objects.filter(patient=patient, kind=kind).valid_on(moment).order_by("-signed_at", "-id").first()
