"""Viettel SInvoice ``commonInvoiceInput`` JSON ⇄ :class:`~vn_einvoice.document.Invoice`.

Source: the SInvoice integration document (seed 001), section 1.1.1 "Webservice lập hóa đơn": one body
serves ``createInvoice`` (and ``createOrUpdateInvoiceDraft``, ``createBatchInvoice``) for originals
(``adjustmentType`` "1"), replacements ("3") and adjustments ("5", with ``adjustmentInvoiceType`` "1"
money or "2" information).

Conventions of the mapping:

* Amounts on the wire are never negative. The direction of a line is ``isIncreaseItem``; that of the
  totals and breakdown rows of a money adjustment the ``is…Pos``/``…Pos`` flags (ignored on other
  invoices: "Hóa đơn thường: null"). In the document a decrease is negative: amount, VAT, unit price
  and line discount (the quantity stays positive). A discount line (``selection`` 3) is positive in the
  document and written with ``isIncreaseItem`` false, as Odoo does.
* ``taxPercentage`` (:data:`TAX_CODES`): -2 KCT, -1 KKKNT, 0 is 0 % (never KCT), 5, 8, 10; another
  percentage is ``KHAC:x%``. A breakdown row without a rate is KCT (the draft section says "null").
* ``selection`` (:data:`SELECTION`): absent or 1 goods, 2 note, 3 discount, 4 line of a list (bảng kê,
  read as goods). Goods lines are written without ``selection``, as in every example of the seed.
* ``buyerIdType`` (:data:`ID_TYPES`): 1 identity card, 2 passport, 3 business licence (the table of
  createInvoice; the draft section swaps 2 and 3).
* Dates are epoch milliseconds; the calendar date of an instant is taken in GMT+7.
* Numbers are written as JSON numbers: ``int`` when whole, ``float`` otherwise.
* ``itemTotalAmountWithoutTax`` is the line amount (``ThTien``) the totals and breakdown are made of.
* The title is the template's (SInvoice has no field for another one).

What the document model has no field for goes to ``invoice.meta["sinvoice"]`` (keys in
:data:`META_KEYS`); ``to_sinvoice`` reads them back, its keyword arguments win over them. Everything else
of the body as read (keys unknown to the mapping, provider flags that contradict the amounts, absent
optional keys) is kept as a residue and written back as long as the part of the invoice it belongs to
(buyer, seller, line, totals, breakdown row, else the whole invoice) is unchanged. So
``to_sinvoice(from_sinvoice(x))`` equals ``x`` up to key order and number types (``3500000.0`` may come
back as ``3500000``).
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time
from decimal import Decimal

from ..amounts import complete, compute_breakdown, compute_totals, round_amount
from ..codes import (
    EIGHT,
    FIVE,
    KCT,
    KKKNT,
    TEN,
    ZERO,
    Regime,
    TaxRate,
    check_template_symbol,
    normalize_tax_code,
    template_regime,
    template_title,
    to_decimal,
)
from ..document import (
    ExtraField,
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
from ..words import amount_in_words
from .sinvoice_wire import (
    CODE,
    LINE_EXTRA_KEYS,
    METADATA_KEYS,
    PARTY_BLOCKS,
    PARTY_FIELDS,
    PAYMENT_TYPE,
    SUMMARY_AMOUNTS,
    SUMMARY_OPTIONAL,
    TEMPLATE_CODE_RE,
    body_time,
    in_gmt7,
    join_invoice_no,
    json_equal,
    json_flag,
    ms,
    num,
    num_text,
    plain,
    short_template,
    split_invoice_no,
)

__all__ = [
    "ID_TYPES", "META", "META_KEYS", "SELECTION", "TAX_CODES", "from_sinvoice", "split_invoice_no", "to_sinvoice",
]

META = "sinvoice"

TAX_CODES: dict[int, TaxRate] = {-2: KCT, -1: KKKNT, 0: ZERO, 5: FIVE, 8: EIGHT, 10: TEN}
SELECTION: dict[int, LineKind] = {1: LineKind.GOODS, 2: LineKind.NOTE, 3: LineKind.DISCOUNT, 4: LineKind.GOODS}
ID_TYPES: dict[str, IdKind] = {"1": IdKind.CITIZEN_ID, "2": IdKind.PASSPORT, "3": IdKind.OTHER}
ADJUSTMENT_TYPES: dict[str, RelationKind | None] = {
    "1": None, "3": RelationKind.REPLACEMENT, "5": RelationKind.ADJUSTMENT,
}
MONEY, INFORMATION = "1", "2"

META_KEYS = {
    "transaction_uuid": "generalInvoiceInfo.transactionUuid; re-sent only while the invoice is unchanged",
    "user_name": "generalInvoiceInfo.userName (who issues)",
    "payment_status": "generalInvoiceInfo.paymentStatus (None: absent; default False)",
    "cus_get_invoice_right": "generalInvoiceInfo.cusGetInvoiceRight (None: absent; default True)",
    "issued_at": "generalInvoiceInfo.invoiceIssuedDate as an instant (the document keeps the date)",
    "template_code": "SInvoice's template code when it is not KHMSHDon, e.g. '1/001' for template 1",
    "original_template_code": "the same for generalInvoiceInfo.originalTemplateCode",
    "adjustment_invoice_type": "generalInvoiceInfo.adjustmentInvoiceType: '1' money, '2' information",
    "agreement_name": "generalInvoiceInfo.additionalReferenceDesc (agreement, biên bản)",
    "agreement_date": "generalInvoiceInfo.additionalReferenceDate (date, or datetime if not midnight)",
    "invoice_note": "generalInvoiceInfo.invoiceNote of an original (RelatedInvoice.note otherwise)",
    "custom_fields": "{keyTag: {'id': invoiceCustomFieldId, 'label': keyLabel}} of the metadata",
    "meter_reading": "meterReading, as read (electricity/water indexes)",
}


# --- small conversions ----------------------------------------------------------------------------


def _date_or_instant(moment: datetime) -> date | datetime:
    return moment.date() if moment.timetz().replace(tzinfo=None) == time() else moment


def _str(value) -> str:
    if value is None:
        return ""
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool) and Decimal(value).is_finite():
        return str(num(value))
    return str(value)  # also NaN and Infinity (num() cannot make them an int)


def _is_legacy(code: str) -> bool:
    try:
        return template_regime(code) is Regime.LEGACY
    except ValidationError:
        return False


def _tax_code(rate: TaxRate, path: str, problems: list[Problem]):
    for code, known in TAX_CODES.items():
        if known == rate:
            return code
    if rate.percent is None:
        problems.append(Problem(path, f"{rate} has no percentage: SInvoice needs a number (e.g. KHAC:3.5%)"))
        return None
    return num(rate.percent)


def _phone(value: str) -> str:
    return re.sub(r"[\s().\-]", "", value.replace("+", "00"))


# --- reading --------------------------------------------------------------------------------------


class _Reader:
    def __init__(self):
        self.problems: list[Problem] = []

    def fail(self, path: str, message: str):
        self.problems.append(Problem(path, message))

    def block(self, obj: dict, key: str, kind: type, required: bool = False):
        value = obj.get(key)
        if value is None:
            if required:
                self.fail(key, "required")
            return kind()
        if not isinstance(value, kind):
            self.fail(key, f"must be a JSON {'object' if kind is dict else 'array'}")
            return kind()
        return value

    def dec(self, value, path: str) -> Decimal | None:
        if value is None or value == "":
            return None
        if isinstance(value, bool):
            self.fail(path, f"{value!r} is not a number")
            return None
        try:
            return to_decimal(value, path)
        except ValidationError as e:
            self.problems.extend(e.problems)
            return None

    def int(self, value, path: str) -> int | None:
        d = self.dec(value, path)
        if d is not None and d != d.to_integral_value():
            self.fail(path, f"{value!r} is not a whole number")
            return None
        return None if d is None else int(d)

    def flag(self, value, path: str) -> bool | None:
        if value is None:
            return None
        if (flag := json_flag(value, strip=False)) is None:
            self.fail(path, f"{value!r} is not true or false")
        return flag

    def instant(self, value, path: str) -> datetime | None:
        if value is None or value == "":
            return None
        try:
            return body_time(value)
        except (ValueError, TypeError, OverflowError):
            self.fail(path, f"{value!r} is not a date: expected epoch milliseconds (e.g. 1517301625626)")
            return None

    def rate(self, value, path: str, missing: TaxRate | None = None) -> TaxRate | None:
        if value is None or value == "":
            return missing
        if isinstance(value, str) and value.strip().upper() in ("KCT", "KKKNT"):
            return TaxRate(value.strip().upper())
        d = self.dec(value, path)
        if d is None:
            return None
        if d == d.to_integral_value() and int(d) in TAX_CODES:
            return TAX_CODES[int(d)]
        try:
            if d > 0:
                return TaxRate.parse(d)
        except ValidationError:
            pass
        self.fail(path, f"unknown tax code {value!r}: -2 (KCT), -1 (KKKNT), 0, 5, 8, 10 or another percentage")
        return None


def _load(data) -> dict:
    if isinstance(data, (bytes, bytearray)):
        data = data.decode("utf-8")
    if isinstance(data, str):
        try:
            data = json.loads(data)
        except json.JSONDecodeError as e:
            raise ValidationError.at("", f"not JSON: {e}") from None
    if not isinstance(data, dict):
        raise ValidationError.at("", "a commonInvoiceInput must be a JSON object")
    if "commonInvoiceInputs" in data and "generalInvoiceInfo" not in data:
        raise ValidationError.at("commonInvoiceInputs", "a batch: read each element of commonInvoiceInputs")
    return plain(copy.deepcopy(data))


def _read_line(r: _Reader, item, path: str, kind: LineKind | None = None) -> Line:
    if not isinstance(item, dict):
        r.fail(path, "must be a JSON object")
        return Line(name="")
    if kind is None:
        selection = r.int(item.get("selection"), f"{path}.selection")
        kind = LineKind.GOODS
        if selection is not None:
            if selection in SELECTION:
                kind = SELECTION[selection]
            else:
                r.fail(f"{path}.selection", f"unknown selection {item.get('selection')!r}: 1 goods, 2 note, "
                       "3 discount, 4 list (bảng kê)")
    increase = r.flag(item.get("isIncreaseItem"), f"{path}.isIncreaseItem")
    negative = increase is True if kind is LineKind.DISCOUNT else increase is False

    def amount(key):
        d = r.dec(item.get(key), f"{path}.{key}")
        return -abs(d) if negative and d else d

    name = _str(item.get("itemName"))
    if not name:
        r.fail(f"{path}.itemName", "required")
    return Line(
        name=name,
        kind=kind,
        code=_str(item.get("itemCode")),
        unit=_str(item.get("unitName")),
        quantity=r.dec(item.get("quantity"), f"{path}.quantity"),
        unit_price=amount("unitPrice"),
        discount_rate=r.dec(item.get("discount"), f"{path}.discount"),
        discount_amount=amount("itemDiscount"),
        amount=amount("itemTotalAmountWithoutTax"),
        tax_rate=r.rate(item.get("taxPercentage"), f"{path}.taxPercentage"),
        tax_amount=amount("taxAmount"),
        seq=r.int(item.get("lineNumber"), f"{path}.lineNumber"),
        extra=tuple(ExtraField(k, _str(item[k])) for k in LINE_EXTRA_KEYS if item.get(k) not in (None, "")),
    )


def _read_metadata(r: _Reader, entries: list) -> tuple[tuple[ExtraField, ...], dict]:
    extras, fields = [], {}
    for k, e in enumerate(entries):
        path = f"metadata[{k}]"
        if not isinstance(e, dict) or not _str(e.get("keyTag")):
            r.fail(f"{path}.keyTag", "required")
            continue
        tag, kind = _str(e["keyTag"]), _str(e.get("valueType"))
        if kind == "number":
            d = r.dec(e.get("numberValue"), f"{path}.numberValue")
            extras.append(ExtraField(tag, "" if d is None else str(d), "numeric"))
        elif kind == "date":
            moment = r.instant(e.get("dateValue"), f"{path}.dateValue")
            if moment is None:
                extras.append(ExtraField(tag, "", "date"))
            elif isinstance(_date_or_instant(moment), datetime):
                spec = "milliseconds" if moment.microsecond else "seconds"
                extras.append(ExtraField(tag, moment.replace(tzinfo=None).isoformat(timespec=spec), "dateTime"))
            else:
                extras.append(ExtraField(tag, moment.date().isoformat(), "date"))
        elif kind == "text":
            extras.append(ExtraField(tag, _str(e.get("stringValue")), "string"))
        else:
            r.fail(f"{path}.valueType", f"unknown valueType {e.get('valueType')!r}: text, number or date")
            continue
        info = {"id": e.get("invoiceCustomFieldId"), "label": e.get("keyLabel")}
        fields[tag] = {k: v for k, v in info.items() if v is not None}
    return tuple(extras), fields


def from_sinvoice(data: dict | str | bytes, *, issue_date: date | None = None) -> Invoice:
    """Read one ``commonInvoiceInput`` (a dict or its JSON text) into an :class:`Invoice`.

    ``issue_date`` is used when the body has no ``invoiceIssuedDate``. Totals and tax breakdown missing
    from the body are computed (:func:`vn_einvoice.amounts.complete`); given ones are kept as they are,
    even when they do not add up (see :func:`vn_einvoice.amounts.check_amounts`).
    Raises :class:`ValidationError` listing every field that cannot be read, with its JSON path.
    """
    raw = _load(data)
    r = _Reader()
    g = r.block(raw, "generalInvoiceInfo", dict, required=True)
    b = r.block(raw, "buyerInfo", dict)
    s = r.block(raw, "sellerInfo", dict)
    meta: dict = {}
    gp = "generalInvoiceInfo."

    template = _str(g.get("templateCode"))
    if not template:
        r.fail(gp + "templateCode", "required")
    elif m := TEMPLATE_CODE_RE.match(template):
        meta["template_code"], template = template, m.group(1)
    symbol = _str(g.get("invoiceSeries"))
    if template:
        where = {"KHMSHDon": gp + "templateCode", "KHHDon": gp + "invoiceSeries"}
        found: list[Problem] = []
        try:
            if symbol:
                found = check_template_symbol(template, symbol)
            else:
                template_regime(template)
        except ValidationError as e:
            found = list(e.problems)
        for problem in found:
            r.fail(where.get(problem.path, problem.path), problem.message)

    issued_at = r.instant(g.get("invoiceIssuedDate"), gp + "invoiceIssuedDate")
    if issued_at:
        meta["issued_at"] = issued_at
    day = issued_at.date() if issued_at else issue_date
    if g.get("invoiceIssuedDate") in (None, "") and day is None:
        r.fail(gp + "invoiceIssuedDate", "required (or pass issue_date=)")

    number = None
    if invoice_no := _str(g.get("invoiceNo")):
        rest = invoice_no[len(symbol):] if symbol and invoice_no.startswith(symbol) else split_invoice_no(invoice_no)[1]
        number = int(rest) if rest.isdigit() else None

    adjustment = _str(g.get("adjustmentType")) or "1"
    if adjustment not in ADJUSTMENT_TYPES:
        r.fail(gp + "adjustmentType", f"unknown adjustmentType {adjustment!r}: 1 original, 3 replacement, 5 adjustment")
    relation = ADJUSTMENT_TYPES.get(adjustment)
    kind = _str(g.get("adjustmentInvoiceType")) or None
    if relation is RelationKind.ADJUSTMENT:
        if kind not in (None, MONEY, INFORMATION):
            r.fail(gp + "adjustmentInvoiceType", f"unknown adjustmentInvoiceType {kind!r}: 1 money, 2 information")
        meta["adjustment_invoice_type"] = kind
    signed = relation is RelationKind.ADJUSTMENT and kind != INFORMATION  # the …Pos flags count

    note = _str(g.get("invoiceNote"))
    related = None
    if relation is not None:
        orig_symbol, orig_number = split_invoice_no(_str(g.get("originalInvoiceId")))
        orig_template = _str(g.get("originalTemplateCode"))
        if m := TEMPLATE_CODE_RE.match(orig_template):
            meta["original_template_code"], orig_template = orig_template, m.group(1)
        orig_at = r.instant(g.get("originalInvoiceIssueDate"), gp + "originalInvoiceIssueDate")
        related = RelatedInvoice(
            relation=relation, template=orig_template, symbol=orig_symbol, number=orig_number,
            issue_date=orig_at.date() if orig_at else None, note=note,
            invoice_type=RelatedInvoiceType.LEGACY_OTHER if "/" in orig_symbol else RelatedInvoiceType.DECREE_123,
        )
    elif note:
        meta["invoice_note"] = note
    if "additionalReferenceDesc" in g:
        meta["agreement_name"] = _str(g["additionalReferenceDesc"])
    agreed = r.instant(g.get("additionalReferenceDate"), gp + "additionalReferenceDate")
    if agreed:
        meta["agreement_date"] = _date_or_instant(agreed)
    for key, name in (("transactionUuid", "transaction_uuid"), ("userName", "user_name")):
        if g.get(key) is not None:
            meta[name] = _str(g[key])
    meta["payment_status"] = r.flag(g.get("paymentStatus"), gp + "paymentStatus")
    meta["cus_get_invoice_right"] = r.flag(g.get("cusGetInvoiceRight"), gp + "cusGetInvoiceRight")

    for key in ("buyerIdNo", "buyerIdType"):
        if _str(g.get(key)) and _str(b.get(key)) and _str(g[key]) != _str(b[key]):
            r.fail(f"buyerInfo.{key}", f"{b[key]!r} differs from generalInvoiceInfo.{key} {g[key]!r}")
    id_type = _str(g.get("buyerIdType")) or _str(b.get("buyerIdType"))
    if id_type and id_type not in ID_TYPES:
        r.fail(gp + "buyerIdType", f"unknown buyerIdType {id_type!r}: 1 identity card, 2 passport, 3 business licence")
    legal, contact = _str(b.get("buyerLegalName")), _str(b.get("buyerName"))
    buyer = Party(
        name=legal or contact, contact_name=contact if legal and contact != legal else "",
        tax_code=_str(b.get("buyerTaxCode")).strip(), address=_str(b.get("buyerAddressLine")),
        phone=_str(b.get("buyerPhoneNumber")), email=_str(b.get("buyerEmail")), fax=_str(b.get("buyerFaxNumber")),
        bank_account=_str(b.get("buyerBankAccount")), bank_name=_str(b.get("buyerBankName")),
        code=_str(b.get("buyerCode")), country_code=_str(b.get("buyerCountryCode")),
        id_kind=ID_TYPES.get(id_type), id_number=_str(g.get("buyerIdNo")) or _str(b.get("buyerIdNo")),
    )
    seller = Party(
        name=_str(s.get("sellerLegalName")), tax_code=_str(s.get("sellerTaxCode")).strip(),
        address=_str(s.get("sellerAddressLine")), phone=_str(s.get("sellerPhoneNumber")),
        email=_str(s.get("sellerEmail")), fax=_str(s.get("sellerFaxNumber")),
        bank_account=_str(s.get("sellerBankAccount")), bank_name=_str(s.get("sellerBankName")),
        website=_str(s.get("sellerWebsite")), country_code=_str(s.get("sellerCountryCode")),
    )
    methods = []
    for k, pay in enumerate(r.block(raw, "payments", list)):
        if not isinstance(pay, dict):
            r.fail(f"payments[{k}]", "must be a JSON object")
        elif _str(pay.get("paymentMethodName")):
            methods.append(_str(pay["paymentMethodName"]))

    items = r.block(raw, "itemInfo", list)
    lines = [_read_line(r, item, f"itemInfo[{i}]") for i, item in enumerate(items)]
    for k, item in enumerate(r.block(raw, "discountItemInfo", list)):
        line = _read_line(r, item, f"discountItemInfo[{k}]", LineKind.DISCOUNT)
        lines.append(replace(line, seq=len(items) + k + 1))
    extras, custom_fields = _read_metadata(r, r.block(raw, "metadata", list))
    if custom_fields:
        meta["custom_fields"] = custom_fields
    if "meterReading" in raw:
        meta["meter_reading"] = raw["meterReading"]

    sm = r.block(raw, "summarizeInfo", dict)

    def total(key, flag=None):
        d = r.dec(sm.get(key), f"summarizeInfo.{key}")
        if d and flag and signed and r.flag(sm.get(flag), f"summarizeInfo.{flag}") is False:
            d = -abs(d)
        return d

    core = {
        "totalAmountWithoutTax": total("totalAmountWithoutTax", "isTotalAmtWithoutTaxPos"),
        "totalTaxAmount": total("totalTaxAmount", "isTotalTaxAmountPos"),
        "totalAmountWithTax": total("totalAmountWithTax", "isTotalAmountPos"),
    }
    totals = None
    if None not in core.values():
        totals = Totals(
            total_before_tax=core["totalAmountWithoutTax"], total_tax=core["totalTaxAmount"],
            total=core["totalAmountWithTax"],
            total_in_words=_str(sm.get("totalAmountWithTaxInWords"))
            or amount_in_words(core["totalAmountWithTax"], _str(g.get("currencyCode")) or "VND"),
            total_discount=total("discountAmount", "isDiscountAmtPos") or None,  # required: 0 when none
            total_other_deduction=total("settlementDiscountAmount"),
        )
    elif any(v is not None for v in core.values()):
        for key in (k for k, v in core.items() if v is None):
            r.fail(f"summarizeInfo.{key}", "required with the other totals")
    rows = []
    for j, row in enumerate(r.block(raw, "taxBreakdowns", list)):
        path = f"taxBreakdowns[{j}]"
        if not isinstance(row, dict):
            r.fail(path, "must be a JSON object")
            continue
        amounts = []
        for key, flag in (("taxableAmount", "taxableAmountPos"), ("taxAmount", "taxAmountPos")):
            d = r.dec(row.get(key), f"{path}.{key}")
            if d and signed and r.flag(row.get(flag), f"{path}.{flag}") is False:
                d = -abs(d)
            amounts.append(d)
        rate = r.rate(row.get("taxPercentage"), f"{path}.taxPercentage", missing=KCT)
        if amounts[0] is None:
            r.fail(f"{path}.taxableAmount", "required")
        elif rate is not None:
            rows.append(TaxBreakdown(rate=rate, taxable_amount=amounts[0], tax_amount=amounts[1]))

    currency = _str(g.get("currencyCode")) or "VND"
    exchange_rate = r.dec(g.get("exchangeRate"), gp + "exchangeRate")
    if r.problems:
        raise ValidationError(r.problems)

    invoice = Invoice(
        template=template, symbol=symbol, issue_date=day, seller=seller, buyer=buyer, lines=tuple(lines),
        number=number, currency=currency, exchange_rate=exchange_rate, payment_method="/".join(methods),
        related=related, extra=extras, title=template_title(template, symbol),
    )
    if totals is None:
        invoice = complete(invoice)
        if rows:
            invoice = replace(invoice, tax_breakdown=tuple(rows), totals=compute_totals(invoice, tuple(rows)))
    else:
        invoice = replace(invoice, totals=totals, tax_breakdown=tuple(rows) or compute_breakdown(invoice))
    invoice = replace(invoice, meta={META: meta})
    meta["_source"] = replace(invoice, meta={})
    meta["_residue"] = _residue(raw, _build(invoice, _options(invoice, {}, []), []))
    return invoice


# --- residue: what the mapping does not reproduce by itself ---------------------------------------


def _guard(path: tuple) -> str:
    head = path[0]
    if head in ("buyerInfo", "sellerInfo", "summarizeInfo") and len(path) > 1:
        return {"buyerInfo": "buyer", "sellerInfo": "seller", "summarizeInfo": "totals"}[head]
    if head in ("itemInfo", "taxBreakdowns") and len(path) > 1:
        return f"{'line' if head == 'itemInfo' else 'breakdown'}:{path[1]}"
    return "invoice"


def _guard_holds(guard: str, invoice: Invoice, source: Invoice) -> bool:
    name, _, index = guard.partition(":")
    if name == "invoice":
        return invoice == source
    if name in ("buyer", "seller", "totals"):
        return getattr(invoice, name) == getattr(source, name)
    now, then = (invoice.lines, source.lines) if name == "line" else (invoice.tax_breakdown, source.tax_breakdown)
    i = int(index)
    return i < len(now) and i < len(then) and now[i] == then[i]


def _residue(raw, built) -> dict:
    """Every place where the body as read differs from what the mapping writes: {path: entry}."""
    out: dict = {}

    def walk(a, b, path):
        if isinstance(a, dict) and isinstance(b, dict):
            for k in [*a, *(k for k in b if k not in a)]:
                if k not in b:
                    out[path + (k,)] = {"raw": a[k]}
                elif k not in a:
                    out[path + (k,)] = {"derived": b[k]}
                else:
                    walk(a[k], b[k], path + (k,))
        elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b) and path:
            for i, (x, y) in enumerate(zip(a, b)):
                walk(x, y, path + (i,))
        elif not json_equal(a, b):
            out[path] = {"raw": a, "derived": b}

    walk(raw, built, ())
    return {
        "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip("."):
            {**entry, "at": list(path), "guard": _guard(path)}
        for path, entry in out.items()
    }


def _apply_residue(body: dict, invoice: Invoice) -> None:
    m = invoice.meta.get(META) or {}
    source = m.get("_source")
    if source is None:
        return
    for entry in (m.get("_residue") or {}).values():
        if not _guard_holds(entry["guard"], invoice, source):
            continue
        *parents, key = entry["at"]
        node = body
        for p in parents:
            try:
                node = node[p]
            except (KeyError, IndexError, TypeError):
                node = None
                break
        if not isinstance(node, (dict, list)):
            continue
        present = key in node if isinstance(node, dict) else 0 <= key < len(node)
        if present != ("derived" in entry) or (present and not json_equal(node[key], entry["derived"])):
            continue  # the mapping now writes something else here: it wins
        if "raw" in entry:
            node[key] = copy.deepcopy(entry["raw"])
        else:
            del node[key]


# --- writing --------------------------------------------------------------------------------------


@dataclass
class _Options:
    transaction_uuid: str | None = None
    user_name: str | None = None
    adjustment_kind: str | None = None
    issued_at: datetime | None = None
    template_code: str | None = None
    original_template_code: str | None = None
    agreement_name: str | None = None
    agreement_date: date | None = None
    payment_status: bool | None = False
    cus_get_invoice_right: bool | None = True
    invoice_note: str = ""
    custom_fields: dict = field(default_factory=dict)
    meter_reading: list | None = None


def _options(invoice: Invoice, kw: dict, problems: list[Problem]) -> _Options:
    m = invoice.meta.get(META) or {}
    unchanged = "_source" not in m or m["_source"] == invoice

    def pick(name, default=None):
        return kw[name] if kw.get(name) is not None else m.get(name, default)

    kind = kw["adjustment_type"] if kw.get("adjustment_type") is not None else m.get("adjustment_invoice_type")
    if kind is not None:
        kind = {"money": MONEY, "information": INFORMATION}.get(str(kind).lower(), str(kind))
        if kind not in (MONEY, INFORMATION):
            problems.append(Problem("generalInvoiceInfo.adjustmentInvoiceType",
                                    f"unknown adjustment type {kind!r}: '1' (money) or '2' (information)"))
    elif invoice.is_adjustment:
        moves = [ln.amount or ln.tax_amount for ln in invoice.lines if ln.counts_in_totals]
        kind = MONEY if any(moves) else INFORMATION
    fields = {tag: dict(info) for tag, info in (m.get("custom_fields") or {}).items()}
    for f in kw.get("custom_fields") or ():
        info = {"id": f.get("id", f.get("invoiceCustomFieldId")), "label": f.get("keyLabel")}
        fields[f["keyTag"]] = {k: v for k, v in info.items() if v is not None}
    return _Options(
        transaction_uuid=kw.get("transaction_uuid") or (m.get("transaction_uuid") if unchanged else None),
        user_name=pick("user_name"),
        adjustment_kind=kind,
        issued_at=pick("issued_at"),
        template_code=pick("template_code"),
        original_template_code=pick("original_template_code"),
        agreement_name=pick("agreement_name"),
        agreement_date=pick("agreement_date"),
        payment_status=pick("payment_status", False),
        cus_get_invoice_right=m.get("cus_get_invoice_right", True),
        invoice_note=m.get("invoice_note", ""),
        custom_fields=fields,
        meter_reading=m.get("meter_reading"),
    )


def _template_code(template: str, known: str | None, path: str, problems: list[Problem]) -> str:
    try:
        if template_regime(template) is Regime.LEGACY:
            return template
    except ValidationError as e:
        problems.extend(Problem(path, p.message) for p in e.problems)
        return template
    if known and TEMPLATE_CODE_RE.match(known) and known[0] == template:
        return known
    problems.append(Problem(path, f"SInvoice needs its own template code for template {template!r} "
                                  f"(such as '{template}/001'): pass template_code="))
    return template


def _title(inv: Invoice) -> str:
    try:
        return template_title(inv.template, inv.symbol)
    except ValidationError:
        return inv.title


def _unmappable(inv: Invoice, problems: list[Problem]) -> None:
    """Document fields commonInvoiceInput has no place for: refuse rather than drop them."""
    checks = [
        ("summarizeInfo", inv.totals is not None and bool(inv.totals.fees), "fees (DSLPhi)"),
        ("summarizeInfo", inv.totals is not None and inv.totals.total_non_taxable_deduction is not None,
         "the non-taxable deduction (TGTKCThue)"),
        ("generalInvoiceInfo", bool(inv.title) and inv.title != _title(inv), f"the title {inv.title!r}"),
        ("generalInvoiceInfo", inv.financial_leasing, "financial leasing (HDCTTChinh)"),
        ("generalInvoiceInfo", bool(inv.delegated_tax_code or inv.delegated_name), "the delegated issuer"),
        ("generalInvoiceInfo", bool(inv.list_number or inv.list_date), "the list (bảng kê) number and date"),
        ("generalInvoiceInfo", bool(inv.tax_office_code), "the tax office dossier code (MHSo)"),
        ("generalInvoiceInfo.originalInvoiceId",
         inv.related is not None and bool(inv.related.list_number or inv.related.invoices),
         "a correction of several invoices (one originalInvoiceId only)"),
        ("buyerInfo", bool(inv.buyer.budget_unit_code), "the budget unit code (MDVQHNSach)"),
        ("sellerInfo", bool(inv.seller.store_code or inv.seller.store_name), "the store code and name"),
    ]
    for path, present, what in checks:
        if present:
            problems.append(Problem(path, f"{what} cannot be sent to SInvoice: commonInvoiceInput has no field for it"))


def _general(inv: Invoice, o: _Options, problems: list[Problem]) -> dict:
    gp = "generalInvoiceInfo."
    code = _template_code(inv.template, o.template_code, gp + "templateCode", problems)
    g: dict = {"invoiceType": code[:6] if _is_legacy(code) else code[:1], "templateCode": code}
    if inv.symbol:
        g["invoiceSeries"] = inv.symbol
    if inv.number is not None:
        g["invoiceNo"] = join_invoice_no(inv.symbol, str(inv.number))
    if o.transaction_uuid:
        g["transactionUuid"] = o.transaction_uuid
    issued = o.issued_at
    if issued is not None and in_gmt7(issued).date() != inv.issue_date:
        issued = None  # a stale instant (the date was changed): midnight of the date
    g["invoiceIssuedDate"] = ms(issued or inv.issue_date)
    g["currencyCode"] = inv.currency
    if inv.exchange_rate is not None:
        g["exchangeRate"] = num(inv.exchange_rate)
        if inv.exchange_rate <= 0 or inv.exchange_rate != round(inv.exchange_rate, 2):
            problems.append(Problem(gp + "exchangeRate", f"{inv.exchange_rate} must be positive, with at most 2 decimals"))
    elif inv.is_foreign_currency:
        problems.append(Problem(gp + "exchangeRate", f"required for an invoice in {inv.currency}"))
    rel = inv.related
    original_id = join_invoice_no(rel.symbol, rel.number) if rel is not None and rel.number else ""
    note = o.invoice_note
    if rel is not None:
        verb = "Thay thế" if rel.relation is RelationKind.REPLACEMENT else "Điều chỉnh"
        when = f" lập ngày {rel.issue_date:%d/%m/%Y}" if rel.issue_date else ""
        note = rel.note or f"{verb} cho hóa đơn điện tử số {original_id}{when}"
    if note:
        g["invoiceNote"] = note
    g["adjustmentType"] = {None: "1", RelationKind.REPLACEMENT: "3", RelationKind.ADJUSTMENT: "5"}[
        rel.relation if rel else None]
    if rel is not None:
        if rel.relation is RelationKind.ADJUSTMENT:
            g["adjustmentInvoiceType"] = o.adjustment_kind
        g["originalInvoiceId"] = original_id
        if not rel.number:
            problems.append(Problem(gp + "originalInvoiceId", "the number of the corrected invoice is required"))
        if rel.issue_date is not None:
            g["originalInvoiceIssueDate"] = ms(rel.issue_date)
        else:
            problems.append(Problem(gp + "originalInvoiceIssueDate", "the date of the corrected invoice is required"))
        if rel.template:
            if _is_legacy(rel.template):
                g["originalTemplateCode"] = rel.template
            elif o.original_template_code and o.original_template_code[0] == rel.template:
                g["originalTemplateCode"] = o.original_template_code
            elif rel.template == inv.template and code != inv.template:
                g["originalTemplateCode"] = code
        if o.agreement_name:
            g["additionalReferenceDesc"] = o.agreement_name
        else:
            problems.append(Problem(gp + "additionalReferenceDesc",
                                    "the agreement (biên bản) is required: pass agreement_name="))
        if o.agreement_date is not None:
            g["additionalReferenceDate"] = ms(o.agreement_date)
        else:
            problems.append(Problem(gp + "additionalReferenceDate",
                                    "the agreement date is required: pass agreement_date="))
    if o.payment_status is not None:
        g["paymentStatus"] = o.payment_status
        if o.payment_status and inv.payment_method:
            g["paymentType"] = g["paymentTypeName"] = inv.payment_method
    if o.cus_get_invoice_right is not None:
        g["cusGetInvoiceRight"] = o.cus_get_invoice_right
    if inv.buyer.id_number:
        g["buyerIdNo"] = inv.buyer.id_number
    if inv.buyer.id_kind is not None:
        g["buyerIdType"] = next(k for k, v in ID_TYPES.items() if v is inv.buyer.id_kind)
    if o.user_name:
        g["userName"] = o.user_name
    return g


def _buyer(p: Party) -> dict:
    if p.contact_name:
        name, legal = p.contact_name, p.name
    else:
        name, legal = p.name, p.name if p.is_company else ""
    b = {
        "buyerName": name, "buyerLegalName": legal,
        "buyerTaxCode": normalize_tax_code(p.tax_code) if p.tax_code else "",
        "buyerAddressLine": p.address, "buyerPhoneNumber": _phone(p.phone), "buyerEmail": p.email,
    }
    optional = {
        "buyerFaxNumber": _phone(p.fax), "buyerBankName": p.bank_name, "buyerBankAccount": p.bank_account,
        "buyerCountryCode": p.country_code, "buyerCode": p.code, "buyerIdNo": p.id_number,
        "buyerIdType": next((k for k, v in ID_TYPES.items() if v is p.id_kind), ""),
    }
    b.update((k, v) for k, v in optional.items() if v)
    return b


def _seller(p: Party) -> dict:
    s = {
        "sellerLegalName": p.name, "sellerTaxCode": normalize_tax_code(p.tax_code) if p.tax_code else "",
        "sellerAddressLine": p.address, "sellerPhoneNumber": _phone(p.phone), "sellerEmail": p.email,
    }
    optional = {
        "sellerFaxNumber": _phone(p.fax), "sellerBankName": p.bank_name, "sellerBankAccount": p.bank_account,
        "sellerCountryCode": p.country_code, "sellerWebsite": p.website,
    }
    s.update((k, v) for k, v in optional.items() if v)
    return s


def _item(ln: Line, i: int, money: bool, currency: str, problems: list[Problem]) -> dict:
    path = f"itemInfo[{i}]"
    it: dict = {"lineNumber": ln.seq if ln.seq is not None else i + 1}
    if ln.kind is LineKind.PROMOTION:
        problems.append(Problem(f"{path}.selection", "SInvoice has no selection for a promotion line (seed 001: "
                                "1 goods, 2 note, 3 discount, 4 list): write it as goods or a note"))
    elif ln.kind in (LineKind.NOTE, LineKind.DISCOUNT):
        it["selection"] = 2 if ln.kind is LineKind.NOTE else 3
    if ln.code:
        it["itemCode"] = ln.code
    it["itemName"] = ln.name
    if ln.unit:
        it["unitName"] = ln.unit
    signs = {v < 0 for v in (ln.amount, ln.tax_amount) if v}
    if len(signs) > 1:
        problems.append(Problem(path, "the amount and the VAT of a line must have the same sign"))
    negative = True in signs
    # isIncreaseItem: the line's effect on the total. A discount line lowers it unless it is negative.
    increase = negative if ln.kind is LineKind.DISCOUNT else not negative
    if negative and not money:
        problems.append(Problem(f"{path}.itemTotalAmountWithoutTax", "a negative line is only possible on a "
                                "money adjustment: use a discount line (selection 3)"))
    for key, value in (("unitPrice", ln.unit_price), ("quantity", ln.quantity),
                       ("itemTotalAmountWithoutTax", ln.amount)):
        if value is not None:
            it[key] = num(abs(value))
    if ln.tax_rate is not None:
        code = _tax_code(ln.tax_rate, f"{path}.taxPercentage", problems)
        if code is not None:
            it["taxPercentage"] = code
    tax = ln.tax_amount
    if tax is None and ln.amount is not None:  # taxAmount is required: the line's VAT, 0 without VAT
        percent = ln.tax_rate.percent if ln.tax_rate is not None and ln.tax_rate.is_taxed else None
        tax = round_amount(ln.amount * percent / 100, currency) if percent is not None else Decimal(0)
    if tax is not None:
        it["taxAmount"] = num(abs(tax))
    if money and ln.kind is not LineKind.NOTE:
        if tax is not None:
            it["adjustmentTaxAmount"] = num(abs(tax))
        it["isIncreaseItem"] = increase
    elif ln.kind is LineKind.DISCOUNT or not increase:
        it["isIncreaseItem"] = increase
    if ln.discount_rate is not None:
        it["discount"] = num(ln.discount_rate)
    if ln.discount_amount is not None:
        it["itemDiscount"] = num(abs(ln.discount_amount))
    for ef in ln.extra:
        if ef.name in LINE_EXTRA_KEYS:
            it[ef.name] = ef.value
        else:
            problems.append(Problem(f"{path}.{ef.name}", f"itemInfo has no field for {ef.name!r} "
                                    f"(line extras may be {', '.join(LINE_EXTRA_KEYS)})"))
    return it


def _metadata(inv: Invoice, o: _Options, problems: list[Problem]) -> list[dict]:
    extras = [*inv.extra, *inv.seller.extra, *inv.buyer.extra, *(inv.totals.extra if inv.totals else ())]
    out = []
    for k, ef in enumerate(extras):
        path = f"metadata[{k}]"
        info = o.custom_fields.get(ef.name, {})
        entry: dict = {"invoiceCustomFieldId": info.get("id"), "keyTag": ef.name}
        if info.get("id") is None:
            problems.append(Problem(f"{path}.invoiceCustomFieldId", f"unknown custom field {ef.name!r}: pass "
                                    "custom_fields= (the answer of getCustomFields)"))
        if ef.type == "numeric":
            try:
                entry["numberValue"] = num(to_decimal(ef.value, path)) if ef.value != "" else None
            except ValidationError:
                problems.append(Problem(f"{path}.numberValue", f"{ef.value!r} is not a number"))
            entry["valueType"] = "number"
        elif ef.type in ("date", "dateTime"):
            try:
                entry["dateValue"] = str(ms(body_time(ef.value))) if ef.value != "" else None
            except (ValueError, TypeError):
                problems.append(Problem(f"{path}.dateValue", f"{ef.value!r} is not a date"))
            entry["valueType"] = "date"
        else:
            entry["stringValue"] = ef.value
            entry["valueType"] = "text"
        entry["keyLabel"] = info.get("label", ef.name)
        out.append({k: v for k, v in entry.items() if v is not None})
    return out


def _summary(inv: Invoice, money: bool, problems: list[Problem]) -> dict:
    t = inv.totals
    values = (t.total_before_tax, t.total_tax, t.total, t.total_discount, t.total_other_deduction)
    if not money and any(v is not None and v < 0 for v in values):
        problems.append(Problem("summarizeInfo", "negative totals are only possible on a money adjustment"))
    lines = sum((ln.signed_amount for ln in inv.lines if ln.counts_in_totals), Decimal(0))
    s: dict = {
        "sumOfTotalLineAmountWithoutTax": num(abs(lines)),
        "totalAmountWithoutTax": num(abs(t.total_before_tax)),
        "totalTaxAmount": num(abs(t.total_tax)),
        "totalAmountWithTax": num(abs(t.total)),
    }
    if inv.is_foreign_currency:
        s["totalAmountWithTaxFrn"] = num(abs(t.total))
    if t.total_in_words:
        s["totalAmountWithTaxInWords"] = t.total_in_words
    if money:
        s["isTotalAmountPos"] = t.total >= 0
        s["isTotalTaxAmountPos"] = t.total_tax >= 0
        s["isTotalAmtWithoutTaxPos"] = t.total_before_tax >= 0
    s["discountAmount"] = num(abs(t.total_discount or 0))
    if t.total_other_deduction is not None:
        s["settlementDiscountAmount"] = num(abs(t.total_other_deduction))
    if len(inv.tax_breakdown) == 1:
        code = _tax_code(inv.tax_breakdown[0].rate, "taxBreakdowns[0].taxPercentage", [])
        if code is not None:
            s["taxPercentage"] = code
    if money:
        s["isDiscountAmtPos"] = (t.total_discount or 0) >= 0
    return s


def _breakdown(inv: Invoice, money: bool, problems: list[Problem]) -> list[dict]:
    rows = []
    for j, b in enumerate(inv.tax_breakdown):
        path = f"taxBreakdowns[{j}]"
        row: dict = {"taxPercentage": _tax_code(b.rate, f"{path}.taxPercentage", problems),
                     "taxableAmount": num(abs(b.taxable_amount))}
        if b.tax_amount is not None:
            row["taxAmount"] = num(abs(b.tax_amount))
        if money:
            row["taxableAmountPos"] = b.taxable_amount >= 0
            row["taxAmountPos"] = (b.tax_amount or 0) >= 0
        elif b.taxable_amount < 0 or (b.tax_amount or 0) < 0:
            problems.append(Problem(path, "negative amounts are only possible on a money adjustment"))
        rows.append(row)
    return rows


def _build(inv: Invoice, o: _Options, problems: list[Problem]) -> dict:
    """The body the mapping writes for an invoice (before the residue of a read body is applied)."""
    money = inv.is_adjustment and o.adjustment_kind == MONEY
    information = inv.is_adjustment and o.adjustment_kind == INFORMATION
    _unmappable(inv, problems)
    body: dict = {
        "generalInvoiceInfo": _general(inv, o, problems),
        "buyerInfo": _buyer(inv.buyer),
        "sellerInfo": _seller(inv.seller),
        "payments": [{"paymentMethodName": inv.payment_method}] if inv.payment_method else [],
        "itemInfo": [_item(ln, i, money, inv.currency, problems) for i, ln in enumerate(inv.lines)],
    }
    if not inv.payment_method:
        problems.append(Problem("payments[0].paymentMethodName",
                                "the payment method is required (TM, CK, TM/CK, DTCN…; TM/CK when not known yet)"))
    if metadata := _metadata(inv, o, problems):
        body["metadata"] = metadata
    if o.meter_reading is not None:
        body["meterReading"] = copy.deepcopy(o.meter_reading)
    body["summarizeInfo"] = {} if information else _summary(inv, money, problems)
    body["taxBreakdowns"] = [] if information else _breakdown(inv, money, problems)
    return body


def _validate(body: dict, issue_date: date, problems: list[Problem]) -> None:
    """The required fields, lengths and formats of the seed's field tables, on the body the mapping writes."""

    def check(obj, path, key, required=False, size=None, pattern=None, minimum=0):
        value = obj.get(key) if isinstance(obj, dict) else None
        if value is None or value == "":
            if required:
                problems.append(Problem(f"{path}.{key}", "required"))
            return
        text = _str(value)
        shown = repr(text if len(text) <= 40 else text[:39] + "…")
        if size and not minimum <= len(text) <= size:
            limit = (f"exactly {size}" if minimum == size else f"{minimum} to {size}" if minimum
                     else f"at most {size}")
            problems.append(Problem(f"{path}.{key}", f"{shown} has {len(text)} characters, {limit} allowed"))
        if pattern and not re.fullmatch(pattern, text):
            problems.append(Problem(f"{path}.{key}", f"{shown} does not match {pattern}"))

    def amount(obj, path, key, digits=13):
        value = obj.get(key)
        if value is None or isinstance(value, bool) or not isinstance(value, (int, float)):
            return
        text = num_text(value)
        if value < 0 or len(text) > digits:
            problems.append(Problem(f"{path}.{key}", f"{text}: at most {digits} characters and not negative "
                                    "(the direction goes in isIncreaseItem / …Pos)"))

    g, gp = body.get("generalInvoiceInfo") or {}, "generalInvoiceInfo"
    for key, required, size, pattern, minimum in (
        ("invoiceType", True, 50, CODE, 0), ("templateCode", True, 20, CODE, 0),
        ("invoiceSeries", False, 6, CODE, 6), ("invoiceIssuedDate", True, None, None, 0),
        ("currencyCode", True, 3, "[A-Z]{3}", 0), ("adjustmentType", True, 1, "[135]", 0),
        ("invoiceNo", False, 13, CODE, 7), ("invoiceNote", False, 400, None, 0),
        ("adjustmentInvoiceType", False, 1, "[12]", 0), ("additionalReferenceDesc", False, 225, None, 0),
        ("paymentType", False, 30, PAYMENT_TYPE, 0), ("paymentTypeName", False, 100, None, 0),
        ("buyerIdType", False, 1, "[123]", 0), ("buyerIdNo", False, 20, None, 0),
        ("transactionUuid", False, 36, None, 0),
    ):
        check(g, gp, key, required, size, pattern, minimum)
    if g.get("adjustmentType") in ("3", "5"):
        check(g, gp, "originalInvoiceId", True, 13, CODE, 7)
        for key in ("originalInvoiceIssueDate", "additionalReferenceDesc", "additionalReferenceDate", "invoiceNote"):
            check(g, gp, key, True)
        if g.get("adjustmentType") == "5":
            check(g, gp, "adjustmentInvoiceType", True)
    if g.get("templateCode") and g.get("invoiceSeries"):
        template = short_template(_str(g["templateCode"]))
        for problem in check_template_symbol(template, _str(g["invoiceSeries"]), issue_date):
            problems.append(Problem(f"{gp}.{'invoiceSeries' if problem.path == 'KHHDon' else 'templateCode'}",
                                    problem.message))
    for block, role, required in PARTY_BLOCKS:
        obj = body.get(block) or {}
        for key, size, pattern in PARTY_FIELDS:
            check(obj, block, role + key, key in required, size, pattern)
    if not body.get("payments"):
        problems.append(Problem("payments[0].paymentMethodName", "required"))
    for k, pay in enumerate(body.get("payments") or []):
        check(pay, f"payments[{k}]", "paymentMethodName", True, 50)
    numbers: set = set()
    for i, it in enumerate(body.get("itemInfo") or []):
        path = f"itemInfo[{i}]"
        check(it, path, "lineNumber", True)
        if it.get("lineNumber") in numbers:
            problems.append(Problem(f"{path}.lineNumber", f"line number {it['lineNumber']} is used twice"))
        numbers.add(it.get("lineNumber"))
        text_line = it.get("selection") == 2
        check(it, path, "itemCode", size=50, pattern=r"[A-Za-z0-9/_\-]+")
        check(it, path, "itemName", True, 300)
        goods = it.get("selection") in (None, 1, 4)
        check(it, path, "unitName", goods and ("quantity" in it or "unitPrice" in it), 50)
        for key in LINE_EXTRA_KEYS:
            check(it, path, key, size=50)
        if not text_line:
            check(it, path, "itemTotalAmountWithoutTax", True)
            check(it, path, "taxAmount", True)
        check(it, path, "selection", pattern="[1-4]")
        for key in ("unitPrice", "quantity", "itemTotalAmountWithoutTax", "taxAmount", "adjustmentTaxAmount",
                    "itemDiscount"):
            amount(it, path, key)
    s = body.get("summarizeInfo") or {}
    info = g.get("adjustmentType") == "5" and g.get("adjustmentInvoiceType") == INFORMATION
    for key, digits in SUMMARY_AMOUNTS:
        check(s, "summarizeInfo", key, not info)
        amount(s, "summarizeInfo", key, digits)
    for key in SUMMARY_OPTIONAL:
        amount(s, "summarizeInfo", key)
    check(s, "summarizeInfo", "totalAmountWithTaxInWords", size=255)
    for j, row in enumerate(body.get("taxBreakdowns") or []):
        for key in ("taxableAmount", "taxAmount"):
            amount(row, f"taxBreakdowns[{j}]", key)
        check(row, f"taxBreakdowns[{j}]", "taxExemptionReason", size=255)
    for k, entry in enumerate(body.get("metadata") or []):
        for key in METADATA_KEYS:
            check(entry, f"metadata[{k}]", key, True)


