"""The controlled-substance log: lots received at a site, what each dose used, witnessed waste, returns and two-person
counts, balanced per lot with SQL aggregates.

A lot's balance is the signed sum of its :class:`~ketaclinic.dosing.models.LotMovement` rows (``LotMovement.SIGN``);
what is *on hand* (on the shelf, what a count should find) is that balance less the drug committed to doses still
running (an infusion bag hung but not finished, esketamine devices not yet taken): ``in_use_mg``. No movement may take
a lot below zero on hand: the refusal names the amount on hand.

Waste and count adjustments are witnessed by a second member of staff at the site who may administer doses and who
confirms with their own password (:func:`confirm_witness`). Every action audits in the same transaction, identifiers
only. A count that does not match the log writes an adjustment movement with its reason and witness, so the log and
the shelf agree again and the discrepancy stays visible.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Case, DecimalField, F, OuterRef, Q, QuerySet, Subquery, Sum, Value, When, Window
from django.db.models.functions import Coalesce
from django.utils import timezone

from ketaclinic.accounts.models import Site
from ketaclinic.accounts.roles import Perm
from ketaclinic.audit.actions import record
from ketaclinic.audit.models import AuditEvent
from ketaclinic.clinical import PROTOCOLS
from ketaclinic.dosing.actions import MIN_REASON_CHARS, DosingError
from ketaclinic.dosing.models import DoseAdministration, Drug, DrugLot, LotCount, LotMovement

Action = AuditEvent.Action
K = LotMovement.Kind
MG: Any = DecimalField(max_digits=12, decimal_places=2)
ZERO = Value(Decimal("0"), output_field=MG)
CENT = Decimal("0.01")
#: One esketamine device: stock of esketamine is counted in devices of this many mg.
ESKETAMINE_DEVICE_MG = Decimal(PROTOCOLS["esketamine_trd"].device_mg or 28)
#: Lots expiring within this many days are flagged on the log (a stock-keeping horizon, not a clinical rule).
SOON_DAYS = 60
MAX_UNITS = 1000
MAX_MG_PER_UNIT = Decimal("10000")


# --- Who may do what ---------------------------------------------------------------------------------------------


def fmt_mg(value: Decimal) -> str:
    """``30.00`` → ``30``, ``41.20`` → ``41.2``: amounts as a nurse reads them."""
    return f"{Decimal(value).normalize():f}"


def may_record(user: Any) -> bool:
    """Prescribers and nurses (who administer and witness doses) record stock movements and counts."""
    return bool(user.can(Perm.ADMINISTER_DOSE))


def may_read(user: Any) -> bool:
    """Those who record, and clinic admins (who manage the site), read the log and export it."""
    return bool(user.can(Perm.ADMINISTER_DOSE) or user.can(Perm.MANAGE_SITE))


def _require_site(by: Any, site: Site) -> None:
    if not may_record(by):
        raise PermissionDenied(f"Your role does not allow this: {Perm.ADMINISTER_DOSE.label.lower()}.")
    if not by.works_at(site):
        raise PermissionDenied("You do not work at this site.")


def confirm_witness(witness: Any, password: str, *, by: Any, site: Site) -> Any:
    """``witness`` if they can witness a controlled-substance act of ``by`` at ``site``; else :class:`DosingError`.

    The witness is a second person (never ``by``), active, working at the site, allowed to administer doses, and
    confirms with their own password. Errors name ``witness`` or ``witness_password``.
    """
    if witness is None:
        raise DosingError("witness", "choose the second member of staff who witnesses this")
    if witness.pk == by.pk:
        raise DosingError("witness", "the witness must be a second person, not you")
    if not (witness.is_active and witness.can(Perm.ADMINISTER_DOSE) and witness.works_at(site)):
        raise DosingError("witness", "the witness must be a nurse or prescriber working at this site")
    if not password or not witness.check_password(password):
        raise DosingError("witness_password", f"the password of {witness} is not correct; they type it themselves")
    return witness


# --- Balances (SQL aggregates) -----------------------------------------------------------------------------------


def _total(kind: str) -> Coalesce:
    return Coalesce(Sum("movements__amount_mg", filter=Q(movements__kind=kind)), ZERO, output_field=MG)


def _in_use() -> Any:
    """Drug committed to this lot's doses that are still running and not yet written to the log as given."""
    running = (
        DoseAdministration.objects.filter(lot=OuterRef("pk"), stopped_at__isnull=True)
        .values("lot")
        .annotate(total=Sum("amount_mg"))
        .values("total")
    )
    given = (
        LotMovement.objects.filter(lot=OuterRef("pk"), kind=K.ADMINISTERED, administration__stopped_at__isnull=True)
        .values("lot")
        .annotate(total=Sum("amount_mg"))
        .values("total")
    )
    return Coalesce(Subquery(running, output_field=MG), ZERO) - Coalesce(Subquery(given, output_field=MG), ZERO)


