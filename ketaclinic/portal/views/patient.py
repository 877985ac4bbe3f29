"""The patient's intake: welcome → contact → history → medications → antidepressants → PHQ-9 → GAD-7 → C-SSRS →
review → submit. Mobile-first, no sign-in (the link is the credential), progress saved at every step.

A positive suicide screen is recorded and acted on at its own step: the response is stored (raising the urgent task)
and the patient sees crisis resources before anything else.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from ketaclinic.audit.context import AuditContext, acting
from ketaclinic.audit.middleware import client_ip
from ketaclinic.clinical.eligibility import Substance
from ketaclinic.portal import actions
from ketaclinic.portal.access import LinkUnavailable, find_link, portal_view, redacted_path, render_unavailable
from ketaclinic.portal.forms import (
    AntidepressantsForm,
    ContactForm,
    HistoryForm,
    MedicationsForm,
    QuestionnaireForm,
    RowsForm,
)
from ketaclinic.portal.intake import (
    ANSWER_STEP_COUNT,
    ANTIDEPRESSANT_NAMES,
    BREASTFEEDING_CHOICES,
    CONTACT_FIELDS,
    CONTACT_LABELS,
    CSSRS_INTRO,
    HELPED_CHOICES,
    HISTORY_QUESTIONS,
    MEDICATION_NAMES,
    PREGNANCY_CHOICES,
    QUESTIONNAIRE_STEPS,
    STEP_TITLES,
    STEPS,
    SUBSTANCE_LABELS,
    history_question,
    step_number,
)
from ketaclinic.portal.models import IntakeDraft, PortalLink

ROW_FORMS: dict[str, type[RowsForm]] = {"medications": MedicationsForm, "antidepressants": AntidepressantsForm}


def _url(link: PortalLink, request: HttpRequest, step: str) -> str:
    token = request.portal_token  # type: ignore[attr-defined]
    if step == "review":
        return reverse("portal:intake_review", kwargs={"token": token})
    if step == "welcome":
        return reverse("portal:start", kwargs={"token": token})
    return reverse("portal:intake_step", kwargs={"token": token, "step": step})


def _next_step(step: str) -> str:
    return STEPS[STEPS.index(step) + 1]


def _base_context(request: HttpRequest, link: PortalLink, draft: IntakeDraft, step: str) -> dict[str, Any]:
    previous = STEPS[STEPS.index(step) - 1] if STEPS.index(step) > 0 else None
    return {
        "link": link,
        "site": link.site,
        "draft": draft,
        "step": step,
        "step_title": STEP_TITLES[step],
        "step_number": step_number(step),
        "step_count": ANSWER_STEP_COUNT,
        "progress_pct": min(100, round(100 * step_number(step) / ANSWER_STEP_COUNT)),
        "back_url": _url(link, request, previous) if previous else None,
        "safety_shown": draft.safety_shown_at is not None,
    }


@portal_view()
@require_http_methods(["GET", "POST"])
def start(request: HttpRequest, link: PortalLink) -> HttpResponse:
    """The link's front door: a welcome the first time, then straight back to where the patient stopped."""
    token = request.portal_token  # type: ignore[attr-defined]
    if link.purpose != PortalLink.Purpose.INTAKE:
        # Other purposes have their own pages under the link (e.g. consent signing).
        return redirect(f"{reverse('portal:start', kwargs={'token': token})}{link.purpose}/")
    draft = actions.draft_for(link)
    if request.method == "POST":
        actions.save_step(link, "welcome", {})
        return redirect(_url(link, request, _next_step("welcome")))
    if "welcome" in draft.done and request.GET.get("welcome") is None:
        return redirect(_url(link, request, actions.first_incomplete_step(draft)))
    context = _base_context(request, link, draft, "welcome")
    context["patient_name"] = link.patient.preferred_name or link.patient.legal_first_name
    return render(request, "portal/welcome.html", context)


def _form_for(step: str, draft: IntakeDraft, data: Any = None) -> Any:
    saved = draft.answers.get(step, {})
    if step == "contact":
        patient = draft.link.patient
        initial = {name: saved.get(name, getattr(patient, name)) for name in CONTACT_FIELDS}
        return ContactForm(data, initial=initial)
    if step == "history":
        return HistoryForm(data, initial=HistoryForm.initial_from(saved))
    if step in ROW_FORMS:
        form_class = ROW_FORMS[step]
        initial, count = form_class.initial_from(saved)
        return form_class(data, initial=initial, row_count=count)
    return QuestionnaireForm(
        data, instrument_id=QUESTIONNAIRE_STEPS[step], initial=QuestionnaireForm.initial_from(saved.get("answers", {}))
    )


def _render_step(
    request: HttpRequest, link: PortalLink, draft: IntakeDraft, step: str, form: Any, status: int = 200
) -> HttpResponse:
    context = _base_context(request, link, draft, step)
    context["form"] = form
    if step in QUESTIONNAIRE_STEPS:
        context["instrument"] = form.instrument
        context["questions"] = form.questions()
        context["locked"] = "response_id" in draft.answers.get(step, {})
        context["intro"] = CSSRS_INTRO if step == "cssrs" else form.instrument.instructions
        return render(request, "portal/step_questionnaire.html", context, status=status)
    if step == "medications":
        context["suggestions"] = MEDICATION_NAMES
    if step == "antidepressants":
        context["suggestions"] = ANTIDEPRESSANT_NAMES
    return render(request, f"portal/step_{'rows' if step in ROW_FORMS else step}.html", context, status=status)


