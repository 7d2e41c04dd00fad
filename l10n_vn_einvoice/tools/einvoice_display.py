"""One display view of a parsed e-invoice, for the PDF, the public lookup summary and the verify page.

Plain Python, no ORM: a parsed invoice (``vn_einvoice.xml.parse_xml``), its verification report
(``vn_einvoice.signing.verify_invoice``) and display options in; labels, amounts, parties, lines, tax
breakdown, related invoice text and signature boxes out, as text ready to print. Table rows (lines,
columns, breakdown, compared fields) are dicts: templates read them by column key.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from datetime import date
from decimal import Decimal

from cryptography import x509
from cryptography.x509.oid import NameOID
from markupsafe import Markup

from vn_einvoice.codes import TEMPLATE_TITLES, Regime, normalize_tax_code, template_kind, template_regime
from vn_einvoice.document import Invoice, LineKind, Party, RelatedInvoice, RelationKind
from vn_einvoice.errors import EInvoiceError
from vn_einvoice.signing import SignatureReport, VerificationReport
from vn_einvoice.signing.xmldsig import to_ict

# Labels of the printed invoice: (Vietnamese, English). English is printed only on bilingual invoices.
LABELS = {
    'template': ('Mẫu số', 'Form'),
    'symbol': ('Ký hiệu', 'Serial'),
    'number': ('Số', 'No.'),
    'date_day': ('Ngày', 'Date'),
    'date_month': ('tháng', 'month'),
    'date_year': ('năm', 'year'),
    'authority_code': ('Mã của cơ quan thuế', 'Tax authority code'),
    'seller': ('Đơn vị bán hàng', 'Seller'),
    'tax_code': ('Mã số thuế', 'Tax code'),
    'address': ('Địa chỉ', 'Address'),
    'phone': ('Điện thoại', 'Tel'),
    'email': ('Email', ''),
    'website': ('Website', ''),
    'bank_account': ('Số tài khoản', 'Bank account'),
    'at_bank': ('tại', 'at'),
    'buyer_contact': ('Họ tên người mua hàng', "Buyer's name"),
    'buyer_name': ('Tên đơn vị', 'Company name'),
    'buyer_code': ('Mã khách hàng', 'Customer code'),
    'id_number': ('Số CCCD/Hộ chiếu', 'ID/Passport No.'),
    'budget_code': ('Mã ĐVQHNS', 'Budget unit code'),
    'payment_method': ('Hình thức thanh toán', 'Payment method'),
    'currency': ('Đồng tiền thanh toán', 'Currency'),
    'exchange_rate': ('Tỷ giá', 'Exchange rate'),
    'seq': ('STT', 'No.'),
    'description': ('Tên hàng hóa, dịch vụ', 'Description'),
    'unit': ('Đơn vị tính', 'Unit'),
    'quantity': ('Số lượng', 'Quantity'),
    'unit_price': ('Đơn giá', 'Unit price'),
    'discount': ('Chiết khấu', 'Discount'),
    'vat_rate': ('Thuế suất', 'VAT rate'),
    'amount': ('Thành tiền chưa có thuế GTGT', 'Amount before VAT'),
    'amount_plain': ('Thành tiền', 'Amount'),
    'promotion': ('Khuyến mại', 'Promotion'),
    'trade_discount': ('Chiết khấu thương mại', 'Trade discount'),
    'breakdown_rate': ('Tổng hợp theo thuế suất', 'Summary by VAT rate'),
    'before_vat': ('Thành tiền trước thuế', 'Amount before VAT'),
    'vat_amount': ('Tiền thuế GTGT', 'VAT amount'),
    'total_with_vat': ('Cộng tiền thanh toán', 'Total'),
    'total_line': ('Tổng cộng', 'Total'),
    'total_discount': ('Tổng tiền chiết khấu thương mại', 'Total trade discount'),
    'total_payment': ('Tổng tiền thanh toán', 'Total payment'),
    'in_words': ('Số tiền viết bằng chữ', 'Amount in words'),
    'in_words_decrease': ('Số tiền điều chỉnh giảm viết bằng chữ', 'Decrease, in words'),
    'equivalent': ('Quy đổi', 'Equivalent'),
    'buyer_sign': ('Người mua hàng', 'Buyer'),
    'seller_sign': ('Người bán hàng', 'Seller'),
    'sign_hint': ('Chữ ký số (nếu có)', 'Digital signature, if any'),
    'sign_hint_seller': ('Chữ ký điện tử, chữ ký số', 'Electronic, digital signature'),
    'signature_valid': ('Chữ ký hợp lệ', 'Signature valid'),
    'signature_invalid': ('Chữ ký KHÔNG hợp lệ', 'Signature NOT valid'),
    'signature_unverified': ('Chữ ký toàn vẹn, chưa xác minh người ký', 'Signature intact, signer not verified'),
    'signed_by': ('Ký bởi', 'Signed by'),
    'signed_on': ('Ký ngày', 'Signed on'),
    'not_signed': ('Chưa ký', 'Not signed'),
    'lookup_at': ('Tra cứu hóa đơn tại', 'Look the invoice up at'),
    'lookup_code': ('Mã tra cứu', 'Lookup code'),
    'scan_to_pay': ('Quét mã để thanh toán', 'Scan to pay'),
    'check_note': ('Cần kiểm tra, đối chiếu khi lập, giao, nhận hóa đơn',
                   'Please check the invoice when issuing, delivering and receiving it'),
    'solution': ('Giải pháp hóa đơn điện tử của tổ chức có MST', 'E-invoice solution provider tax code'),
    'page': ('Trang', 'Page'),
    'adjustment_title': ('Hóa đơn điều chỉnh', 'Adjustment invoice'),
    'replacement_title': ('Hóa đơn thay thế', 'Replacement invoice'),
    'continued': ('Tiếp theo trang trước', 'Continued from the previous page'),
    'fee': ('Phí, lệ phí', 'Fees'),
}

ENGLISH_TITLES = {
    '1': 'VAT INVOICE', '2': 'SALES INVOICE', '3': 'PUBLIC ASSET SALES INVOICE',
    '4': 'NATIONAL RESERVE SALES INVOICE', '5': 'E-STAMP, TICKET, CARD', '6': 'DELIVERY NOTE',
    '7': 'E-COMMERCE INVOICE', '8': 'VAT INVOICE WITH RECEIPT', '9': 'SALES INVOICE WITH RECEIPT',
}

RATE_LABELS = {
    'KCT': ('Không chịu thuế GTGT', 'Not subject to VAT'),
    'KKKNT': ('Không kê khai, tính nộp thuế GTGT', 'VAT not declared'),
}

SIGNER_ROLES = {'seller': ('Người bán', 'Seller'), 'buyer': ('Người mua', 'Buyer'),
                'authority': ('Cơ quan thuế', 'Tax authority'), 'other': ('Khác', 'Other')}


# ----------------------------------------------------------------------
# Text of single values
# ----------------------------------------------------------------------

def format_number(value, min_decimals=0, max_decimals=None):
    """Vietnamese number format: ``1.234.567,5`` (dots group thousands, comma before decimals)."""
    if value is None:
        return ''
    value = Decimal(value)
    if max_decimals is not None:
        value = value.quantize(Decimal(1).scaleb(-max_decimals))
    text = format(value.normalize() if value == value.to_integral_value() else value, 'f')
    negative = text.startswith('-')
    text = text.lstrip('-')
    whole, _sep, decimals = text.partition('.')
    decimals = decimals.rstrip('0')
    decimals = decimals.ljust(min_decimals, '0')
    groups = []
    while len(whole) > 3:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    groups.insert(0, whole)
    text = '.'.join(groups) + (',' + decimals if decimals else '')
    return ('-' if negative and text.strip('0.,') else '') + text


def number_text(number, template=''):
    """The invoice number as printed: 8 digits (Decree 123), 7 for the legacy templates (``01GTKT0/001``)."""
    if number is None:
        return ''
    try:
        legacy = template_regime(template) is Regime.LEGACY
    except EInvoiceError:
        legacy = False
    return f'{int(number):07d}' if legacy else f'{int(number):08d}'


def date_text(day: date | None) -> str:
    return day.strftime('%d/%m/%Y') if day else ''


def rate_text(rate):
    """A VAT rate as printed: ``10%``, ``KCT``… (``KHAC:x%`` as its percentage)."""
    if rate is None:
        return ''
    if rate.code.startswith('KHAC'):
        return f'{format_number(rate.percent)}%' if rate.percent is not None else 'KHAC'
    return rate.code


def bilingual_label(vi, en='', br=False):
    """``Đơn giá (Unit price)`` as safe HTML, the English part in a span (on its own line with ``br``)."""
    if not en:
        return Markup('%s') % vi
    template = Markup('%s<br/><span class="vn-en">(%s)</span>') if br else Markup('%s <span class="vn-en">(%s)</span>')
    return template % (vi, en)


def labels(bilingual, br=False):
    """Every label of the PDF, in Vietnamese, with its English subtitle on bilingual invoices."""
    return {key: bilingual_label(vi, en if bilingual else '', br=br) for key, (vi, en) in LABELS.items()}


def certificate_common_name(subject):
    """The CN of an RFC 4514 subject string (the whole subject when it has none)."""
    if not subject:
        return ''
    try:
        names = x509.Name.from_rfc4514_string(subject).get_attributes_for_oid(NameOID.COMMON_NAME)
        if names:
            return names[0].value
    except Exception:  # noqa: BLE001 - an unusual subject string: show it as it is
        match = re.search(r'(?:^|,)\s*CN=((?:\\.|[^,])*)', subject)
        if match:
            return match.group(1).replace('\\', '')
    return subject


@dataclass(frozen=True)
class DisplayOptions:
    bilingual: bool = False  # English subtitles under the Vietnamese labels
    digits: int = 0  # decimals always printed in amounts (the currency's)
    english_words: Callable[[Decimal], str] | None = None  # amount in English words (bilingual invoices)

    def money(self, value):
        return format_number(value, min_decimals=self.digits)


# ----------------------------------------------------------------------
# Signatures, related invoice, summary: shared by the PDF and the public pages
# ----------------------------------------------------------------------

@dataclass(frozen=True)
class SignatureBox:
    """One signature as shown: who signed, when, and whether it holds."""

    role: tuple[str, str]  # (Vietnamese, English)
    valid: bool
    name: str  # the certificate's CN
    tax_code: str
    serial: str
    signed_on: str  # dd/mm/YYYY HH:MM:SS, GMT+7
    cert_valid: bool | None  # the certificate was valid at the signing time
    problems: tuple[str, ...] = ()
    # the certificate chains to the trust store; None: no trust store, who signed is not verified
    verified: bool | None = None

    @property
    def status(self) -> str:
        """``valid`` (intact and the signer verified), ``unverified`` (intact, no trust store) or ``invalid``."""
        if not self.valid:
            return 'invalid'
        return 'valid' if self.verified else 'unverified'


def signature_box(signature: SignatureReport | None, document_valid=True) -> SignatureBox | None:
    """``document_valid=False`` shows the box as not valid (the invoice does not verify as a whole)."""
    if signature is None:
        return None
    if signature.signing_time is not None:
        signed_on = to_ict(signature.signing_time).strftime('%d/%m/%Y %H:%M:%S')
    else:
        signed_on = signature.signing_time_text or ''
    return SignatureBox(
        role=SIGNER_ROLES.get(signature.role, SIGNER_ROLES['other']),
        valid=bool(signature.valid) and document_valid,
        name=certificate_common_name(signature.subject),
        tax_code=signature.subject_tax_code or '',
        serial=signature.serial or '',
        signed_on=signed_on,
        cert_valid=signature.certificate_valid_at_signing_time,
        problems=tuple(signature.problems),
        verified=signature.trusted,
    )


def signature_boxes(report: VerificationReport) -> list[SignatureBox]:
    return [signature_box(signature) for signature in report.signatures]


@dataclass(frozen=True)
class Related:
    text: str  # "Điều chỉnh cho hóa đơn …"
    note: str
    adjustment: bool  # else a replacement


def related_view(related: RelatedInvoice | None) -> Related | None:
    if related is None:
        return None
    return Related(related.reference_text(), related.note, related.relation is RelationKind.ADJUSTMENT)


@dataclass(frozen=True)
class Summary:
    """The invoice in a few lines (public lookup result, verify page)."""

    template: str
    symbol: str
    number: str
    date: str
    seller_name: str
    seller_tax_code: str
    buyer_name: str
    buyer_tax_code: str = ''
    total: str = ''  # with the currency: ``3.300.000 VND``
    related: str = ''


def summary(invoice: Invoice, digits=0) -> Summary:
    totals = invoice.totals
    return Summary(
        template=invoice.template, symbol=invoice.symbol, number=number_text(invoice.number, invoice.template),
        date=date_text(invoice.issue_date),
        seller_name=invoice.seller.name, seller_tax_code=invoice.seller.tax_code,
        buyer_name=invoice.buyer.name, buyer_tax_code=invoice.buyer.tax_code,
        total=f'{format_number(totals.total, digits)} {invoice.currency}' if totals else '',
        related=invoice.related.reference_text() if invoice.related else '',
    )


# ----------------------------------------------------------------------
# Verify page: an uploaded invoice compared with the one issued here
# ----------------------------------------------------------------------

def _compared_fields(invoice, ours):
    """``(label, file value, our value, shown)``: shown is the file's value as printed (None: as it is)."""
    shown = summary(invoice)

    def total(inv, name):
        return getattr(inv.totals, name) if inv.totals else None

    def amount(label, name):
        return label, total(invoice, name), total(ours, name), format_number(total(invoice, name))

    return [
        (('Mẫu số', 'Form'), invoice.template, ours.template, None),
        (('Ký hiệu', 'Serial'), invoice.symbol, ours.symbol, None),
        (('Số hóa đơn', 'Number'), invoice.number, ours.number, shown.number),
        (('Ngày lập', 'Issue date'), invoice.issue_date, ours.issue_date, shown.date),
        (('MST người bán', 'Seller tax code'), normalize_tax_code(invoice.seller.tax_code),
         normalize_tax_code(ours.seller.tax_code), invoice.seller.tax_code),
        (('Tên người bán', 'Seller name'), invoice.seller.name, ours.seller.name, None),
        (('Tên người mua', 'Buyer name'), invoice.buyer.name, ours.buyer.name, None),
        (('MST người mua', 'Buyer tax code'), normalize_tax_code(invoice.buyer.tax_code or ''),
         normalize_tax_code(ours.buyer.tax_code or ''), invoice.buyer.tax_code),
        (('Đồng tiền', 'Currency'), invoice.currency, ours.currency, None),
        amount(('Tiền trước thuế', 'Amount before VAT'), 'total_before_tax'),
        amount(('Tiền thuế GTGT', 'VAT amount'), 'total_tax'),
        amount(('Tổng tiền thanh toán', 'Total payment'), 'total'),
        (('Hàng hóa, dịch vụ (số dòng)', 'Invoice lines (count)'), invoice.lines, ours.lines,
         str(len(invoice.lines))),
    ]


