"""QR code of an e-invoice (``HDon/DLQRCode``, Decision 1271/QĐ-CT §IV.7) and VietQR payment data.

The payload is EMVCo MPM TLV: each data object is a 2-digit ID, a 2-digit length and a value of
1–99 characters; empty values are omitted. Lengths count **characters** (Unicode code points),
as EMVCo does, not UTF-8 bytes; the builders fold text to ASCII anyway, so both agree for what
this module produces. The invoice data sit in template ID ``99``::

    00 GUID A000000775 | 01 seller MST without "-" | 02 KHMSHDon | 03 KHHDon | 04 SHDon (unpadded)
    05 NLap YYYYMMDD   | 06 TgTTTBSo

ID ``63`` ends the payload: CRC-16/CCITT-FALSE over everything before it, ``6304`` included,
as 4 upper-case hex digits. The whole payload is at most 512 characters.

A VietQR (NAPAS 247) payment block (ID ``38`` + ``53``/``54``/``58``/``59``/``60``/``62``) may
precede ID ``99`` so that banking apps can pay the invoice from the same QR.
"""

from __future__ import annotations

import binascii
import io
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

from .errors import Problem, ValidationError

PATH = "DLQRCode"
MAX_PAYLOAD = 512
INVOICE_GUID = "A000000775"
NAPAS_GUID = "A000000727"
VIETQR_SERVICES = ("QRIBFTTA", "QRIBFTTC", "QRPUSH")
CURRENCY_VND = "704"
COUNTRY_VN = "VN"

# IDs whose value is itself a TLV list (merchant account templates, additional data, language, invoice).
TEMPLATE_IDS = frozenset({*(f"{i:02d}" for i in range(26, 52)), "62", "64", "99"})

_ID = re.compile(r"\d{2}")


def _error(message: str) -> ValidationError:
    return ValidationError.at(PATH, message)


# ---------------------------------------------------------------------------------------------- TLV


