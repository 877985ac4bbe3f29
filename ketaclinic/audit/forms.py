"""Filters for the audit trail screen and its CSV export."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.db.models import QuerySet

from ketaclinic.audit.models import AuditEvent


class AuditFilterForm(forms.Form):
    patient_id = forms.IntegerField(label="Patient ID", required=False, min_value=1)
    user = forms.CharField(label="User name", required=False, max_length=150)
    action = forms.ChoiceField(label="Action", required=False, choices=[("", "Any action"), *AuditEvent.Action.choices])
    date_from = forms.DateField(label="From", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label="To", required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean() or {}
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", "The end date must be on or after the start date.")
        return cleaned

    def apply(self, events: QuerySet[AuditEvent], tz: dt.tzinfo) -> QuerySet[AuditEvent]:
        """Narrow ``events`` by the valid filters; dates are whole local days in ``tz``."""
        data = self.cleaned_data
        if data.get("patient_id"):
            events = events.filter(patient_id=data["patient_id"])
        if data.get("user"):
            events = events.filter(actor_username__iexact=data["user"].strip())
        if data.get("action"):
            events = events.filter(action=data["action"])
        if data.get("date_from"):
            events = events.filter(occurred_at__gte=dt.datetime.combine(data["date_from"], dt.time.min, tzinfo=tz))
        if data.get("date_to"):
            end = dt.datetime.combine(data["date_to"] + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
            events = events.filter(occurred_at__lt=end)
        return events
