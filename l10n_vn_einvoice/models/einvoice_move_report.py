"""The e-invoice as people see it: the PDF (bản thể hiện), its QR codes, the e-mail to the buyer.

The PDF is built from the SIGNED XML attached to the invoice (``parse_xml``), not from the Odoo
record, so that it shows exactly what was signed; the signature box comes from verifying that XML.
How it is printed (labels, amounts, lines, signature boxes) is ``tools/einvoice_display.py``.
"""

import base64
import logging
import re
from decimal import Decimal

from markupsafe import Markup

from odoo import _, api, models
from odoo.exceptions import UserError
from odoo.tools.image import image_data_uri

from vn_einvoice import lifecycle
from vn_einvoice.errors import EInvoiceError
from vn_einvoice.qr import VietQRPayment, ascii_text, qr_png, vietqr_payload
from vn_einvoice.signing import verify_invoice
from vn_einvoice.xml import parse_xml

from ..tools.einvoice_display import DisplayOptions, format_number, invoice_view, number_text
from ..tools.received_xml import read_received

_logger = logging.getLogger(__name__)

# Placeholders written in the e-mail while the invoice is not issued yet (the wizard renders the mail
# before Send & Print issues the invoice); replaced by the real values when the mail leaves.
MAIL_MARKERS = {
    'number': ('[[số hóa đơn]]', '[[invoice number]]'),
    'lookup_code': ('[[mã tra cứu]]', '[[lookup code]]'),
}


