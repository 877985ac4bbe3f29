"""A session that has been dosed (gate passed, dose started N minutes ago), for the monitoring tests.

The dose record is written directly (recording a dose is another change's action); the order comes from the courses
tests' ``iv_course``, which is all a :class:`DoseAdministration` needs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from ketaclinic.conftest import Cast
from ketaclinic.courses.models import Course
from ketaclinic.courses.tests.conftest import NOW, eligible, iv_course  # noqa: F401  (fixtures dosed needs)
from ketaclinic.dosing.models import DoseAdministration, DosingSession, DrugLot, EsketamineDevice
from ketaclinic.dosing.tests.conftest import CALM, gate

Dosed = Callable[..., DosingSession]


def give_dose(
    session: DosingSession,
    cast: Cast,
    course: Course,
    *,
    minutes_ago: float = 0,
    infusion_min: int = 40,
    state: str = "dosing",
) -> DosingSession:
    """Record a dose that started ``minutes_ago`` (esketamine: the first device then) and set ``state``."""
    drug = "esketamine" if session.is_esketamine else "ketamine"
    lot, _ = DrugLot.objects.get_or_create(
        site=session.site,
        drug=drug,
        lot_number=f"LOT-{drug}",
        defaults={
            "product": "Ketamine HCl 50 mg/mL" if drug == "ketamine" else "Spravato 28 mg device",
            "mg_per_unit": Decimal("500" if drug == "ketamine" else "28"),
            "expires_on": dt.date(2027, 12, 31),
            "received_by": cast.nurse,
        },
    )
    started = NOW - dt.timedelta(minutes=minutes_ago)
    administration = DoseAdministration.objects.create(
        session=session,
        order=course.dose_orders.order_by("id")[0],
        drug=drug,
        route=session.route,
        amount_mg=Decimal("40" if drug == "ketamine" else "56"),
        planned_duration_min=Decimal(infusion_min) if session.route == "iv" else None,
        lot=lot,
        started_at=started,
        administered_by=cast.nurse,
        witnessed_by=cast.prescriber,
    )
    if session.is_esketamine:
        for number in (1, 2):
            EsketamineDevice.objects.create(
                administration=administration,
                number=number,
                at=started + dt.timedelta(minutes=5 * (number - 1)),
                by=cast.nurse,
            )
    DosingSession.objects.filter(pk=session.pk).update(state=state)
    session.refresh_from_db()
    return session


@pytest.fixture
def dosed(make_session: Callable[..., DosingSession], clinic: Cast, iv_course: Course) -> Dosed:  # noqa: F811
    """A factory: a session of ``route`` through the gate on CALM vitals, dosed ``minutes_ago``, in ``state``."""

    def make(*, route: str = "iv", minutes_ago: float = 0, state: str = "dosing", **kwargs: Any) -> DosingSession:
        session = make_session(route=route)
        gate(session, clinic.nurse, CALM)
        return give_dose(session, clinic, iv_course, minutes_ago=minutes_ago, state=state, **kwargs)

    return make
