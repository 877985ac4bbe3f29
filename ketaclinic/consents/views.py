"""Consent screens: the patient's consents, signing in clinic, the signed PDF, revocation, and portal signing."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_http_methods

from ketaclinic.audit.actions import Action, record
from ketaclinic.audit.middleware import client_ip
from ketaclinic.consents import access
from ketaclinic.consents.actions import revoke_consent, sign_consent, valid_consent
from ketaclinic.consents.forms import ClinicSignForm, PortalSignForm, RevokeForm, add_action_error
from ketaclinic.consents.models import Consent
from ketaclinic.consents.querysets import EXPIRING_WITHIN
from ketaclinic.consents.texts import CURRENT_VERSIONS, expiry_months, render_text
from ketaclinic.portal.access import portal_view
from ketaclinic.portal.actions import complete_link
from ketaclinic.portal.models import PortalLink


def _kind_or_404(kind: str) -> str:
    if kind not in Consent.Kind.values:
        raise Http404("No such consent kind.")
    return kind


def _pdf_response(consent: Consent) -> HttpResponse:
    if not consent.pdf:
        raise Http404("This consent has no PDF.")
    with consent.pdf.open("rb") as handle:
        document = handle.read()  # a few tens of kilobytes: simpler than streaming
    signed_on = timezone.localtime(consent.signed_at, consent.site.zone).date()
    response = HttpResponse(document, content_type="application/pdf")
    filename = f"{consent.patient.mrn}-{consent.kind}-{signed_on:%Y-%m-%d}.pdf"
    response["Content-Disposition"] = content_disposition_header(as_attachment=True, filename=filename) or ""
    response["Cache-Control"] = "no-store"
    return response


@require_http_methods(["GET"])
def consent_list(request: HttpRequest, patient_id: int) -> HttpResponse:
    """Every consent of the patient (valid, expired, revoked), the state of each kind, and what to do next."""
    patient = access.access_patient_consents(request.user, patient_id)
    now = timezone.now()
    consents = list(
        Consent.objects.filter(patient=patient)
        .select_related("witnessed_by", "recorded_by", "revoked_by", "site")
        .order_by("-signed_at", "-id")
    )
    rows = [{"consent": c, "state": c.state_on(now)} for c in consents]
    return render(
        request,
        "consents/list.html",
        {
            "patient": patient,
            "statuses": Consent.objects.filter(patient=patient).status_by_kind(now),
            "rows": rows,
            "can_sign": access.can_sign(request.user),
            "can_revoke": access.can_revoke(request.user),
        },
    )


@require_http_methods(["GET", "POST"])
def sign_in_clinic(request: HttpRequest, patient_id: int, kind: str) -> HttpResponse:
    """Show the text; the patient types their legal name; the member of staff signed in witnesses the signature."""
    _kind_or_404(kind)
    patient = access.access_patient_for_signing(request.user, patient_id, audit_read=request.method == "GET")
    form = ClinicSignForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            sign_consent(
                patient,
                kind=kind,
                signed_name=form.cleaned_data["signed_name"],
                channel=Consent.Channel.CLINIC,
                ip=client_ip(request),
                by=request.user,
                witnessed_by=request.user,
            )
        except ValueError as error:
            add_action_error(form, error)
        else:
            messages.success(request, f"{Consent.Kind(kind).label}: signed and stored as a PDF.")
            return redirect("consents:list", patient_id=patient.pk)
    return render(
        request,
        "consents/sign.html",
        {
            "patient": patient,
            "kind": kind,
            "kind_label": Consent.Kind(kind).label,
            "text": render_text(kind, site=patient.site),
            "version": CURRENT_VERSIONS[kind],
            "months": expiry_months(kind),
            "current": valid_consent(patient, kind),
            "form": form,
        },
        status=400 if form.errors else 200,
    )


@require_http_methods(["GET"])
def consent_pdf(request: HttpRequest, patient_id: int, consent_id: int) -> HttpResponse:
    """The signed PDF as a download (audited as a view of the consent)."""
    return _pdf_response(access.access_consent(request.user, patient_id, consent_id))


@require_http_methods(["GET", "POST"])
def revoke(request: HttpRequest, patient_id: int, consent_id: int) -> HttpResponse:
    """Record that the patient withdrew a consent, with the reason."""
    consent = access.access_consent(request.user, patient_id, consent_id, revoke=True)
    form = RevokeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            revoke_consent(consent, by=request.user, reason=form.cleaned_data["reason"])
        except ValueError as error:
            add_action_error(form, error)
        else:
            messages.success(request, f"{consent.get_kind_display()}: recorded as withdrawn.")
            return redirect("consents:list", patient_id=consent.patient_id)
    return render(
        request,
        "consents/revoke.html",
        {"patient": consent.patient, "consent": consent, "form": form},
        status=400 if form.errors else 200,
    )


# --- Patient portal (no sign-in: the link is the credential; ``portal_view`` resolves it) ---------------------------
#
# Any live link of the patient opens these pages (``resolve_link(token, purpose=None)``). A link issued for a
# consent is single-use like every portal link: it is spent by the signature, so the confirmation is rendered at once
# rather than after a redirect, and the copy to download is offered only while the link is still live.


def _portal_token(request: HttpRequest) -> str:
    token: str = request.portal_token  # type: ignore[attr-defined]  # set by portal_view
    return token


def _renewable(consent: Consent | None, now: dt.datetime) -> bool:
    """No valid consent, or the valid one ends soon: the patient may sign (again)."""
    if consent is None:
        return True
    return consent.expires_at is not None and consent.expires_at - now <= EXPIRING_WITHIN


def _portal_context(request: HttpRequest, link: PortalLink, **extra: Any) -> dict[str, Any]:
    return {"link": link, "site": link.site, "token": _portal_token(request), **extra}


@portal_view()
@require_http_methods(["GET"])
def portal_index(request: HttpRequest, link: PortalLink) -> HttpResponse:
    """The consents the patient can read and sign through this link, with where they stand for each."""
    patient = link.patient
    record(Action.VIEW, object_type=access.AUDIT_AS, object_id=patient.pk, patient_id=patient.pk, site=link.site)
    statuses = Consent.objects.filter(patient=patient).status_by_kind(timezone.now())
    return render(request, "consents/portal/index.html", _portal_context(request, link, statuses=statuses))


@portal_view()
@require_http_methods(["GET", "POST"])
def portal_sign(request: HttpRequest, link: PortalLink, kind: str) -> HttpResponse:
    """The consent text, the patient's typed name and "I agree"; then the confirmation.

    A patient who already holds a valid consent of this kind sees it instead of a second form (so a repeated
    submission cannot sign twice), unless it ends within 30 days and is due for renewal.
    """
    _kind_or_404(kind)
    token = _portal_token(request)
    patient = link.patient
    current = valid_consent(patient, kind)
    done = reverse("consents_portal:done", kwargs={"token": token, "kind": kind})
    form: PortalSignForm | None = None
    if _renewable(current, timezone.now()):
        form = PortalSignForm(request.POST or None)
    elif request.method == "POST":
        return redirect(done)
    if request.method == "POST" and form is not None and form.is_valid():
        try:
            consent = sign_consent(
                patient,
                kind=kind,
                signed_name=form.cleaned_data["signed_name"],
                channel=Consent.Channel.PORTAL,
                ip=client_ip(request),
            )
        except ValueError as error:
            add_action_error(form, error)
        else:
            if link.purpose != PortalLink.Purpose.CONSENT:
                return redirect(done)
            complete_link(link)
            return _render_done(request, link, consent, live=False)
    if request.method == "GET":
        record(Action.VIEW, object_type=access.AUDIT_AS, object_id=patient.pk, patient_id=patient.pk, site=link.site)
    context = _portal_context(
        request,
        link,
        kind=kind,
        kind_label=Consent.Kind(kind).label,
        version=CURRENT_VERSIONS[kind],
        form=form,
        current=current,
        text=render_text(kind, site=link.site),
    )
    return render(request, "consents/portal/sign.html", context, status=400 if form and form.errors else 200)


def _render_done(request: HttpRequest, link: PortalLink, consent: Consent, *, live: bool) -> HttpResponse:
    context = _portal_context(
        request, link, kind=consent.kind, kind_label=consent.get_kind_display(), consent=consent, live=live
    )
    return render(request, "consents/portal/done.html", context)


@portal_view()
@require_http_methods(["GET"])
def portal_done(request: HttpRequest, link: PortalLink, kind: str) -> HttpResponse:
    """Confirmation after signing (while the link is live): what was signed, until when, and a copy to keep."""
    _kind_or_404(kind)
    consent = valid_consent(link.patient, kind)
    if consent is None:
        return redirect(reverse("consents_portal:sign", kwargs={"token": _portal_token(request), "kind": kind}))
    return _render_done(request, link, consent, live=True)


@portal_view()
@require_http_methods(["GET"])
def portal_copy(request: HttpRequest, link: PortalLink, kind: str) -> HttpResponse:
    """The patient's own copy of the consent of ``kind`` they signed (the one now valid), as a PDF."""
    _kind_or_404(kind)
    consent = valid_consent(link.patient, kind)
    if consent is None:
        raise Http404("Nothing signed yet.")
    record(Action.VIEW, obj=consent, patient_id=link.patient_id, site=link.site)
    return _pdf_response(consent)
