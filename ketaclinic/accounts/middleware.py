"""Request plumbing for accounts: the acting site, idle sign-out and login-required-by-default."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.middleware import LoginRequiredMiddleware as DjangoLoginRequiredMiddleware
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, resolve_url
from django.utils import timezone
from django.utils.functional import SimpleLazyObject
from django.utils.http import urlencode

from ketaclinic.accounts.access import sites_for

SITE_SESSION_KEY = "ketaclinic_site_id"
#: [site id, time zone] resolved by the last foreground request (see :class:`CurrentSiteMiddleware`).
SITE_ZONE_SESSION_KEY = "ketaclinic_site_zone"
ACTIVITY_SESSION_KEY = "ketaclinic_last_activity"
#: How often a user's activity is written to their session (seconds).
ACTIVITY_STAMP_SECONDS = 60
#: Requests carrying this header (htmx polling) do not count as activity.
BACKGROUND_HEADER = "HTTP_X_KETACLINIC_BACKGROUND"

API_PREFIXES = ("/api/", "/fhir/")


class LoginRequiredMiddleware(DjangoLoginRequiredMiddleware):
    """Django's login-required default, answering API paths with a JSON 401 instead of a redirect."""

    def handle_no_permission(self, request: HttpRequest, view_func: Any) -> HttpResponse:  # type: ignore[override]
        if request.path.startswith(API_PREFIXES):
            return JsonResponse({"detail": "Authentication required. Sign in first."}, status=401)
        redirect = super().handle_no_permission(request, view_func)
        if not request.headers.get("HX-Request"):
            return redirect
        # An htmx poll would follow the redirect and paste the sign-in page into the panel: send the whole page to
        # sign in instead.
        response = HttpResponse(status=204)
        response["HX-Redirect"] = redirect["Location"]
        return response


class IdleLogoutMiddleware:
    """Signs a user out after ``IDLE_LOGOUT_MINUTES`` without a foreground request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            now = time.time()
            last = request.session.get(ACTIVITY_SESSION_KEY)
            if last is not None and now - float(last) > settings.IDLE_LOGOUT_MINUTES * 60:
                request.idle_logout = True  # type: ignore[attr-defined]
                logout(request)
                if request.path.startswith(API_PREFIXES):
                    return JsonResponse({"detail": "Your session ended after inactivity. Sign in again."}, status=401)
                messages.info(
                    request,
                    f"You were signed out after {settings.IDLE_LOGOUT_MINUTES} minutes without activity. "
                    "Sign in again to continue.",
                )
                response = redirect(f"{resolve_url(settings.LOGIN_URL)}?{urlencode({'next': request.get_full_path()})}")
                if request.headers.get("HX-Request"):
                    response["HX-Redirect"] = response["Location"]
                return response
            # Stamped at most once a minute: a nurse clicking through a session should not cost a session write
            # per click, and a minute is well inside the precision an idle limit needs.
            if not request.META.get(BACKGROUND_HEADER) and (
                last is None or now - float(last) >= ACTIVITY_STAMP_SECONDS
            ):
                request.session[ACTIVITY_SESSION_KEY] = now
        return self.get_response(request)


class CurrentSiteMiddleware:
    """Sets ``request.site``: the site chosen in the session, else the user's first site (None when they have none).

    Background requests (htmx polling, marked with :data:`BACKGROUND_HEADER`) reuse the site and time zone the last
    foreground request resolved, remembered in the session, and only query the user's sites if the view asks for
    them: a tablet polling a session every few seconds then costs no site query. Access to patient data never rests
    on ``request.site`` (patient queries check site membership themselves), so a cached choice cannot widen access.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        site: Any = None
        remembered = request.session.get(SITE_ZONE_SESSION_KEY) if request.user.is_authenticated else None
        background = False
        if remembered and request.META.get(BACKGROUND_HEADER):
            background = True
            request.available_sites = SimpleLazyObject(lambda: list(sites_for(request.user)))  # type: ignore[attr-defined]
            site = SimpleLazyObject(lambda: self._resolve(request) or _no_site(request))
            timezone.activate(ZoneInfo(remembered[1]))
        elif request.user.is_authenticated:
            request.available_sites = list(sites_for(request.user))  # type: ignore[attr-defined]
            site = self._resolve(request)
            current = [site.pk, site.time_zone] if site is not None else None
            if request.session.get(SITE_ZONE_SESSION_KEY) != current:
                request.session[SITE_ZONE_SESSION_KEY] = current
        request.site = site
        # Times on screen are the clinic's local times.
        if background:
            pass  # activated from the remembered zone above
        elif site is None:
            timezone.deactivate()
        else:
            timezone.activate(site.zone)
        return self.get_response(request)

    @staticmethod
    def _resolve(request: HttpRequest) -> Any:
        available = request.available_sites  # type: ignore[attr-defined]
        chosen = request.session.get(SITE_SESSION_KEY)
        return next((s for s in available if s.pk == chosen), available[0] if available else None)


def _no_site(request: HttpRequest) -> Any:
    # The error page renders with the request too: it must find plain values, not this lazy object again.
    request.site = None  # type: ignore[assignment]
    request.available_sites = []  # type: ignore[attr-defined]
    raise PermissionDenied("You no longer work at any active site. Reload the page.")