@portal_view(purpose=PortalLink.Purpose.INTAKE)
@require_http_methods(["GET", "POST"])
def step(request: HttpRequest, link: PortalLink, step: str) -> HttpResponse:
    """One intake step: GET shows it with what was saved; POST validates, saves and moves on (400 with the errors
    next to the fields, everything typed kept, when something is wrong)."""
    if step not in STEPS or step in ("welcome", "review"):
        raise Http404("No such step.")
    draft = actions.draft_for(link)
    resume = actions.first_incomplete_step(draft)
    if STEPS.index(step) > STEPS.index(resume):
        return redirect(_url(link, request, resume))
    if request.method == "GET":
        return _render_step(request, link, draft, step, _form_for(step, draft))
    if step in QUESTIONNAIRE_STEPS and "response_id" in draft.answers.get(step, {}):
        # Already sent to the clinic: the stored answers stand (a resend does not store twice).
        return redirect(_url(link, request, _next_step(step)))
    form = _form_for(step, draft, request.POST)
    if step in ROW_FORMS and "add_row" in request.POST:
        data = request.POST.copy()
        data["rows"] = str(min(form.row_count + 1, 30))
        return _render_step(request, link, draft, step, ROW_FORMS[step](data, row_count=form.row_count + 1))
    if not form.is_valid():
        return _render_step(request, link, draft, step, form, status=400)
    if step in QUESTIONNAIRE_STEPS:
        response = actions.record_questionnaire(link, step, form.cleaned_data["answers"])
        if response.is_positive_suicide_screen:
            return redirect(reverse("portal:intake_support", kwargs={"token": request.portal_token, "step": step}))  # type: ignore[attr-defined]
    else:
        actions.save_step(link, step, form.answers())
    return redirect(_url(link, request, _next_step(step)))


@portal_view(purpose=PortalLink.Purpose.INTAKE)
@require_http_methods(["GET"])
def support(request: HttpRequest, link: PortalLink, step: str) -> HttpResponse:
    """Crisis resources after a positive suicide screen; the clinic team has already been told (task raised)."""
    if step not in QUESTIONNAIRE_STEPS:
        raise Http404("No such step.")
    draft = actions.draft_for(link)
    context = _base_context(request, link, draft, step)
    context["next_url"] = _url(link, request, _next_step(step))
    context["safety_shown"] = False  # the page is the full crisis box; no reminder banner above it
    return render(request, "portal/crisis.html", context)


def _summary(draft: IntakeDraft) -> dict[str, Any]:
    answers = draft.answers
    contact = answers.get("contact", {})
    history = answers.get("history", {})
    conditions = []
    for key, value in history.get("conditions", {}).items():
        question = history_question(key)
        choice = next((c for c in question.choices if c.value == value), None)
        if choice is not None and value != "no":
            conditions.append((question.text, choice.label))
    helped = dict(HELPED_CHOICES)
    return {
        "contact": [(CONTACT_LABELS[name], contact.get(name, "")) for name in CONTACT_FIELDS],
        "conditions": conditions,
        "no_conditions": all(v == "no" for v in history.get("conditions", {}).values()),
        "pregnant": dict(PREGNANCY_CHOICES).get(history.get("pregnant", ""), "—"),
        "breastfeeding": dict(BREASTFEEDING_CHOICES).get(history.get("breastfeeding", ""), "—"),
        "substances": [
            (SUBSTANCE_LABELS[Substance(s)], use.get("past_year"), use.get("problem"))
            for s, use in history.get("substances", {}).items()
        ],
        "medications": answers.get("medications", {}).get("rows", []),
        "trials": [
            {**row, "helped_label": helped.get(row.get("helped", ""), "")}
            for row in answers.get("antidepressants", {}).get("rows", [])
        ],
        "questionnaires_done": [STEP_TITLES[s] for s in QUESTIONNAIRE_STEPS if s in draft.done],
        "history_questions": len(HISTORY_QUESTIONS),
    }


@portal_view(purpose=PortalLink.Purpose.INTAKE)
@require_http_methods(["GET", "POST"])
def review(request: HttpRequest, link: PortalLink) -> HttpResponse:
    """Everything the patient gave, with a way back to each step, and the button that sends it."""
    draft = actions.draft_for(link)
    resume = actions.first_incomplete_step(draft)
    if resume != "review":
        return redirect(_url(link, request, resume))
    if request.method == "POST":
        try:
            submission = actions.submit_intake(link)
        except actions.IntakeError:
            # A second tab or a double tap got here first: the intake is in, this link is spent.
            return render_unavailable(request, LinkUnavailable("used", link), request.portal_token)  # type: ignore[attr-defined]
        thanks = {"link": link, "site": link.site, "submission": submission, "crisis": draft.safety_shown_at}
        return render(request, "portal/thanks.html", thanks)
    context = _base_context(request, link, draft, "review")
    context["summary"] = _summary(draft)
    context["step_urls"] = {s: _url(link, request, s) for s in STEPS}
    return render(request, "portal/step_review.html", context)


@login_not_required
@never_cache
@require_POST
def renew(request: HttpRequest, token: str) -> HttpResponse:
    """ "Ask the clinic for a new link" from the page of an expired, used or revoked link: a task for the clinic.

    An unknown token gets the 404 page and raises nothing (there is no clinic to tell).
    """
    link = find_link(token)
    context = AuditContext(
        user=None,
        site=link.site if link else None,
        ip_address=client_ip(request),
        path=redacted_path(request.path, token, link),
    )
    with acting(context):
        if link is None:
            return render_unavailable(request, LinkUnavailable("unknown"), token)
        if link.is_usable:
            return redirect(reverse("portal:start", kwargs={"token": token}))
        actions.request_new_link(link)
    response = render(request, "portal/renew_requested.html", {"site": link.site})
    response["Cache-Control"] = "no-store"
    return response
