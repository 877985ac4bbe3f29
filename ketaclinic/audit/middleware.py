"""Binds the request's user, site and client address to the audit context."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from ketaclinic.audit.context import AuditContext, acting


def client_ip(request: HttpRequest) -> str | None:
    """The client address as the server saw it (a proxy's X-Forwarded-For is trusted only behind a known proxy)."""
    from django.conf import settings

    if settings.SECURE_PROXY_SSL_HEADER:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.split(",")[0].strip() or None
    return request.META.get("REMOTE_ADDR") or None


class AuditContextMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        ctx = AuditContext(
            user=getattr(request, "user", None),
            site=getattr(request, "site", None),
            ip_address=client_ip(request),
            path=request.path[:300],
        )
        with acting(ctx):
            return self.get_response(request)