class L10nVnEinvoiceMoveReport(models.AbstractModel):
    """How an e-invoice is printed and mailed, as helpers of ``account.move`` (mixed in by
    models/account_move.py). It overrides nothing: account.move's report and mail hooks call these."""

    _name = 'l10n_vn_einvoice.move.report'
    _description = 'E-invoice PDF and mail (invoice feature)'

    # ------------------------------------------------------------------
    # Which report, which mail
    # ------------------------------------------------------------------

    def _l10n_vn_einvoice_has_signed_xml(self):
        self.ensure_one()
        return bool(self.l10n_vn_einvoice_applicable and self.l10n_vn_einvoice_number
                    and self.sudo().l10n_vn_einvoice_xml_id)

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

    def _l10n_vn_einvoice_mail_template(self):
        """The e-invoice mail template of these invoices (Vietnamese or English), or None."""
        if self and all(move._l10n_vn_einvoice_is_for_mail() for move in self):
            english = all(move._l10n_vn_einvoice_mail_in_english() for move in self)
            return self.env.ref('l10n_vn_einvoice.email_template_einvoice_en' if english
                                else 'l10n_vn_einvoice.email_template_einvoice', raise_if_not_found=False)
        return None

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
    # Issuing: a PDF printed before the invoice was issued is not the e-invoice
    # ------------------------------------------------------------------

    def _l10n_vn_einvoice_set_aside_pdf(self, stale):
        """Keep a PDF printed before the invoice was issued in the chatter, but no longer as "the" invoice
        PDF: the next Send & Print renders the e-invoice from the signed XML."""
        if stale:
            stale.sudo().write({'res_field': False, 'name': f'{self.name.replace("/", "_")}_before_issue.pdf'})
            self.invalidate_recordset(['invoice_pdf_report_id', 'invoice_pdf_report_file'])

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
        if self._l10n_vn_einvoice_is_received():
            return self.sudo().l10n_vn_einvoice_received_xml_id.raw
        attachment = self.sudo().l10n_vn_einvoice_xml_id
        if not attachment:
            raise UserError(_('Invoice %s has no signed e-invoice XML to print.', self.display_name))
        return attachment.raw

    @api.model
    def _l10n_vn_einvoice_qr_data_uri(self, payload, box_size=6):
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
        try:
            payment = VietQRPayment(
                bank_bin=bin_, account=account[:19],
                purpose=ascii_text(f'TT HD {invoice.symbol} {invoice.number}')[:25],
                merchant_name=ascii_text(self.company_id.name or '')[:25],
                merchant_city=ascii_text(self.company_id.city or '')[:15])
            return vietqr_payload(payment, total)
        except EInvoiceError:
            return ''

    def _l10n_vn_einvoice_display_options(self, invoice):
        """Bilingual or not, and the decimals and English words of the invoice's currency."""
        self.ensure_one()
        bilingual = self._l10n_vn_einvoice_bilingual()
        code = invoice.currency.upper()
        currency = self.env['res.currency'].with_context(active_test=False).search([('name', '=', code)], limit=1)
        if not currency:
            return DisplayOptions(bilingual=bilingual, digits=0 if code == 'VND' else 2)

        def english_words(amount):
            try:
                return currency.with_context(lang='en_US').amount_to_text(float(amount))
            except Exception:  # noqa: BLE001 - num2words missing or unknown currency: Vietnamese only
                return ''

        return DisplayOptions(bilingual=bilingual, digits=currency.decimal_places, english_words=english_words)

    def _l10n_vn_einvoice_report_values(self):
        """Everything the e-invoice PDF prints: the display view of the signed XML, and what Odoo adds."""
        self.ensure_one()
        raw = self._l10n_vn_einvoice_signed_xml()
        if self._l10n_vn_einvoice_is_received():
            return self._l10n_vn_einvoice_received_report_values(raw)
        try:
            invoice = parse_xml(raw)
        except EInvoiceError as e:
            raise UserError(_('The signed XML of %(move)s cannot be read: %(error)s', move=self.display_name,
                              error=e)) from None
        try:
            verification = verify_invoice(raw, trusted_certificates=self.company_id._l10n_vn_einvoice_trust_anchors())
        except EInvoiceError as e:
            _logger.warning('Signed XML of %s does not verify: %s', self.display_name, e)
            verification = None
        view = invoice_view(invoice, verification, self._l10n_vn_einvoice_display_options(invoice))
        qr_payload = self.l10n_vn_einvoice_qr or invoice.qr_payload
        bank = self._l10n_vn_einvoice_payment_bank(invoice)
        payment_qr = self._l10n_vn_einvoice_payment_qr(invoice, bank)
        return {
            **view.as_dict(),
            # a foreign company has no MST: ask the partner how to label the name the XML carries
            'buyer_is_company': bool(invoice.buyer.tax_code) or self.commercial_partner_id.is_company,
            'seller_logo': (not self.company_id.uses_default_logo and self.company_id.logo
                            and image_data_uri(self.company_id.logo)),
            'authority_code': invoice.authority_code or self.l10n_vn_einvoice_authority_code or '',
            'qr_payload': qr_payload,
            'qr_image': self._l10n_vn_einvoice_qr_data_uri(qr_payload) if qr_payload else '',
            'payment_qr_payload': payment_qr,
            'payment_qr_image': self._l10n_vn_einvoice_qr_data_uri(payment_qr) if payment_qr else '',
            'payment_bank': payment_qr and f'{bank.acc_number} - {bank.bank_id.name or ""}'.strip(' -') or '',
            'lookup_url': self._l10n_vn_einvoice_lookup_url(),
            'lookup_code': self.sudo().l10n_vn_einvoice_lookup_code or '',
        }

    def _l10n_vn_einvoice_received_report_values(self, raw):
        """What the PDF of a supplier's e-invoice prints: the same display view, judged against our trust store;
        nothing of ours (logo, payment QR, lookup code)."""
        try:
            received = read_received(raw)
            verification = verify_invoice(received.xml,
                                          trusted_certificates=self.company_id._l10n_vn_einvoice_trust_anchors())
        except EInvoiceError as e:
            raise UserError(_('The received e-invoice of %(move)s cannot be read: %(error)s', move=self.display_name,
                              error=e)) from None
        invoice = received.invoice
        view = invoice_view(invoice, verification, self._l10n_vn_einvoice_display_options(invoice))
        qr_payload = invoice.qr_payload
        return {
            **view.as_dict(),
            'buyer_is_company': bool(invoice.buyer.tax_code),
            'seller_logo': False,
            'authority_code': invoice.authority_code or '',
            'qr_payload': qr_payload,
            'qr_image': self._l10n_vn_einvoice_qr_data_uri(qr_payload) if qr_payload else '',
            'payment_qr_payload': '', 'payment_qr_image': '', 'payment_bank': '',
            'lookup_url': '', 'lookup_code': '',
        }
