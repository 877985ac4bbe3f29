"""The day board: the site's dosing sessions of today, by chair, refreshed in place every few seconds.

Two ways to look at it: the staff view (full names, links to each session, "Open session" for staff who record
sessions) and the wall mode (``?wall=1``: large type, no navigation, initials and chair only — a wall screen is seen
by patients and escorts walking by, so it shows the minimum needed to find the chair). Both need the clinical chart
(``VIEW_CHART``): the front desk works from its own day list in scheduling.
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import URLPattern, path
from django.views.decorators.http import require_GET

from ketaclinic.accounts.roles import Perm
from ketaclinic.audit.actions import Action, record
from ketaclinic.dosing.access import AUDIT_AS
from ketaclinic.dosing.board import Board, day_board
from ketaclinic.scheduling.access import schedule_site

#: Seconds between two refreshes of the board's rows.
POLL_SECONDS = 10
#: Where the last audited board read is remembered, so that polls showing the same sessions are not re-audited.
AUDITED_KEY = "dosing_board_audited"


def _audit(request: HttpRequest, board: Board, *, wall: bool, poll: bool) -> None:
    """Audit the read like other lists (which view, which day, how many; the session ids, never names or values).

    Opening the board is always recorded; a refresh is recorded only when it shows another set of sessions than the
    last recorded read of this sign-in, so a screen left open does not write an event every ten seconds.
    """
    ids = board.session_ids
    appointments = sorted(row.appointment.pk for row in board.rows)
    fingerprint = hashlib.sha256(f"{board.site.pk}|{board.day}|{wall}|{ids}|{appointments}".encode()).hexdigest()
    if poll and request.session.get(AUDITED_KEY) == fingerprint:
        return
    with transaction.atomic():
        record(
            Action.LIST,
            object_type=AUDIT_AS,
            site=board.site,
            user=request.user,
            detail={
                "view": "board-wall" if wall else "board",
                "day": board.day.isoformat(),
                "count": len(appointments),
                "sessions": ids,
            },
        )
    request.session[AUDITED_KEY] = fingerprint


def _board(request: HttpRequest, *, poll: bool) -> tuple[Board, dict[str, Any]]:
    user: Any = request.user
    site = schedule_site(user, default=getattr(request, "site", None), need=Perm.VIEW_CHART)
    wall = request.GET.get("wall") == "1"
    board = day_board(site)
    _audit(request, board, wall=wall, poll=poll)
    context = {
        "board": board,
        "wall": wall,
        "zone": site.time_zone,
        "can_open": user.can(Perm.RECORD_SESSION) and not wall,
        "poll_seconds": POLL_SECONDS,
    }
    return board, context


@require_GET
def board_page(request: HttpRequest) -> HttpResponse:
    """The whole page: the staff view, or the wall mode with ``?wall=1``."""
    _, context = _board(request, poll=False)
    return render(request, "dosing/board_wall.html" if context["wall"] else "dosing/board.html", context)


@require_GET
def board_rows(request: HttpRequest) -> HttpResponse:
    """The rows alone: what the page fetches every ``POLL_SECONDS`` (htmx) to stay current without a reload."""
    _, context = _board(request, poll=True)
    return render(request, "dosing/board_rows.html", context)


#: Site-level URLs, mounted under /dosing/ with the namespace dosing_site.
urlpatterns: list[URLPattern] = [
    path("board/", board_page, name="board"),
    path("board/rows/", board_rows, name="board_rows"),
]
