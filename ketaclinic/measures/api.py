"""JSON API for questionnaire responses (mounted at /api/measures in ketaclinic/api.py).

Same rules as the screens: a patient of another site answers 404 (through ``patients.access.access_patient``), a
role without the capability 403; reads are audited. Scoring is the clinical core's: answers it refuses answer 422
naming the item and its allowed values. A positive suicide item opens the suicide-risk task in the same transaction
(``measures.actions.record_response``); the response says which task.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Literal

from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Query, Router, Schema
from ninja.errors import ValidationError
from ninja.responses import Status
from pydantic import StrictBool, StrictInt

from ketaclinic import clinical
from ketaclinic.accounts.roles import Perm
from ketaclinic.clinical.instruments.registry import INSTRUMENTS
from ketaclinic.measures.actions import record_response
from ketaclinic.measures.models import QuestionnaireResponse
from ketaclinic.patients.access import access_patient
from ketaclinic.tasks.models import Task

router = Router(tags=["measures"])

AUDIT_AS = "measures.questionnaireresponse"
INSTRUMENT_IDS = ", ".join(INSTRUMENTS)

#: One answer: a whole number for rated items, true/false for yes/no items, null for an item left unanswered.
AnswerValue = StrictBool | StrictInt | None


class ResponseIn(Schema):
    """A completed instrument entered by staff (in clinic): given by the patient or rated by a clinician."""

    patient: int = Field(..., description="Patient id")
    instrument: str = Field(..., max_length=20, description=f"Instrument id, one of: {INSTRUMENT_IDS}")
    answers: list[AnswerValue] | dict[str, AnswerValue] = Field(
        ..., description="Answers in item order, or a mapping from item id (q1, q2 … difficulty) to answer"
    )
    respondent: Literal["clinician", "patient"] = Field(
        ..., description="patient: self-report entered by staff; clinician: clinician rating"
    )
    completed_at: dt.datetime | None = Field(
        None, description="When it was completed, with its UTC offset (default: now); not in the future"
    )
    submission_key: str | None = Field(
        None, min_length=8, max_length=64, description="Client key that makes a retried POST store the response once"
    )


class ResponseOut(Schema):
    id: int
    patient: int
    instrument: str
    instrument_name: str
    answers: dict[str, Any]
    total: int | None
    band: str
    flags: list[str]
    subscores: dict[str, Any]
    loinc_panel: str
    loinc_total: str
    respondent: str
    channel: str
    completed_at: dt.datetime
    entered_by: str | None = Field(None, description="Username of the member of staff who entered it")
    suicide_risk_task: int | None = Field(None, description="The suicide-risk task this response opened, if any")


def _out(response: QuestionnaireResponse, task_ids: dict[str, int]) -> dict[str, Any]:
    return {
        "id": response.pk,
        "patient": response.patient_id,
        "instrument": response.instrument,
        "instrument_name": clinical.get_instrument(response.instrument).name,
        "answers": response.answers,
        "total": response.total,
        "band": response.band,
        "flags": list(response.flags),
        "subscores": response.subscores,
        "loinc_panel": response.loinc_panel,
        "loinc_total": response.loinc_total,
        "respondent": response.respondent,
        "channel": response.channel,
        "completed_at": response.completed_at.astimezone(dt.UTC),
        "entered_by": response.entered_by.get_username() if response.entered_by else None,
        "suicide_risk_task": task_ids.get(str(response.pk)),
    }


def _tasks_for(responses: list[QuestionnaireResponse]) -> dict[str, int]:
    """Response id → the suicide-risk task it raised (one query)."""
    rows = Task.objects.filter(
        kind=Task.Kind.SUICIDE_RISK,
        source_type=AUDIT_AS,
        source_id__in=[str(r.pk) for r in responses],
    ).values_list("source_id", "pk")
    return dict(rows)


def _check_instrument(instrument: str) -> None:
    if instrument not in INSTRUMENTS:
        message = f"unknown instrument {instrument!r}; known: {INSTRUMENT_IDS}"
        raise ValidationError([{"loc": ["instrument"], "msg": message}])


_ITEM = re.compile(r"^\S+ item (?P<item>[\w-]+):|unknown item '(?P<unknown>[\w-]+)'")


def _answers_error(error: ValueError) -> ValidationError:
    """The clinical core's refusal as a 422 on ``answers.<item>`` (or ``answers`` when it names no single item)."""
    message = str(error)
    found = _ITEM.search(message)
    item = (found.group("item") or found.group("unknown")) if found else None
    return ValidationError([{"loc": ["answers", item] if item else ["answers"], "msg": message}])


@router.get(
    "",
    response=list[ResponseOut],
    summary="A patient's questionnaire responses, newest first",
    description="Needs the clinical chart (VIEW_CHART). A patient of another site answers 404. The read is audited.",
)
def list_responses(
    request: HttpRequest,
    patient: int = Query(..., description="Patient id"),
    instrument: str | None = Query(None, description=f"Only this instrument ({INSTRUMENT_IDS})"),
    limit: int = Query(100, ge=1, le=500, description="At most this many (1–500)"),
) -> list[dict[str, Any]]:
    if instrument is not None:
        _check_instrument(instrument)
    found = access_patient(request.user, patient, audit_as=AUDIT_AS)
    rows = QuestionnaireResponse.objects.filter(patient=found).select_related("entered_by")
    if instrument is not None:
        rows = rows.filter(instrument=instrument)
    responses = list(rows.order_by("-completed_at", "-id")[:limit])
    task_ids = _tasks_for(responses)
    return [_out(r, task_ids) for r in responses]


@router.post(
    "",
    response={201: ResponseOut},
    summary="Record a completed instrument entered by staff",
    description="Needs EDIT_CHART. Scored by the clinical core; invalid answers answer 422 naming the item and its "
    "allowed values (e.g. answers.q9: allowed values 0–3). A positive suicide item (PHQ-9 item 9 ≥ 1, C-SSRS risk) "
    "opens a suicide-risk task for the clinical team, returned as suicide_risk_task.",
)
def create_response(request: HttpRequest, payload: ResponseIn) -> Status[dict[str, Any]]:
    _check_instrument(payload.instrument)
    completed_at = payload.completed_at
    if completed_at is not None:
        if timezone.is_naive(completed_at):
            raise ValidationError(
                [{"loc": ["completed_at"], "msg": "give the UTC offset, e.g. 2026-11-27T09:30:00-06:00"}]
            )
        if completed_at > timezone.now() + dt.timedelta(minutes=5):  # allow for clocks a little apart
            raise ValidationError([{"loc": ["completed_at"], "msg": "cannot be in the future"}])
    found = access_patient(request.user, payload.patient, write=True, need=Perm.EDIT_CHART)
    try:
        response = record_response(
            found,
            payload.instrument,
            payload.answers,
            respondent=payload.respondent,
            channel=QuestionnaireResponse.Channel.CLINIC,
            by=request.user,
            completed_at=completed_at,
            submission_key=payload.submission_key,
        )
    except ValueError as error:
        raise _answers_error(error) from None
    return Status(201, _out(response, _tasks_for([response])))
