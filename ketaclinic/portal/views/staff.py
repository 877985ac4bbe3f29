"""Staff side of the portal: send and revoke links (front desk and clinicians), review submitted intakes
(clinicians who edit the chart)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from ketaclinic import clinical
from ketaclinic.accounts.roles import Perm
from ketaclinic.measures.models import QuestionnaireResponse
from ketaclinic.patients.access import access_patient
from ketaclinic.patients.models import ChartEntry, Patient
from ketaclinic.portal import actions
from ketaclinic.portal.access import access_link, access_submission
from ketaclinic.portal.forms import (
    CompleteReviewForm,
    ContactDecisionForm,
    RejectEntryForm,
    SendLinkForm,
    correction_form,
)
from ketaclinic.portal.intake import CONTACT_LABELS
from ketaclinic.portal.models import IntakeSubmission, PortalLink


def chart_url(patient_id: int) -> str | None:
    """The patient's chart, if the patients app serves one."""
    try:
        return reverse("patients:chart", args=[patient_id])
    except NoReverseMatch:
        return None


def links_context(user: Any, patient: Patient) -> dict[str, Any]:
    """What the links list needs (shared by the chart card and the links page)."""
    links = list(PortalLink.objects.filter(patient=patient).select_related("created_by", "submission")[:20])
    can_review = user.can(Perm.EDIT_CHART)
    pending = (
        list(IntakeSubmission.objects.filter(patient=patient, status=IntakeSubmission.Status.PENDING))
        if can_review
        else []
    )
    return {
        "portal_links": links,
        "can_send": user.can(Perm.SEND_PORTAL_LINK),
        "can_review": can_review,
        "pending_intakes": pending,
        "send_form": SendLinkForm(initial={"email": patient.email}),
    }


@require_http_methods(["GET", "POST"])
def patient_links(request: HttpRequest, patient_id: int) -> HttpResponse:
    """A patient's portal links; POST sends a new intake link and shows its address once."""
    patient = access_patient(request.user, patient_id, need=Perm.SEND_PORTAL_LINK, audit_as="portal.portallink")
    context = {"patient": patient, "chart_url": chart_url(patient.pk), **links_context(request.user, patient)}
    if request.method == "POST":
        form = SendLinkForm(request.POST)
        if not form.is_valid():
            context["send_form"] = form
            return render(request, "portal/links.html", context, status=400)
        link, token = actions.create_link(
            patient,
            purpose=PortalLink.Purpose.INTAKE,
            by=request.user,
            email=form.cleaned_data["email"] or None,
            base_url=request.build_absolute_uri("/"),
        )
        url = actions.link_url(token, base_url=request.build_absolute_uri("/"))
        response = render(request, "portal/link_created.html", {**context, "link": link, "url": url})
        response["Cache-Control"] = "no-store"  # the address is a credential: shown once, never cached
        return response
    return render(request, "portal/links.html", context)


@require_POST
def revoke(request: HttpRequest, link_id: int) -> HttpResponse:
    """Stop a link working (e.g. sent to the wrong address)."""
    link = access_link(request.user, link_id)
    try:
        actions.revoke_link(link, by=request.user)
        messages.success(request, "The link was revoked; it no longer opens.")
    except ValueError as error:
        messages.error(request, f"Not revoked: {error}.")
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=False):
        target = reverse("portal:patient_links", args=[link.patient_id])
    return redirect(target)


def _describe(kind: str, entry: Any) -> str:
    if kind == "condition":
        return entry.get_condition_display()
    if kind == "substance":
        parts = [entry.get_substance_display(), "used in the past year" if entry.current else "not in the past year"]
        if entry.use_disorder:
            parts.append("reports it has been a problem")
        return " — ".join(parts)
    if kind == "medication":
        return f"{entry.name}{f' — {entry.dose_text}' if entry.dose_text else ''} ({entry.get_drug_class_display()})"
    weeks = f"{entry.weeks.normalize():f} weeks" if entry.weeks is not None else "weeks not recorded"
    improvement = (
        f"{entry.improvement_pct} % better" if entry.improvement_pct is not None else "improvement not recorded"
    )
    return f"{entry.drug} ({entry.get_drug_class_display()}) — {weeks}, {improvement}"


KIND_LABELS = {
    "condition": "Condition",
    "substance": "Substance use",
    "medication": "Medication",
    "trial": "Antidepressant trial",
}


def _state(entry: ChartEntry) -> str:
    if entry.removed_at is not None:
        return "rejected"
    if entry.accepted_at is not None:
        return "accepted"
    return "pending"


def _display(value: Any) -> str:
    if value is True:
        return "Yes"
    if value is False:
        return "No"
    if value is None:
        return "Unknown"
    return str(value) or "—"


