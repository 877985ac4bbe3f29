"""The authentication backend: Django's ModelBackend, with each request's user loaded together with their roles.

Capabilities come only from roles (:data:`ketaclinic.accounts.roles.ROLE_PERMISSIONS`, synced to groups after every
migrate), so the user's group names are enough to answer every ``can()``. Loading them in the same SQL statement as
the user saves the two permission queries and the role query every request would otherwise make; a busy session
page polled by several tablets feels that.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.db import connection
from django.db.models import Aggregate, CharField

from ketaclinic.accounts.models import User

SEPARATOR = ","


class GroupNames(Aggregate):
    """The names of a user's groups joined by :data:`SEPARATOR` (GROUP_CONCAT on SQLite, STRING_AGG on PostgreSQL)."""

    function = "GROUP_CONCAT"
    template = "%(function)s(%(expressions)s)"
    output_field = CharField()

    def as_postgresql(self, compiler: Any, connection: Any, **extra_context: Any) -> Any:
        return self.as_sql(
            compiler, connection, function="STRING_AGG", template=f"%(function)s(%(expressions)s, '{SEPARATOR}')"
        )


class RoleBackend(ModelBackend):
    """ModelBackend whose ``get_user`` primes the user's roles and capabilities from one query."""

    def get_user(self, user_id: Any) -> User | None:
        try:
            key = int(user_id)
        except (TypeError, ValueError):
            return None
        user = next(iter(User._default_manager.raw(*_user_with_roles_sql(key))), None)
        if user is None or not self.user_can_authenticate(user):
            return None
        user.prime_roles((getattr(user, "group_list", None) or "").split(SEPARATOR))
        return user


# Every request loads its user, and composing this query through the ORM cost more than running it; the SQL is
# composed once per database with a placeholder id (negative: never a real key) and run as a raw query, which still
# builds a full User with its declared fields converted.
_PLACEHOLDER = -7_300_001
_COMPOSED: dict[str, tuple[str, tuple[Any, ...]]] = {}


def _user_with_roles_sql(user_id: int) -> tuple[str, list[Any]]:
    vendor = connection.vendor
    if vendor not in _COMPOSED:
        query = User._default_manager.filter(pk=_PLACEHOLDER).annotate(group_list=GroupNames("groups__name"))
        sql, params = query.order_by().query.sql_with_params()
        assert params.count(_PLACEHOLDER) == 1, "the user query lost its placeholder"
        _COMPOSED[vendor] = (sql, params)
    sql, params = _COMPOSED[vendor]
    return sql, [user_id if p == _PLACEHOLDER else p for p in params]
