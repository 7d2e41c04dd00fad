"""The e-invoice as people see it: the PDF (bản thể hiện), its QR codes, the e-mail to the buyer.

The PDF is built from the SIGNED XML attached to the invoice (``parse_xml``), not from the Odoo
record, so that it shows exactly what was signed; the signature box comes from verifying that XML.
"""

import base64
import logging
import re
from decimal import Decimal

from markupsafe import Markup

from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools.image import image_data_uri

from vn_einvoice import lifecycle
from vn_einvoice.codes import TEMPLATE_TITLES, Regime, normalize_tax_code, template_kind, template_regime
from vn_einvoice.document import LineKind, RelationKind
from vn_einvoice.errors import EInvoiceError

_logger = logging.getLogger(__name__)

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

# Placeholders written in the e-mail while the invoice is not issued yet (the wizard renders the mail
# before Send & Print issues the invoice); replaced by the real values when the mail leaves.
MAIL_MARKERS = {
    'number': ('[[số hóa đơn]]', '[[invoice number]]'),
    'lookup_code': ('[[mã tra cứu]]', '[[lookup code]]'),
}


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


def bilingual_label(vi, en='', br=False):
    """``Đơn giá (Unit price)`` as safe HTML, the English part in a span (on its own line with ``br``)."""
    if not en:
        return Markup('%s') % vi
    template = Markup('%s<br/><span class="vn-en">(%s)</span>') if br else Markup('%s <span class="vn-en">(%s)</span>')
    return template % (vi, en)


def certificate_common_name(subject):
    """The CN of an RFC 4514 subject string (the whole subject when it has none)."""
    if not subject:
        return ''
    try:
        from cryptography import x509
        from cryptography.x509.oid import NameOID

        names = x509.Name.from_rfc4514_string(subject).get_attributes_for_oid(NameOID.COMMON_NAME)
        if names:
            return names[0].value
    except Exception:  # noqa: BLE001 - an unusual subject string: show it as it is
        match = re.search(r'(?:^|,)\s*CN=((?:\\.|[^,])*)', subject)
        if match:
            return match.group(1).replace('\\', '')
    return subject


