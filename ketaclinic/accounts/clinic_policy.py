"""Each site's clinical policy: the guideline defaults of :class:`~ketaclinic.clinical.ClinicPolicy` with the values
the site's prescribers have tuned, checked against each setting's allowed range.

:func:`clinic_policy` is what every app asks for before applying a rule. It reads the site's overrides once and keeps
them in the shared cache until one changes, so a session page polled every few seconds pays no query for it.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db import transaction

from ketaclinic.accounts.models import PolicyOverride, Site
from ketaclinic.accounts.roles import Perm
from ketaclinic.audit.actions import record
from ketaclinic.audit.models import AuditEvent
from ketaclinic.clinical import DEFAULT_POLICY, ClinicPolicy, Setting

logger = logging.getLogger(__name__)
SETTINGS: dict[str, Setting] = {s.name: s for s in ClinicPolicy.settings()}
MIN_REASON_CHARS = 10
_CACHE_SECONDS = 60 * 60


class PolicyError(ValueError):
    """A refused policy change: ``field`` names what is wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def _key(site_id: int) -> str:
    return f"ketaclinic:clinic-policy:{site_id}"


def overrides_for(site: Site | int) -> dict[str, float]:
    """The site's stored values by setting name (from the cache when it has them)."""
    site_id = site if isinstance(site, int) else site.pk
    found: dict[str, float] | None = cache.get(_key(site_id))
    if found is None:
        found = dict(PolicyOverride.objects.filter(site_id=site_id).values_list("name", "value"))
        cache.set(_key(site_id), found, _CACHE_SECONDS)
    return found


def clinic_policy(site: Site | int | None) -> ClinicPolicy:
    """The policy in force at ``site``: defaults with the site's values. ``None`` gives the guideline defaults.

    A stored value that no longer fits its setting (a range tightened in a later release) is ignored — the safer
    guideline default applies — and logged by name so the site's prescribers can review it.
    """
    if site is None:
        return DEFAULT_POLICY
    valid: dict[str, float] = {}
    for name, value in overrides_for(site).items():
        try:
            DEFAULT_POLICY.with_overrides({name: value})
        except ValueError:
            logger.warning("Ignoring stored clinical policy value for %s: outside its allowed range", name)
            continue
        valid[name] = value
    return DEFAULT_POLICY.with_overrides(valid)


def _forget(site_id: int) -> None:
    transaction.on_commit(lambda: cache.delete(_key(site_id)))
    cache.delete(_key(site_id))


def _check(by: Any, site: Site, name: str, reason: str) -> str:
    if not by.can(Perm.TUNE_CLINICAL_POLICY) or not by.works_at(site):
        raise PermissionDenied("Only a prescriber at this site can change its clinical thresholds.")
    if name not in SETTINGS:
        raise PolicyError("name", f"{name!r} is not a policy setting")
    text = (reason or "").strip()
    if len(text) < MIN_REASON_CHARS:
        raise PolicyError("reason", f"say why in at least {MIN_REASON_CHARS} characters (got {len(text)})")
    return text[:300]


@transaction.atomic
def set_policy_value(site: Site, *, name: str, value: Any, reason: str, by: Any) -> PolicyOverride:
    """Give ``site`` its own value for setting ``name`` (within the setting's range), saying why; audited."""
    text = _check(by, site, name, reason)
    try:
        checked = DEFAULT_POLICY.with_overrides({name: value})
    except ValueError as error:
        raise PolicyError("value", str(error).partition(": ")[2]) from error
    new = float(getattr(checked, name))
    current = PolicyOverride.objects.select_for_update().filter(site=site, name=name).first()
    old = current.value if current is not None else SETTINGS[name].default
    if current is None:
        current = PolicyOverride(site=site, name=name)
    current.value, current.reason, current.changed_by = new, text, by
    current.save()
    record(
        AuditEvent.Action.UPDATE,
        obj=current,
        site=site,
        user=by,
        detail={"setting": name, "from": old, "to": new},
    )
    _forget(site.pk)
    return current


@transaction.atomic
def reset_policy_value(site: Site, *, name: str, reason: str, by: Any) -> None:
    """Return setting ``name`` at ``site`` to the guideline default, saying why; audited (no-op if already default)."""
    text = _check(by, site, name, reason)
    current = PolicyOverride.objects.select_for_update().filter(site=site, name=name).first()
    if current is None:
        return
    old = current.value
    current.reason, current.changed_by = text, by
    current.save(update_fields=["reason", "changed_by"])  # the history keeps who reset it and why
    current.delete()
    record(
        AuditEvent.Action.DELETE,
        object_type="accounts.policyoverride",
        object_id=f"{site.pk}:{name}",
        site=site,
        user=by,
        detail={"setting": name, "from": old, "to": SETTINGS[name].default},
    )
    _forget(site.pk)
