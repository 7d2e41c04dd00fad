"""Invoices listed by a provider for a period, matched to the invoices an ERP holds, with the differences.

:func:`reconcile` matches each listed invoice (:class:`~vn_einvoice.providers.base.ListedInvoice`, from
``Provider.invoices_between``) to a local one by the transaction key (SInvoice ``transactionUuid``, VNPT
fkey), else by series and number, else by the provider's full number; then says, in words an accountant
understands (English and Vietnamese), what differs: issued at the provider but unknown here, recorded
here but not at the provider, totals that differ.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from .providers.base import ListedInvoice

__all__ = ["DifferenceKind", "Difference", "LocalInvoice", "Reconciliation", "reconcile"]


@dataclass(frozen=True)
class LocalInvoice:
    """What the ERP holds of an invoice issued through the provider."""

    id: Any  # the ERP's own id (an account.move id)
    invoice_no: str = ""  # the provider's full number as stored
    symbol: str = ""
    number: int | None = None
    transaction_uuid: str = ""
    total: Decimal | None = None
    name: str = ""  # shown in the differences


class DifferenceKind(str, enum.Enum):
    UNKNOWN_HERE = "unknown_here"  # at the provider, not in the ERP
    MISSING_THERE = "missing_there"  # in the ERP, not in the provider's list of the period
    AMOUNT = "amount"  # both, totals differ


@dataclass(frozen=True)
class Difference:
    kind: DifferenceKind
    message: str
    message_vi: str
    listed: ListedInvoice | None = None
    local: LocalInvoice | None = None


@dataclass(frozen=True)
class Reconciliation:
    matched: tuple[tuple[LocalInvoice, ListedInvoice], ...]
    differences: tuple[Difference, ...]

    @property
    def ok(self) -> bool:
        return not self.differences


def _key(text: str) -> str:
    return re.sub(r"[^0-9a-z]", "", str(text or "").lower())


def _dec(value) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def reconcile(listed: Iterable[ListedInvoice], local: Iterable[LocalInvoice], *,
              tolerance: Decimal = Decimal(0)) -> Reconciliation:
    """Match the provider's invoices of a period to the local ones; list what differs."""
    local = list(local)
    by_key = {_key(x.transaction_uuid): x for x in local if x.transaction_uuid}
    by_number = {(x.symbol, x.number): x for x in local if x.symbol and x.number is not None}
    by_no = {_key(x.invoice_no): x for x in local if x.invoice_no}
    matched, differences, used = [], [], set()
    for row in listed:
        found = (by_key.get(_key(row.transaction_uuid)) if row.transaction_uuid else None) \
            or (by_number.get((row.symbol, row.number)) if row.number is not None else None) \
            or by_no.get(_key(row.invoice_no))
        if found is None or id(found) in used:
            differences.append(Difference(
                DifferenceKind.UNKNOWN_HERE,
                f"Invoice {row.invoice_no} ({row.template}) of {row.issued_at:%d/%m/%Y} was issued at the provider "
                f"but is not recorded here" if row.issued_at else
                f"Invoice {row.invoice_no} ({row.template}) was issued at the provider but is not recorded here",
                f"Hóa đơn {row.invoice_no} ({row.template}) đã phát hành tại nhà cung cấp nhưng chưa được ghi nhận "
                f"ở đây", listed=row))
            continue
        used.add(id(found))
        matched.append((found, row))
        theirs, ours = _dec(row.total), _dec(found.total)
        if theirs is not None and ours is not None and abs(theirs - ours) > tolerance:
            differences.append(Difference(
                DifferenceKind.AMOUNT,
                f"Invoice {row.invoice_no} ({found.name or found.id}): total {theirs:,} at the provider, {ours:,} here",
                f"Hóa đơn {row.invoice_no} ({found.name or found.id}): tổng tiền {theirs:,} tại nhà cung cấp, "
                f"{ours:,} ở đây", listed=row, local=found))
    for x in local:
        if id(x) not in used:
            differences.append(Difference(
                DifferenceKind.MISSING_THERE,
                f"Invoice {x.invoice_no or x.name} is recorded here as issued but the provider does not list it "
                "for the period",
                f"Hóa đơn {x.invoice_no or x.name} được ghi nhận đã phát hành nhưng nhà cung cấp không có trong kỳ",
                local=x))
    return Reconciliation(tuple(matched), tuple(differences))
