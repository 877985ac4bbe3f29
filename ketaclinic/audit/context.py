"""Who is acting, where and from which address, for the duration of one request (or one command)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class AuditContext:
    user: Any = None
    site: Any = None
    ip_address: str | None = None
    path: str = ""


_NOBODY = AuditContext()
_current: ContextVar[AuditContext] = ContextVar("audit_context", default=_NOBODY)


def current() -> AuditContext:
    return _current.get()


@contextmanager
def acting(context: AuditContext) -> Iterator[AuditContext]:
    """Make ``context`` the acting context inside the block (used by middleware and by commands)."""
    token = _current.set(context)
    try:
        yield context
    finally:
        _current.reset(token)
