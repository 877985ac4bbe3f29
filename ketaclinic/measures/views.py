"""Staff screens of measurement-based care: the patient's due questionnaires (and filling one in on a tablet), the
trajectory charts, and one instrument's item-level drill-down. Thin views: access, form, action, render.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from ketaclinic import clinical
from ketaclinic.accounts.roles import Perm
from ketaclinic.clinical.measurement import TIMEPOINT_LABELS, Timepoint
from ketaclinic.measures import jobs
from ketaclinic.measures.actions import record_response
from ketaclinic.measures.models import MeasureDue, QuestionnaireResponse
from ketaclinic.measures.schedule import active_course, sync_schedule
from ketaclinic.measures.svg import score_chart
from ketaclinic.measures.trajectory import InstrumentTrajectory, access_trajectories, load_trajectories
from ketaclinic.measures.trajectory_markup import chart_figure, screen_items
from ketaclinic.patients.access import access_patient
from ketaclinic.portal.forms import QuestionnaireForm, item_texts

AUDIT_AS = "measures.questionnaireresponse"
RECENT = 12


def chart_svg(series: InstrumentTrajectory, zone: Any, *, width: int = 640, height: int = 240) -> SafeString:
    """The chart of one instrument's series (also used by the chart card and, later, the PDF report)."""
    return mark_safe(  # noqa: S308 — every text in the SVG is escaped by score_chart
        score_chart(
            [(p.at, p.score) for p in series.points],
            y_max=series.y_max,
            title=f"{series.instrument.name} over time",
            sessions=series.sessions,
            baseline=series.baseline.score if series.baseline else None,
            response_line=series.response_line,
            remission_line=series.remission_line,
            zone=zone,
            width=width,
            height=height,
        )
    )


def _due_rows(patient: Any) -> dict[str, list[MeasureDue]]:
    now = timezone.now()
    groups: dict[str, list[MeasureDue]] = {"open": [], "upcoming": [], "missed": [], "done": []}
    for row in MeasureDue.objects.filter(patient=patient).select_related("response").order_by("due_at", "instrument"):
        groups[row.state_at(now)].append(row)
    groups["upcoming"] = groups["upcoming"][:RECENT]
    groups["missed"] = groups["missed"][-RECENT:][::-1]
    groups["done"] = groups["done"][-RECENT:][::-1]
    return groups


@require_GET
def measures_page(request: HttpRequest, patient_id: int) -> HttpResponse:
    """The patient's questionnaires: open now (fill in here), coming up, missed and done; send the portal set."""
    patient = access_patient(request.user, patient_id, audit_as=AUDIT_AS)
    course = active_course(patient)
    if course is not None:
        sync_schedule(course)
    user: Any = request.user
    context = {
        "patient": patient,
        "course": course,
        "groups": _due_rows(patient),
        "can_enter": user.can(Perm.EDIT_CHART),
        "can_send": user.can(Perm.SEND_PORTAL_LINK) and bool(patient.email),
        "zone": patient.site.time_zone,
    }
    return render(request, "measures/measures.html", context)


@require_POST
def send_set(request: HttpRequest, patient_id: int) -> HttpResponse:
    """E-mail the patient a link to the questionnaires open now (the job does this by itself; this is 'send now')."""
    patient = access_patient(request.user, patient_id, write=True, need=Perm.SEND_PORTAL_LINK)
    from ketaclinic.portal.actions import create_link
    from ketaclinic.portal.models import PortalLink

    now = timezone.now()
    due = [d for d in _due_rows(patient)["open"] if d.delivery == MeasureDue.Delivery.PORTAL]
    if not patient.email or not due:
        messages.error(request, "Nothing to send: no patient questionnaire is open now, or no e-mail address on file.")
    else:
        create_link(
            patient,
            purpose=PortalLink.Purpose.QUESTIONNAIRE,
            by=request.user,
            email=patient.email,
            base_url=request.build_absolute_uri("/"),
            landing=jobs.LANDING,
        )
        MeasureDue.objects.filter(pk__in=[d.pk for d in due], notified_at__isnull=True).update(notified_at=now)
        messages.success(request, f"Link to {len(due)} questionnaire{'s' if len(due) != 1 else ''} e-mailed.")
    return redirect("measures:page", patient_id=patient.pk)


