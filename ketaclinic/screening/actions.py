"""Running eligibility checks and signing them. Each action is atomic and audited in the same transaction.

* :func:`run_assessment` — run the clinical core on the patient's counted chart rows; stores a draft snapshot.
* :func:`sign_assessment` — a prescriber approves, approves with precautions, or declines a draft. Approving an
  ``incomplete`` check is refused; approving a ``not_eligible`` one is an override that needs a written reason of at
  least :data:`OVERRIDE_REASON_MIN_CHARS` characters and is audited as ``OVERRIDE``; declining needs a reason.
  Signing supersedes the patient's previous signed assessment for the same route and moves the patient's status.
* :func:`mark_section_reviewed` — a clinician records "reviewed: none" for an empty chart section.

For the session day (later apps):

* :func:`current_assessment` ``(patient, route=None)`` — the signed assessment in force for the route (or the most
  recently signed one of any route), ``None`` if there is none. Check ``.is_approved`` before dosing.
* :func:`current_precautions` ``(patient, route)`` — the ``[{code, message}]`` precautions of the approved assessment
  in force for the route; ``[]`` when approved without precautions *or* when nothing approved is in force, so call
  :func:`current_assessment` to know which.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from ketaclinic import clinical
from ketaclinic.accounts.clinic_policy import clinic_policy
from ketaclinic.accounts.roles import Perm
from ketaclinic.audit.actions import Action, record
from ketaclinic.clinical.eligibility import Decision, EligibilityDecision
from ketaclinic.patients.actions import set_status
from ketaclinic.patients.models import Patient
from ketaclinic.screening.intake import build_intake, pending_total, section_rows
from ketaclinic.screening.models import (
    CARRIED_SEVERITIES,
    INDICATION_CHOICES,
    ROUTE_CHOICES,
    ChartReview,
    EligibilityAssessment,
)
from ketaclinic.tasks.actions import close_task, raise_task
from ketaclinic.tasks.models import Task

Status = EligibilityAssessment.Status
PD = EligibilityAssessment.PrescriberDecision

#: An override of a "not eligible" decision must be explained in at least this many characters.
OVERRIDE_REASON_MIN_CHARS = 20
#: Free-text precautions a prescriber adds are stored with this code.
PRESCRIBER_PRECAUTION = "prescriber"
#: Patient statuses an approval does not move back to "eligible" (a re-assessment during treatment).
TREATMENT_STATUSES = frozenset({Patient.Status.IN_TREATMENT, Patient.Status.MAINTENANCE})
TASK_SOURCE = "screening.eligibility"


class SigningError(ValueError):
    """A sign-off that the rules refuse; ``field`` names the input to correct (decision, reason, precautions)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class SigningConflict(Exception):
    """The assessment can no longer be signed as it stands (already signed, outdated): run the check again."""


@lru_cache(maxsize=1)
def rules_version() -> str:
    """A fingerprint of every rule id and statement in the catalogue: a changed rule changes the version."""
    digest = hashlib.sha256()
    for r in clinical.catalogue():
        digest.update(f"{r.id}\x1f{r.statement}\x1e".encode())
    return digest.hexdigest()[:16]


def _require(by: Any, patient: Patient, perm: Perm) -> None:
    """Defence in depth behind the views: the role must grant ``perm`` and the user must work at the site."""
    if not getattr(by, "is_authenticated", False) or not by.can(perm):
        raise PermissionDenied(f"Your role does not allow this: {perm.label.lower()}.")
    if not Patient.objects.visible_to(by).filter(pk=patient.pk).exists():
        raise PermissionDenied("You do not work at this patient's site.")


def _task_key(assessment: EligibilityAssessment) -> str:
    # One open sign-off task per patient and route, however often the check is re-run.
    return f"{assessment.patient_id}:{assessment.route}"


def _choice(field: str, value: str, choices: Iterable[tuple[str, str]]) -> str:
    allowed = [c for c, _ in choices]
    if value not in allowed:
        raise ValueError(f"{field}: {value!r} is not one of {', '.join(allowed)}")
    return value


