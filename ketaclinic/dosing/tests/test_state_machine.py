"""The session state machine: every legal transition is accepted and every other one refused."""

from __future__ import annotations

import pytest

from ketaclinic.dosing.actions import _move
from ketaclinic.dosing.models import TRANSITIONS, DosingSession, SessionState

ALL = [s.value for s in SessionState]
LEGAL = [(a, b) for a in ALL for b in sorted(TRANSITIONS[a])]
ILLEGAL = [(a, b) for a in ALL for b in ALL if b not in TRANSITIONS[a] and a != b]


def test_it_has_a_row_for_every_state() -> None:
    assert set(TRANSITIONS) == set(ALL)
    assert all(set(targets) <= set(ALL) for targets in TRANSITIONS.values())


def test_it_ends_in_terminal_states() -> None:
    assert [s for s in ALL if not TRANSITIONS[s]] == ["discharged", "cancelled", "no_show"]


@pytest.mark.parametrize(("source", "target"), LEGAL)
def test_it_allows_legal_transitions(source: str, target: str) -> None:
    session = DosingSession(state=source)
    _move(session, target)
    assert session.state == target


@pytest.mark.parametrize(("source", "target"), ILLEGAL)
def test_it_refuses_illegal_transitions(source: str, target: str) -> None:
    session = DosingSession(state=source)
    with pytest.raises(ValueError, match=f"cannot go from {source} to {target}"):
        _move(session, target)
    assert session.state == source


def test_it_never_skips_the_gate() -> None:
    assert "dosing" not in TRANSITIONS["checked_in"] | TRANSITIONS["review"] | TRANSITIONS["on_hold"]
    assert "dosing" not in TRANSITIONS["booked"]