def _respondent(instrument: str) -> str:
    return clinical.get_instrument(instrument).respondent.value


@require_http_methods(["GET", "POST"])
def enter(request: HttpRequest, patient_id: int, due_id: int) -> HttpResponse:
    """Fill in one due questionnaire in the clinic (clinician-rated MADRS, or any due one on a tablet).

    Bad or missing answers re-render with 400, what was chosen kept and each missing item marked. A resent form
    stores once (the due row keys the submission).
    """
    patient = access_patient(request.user, patient_id, write=True, need=Perm.EDIT_CHART)
    due = MeasureDue.objects.filter(pk=due_id, patient=patient).first()
    if due is None:
        raise Http404("No such questionnaire.")
    if due.response_id is not None:
        messages.info(request, "This questionnaire was already recorded; it was not stored again.")
        return redirect("measures:page", patient_id=patient.pk)
    form = QuestionnaireForm(request.POST if request.method == "POST" else None, instrument_id=due.instrument)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            response = record_response(
                patient,
                due.instrument,
                form.cleaned_data["answers"],
                respondent=_respondent(due.instrument),
                channel=QuestionnaireResponse.Channel.CLINIC,
                by=request.user,
                due=due,
                sitting=f"clinic:{patient.pk}:{timezone.localdate(timezone.now(), patient.site.zone)}",
            )
            if response.is_positive_suicide_screen:
                messages.warning(
                    request,
                    "Positive suicide screen: a suicide-risk follow-up task is open on the home screen. "
                    "Give crisis resources now.",
                )
            else:
                messages.success(request, f"{clinical.get_instrument(due.instrument).name} recorded.")
            return redirect("measures:page", patient_id=patient.pk)
        status = 400
    context = {
        "patient": patient,
        "due": due,
        "form": form,
        "instrument": form.instrument,
        "questions": form.questions(),
        "label": TIMEPOINT_LABELS[Timepoint(due.timepoint)],
        "texts_licensed": form.instrument.item_text_shippable,
    }
    return render(request, "measures/enter.html", context, status=status)


@require_GET
def trajectory(request: HttpRequest, patient_id: int) -> HttpResponse:
    """Every instrument's chart with sessions marked, its status and change; C-SSRS screens listed. The patient, the
    access check and every row are one statement (``access_trajectories``)."""
    sites = list(getattr(request, "available_sites", []))
    patient, data = access_trajectories(request.user, patient_id, sites, audit_as=AUDIT_AS)
    zone = patient.site.zone
    charts = [
        {"series": s, "figure": chart_figure(s, chart_svg(s, zone), patient_id=patient.pk, zone=zone)}
        for s in data.instruments
    ]
    context = {
        "patient": patient,
        "data": data,
        "charts": charts,
        "screens": screen_items(data.screens, zone),
    }
    return render(request, "measures/trajectory.html", context)


@require_GET
def instrument_detail(request: HttpRequest, patient_id: int, instrument: str) -> HttpResponse:
    """One instrument: its chart and every response item by item (the drill-down from the chart)."""
    if instrument not in clinical.INSTRUMENTS:
        raise Http404("No such instrument.")
    patient = access_patient(request.user, patient_id, audit_as=AUDIT_AS)
    data = load_trajectories(patient, only=instrument)
    definition = clinical.get_instrument(instrument)
    series = data.get(instrument)
    responses = list(
        QuestionnaireResponse.objects.filter(patient=patient, instrument=instrument)
        .select_related("entered_by")
        .order_by("-completed_at", "-id")
    )
    texts = item_texts(definition)
    items = [{"id": i.id, "label": texts.get(i.id, i.label), "scored": i.scored} for i in definition.items]
    rows = [{"response": r, "answers": [r.answers.get(i["id"]) for i in items]} for r in responses]
    zone = patient.site.zone
    context = {
        "patient": patient,
        "instrument": definition,
        "series": series,
        "figure": chart_figure(series, chart_svg(series, zone), patient_id=patient.pk, zone=zone) if series else None,
        "items": items,
        "rows": rows,
        "zone": patient.site.time_zone,
        "trajectory_url": reverse("measures:trajectory", args=[patient.pk]),
    }
    return render(request, "measures/instrument.html", context)
