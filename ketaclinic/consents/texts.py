"""What each consent says and how long it lasts.

The text of every kind is a versioned template, ``consents/texts/<kind>_<version>.html``. A version is the date the
wording was approved; a new wording is a new file with a new date (never an edit of a signed one), so the text of
every signed consent can be rendered again exactly as it was. ``CURRENT_VERSIONS`` says which version new signatures
use.

How long a signed consent stays valid is a clinic setting, ``CONSENT_EXPIRY_MONTHS`` (a mapping from kind to whole
months, or ``None`` for "until revoked"). Unset kinds keep these defaults:

* ``ketamine_treatment``: 12 months — consent to off-label ketamine is renewed yearly, when risks, benefits and the
  plan are reviewed again;
* ``psychotherapy``: 12 months — the same yearly review of the therapy agreement;
* ``esketamine_rems``: ``None`` — SPRAVATO REMS enrolment lasts for as long as the patient is treated (REFERENCE
  §1.4: enrolment happens once, before treatment), unless revoked.

For example, in settings: ``CONSENT_EXPIRY_MONTHS = {"ketamine_treatment": 6}``.
"""

from __future__ import annotations

import calendar
import datetime as dt
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe

from ketaclinic.consents.models import Consent

Kind = Consent.Kind

#: The text version new signatures of each kind use (the dated file in templates/consents/texts/).
CURRENT_VERSIONS: dict[str, str] = {
    Kind.KETAMINE_TREATMENT: "2026-11-27",
    Kind.ESKETAMINE_REMS: "2026-11-27",
    Kind.PSYCHOTHERAPY: "2026-11-27",
}

#: Months a signed consent stays valid unless ``settings.CONSENT_EXPIRY_MONTHS`` says otherwise (None: until revoked).
DEFAULT_EXPIRY_MONTHS: dict[str, int | None] = {
    Kind.KETAMINE_TREATMENT: 12,
    Kind.PSYCHOTHERAPY: 12,
    Kind.ESKETAMINE_REMS: None,
}

#: The longest expiry a clinic may set (ten years); longer would mean "never" and should be written as None.
MAX_EXPIRY_MONTHS = 120


def check_kind(kind: str) -> str:
    """``kind`` if it is a consent kind; otherwise ``ValueError`` naming the allowed kinds."""
    if kind not in Kind.values:
        raise ValueError(f"kind: {kind!r} is not a consent kind; allowed: {', '.join(Kind.values)}")
    return kind


def expiry_months(kind: str) -> int | None:
    """Months a consent of ``kind`` signed now stays valid (None: until revoked), from settings or the defaults."""
    check_kind(kind)
    configured: Any = getattr(settings, "CONSENT_EXPIRY_MONTHS", {}) or {}
    if not isinstance(configured, dict):
        raise ImproperlyConfigured("CONSENT_EXPIRY_MONTHS must map consent kinds to whole months or None")
    unknown = set(configured) - set(Kind.values)
    if unknown:
        raise ImproperlyConfigured(
            f"CONSENT_EXPIRY_MONTHS: unknown kinds {', '.join(sorted(unknown))}; allowed: {', '.join(Kind.values)}"
        )
    months = configured.get(kind, DEFAULT_EXPIRY_MONTHS[kind])
    if months is None:
        return None
    if isinstance(months, bool) or not isinstance(months, int) or not 1 <= months <= MAX_EXPIRY_MONTHS:
        raise ImproperlyConfigured(
            f"CONSENT_EXPIRY_MONTHS[{kind!r}] must be a whole number of months from 1 to {MAX_EXPIRY_MONTHS}, "
            f"or None for 'until revoked' (got {months!r})"
        )
    return months


def add_months(moment: dt.datetime, months: int, zone: dt.tzinfo) -> dt.datetime:
    """The same local clock time ``months`` later in ``zone``; the 31st becomes the last day of a shorter month."""
    local = moment.astimezone(zone)
    month_index = local.month - 1 + months
    year, month = local.year + month_index // 12, month_index % 12 + 1
    day = min(local.day, calendar.monthrange(year, month)[1])
    shifted = local.replace(year=year, month=month, day=day, tzinfo=None)
    return shifted.replace(tzinfo=zone).astimezone(dt.UTC)


def expiry_for(kind: str, signed_at: dt.datetime, zone: dt.tzinfo) -> dt.datetime | None:
    """When a consent of ``kind`` signed at ``signed_at`` (in a clinic in ``zone``) stops being valid, or None."""
    months = expiry_months(kind)
    return None if months is None else add_months(signed_at, months, zone)


def text_template(kind: str, version: str | None = None) -> str:
    """The template path of the text of ``kind`` at ``version`` (default: the current version)."""
    check_kind(kind)
    return f"consents/texts/{kind}_{version or CURRENT_VERSIONS[kind]}.html"


def render_text(kind: str, *, site: Any, version: str | None = None) -> SafeString:
    """The consent text as HTML (a fragment), with the clinic's name and the expiry that applies."""
    html = render_to_string(
        text_template(kind, version),
        {"site": site, "kind": kind, "version": version or CURRENT_VERSIONS[kind], "months": expiry_months(kind)},
    )
    return mark_safe(html)  # noqa: S308 - our own template, auto-escaped when rendered
