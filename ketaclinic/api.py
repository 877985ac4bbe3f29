"""The JSON API (django-ninja). Apps add routers here; OpenAPI is published at /api/docs."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, ValidationError
from ninja.security import django_auth

from ketaclinic.accounts.access import sites_for
from ketaclinic.consents.api import router as consents_router
from ketaclinic.courses.api import router as courses_router
from ketaclinic.measures.api import router as measures_router
from ketaclinic.patients.api import router as patients_router
from ketaclinic.portal.api import router as portal_router
from ketaclinic.scheduling.api import router as scheduling_router
from ketaclinic.screening.api import router as screening_router
from ketaclinic.tasks.api import router as tasks_router

api = NinjaAPI(
    title="KetaClinic API",
    version="1",
    description="Clinical data API. Every call is authenticated, scoped to the caller's sites and audited.",
    auth=django_auth,
    urls_namespace="api",
)


@api.exception_handler(ValidationError)
def validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    errors = []
    for err in exc.errors:
        location = [str(part) for part in err.get("loc", ()) if part not in ("body", "payload", "query", "path")]
        errors.append({"field": ".".join(location) or "(request)", "message": err.get("msg", "invalid value")})
    return api.create_response(request, {"detail": "Some fields are not valid.", "errors": errors}, status=422)


@api.exception_handler(AuthenticationError)
def authentication_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return api.create_response(request, {"detail": "Authentication required. Sign in first."}, status=401)


@api.exception_handler(PermissionDenied)
def permission_denied(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    return api.create_response(request, {"detail": str(exc) or "Your role does not allow this."}, status=403)


@api.exception_handler(Http404)
def not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return api.create_response(request, {"detail": "Not found."}, status=404)


class SiteOut(Schema):
    id: int
    code: str
    name: str
    time_zone: str


class MeOut(Schema):
    username: str
    display_name: str
    roles: list[str]
    sites: list[SiteOut]
    current_site: SiteOut | None


@api.get("/me", response=MeOut, tags=["accounts"], summary="The signed-in user, their roles and sites")
def me(request: HttpRequest) -> dict[str, Any]:
    user: Any = request.user
    return {
        "username": user.get_username(),
        "display_name": str(user),
        "roles": user.role_names,
        "sites": list(sites_for(user)),
        "current_site": getattr(request, "site", None),
    }


api.add_router("/patients", patients_router)
api.add_router("/measures", measures_router)
api.add_router("/assessments", screening_router)
api.add_router("/consents", consents_router)
api.add_router("/tasks", tasks_router)
api.add_router("/portal", portal_router)
api.add_router("/courses", courses_router)
api.add_router("/schedule", scheduling_router)
