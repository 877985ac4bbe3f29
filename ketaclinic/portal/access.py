"""The gates of the portal: a patient reaches their pages only through a live link; staff reach links and intakes
only at their sites.

Patient side: :func:`resolve_link` turns the token in the URL into a usable :class:`PortalLink` or raises
:class:`LinkUnavailable` with the reason; :func:`portal_view` wraps a patient-facing view (any app's, e.g. consent
signing) so that it runs without sign-in, as the patient, with the token kept out of the audit trail.

Staff side: :func:`access_link` and :func:`access_submission` answer 404 alike for missing and other-site rows and
403 when the role lacks the capability; reads are audited.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache

from ketaclinic.accounts.access import sites_for
from ketaclinic.accounts.roles import Perm
from ketaclinic.audit.actions import Action, Outcome, record
from ketaclinic.audit.context import AuditContext, acting
from ketaclinic.audit.middleware import client_ip
from ketaclinic.patients.access import access_patient
from ketaclinic.portal.models import IntakeSubmission, PortalLink

#: What ``secrets.token_urlsafe`` produces; anything else is not a token of ours (and is never looked up).
_TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_-]{20,100}$")


class LinkUnavailable(Exception):
    """A portal link that cannot be used: ``reason`` is ``expired``, ``used``, ``revoked`` or ``unknown``.

    ``link`` is the link when it exists (so the holder may ask the clinic for a new one); ``status`` is the HTTP
    status the patient's page answers with: 410 Gone for a link that existed, 404 for an unknown one.
    """

    REASONS = ("expired", "used", "revoked", "unknown")

    def __init__(self, reason: str, link: PortalLink | None = None) -> None:
        if reason not in self.REASONS:
            raise ValueError(f"reason must be one of {', '.join(self.REASONS)}")
        super().__init__(reason)
        self.reason = reason
        self.link = link

    @property
    def status(self) -> int:
        return 404 if self.reason == "unknown" else 410


def hash_token(token: str) -> str:
    """The SHA-256 hex digest under which a link's token is stored."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def find_link(token: str) -> PortalLink | None:
    """The link with this token whatever its state, or None (malformed tokens are not looked up)."""
    if not isinstance(token, str) or not _TOKEN_SHAPE.match(token):
        return None
    return PortalLink.objects.select_related("patient", "site").filter(token_hash=hash_token(token)).first()


def resolve_link(token: str, *, purpose: str | None = None) -> PortalLink:
    """The live link for ``token``; ``LinkUnavailable`` if it is unknown, revoked, used or expired.

    With ``purpose``, a link issued for another purpose counts as unknown (an intake link does not open a consent
    page). Revocation is reported before use and expiry, so a revoked link never invites a new attempt to use it.
    """
    link = find_link(token)
    if link is None or (purpose is not None and link.purpose != purpose):
        raise LinkUnavailable("unknown")
    if link.revoked_at is not None:
        raise LinkUnavailable("revoked", link)
    if link.completed_at is not None:
        raise LinkUnavailable("used", link)
    if link.expires_at <= timezone.now():
        raise LinkUnavailable("expired", link)
    return link


def render_unavailable(request: HttpRequest, error: LinkUnavailable, token: str) -> HttpResponse:
    """The patient's page for a link that cannot be used: says why, and (for a real link) offers to ask for a new one.

    It never names the patient; the clinic's name and phone are shown so the holder can call.
    """
    response = render(
        request,
        "portal/unavailable.html",
        {"reason": error.reason, "link": error.link, "site": error.link.site if error.link else None, "token": token},
        status=error.status,
    )
    return _private(response)


def _private(response: HttpResponse) -> HttpResponse:
    # Health answers on a shared phone: never cache. The token-bearing URL goes out as a referrer only to this site
    # ("same-origin"); "no-referrer" would make browsers send "Origin: null" and fail the CSRF check on every form.
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "same-origin"
    return response


def redacted_path(path: str, token: str, link: PortalLink | None) -> str:
    """The request path as audited: the token (a credential) replaced by the link's id."""
    return path.replace(token, f"<link {link.pk}>" if link else "<token>")[:300]


def portal_view(
    purpose: str | None = None,
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Decorate a patient-facing view ``view(request, link, **kwargs)`` mounted under ``/p/<token>/``.

    The view runs without sign-in and acts as the patient: the audit context carries no staff user (even if a staff
    member is signed in on this browser), the link's site, and the path with the token redacted. The link is marked
    opened the first time; an unusable link gets the explanatory page (410/404) instead of the view. Responses are
    never cached.
    """

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @login_not_required
        @never_cache
        @wraps(view)
        def wrapper(request: HttpRequest, token: str, *args: Any, **kwargs: Any) -> HttpResponse:
            context = AuditContext(
                user=None, site=None, ip_address=client_ip(request), path=redacted_path(request.path, token, None)
            )
            with acting(context):
                try:
                    link = resolve_link(token, purpose=purpose)
                except LinkUnavailable as error:
                    return render_unavailable(request, error, token)
            context = AuditContext(
                user=None,
                site=link.site,
                ip_address=client_ip(request),
                path=redacted_path(request.path, token, link),
            )
            with acting(context), timezone.override(link.site.zone):
                if link.first_opened_at is None:
                    from ketaclinic.portal.actions import mark_opened

                    mark_opened(link)
                request.portal_link = link  # type: ignore[attr-defined]
                request.portal_token = token  # type: ignore[attr-defined]
                return _private(view(request, link, *args, **kwargs))

        return wrapper

    return decorate


def access_link(user: Any, link_id: int | str) -> PortalLink:
    """A portal link at one of ``user``'s sites, for a role that may send links (404 otherwise; 403 for the role)."""
    try:
        pk = int(link_id)
    except (TypeError, ValueError):
        raise Http404("No such link.") from None
    link = PortalLink.objects.select_related("patient", "site").filter(pk=pk, site__in=sites_for(user)).first()
    if link is None:
        record(Action.VIEW, object_type="portal.portallink", object_id=pk, outcome=Outcome.NOT_FOUND)
        raise Http404("No such link.")
    access_patient(user, link.patient_id, need=Perm.SEND_PORTAL_LINK, audit_as="portal.portallink")
    return link


def access_submission(user: Any, submission_id: int | str) -> IntakeSubmission:
    """A submitted intake at one of ``user``'s sites, for a role that edits the chart (404 otherwise; 403 for the
    role). The read is audited as a view of the patient's intake."""
    try:
        pk = int(submission_id)
    except (TypeError, ValueError):
        raise Http404("No such intake.") from None
    submission = (
        IntakeSubmission.objects.select_related("patient", "site", "link", "task")
        .filter(pk=pk, site__in=sites_for(user))
        .first()
    )
    if submission is None:
        record(Action.VIEW, object_type="portal.intakesubmission", object_id=pk, outcome=Outcome.NOT_FOUND)
        raise Http404("No such intake.")
    patient = access_patient(user, submission.patient_id, need=Perm.EDIT_CHART, audit_as="portal.intakesubmission")
    submission.patient = patient
    return submission