def with_balances(lots: QuerySet[DrugLot]) -> QuerySet[DrugLot]:
    """``lots`` annotated (mg) with ``received_mg``, ``administered_mg``, ``wasted_mg``, ``returned_mg``,
    ``adjusted_in_mg``, ``adjusted_out_mg``, ``in_use_mg``, ``balance_mg`` (the log's sum) and ``on_hand_mg``."""
    return (
        lots.annotate(
            received_mg=_total(K.RECEIVED),
            administered_mg=_total(K.ADMINISTERED),
            wasted_mg=_total(K.WASTED),
            returned_mg=_total(K.RETURNED),
            adjusted_in_mg=_total(K.ADJUSTMENT_IN),
            adjusted_out_mg=_total(K.ADJUSTMENT_OUT),
            in_use_mg=_in_use(),
        )
        .annotate(
            balance_mg=F("received_mg")
            + F("adjusted_in_mg")
            - F("administered_mg")
            - F("wasted_mg")
            - F("returned_mg")
            - F("adjusted_out_mg"),
        )
        .annotate(on_hand_mg=F("balance_mg") - F("in_use_mg"))
    )


def on_hand_mg(lot: DrugLot) -> Decimal:
    """What should be on the shelf of ``lot`` now (mg)."""
    lots: Any = with_balances(DrugLot.objects.filter(pk=lot.pk))
    found = lots.values_list("on_hand_mg", flat=True).get()
    return Decimal(found).quantize(CENT)


def site_lots(site: Site, *, include_empty: bool = False) -> QuerySet[DrugLot]:
    """The lots of ``site`` with their balances, soonest expiry first (empty lots only with ``include_empty``)."""
    lots: Any = with_balances(DrugLot.objects.filter(site=site).select_related("received_by"))
    return lots if include_empty else lots.filter(on_hand_mg__gt=0)


def expiry_flag(lot: DrugLot, today: dt.date) -> str:
    """``expired``, ``soon`` (within :data:`SOON_DAYS`) or ``""``."""
    if lot.expires_on < today:
        return "expired"
    return "soon" if lot.expires_on <= today + dt.timedelta(days=SOON_DAYS) else ""


def ledger(lot: DrugLot) -> QuerySet[LotMovement]:
    """The lot's movements in order, each with ``signed_amount_mg`` and the running ``balance_mg`` after it."""
    signed = Case(
        When(kind__in=[k for k, s in LotMovement.SIGN.items() if s > 0], then=F("amount_mg")),
        default=-F("amount_mg"),
        output_field=MG,
    )
    return (
        LotMovement.objects.filter(lot=lot)
        .select_related("by", "witness", "administration__session")
        .annotate(signed_amount_mg=signed)
        .annotate(balance_mg=Window(Sum(signed), order_by=[F("at").asc(), F("id").asc()]))
        .order_by("at", "id")
    )


# --- Input checks ------------------------------------------------------------------------------------------------


def _mg(field: str, value: Any, *, allow_zero: bool = False) -> Decimal:
    try:
        amount = Decimal(str(value)).quantize(CENT)
    except (InvalidOperation, TypeError, ValueError):
        raise DosingError(field, "a number of milligrams") from None
    if not amount.is_finite() or amount < 0 or (amount == 0 and not allow_zero) or amount > Decimal("999999"):
        low = "0" if allow_zero else "more than 0"
        raise DosingError(field, f"{low} and at most 999999 mg")
    return amount


def _text(field: str, value: str, *, minimum: int = 1, maximum: int = 300) -> str:
    text = (value or "").strip()
    if len(text) < minimum:
        need = "say why" if minimum == 1 else f"write at least {minimum} characters (got {len(text)})"
        raise DosingError(field, need)
    if len(text) > maximum:
        raise DosingError(field, f"at most {maximum} characters")
    return text


def _when(field: str, value: dt.datetime | None, now: dt.datetime) -> dt.datetime:
    if value is None:
        return now
    if value.utcoffset() is None:
        raise DosingError(field, "a date and time is needed")
    if value > now:
        raise DosingError(field, "cannot be in the future")
    return value


def _locked(lot: DrugLot) -> DrugLot:
    return DrugLot.objects.select_for_update().select_related("site").get(pk=lot.pk)


def _audit(action: str, obj: Any, site: Site, by: Any, **detail: Any) -> None:
    record(action, obj=obj, site=site, user=by, detail=detail)


