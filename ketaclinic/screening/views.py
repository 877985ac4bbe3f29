"""Screening screens: the patient's assessments, running a check, reading it, signing it, "reviewed: none"."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode

from ketaclinic.accounts.roles import Perm
from ketaclinic.clinical import Evidence
from ketaclinic.patients.models import Patient
from ketaclinic.screening.access import access_assessment, access_screening
from ketaclinic.screening.actions import (
    SigningConflict,
    SigningError,
    chart_changed_since,
    mark_section_reviewed,
    run_assessment,
    sign_assessment,
)
from ketaclinic.screening.forms import ReviewForm, RunForm, SignForm
from ketaclinic.screening.intake import SCREENING_VITALS
from ketaclinic.screening.models import ChartReview, EligibilityAssessment

#: Where each kind of missing item is fixed: the demographics form or a chart section (its URL slug).
CHART_PARTS = {
    "eligibility.age_missing": "demographics",
    "eligibility.pregnancy": "demographics",
    "eligibility.breastfeeding": "demographics",
    "eligibility.diagnosis_mdd": "diagnoses",
    "eligibility.trd": "trials",
    "eligibility.benzodiazepine_dose": "medications",
}
#: Missing items fixed on the run form rather than the chart.
RUN_FORM_CODES = frozenset({"eligibility.screening_bp", "eligibility.mdsi_suicidality"})
#: The "history not reviewed" messages of the core, by the section they ask for.
HISTORY_SECTIONS = {
    "conditions": ChartReview.Section.CONDITIONS,
    "medications": ChartReview.Section.MEDICATIONS,
    "substance use": ChartReview.Section.SUBSTANCE_USE,
}
SECTION_SLUGS = {
    ChartReview.Section.CONDITIONS: "conditions",
    ChartReview.Section.MEDICATIONS: "medications",
    ChartReview.Section.SUBSTANCE_USE: "substance-use",
    ChartReview.Section.ANTIDEPRESSANT_TRIALS: "trials",
}


def chart_url(patient_id: int) -> str:
    return reverse("patients:chart", args=[patient_id])


def fix_url(patient_id: int, part: str) -> str:
    """Where ``part`` of the chart is edited: the demographics form or a chart section's page (its URL slug)."""
    if part == "demographics":
        return reverse("patients:edit_demographics", args=[patient_id])
    return reverse("patients:section", args=[patient_id, part])


def _missing_items(assessment: EligibilityAssessment) -> list[dict[str, Any]]:
    """Each missing item as a request, with where to fix it and, for an empty history section, its review.

    A section marked "reviewed: none" since the check ran is shown as done (the check itself never changes).
    """
    items = []
    rerun = _rerun_url(assessment)
    reviewed_since = set(
        ChartReview.objects.filter(
            patient_id=assessment.patient_id, reviewed_at__gte=assessment.created_at
        ).values_list("section", flat=True)
    )
    for item in assessment.missing:
        code, message = item["code"], item["message"]
        entry: dict[str, Any] = {"message": message, "fix_url": None, "fix_label": "", "section": None}
        if code in RUN_FORM_CODES:
            entry.update(fix_url=rerun, fix_label="Enter it on the check form")
        elif code == "eligibility.history_missing":
            lowered = message.lower()
            section = next((s for key, s in HISTORY_SECTIONS.items() if key in lowered), None)
            if section is not None:
                entry.update(
                    fix_url=fix_url(assessment.patient_id, SECTION_SLUGS[section]),
                    fix_label="Record them in the chart",
                    section=section,
                )
        elif code == "eligibility.trd" and "antidepressant trials" in message.lower():
            entry.update(
                fix_url=fix_url(assessment.patient_id, "trials"),
                fix_label="Record them in the chart",
                section=ChartReview.Section.ANTIDEPRESSANT_TRIALS,
            )
        else:
            part = CHART_PARTS.get(code)
            target = fix_url(assessment.patient_id, part) if part else chart_url(assessment.patient_id)
            entry.update(fix_url=target, fix_label="Fix in the chart")
        entry["reviewed_since"] = entry["section"] in reviewed_since
        items.append(entry)
    return items


def _rerun_url(assessment: EligibilityAssessment) -> str:
    params = {"route": assessment.route, "indication": assessment.indication, **assessment.inputs.get("vitals", {})}
    asi = assessment.inputs.get("acute_suicidal_ideation")
    if asi is not None:
        params["acute_suicidal_ideation"] = "yes" if asi else "no"
    base = reverse("screening:run", kwargs={"patient_id": assessment.patient_id})
    return f"{base}?{urlencode({k: _fmt(v) for k, v in params.items()})}"


def _fmt(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _safe_next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    allowed = url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=False)
    return target if allowed else ""


