"""Appointment types and site policies in the Django admin (for superusers): the clinic edits durations, what a type
needs and the patient instructions here. Appointments, shifts and rooms are changed through the scheduling screens,
whose actions audit every change."""

from __future__ import annotations

from django.contrib import admin

from ketaclinic.scheduling.models import AppointmentType, SitePolicy


@admin.register(AppointmentType)
class AppointmentTypeAdmin(admin.ModelAdmin[AppointmentType]):
    list_display = ("name", "code", "duration_min", "recovery_min", "resource_kind", "is_dosing", "active")
    list_filter = ("is_dosing", "resource_kind", "active")


@admin.register(SitePolicy)
class SitePolicyAdmin(admin.ModelAdmin[SitePolicy]):
    list_display = ("site", "nurse_ratio", "search_days", "updated_at")
