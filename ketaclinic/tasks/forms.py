"""Forms of the task screens."""

from __future__ import annotations

from django import forms

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
