"""A realistic sample invoice (fictitious parties), for the demo, benchmarks and tests."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from .amounts import complete, line_amount
from .codes import TaxRate
from .document import Invoice, Line, LineKind, Party

SELLER = Party(
    name="CÔNG TY TNHH CÔNG NGHỆ SAO MAI (MẪU)", tax_code="0312345673",
    address="12 Đường Số 1, Phường Sài Gòn, Thành phố Hồ Chí Minh", phone="02838000000",
    email="ketoan@saomai.example.vn", bank_account="0011001234567",
    bank_name="Ngân hàng TMCP Ngoại thương Việt Nam",
)
BUYER = Party(
    name="CÔNG TY CỔ PHẦN THƯƠNG MẠI HỒNG HÀ (MẪU)", tax_code="0101234565",
    address="1 Phố Tràng Tiền, Phường Hoàn Kiếm, Hà Nội", code="KH0001", contact_name="Nguyễn Văn An",
    email="ap@hongha.example.vn",
)
_ITEMS = (
    ("Máy tính xách tay", "Chiếc", "18500000", "10%"),
    ("Dịch vụ cài đặt hệ thống", "Gói", "5000000", "8%"),
    ("Sách hướng dẫn sử dụng", "Cuốn", "150000", "KCT"),
    ("Hàng xuất khẩu", "Thùng", "2400000", "0%"),
    ("Màn hình 27 inch", "Chiếc", "6200000", "10%"),
)


def sample_invoice(issue_date: date | None = None, lines: int = 3, number: int | None = 1,
                   note: bool = True) -> Invoice:
    """A VAT invoice (template 1) of this year's series ``C<yy>TAA`` with ``lines`` goods lines."""
    issue_date = issue_date or date.today()
    items = []
    for i in range(lines):
        name, unit, price, rate = _ITEMS[i % len(_ITEMS)]
        qty = Decimal(1 + i % 7)
        items.append(Line(
            name=f"{name} #{i + 1}" if lines > len(_ITEMS) else name, code=f"SP{i + 1:04d}", unit=unit,
            quantity=qty, unit_price=Decimal(price), amount=line_amount(qty, Decimal(price)),
            tax_rate=TaxRate(rate),
        ))
    if note:
        items.append(Line(name="Hàng giao theo hợp đồng số 01/2026/HĐMB", kind=LineKind.NOTE))
    return complete(Invoice(
        template="1", symbol=f"C{issue_date.year % 100:02d}TAA", issue_date=issue_date, number=number,
        seller=SELLER, buyer=BUYER, lines=tuple(items), payment_method="TM/CK",
        provider_tax_code=SELLER.tax_code,
    ))
