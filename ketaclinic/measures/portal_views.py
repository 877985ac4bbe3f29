"""The patient's due questionnaires under /p/<token>/questionnaire/ (no sign-in; the portal link is the credential).

The link opens the set due now. Each questionnaire is stored (scored, LOINC-coded) the moment it is sent; a positive
suicide screen raises the follow-up task at once and shows crisis resources before anything else. When nothing is
left open the link is spent and the patient sees their scores and trend in plain words.
"""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from ketaclinic import clinical
from ketaclinic.clinical.instruments import Respondent
from ketaclinic.measures.actions import record_response
from ketaclinic.measures.models import MeasureDue, QuestionnaireResponse
from ketaclinic.measures.schedule import open_due
from ketaclinic.measures.svg import score_chart
from ketaclinic.measures.trajectory import load_trajectories
from ketaclinic.portal.access import portal_view
from ketaclinic.portal.forms import QuestionnaireForm
from ketaclinic.portal.intake import CSSRS_INTRO
from ketaclinic.portal.models import PortalLink

Q = PortalLink.Purpose.QUESTIONNAIRE


def _sitting(link: PortalLink) -> str:
    return f"link:{link.pk}"


def _url(request: HttpRequest, name: str, **kwargs: Any) -> str:
    return reverse(f"measures_portal:{name}", kwargs={"token": request.portal_token, **kwargs})  # type: ignore[attr-defined]


def progress(patient: Any) -> list[dict[str, Any]]:
    """The patient's own scores in plain words: first and latest score, the change, and a small chart."""
    out = []
    for series in load_trajectories(patient).instruments:
        if series.instrument.respondent is not Respondent.PATIENT or series.baseline is None:
            continue
        first, latest = series.baseline, series.latest
        if latest.score < first.score:
            trend = f"down from {first.score} to {latest.score}"
        elif latest.score > first.score:
            trend = f"up from {first.score} to {latest.score}"
        else:
            trend = f"the same as at the start ({latest.score})"
        out.append(
            {
                "name": series.instrument.name,
                "trend": trend,
                "better": latest.score < first.score,
                "lower_is_better": series.instrument.higher_is_worse,
                "status": series.plain_status,
                "count": len(series.points),
                "svg": score_chart(
                    [(p.at, p.score) for p in series.points],
                    y_max=series.y_max,
                    title=f"Your {series.instrument.name} scores",
                    sessions=series.sessions,
                    zone=patient.site.zone,
                    width=360,
                    height=160,
                ),
            }
        )
    return out


@portal_view(purpose=Q)
@require_GET
def due_set(request: HttpRequest, link: PortalLink) -> HttpResponse:
    """The questionnaires due now, each with its state; when none is left, the thank-you page with progress."""
    from ketaclinic.portal.actions import complete_link

    rows = open_due(link.patient, timezone.now(), delivery=MeasureDue.Delivery.PORTAL)
    done = list(
        QuestionnaireResponse.objects.filter(patient=link.patient, sitting=_sitting(link)).order_by("completed_at")
    )
    safety = any(r.is_positive_suicide_screen for r in done)
    context: dict[str, Any] = {
        "link": link,
        "site": link.site,
        "safety_shown": safety,
        "done": done,
        "done_names": [clinical.get_instrument(r.instrument).name for r in done],
    }
    if not rows:
        if done:
            complete_link(link)
        context["progress"] = progress(link.patient)
        return render(request, "measures/portal_done.html", context)
    context["rows"] = [
        {"due": r, "name": clinical.get_instrument(r.instrument).name, "url": _url(request, "answer", due_id=r.pk)}
        for r in rows
    ]
    context["progress"] = progress(link.patient)
    return render(request, "measures/portal_set.html", context)


@portal_view(purpose=Q)
@require_http_methods(["GET", "POST"])
def answer(request: HttpRequest, link: PortalLink, due_id: int) -> HttpResponse:
    """One due questionnaire: 400 with the missing answers marked and what was chosen kept; stored once."""
    due = MeasureDue.objects.filter(pk=due_id, patient=link.patient, delivery=MeasureDue.Delivery.PORTAL).first()
    if due is None:
        raise Http404("No such questionnaire.")
    if due.response_id is not None or not due.is_open_at(timezone.now()):
        # Sent already (double tap, resend) or no longer open: back to the set, nothing stored twice.
        return redirect(_url(request, "set"))
    form = QuestionnaireForm(request.POST if request.method == "POST" else None, instrument_id=due.instrument)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            response = record_response(
                link.patient,
                due.instrument,
                form.cleaned_data["answers"],
                respondent=QuestionnaireResponse.Respondent.PATIENT,
                channel=QuestionnaireResponse.Channel.PORTAL,
                due=due,
                sitting=_sitting(link),
            )
            if response.is_positive_suicide_screen:
                return redirect(_url(request, "support"))
            return redirect(_url(request, "set"))
        status = 400
    context = {
        "link": link,
        "site": link.site,
        "form": form,
        "instrument": form.instrument,
        "questions": form.questions(),
        "intro": CSSRS_INTRO if due.instrument == "cssrs_screener" else form.instrument.instructions,
        "step_title": form.instrument.name,
        "safety_shown": _positive_in_link(link),
        "back_url": _url(request, "set"),
    }
    return render(request, "measures/portal_answer.html", context, status=status)


def _positive_in_link(link: PortalLink) -> bool:
    return any(
        r.is_positive_suicide_screen
        for r in QuestionnaireResponse.objects.filter(patient=link.patient, sitting=_sitting(link))
    )


@portal_view(purpose=Q)
@require_GET
def support(request: HttpRequest, link: PortalLink) -> HttpResponse:
    """Crisis resources right after a positive suicide screen; the clinic team already has the task."""
    context = {"link": link, "site": link.site, "next_url": _url(request, "set"), "safety_shown": False}
    return render(request, "portal/crisis.html", context)