def comparison(invoice: Invoice, ours: Invoice, identical: bool) -> dict:
    """Field by field, the file's values only (what this database holds is never shown)."""
    rows = [{'label': label, 'value': shown if shown is not None else (value or ''), 'ok': value == our_value}
            for label, value, our_value, shown in _compared_fields(invoice, ours)]
    return {'identical': identical, 'rows': rows, 'all_ok': all(row['ok'] for row in rows)}


# ----------------------------------------------------------------------
# The PDF
# ----------------------------------------------------------------------

def line_rows(invoice: Invoice, options: DisplayOptions, label: dict) -> list[dict]:
    """The invoice lines as printed, keyed by column (``label``: the labels of the PDF)."""
    suffixes = {LineKind.PROMOTION: label['promotion'], LineKind.DISCOUNT: label['trade_discount']}
    return [{
        'seq': line.seq or '',
        'name': line.name,
        'code': line.code,
        'note': line.kind is LineKind.NOTE,
        'suffix': suffixes.get(line.kind, ''),
        'unit': line.unit,
        'quantity': format_number(line.quantity),
        'unit_price': options.money(line.unit_price),
        'discount': (f'{format_number(line.discount_rate)}%' if line.discount_rate
                     else options.money(line.discount_amount) if line.discount_amount else ''),
        'rate': rate_text(line.tax_rate),
        'amount': options.money(line.amount),
    } for line in invoice.lines]


