"""Course documents: a page to write the progress letter, and the two PDFs (each download audited as an export).

The progress letter goes out under a prescriber's name, so it needs ``PRESCRIBE``; the end-of-induction summary is
chart reading (``VIEW_CHART``). Both reach the patient only through ``access_patient`` (404 for other sites).
"""

from __future__ import annotations

from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from ketaclinic.accounts.roles import Perm
from ketaclinic.audit.actions import Action, record
from ketaclinic.courses.models import Course
from ketaclinic.patients.access import access_patient
from ketaclinic.patients.models import Patient
from ketaclinic.reports.forms import LetterForm
from ketaclinic.reports.letters import NotReady, end_of_induction_summary, progress_letter


def _course(patient: Patient, course_id: int) -> Course:
    course = Course.objects.select_related("site", "patient").filter(pk=course_id, patient=patient).first()
    if course is None:
        raise Http404("No such course.")
    return course


def _pdf(pdf: bytes, name: str) -> HttpResponse:
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{name}.pdf"'
    return response


def letter(request: HttpRequest, patient_id: int, course_id: int) -> HttpResponse:
    """The form for the progress letter (recipient, plan) and the links to both documents."""
    patient = access_patient(request.user, patient_id, audit_as="reports.course")
    course = _course(patient, course_id)
    form = LetterForm(initial={"recipient": patient.referring_clinician})
    return render(request, "reports/letter.html", {"patient": patient, "course": course, "form": form})


def progress_pdf(request: HttpRequest, patient_id: int, course_id: int) -> HttpResponse:
    """The progress letter as PDF, for the recipient and plan typed on the letter page."""
    patient = access_patient(request.user, patient_id, need=Perm.PRESCRIBE, audit_as="reports.progress_letter")
    course = _course(patient, course_id)
    form = LetterForm(request.GET)
    if not form.is_valid():
        return render(request, "reports/letter.html", {"patient": patient, "course": course, "form": form}, status=400)
    try:
        pdf = progress_letter(
            course,
            recipient=form.cleaned_data["recipient"] or patient.referring_clinician,
            plan=form.cleaned_data["plan"],
            by=request.user,
        )
    except NotReady as reason:
        return render(
            request,
            "reports/letter.html",
            {"patient": patient, "course": course, "form": form, "not_ready": str(reason)},
            status=409,
        )
    with transaction.atomic():
        record(
            Action.EXPORT,
            object_type="reports.progress_letter",
            object_id=course.pk,
            patient_id=patient.pk,
            site=course.site,
            detail={"format": "pdf"},
        )
    return _pdf(pdf, f"progress-letter-{patient.mrn}-course-{course.pk}")


def end_of_induction_pdf(request: HttpRequest, patient_id: int, course_id: int) -> HttpResponse:
    """The end-of-induction summary as PDF, or a page saying why it cannot be written yet (409)."""
    patient = access_patient(request.user, patient_id, audit_as="reports.end_of_induction")
    course = _course(patient, course_id)
    try:
        pdf = end_of_induction_summary(course, by=request.user)
    except NotReady as reason:
        form = LetterForm(initial={"recipient": patient.referring_clinician})
        return render(
            request,
            "reports/letter.html",
            {"patient": patient, "course": course, "form": form, "not_ready": str(reason)},
            status=409,
        )
    with transaction.atomic():
        record(
            Action.EXPORT,
            object_type="reports.end_of_induction",
            object_id=course.pk,
            patient_id=patient.pk,
            site=course.site,
            detail={"format": "pdf"},
        )
    return _pdf(pdf, f"end-of-induction-{patient.mrn}-course-{course.pk}")
