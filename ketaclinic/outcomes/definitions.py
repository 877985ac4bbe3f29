"""What the clinic dashboard means by a course's measure, sessions, baseline, end of induction and response.

Response, remission and loss of response are the clinical core's (``clinical.classify_change``,
``ClinicPolicy.response_reduction_pct``, the instrument's remission setting, ``loss_of_response_consecutive``); this
module only says *which* assessments and sessions of a course they are applied to. These are analytic conventions of
the dashboard (documented in docs/architecture.md), not clinical thresholds, so they are named here rather than in
``ClinicPolicy``.

* **Measure**: each course is judged on its own indication's primary outcome (``clinical.primary_outcome``): the
  PHQ-9 for TRD, MDSI and other depression, the GAD-7 for anxiety. PTSD (PCL-5), OCD (Y-BOCS), chronic pain (NRS),
  migraine (MIDAS) and alcohol use (AUDIT) courses have none — the reference gives no sourced response or remission
  definition on those instruments — so they are counted as *not evaluable: no sourced response definition for
  <instrument>* and never judged on an invented threshold. Every definition below applies to the course's measure
  (:data:`INSTRUMENT_BY_INDICATION`); "score" means a total on it.
* **Dosed session**: a dosing session with a dose administration (its ``started_at`` is the session's time). Sessions
  cancelled, no-show or held before any dose do not count. Session numbers are the order of dosed sessions.
* **Baseline**: the latest score on the course's measure at or before the first dose and no more than
  :data:`BASELINE_LOOKBACK` before it. Without one the course is not evaluable.
* **Follow-up assessments**: the course's scores after the first dose, up to the course's end (``ended_at``).
* **End of induction**: the course's ``planned_induction_sessions``-th dosed session; for a course that moved to
  maintenance, completed or stopped with fewer, its last dosed session. The **end-of-induction score** is the latest
  follow-up assessment up to :data:`END_OF_INDUCTION_WINDOW` after that session (so the 24-hour and 7-day measures
  after the last induction dose count).
* **Sessions to response**: the number of dosed sessions given at or before the first follow-up assessment showing
  benefit (response, or remission).
* **Loss of response** (for the Kaplan–Meier curve): the first assessment at which, after benefit,
  ``loss_of_response_consecutive`` assessments in a row show none — the point at which
  ``clinical.classify_trajectory`` on the series so far first says "loss of response". Time runs from the first
  benefit to that assessment (event), or to the last follow-up assessment (censored).
"""

from __future__ import annotations

import datetime as dt

from ketaclinic.clinical.instruments import get_instrument
from ketaclinic.clinical.measurement import INDICATION_GROUPS, MEASURE_SETS
from ketaclinic.clinical.outcomes import PRIMARY_OUTCOMES, not_evaluable_reason, primary_outcome

#: Course indication → the instrument its outcome is measured on (``None``: no primary outcome, not evaluable).
INSTRUMENT_BY_INDICATION: dict[str, str | None] = {i: primary_outcome(i) for i in INDICATION_GROUPS}
#: Every instrument some course is measured on, in a fixed order (what the rollups read from the responses).
INSTRUMENTS: tuple[str, ...] = tuple(sorted({i for i in INSTRUMENT_BY_INDICATION.values() if i is not None}))
#: Indication → why its courses are not evaluable, for the indications without a primary outcome.
NOT_EVALUABLE: dict[str, str] = {i: r for i in INDICATION_GROUPS if (r := not_evaluable_reason(i)) is not None}
#: Which measure judges which courses, in words: "PHQ-9 for depression, GAD-7 for anxiety".
MEASURES_TEXT = ", ".join(
    f"{get_instrument(m).name} for {group}" for group, m in PRIMARY_OUTCOMES.items() if m is not None
)


def instrument_for(indication: str) -> str | None:
    """The instrument a course for ``indication`` is measured on; ``None`` without a primary outcome (or for an
    indication the clinical core does not know)."""
    return INSTRUMENT_BY_INDICATION.get(indication)


def charted_instrument(indication: str) -> str:
    """What a course's documents chart: its measure, or for an indication without one the instrument it is measured on
    (PCL-5 for PTSD, …), shown without response or remission."""
    group = INDICATION_GROUPS.get(indication)
    return instrument_for(indication) or (MEASURE_SETS[group][0][0] if group else "phq9")


def measure_name(instrument: str) -> str:
    """An instrument's display name (``PHQ-9``); empty for no instrument."""
    return get_instrument(instrument).name if instrument else ""


BASELINE_LOOKBACK = dt.timedelta(days=30)
END_OF_INDUCTION_WINDOW = dt.timedelta(days=7)
#: A dose administration makes a session count as dosed.
ENDED_STATUSES = ("maintenance", "completed", "stopped")
