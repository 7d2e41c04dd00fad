"""Build the ``HDon`` XML of an invoice (Decision 1271/QĐ-CT, PBan 2.1.0; 2.0.1 selectable)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from lxml import etree

from ..codes import template_title
from ..document import SUPPORTED_VERSIONS, ExtraField, IdKind, Invoice, LineKind, Party
from ..errors import Problem, ValidationError, errors_only
from .schema import LINE_TAX_FIELD
from .validate import check_invoice, validate_tree


def fmt_num(value: Decimal | int) -> str:
    """Plain decimal: no exponent, no thousands separator, no trailing zeros (``1500000``, ``1.5``)."""
    d = Decimal(value)
    if d == 0:
        return "0"  # never "-0"
    if d == d.to_integral_value():
        return str(d.quantize(Decimal(1)))
    text = f"{d.normalize():f}"
    return text


def fmt_date(value: date) -> str:
    return value.strftime("%Y-%m-%d")


def _sub(parent, tag: str, value) -> None:
    """Append ``<tag>value</tag>`` unless the value is empty (optional empty tags are not written)."""
    if value is None or value == "":
        return
    el = etree.SubElement(parent, tag)
    if isinstance(value, bool):
        el.text = "1" if value else "0"
    elif isinstance(value, (Decimal, int)):
        el.text = fmt_num(value)
    elif isinstance(value, date):
        el.text = fmt_date(value)
    else:
        try:
            el.text = str(value)
        except ValueError:  # lxml: a control character or NUL, which XML 1.0 cannot carry
            path = "/".join(a.tag for a in reversed([el, *el.iterancestors()]))
            bad = sorted({f"U+{ord(c):04X}" for c in str(value) if ord(c) < 0x20 and c not in "\t\n\r"})
            raise ValidationError.at(path, f"contains a character an XML invoice cannot carry ({', '.join(bad) or 'NUL'}):"
                                           " remove it from the text") from None


def _extra(parent, extra: tuple[ExtraField, ...]) -> None:
    if not extra:
        return
    ttkhac = etree.SubElement(parent, "TTKhac")
    for f in extra:
        ttin = etree.SubElement(ttkhac, "TTin")
        _sub(ttin, "TTruong", f.name)
        _sub(ttin, "KDLieu", f.type)
        etree.SubElement(ttin, "DLieu").text = f.value


def _version_problems(invoice: Invoice) -> list[Problem]:
    if invoice.version not in SUPPORTED_VERSIONS:
        return [Problem("HDon/DLHDon/TTChung/PBan",
                        f"version {invoice.version!r} is not supported: use one of {', '.join(SUPPORTED_VERSIONS)}")]
    if invoice.version == "2.1.0":
        return []
    only21 = []
    t = invoice.totals
    if invoice.version == "2.0.0" and t is not None:
        for tag, value in (("TGTKCThue", t.total_non_taxable_deduction), ("TGTKhac", t.total_other_deduction)):
            if value is not None:
                only21.append(Problem(f"HDon/DLHDon/NDHDon/TToan/{tag}", "this field exists only from version 2.0.1"))
    b, s, rel = invoice.buyer, invoice.seller, invoice.related
    # An identity document of kind OTHER has no tag in any version: it goes to TTKhac, as in 2.1.0.
    id_tag = {IdKind.CITIZEN_ID: "CCCDan", IdKind.PASSPORT: "SHChieu"}.get(b.id_kind)
    for path, value in (
        ("NDHDon/NMua/MDVQHNSach", b.budget_unit_code),
        (f"NDHDon/NMua/{id_tag}", b.id_number if id_tag else ""),
        ("NDHDon/NBan/MCHang", s.store_code), ("NDHDon/NBan/TCHang", s.store_name),
        ("TTChung/TTHDLQuan/SBKCLQuan", rel.list_number if rel else ""),
        ("TTChung/TTHDLQuan/NBKCLQuan", rel.list_date if rel else None),
    ):
        if value:
            only21.append(Problem(f"HDon/DLHDon/{path}", f"this field exists only in version 2.1.0, not {invoice.version}"))
    if invoice.financial_leasing:
        only21.append(Problem("HDon/DLHDon/TTChung/HDCTTChinh", "financial-leasing invoices need version 2.1.0"))
    return only21


def _party(parent, tag: str, p: Party, version: str, seller: bool) -> None:
    el = etree.SubElement(parent, tag)
    v21 = version == "2.1.0"
    _sub(el, "Ten", p.name)
    _sub(el, "MST", p.tax_code)
    if seller:
        _sub(el, "DChi", p.address)
        if v21:
            _sub(el, "MCHang", p.store_code)
            _sub(el, "TCHang", p.store_name)
        _sub(el, "SDThoai", p.phone)
        _sub(el, "DCTDTu", p.email)
        _sub(el, "STKNHang", p.bank_account)
        _sub(el, "TNHang", p.bank_name)
        _sub(el, "Fax", p.fax)
        _sub(el, "Website", p.website)
    else:
        if v21:
            _sub(el, "MDVQHNSach", p.budget_unit_code)
        _sub(el, "DChi", p.address)
        _sub(el, "MKHang", p.code)
        _sub(el, "SDThoai", p.phone)
        if v21 and p.id_kind is not None:
            if p.id_kind is IdKind.CITIZEN_ID:
                _sub(el, "CCCDan", p.id_number)
            elif p.id_kind is IdKind.PASSPORT:
                _sub(el, "SHChieu", p.id_number)
        _sub(el, "DCTDTu", p.email)
        _sub(el, "HVTNMHang", p.contact_name)
        _sub(el, "STKNHang", p.bank_account)
        _sub(el, "TNHang", p.bank_name)
    extra = p.extra
    if not seller and p.id_kind is not None and (not v21 or p.id_kind.value == "OTHER"):
        # No tag for this identity document in this version: keep it in TTKhac.
        extra = (*extra, ExtraField("GiayToTuyThan", f"{p.id_kind.value}:{p.id_number}"))
    _extra(el, extra)


def build_tree(invoice: Invoice) -> etree._Element:
    """The ``HDon`` element (no namespace), children in the decision's order. No checks: see ``build_xml``."""
    v = invoice.version
    root = etree.Element("HDon")
    dl = etree.SubElement(root, "DLHDon", Id=invoice.data_id)
    tt = etree.SubElement(dl, "TTChung")
    _sub(tt, "PBan", v)
    _sub(tt, "THDon", invoice.title or template_title(invoice.template, invoice.symbol))
    _sub(tt, "KHMSHDon", invoice.template)
    _sub(tt, "KHHDon", invoice.symbol)
    _sub(tt, "SHDon", invoice.number)
    _sub(tt, "MHSo", invoice.tax_office_code)
    _sub(tt, "NLap", invoice.issue_date)
    if v == "2.1.0":
        _sub(tt, "HDCTTChinh", 1 if invoice.financial_leasing else 0)
    _sub(tt, "SBKe", invoice.list_number)
    _sub(tt, "NBKe", invoice.list_date)
    _sub(tt, "DVTTe", invoice.currency)
    _sub(tt, "TGia", invoice.exchange_rate)
    _sub(tt, "HTTToan", invoice.payment_method)
    _sub(tt, "MSTTCGP", invoice.provider_tax_code)
    _sub(tt, "MSTDVNUNLHDon", invoice.delegated_tax_code)
    _sub(tt, "TDVNUNLHDon", invoice.delegated_name)
    _sub(tt, "DCDVNUNLHDon", invoice.delegated_address)
    rel = invoice.related
    if rel is not None:
        r = etree.SubElement(tt, "TTHDLQuan")
        _sub(r, "TCHDon", int(rel.relation))
        _sub(r, "LHDCLQuan", int(rel.invoice_type))
        _sub(r, "KHMSHDCLQuan", rel.template)
        _sub(r, "KHHDCLQuan", rel.symbol)
        _sub(r, "SHDCLQuan", rel.number)
        _sub(r, "NLHDCLQuan", rel.issue_date)
        _sub(r, "GChu", rel.note)
        if v == "2.1.0":
            _sub(r, "SBKCLQuan", rel.list_number)
            _sub(r, "NBKCLQuan", rel.list_date)
    _extra(tt, invoice.extra)

    nd = etree.SubElement(dl, "NDHDon")
    _party(nd, "NBan", invoice.seller, v, seller=True)
    _party(nd, "NMua", invoice.buyer, v, seller=False)
    ds = etree.SubElement(nd, "DSHHDVu")
    for line in invoice.lines:
        h = etree.SubElement(ds, "HHDVu")
        _sub(h, "TChat", int(line.kind))
        _sub(h, "STT", line.seq)
        _sub(h, "MHHDVu", line.code)
        _sub(h, "THHDVu", line.name)
        _sub(h, "DVTinh", line.unit)
        _sub(h, "SLuong", line.quantity)
        _sub(h, "DGia", line.unit_price)
        _sub(h, "TLCKhau", line.discount_rate)
        _sub(h, "STCKhau", line.discount_amount)
        if line.kind is not LineKind.NOTE or line.amount is not None:
            _sub(h, "ThTien", line.amount)
        _sub(h, "TSuat", line.tax_rate.code if line.tax_rate else None)
        extra = line.extra
        if line.tax_amount is not None:
            extra = (*extra, ExtraField(LINE_TAX_FIELD, fmt_num(line.tax_amount), "numeric"))
        _extra(h, extra)

    t = invoice.totals
    to = etree.SubElement(nd, "TToan")
    if invoice.tax_breakdown:
        th = etree.SubElement(to, "THTTLTSuat")
        for b in invoice.tax_breakdown:
            lt = etree.SubElement(th, "LTSuat")
            _sub(lt, "TSuat", b.rate.code)
            _sub(lt, "ThTien", b.taxable_amount)
            _sub(lt, "TThue", b.tax_amount)
    if t is not None:
        _sub(to, "TgTCThue", t.total_before_tax)
        _sub(to, "TgTThue", t.total_tax)
        if v != "2.0.0":
            _sub(to, "TGTKCThue", t.total_non_taxable_deduction)
        if t.fees:
            dsl = etree.SubElement(to, "DSLPhi")
            for fee in t.fees:
                lp = etree.SubElement(dsl, "LPhi")
                _sub(lp, "TLPhi", fee.name)
                _sub(lp, "TPhi", fee.amount)
        _sub(to, "TTCKTMai", t.total_discount)
        if v != "2.0.0":
            _sub(to, "TGTKhac", t.total_other_deduction)
        _sub(to, "TgTTTBSo", t.total)
        _sub(to, "TgTTTBChu", t.total_in_words)
        _extra(to, t.extra)

    _sub(root, "DLQRCode", invoice.qr_payload)
    if invoice.authority_code:
        mc = etree.SubElement(root, "MCCQT")
        if invoice.authority_code_id:
            mc.set("Id", invoice.authority_code_id)
        mc.text = invoice.authority_code
    dscks = etree.SubElement(root, "DSCKS")
    for tag in ("NBan", "NMua", "CCKSKhac"):
        etree.SubElement(dscks, tag)
    return root


