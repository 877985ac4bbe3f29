"""Keep the role groups in step with the code catalogue after every migrate."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_migrate
from django.dispatch import receiver


@receiver(post_migrate)
def sync_roles_after_migrate(sender: Any, **kwargs: Any) -> None:
    if getattr(sender, "label", None) != "accounts":
        return
    from ketaclinic.accounts.actions import sync_roles

    sync_roles(using=kwargs.get("using", "default"))