def _serialise(
    result: EligibilityDecision, trials: Iterable[clinical.AntidepressantTrial], policy: clinical.ClinicPolicy
) -> dict[str, Any]:
    findings = [
        {
            "code": f.code,
            "severity": f.severity.value,
            "message": f.message,
            "citations": [str(c) for c in f.citations],
            "evidence": f.evidence.value,
        }
        for f in result.findings
    ]
    trd = result.trd
    return {
        "decision": result.decision.value,
        "findings": findings,
        "missing": [{"code": f.code, "message": f.message} for f in result.missing],
        "trd": {
            "met": trd.met,
            "failed_drugs": list(trd.failed_drugs),
            "undetermined_drugs": list(trd.undetermined_drugs),
            "required_failures": trd.required_failures,
            "definition": trd.definition,
            "trials": [_trial_verdict(t, policy) for t in trials],
        },
        "thase_rush_stage": int(result.thase_rush_stage),
    }


def _trial_verdict(trial: clinical.AntidepressantTrial, policy: clinical.ClinicPolicy) -> dict[str, Any]:
    """How one trial counts towards TRD, classified by the core itself (a one-trial TRD threshold) with the why."""
    out: dict[str, Any] = {"drug": trial.drug, "drug_class": trial.drug_class.value}
    if trial.drug_class in (clinical.DrugClass.ECT, clinical.DrugClass.AUGMENTATION):
        out.update(status="not_counted", why="not an antidepressant trial (counts only for staging)")
        return out
    single = clinical.assess_trd([trial], policy=policy.with_overrides({"trd_minimum_failed_trials": 1}))
    if single.met:
        out.update(status="failed", why="adequate dose and duration, too little improvement")
    elif single.met is None:
        gaps = [
            name
            for name, value in (
                ("whether the dose was adequate", trial.adequate_dose),
                ("weeks at that dose", trial.weeks),
                ("improvement", trial.improvement_pct),
            )
            if value is None
        ]
        out.update(status="undetermined", why="not recorded: " + ", ".join(gaps))
    else:
        reasons = []
        if trial.adequate_dose is False:
            reasons.append("the dose was judged inadequate")
        if trial.weeks is not None and trial.weeks < policy.trd_minimum_trial_weeks:
            reasons.append(f"fewer than {policy.trd_minimum_trial_weeks:g} weeks")
        if trial.improvement_pct is not None and trial.improvement_pct > policy.trd_maximum_improvement_pct:
            reasons.append(f"improved by more than {policy.trd_maximum_improvement_pct:g} %")
        out.update(status="not_counted", why="; ".join(reasons))
    return out


@transaction.atomic
def run_assessment(
    patient: Patient,
    *,
    route: str,
    indication: str = clinical.Indication.TRD.value,
    by: Any,
    vitals: Mapping[str, float] | None = None,
    acute_suicidal_ideation: bool | None = None,
) -> EligibilityAssessment:
    """Run the eligibility rules on ``patient``'s counted chart rows and store the result as a draft (audited).

    Needs the chart-editing capability at the patient's site. ``vitals`` are screening readings keyed by
    :class:`~ketaclinic.clinical.Vital` names. Invalid ``route``, ``indication`` or vitals raise ``ValueError``
    naming the field. When a non-prescriber runs a check that can be signed, a sign-off task is raised.
    """
    _require(by, patient, Perm.EDIT_CHART)
    route = _choice("route", route, ROUTE_CHOICES)
    indication = _choice("indication", indication, INDICATION_CHOICES)
    intake, snapshot = build_intake(patient, vitals=vitals, acute_suicidal_ideation=acute_suicidal_ideation)
    policy = clinic_policy(patient.site_id)
    result = clinical.assess_eligibility(intake, route=route, indication=indication, policy=policy)
    out = _serialise(result, intake.antidepressant_trials or (), policy)
    assessment = EligibilityAssessment.objects.create(
        patient=patient,
        site=patient.site,
        route=route,
        indication=indication,
        inputs=snapshot,
        pending_patient_reported=pending_total(snapshot),
        rules_version=rules_version(),
        created_by=by,
        **out,
    )
    record(Action.CREATE, obj=assessment, patient_id=patient.pk, site=patient.site, user=by)
    if result.decision is not Decision.INCOMPLETE and not by.can(Perm.SIGN_ELIGIBILITY):
        raise_task(
            patient,
            kind=Task.Kind.ELIGIBILITY_SIGNOFF,
            title="Sign the eligibility check",
            by=by,
            source_type=TASK_SOURCE,
            source_id=_task_key(assessment),
        )
    return assessment