class AccountMove(models.Model):
    _inherit = 'account.move'

    # ------------------------------------------------------------------
    # Which report, which mail
    # ------------------------------------------------------------------

    def _l10n_vn_einvoice_has_signed_xml(self):
        self.ensure_one()
        return bool(self.l10n_vn_einvoice_applicable and self.l10n_vn_einvoice_number
                    and self.sudo().l10n_vn_einvoice_xml_id)

    def _get_name_invoice_report(self):
        self.ensure_one()
        if self._l10n_vn_einvoice_has_signed_xml():
            return 'l10n_vn_einvoice.report_einvoice_document'
        return super()._get_name_invoice_report()

    def _l10n_vn_einvoice_is_for_mail(self):
        """An e-invoice that is issued, or that Send & Print will issue before the mail leaves."""
        self.ensure_one()
        if not self.l10n_vn_einvoice_applicable or not self.l10n_vn_einvoice_state:
            return False
        if self.l10n_vn_einvoice_state == lifecycle.State.CREATED.value:
            return self.l10n_vn_einvoice_series_id.issuing_mode == 'local'
        return self._l10n_vn_einvoice_is_issued()

    def _l10n_vn_einvoice_mail_in_english(self):
        partner = self.partner_id.commercial_partner_id
        if (self.partner_id.lang or '').startswith('vi'):
            return False
        return bool(partner.country_id) and partner.country_id.code != 'VN'

    def _get_mail_template(self):
        if self and all(move._l10n_vn_einvoice_is_for_mail() for move in self):
            english = all(move._l10n_vn_einvoice_mail_in_english() for move in self)
            template = self.env.ref('l10n_vn_einvoice.email_template_einvoice_en' if english
                                    else 'l10n_vn_einvoice.email_template_einvoice', raise_if_not_found=False)
            if template:
                return template
        return super()._get_mail_template()

    def _l10n_vn_einvoice_lookup_url(self):
        self.ensure_one()
        return self.company_id.l10n_vn_einvoice_lookup_url or f'{self.get_base_url()}/einvoice/lookup'

    def _l10n_vn_einvoice_mail_values(self, english=False):
        """What the e-mail templates print; markers where the invoice is not issued yet."""
        self.ensure_one()
        index = 1 if english else 0
        move = self.sudo()
        if move.l10n_vn_einvoice_number:
            number = number_text(move.l10n_vn_einvoice_number, move.l10n_vn_einvoice_template_id.code)
            code = move.l10n_vn_einvoice_lookup_code or ''
        else:
            number = MAIL_MARKERS['number'][index]
            code = MAIL_MARKERS['lookup_code'][index]
        digits = self.currency_id.decimal_places
        total = format_number(Decimal(str(self.amount_total)), digits, digits)
        if english:  # 1,234,567.50
            total = total.replace('.', '\x00').replace(',', '.').replace('\x00', ',')
        return {
            'number': number,
            'lookup_code': code,
            'lookup_url': self._l10n_vn_einvoice_lookup_url(),
            'template': self.l10n_vn_einvoice_template_id.code or '',
            'symbol': self.l10n_vn_einvoice_series_id.symbol or '',
            'date': self.invoice_date and self.invoice_date.strftime('%d/%m/%Y') or '',
            'total': f'{total} {self.currency_id.name}',
            'seller_tax_code': self.company_id.vat or '',
        }

    def _l10n_vn_einvoice_fill_mail_markers(self, text):
        """Replace the markers of a mail prepared before issuing with the issued values (when the invoice
        was not issued after all, with its accounting number and no code)."""
        self.ensure_one()
        if not text:
            return text
        if self.l10n_vn_einvoice_number:
            values = {'number': number_text(self.l10n_vn_einvoice_number, self.l10n_vn_einvoice_template_id.code),
                      'lookup_code': self.sudo().l10n_vn_einvoice_lookup_code or ''}
        else:
            values = {'number': self.name or '', 'lookup_code': '—'}
        is_markup = isinstance(text, Markup)
        for key, markers in MAIL_MARKERS.items():
            for marker in markers:
                text = text.replace(marker, values[key])
        return Markup(text) if is_markup else text

    # ------------------------------------------------------------------
    # Provider mode hook: PDFs that a provider made are kept beside ours
    # ------------------------------------------------------------------

    def _l10n_vn_einvoice_provider_pdf_attachments(self):
        """PDFs of the e-invoice made by the provider (provider mode), sent and kept with Odoo's own PDF.

        Local signing has none. A provider integration returns its attachment(s) here.
        """
        return self.env['ir.attachment']

    # ------------------------------------------------------------------
    # Issuing: a PDF printed before the invoice was issued is not the e-invoice
    # ------------------------------------------------------------------

    def _l10n_vn_einvoice_mark_issued(self, *args, **kwargs):
        stale = self.invoice_pdf_report_id
        result = super()._l10n_vn_einvoice_mark_issued(*args, **kwargs)
        if stale:
            # Keep it in the chatter, but it is no longer "the" invoice PDF: the next Send & Print
            # renders the e-invoice from the signed XML.
            stale.sudo().write({'res_field': False, 'name': f'{self.name.replace("/", "_")}_before_issue.pdf'})
            self.invalidate_recordset(['invoice_pdf_report_id', 'invoice_pdf_report_file'])
        return result

    # ------------------------------------------------------------------
    # Report data, from the signed XML
    # ------------------------------------------------------------------

    def _l10n_vn_einvoice_bilingual(self):
        self.ensure_one()
        partner = self.partner_id.commercial_partner_id
        choice = partner.l10n_vn_einvoice_bilingual or 'auto'
        if choice != 'auto':
            return choice == 'yes'
        foreign = bool(partner.country_id) and partner.country_id.code != 'VN'
        return foreign or self.currency_id.name != 'VND'

    def _l10n_vn_einvoice_signed_xml(self):
        self.ensure_one()
        attachment = self.sudo().l10n_vn_einvoice_xml_id
        if not attachment:
            raise UserError(_('Invoice %s has no signed e-invoice XML to print.', self.display_name))
        return attachment.raw

    @api.model
    def _l10n_vn_einvoice_qr_data_uri(self, payload, box_size=6):
        from vn_einvoice.qr import qr_png

        return 'data:image/png;base64,' + base64.b64encode(qr_png(payload, box_size=box_size, border=2)).decode()

    def _l10n_vn_einvoice_payment_bank(self, invoice):
        """The seller's bank account to pay into: the invoice's, else the company's account printed on the
        e-invoice (``NBan/STKNHang``)."""
        self.ensure_one()
        if self.partner_bank_id:
            return self.partner_bank_id
        printed = re.sub(r'\s', '', invoice.seller.bank_account or '')
        return self.company_id.partner_id.bank_ids.filtered(
            lambda b: printed and re.sub(r'\s', '', b.acc_number or '') == printed)[:1]

    def _l10n_vn_einvoice_payment_qr(self, invoice, bank):
        """VietQR (NAPAS 247) payload to pay this invoice into ``bank``, or ''.

        Odoo's own VietQR (l10n_vn, bank account with a QR type) when the bank account is set up for it,
        else the library's VietQR from the bank's NAPAS BIN (its BIC field, 6 digits) and the account number.
        """
        self.ensure_one()
        total = invoice.totals.total if invoice.totals else Decimal(0)
        if (not bank or self.move_type != 'out_invoice' or invoice.currency.upper() != 'VND' or total <= 0
                or self.payment_state in ('paid', 'in_payment', 'reversed')):
            return ''
        reference = self.payment_reference or f'{invoice.symbol} {invoice.number}'
        try:
            if bank.proxy_type and bank.proxy_value:
                vals = bank._build_qr_code_vals(float(total), reference, reference, self.currency_id,
                                                self.partner_id, qr_method='emv_qr', silent_errors=True)
                if vals:
                    payload = bank._get_qr_vals(**vals)
                    if payload:
                        return payload
        except Exception:  # noqa: BLE001 - a payment QR never stops the invoice from printing
            _logger.info('Odoo VietQR not available for bank account %s', bank.id, exc_info=True)
        bin_ = re.sub(r'\D', '', bank.bank_id.bic or '')
        account = re.sub(r'[^0-9A-Za-z]', '', bank.acc_number or '')
        if len(bin_) != 6 or not account:
            return ''
        from vn_einvoice.qr import VietQRPayment, ascii_text, vietqr_payload

        try:
            payment = VietQRPayment(
                bank_bin=bin_, account=account[:19],
                purpose=ascii_text(f'TT HD {invoice.symbol} {invoice.number}')[:25],
                merchant_name=ascii_text(self.company_id.name or '')[:25],
                merchant_city=ascii_text(self.company_id.city or '')[:15])
            return vietqr_payload(payment, total)
        except EInvoiceError:
            return ''

    def _l10n_vn_einvoice_signature_box(self, signature):
        if signature is None:
            return None
        moment = signature.signing_time
        if moment is not None:
            from vn_einvoice.signing.xmldsig import to_ict

            signed_on = to_ict(moment).strftime('%d/%m/%Y %H:%M:%S')
        else:
            signed_on = signature.signing_time_text or ''
        return {
            'valid': bool(signature.valid),
            'name': certificate_common_name(signature.subject),
            'tax_code': signature.subject_tax_code or '',
            'signed_on': signed_on,
            'problems': list(signature.problems),
        }

    @api.model
    def _l10n_vn_einvoice_paginate(self, lines, description_width, bilingual=False, related=False):
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

    def _l10n_vn_einvoice_report_values(self):
        """Everything the e-invoice PDF prints, read from the signed XML."""
        self.ensure_one()
        from vn_einvoice.signing import verify_invoice
        from vn_einvoice.xml import parse_xml

        raw = self._l10n_vn_einvoice_signed_xml()
        try:
            invoice = parse_xml(raw)
        except EInvoiceError as e:
            raise UserError(_('The signed XML of %(move)s cannot be read: %(error)s', move=self.display_name,
                              error=e)) from None
        try:
            verification = verify_invoice(raw)
        except EInvoiceError as e:
            _logger.warning('Signed XML of %s does not verify: %s', self.display_name, e)
            verification = None
        bilingual = self._l10n_vn_einvoice_bilingual()
        labels = {key: bilingual_label(vi, en if bilingual else '') for key, (vi, en) in LABELS.items()}
        labels_br = {key: bilingual_label(vi, en if bilingual else '', br=True) for key, (vi, en) in LABELS.items()}

        currency = invoice.currency.upper()
        currency_rec = self.env['res.currency'].with_context(active_test=False).search(
            [('name', '=', currency)], limit=1)
        digits = currency_rec.decimal_places if currency_rec else (0 if currency == 'VND' else 2)

        def money(value):
            return format_number(value, min_decimals=digits) if value is not None else ''

        def rate_text(rate):
            if rate is None:
                return ''
            code = rate.code
            if code.startswith('KHAC'):
                return f'{format_number(rate.percent)}%' if rate.percent is not None else 'KHAC'
            return code

        lines = []
        for line in invoice.lines:
            suffix = ''
            if line.kind is LineKind.PROMOTION:
                suffix = labels['promotion']
            elif line.kind is LineKind.DISCOUNT:
                suffix = labels['trade_discount']
            lines.append({
                'seq': line.seq or '',
                'name': line.name,
                'code': line.code,
                'note': line.kind is LineKind.NOTE,
                'suffix': suffix,
                'unit': line.unit,
                'quantity': format_number(line.quantity) if line.quantity is not None else '',
                'unit_price': (format_number(line.unit_price, min_decimals=digits)
                               if line.unit_price is not None else ''),
                'discount': (f'{format_number(line.discount_rate)}%' if line.discount_rate
                             else money(line.discount_amount) if line.discount_amount else ''),
                'rate': rate_text(line.tax_rate),
                'amount': money(line.amount),
            })
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
        pages = self._l10n_vn_einvoice_paginate(lines, columns[1]['width'], bilingual=bilingual,
                                                related=invoice.related is not None)

        breakdown = []
        for item in invoice.tax_breakdown:
            rate = rate_text(item.rate)
            vi, en = RATE_LABELS.get(item.rate.code, (f'Thuế suất {rate}', f'VAT rate {rate}'))
            breakdown.append({
                'label': bilingual_label(vi, en if bilingual else ''),
                'before': money(item.taxable_amount),
                'tax': money(item.tax_amount) if item.tax_amount is not None else '—',
                'total': money(item.taxable_amount + (item.tax_amount or Decimal(0))),
            })

        totals = invoice.totals
        words_en = ''
        if bilingual and totals is not None and currency_rec:
            try:
                words_en = currency_rec.with_context(lang='en_US').amount_to_text(abs(float(totals.total)))
            except Exception:  # noqa: BLE001 - num2words missing or unknown currency: Vietnamese only
                words_en = ''
        equivalent = ''
        if invoice.exchange_rate and currency != 'VND' and totals is not None:
            equivalent = format_number((totals.total * invoice.exchange_rate).quantize(Decimal(1))) + ' VND'

        related = None
        if invoice.related is not None:
            related = {
                'text': invoice.related.reference_text(),
                'note': invoice.related.note,
                'adjustment': invoice.related.relation is RelationKind.ADJUSTMENT,
            }

        seller_box = buyer_box = None
        signature_problems = []
        if verification is not None:
            seller_box = self._l10n_vn_einvoice_signature_box(verification.seller)
            buyer = next((s for s in verification.signatures if s.role == 'buyer'), None)
            buyer_box = self._l10n_vn_einvoice_signature_box(buyer)
            signature_problems = verification.all_problems()
            if seller_box is not None and not verification.valid:
                seller_box['valid'] = False
        try:
            kind = template_kind(invoice.template)
        except EInvoiceError:
            kind = '1'
        qr_payload = self.l10n_vn_einvoice_qr or invoice.qr_payload
        bank = self._l10n_vn_einvoice_payment_bank(invoice)
        payment_qr = self._l10n_vn_einvoice_payment_qr(invoice, bank)
        move_sudo = self.sudo()
        return {
            'invoice': invoice,
            'bilingual': bilingual,
            'labels': labels,
            'labels_br': labels_br,
            'title': (invoice.title or TEMPLATE_TITLES.get(kind, '')).upper(),
            'title_en': ENGLISH_TITLES.get(kind, 'INVOICE') if bilingual else '',
            'number': number_text(invoice.number, invoice.template),
            'date': {'day': f'{invoice.issue_date:%d}', 'month': f'{invoice.issue_date:%m}',
                     'year': f'{invoice.issue_date:%Y}'},
            'seller': invoice.seller,
            'buyer': invoice.buyer,
            # a foreign company has no MST: ask the partner how to label the name the XML carries
            'buyer_is_company': bool(invoice.buyer.tax_code) or self.commercial_partner_id.is_company,
            'seller_logo': (not self.company_id.uses_default_logo and self.company_id.logo
                            and image_data_uri(self.company_id.logo)),
            'lines': lines,
            'columns': columns,
            'pages': pages,
            'breakdown': breakdown,
            'currency': currency,
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
            'payment_method': invoice.payment_method,
            'related': related,
            'authority_code': invoice.authority_code or self.l10n_vn_einvoice_authority_code or '',
            'provider_tax_code': invoice.provider_tax_code,
            'seller_signature': seller_box,
            'buyer_signature': buyer_box,
            'signature_problems': signature_problems,
            'qr_payload': qr_payload,
            'qr_image': self._l10n_vn_einvoice_qr_data_uri(qr_payload) if qr_payload else '',
            'payment_qr_payload': payment_qr,
            'payment_qr_image': self._l10n_vn_einvoice_qr_data_uri(payment_qr) if payment_qr else '',
            'payment_bank': payment_qr and f'{bank.acc_number} - {bank.bank_id.name or ""}'.strip(' -') or '',
            'lookup_url': self._l10n_vn_einvoice_lookup_url(),
            'lookup_code': move_sudo.l10n_vn_einvoice_lookup_code or '',
            'seller_tax_code_compact': normalize_tax_code(invoice.seller.tax_code or ''),
        }


class AccountMoveSend(models.AbstractModel):
    _inherit = 'account.move.send'

    @api.model
    def _get_invoice_extra_attachments(self, move):
        # union: a provider integration may also add its PDF itself
        return super()._get_invoice_extra_attachments(move) | move._l10n_vn_einvoice_provider_pdf_attachments()

    @api.model
    def _get_mail_params(self, move, move_data):
        params = super()._get_mail_params(move, move_data)
        if params and move.l10n_vn_einvoice_applicable:
            for key in ('body', 'subject'):
                params[key] = move._l10n_vn_einvoice_fill_mail_markers(params.get(key))
        return params


class ResPartner(models.Model):
    _inherit = 'res.partner'

    l10n_vn_einvoice_bilingual = fields.Selection(
        selection=[('auto', 'Automatic'), ('yes', 'Vietnamese and English'), ('no', 'Vietnamese only')],
        string='E-invoice language', default='auto',
        help='Language of the printed e-invoice. Automatic: Vietnamese with English subtitles for foreign '
             'buyers and invoices in a foreign currency, Vietnamese only otherwise.')
