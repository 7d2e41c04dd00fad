"""Small invoice builders shared by the document, amounts, XML, JSON and CLI tests."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from vn_einvoice.amounts import complete
from vn_einvoice.codes import TaxRate
from vn_einvoice.document import Invoice, Line, LineKind, Party

# Valid check digits (python-stdnum): fictitious companies, not the research sample's 0312345678/0109876543.
SELLER_MST = "0312345673"
BUYER_MST = "0101234565"
PROVIDER_MST = "0100109106"
BRANCH_MST = "0100109106-001"

SELLER = Party(
    name="CÔNG TY TNHH GIẢI PHÁP MẪU", tax_code=SELLER_MST,
    address="12 Đường Số 1, Phường Sài Gòn, TP. Hồ Chí Minh",
)
BUYER = Party(name="CÔNG TY CỔ PHẦN KHÁCH HÀNG MẪU", tax_code=BUYER_MST, address="1 Phố Tràng Tiền, Hà Nội")
ISSUE = date(2026, 3, 15)


def D(value) -> Decimal:
    return Decimal(str(value))


def goods(name="Hàng A", quantity=1, price=100000, rate="10%", **kw) -> Line:
    q, p = D(quantity), D(price)
    kw.setdefault("amount", q * p - (kw.get("discount_amount") or 0))
    return Line(name, quantity=q, unit_price=p, tax_rate=TaxRate(rate) if rate else None, **kw)


def amount_line(name, amount, rate="10%", kind=LineKind.GOODS, **kw) -> Line:
    return Line(name, kind=kind, amount=D(amount), tax_rate=TaxRate(rate) if rate else None, **kw)


def note(text="Hàng giao theo hợp đồng số 01/2026/HĐMB") -> Line:
    return Line(text, kind=LineKind.NOTE)


def raw_invoice(lines=None, **kw) -> Invoice:
    """An invoice without computed totals (for tests of ``complete``/``check_amounts``)."""
    base = dict(
        template="1", symbol="C26TAA", issue_date=ISSUE, seller=SELLER, buyer=BUYER,
        lines=tuple(lines if lines is not None else [goods()]), number=123,
        payment_method="TM/CK", provider_tax_code=PROVIDER_MST,
    )
    base.update(kw)
    return Invoice(**base)


def make_invoice(lines=None, **kw) -> Invoice:
    """A complete, valid invoice (totals, breakdown, words, title and line numbers computed)."""
    return complete(raw_invoice(lines, **kw))