def _can(request: HttpRequest, perm: Perm) -> bool:
    return bool(request.user.can(perm))  # type: ignore[union-attr]


def assessment_list(request: HttpRequest, patient_id: int) -> HttpResponse:
    """Every check of the patient: the signed ones in force first, then drafts, then superseded ones."""
    patient = access_screening(request.user, patient_id)
    rows = list(EligibilityAssessment.objects.filter(patient=patient).select_related("signed_by", "created_by"))
    order: dict[str, int] = {EligibilityAssessment.Status.SIGNED: 0, EligibilityAssessment.Status.DRAFT: 1}
    rows.sort(key=lambda a: (order.get(a.status, 2), -a.created_at.timestamp(), -a.pk))
    return render(
        request,
        "screening/list.html",
        {
            "patient": patient,
            "assessments": rows,
            "can_run": _can(request, Perm.EDIT_CHART),
            "chart_url": chart_url(patient.pk),
        },
    )


def run(request: HttpRequest, patient_id: int) -> HttpResponse:
    """The "Run eligibility check" form; a valid POST runs the rules and opens the result."""
    if request.method == "POST":
        patient = access_screening(request.user, patient_id, need=Perm.EDIT_CHART, write=True)
        form = RunForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            assessment = run_assessment(
                patient,
                route=data["route"],
                indication=data["indication"],
                by=request.user,
                vitals=data["vitals"],
                acute_suicidal_ideation=data["asi"],
            )
            return redirect("screening:detail", patient_id=patient.pk, assessment_id=assessment.pk)
        status = 400
    else:
        patient = access_screening(request.user, patient_id, need=Perm.EDIT_CHART)
        initial = {k: v for k, v in request.GET.items() if k in RunForm.base_fields}
        form = RunForm(initial=initial)
        status = 200
    vitals = [form[v.value] for v in SCREENING_VITALS]
    return render(
        request,
        "screening/run.html",
        {"patient": patient, "form": form, "vital_fields": vitals, "chart_url": chart_url(patient.pk)},
        status=status,
    )


def pending_text(count: int) -> str:
    """ "3 items reported by the patient await review and were not used" (empty for none)."""
    if not count:
        return ""
    if count == 1:
        return "1 item reported by the patient awaits review and was not used"
    return f"{count} items reported by the patient await review and were not used"


def _yes_no(value: Any) -> str:
    return {True: "Yes", False: "No", None: "Not recorded"}.get(value, str(value))


def _label(value: str) -> str:
    return value.replace("_", " ")


def _section(section: dict[str, Any], describe: Any) -> str:
    state = section.get("state")
    if state == "not_recorded":
        return "Not recorded"
    if state == "reviewed_none":
        return f"None (reviewed by {section.get('reviewed_by')}, {section.get('reviewed_at', '')[:10]})"
    return "; ".join(describe(item) for item in section.get("items", [])) or "None"


def _dose(value: Any, unit: str) -> str:
    return f"{value:g} {unit}" if isinstance(value, (int, float)) else "not recorded"


def inputs_view(inputs: dict[str, Any]) -> list[tuple[str, str]]:
    """The snapshot of inputs as (label, plain text) rows for the collapsible panel."""
    not_asked = inputs.get("not_asked_after_male_sex_at_birth") or []
    rows = [
        ("Age", f"{inputs.get('age_years')} years"),
        ("Sex at birth", _label(str(inputs.get("sex_at_birth", "")))),
        (
            "Pregnant",
            _yes_no(inputs.get("pregnant")) + (" (not asked: male sex at birth)" if "pregnant" in not_asked else ""),
        ),
        (
            "Breast-feeding",
            _yes_no(inputs.get("breastfeeding"))
            + (" (not asked: male sex at birth)" if "breastfeeding" in not_asked else ""),
        ),
        (
            "Diagnoses",
            "; ".join(f"{d['code']} {d.get('description', '')}".strip() for d in inputs.get("diagnoses", []))
            or "None recorded",
        ),
        ("Conditions", _section(inputs.get("conditions", {}), lambda c: _label(c["condition"]))),
        (
            "Current medications",
            _section(
                inputs.get("medications", {}),
                lambda m: f"{m['name']} ({_label(m['drug_class'])}, {_dose(m.get('daily_dose_mg'), 'mg/day')})",
            ),
        ),
        (
            "Substance use",
            _section(
                inputs.get("substance_use", {}),
                lambda s: (
                    f"{_label(s['substance'])} ({'current' if s['current'] else 'past'}"
                    f"{', use disorder' if s['use_disorder'] else ''})"
                ),
            ),
        ),
        (
            "Antidepressant trials (current episode)",
            _section(
                inputs.get("antidepressant_trials", {}),
                lambda t: (
                    f"{t['drug']} ({_label(t['drug_class'])}): {_dose(t.get('daily_dose_mg'), 'mg/day')}, "
                    f"{_dose(t.get('weeks'), 'weeks')}, improvement {_dose(t.get('improvement_pct'), '%')}, "
                    f"adequate dose {_yes_no(t.get('adequate_dose')).lower()}"
                ),
            ),
        ),
        (
            "Screening vitals",
            ", ".join(f"{_label(k)} {v:g}" for k, v in (inputs.get("vitals") or {}).items()) or "None entered",
        ),
        ("Current suicidal ideation or behaviour", _yes_no(inputs.get("acute_suicidal_ideation"))),
    ]
    return rows


