"""Sites and staff in the Django admin (for clinic admins with the superuser flag; day-to-day screens come later)."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from ketaclinic.accounts.models import ClosedDay, OpeningHours, Site, User


class OpeningHoursInline(admin.TabularInline[OpeningHours, Site]):
    model = OpeningHours
    extra = 0


class ClosedDayInline(admin.TabularInline[ClosedDay, Site]):
    model = ClosedDay
    extra = 0


@admin.register(Site)
class SiteAdmin(admin.ModelAdmin[Site]):
    list_display = ("name", "code", "time_zone", "is_active")
    inlines = [OpeningHoursInline, ClosedDayInline]


@admin.register(User)
class StaffAdmin(UserAdmin[User]):
    fieldsets = (
        *UserAdmin.fieldsets,  # type: ignore[misc]
        ("Clinic", {"fields": ("display_name", "credentials", "sites")}),
    )
    filter_horizontal = ("groups", "user_permissions", "sites")
    list_display = ("username", "display_name", "credentials", "is_active")