def line_columns(lines: list[dict]) -> list[dict]:
    """Columns of the lines table: discount and VAT rate only when a line has one; widths in %."""
    has_discount = any(line['discount'] for line in lines)
    has_rate = any(line['rate'] for line in lines)
    columns = [
        {'key': 'seq', 'label': 'seq', 'width': 6, 'class': 'vn-c'},
        {'key': 'name', 'label': 'description', 'width': 0, 'class': ''},
        {'key': 'unit', 'label': 'unit', 'width': 8, 'class': 'vn-c'},
        {'key': 'quantity', 'label': 'quantity', 'width': 8, 'class': 'vn-num'},
        {'key': 'unit_price', 'label': 'unit_price', 'width': 13, 'class': 'vn-num'},
    ]
    if has_discount:
        columns.append({'key': 'discount', 'label': 'discount', 'width': 10, 'class': 'vn-num'})
    if has_rate:
        columns.append({'key': 'rate', 'label': 'vat_rate', 'width': 8, 'class': 'vn-c'})
    columns.append({'key': 'amount', 'label': 'amount' if has_rate else 'amount_plain', 'width': 16,
                    'class': 'vn-num'})
    columns[1]['width'] = 100 - sum(c['width'] for c in columns)
    for index, column in enumerate(columns, start=1):
        column['no'] = str(index)
    columns[-1]['no'] = f'{len(columns)} = 4 x 5' + (' - 6' if has_discount else '')
    return columns