def chart_changed_since(assessment: EligibilityAssessment) -> bool:
    """Whether the chart now gives different inputs than the check saw (same vitals and answers re-used)."""
    _, now = build_intake(
        assessment.patient,
        vitals=assessment.inputs.get("vitals") or {},
        acute_suicidal_ideation=assessment.inputs.get("acute_suicidal_ideation"),
    )
    ignore = {"as_of"}
    return {k: v for k, v in now.items() if k not in ignore} != {
        k: v for k, v in assessment.inputs.items() if k not in ignore
    }


def _precautions(
    assessment: EligibilityAssessment, decision: str, precautions: Iterable[Mapping[str, Any]] | None
) -> list[dict[str, str]]:
    if decision != PD.APPROVE_WITH_PRECAUTIONS:
        return []
    offered = assessment.carryable_findings()
    if precautions is None:
        return offered
    chosen: list[dict[str, str]] = []
    for item in precautions:
        code, message = str(item.get("code", "")).strip(), str(item.get("message", "")).strip()
        entry = {"code": code, "message": message}
        if (code == PRESCRIBER_PRECAUTION and 0 < len(message) <= 300) or entry in offered:
            if entry not in chosen:
                chosen.append(entry)
        else:
            raise SigningError(
                "precautions",
                f"{code or '(no code)'}: not a finding of this assessment; add your own precaution with code "
                f"'{PRESCRIBER_PRECAUTION}' and a message of up to 300 characters.",
            )
    return chosen


