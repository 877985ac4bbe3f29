"""Request plumbing for accounts: the acting site, idle sign-out and login-required-by-default."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.middleware import LoginRequiredMiddleware as DjangoLoginRequiredMiddleware
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, resolve_url
from django.utils import timezone
from django.utils.http import urlencode

from ketaclinic.accounts.access import sites_for

SITE_SESSION_KEY = "ketaclinic_site_id"
ACTIVITY_SESSION_KEY = "ketaclinic_last_activity"
#: Requests carrying this header (htmx polling) do not count as activity.
BACKGROUND_HEADER = "HTTP_X_KETACLINIC_BACKGROUND"

API_PREFIXES = ("/api/", "/fhir/")


class LoginRequiredMiddleware(DjangoLoginRequiredMiddleware):
    """Django's login-required default, answering API paths with a JSON 401 instead of a redirect."""

    def handle_no_permission(self, request: HttpRequest, view_func: Any) -> HttpResponse:  # type: ignore[override]
        if request.path.startswith(API_PREFIXES):
            return JsonResponse({"detail": "Authentication required. Sign in first."}, status=401)
        return super().handle_no_permission(request, view_func)


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
            if not request.META.get(BACKGROUND_HEADER):
                request.session[ACTIVITY_SESSION_KEY] = now
        return self.get_response(request)


class CurrentSiteMiddleware:
    """Sets ``request.site``: the site chosen in the session, else the user's first site (None when they have none)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        site = None
        if request.user.is_authenticated:
            available = list(sites_for(request.user))
            chosen = request.session.get(SITE_SESSION_KEY)
            site = next((s for s in available if s.pk == chosen), available[0] if available else None)
            request.available_sites = available  # type: ignore[attr-defined]
        request.site = site  # type: ignore[assignment]
        # Times on screen are the clinic's local times.
        if site is not None:
            timezone.activate(site.zone)
        else:
            timezone.deactivate()
        return self.get_response(request)
