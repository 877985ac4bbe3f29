"""Sign-in, sign-out and failed sign-in events."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from ketaclinic.audit.actions import Action, Outcome, record


@receiver(user_logged_in)
def audit_login(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    record(Action.LOGIN, user=user, object_type="accounts.user", object_id=user.pk)


@receiver(user_logged_out)
def audit_logout(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if user is not None:
        action = Action.IDLE_LOGOUT if getattr(request, "idle_logout", False) else Action.LOGOUT
        record(action, user=user, object_type="accounts.user", object_id=user.pk)


@receiver(user_login_failed)
def audit_login_failed(sender: Any, credentials: dict[str, Any], request: Any = None, **kwargs: Any) -> None:
    record(
        Action.LOGIN_FAILED,
        outcome=Outcome.DENIED,
        username=str(credentials.get("username", ""))[:150],
        object_type="accounts.user",
    )
