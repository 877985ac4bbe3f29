"""Framework-free clinical knowledge for ketamine and esketamine treatment.

Every rule here cites its published source (:mod:`ketaclinic.clinical.sources`); every threshold a clinic may tune
is a :class:`~ketaclinic.clinical.policy.ClinicPolicy` setting with its guideline default. Nothing in this package
imports Django, so researchers can use it as a plain library.
"""

from ketaclinic.clinical.instruments import INSTRUMENTS, Instrument, Score, get_instrument, load_item_text, score
from ketaclinic.clinical.outcomes import (
    Assessment,
    Change,
    OutcomeStatus,
    Trajectory,
    classify_change,
    classify_trajectory,
    rapid_response,
)
from ketaclinic.clinical.policy import DEFAULT_POLICY, ClinicPolicy, Setting
from ketaclinic.clinical.rules import Rule, catalogue
from ketaclinic.clinical.sources import SOURCES, Citation, Evidence, Source, cite

__all__ = [
    "DEFAULT_POLICY",
    "INSTRUMENTS",
    "SOURCES",
    "Assessment",
    "Change",
    "Citation",
    "ClinicPolicy",
    "Evidence",
    "Instrument",
    "OutcomeStatus",
    "Rule",
    "Score",
    "Setting",
    "Source",
    "Trajectory",
    "catalogue",
    "cite",
    "classify_change",
    "classify_trajectory",
    "get_instrument",
    "load_item_text",
    "rapid_response",
    "score",
]
