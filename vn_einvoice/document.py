"""The e-invoice as data: frozen dataclasses every other room of the library speaks.

Amounts are ``Decimal``. Sequences are tuples. Nothing here knows XML, HTTP or an ERP.
Field comments give the ``HDon`` tag of Decision 1271/QĐ-CT each field maps to.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal

from .codes import TaxRate

DEFAULT_VERSION = "2.1.0"
SUPPORTED_VERSIONS = ("2.0.0", "2.0.1", "2.1.0")


class LineKind(enum.IntEnum):
    """``TChat``: nature of a line."""

    GOODS = 1  # hàng hóa, dịch vụ
    PROMOTION = 2  # khuyến mại
    DISCOUNT = 3  # chiết khấu thương mại
    NOTE = 4  # ghi chú, diễn giải


class RelationKind(enum.IntEnum):
    """``TCHDon``: how an invoice relates to the one it corrects."""

    REPLACEMENT = 1  # thay thế
    ADJUSTMENT = 2  # điều chỉnh


class RelatedInvoiceType(enum.IntEnum):
    """``LHDCLQuan`` (Appendix VI): which regime the corrected invoice was issued under."""

    DECREE_123 = 1  # e-invoice under Decree 123/2020
    LEGACY_CODED = 2  # Decree 51/04 e-invoice with an authentication code (QĐ 1209/2660)
    LEGACY_OTHER = 3  # other Decree 51/04 invoices (e.g. 01GTKT0/001, AA/17E)
    PRINTED_DECREE_123 = 4  # paper invoice bought from the tax office under Decree 123


class IdKind(str, enum.Enum):
    """Identity document of an individual buyer."""

    CITIZEN_ID = "CCCD"  # 12-digit citizen identity card (also the personal tax code since 07/2025)
    PASSPORT = "PASSPORT"
    OTHER = "OTHER"


@dataclass(frozen=True)
class ExtraField:
    """One ``TTKhac/TTin`` entry: free-form field (name, type, value)."""

    name: str  # TTruong
    value: str  # DLieu
    type: str = "string"  # KDLieu: string | numeric | dateTime | date


@dataclass(frozen=True)
class Party:
    """Seller (``NBan``) or buyer (``NMua``).

    A company has a tax code (``0100109106`` or branch ``0100109106-001``); an individual may have a
    12-digit personal tax code or an identity document; a foreign buyer may have neither.
    """

    name: str = ""  # Ten
    tax_code: str = ""  # MST
    address: str = ""  # DChi
    phone: str = ""  # SDThoai
    email: str = ""  # DCTDTu
    bank_account: str = ""  # STKNHang
    bank_name: str = ""  # TNHang
    fax: str = ""  # Fax (seller)
    website: str = ""  # Website (seller)
    code: str = ""  # MKHang (buyer's customer code)
    contact_name: str = ""  # HVTNMHang (buyer's purchaser name)
    budget_unit_code: str = ""  # MDVQHNSach (2.1.0, state-budget units)
    id_kind: IdKind | None = None  # CCCDan / SHChieu (2.1.0)
    id_number: str = ""
    store_code: str = ""  # MCHang (2.1.0, seller's store)
    store_name: str = ""  # TCHang (2.1.0)
    country_code: str = ""  # ISO 3166 alpha-2; not in HDon, used by providers
    extra: tuple[ExtraField, ...] = ()

    @property
    def is_company(self) -> bool:
        return bool(self.tax_code) and len(self.tax_code.replace("-", "")) in (10, 13)

    @property
    def is_foreign(self) -> bool:
        return bool(self.country_code) and self.country_code.upper() != "VN"


@dataclass(frozen=True)
class Line:
    """One line of ``DSHHDVu/HHDVu``.

    ``amount`` (``ThTien``) is before VAT and after the line discount. Decreases on an adjustment
    invoice have a negative amount, unit price, discount amount and VAT; the quantity stays
    positive. Note lines (``TChat`` 4) carry only a text.
    """

    name: str  # THHDVu
    kind: LineKind = LineKind.GOODS  # TChat
    code: str = ""  # MHHDVu
    unit: str = ""  # DVTinh
    quantity: Decimal | None = None  # SLuong
    unit_price: Decimal | None = None  # DGia
    discount_rate: Decimal | None = None  # TLCKhau (%)
    discount_amount: Decimal | None = None  # STCKhau
    amount: Decimal | None = None  # ThTien
    tax_rate: TaxRate | None = None  # TSuat
    tax_amount: Decimal | None = None  # line VAT (not a HDon tag; TTKhac "TienThue" / providers)
    seq: int | None = None  # STT
    extra: tuple[ExtraField, ...] = ()

    @property
    def counts_in_totals(self) -> bool:
        """Goods and discounts make the totals; promotions (free goods) and notes do not."""
        return self.kind in (LineKind.GOODS, LineKind.DISCOUNT)

    @property
    def signed_amount(self) -> Decimal:
        """Contribution to the taxable amount: discounts reduce it."""
        amount = self.amount or Decimal(0)
        return -amount if self.kind is LineKind.DISCOUNT else amount


@dataclass(frozen=True)
class TaxBreakdown:
    """``THTTLTSuat/LTSuat``: taxable amount and VAT for one rate."""

    rate: TaxRate  # TSuat
    taxable_amount: Decimal  # ThTien
    tax_amount: Decimal | None = None  # TThue (absent for KCT/KKKNT)


@dataclass(frozen=True)
class Fee:
    """``DSLPhi/LPhi``: a fee or charge outside VAT."""

    name: str  # TLPhi
    amount: Decimal  # TPhi


@dataclass(frozen=True)
class Totals:
    """``TToan``."""

    total_before_tax: Decimal  # TgTCThue
    total_tax: Decimal  # TgTThue
    total: Decimal  # TgTTTBSo
    total_in_words: str  # TgTTTBChu
    total_discount: Decimal | None = None  # TTCKTMai
    fees: tuple[Fee, ...] = ()  # DSLPhi
    total_non_taxable_deduction: Decimal | None = None  # TGTKCThue (2.0.1+)
    total_other_deduction: Decimal | None = None  # TGTKhac (2.0.1+)
    extra: tuple[ExtraField, ...] = ()


@dataclass(frozen=True)
class RelatedInvoice:
    """``TTHDLQuan``: the invoice this one replaces or adjusts.

    When one invoice corrects several (Decree 70/2025), ``list_number``/``list_date`` name the
    list 01/BK-ĐCTT (``SBKCLQuan``/``NBKCLQuan``) and ``invoices`` may hold the ones listed.
    """

    relation: RelationKind  # TCHDon
    template: str = ""  # KHMSHDCLQuan
    symbol: str = ""  # KHHDCLQuan
    number: str = ""  # SHDCLQuan
    issue_date: date | None = None  # NLHDCLQuan
    invoice_type: RelatedInvoiceType = RelatedInvoiceType.DECREE_123  # LHDCLQuan
    note: str = ""  # GChu
    list_number: str = ""  # SBKCLQuan (2.1.0)
    list_date: date | None = None  # NBKCLQuan (2.1.0)
    invoices: tuple[RelatedInvoice, ...] = ()  # the invoices on the list, when there are several

    def reference_text(self) -> str:
        """The sentence printed on the invoice: "Điều chỉnh cho hóa đơn Mẫu số 1, ký hiệu C26TAA, số 12, ngày …"."""
        verb = "Thay thế" if self.relation is RelationKind.REPLACEMENT else "Điều chỉnh"
        if self.list_number and not self.number:
            when = f" ngày {self.list_date:%d/%m/%Y}" if self.list_date else ""
            return f"{verb} cho các hóa đơn theo bảng kê số {self.list_number}{when}"
        when = f", ngày {self.issue_date:%d/%m/%Y}" if self.issue_date else ""
        return f"{verb} cho hóa đơn Mẫu số {self.template}, ký hiệu {self.symbol}, số {self.number}{when}"


@dataclass(frozen=True)
class Invoice:
    """One e-invoice (``HDon``). Build one with :func:`vn_einvoice.amounts.complete` to fill totals."""

    template: str  # KHMSHDon
    symbol: str  # KHHDon
    issue_date: date  # NLap
    seller: Party  # NBan
    buyer: Party  # NMua
    lines: tuple[Line, ...]  # DSHHDVu
    totals: Totals | None = None  # TToan
    tax_breakdown: tuple[TaxBreakdown, ...] = ()  # THTTLTSuat
    number: int | None = None  # SHDon (None until the invoice is numbered)
    title: str = ""  # THDon (defaults from the template)
    currency: str = "VND"  # DVTTe
    exchange_rate: Decimal | None = None  # TGia
    payment_method: str = ""  # HTTToan, free text such as "TM/CK"
    provider_tax_code: str = ""  # MSTTCGP
    related: RelatedInvoice | None = None  # TTHDLQuan
    version: str = DEFAULT_VERSION  # PBan
    financial_leasing: bool = False  # HDCTTChinh (2.1.0)
    list_number: str = ""  # SBKe
    list_date: date | None = None  # NBKe
    tax_office_code: str = ""  # MHSo (per-occurrence invoices)
    delegated_tax_code: str = ""  # MSTDVNUNLHDon
    delegated_name: str = ""  # TDVNUNLHDon
    delegated_address: str = ""  # DCDVNUNLHDon
    extra: tuple[ExtraField, ...] = ()  # TTChung/TTKhac
    data_id: str = "data"  # DLHDon/@Id
    qr_payload: str = ""  # DLQRCode
    authority_code: str = ""  # MCCQT (set by the tax authority on coded invoices)
    authority_code_id: str = ""  # MCCQT/@Id
    meta: dict = field(default_factory=dict, compare=False, hash=False, repr=False)

    @property
    def is_adjustment(self) -> bool:
        return self.related is not None and self.related.relation is RelationKind.ADJUSTMENT

    @property
    def is_replacement(self) -> bool:
        return self.related is not None and self.related.relation is RelationKind.REPLACEMENT

    @property
    def is_foreign_currency(self) -> bool:
        return self.currency.upper() != "VND"

    def with_number(self, number: int) -> Invoice:
        return replace(self, number=number)

    def replace(self, **changes) -> Invoice:
        return replace(self, **changes)