def serialize(root: etree._Element) -> bytes:
    """UTF-8 with declaration, no pretty-printing (whitespace between tags must not exist before signing)."""
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def build_xml(invoice: Invoice, *, check: bool = True, require_number: bool = True) -> bytes:
    """Serialized ``HDon`` of an invoice.

    With ``check`` (default) the document is validated first (codes, tax codes, symbol year, totals)
    and so is the XML produced; every problem is raised at once in a ``ValidationError``.
    """
    return serialize(build_checked_tree(invoice, check=check, require_number=require_number))


def build_checked_tree(invoice: Invoice, *, check: bool = True, require_number: bool = True) -> etree._Element:
    """The ``HDon`` element of :func:`build_xml`, checked the same way, not serialized: to be signed in place
    (``signing.sign_invoice`` takes it without a copy and returns the signed bytes), saving a serialization
    and a parse."""
    problems = _version_problems(invoice)
    if check:  # warnings (what real producers do and the tax authority accepts) are no reason to refuse
        problems += errors_only(check_invoice(invoice, require_number=require_number))
    if problems:
        raise ValidationError(problems)
    root = build_tree(invoice)
    if check:
        problems = validate_tree(root, require_number=require_number, check_document=False)
        if problems:  # our own output has neither errors nor warnings (tests/test_realworld.py)
            raise ValidationError(problems)
    return root