def crc16_ccitt_false(data: bytes | str) -> str:
    """CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection, no xor-out) as 4 upper-case hex digits."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    # binascii's CRC-CCITT is this polynomial, unreflected, from the given start: CCITT-FALSE from 0xFFFF (in C)
    return f"{binascii.crc_hqx(data, 0xFFFF):04X}"


def tlv(id: str, value: str) -> str:
    """One data object ``ID + LL + value``; ``""`` for an empty value (empty fields are omitted)."""
    if not _ID.fullmatch(id):
        raise _error(f"invalid ID {id!r}: two digits expected")
    if not value:
        return ""
    if len(value) > 99:
        raise _error(f"ID {id}: value of {len(value)} characters exceeds 99: {value[:30]!r}…")
    return f"{id}{len(value):02d}{value}"


def parse_tlv(payload: str) -> list[tuple[str, str]]:
    """Split one TLV level into ``(id, value)`` pairs, in order. Raises ValidationError if malformed."""
    items: list[tuple[str, str]] = []
    pos = 0
    while pos < len(payload):
        head = payload[pos : pos + 4]
        if len(head) < 4 or not head.isascii() or not head.isdigit():
            raise _error(f"malformed TLV at position {pos}: {payload[pos : pos + 10]!r}")
        size = int(head[2:])
        value = payload[pos + 4 : pos + 4 + size]
        if size == 0 or len(value) < size:
            raise _error(f"ID {head[:2]} at position {pos}: bad length {head[2:]}")
        items.append((head[:2], value))
        pos += 4 + size
    return items


def parse_tlv_tree(payload: str) -> dict:
    """Parse a payload into ``{id: value}``; templates (26–51, 62, 64, 99) become sub-dicts.

    A template whose value is not valid TLV is kept as a string. Duplicate IDs raise ValidationError.
    """
    tree: dict = {}
    for id, value in parse_tlv(payload):
        if id in tree:
            raise _error(f"duplicate ID {id}")
        if id in TEMPLATE_IDS:
            try:
                pairs = parse_tlv(value)
            except ValidationError:
                pairs = None
            if pairs is not None and len(dict(pairs)) == len(pairs):
                value = dict(pairs)
        tree[id] = value
    return tree


def with_crc(body: str) -> str:
    """Append ID 63 with the CRC of ``body + "6304"``."""
    body += "6304"
    return body + crc16_ccitt_false(body)


def _check_length(payload: str) -> str:
    if len(payload) > MAX_PAYLOAD:
        raise _error(f"payload of {len(payload)} characters exceeds {MAX_PAYLOAD}")
    return payload


# ------------------------------------------------------------------------------------------ values


def format_amount(value) -> str:
    """An amount as written in ``TgTTTBSo``: plain decimal, no exponent or separators, no trailing zeros."""
    amount = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
    if not amount.is_finite():
        raise _error(f"amount {value!r} is not a finite number")
    text = format(amount, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def ascii_text(text: str) -> str:
    """Vietnamese text without diacritics (``đ`` → ``d``), non-ASCII dropped, spaces collapsed."""
    text = text.replace("đ", "d").replace("Đ", "D")
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return " ".join(text.split())


def _tax_code_digits(tax_code: str) -> str:
    return re.sub(r"[\s-]", "", tax_code or "")


# ----------------------------------------------------------------------------------------- VietQR


@dataclass(frozen=True)
class VietQRPayment:
    """Where to pay, as a VietQR (NAPAS 247) merchant account (ID 38).

    ``service``: ``QRIBFTTA`` transfer to an account, ``QRIBFTTC`` to a card, ``QRPUSH`` merchant.
    ``purpose`` (62/08, ≤ 25), ``merchant_name`` (59, ≤ 25) and ``merchant_city`` (60, ≤ 15) are
    folded to ASCII without diacritics when serialised.
    """

    bank_bin: str  # 6-digit NAPAS acquirer BIN, e.g. 970436 (Vietcombank)
    account: str  # consumer id: account or card number
    service: str = "QRIBFTTA"
    purpose: str = ""
    merchant_name: str = ""
    merchant_city: str = ""

    def __post_init__(self):
        problems = []
        if not re.fullmatch(r"\d{6}", self.bank_bin or ""):
            problems.append(f"VietQR bank BIN must be 6 digits, got {self.bank_bin!r}")
        if not re.fullmatch(r"[0-9A-Za-z]{1,19}", self.account or ""):
            problems.append(f"VietQR account must be 1-19 letters or digits, got {self.account!r}")
        if self.service not in VIETQR_SERVICES:
            problems.append(
                f"VietQR service must be one of {', '.join(VIETQR_SERVICES)}, got {self.service!r}"
            )
        for name, limit in (("purpose", 25), ("merchant_name", 25), ("merchant_city", 15)):
            value = ascii_text(getattr(self, name))
            if len(value) > limit:
                problems.append(f"VietQR {name} exceeds {limit} characters: {value!r}")
        if problems:
            raise ValidationError([Problem(PATH, p) for p in problems])

    def merchant_account(self) -> str:
        """The ID 38 data object."""
        beneficiary = tlv("00", self.bank_bin) + tlv("01", self.account)
        return tlv("38", tlv("00", NAPAS_GUID) + tlv("01", beneficiary) + tlv("02", self.service))

    def fields(self, amount) -> str:
        """IDs 38, 53, 54, 58, 59, 60, 62 (in that order) for ``amount`` VND (``None``: no amount)."""
        amount_text = ""
        if amount is not None:
            amount_text = format_amount(amount)
            if amount_text.startswith("-"):
                raise _error(f"VietQR amount cannot be negative: {amount_text}")
        return (
            self.merchant_account()
            + tlv("53", CURRENCY_VND)
            + tlv("54", amount_text)
            + tlv("58", COUNTRY_VN)
            + tlv("59", ascii_text(self.merchant_name))
            + tlv("60", ascii_text(self.merchant_city))
            + tlv("62", tlv("08", ascii_text(self.purpose)))
        )


def vietqr_payload(payment: VietQRPayment, amount=None, *, point_of_initiation: str | None = None) -> str:
    """A payment-only VietQR payload (with CRC). Static (``11``) without an amount, dynamic (``12``) with one."""
    poi = point_of_initiation or ("11" if amount is None else "12")
    return _check_length(with_crc(tlv("00", "01") + tlv("01", poi) + payment.fields(amount)))


# ------------------------------------------------------------------------------------- invoice QR


def invoice_qr_payload(
    invoice, *, payment: VietQRPayment | None = None, point_of_initiation: str = "12"
) -> str:
    """The ``DLQRCode`` payload of a numbered invoice, with an optional VietQR payment block (VND only).

    Layout (as the official example): 00, 01, [38, 53, 54, 58, 59, 60, 62], 99, 63.
    """
    problems = []
    if point_of_initiation not in ("11", "12"):
        problems.append(f"point of initiation (ID 01) must be 11 or 12, got {point_of_initiation!r}")
    seller_mst = _tax_code_digits(getattr(invoice.seller, "tax_code", ""))
    if not seller_mst:
        problems.append("seller has no tax code (ID 99.01)")
    elif not re.fullmatch(r"\d{10}(\d{3})?", seller_mst):
        problems.append(f"seller tax code {invoice.seller.tax_code!r} is not 10 or 13 digits (ID 99.01)")
    if not invoice.template:
        problems.append("invoice has no template KHMSHDon (ID 99.02)")
    if not invoice.symbol:
        problems.append("invoice has no symbol KHHDon (ID 99.03)")
    if invoice.number is None:
        problems.append("invoice has no number SHDon yet (ID 99.04)")
    if invoice.issue_date is None:
        problems.append("invoice has no issue date NLap (ID 99.05)")
    if invoice.totals is None:
        problems.append("invoice has no totals TgTTTBSo (ID 99.06)")
    if payment is not None and (invoice.currency or "VND").upper() != "VND":
        problems.append(f"VietQR payment needs VND, invoice is in {invoice.currency}")
    if problems:
        raise ValidationError([Problem(PATH, p) for p in problems])

    total = format_amount(invoice.totals.total)
    block = (
        tlv("00", INVOICE_GUID)
        + tlv("01", seller_mst)
        + tlv("02", str(invoice.template))
        + tlv("03", invoice.symbol)
        + tlv("04", str(int(invoice.number)))
        + tlv("05", invoice.issue_date.strftime("%Y%m%d"))
        + tlv("06", total)
    )
    body = tlv("00", "01") + tlv("01", point_of_initiation)
    if payment is not None:
        body += payment.fields(invoice.totals.total)
    return _check_length(with_crc(body + tlv("99", block)))


@dataclass(frozen=True)
class InvoiceQR:
    """What a ``DLQRCode`` payload says. ``fields`` is the whole :func:`parse_tlv_tree` result."""

    seller_tax_code: str  # digits only, as in the QR
    template: str
    symbol: str
    number: int
    issue_date: date
    total: Decimal
    point_of_initiation: str = ""
    amount: Decimal | None = None  # ID 54
    currency: str = ""  # ID 53 (numeric ISO 4217)
    payment: VietQRPayment | None = None  # ID 38 (+ 59, 60, 62/08)
    crc: str = ""
    fields: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def seller_tax_code_display(self) -> str:
        """The tax code as printed: ``0107001729001`` → ``0107001729-001``."""
        mst = self.seller_tax_code
        return f"{mst[:10]}-{mst[10:]}" if len(mst) == 13 else mst


def _parse_payment(tree: dict, problems: list[str]) -> VietQRPayment | None:
    account = tree.get("38")
    if not isinstance(account, dict) or account.get("00") != NAPAS_GUID:
        return None
    try:
        beneficiary = dict(parse_tlv(account.get("01", "")))
    except ValidationError:
        beneficiary = {}
    extra = tree.get("62") if isinstance(tree.get("62"), dict) else {}
    try:
        return VietQRPayment(
            bank_bin=beneficiary.get("00", ""),
            account=beneficiary.get("01", ""),
            service=account.get("02", "QRIBFTTA"),
            purpose=extra.get("08", ""),
            merchant_name=tree.get("59", ""),
            merchant_city=tree.get("60", ""),
        )
    except ValidationError as exc:
        problems.extend(p.message for p in exc.problems)
        return None


def parse_invoice_qr(payload: str) -> InvoiceQR:
    """Parse and check a ``DLQRCode`` payload. Raises ValidationError listing every problem found."""
    problems: list[str] = []
    if len(payload) > MAX_PAYLOAD:
        problems.append(f"payload of {len(payload)} characters exceeds {MAX_PAYLOAD}")
    try:
        items = parse_tlv(payload)
        tree = parse_tlv_tree(payload)
    except ValidationError as exc:  # malformed TLV: nothing more can be checked
        raise ValidationError([Problem(PATH, p) for p in problems] + list(exc.problems)) from None
    if not items or items[0] != ("00", "01"):
        problems.append("payload must start with ID 00 = 01 (000201)")
    found = items[-1][1] if items and items[-1][0] == "63" else None
    if found is None or len(found) != 4:
        problems.append("payload must end with the CRC, ID 63 of length 04")
    else:
        expected = crc16_ccitt_false(payload[:-4])
        if found.upper() != expected:
            problems.append(f"bad CRC: expected {expected}, found {found}")
    block = tree.get("99")
    if block is None:
        problems.append("no invoice data (ID 99)")
    elif not isinstance(block, dict):
        problems.append("ID 99 is not a TLV template")
    elif block.get("00") != INVOICE_GUID:
        problems.append(f"ID 99.00 GUID must be {INVOICE_GUID}, found {block.get('00', '')!r}")
    has_block = isinstance(block, dict)
    block = block if has_block else {}

    def required(sub: str, name: str, pattern: str) -> str:
        value = block.get(sub, "")
        if not value:
            if has_block:
                problems.append(f"ID 99.{sub} ({name}) missing")
        elif not re.fullmatch(pattern, value):
            problems.append(f"ID 99.{sub} ({name}) invalid: {value!r}")
        return value

    mst = required("01", "seller MST", r"\d{10}(\d{3})?")
    template = required("02", "KHMSHDon", r"\d")
    symbol = required("03", "KHHDon", r"[0-9A-Z]{6}")
    number = required("04", "SHDon", r"\d{1,8}")
    issued = required("05", "NLap", r"\d{8}")
    total_text = required("06", "TgTTTBSo", r"-?\d{1,17}(\.\d+)?")
    issue_date = None
    if re.fullmatch(r"\d{8}", issued):
        try:
            issue_date = date(int(issued[:4]), int(issued[4:6]), int(issued[6:]))
        except ValueError:
            problems.append(f"ID 99.05 (NLap) is not a date: {issued!r}")
    amount = None
    if "54" in tree:
        try:
            amount = Decimal(tree["54"])
        except InvalidOperation:
            problems.append(f"ID 54 (amount) invalid: {tree['54']!r}")
    payment = _parse_payment(tree, problems)
    if problems:
        raise ValidationError([Problem(PATH, p) for p in problems])
    return InvoiceQR(
        seller_tax_code=mst,
        template=template,
        symbol=symbol,
        number=int(number),
        issue_date=issue_date,
        total=Decimal(total_text),
        point_of_initiation=tree.get("01", ""),
        amount=amount,
        currency=tree.get("53", ""),
        payment=payment,
        crc=found.upper(),
        fields=tree,
    )


def invoice_qr_problems(payload: str, *, seller_tax_code: str, template: str, symbol: str, number: str,
                        issue_date: str, total: str) -> list[str]:
    """Why ``DLQRCode`` does not describe the signed invoice (empty: it does).

    The QR sits outside the signed ``DLHDon``: its own checks (TLV, CRC) and each field against the
    signed values (MST, template, symbol, number, date, total), all given as the XML's texts."""
    try:
        qr = parse_invoice_qr(payload)
    except ValidationError as exc:
        return [p.message for p in exc.problems]
    problems = []

    def differs(label: str, in_qr, signed) -> None:
        problems.append(f"the QR code's {label} ({in_qr}) is not the invoice's ({signed or 'missing'})")

    if qr.seller_tax_code != _tax_code_digits(seller_tax_code):
        differs("seller MST", qr.seller_tax_code, seller_tax_code)
    if qr.template != (template or "").strip():
        differs("template", qr.template, template)
    if qr.symbol != (symbol or "").strip():
        differs("symbol", qr.symbol, symbol)
    if not re.fullmatch(r"[0-9]{1,8}", (number or "").strip()) or qr.number != int(number):
        differs("number", qr.number, number)
    if qr.issue_date is None or qr.issue_date.isoformat() != (issue_date or "").strip():
        differs("issue date", qr.issue_date, issue_date)
    try:
        same_total = qr.total == Decimal((total or "").strip())
    except InvalidOperation:
        same_total = False
    if not same_total:
        differs("total", qr.total, total)
    return problems


