"""Patient screens: list and search, registration, the chart, the edit flow per section, and the change history.

Thin views: fetch through ``access``, validate with a form, call an action, render. A form that does not validate
re-renders with status 400 and everything typed kept; a stale demographics edit answers 409 with both values.
"""

from __future__ import annotations

import copy
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from ketaclinic.accounts.access import require, sites_for
from ketaclinic.accounts.roles import Perm
from ketaclinic.clinical.diagnoses import ICD10_CODES, lookup_icd10
from ketaclinic.clinical.medications import DRUG_CLASSES, drug_class_of
from ketaclinic.patients import actions
from ketaclinic.patients.access import (
    DEMOGRAPHICS_EDITORS,
    access_entry,
    access_patient,
    audit_patient_list,
    can_edit_demographics,
)
from ketaclinic.patients.cards import chart_cards
from ketaclinic.patients.forms import (
    EditDemographicsForm,
    PatientSearchForm,
    RegisterPatientForm,
    RemoveEntryForm,
    StatusForm,
)
from ketaclinic.patients.history import patient_history
from ketaclinic.patients.models import DRUG_CLASS_LABELS, Patient
from ketaclinic.patients.sections import SECTIONS, Section, field_label, section_for
from ketaclinic.patients.summary import chart_summary, latest_measurements

PAGE_SIZE = 25
HISTORY_PAGE_SIZE = 30


def _user(request: HttpRequest) -> Any:
    return request.user


def _page_query(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


# --- list and registration ---------------------------------------------------------------------------------------


def patient_list(request: HttpRequest) -> HttpResponse:
    """Patients at the user's sites (the acting site by default), searchable by name, MRN, birth date and status."""
    user = _user(request)
    require(user, Perm.VIEW_DEMOGRAPHICS)
    site = getattr(request, "site", None)
    available = getattr(request, "available_sites", None)
    form = PatientSearchForm(
        request.GET or None, sites=available if available is not None else sites_for(user), default_site=site
    )
    patients = Patient.objects.none()
    if not form.is_bound or form.is_valid():
        data = form.cleaned_data if form.is_bound else {}
        patients = (
            Patient.objects.visible_to(user)
            .filter(site__in=form.chosen_sites())
            .search(data.get("q") or "", date_of_birth=data.get("date_of_birth"), status=data.get("status") or "")
            .select_related("site")
        )
    page = Paginator(patients, PAGE_SIZE).get_page(request.GET.get("page"))
    filters = {k: str(v) for k, v in request.GET.items() if k in form.fields and v}
    with transaction.atomic():
        audit_patient_list(user, count=page.paginator.count, query=filters)
    return render(
        request,
        "patients/list.html",
        {
            "form": form,
            "page": page,
            "query": _page_query(request),
            "can_register": user.can(Perm.REGISTER_PATIENT),
            "searched": bool(filters),
        },
        status=400 if form.errors else 200,
    )


@require_http_methods(["GET", "POST"])
def register(request: HttpRequest) -> HttpResponse:
    """Register a patient at the acting site; a possible duplicate must be confirmed as a different person."""
    user = _user(request)
    require(user, Perm.REGISTER_PATIENT)
    site = getattr(request, "site", None)
    form = RegisterPatientForm(request.POST or None, site=site, clinical=user.can(Perm.EDIT_CHART))
    if request.method == "POST" and site is not None and form.is_valid():
        try:
            patient = actions.register_patient(site=site, by=user, **form.changes())
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, f"Registered {patient.display_name}, MRN {patient.mrn}.")
            return redirect("patients:chart", patient_id=patient.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "patients/register.html", {"form": form, "site": site}, status=status)


# --- chart -------------------------------------------------------------------------------------------------------


def chart(request: HttpRequest, patient_id: int) -> HttpResponse:
    """The chart: identity band for everyone who may see the patient; the clinical sections for chart readers."""
    user = _user(request)
    patient = access_patient(user, patient_id, need=Perm.VIEW_DEMOGRAPHICS)
    clinical = user.can(Perm.VIEW_CHART)
    context: dict[str, Any] = {
        "patient": patient,
        "clinical": clinical,
        "can_edit": user.can(Perm.EDIT_CHART),
        "can_edit_demographics": can_edit_demographics(user),
        "summary": chart_summary(patient) if clinical else None,
        "sections": SECTIONS,
        "cards": chart_cards(request, patient),
    }
    return render(request, "patients/chart.html", context)


