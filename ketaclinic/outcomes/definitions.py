"""What the clinic dashboard means by a course's sessions, baseline, end of induction and response.

Response, remission and loss of response are the clinical core's (``clinical.classify_change``,
``ClinicPolicy.response_reduction_pct``, the instrument's remission setting, ``loss_of_response_consecutive``); this
module only says *which* assessments and sessions of a course they are applied to. These are analytic conventions of
the dashboard (documented in docs/architecture.md), not clinical thresholds, so they are named here rather than in
``ClinicPolicy``.

* **Dosed session**: a dosing session with a dose administration (its ``started_at`` is the session's time). Sessions
  cancelled, no-show or held before any dose do not count. Session numbers are the order of dosed sessions.
* **Baseline**: the latest score of :data:`INSTRUMENT` at or before the first dose and no more than
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

#: The dashboard's outcome measure: the patient-reported PHQ-9, the one depression measure every protocol collects.
INSTRUMENT = "phq9"
BASELINE_LOOKBACK = dt.timedelta(days=30)
END_OF_INDUCTION_WINDOW = dt.timedelta(days=7)
#: A dose administration makes a session count as dosed.
ENDED_STATUSES = ("maintenance", "completed", "stopped")