# --------------------------------------------------------------------------------------- rendering


def _qr(payload: str, box_size: int, border: int, image_factory):
    import qrcode  # noqa: PLC0415 - heavy (qrcode loads Pillow, ~22 ms): only rendering needs it

    code = qrcode.QRCode(
        error_correction=qrcode.constants.ERROR_CORRECT_M,
        box_size=box_size,
        border=border,
        image_factory=image_factory,
    )
    code.add_data(payload)
    code.make(fit=True)
    return code.make_image()


def qr_png(payload: str, *, box_size: int = 6, border: int = 4) -> bytes:
    """The payload as a black-and-white PNG (error correction M)."""
    from qrcode.image.pil import PilImage  # noqa: PLC0415 - heavy (qrcode loads Pillow, ~22 ms): only rendering needs it

    stream = io.BytesIO()
    _qr(payload, box_size, border, PilImage).save(stream, format="PNG")
    return stream.getvalue()


def qr_svg(payload: str, *, box_size: int = 10, border: int = 4) -> str:
    """The payload as a standalone SVG document (one path, error correction M), without XML declaration
    so that it can be inlined into HTML."""
    from qrcode.image.svg import SvgPathImage  # noqa: PLC0415 - heavy (qrcode loads Pillow, ~22 ms): only rendering needs it

    stream = io.BytesIO()
    _qr(payload, box_size, border, SvgPathImage).save(stream)
    text = stream.getvalue().decode("utf-8")
    return re.sub(r"^\s*<\?xml[^>]*\?>\s*", "", text)
