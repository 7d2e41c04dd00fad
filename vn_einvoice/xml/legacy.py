"""Pre-2022 e-invoices: root ``inv:invoice`` in ``http://laphoadon.gdt.gov.vn/2014/09/invoicexml/v1``.

The XML the General Department of Taxation published in 2014 for e-invoices of Decree 51/2010 and
Circular 32/2011 (templates such as ``01GTKT0/001``, series such as ``AA/17E``), used until the
regime of Decree 123/2020 became compulsory (1 July 2022) and, for fee receipts, after it. Companies
keep these invoices for ten years: this module reads them (:func:`read_legacy`), checks what an
archive needs (:func:`legacy_problems`) and prints them (:func:`legacy_summary`); their signature is
checked by :func:`vn_einvoice.signing.xmldsig.verify_invoice` like any other.

Layout: ``inv:invoiceData`` (``id="data"``, what the seller signs) holding the invoice fields, and a
``ds:Signature`` (``Reference URI="#data"``, enveloped-signature, inclusive C14N) next to it. Dates are
written ``YYYY/MM/DD``, ``YYYY-MM-DD`` or ``DD/MM/YYYY`` depending on the producer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from ..codes import check_tax_code
from ..errors import WARNING, Problem, ValidationError
from .envelope import LEGACY_NS

_INV = f"{{{LEGACY_NS}}}"
PATH = "inv:invoice/inv:invoiceData"
_DATE_FORMATS = ("%Y/%m/%d", "%Y-%m-%d", "%d/%m/%Y")
# minOccurs="1" in invoiceData of the format's schema (commons.xsd, as shipped in BKAV's
# Bkav.eHoadon.XML, tuanbs232/iHoaDon): currencyCode is optional there (default VND), and so are the totals
# (default 0); real invoices leave the currency out (BKAV 2015).
REQUIRED = ("invoiceType", "templateCode", "invoiceSeries", "invoiceNumber", "invoiceName", "invoiceIssuedDate",
            "sellerLegalName", "sellerTaxCode", "sellerAddressLine")


@dataclass(frozen=True)
class LegacyLine:
    number: str
    code: str
    name: str
    unit: str
    quantity: Decimal | None
    unit_price: Decimal | None
    amount: Decimal | None
    vat_rate: str
    vat_amount: Decimal | None


@dataclass(frozen=True)
class LegacyInvoice:
    """What a pre-2022 invoice says (values as written; amounts as numbers)."""

    invoice_type: str
    template: str
    series: str
    number: str
    name: str
    issue_date: date | None
    signed_date: date | None
    currency: str
    exchange_rate: Decimal | None
    seller_name: str
    seller_tax_code: str
    seller_address: str
    buyer_name: str
    buyer_tax_code: str
    buyer_address: str
    payment_methods: tuple[str, ...]
    lines: tuple[LegacyLine, ...]
    total_before_tax: Decimal | None
    total_tax: Decimal | None
    total: Decimal | None
    total_in_words: str
    adjustment_type: str


def _text(el, tag: str) -> str:
    found = el.find(_INV + tag) if el is not None else None
    return " ".join((found.text or "").split()) if found is not None else ""


class _Reader:
    def __init__(self):
        self.problems: list[Problem] = []

    def num(self, el, tag: str, path: str) -> Decimal | None:
        raw = _text(el, tag)
        if not raw:
            return None
        try:
            value = Decimal(raw)
            if not value.is_finite():
                raise InvalidOperation
            return value
        except InvalidOperation:
            self.problems.append(Problem(f"{path}/inv:{tag}", f"{raw!r} is not a number"))
            return None

    def date(self, el, tag: str, path: str) -> date | None:
        raw = _text(el, tag)
        if not raw:
            return None
        for fmt in _DATE_FORMATS:
            try:
                return datetime.strptime(raw[:10], fmt).date()
            except ValueError:
                continue
        self.problems.append(Problem(f"{path}/inv:{tag}", f"{raw!r} is not a date (YYYY/MM/DD)"))
        return None


def _data(root):
    if root.tag != _INV + "invoice":
        raise ValidationError.at(getattr(root, "tag", "?"), "not a pre-2022 invoice (inv:invoice of "
                                                            f"{LEGACY_NS})")
    data = root.find(_INV + "invoiceData")
    if data is None:
        raise ValidationError.at(PATH, "element is missing")
    return data


def read_legacy(root) -> LegacyInvoice:
    """The invoice of an ``inv:invoice`` element; raises ``ValidationError`` listing unreadable values."""
    data = _data(root)
    r = _Reader()
    lines = []
    for i, item in enumerate(data.iterfind(f"{_INV}items/{_INV}item"), start=1):
        p = f"{PATH}/inv:items/inv:item[{i}]"
        lines.append(LegacyLine(
            number=_text(item, "lineNumber"), code=_text(item, "itemCode"), name=_text(item, "itemName"),
            unit=_text(item, "unitName"), quantity=r.num(item, "quantity", p),
            unit_price=r.num(item, "unitPrice", p), amount=r.num(item, "itemTotalAmountWithoutVat", p),
            vat_rate=_text(item, "vatPercentage"), vat_amount=r.num(item, "vatAmount", p)))
    invoice = LegacyInvoice(
        invoice_type=_text(data, "invoiceType"), template=_text(data, "templateCode"),
        series=_text(data, "invoiceSeries"), number=_text(data, "invoiceNumber"), name=_text(data, "invoiceName"),
        issue_date=r.date(data, "invoiceIssuedDate", PATH), signed_date=r.date(data, "signedDate", PATH),
        currency=_text(data, "currencyCode") or "VND", exchange_rate=r.num(data, "exchangeRate", PATH),
        seller_name=_text(data, "sellerLegalName"), seller_tax_code=_text(data, "sellerTaxCode"),
        seller_address=_text(data, "sellerAddressLine"),
        buyer_name=_text(data, "buyerLegalName") or _text(data, "buyerDisplayName"),
        buyer_tax_code=_text(data, "buyerTaxCode"), buyer_address=_text(data, "buyerAddressLine"),
        payment_methods=tuple(_text(pm, "paymentMethodName")
                              for pm in data.iterfind(f"{_INV}payments/{_INV}payment") if _text(pm, "paymentMethodName")),
        lines=tuple(lines), total_before_tax=r.num(data, "totalAmountWithoutVAT", PATH),
        total_tax=r.num(data, "totalVATAmount", PATH), total=r.num(data, "totalAmountWithVAT", PATH),
        total_in_words=_text(data, "totalAmountWithVATInWords"), adjustment_type=_text(data, "adjustmentType"),
    )
    if r.problems:
        raise ValidationError(r.problems)
    return invoice


def legacy_problems(root) -> list[Problem]:
    """What an archived pre-2022 invoice must hold: its identity (template, series, number, date), the
    seller (name, valid MST) and totals that add up (before VAT + VAT = total, within one unit: the
    format writes 8 decimals). A warning recalls the regime: it cannot be issued any more."""
    try:
        data = _data(root)
    except ValidationError as e:
        return list(e.problems)
    problems = [Problem(PATH, "pre-2022 format (invoicexml/v1): readable and verifiable for the archive; "
                              "invoices are issued in the HDon format since 1 July 2022", WARNING)]
    for tag in REQUIRED:
        if not _text(data, tag):
            problems.append(Problem(f"{PATH}/inv:{tag}", "mandatory element is missing"))
    try:
        invoice = read_legacy(root)
    except ValidationError as e:
        return problems + list(e.problems)
    if invoice.seller_tax_code:
        problems += check_tax_code(invoice.seller_tax_code, f"{PATH}/inv:sellerTaxCode", allow_personal=True)
    if invoice.buyer_tax_code:
        problems += check_tax_code(invoice.buyer_tax_code, f"{PATH}/inv:buyerTaxCode", allow_personal=True)
    if invoice.number and not re.fullmatch(r"[0-9]{1,8}", invoice.number):
        problems.append(Problem(f"{PATH}/inv:invoiceNumber", f"{invoice.number!r} is not an invoice number "
                                                             "(up to 8 digits)"))
    if None not in (invoice.total_before_tax, invoice.total_tax, invoice.total):
        summed = invoice.total_before_tax + invoice.total_tax
        if abs(summed - invoice.total) >= 1:
            problems.append(Problem(f"{PATH}/inv:totalAmountWithVAT",
                                    f"{invoice.total_before_tax} + {invoice.total_tax} VAT = {summed}, "
                                    f"the total says {invoice.total}"))
    lines_sum = sum((ln.amount for ln in invoice.lines if ln.amount is not None), Decimal(0))
    if invoice.lines and invoice.total_before_tax is not None and abs(lines_sum - invoice.total_before_tax) >= 1:
        problems.append(Problem(f"{PATH}/inv:totalAmountWithoutVAT",
                                f"the lines add up to {lines_sum}, the total before VAT says {invoice.total_before_tax}"))
    return problems


def _amount(value: Decimal | None) -> str:
    if value is None:
        return "-"
    return f"{value.normalize():,f}".replace(",", " ")


def legacy_summary(invoice: LegacyInvoice) -> list[str]:
    """The invoice in a few lines of text (``vn-einvoice show``)."""
    out = [
        f"{invoice.name or 'invoice'} (pre-2022 format invoicexml/v1)",
        f"  template {invoice.template or '-'}, series {invoice.series or '-'}, number {invoice.number or '-'}, "
        f"issued {invoice.issue_date or '-'}" + (f", signed {invoice.signed_date}" if invoice.signed_date else ""),
        f"  seller: {invoice.seller_name or '-'} (MST {invoice.seller_tax_code or '-'}), {invoice.seller_address or '-'}",
        f"  buyer: {invoice.buyer_name or '-'}" + (f" (MST {invoice.buyer_tax_code})" if invoice.buyer_tax_code else "")
        + (f", {invoice.buyer_address}" if invoice.buyer_address else ""),
    ]
    for ln in invoice.lines:
        out.append(f"  {ln.number or '-'}. {ln.name} — {_amount(ln.quantity)} {ln.unit} × {_amount(ln.unit_price)} = "
                   f"{_amount(ln.amount)}" + (f" (VAT {ln.vat_rate}%)" if ln.vat_rate else ""))
    out.append(f"  total before VAT {_amount(invoice.total_before_tax)}, VAT {_amount(invoice.total_tax)}, "
               f"total {_amount(invoice.total)} {invoice.currency}")
    if invoice.total_in_words:
        out.append(f"  in words: {invoice.total_in_words}")
    return out