def take(
    lot: DrugLot,
    kind: str,
    amount_mg: Decimal,
    *,
    by: Any,
    at: dt.datetime,
    witness: Any = None,
    administration: DoseAdministration | None = None,
    reason: str = "",
    field: str = "amount_mg",
    reserved_mg: Decimal = Decimal("0"),
) -> LotMovement:
    """Write one outgoing movement of an already locked ``lot``; refused when more than is on hand.

    ``reserved_mg`` is drug of this lot counted as in use that this movement settles (a running dose's own share), so
    it is not counted twice.
    """
    available = on_hand_mg(lot) + reserved_mg
    if amount_mg > available:
        raise DosingError(
            field, f"{fmt_mg(amount_mg)} mg is more than the {fmt_mg(available)} mg on hand in lot {lot.lot_number}"
        )
    movement = LotMovement.objects.create(
        lot=lot,
        kind=kind,
        amount_mg=amount_mg,
        at=at,
        by=by,
        witness=witness,
        administration=administration,
        reason=reason,
    )
    _audit(Action.CREATE, movement, lot.site, by, lot_id=lot.pk, kind=kind)
    return movement


# --- Actions -------------------------------------------------------------------------------------------------------


@transaction.atomic
def receive_lot(
    site: Site,
    *,
    by: Any,
    drug: str,
    product: str,
    lot_number: str,
    expires_on: dt.date,
    mg_per_unit: Decimal | float | int,
    units: int,
    concentration_mg_per_ml: Decimal | float | int | None = None,
    at: dt.datetime | None = None,
) -> LotMovement:
    """Receive ``units`` of a lot into the site's stock (a RECEIVED movement of units × mg per unit).

    A new lot number creates the lot; a lot already on the log receives more only when product, strength and expiry
    match. Refused, naming the field: an unknown drug, expired stock, no concentration for ketamine (needed to turn
    milligrams into millilitres), esketamine not counted in 28-mg devices, units outside 1–1000.
    """
    _require_site(by, site)
    now = timezone.now()
    when = _when("received_at", at, now)
    if drug not in Drug.values:
        raise DosingError("drug", f"one of {', '.join(Drug.values)}")
    product = _text("product", product, maximum=120)
    lot_number = _text("lot_number", lot_number, maximum=40)
    if not isinstance(expires_on, dt.date):
        raise DosingError("expires_on", "a date is needed")
    if expires_on < now.astimezone(site.zone).date():
        raise DosingError("expires_on", f"the lot expired on {expires_on:%Y-%m-%d}; expired stock is not received")
    per_unit = _mg("mg_per_unit", mg_per_unit)
    if per_unit > MAX_MG_PER_UNIT:
        raise DosingError("mg_per_unit", f"more than 0 and at most {MAX_MG_PER_UNIT} mg")
    if isinstance(units, bool) or not isinstance(units, int) or not 1 <= units <= MAX_UNITS:
        raise DosingError("units", f"a whole number from 1 to {MAX_UNITS}")
    concentration = None
    if drug == Drug.ESKETAMINE:
        if per_unit != ESKETAMINE_DEVICE_MG:
            raise DosingError("mg_per_unit", f"esketamine is counted in devices of {ESKETAMINE_DEVICE_MG:g} mg")
    else:
        if concentration_mg_per_ml in (None, ""):
            raise DosingError("concentration_mg_per_ml", "ketamine needs its concentration (mg/mL) from the label")
        concentration = _mg("concentration_mg_per_ml", concentration_mg_per_ml)
    lot = DrugLot.objects.select_for_update().filter(site=site, drug=drug, lot_number=lot_number).first()
    if lot is None:
        lot = DrugLot.objects.create(
            site=site,
            drug=drug,
            product=product,
            concentration_mg_per_ml=concentration,
            mg_per_unit=per_unit,
            lot_number=lot_number,
            expires_on=expires_on,
            received_at=when,
            received_by=by,
        )
        _audit(Action.CREATE, lot, site, by)
    elif (lot.expires_on, lot.mg_per_unit, lot.concentration_mg_per_ml) != (expires_on, per_unit, concentration):
        raise DosingError(
            "lot_number",
            f"lot {lot_number} is already on the log with another strength or expiry "
            f"({fmt_mg(lot.mg_per_unit)} mg per unit, expires {lot.expires_on:%Y-%m-%d}); check the label",
        )
    movement = LotMovement.objects.create(
        lot=lot, kind=K.RECEIVED, amount_mg=per_unit * units, at=when, by=by, reason=f"{units} units"
    )
    _audit(Action.CREATE, movement, site, by, lot_id=lot.pk, kind=K.RECEIVED)
    return movement


