"""Forms of the dose record and the controlled-substance log: few fields, big, units next to each.

Times are typed as the clinic's local time today (blank: now). The witness is chosen from the staff at the site who
may administer doses (never the person signed in) and types their own password. The actions do the checks.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django import forms
from django.db.models import Q, QuerySet
from django.utils import timezone

from ketaclinic.accounts.models import Site, User
from ketaclinic.accounts.roles import Perm
from ketaclinic.dosing import stock
from ketaclinic.dosing.actions import DosingError
from ketaclinic.dosing.administration import DEFAULT_DILUENT, DEFAULT_DILUENT_ML, MAX_RATE_ML_PER_H
from ketaclinic.dosing.forms import VersionForm
from ketaclinic.dosing.models import MIN_REASON_CHARS, Drug, DrugLot

DECIMAL = {"inputmode": "decimal", "autocomplete": "off", "step": "any"}
TIME = forms.TimeInput(attrs={"type": "time"})


def witnesses(site: Site, user: Any) -> QuerySet[User]:
    """Active staff at ``site`` who may witness a controlled-substance act (administer doses), except ``user``."""
    perm = Q(
        groups__permissions__codename=Perm.ADMINISTER_DOSE.value,
        groups__permissions__content_type__app_label="accounts",
    )
    return (
        User.objects.filter(sites=site, is_active=True)
        .filter(perm | Q(is_superuser=True))
        .exclude(pk=getattr(user, "pk", 0) or 0)
        .distinct()
        .order_by("display_name", "username")
    )


def local_time(value: dt.time | None, zone: dt.tzinfo) -> dt.datetime | None:
    """A time typed today in the clinic's zone as an aware datetime (``None`` for blank: the action uses now)."""
    if value is None:
        return None
    today = timezone.now().astimezone(zone).date()
    return dt.datetime.combine(today, value, tzinfo=zone)


class WitnessMixin(forms.Form):
    """A witness chosen from the site's staff and their password, typed by them."""

    witness = forms.ModelChoiceField(queryset=User.objects.none(), required=False, label="Witness")
    witness_password = forms.CharField(
        required=False,
        label="Witness's password",
        # new-password: browsers must not fill in the signed-in user's own saved password here.
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="The witness types their own password.",
    )

    def set_witnesses(self, site: Site, user: Any) -> None:
        field: Any = self.fields["witness"]
        field.queryset = witnesses(site, user)
        field.label_from_instance = lambda u: f"{u}{f', {u.credentials}' if u.credentials else ''}"


