"""The permission catalogue and the roles built from it.

Roles live in code so that every installation means the same thing by "nurse"; ``sync_roles`` writes them to the
database as groups (it runs after every migrate). A person may hold several roles; what they may do at a site is the
union of their roles' permissions, and only at the sites they belong to.
"""

from __future__ import annotations

from enum import StrEnum


class Perm(StrEnum):
    """Capabilities checked by views, actions and the API (``accounts.<value>``)."""

    VIEW_DEMOGRAPHICS = "view_demographics"
    VIEW_CHART = "view_chart"
    EDIT_CHART = "edit_chart"
    REGISTER_PATIENT = "register_patient"
    SEND_PORTAL_LINK = "send_portal_link"
    SIGN_ELIGIBILITY = "sign_eligibility"
    PRESCRIBE = "prescribe"
    OVERRIDE_HOLD = "override_hold"
    RECORD_SESSION = "record_session"
    ADMINISTER_DOSE = "administer_dose"
    WRITE_THERAPY_NOTE = "write_therapy_note"
    MANAGE_SCHEDULE = "manage_schedule"
    VIEW_REPORTS = "view_reports"
    VIEW_AUDIT = "view_audit"
    MANAGE_SITE = "manage_site"
    TUNE_CLINICAL_POLICY = "tune_clinical_policy"
    EXPORT_DATA = "export_data"

    @property
    def label(self) -> str:
        return PERMISSION_LABELS[self]

    @property
    def full(self) -> str:
        """The dotted name Django's ``has_perm`` expects."""
        return f"accounts.{self.value}"


PERMISSION_LABELS: dict[Perm, str] = {
    Perm.VIEW_DEMOGRAPHICS: "See patient identity, contacts and appointments",
    Perm.VIEW_CHART: "Read the clinical chart",
    Perm.EDIT_CHART: "Edit the clinical chart",
    Perm.REGISTER_PATIENT: "Register patients and referrals",
    Perm.SEND_PORTAL_LINK: "Send patients portal links",
    Perm.SIGN_ELIGIBILITY: "Sign eligibility decisions",
    Perm.PRESCRIBE: "Open courses and order doses",
    Perm.OVERRIDE_HOLD: "Override a do-not-dose finding with a written reason",
    Perm.RECORD_SESSION: "Record session-day checks, vitals, scales and events",
    Perm.ADMINISTER_DOSE: "Administer and witness doses",
    Perm.WRITE_THERAPY_NOTE: "Write and sign psychotherapy notes",
    Perm.MANAGE_SCHEDULE: "Book and move appointments",
    Perm.VIEW_REPORTS: "See clinic dashboards and reports",
    Perm.VIEW_AUDIT: "Read and export the audit trail",
    Perm.MANAGE_SITE: "Manage sites, staff accounts and clinic settings",
    Perm.TUNE_CLINICAL_POLICY: "Change the site's clinical thresholds (alert limits, observation times …)",
    Perm.EXPORT_DATA: "Run bulk data exports",
}


class Role(StrEnum):
    PRESCRIBER = "prescriber"
    NURSE = "nurse"
    THERAPIST = "therapist"
    COORDINATOR = "coordinator"
    CLINIC_ADMIN = "clinic_admin"

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]


ROLE_LABELS: dict[Role, str] = {
    Role.PRESCRIBER: "Prescriber",
    Role.NURSE: "Nurse",
    Role.THERAPIST: "Therapist",
    Role.COORDINATOR: "Coordinator",
    Role.CLINIC_ADMIN: "Clinic admin",
}

_CLINICAL_READ = {Perm.VIEW_DEMOGRAPHICS, Perm.VIEW_CHART}

ROLE_PERMISSIONS: dict[Role, frozenset[Perm]] = {
    Role.PRESCRIBER: frozenset(
        _CLINICAL_READ
        | {
            Perm.EDIT_CHART,
            Perm.SEND_PORTAL_LINK,
            Perm.SIGN_ELIGIBILITY,
            Perm.PRESCRIBE,
            Perm.OVERRIDE_HOLD,
            Perm.RECORD_SESSION,
            Perm.ADMINISTER_DOSE,
            Perm.VIEW_REPORTS,
            # Safety thresholds are a clinical decision: prescribers (the medical director), not the office.
            Perm.TUNE_CLINICAL_POLICY,
        }
    ),
    Role.NURSE: frozenset(
        _CLINICAL_READ | {Perm.EDIT_CHART, Perm.SEND_PORTAL_LINK, Perm.RECORD_SESSION, Perm.ADMINISTER_DOSE}
    ),
    Role.THERAPIST: frozenset(_CLINICAL_READ | {Perm.SEND_PORTAL_LINK, Perm.WRITE_THERAPY_NOTE}),
    # Front desk: identity and scheduling, not the clinical chart (minimum necessary).
    Role.COORDINATOR: frozenset(
        {Perm.VIEW_DEMOGRAPHICS, Perm.REGISTER_PATIENT, Perm.SEND_PORTAL_LINK, Perm.MANAGE_SCHEDULE}
    ),
    Role.CLINIC_ADMIN: frozenset(
        {Perm.VIEW_DEMOGRAPHICS, Perm.VIEW_REPORTS, Perm.VIEW_AUDIT, Perm.MANAGE_SITE, Perm.EXPORT_DATA}
    ),
}