def to_sinvoice(
    invoice: Invoice,
    *,
    transaction_uuid: str | None = None,
    user_name: str | None = None,
    adjustment_type: str | None = None,
    issued_at: datetime | None = None,
    template_code: str | None = None,
    original_template_code: str | None = None,
    agreement_name: str | None = None,
    agreement_date: date | datetime | None = None,
    payment_status: bool | None = None,
    custom_fields: list[dict] | None = None,
    exact: bool = True,
) -> dict:
    """The ``createInvoice`` body (``commonInvoiceInput``) for an invoice, as a JSON-ready dict.

    ``adjustmentType`` follows ``invoice.related``: none "1", replacement "3", adjustment "5".
    ``adjustment_type`` is SInvoice's ``adjustmentInvoiceType`` of an adjustment: "1"/"money" or
    "2"/"information" (default: what was read, else "information" when no line carries an amount).
    ``issued_at`` is the instant of issue (SInvoice checks that issue times follow its numbering; the
    default is midnight GMT+7 of ``invoice.issue_date``). ``template_code`` is SInvoice's code of a
    current-regime template (``"1/001"``); legacy templates (``01GTKT0/001``) are sent as they are.
    ``agreement_name``/``agreement_date`` (``additionalReferenceDesc/Date``) are required for a
    replacement or adjustment. ``custom_fields`` is the answer of ``getCustomFields``, to give
    ``invoice.extra`` their ``invoiceCustomFieldId``. Defaults come from ``invoice.meta["sinvoice"]``.
    ``exact=False`` writes the mapping alone, without the residue of a body read by :func:`from_sinvoice`.
    Raises :class:`ValidationError` listing every problem with its JSON path.
    """
    problems: list[Problem] = []
    if invoice.totals is None:
        invoice = complete(invoice)
    kw = {
        "transaction_uuid": transaction_uuid, "user_name": user_name, "adjustment_type": adjustment_type,
        "issued_at": issued_at, "template_code": template_code, "original_template_code": original_template_code,
        "agreement_name": agreement_name, "agreement_date": agreement_date, "payment_status": payment_status,
        "custom_fields": custom_fields,
    }
    if issued_at is not None and in_gmt7(issued_at).date() != invoice.issue_date:
        problems.append(Problem("generalInvoiceInfo.invoiceIssuedDate", f"issued_at {issued_at} is not on "
                                f"the issue date {invoice.issue_date:%d/%m/%Y} (GMT+7)"))
    body = _build(invoice, _options(invoice, kw, problems), problems)
    checked: list[Problem] = []
    _validate(body, invoice.issue_date, checked)
    known = {q.path for q in problems} | {q.path.split(".")[0] for q in problems if q.path.startswith("itemInfo[")}
    problems += [p for p in checked if p.path not in known and p.path.split(".")[0] not in known]
    if problems:
        raise ValidationError(problems)
    if exact:
        _apply_residue(body, invoice)  # the body as read: not checked again
    return body