@transaction.atomic
def sign_assessment(
    assessment: EligibilityAssessment,
    *,
    by: Any,
    decision: str,
    reason: str = "",
    precautions: Iterable[Mapping[str, Any]] | None = None,
) -> EligibilityAssessment:
    """A prescriber signs a draft: ``approve``, ``approve_with_precautions`` or ``decline`` (audited as SIGN).

    Guarantees: only holders of the sign-eligibility capability at the patient's site sign; an ``incomplete`` check
    is never approved (the missing items are listed); a ``not_eligible`` check is approved only as an override with a
    reason of at least :data:`OVERRIDE_REASON_MIN_CHARS` characters, audited as OVERRIDE; declining needs a reason;
    ``approve`` is refused when the check found precautions (choose "approve with precautions", which carries the
    precaution and interaction findings unless ``precautions`` says otherwise). A draft that is no longer current
    (already signed, a newer check signed, or the chart changed since it ran) raises :class:`SigningConflict`.
    The previous signed assessment for the route becomes superseded and the patient's status moves (eligible on
    approval unless already in treatment or maintenance; declined on decline), all in one transaction.
    """
    _require(by, assessment.patient, Perm.SIGN_ELIGIBILITY)
    locked = EligibilityAssessment.objects.select_for_update().select_related("patient").get(pk=assessment.pk)
    if locked.status != Status.DRAFT:
        raise SigningConflict("This assessment is already signed; run a new check to change the decision.")
    if decision not in PD.values:
        raise SigningError("decision", f"choose one of {', '.join(PD.values)}")
    reason = reason.strip()
    approving = decision in (PD.APPROVE, PD.APPROVE_WITH_PRECAUTIONS)
    overriding = approving and locked.decision == Decision.NOT_ELIGIBLE
    if approving and locked.decision == Decision.INCOMPLETE:
        items = "; ".join(m["message"] for m in locked.missing)
        raise SigningError("decision", f"complete the missing items first, then run the check again: {items}")
    if overriding and len(reason) < OVERRIDE_REASON_MIN_CHARS:
        raise SigningError(
            "reason",
            "approving despite a 'not eligible' decision is an override: write why, in at least "
            f"{OVERRIDE_REASON_MIN_CHARS} characters.",
        )
    if decision == PD.DECLINE and not reason:
        raise SigningError("reason", "say why treatment is declined.")
    if decision == PD.APPROVE and any(f["severity"] in CARRIED_SEVERITIES for f in locked.findings):
        raise SigningError(
            "decision",
            "the check found precautions: choose 'approve with precautions' and untick any that do not apply.",
        )
    carried = _precautions(locked, decision, precautions)

    previous = (
        EligibilityAssessment.objects.select_for_update()
        .filter(patient_id=locked.patient_id, route=locked.route, status=Status.SIGNED)
        .first()
    )
    if previous is not None and previous.created_at > locked.created_at:
        raise SigningConflict("A newer check for this route has been signed since this one ran; run the check again.")
    if chart_changed_since(locked):
        raise SigningConflict("The chart changed since this check ran; run the check again and sign the new one.")
    if previous is not None:
        previous.status = Status.SUPERSEDED
        previous.save(update_fields=["status"])
        record(
            Action.UPDATE,
            obj=previous,
            patient_id=locked.patient_id,
            site=locked.site,
            user=by,
            detail={"fields": ["status"], "superseded_by": locked.pk},
        )

    locked.status = Status.SIGNED
    locked.prescriber_decision = decision
    locked.overridden = overriding
    locked.reason = reason
    locked.precautions = carried
    locked.signed_by = by
    locked.signed_at = timezone.now()
    locked.supersedes = previous
    locked.save(
        update_fields=[
            "status",
            "prescriber_decision",
            "overridden",
            "reason",
            "precautions",
            "signed_by",
            "signed_at",
            "supersedes",
        ]
    )
    record(
        Action.SIGN,
        obj=locked,
        patient_id=locked.patient_id,
        site=locked.site,
        user=by,
        detail={"supersedes": previous.pk if previous else None},
    )
    if overriding:
        record(
            Action.OVERRIDE,
            obj=locked,
            patient_id=locked.patient_id,
            site=locked.site,
            user=by,
            # The count only: rule ids name conditions, and audit details never carry health data.
            detail={"overridden_findings": len(locked.ruling_out_findings())},
        )

    patient = locked.patient
    if decision == PD.DECLINE:
        set_status(patient, Patient.Status.DECLINED, by=by, reason="Eligibility declined at sign-off")
    elif patient.status not in TREATMENT_STATUSES:
        set_status(patient, Patient.Status.ELIGIBLE, by=by, reason="Eligibility approved at sign-off")
    for task in Task.objects.open().filter(
        patient=patient, kind=Task.Kind.ELIGIBILITY_SIGNOFF, source_type=TASK_SOURCE, source_id=_task_key(locked)
    ):
        close_task(task, by=by, resolution=f"Eligibility assessment #{locked.pk} signed.")
    assessment.refresh_from_db()
    return locked


@transaction.atomic
def mark_section_reviewed(patient: Patient, section: str, *, by: Any) -> ChartReview:
    """Record that ``section`` of ``patient``'s chart was reviewed and holds nothing ("reviewed: none"; audited).

    Refused (``ValueError`` naming ``section``) when the section has counted rows: a "none" review applies to an
    empty section only.
    """
    _require(by, patient, Perm.EDIT_CHART)
    section = _choice("section", section, ChartReview.Section.choices)
    rows = section_rows(patient, section)
    if rows.exists():
        label = ChartReview.Section(section).label.lower()
        raise ValueError(f"section: {label} are recorded; 'reviewed: none' applies to an empty section only")
    review = ChartReview.objects.create(patient=patient, site=patient.site, section=section, reviewed_by=by)
    record(Action.CREATE, obj=review, patient_id=patient.pk, site=patient.site, user=by, detail={"section": section})
    return review


def current_assessment(patient: Patient, route: str | None = None) -> EligibilityAssessment | None:
    """The signed assessment in force for ``route`` (or the most recently signed of any route), else ``None``."""
    rows = EligibilityAssessment.objects.signed().filter(patient=patient)
    if route is not None:
        rows = rows.filter(route=route)
    return rows.select_related("signed_by").order_by("-signed_at", "-id").first()


def current_precautions(patient: Patient, route: str) -> list[dict[str, Any]]:
    """The precautions ``[{code, message}]`` to show at every session for ``route``; ``[]`` if none are in force."""
    current = current_assessment(patient, route)
    if current is None or not current.is_approved:
        return []
    return [dict(p) for p in current.precautions]
