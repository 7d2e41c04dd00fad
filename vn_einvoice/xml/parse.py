"""Read an ``HDon`` back into an :class:`~vn_einvoice.document.Invoice` (lossless for what we build)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from lxml import etree

from ..amounts import codes_template_needs_rate
from ..codes import TaxRate
from ..document import (
    ExtraField,
    Fee,
    IdKind,
    Invoice,
    Line,
    LineKind,
    Party,
    RelatedInvoice,
    RelatedInvoiceType,
    RelationKind,
    TaxBreakdown,
    Totals,
)
from ..errors import Problem, ValidationError
from ..xmlutil import parse_untrusted
from .envelope import invoice_of
from .schema import LINE_TAX_FIELD

ID_FIELD = "GiayToTuyThan"


class _Reader:
    def __init__(self):
        self.problems: list[Problem] = []

    def text(self, el, tag: str) -> str:
        if el is None:
            return ""
        child = el.find(tag)
        return (child.text or "").strip() if child is not None else ""

    def num(self, el, tag: str, path: str) -> Decimal | None:
        raw = self.text(el, tag)
        if not raw:
            return None
        try:
            value = Decimal(raw)
            if not value.is_finite():
                raise InvalidOperation
            return value
        except InvalidOperation:
            self.problems.append(Problem(f"{path}/{tag}", f"{raw!r} is not a number"))
            return None

    def int(self, el, tag: str, path: str) -> int | None:
        raw = self.text(el, tag)
        if not raw:
            return None
        if not raw.lstrip("-").isdigit():
            self.problems.append(Problem(f"{path}/{tag}", f"{raw!r} is not a whole number"))
            return None
        return int(raw)

    def date(self, el, tag: str, path: str) -> date | None:
        raw = self.text(el, tag)
        if not raw:
            return None
        try:
            return datetime.strptime(raw[:10], "%Y-%m-%d").date()
        except ValueError:
            self.problems.append(Problem(f"{path}/{tag}", f"{raw!r} is not a date (YYYY-MM-DD)"))
            return None

    def rate(self, el, tag: str, path: str) -> TaxRate | None:
        raw = self.text(el, tag)
        if not raw:
            return None
        try:
            return TaxRate(raw)
        except ValidationError as e:
            self.problems.append(Problem(f"{path}/{tag}", e.problems[0].message))
            return None

    def extra(self, el) -> tuple[ExtraField, ...]:
        if el is None:
            return ()
        out = []
        for ttin in el.findall("TTKhac/TTin"):
            out.append(ExtraField(self.text(ttin, "TTruong"), self.text(ttin, "DLieu"),
                                  self.text(ttin, "KDLieu") or "string"))
        return tuple(out)


def _party(r: _Reader, el, path: str, seller: bool) -> Party:
    extra = r.extra(el)
    id_kind, id_number = None, ""
    if not seller:
        if r.text(el, "CCCDan"):
            id_kind, id_number = IdKind.CITIZEN_ID, r.text(el, "CCCDan")
        elif r.text(el, "SHChieu"):
            id_kind, id_number = IdKind.PASSPORT, r.text(el, "SHChieu")
        for f in extra:
            if f.name == ID_FIELD and ":" in f.value:
                kind, number = f.value.split(":", 1)
                if kind in IdKind._value2member_map_:
                    id_kind, id_number = IdKind(kind), number
                    extra = tuple(x for x in extra if x is not f)
                break
    return Party(
        name=r.text(el, "Ten"), tax_code=r.text(el, "MST"), address=r.text(el, "DChi"),
        phone=r.text(el, "SDThoai"), email=r.text(el, "DCTDTu"), bank_account=r.text(el, "STKNHang"),
        bank_name=r.text(el, "TNHang"), fax=r.text(el, "Fax"), website=r.text(el, "Website"),
        code=r.text(el, "MKHang"), contact_name=r.text(el, "HVTNMHang"),
        budget_unit_code=r.text(el, "MDVQHNSach"), id_kind=id_kind, id_number=id_number,
        store_code=r.text(el, "MCHang"), store_name=r.text(el, "TCHang"), extra=extra,
    )


# Documented cap (issue 11): an invoice of more lines is refused, not read, so that reading, validating and
# verifying stay bounded whatever arrives under the 2 MB limit. Real invoices hold far fewer lines.
MAX_LINES = 10_000
LINES_PATH = "HDon/DLHDon/NDHDon/DSHHDVu"


def line_cap_problem(root: etree._Element) -> Problem | None:
    """A problem when ``root`` (an ``HDon``) holds more than :data:`MAX_LINES` lines (``HHDVu``), else None."""
    lines = root.find("DLHDon/NDHDon/DSHHDVu")
    count = 0 if lines is None else sum(1 for _ in lines.iterchildren("HHDVu"))
    if count <= MAX_LINES:
        return None
    return Problem(LINES_PATH, f"{count} lines (HHDVu): at most {MAX_LINES} are accepted; the document is refused")


def read_tree(root: etree._Element) -> Invoice:
    """Invoice of an ``HDon`` element, or of the one a ``TDiep`` message carries; raises
    ``ValidationError`` listing every unreadable value."""
    r = _Reader()
    if root.tag == "TDiep":
        root = invoice_of(root)
    if root.tag != "HDon":
        raise ValidationError.at(root.tag, f"the root element is {root.tag!r}, expected 'HDon'")
    dl = root.find("DLHDon")
    if dl is None:
        raise ValidationError.at("HDon/DLHDon", "element is missing")
    too_many = line_cap_problem(root)
    if too_many is not None:
        raise ValidationError([too_many])
    p_tt = "HDon/DLHDon/TTChung"
    tt = dl.find("TTChung")
    nd = dl.find("NDHDon")
    if tt is None or nd is None:
        raise ValidationError.at("HDon/DLHDon", "TTChung and NDHDon are required")
    rel_el = tt.find("TTHDLQuan")
    related = None
    if rel_el is not None:
        p_rel = f"{p_tt}/TTHDLQuan"
        tch = r.int(rel_el, "TCHDon", p_rel)
        lhd = r.int(rel_el, "LHDCLQuan", p_rel) or 1
        try:
            relation = RelationKind(tch)
            inv_type = RelatedInvoiceType(lhd)
        except ValueError:
            r.problems.append(Problem(p_rel, f"TCHDon={tch!r}/LHDCLQuan={lhd!r} are not known values"))
        else:
            related = RelatedInvoice(
                relation=relation, invoice_type=inv_type, template=r.text(rel_el, "KHMSHDCLQuan"),
                symbol=r.text(rel_el, "KHHDCLQuan"), number=r.text(rel_el, "SHDCLQuan"),
                issue_date=r.date(rel_el, "NLHDCLQuan", p_rel), note=r.text(rel_el, "GChu"),
                list_number=r.text(rel_el, "SBKCLQuan"), list_date=r.date(rel_el, "NBKCLQuan", p_rel),
            )
    lines = []
    p_lines = "HDon/DLHDon/NDHDon/DSHHDVu/HHDVu"
    for i, h in enumerate(nd.findall("DSHHDVu/HHDVu"), start=1):
        p = f"{p_lines}[{i}]"
        kind_raw = r.int(h, "TChat", p) or 1
        try:
            kind = LineKind(kind_raw)
        except ValueError:
            r.problems.append(Problem(f"{p}/TChat", f"{kind_raw} is not a line nature (1 to 4)"))
            kind = LineKind.GOODS
        extra = r.extra(h)
        tax_amount = None
        for f in extra:
            if f.name == LINE_TAX_FIELD:
                try:
                    tax_amount = Decimal(f.value)
                except InvalidOperation:
                    continue
                extra = tuple(x for x in extra if x is not f)
                break
        lines.append(Line(
            name=r.text(h, "THHDVu"), kind=kind, code=r.text(h, "MHHDVu"), unit=r.text(h, "DVTinh"),
            quantity=r.num(h, "SLuong", p), unit_price=r.num(h, "DGia", p),
            discount_rate=r.num(h, "TLCKhau", p), discount_amount=r.num(h, "STCKhau", p),
            amount=r.num(h, "ThTien", p), tax_rate=r.rate(h, "TSuat", p), tax_amount=tax_amount,
            seq=r.int(h, "STT", p), extra=extra,
        ))
    to = nd.find("TToan")
    p_to = "HDon/DLHDon/NDHDon/TToan"
    breakdown = []
    totals = None
    if to is not None:
        for j, lt in enumerate(to.findall("THTTLTSuat/LTSuat"), start=1):
            p = f"{p_to}/THTTLTSuat/LTSuat[{j}]"
            rate = r.rate(lt, "TSuat", p)
            if rate is not None:
                breakdown.append(TaxBreakdown(rate, r.num(lt, "ThTien", p) or Decimal(0), r.num(lt, "TThue", p)))
        fees = tuple(
            Fee(r.text(lp, "TLPhi"), r.num(lp, "TPhi", f"{p_to}/DSLPhi/LPhi") or Decimal(0))
            for lp in to.findall("DSLPhi/LPhi")
        )
        before = r.num(to, "TgTCThue", p_to)
        if before is None and not codes_template_needs_rate(r.text(tt, "KHMSHDon")):
            # A sales invoice (template 2, no VAT) may leave out TgTCThue and TgTThue (conditional in the
            # field tables: real cash-register invoices of household businesses do, CA2 2025): its amount
            # before tax is its lines' amount, its VAT none; the grand total is still checked against them.
            before = sum((ln.signed_amount for ln in lines if ln.counts_in_totals), Decimal(0))
        totals = Totals(
            total_before_tax=before or Decimal(0),
            total_tax=r.num(to, "TgTThue", p_to) or Decimal(0),
            total=r.num(to, "TgTTTBSo", p_to) or Decimal(0),
            total_in_words=r.text(to, "TgTTTBChu"),
            total_discount=r.num(to, "TTCKTMai", p_to), fees=fees,
            total_non_taxable_deduction=r.num(to, "TGTKCThue", p_to),
            total_other_deduction=r.num(to, "TGTKhac", p_to), extra=r.extra(to),
        )
    mccqt = root.find("MCCQT")
    issue_date = r.date(tt, "NLap", p_tt)
    if issue_date is None and not r.problems:
        r.problems.append(Problem(f"{p_tt}/NLap", "issue date is missing"))
    if r.problems:
        raise ValidationError(r.problems)
    return Invoice(
        template=r.text(tt, "KHMSHDon"), symbol=r.text(tt, "KHHDon"), issue_date=issue_date,
        seller=_party(r, nd.find("NBan"), "NBan", True), buyer=_party(r, nd.find("NMua"), "NMua", False),
        lines=tuple(lines), totals=totals, tax_breakdown=tuple(breakdown),
        number=r.int(tt, "SHDon", p_tt), title=r.text(tt, "THDon"), currency=r.text(tt, "DVTTe") or "VND",
        exchange_rate=r.num(tt, "TGia", p_tt), payment_method=r.text(tt, "HTTToan"),
        provider_tax_code=r.text(tt, "MSTTCGP"), related=related, version=r.text(tt, "PBan"),
        financial_leasing=r.text(tt, "HDCTTChinh") == "1", list_number=r.text(tt, "SBKe"),
        list_date=r.date(tt, "NBKe", p_tt), tax_office_code=r.text(tt, "MHSo"),
        delegated_tax_code=r.text(tt, "MSTDVNUNLHDon"), delegated_name=r.text(tt, "TDVNUNLHDon"),
        delegated_address=r.text(tt, "DCDVNUNLHDon"), extra=r.extra(tt),
        data_id=dl.get("Id", ""), qr_payload=r.text(root, "DLQRCode"),
        authority_code=(mccqt.text or "").strip() if mccqt is not None else "",
        authority_code_id=mccqt.get("Id", "") if mccqt is not None else "",
    )


def parse_xml(data: bytes | str) -> Invoice:
    """Parse untrusted ``HDon`` bytes, or a ``TDiep`` carrying one (size-limited, no entities, no
    network), into an invoice."""
    return read_tree(parse_untrusted(data).getroot())
