"""The Kaplan–Meier product-limit estimator of a survival function, over grouped follow-up times. No Django.

Kaplan EL, Meier P. Nonparametric estimation from incomplete observations. J Am Stat Assoc 1958;53(282):457–481.
At each distinct time t with d events among the n subjects still at risk, S(t) = S(t⁻) × (1 − d / n); subjects
censored at t are counted at risk at t (events before censorings at a tie, the usual convention). The variance is
Greenwood's formula (Greenwood M. Reports on Public Health and Medical Subjects 33, 1926), shown as a 95 % interval on
the log(−log) scale so it stays within 0–1 (Kalbfleisch & Prentice, The Statistical Analysis of Failure Time Data,
2002, §1.3).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

Z95 = 1.959963984540054


@dataclass(frozen=True)
class Step:
    """The estimate just after ``time``: ``at_risk`` subjects entered it, ``events`` ended there, ``censored`` left."""

    time: float
    at_risk: int
    events: int
    censored: int
    survival: float
    lower: float
    upper: float


def kaplan_meier(groups: Iterable[tuple[float, int, int]]) -> list[Step]:
    """The estimate from ``(time, events, censored)`` groups (as a GROUP BY returns them; times need not be sorted
    and may repeat). Raises ``ValueError`` for a negative time or count.
    """
    merged: dict[float, list[int]] = {}
    for time, events, censored in groups:
        if time < 0 or events < 0 or censored < 0:
            raise ValueError(f"time/events/censored must not be negative: {(time, events, censored)!r}")
        slot = merged.setdefault(float(time), [0, 0])
        slot[0] += events
        slot[1] += censored
    at_risk = sum(e + c for e, c in merged.values())
    survival, greenwood = 1.0, 0.0
    steps: list[Step] = []
    for time in sorted(merged):
        events, censored = merged[time]
        if events:
            survival *= 1 - events / at_risk
            if at_risk > events:
                greenwood += events / (at_risk * (at_risk - events))
        lower, upper = _interval(survival, greenwood)
        steps.append(Step(time, at_risk, events, censored, survival, lower, upper))
        at_risk -= events + censored
    return steps


def _interval(survival: float, greenwood: float) -> tuple[float, float]:
    if survival <= 0 or survival >= 1 or greenwood == 0:
        return survival, survival
    log_s = math.log(survival)
    half = Z95 * math.sqrt(greenwood) / abs(log_s)
    return survival ** math.exp(half), survival ** math.exp(-half)


def median_time(steps: Iterable[Step]) -> float | None:
    """The first time at which the estimate falls to 0.5 or below; ``None`` when it never does (not reached)."""
    return next((s.time for s in steps if s.survival <= 0.5), None)