@transaction.atomic
def record_waste(
    lot: DrugLot,
    *,
    by: Any,
    witness: Any,
    witness_password: str,
    amount_mg: Decimal | float | int | str,
    reason: str,
    administration: DoseAdministration | None = None,
    at: dt.datetime | None = None,
) -> LotMovement:
    """Record drug drawn up or opened but not given as WASTED, witnessed (password-confirmed) by a second person.

    ``administration`` links waste to the dose it was drawn for (it must be from this lot). Refused when more than is
    on hand, without a reason, or with an invalid witness.
    """
    lot = _locked(lot)
    _require_site(by, lot.site)
    amount = _mg("amount_mg", amount_mg)
    text = _text("reason", reason)
    when = _when("at", at, timezone.now())
    if administration is not None and administration.lot_id != lot.pk:
        raise DosingError("lot", "waste of a dose is recorded against the lot the dose was drawn from")
    confirm_witness(witness, witness_password, by=by, site=lot.site)
    return take(lot, K.WASTED, amount, by=by, at=when, witness=witness, administration=administration, reason=text)


@transaction.atomic
def return_stock(
    lot: DrugLot, *, by: Any, amount_mg: Decimal | float | int | str, reason: str, at: dt.datetime | None = None
) -> LotMovement:
    """Return stock of a lot to the supplier or a reverse distributor (expired, recalled, damaged), saying why."""
    lot = _locked(lot)
    _require_site(by, lot.site)
    amount = _mg("amount_mg", amount_mg)
    text = _text("reason", reason)
    when = _when("at", at, timezone.now())
    return take(lot, K.RETURNED, amount, by=by, at=when, reason=text)


@transaction.atomic
def count_lot(
    lot: DrugLot,
    *,
    by: Any,
    witness: Any,
    witness_password: str,
    counted_mg: Decimal | float | int | str,
    note: str = "",
) -> LotCount:
    """A two-person count of a lot: what the log expects on hand and what was found.

    When they differ, the note must explain the discrepancy (at least :data:`MIN_REASON_CHARS` characters) and an
    adjustment movement (in or out, witnessed) brings the log to the count; the count keeps the discrepancy.
    """
    lot = _locked(lot)
    _require_site(by, lot.site)
    counted = _mg("counted_mg", counted_mg, allow_zero=True)
    confirm_witness(witness, witness_password, by=by, site=lot.site)
    expected = on_hand_mg(lot)
    now = timezone.now()
    text = (note or "").strip()
    if counted != expected:
        text = _text("note", note, minimum=MIN_REASON_CHARS)
    elif len(text) > 300:
        raise DosingError("note", "at most 300 characters")
    count = LotCount.objects.create(
        lot=lot, expected_mg=expected, counted_mg=counted, at=now, by=by, witness=witness, note=text
    )
    _audit(Action.CREATE, count, lot.site, by, lot_id=lot.pk, matched=counted == expected)
    if counted != expected:
        kind = K.ADJUSTMENT_IN if counted > expected else K.ADJUSTMENT_OUT
        movement = LotMovement.objects.create(
            lot=lot,
            kind=kind,
            amount_mg=abs(counted - expected),
            at=now,
            by=by,
            witness=witness,
            reason=f"Count {count.pk}: {text}"[:300],
        )
        _audit(Action.CREATE, movement, lot.site, by, lot_id=lot.pk, kind=kind, count_id=count.pk)
    return count


CSV_COLUMNS = (
    "lot_number",
    "drug",
    "product",
    "expires_on",
    "movement_id",
    "at_utc",
    "kind",
    "amount_mg",
    "signed_mg",
    "balance_mg",
    "by",
    "witness",
    "session_id",
    "reason",
)


def export_csv(site: Site, *, by: Any) -> str:
    """The site's whole log as CSV, one row per movement with the lot's running balance; audited as an export."""
    if not may_read(by) or not by.works_at(site):
        raise PermissionDenied("Your role does not allow reading the controlled-substance log.")
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    lots = list(DrugLot.objects.filter(site=site).order_by("drug", "lot_number"))
    rows = 0
    for lot in lots:
        for m in ledger(lot):
            session = m.administration.session_id if m.administration else ""
            writer.writerow(
                [
                    lot.lot_number,
                    lot.drug,
                    lot.product,
                    lot.expires_on.isoformat(),
                    m.pk,
                    m.at.astimezone(dt.UTC).isoformat(),
                    m.kind,
                    f"{m.amount_mg:.2f}",
                    f"{m.signed_amount_mg:.2f}",  # type: ignore[attr-defined]
                    f"{m.balance_mg:.2f}",  # type: ignore[attr-defined]
                    m.by.get_username(),
                    m.witness.get_username() if m.witness else "",
                    session,
                    m.reason,
                ]
            )
            rows += 1
    record(
        Action.EXPORT,
        object_type="dosing.druglot",
        site=site,
        user=by,
        detail={"format": "csv", "lots": len(lots), "rows": rows},
    )
    return out.getvalue()
