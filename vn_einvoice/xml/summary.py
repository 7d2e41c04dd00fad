"""An invoice in a few lines of text, whatever its format (``vn-einvoice show``)."""

from __future__ import annotations

from decimal import Decimal

from ..document import Invoice
from .envelope import document_kind, read_envelope
from .legacy import legacy_summary, read_legacy
from .parse import read_tree


def _amount(value: Decimal | None) -> str:
    if value is None:
        return "-"
    return f"{Decimal(value).normalize():,f}".replace(",", " ")


def invoice_summary(invoice: Invoice) -> list[str]:
    """An ``HDon`` invoice as text: identity, parties, lines, breakdown, totals, tax authority code."""
    out = [
        f"{invoice.title or 'invoice'} (PBan {invoice.version or '-'})",
        f"  template {invoice.template}, symbol {invoice.symbol}, number {invoice.number or '-'}, "
        f"issued {invoice.issue_date or '-'}" + (f", MCCQT {invoice.authority_code}" if invoice.authority_code else ""),
        f"  seller: {invoice.seller.name or '-'} (MST {invoice.seller.tax_code or '-'}), {invoice.seller.address or '-'}",
        f"  buyer: {invoice.buyer.name or invoice.buyer.contact_name or '-'}"
        + (f" (MST {invoice.buyer.tax_code})" if invoice.buyer.tax_code else "")
        + (f", {invoice.buyer.address}" if invoice.buyer.address else ""),
    ]
    for i, ln in enumerate(invoice.lines, start=1):
        if ln.amount is None:
            out.append(f"  {ln.seq or i}. {ln.name}")
            continue
        qty = f"{_amount(ln.quantity)} {ln.unit} × {_amount(ln.unit_price)} = " if ln.quantity is not None else ""
        out.append(f"  {ln.seq or i}. {ln.name} — {qty}{_amount(ln.amount)}"
                   + (f" ({ln.tax_rate})" if ln.tax_rate is not None else ""))
    for b in invoice.tax_breakdown:
        out.append(f"  VAT {b.rate}: on {_amount(b.taxable_amount)}, {_amount(b.tax_amount)}")
    t = invoice.totals
    if t is not None:
        out.append(f"  total before VAT {_amount(t.total_before_tax)}, VAT {_amount(t.total_tax)}, "
                   f"total {_amount(t.total)} {invoice.currency}")
        if t.total_in_words:
            out.append(f"  in words: {t.total_in_words}")
    return out


def document_summary(root) -> list[str]:
    """The summary of an ``HDon``, of the invoice a ``TDiep`` carries, or of a pre-2022 ``inv:invoice``.
    Raises ``ValidationError`` naming what cannot be read."""
    kind = document_kind(root)
    if kind == "legacy":
        return legacy_summary(read_legacy(root))
    lines = invoice_summary(read_tree(root))
    if kind == "TDiep":
        env = read_envelope(root)
        lines.insert(0, f"message TDiep {env.message_type} ({env.description}) from {env.sender} to "
                        f"{env.receiver}, id {env.message_id}")
    return lines