def history(request: HttpRequest, patient_id: int) -> HttpResponse:
    """Every change to the record and its chart rows, newest first (an audited read)."""
    patient = access_patient(_user(request), patient_id, need=Perm.VIEW_CHART, audit_as="patients.history")
    page = Paginator(patient_history(patient), HISTORY_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "patients/history.html", {"patient": patient, "page": page})


# --- demographics and status -------------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def edit_demographics(request: HttpRequest, patient_id: int) -> HttpResponse:
    """Identity and contacts (coordinators too); pregnancy fields only for chart editors. Optimistic locking."""
    user = _user(request)
    writing = request.method == "POST"
    patient = access_patient(user, patient_id, write=writing, need=DEMOGRAPHICS_EDITORS)
    clinical = user.can(Perm.EDIT_CHART)
    # The form works on a copy, so the action still sees which values really change.
    form = EditDemographicsForm(
        request.POST or None,
        instance=copy.copy(patient),
        initial={"version": patient.version},
        clinical=clinical,
    )
    conflict: list[dict[str, str]] = []
    status = 200
    if writing:
        status = 400
        if form.is_valid():
            try:
                actions.update_patient(
                    patient, by=user, expected_version=form.cleaned_data["version"], **form.changes()
                )
            except actions.StaleEditError:
                status = 409
                patient.refresh_from_db()
                conflict = [
                    {"label": str(form[name].label), "saved": _shown(getattr(patient, name)), "yours": _shown(value)}
                    for name, value in form.changes().items()
                    if getattr(patient, name) != value
                ]
                form.add_error(
                    None,
                    "This record was changed by someone else while you were editing — reload to see their change. "
                    "Nothing was saved; what you typed is kept below.",
                )
            else:
                messages.success(request, "Demographics saved.")
                return redirect("patients:chart", patient_id=patient.pk)
    return render(
        request,
        "patients/demographics.html",
        {"patient": patient, "form": form, "conflict": conflict},
        status=status,
    )


def _shown(value: Any) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    return str(value)


@require_http_methods(["GET", "POST"])
def change_status(request: HttpRequest, patient_id: int) -> HttpResponse:
    """Move the patient to another status, with the reason."""
    user = _user(request)
    writing = request.method == "POST"
    patient = access_patient(user, patient_id, write=writing, need=Perm.EDIT_CHART)
    form = StatusForm(request.POST or None, initial={"status": patient.status})
    if writing and form.is_valid():
        actions.set_status(patient, form.cleaned_data["status"], by=user, reason=form.cleaned_data["reason"])
        messages.success(request, f"Status is now {patient.get_status_display()}.")
        return redirect("patients:chart", patient_id=patient.pk)
    return render(request, "patients/status.html", {"patient": patient, "form": form}, status=400 if writing else 200)


# --- chart sections ----------------------------------------------------------------------------------------------


def _section_context(patient: Patient, section: Section, form: Any) -> dict[str, Any]:
    rows = list(section.rows(patient))
    context: dict[str, Any] = {
        "patient": patient,
        "section": section,
        "form": form,
        "rows": [(row, section.cells(row)) for row in rows],
        "headers": [field_label(section.model, name) for name in section.columns],
        "icd10_codes": ICD10_CODES.values() if section.kind == "diagnoses" else (),
        "drug_names": sorted(DRUG_CLASSES) if section.kind in ("medications", "trials") else (),
    }
    if section.kind == "measurements":
        context["latest"] = latest_measurements(patient)
    return context


