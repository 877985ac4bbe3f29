"""Demo: build the dashboard's rollups from whatever the other apps' demo data holds (measures, courses, sessions).

Runs after them (app order); the demo apps may insert in bulk, which queues nothing, so this rebuilds every course.
"""

from __future__ import annotations

from collections.abc import Callable

from ketaclinic.outcomes.rollup import rebuild_all


def seed(say: Callable[[str], object] = print) -> None:
    say(f"  outcomes: {rebuild_all()} course rollups rebuilt")