def _detail_context(request: HttpRequest, assessment: EligibilityAssessment) -> dict[str, Any]:
    patient: Patient = assessment.patient
    draft = assessment.status == EligibilityAssessment.Status.DRAFT
    newer_signed = (
        EligibilityAssessment.objects.signed()
        .filter(patient=patient, route=assessment.route, created_at__gt=assessment.created_at)
        .exists()
        if draft
        else False
    )
    trials_by_drug: dict[str, list[dict[str, Any]]] = {}
    for t in assessment.trd.get("trials", []):
        trials_by_drug.setdefault(t["status"], []).append(t)
    return {
        "patient": patient,
        "a": assessment,
        "draft": draft,
        "groups": assessment.findings_by_severity(),
        "missing_items": _missing_items(assessment),
        "trials": trials_by_drug,
        "rerun_url": _rerun_url(assessment),
        "chart_url": chart_url(patient.pk),
        "can_run": _can(request, Perm.EDIT_CHART),
        "can_sign": _can(request, Perm.SIGN_ELIGIBILITY) and draft and not newer_signed,
        "newer_signed": newer_signed,
        "chart_changed": draft and chart_changed_since(assessment),
        "flagged_evidence": {Evidence.BEST_KNOWLEDGE.value: "Best knowledge", Evidence.POLICY.value: "Clinic policy"},
        "pending_text": pending_text(assessment.pending_patient_reported),
        "inputs": inputs_view(assessment.inputs),
        "stage_roman": ["0", "I", "II", "III", "IV", "V"][assessment.thase_rush_stage],
    }


def detail(request: HttpRequest, patient_id: int, assessment_id: int) -> HttpResponse:
    """One check: decision, TRD and staging, findings with sources, what is missing, and the sign form."""
    assessment = access_assessment(request.user, patient_id, assessment_id)
    context = _detail_context(request, assessment)
    if context["can_sign"]:
        context["sign_form"] = SignForm(assessment=assessment)
    return render(request, "screening/detail.html", context)


def sign(request: HttpRequest, patient_id: int, assessment_id: int) -> HttpResponse:
    """The prescriber's sign-off. GET shows the assessment with the sign form; POST signs or explains why not."""
    assessment = access_assessment(request.user, patient_id, assessment_id, need=Perm.SIGN_ELIGIBILITY)
    status = 200
    form = SignForm(request.POST or None, assessment=assessment)
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                sign_assessment(
                    assessment,
                    by=request.user,
                    decision=form.cleaned_data["decision"],
                    reason=form.cleaned_data["reason"],
                    precautions=form.chosen_precautions(),
                )
            except SigningError as exc:
                form.add_signing_error(exc)
            except SigningConflict as exc:
                messages.error(request, str(exc))
                status = 409
            else:
                messages.success(request, "Eligibility signed.")
                return redirect("screening:detail", patient_id=patient_id, assessment_id=assessment.pk)
    context = _detail_context(request, assessment)
    if context["can_sign"]:
        context["sign_form"] = form
    return render(request, "screening/detail.html", context, status=status)


def review(request: HttpRequest, patient_id: int) -> HttpResponse:
    """Mark an empty chart section as "reviewed: none" (the chart has no field for it)."""
    if request.method == "POST":
        patient = access_screening(request.user, patient_id, need=Perm.EDIT_CHART, write=True)
        form = ReviewForm(request.POST)
        if form.is_valid():
            section = form.cleaned_data["section"]
            try:
                mark_section_reviewed(patient, section, by=request.user)
            except ValueError as exc:
                form.add_error("section", str(exc).partition(": ")[2].capitalize())
            else:
                label = ChartReview.Section(section).label
                messages.success(request, f"{label}: recorded as reviewed, none. Run the check again to use it.")
                return redirect(_safe_next(request) or reverse("screening:list", args=[patient.pk]))
        status = 400
    else:
        patient = access_screening(request.user, patient_id, need=Perm.EDIT_CHART)
        form = ReviewForm(initial={"section": request.GET.get("section")})
        status = 200
    return render(
        request,
        "screening/review.html",
        {"patient": patient, "form": form, "next": _safe_next(request), "chart_url": chart_url(patient.pk)},
        status=status,
    )