@require_http_methods(["GET", "POST"])
def section(request: HttpRequest, patient_id: int, kind: str) -> HttpResponse:
    """A section's current rows with an add form; POST adds a row (htmx swaps the section, plain POST redirects)."""
    user = _user(request)
    chosen = section_for(kind)
    writing = request.method == "POST"
    patient = access_patient(user, patient_id, write=writing, need=Perm.EDIT_CHART)
    instance = chosen.model(patient=patient, site=patient.site)
    form = chosen.form(request.POST or None, instance=instance, prefix="add")
    status = 200
    if writing:
        if form.is_valid():
            entry = actions.add_entry(chosen.model, patient, by=user, **form.entry_values())
            saved = f"Added {chosen.noun}: {entry}."
            if request.headers.get("HX-Request") == "true":
                # htmx swaps the section in place: the new row shows and the add form is empty for the next one.
                fresh = chosen.form(instance=chosen.model(patient=patient, site=patient.site), prefix="add")
                context = _section_context(patient, chosen, fresh)
                context["saved"] = saved
                return render(request, "patients/section.html", context)
            messages.success(request, saved)
            return redirect("patients:section", patient_id=patient.pk, kind=chosen.kind)
        status = 400
    return render(request, "patients/section.html", _section_context(patient, chosen, form), status=status)


@require_http_methods(["GET", "POST"])
def edit_entry(request: HttpRequest, patient_id: int, kind: str, entry_id: int) -> HttpResponse:
    """Correct one chart row; its previous values stay in the history."""
    user = _user(request)
    chosen = section_for(kind)
    writing = request.method == "POST"
    patient = access_patient(user, patient_id, write=writing, need=Perm.EDIT_CHART)
    entry = access_entry(patient, chosen.model, entry_id)
    form = chosen.form(request.POST or None, instance=copy.copy(entry))
    status = 200
    if writing:
        if form.is_valid():
            actions.update_entry(entry, by=user, **form.entry_values())
            messages.success(request, f"Saved {chosen.noun}: {entry}.")
            return redirect("patients:section", patient_id=patient.pk, kind=chosen.kind)
        status = 400
    context = _section_context(patient, chosen, form)
    context["entry"] = entry
    return render(request, "patients/entry_form.html", context, status=status)


@require_http_methods(["GET", "POST"])
def remove_entry(request: HttpRequest, patient_id: int, kind: str, entry_id: int) -> HttpResponse:
    """Remove a chart row with a reason (it is kept, marked removed, and shown in the history)."""
    user = _user(request)
    chosen = section_for(kind)
    writing = request.method == "POST"
    patient = access_patient(user, patient_id, write=writing, need=Perm.EDIT_CHART)
    entry = access_entry(patient, chosen.model, entry_id)
    form = RemoveEntryForm(request.POST or None)
    if writing and form.is_valid():
        actions.remove_entry(entry, by=user, reason=form.cleaned_data["reason"])
        messages.success(request, f"Removed {chosen.noun}: {entry}.")
        return redirect("patients:section", patient_id=patient.pk, kind=chosen.kind)
    return render(
        request,
        "patients/remove.html",
        {"patient": patient, "section": chosen, "entry": entry, "cells": chosen.cells(entry), "form": form},
        status=400 if writing else 200,
    )


# --- htmx helpers (no patient data) ------------------------------------------------------------------------------


def drug_class_hint(request: HttpRequest) -> HttpResponse:
    """The catalogue class of a drug name, shown under the name field as the user types."""
    require(_user(request), Perm.EDIT_CHART)
    name = next((request.GET[k] for k in ("add-name", "add-drug", "name", "drug") if request.GET.get(k)), "").strip()
    known = drug_class_of(name) if name else None
    return render(
        request,
        "patients/_drug_class_hint.html",
        {"name": name, "label": DRUG_CLASS_LABELS[known] if known else ""},
    )


def icd10_hint(request: HttpRequest) -> HttpResponse:
    """The catalogue description of an ICD-10-CM code, or why the code is refused."""
    require(_user(request), Perm.EDIT_CHART)
    code = (request.GET.get("add-icd10_code") or request.GET.get("icd10_code") or "").strip()
    description, error = "", ""
    if code:
        try:
            description = lookup_icd10(code).description
        except ValueError:
            error = f"{code} is not in the clinic's catalogue; pick one from the list."
    return render(request, "patients/_icd10_hint.html", {"description": description, "error": error})
