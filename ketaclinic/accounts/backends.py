"""The authentication backend: Django's ModelBackend, with each request's user loaded together with their roles.

Capabilities come only from roles (:data:`ketaclinic.accounts.roles.ROLE_PERMISSIONS`, synced to groups after every
migrate), so the user's group names are enough to answer every ``can()``. Loading them in the same SQL statement as
the user saves the two permission queries and the role query every request would otherwise make; a busy session
page polled by several tablets feels that.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.db.models import Aggregate, CharField, QuerySet

from ketaclinic.accounts.models import User
from ketaclinic.sql_rows import composed

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
        user = next(iter(User._default_manager.raw(*composed(_COMPOSED, _user_with_roles, user_id=key))), None)
        if user is None or not self.user_can_authenticate(user):
            return None
        user.prime_roles((getattr(user, "group_list", None) or "").split(SEPARATOR))
        return user


# Every request loads its user, and composing this query through the ORM cost more than running it; the SQL is
# composed once per database and run as a raw query, which still builds a full User with its declared fields
# converted.
_COMPOSED: dict[tuple[Any, ...], tuple[str, tuple[Any, ...]]] = {}


def _user_with_roles(user_id: int) -> QuerySet[User]:
    return User._default_manager.filter(pk=user_id).annotate(group_list=GroupNames("groups__name")).order_by()