def paginate(lines, description_width, bilingual=False, related=False):
    """Lines grouped by printed page, so that each page starts with the column headings.

    wkhtmltopdf (without patched Qt) does not repeat table headings, so the report breaks pages itself.
    Heights are estimated in "rows" (one line of text) on the conservative side: when a page holds more
    than estimated it is simply less full; the line blocks are never cut in two either way.
    """
    chars_per_line = max(12, int(64 * description_width / 41))
    first, other = 46 - (4 if bilingual else 0) - (3 if related else 0), 62
    pages, current, used, capacity = [], [], 0.0, first
    for line in lines:
        text = f"{line['name']} ({line['suffix']})" if line.get('suffix') else line['name']
        wrapped = sum(max(1, -(-len(part) // chars_per_line)) for part in (text or ' ').splitlines() or [' '])
        height = 1 + 0.75 * (wrapped - 1)
        if current and used + height > capacity:
            pages.append(current)
            current, used, capacity = [], 0.0, other
        current.append(line)
        used += height
    pages.append(current)
    return pages


def breakdown_rows(invoice: Invoice, options: DisplayOptions) -> list[dict]:
    """The totals by VAT rate."""
    rows = []
    for item in invoice.tax_breakdown:
        rate = rate_text(item.rate)
        vi, en = RATE_LABELS.get(item.rate.code, (f'Thuế suất {rate}', f'VAT rate {rate}'))
        rows.append({
            'label': bilingual_label(vi, en if options.bilingual else ''),
            'before': options.money(item.taxable_amount),
            'tax': options.money(item.tax_amount) if item.tax_amount is not None else '—',
            'total': options.money(item.taxable_amount + (item.tax_amount or Decimal(0))),
        })
    return rows


def _amounts(invoice: Invoice, options: DisplayOptions) -> dict:
    """The totals of the PDF (the InvoiceView fields from ``exchange_rate`` to ``words_en``)."""
    totals, money = invoice.totals, options.money
    equivalent = ''
    if invoice.exchange_rate and invoice.currency.upper() != 'VND' and totals is not None:
        equivalent = format_number((totals.total * invoice.exchange_rate).quantize(Decimal(1))) + ' VND'
    words_en = ''
    if options.bilingual and options.english_words and totals is not None:
        words_en = options.english_words(abs(totals.total))
    return {
        'exchange_rate': format_number(invoice.exchange_rate) if invoice.exchange_rate else '',
        'equivalent': equivalent,
        'total_before_tax': money(totals.total_before_tax) if totals else '',
        'total_tax': money(totals.total_tax) if totals else '',
        'total': money(totals.total) if totals else '',
        'total_discount': money(totals.total_discount) if totals and totals.total_discount else '',
        'fees': [{'name': fee.name, 'amount': money(fee.amount)} for fee in (totals.fees if totals else ())],
        'words': totals.total_in_words if totals else '',
        'words_label': 'in_words_decrease' if totals and totals.total < 0 else 'in_words',
        'words_en': words_en,
    }


@dataclass
class InvoiceView:
    """What the e-invoice PDF prints of the signed XML (amounts as text, labels as safe HTML)."""

    invoice: Invoice
    bilingual: bool
    labels: dict  # key of LABELS: label
    labels_br: dict  # the same, the English subtitle on its own line (table headings)
    title: str
    title_en: str
    number: str
    date: dict  # day, month, year
    seller: Party
    buyer: Party
    lines: list  # line_rows
    columns: list  # line_columns
    pages: list  # the lines, page by page
    breakdown: list  # breakdown_rows
    currency: str
    exchange_rate: str
    equivalent: str  # the total in VND, for a foreign currency
    total_before_tax: str
    total_tax: str
    total: str
    total_discount: str
    fees: list  # name, amount
    words: str
    words_label: str  # key of LABELS
    words_en: str
    payment_method: str
    related: Related | None
    provider_tax_code: str
    seller_tax_code_compact: str
    seller_signature: SignatureBox | None
    buyer_signature: SignatureBox | None
    signature_problems: list = field(default_factory=list)

    def as_dict(self):
        return {f.name: getattr(self, f.name) for f in fields(self)}


def invoice_view(invoice: Invoice, verification: VerificationReport | None, options: DisplayOptions) -> InvoiceView:
    """The PDF's view of a parsed invoice and its verification (None: it could not be verified)."""
    label = labels(options.bilingual)
    lines = line_rows(invoice, options, label)
    columns = line_columns(lines)
    try:
        kind = template_kind(invoice.template)
    except EInvoiceError:
        kind = '1'
    buyer = next((s for s in verification.signatures if s.role == 'buyer'), None) if verification else None
    return InvoiceView(
        invoice=invoice, bilingual=options.bilingual, labels=label, labels_br=labels(options.bilingual, br=True),
        title=(invoice.title or TEMPLATE_TITLES.get(kind, '')).upper(),
        title_en=ENGLISH_TITLES.get(kind, 'INVOICE') if options.bilingual else '',
        number=number_text(invoice.number, invoice.template),
        date={'day': f'{invoice.issue_date:%d}', 'month': f'{invoice.issue_date:%m}',
              'year': f'{invoice.issue_date:%Y}'},
        seller=invoice.seller, buyer=invoice.buyer,
        lines=lines, columns=columns,
        pages=paginate(lines, columns[1]['width'], options.bilingual, related=invoice.related is not None),
        breakdown=breakdown_rows(invoice, options),
        currency=invoice.currency.upper(),
        **_amounts(invoice, options),
        payment_method=invoice.payment_method,
        related=related_view(invoice.related),
        provider_tax_code=invoice.provider_tax_code,
        seller_tax_code_compact=normalize_tax_code(invoice.seller.tax_code or ''),
        seller_signature=signature_box(verification.seller, verification.valid) if verification else None,
        buyer_signature=signature_box(buyer),
        signature_problems=verification.all_problems() if verification else [],
    )
