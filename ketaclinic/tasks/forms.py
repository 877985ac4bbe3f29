"""Forms of the task screens."""

from __future__ import annotations

from django import forms

from ketaclinic.clinical.suicide_risk import ACTION_LABELS, AssessedRisk

NOTE_MESSAGE = "Assessment note: describe the assessment (at least 10 characters)."
RESOLUTION_MESSAGE = "Resolution: describe the assessment or action taken (at least 10 characters)."


class CloseTaskForm(forms.Form):
    """Closing a task needs the assessment or action taken: a task is never closed silently."""

    resolution = forms.CharField(
        label="Resolution",
        min_length=10,
        max_length=4000,
        strip=True,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="What you assessed or did, e.g. 'Called patient, C-SSRS done: low risk, safety plan reviewed'.",
        error_messages={"required": RESOLUTION_MESSAGE, "min_length": RESOLUTION_MESSAGE},
    )


class TaskFilterForm(forms.Form):
    status = forms.ChoiceField(choices=[("open", "Open"), ("done", "Closed")], required=False)


class FollowUpForm(forms.Form):
    """Closing a suicide-risk follow-up: the risk level found, what was done, and a note (all required)."""

    assessed_risk = forms.ChoiceField(
        label="Risk level assessed",
        choices=[(a.value, a.value.capitalize()) for a in AssessedRisk],
        widget=forms.RadioSelect,
        error_messages={"required": "Risk level assessed: choose none, low, moderate or high."},
    )
    actions = forms.MultipleChoiceField(
        label="Actions taken",
        choices=[(a.value, label) for a, label in ACTION_LABELS.items()],
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Actions taken: tick at least one."},
    )
    note = forms.CharField(
        label="Assessment note",
        min_length=10,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="What you asked and found, e.g. 'Called patient; C-SSRS repeated: passive ideation, no plan'.",
        error_messages={"required": NOTE_MESSAGE, "min_length": NOTE_MESSAGE},
    )