class StartDoseForm(VersionForm, WitnessMixin):
    """Start today's dose: the lot, the time, the witness; IV adds the diluent, IM the injection site."""

    field_order = ("lot", "started_at", "diluent", "diluent_ml", "site_of_administration", "witness")

    lot = forms.ModelChoiceField(queryset=DrugLot.objects.none(), required=False, label="Lot")
    started_at = forms.TimeField(required=False, label="Start time", widget=TIME, help_text="Blank: now.")
    diluent = forms.CharField(initial=DEFAULT_DILUENT, max_length=45, label="Diluent")
    diluent_ml = forms.DecimalField(
        initial=DEFAULT_DILUENT_ML,
        label="Diluent volume (mL)",
        help_text="10–1000 mL.",
        widget=forms.NumberInput(DECIMAL),
    )
    site_of_administration = forms.CharField(
        required=False, max_length=60, label="Injection site", help_text="e.g. left deltoid."
    )

    def __init__(self, *args: Any, site: Site, user: Any, route: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.set_witnesses(site, user)
        drug = Drug.ESKETAMINE if route == "esketamine_nasal" else Drug.KETAMINE
        today = timezone.now().astimezone(site.zone).date()
        lots: Any = stock.site_lots(site).filter(drug=drug, expires_on__gte=today)
        field: Any = self.fields["lot"]
        field.queryset = lots
        field.label_from_instance = lambda lot: (
            f"{lot.lot_number} · {lot.product} · expires {lot.expires_on:%Y-%m-%d} · "
            f"{stock.fmt_mg(lot.on_hand_mg)} mg on hand"
        )
        if route != "iv":
            del self.fields["diluent"], self.fields["diluent_ml"]
        if route != "im":
            del self.fields["site_of_administration"]
        if route == "esketamine_nasal":
            self.fields["started_at"].label = "Device 1 taken at"


class RateForm(VersionForm):
    rate_ml_per_h = forms.DecimalField(
        label="New rate (mL/h)",
        min_value=Decimal("0"),
        max_value=MAX_RATE_ML_PER_H,
        help_text=f"0–{MAX_RATE_ML_PER_H} mL/h (0 pauses).",
        widget=forms.NumberInput(DECIMAL),
    )
    reason = forms.CharField(max_length=300, label="Why")
    at = forms.TimeField(required=False, label="Time", widget=TIME, help_text="Blank: now.")


class PauseForm(VersionForm):
    reason = forms.CharField(max_length=300, label="Why pause")


class ResumeForm(VersionForm):
    pass


class StopInfusionForm(VersionForm, WitnessMixin):
    field_order = ("stopped_at", "amount_given_mg", "reason", "witness")
    stopped_at = forms.TimeField(required=False, label="Stop time", widget=TIME, help_text="Blank: now.")
    amount_given_mg = forms.DecimalField(
        required=False,
        label="Amount given (mg)",
        min_value=Decimal("0"),
        widget=forms.NumberInput(DECIMAL),
        help_text="Blank: the whole dose (it ran to completion).",
    )
    reason = forms.CharField(
        required=False, max_length=300, label="Why stopped early", help_text="Needed when less than the dose was given."
    )

    def __init__(self, *args: Any, site: Site, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.set_witnesses(site, user)
        self.fields["witness"].help_text = "Needed when less than the dose was given: the rest is wasted."


class DeviceForm(VersionForm):
    at = forms.TimeField(required=False, label="Taken at", widget=TIME, help_text="Blank: now.")


class StopDevicesForm(VersionForm):
    reason = forms.CharField(max_length=300, label="Why no further devices")


class DoseWasteForm(VersionForm, WitnessMixin):
    """Drug drawn up for this dose but not given."""

    field_order = ("amount_mg", "reason", "witness")

    amount_mg = forms.DecimalField(
        label="Amount wasted (mg)", min_value=Decimal("0.01"), widget=forms.NumberInput(DECIMAL)
    )
    reason = forms.CharField(max_length=300, label="Why", initial="Drawn up, not given")

    def __init__(self, *args: Any, site: Site, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.set_witnesses(site, user)


# --- Site-level stock forms --------------------------------------------------------------------------------------


class ReceiveForm(forms.Form):
    drug = forms.ChoiceField(choices=Drug.choices, label="Drug")
    product = forms.CharField(
        max_length=120, label="Product", help_text="As on the label, e.g. Ketamine HCl 50 mg/mL, 10 mL vial."
    )
    lot_number = forms.CharField(max_length=40, label="Lot number")
    expires_on = forms.DateField(label="Expiry date", widget=forms.DateInput(attrs={"type": "date"}))
    units = forms.IntegerField(
        label="Units received", min_value=1, max_value=stock.MAX_UNITS, help_text="Vials or devices."
    )
    mg_per_unit = forms.DecimalField(
        label="mg per unit",
        help_text="A 10 mL vial of 50 mg/mL is 500 mg; an esketamine device is 28 mg.",
        widget=forms.NumberInput(DECIMAL),
    )
    concentration_mg_per_ml = forms.DecimalField(
        required=False, label="Concentration (mg/mL)", help_text="Ketamine only.", widget=forms.NumberInput(DECIMAL)
    )


class LotWasteForm(WitnessMixin):
    field_order = ("amount_mg", "reason", "witness")
    amount_mg = forms.DecimalField(
        label="Amount wasted (mg)", min_value=Decimal("0.01"), widget=forms.NumberInput(DECIMAL)
    )
    reason = forms.CharField(max_length=300, label="Why")

    def __init__(self, *args: Any, site: Site, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.set_witnesses(site, user)


class ReturnForm(forms.Form):
    amount_mg = forms.DecimalField(
        label="Amount returned (mg)", min_value=Decimal("0.01"), widget=forms.NumberInput(DECIMAL)
    )
    reason = forms.CharField(max_length=300, label="Why (expired, recalled, damaged) and to whom")


class CountForm(WitnessMixin):
    field_order = ("full_units", "open_ml", "note", "witness")
    full_units = forms.IntegerField(label="Full, sealed units", min_value=0, max_value=100000)
    open_ml = forms.DecimalField(
        required=False,
        label="Open vial: mL left",
        min_value=Decimal("0"),
        widget=forms.NumberInput(DECIMAL),
        help_text="Ketamine only; blank when no vial is open.",
    )
    note = forms.CharField(
        required=False,
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 2}),
        label="Note",
        help_text=f"Required when the count differs from the log: at least {MIN_REASON_CHARS} characters on why.",
    )

    def __init__(self, *args: Any, site: Site, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.set_witnesses(site, user)

    def counted_mg(self, lot: DrugLot) -> Decimal:
        """Full units × mg per unit, plus the open vial's millilitres × the concentration."""
        data = self.cleaned_data
        total = Decimal(data["full_units"]) * lot.mg_per_unit
        if data.get("open_ml"):
            if not lot.concentration_mg_per_ml:
                raise DosingError("open_ml", "this lot is counted in whole units only")
            total += Decimal(data["open_ml"]) * lot.concentration_mg_per_ml
        return total