def render_review(
    request: HttpRequest,
    submission: IntakeSubmission,
    *,
    status: int = 200,
    bound: dict[str, Any] | None = None,
    complete_form: CompleteReviewForm | None = None,
) -> HttpResponse:
    """The review screen; ``bound`` carries a form that failed validation (keyed ``correct-<kind>-<id>`` or
    ``reject-<kind>-<id>``) so it re-renders with its errors and what was typed."""
    bound = bound or {}
    rows = []
    for kind, entry in actions.submission_entries(submission):
        key = f"{kind}-{entry.pk}"
        rows.append(
            {
                "kind": kind,
                "kind_label": KIND_LABELS[kind],
                "entry": entry,
                "text": _describe(kind, entry),
                "state": _state(entry),
                "correct_form": bound.get(f"correct-{key}") or correction_form(kind, entry),
                "reject_form": bound.get(f"reject-{key}") or RejectEntryForm(prefix=f"reject-{key}"),
                "open": f"correct-{key}" in bound or f"reject-{key}" in bound,
            }
        )
    contact = [
        {
            "field": name,
            "label": CONTACT_LABELS.get(name, name),
            "old": _display(change.get("old")),
            "new": change.get("label") if change.get("new") is None else _display(change.get("new")),
            "decision": submission.contact_decisions.get(name),
        }
        for name, change in submission.contact_changes.items()
    ]
    responses = [
        {"response": r, "name": clinical.get_instrument(r.instrument).name}
        for r in QuestionnaireResponse.objects.filter(
            patient=submission.patient, submission_key__startswith=f"{submission.link_id}:"
        ).order_by("completed_at", "id")
    ]
    context = {
        "submission": submission,
        "patient": submission.patient,
        "rows": rows,
        "contact": contact,
        "responses": responses,
        "waiting": actions.undecided_count(submission),
        "complete_form": complete_form or CompleteReviewForm(),
        "chart_url": chart_url(submission.patient_id),
    }
    return render(request, "portal/review.html", context, status=status)


def review(request: HttpRequest, submission_id: int) -> HttpResponse:
    """Review a submitted intake: each reported item, the proposed contact changes and the questionnaire scores."""
    submission = access_submission(request.user, submission_id)
    return render_review(request, submission)


def _back(submission: IntakeSubmission) -> HttpResponse:
    return redirect(reverse("portal:review", args=[submission.pk]))


@require_POST
def review_entry(request: HttpRequest, submission_id: int, kind: str, entry_id: int, decision: str) -> HttpResponse:
    """Accept, correct-and-accept, or reject one patient-reported item."""
    submission = access_submission(request.user, submission_id)
    try:
        entry = actions.find_entry(submission, kind, entry_id)
    except LookupError:
        raise Http404("No such item in this intake.") from None
    key = f"{kind}-{entry.pk}"
    try:
        if decision == "accept":
            actions.accept_reported_entry(submission, entry, by=request.user)
            messages.success(request, "Accepted into the chart.")
        elif decision == "correct":
            form = correction_form(kind, entry, request.POST)
            if not form.is_valid():
                return render_review(request, submission, status=400, bound={f"correct-{key}": form})
            changes = {name: form.cleaned_data[name] for name in form.changed_data}
            actions.accept_reported_entry(submission, entry, by=request.user, changes=changes)
            messages.success(request, "Corrected and accepted into the chart.")
        elif decision == "reject":
            reject_form = RejectEntryForm(request.POST, prefix=f"reject-{key}")
            if not reject_form.is_valid():
                return render_review(request, submission, status=400, bound={f"reject-{key}": reject_form})
            actions.reject_reported_entry(submission, entry, by=request.user, reason=reject_form.cleaned_data["reason"])
            messages.success(request, "Rejected; it stays out of the chart.")
        else:
            raise Http404("No such decision.")
    except actions.IntakeError as error:
        messages.error(request, f"Nothing changed: {error}.")
    return _back(submission)


@require_POST
def review_contact(request: HttpRequest, submission_id: int, field: str) -> HttpResponse:
    """Accept a proposed contact change into the record, or ignore it."""
    submission = access_submission(request.user, submission_id)
    form = ContactDecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose Accept or Ignore.")
        return _back(submission)
    try:
        actions.decide_contact_change(
            submission, field, accept=form.cleaned_data["decision"] == "accept", by=request.user
        )
        done = "accepted into the record" if form.cleaned_data["decision"] == "accept" else "ignored"
        messages.success(request, f"{CONTACT_LABELS.get(field, field)}: {done}.")
    except actions.IntakeError as error:
        messages.error(request, f"Nothing changed: {error}.")
    except ValidationError as error:
        messages.error(request, f"Not accepted: {'; '.join(error.messages)}. Correct it on the chart instead.")
    return _back(submission)


@require_POST
def review_complete(request: HttpRequest, submission_id: int) -> HttpResponse:
    """Close the review (and its task) once every item is decided."""
    submission = access_submission(request.user, submission_id)
    form = CompleteReviewForm(request.POST)
    if form.is_valid():
        try:
            actions.complete_review(submission, by=request.user, resolution=form.cleaned_data["resolution"])
        except actions.IntakeError as error:
            form.add_error(None, f"Not complete: {error}.")
    if form.errors:
        return render_review(request, submission, status=400, complete_form=form)
    messages.success(request, "Intake review complete.")
    return redirect(chart_url(submission.patient_id) or reverse("portal:review", args=[submission.pk]))
