"""Gunicorn access logging without secrets: portal and calendar-feed tokens never reach the log."""

from __future__ import annotations

import re
from typing import Any

from gunicorn.glogging import Logger

#: Path segments that are credentials: /p/<token>/… (patient portal) and /schedule/ics/<token>.ics (calendar feeds).
_SECRET_PATHS = re.compile(r"^(/p/|/schedule/ics/)[^/]+")


def redact_path(path: str) -> str:
    """``path`` with any credential segment replaced by ``[token]``."""
    return _SECRET_PATHS.sub(r"\1[token]", path)


class RedactingLogger(Logger):
    """Gunicorn's logger, with tokens removed from the request path atoms."""

    def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> dict[str, Any]:
        atoms: dict[str, Any] = super().atoms(resp, req, environ, request_time)
        if isinstance(atoms.get("U"), str):
            atoms["U"] = redact_path(atoms["U"])
        if isinstance(atoms.get("r"), str):
            method, _, rest = atoms["r"].partition(" ")
            uri, _, proto = rest.partition(" ")
            atoms["r"] = f"{method} {redact_path(uri)} {proto}".strip()
        return atoms
