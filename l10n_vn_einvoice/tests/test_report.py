"""The e-invoice PDF, rendered for real (wkhtmltopdf), turned into images (pdftoppm) and read back
(zbarimg, pdftotext); the mail to the buyer through Send & Print.

Set L10N_VN_EINVOICE_PNG_DIR to keep the page images of the gallery test (to look at them).
Without wkhtmltopdf/pdftoppm/zbarimg the PDF tests are skipped (loudly), except in CI (CI=true)
where they fail.
"""

import base64
import io
import logging
import os
import re
import shutil
import subprocess
import tempfile
from datetime import date
from unittest.mock import patch

from decimal import Decimal

from PIL import Image, ImageDraw

from odoo import Command
from odoo.exceptions import AccessError, ValidationError
from odoo.tests import BaseCase, Form, HttpCase, tagged
from odoo.tools import mute_logger

from vn_einvoice import document as vn_doc
from vn_einvoice import lifecycle
from vn_einvoice.qr import crc16_ccitt_false, parse_invoice_qr
from vn_einvoice.sandbox import testca

from ..tools.einvoice_display import certificate_common_name, format_number, number_text
from .common import SELLER_MST, EinvoiceCommon

_logger = logging.getLogger(__name__)

PNG_DIR_ENV = 'L10N_VN_EINVOICE_PNG_DIR'
NAPAS_BIN = '970436'  # Vietcombank
BANK_ACCOUNT = '0011001234567'


def require_tools(case, *tools):
    """Skip (loudly) when a command-line tool is missing; fail instead in CI."""
    missing = [tool for tool in tools if not shutil.which(tool)]
    if not missing:
        return
    message = (f"{', '.join(missing)} not installed (Debian: wkhtmltopdf, poppler-utils, zbar-tools; "
               f"see .ci/apt-packages.txt): the e-invoice PDF was NOT checked")
    if os.environ.get('CI') == 'true':
        case.fail(message)
    _logger.warning('!!! SKIPPED: %s', message)
    case.skipTest(message)


def pdf_to_pngs(pdf, directory, stem, dpi=110):
    """Page images of a PDF (``stem-1.png``, …), in page order."""
    path = os.path.join(directory, f'{stem}.pdf')
    with open(path, 'wb') as f:
        f.write(pdf)
    subprocess.run(['pdftoppm', '-r', str(dpi), '-png', path, os.path.join(directory, stem)],
                   check=True, capture_output=True, timeout=120)
    pages = [name for name in os.listdir(directory) if re.fullmatch(rf'{re.escape(stem)}-\d+\.png', name)]
    return [os.path.join(directory, name) for name in sorted(pages, key=lambda n: int(n.rsplit('-', 1)[1][:-4]))]


def decode_qr(png):
    """Every QR code zbarimg reads in an image (one payload per symbol)."""
    run = subprocess.run(['zbarimg', '--raw', '-q', '-Sdisable', '-Sqrcode.enable', png],
                         capture_output=True, timeout=60)
    if run.returncode not in (0, 4):  # 4: no symbol found
        raise AssertionError(f'zbarimg failed ({run.returncode}): {run.stderr.decode(errors="replace")}')
    return [line for line in run.stdout.decode('utf-8').splitlines() if line]


def pdf_text(pdf):
    run = subprocess.run(['pdftotext', '-layout', '-', '-'], input=pdf, capture_output=True, check=True, timeout=60)
    return run.stdout.decode('utf-8')


class EinvoiceReportCommon(EinvoiceCommon):

    @classmethod
    def setup_independent_company(cls, **kwargs):
        return cls._create_company(**{'name': 'Công ty TNHH Thương mại Sao Mai'} | kwargs)

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        bank = cls.env['res.bank'].create({'name': 'Vietcombank', 'bic': NAPAS_BIN})
        cls.company_bank = cls.env['res.partner.bank'].create({
            'acc_number': BANK_ACCOUNT, 'bank_id': bank.id, 'partner_id': cls.company.partner_id.id,
            'allow_out_payment': True,
        })
        cls.foreign_partner = cls.env['res.partner'].create({
            'name': 'Pacific Trading Pte. Ltd.', 'is_company': True, 'street': '8 Marina Boulevard',
            'city': 'Singapore', 'country_id': cls.env.ref('base.sg').id, 'email': 'ap@pacific.example.sg',
        })

    def make_invoice(self, lines=None, partner=None, invoice_date=None, post=True, move_type='out_invoice', **vals):
        vals.setdefault('partner_bank_id', self.company_bank.id)
        return super().make_invoice(lines, partner, invoice_date, post, move_type, **vals)

    def issued(self, *args, **kwargs):
        move = self.make_invoice(*args, **kwargs)
        self.issue(move)
        self.assertEqual(move.l10n_vn_einvoice_state, 'USING', move.l10n_vn_einvoice_error)
        return move

    def credit_note(self, move, quantity=1):
        reversal = self.env['account.move.reversal'].with_context(
            active_model='account.move', active_ids=move.ids).create({
                'reason': 'Trả lại hàng', 'journal_id': move.journal_id.id})
        refund = self.env['account.move'].browse(reversal.refund_moves()['res_id'])
        refund.invoice_line_ids[:1].quantity = quantity
        refund.action_post()
        self.issue(refund)
        self.assertEqual(refund.l10n_vn_einvoice_state, 'USING', refund.l10n_vn_einvoice_error)
        return refund

    def html(self, move):
        content, kind = self.env['ir.actions.report']._render_qweb_html('account.account_invoices', move.ids)
        self.assertEqual(kind, 'html')
        return content.decode()

    def pdf(self, moves):
        content, kind = self.env['ir.actions.report'].with_context(force_report_rendering=True)._render_qweb_pdf(
            'account.account_invoices', moves.ids)
        self.assertEqual(kind, 'pdf')
        self.assertTrue(content.startswith(b'%PDF'))
        return content


@tagged('post_install_l10n', 'post_install', '-at_install')
class TestReport(EinvoiceReportCommon, HttpCase):
    """The e-invoice PDF: built from the signed XML, real rendering, QR read back from the images."""

    # ------------------------------------------------------------------
    # What Odoo prints
    # ------------------------------------------------------------------

    def test_issued_invoice_prints_the_einvoice(self):
        move = self.make_invoice()
        self.assertEqual(move._get_name_invoice_report(), 'account.report_invoice_document')
        self.issue(move)
        self.assertEqual(move._get_name_invoice_report(), 'l10n_vn_einvoice.report_einvoice_document')
        html = self.html(move)
        self.assertIn('o_vn_einv', html)
        self.assertIn('HÓA ĐƠN GIÁ TRỊ GIA TĂNG', html)
        self.assertIn(move.l10n_vn_einvoice_lookup_code, html)
        self.assertIn('/einvoice/lookup', html)
        self.assertIn(f'{move.l10n_vn_einvoice_number:08d}', html)
        self.assertIn('Ba triệu ba trăm nghìn đồng chẵn', html)  # words from the XML
        self.assertIn('Ký bởi', html)
        self.assertIn('Chữ ký hợp lệ', html)
        self.assertIn('✓', html)

    def test_report_shows_what_was_signed(self):
        move = self.issued()
        self.partner_a.name = 'Tên đổi sau khi phát hành'
        html = self.html(move)
        self.assertIn('Công ty Cổ phần Khách hàng', html)
        self.assertNotIn('Tên đổi sau khi phát hành', html)
        self.assertIn('3.300.000', html)  # 2 x 1.500.000 + 10 % VAT, Vietnamese number format

    def test_tampered_xml_prints_an_invalid_signature(self):
        move = self.issued()
        attachment = move.sudo().l10n_vn_einvoice_xml_id
        tampered = re.sub(rb'<TgTTTBSo>[^<]*</TgTTTBSo>', b'<TgTTTBSo>1</TgTTTBSo>', attachment.raw)
        attachment.write({'raw': tampered})
        html = self.html(move)
        self.assertIn('Chữ ký KHÔNG hợp lệ', html)
        self.assertNotIn('Chữ ký hợp lệ', html)
        self.assertNotIn('✓', html)

    def test_signature_box_says_whether_the_signer_is_verified(self):
        """The box is "valid" only when the signer chains to the company's trust store; without a trust
        store it says "intact, signer not verified"; with a store of another CA the signature is not valid."""
        move = self.issued()
        trusted = self.company.sudo().l10n_vn_einvoice_trusted_ca_ids
        self.assertEqual(len(trusted), 1, 'the test signer\'s CA is trusted by the company')
        self.assertIn('Chữ ký hợp lệ', self.html(move))

        self.company.sudo().l10n_vn_einvoice_trusted_ca_ids = False
        html = self.html(move)
        self.assertIn('Chữ ký toàn vẹn, chưa xác minh người ký', html)
        self.assertIn('vn-sig-unverified', html)
        self.assertNotIn('Chữ ký hợp lệ', html)
        self.assertNotIn('✓', html)

        other_ca = self.env['certificate.certificate'].sudo().create({
            'name': 'Another CA', 'content': base64.b64encode(testca.make_test_ca('Another CA').pem),
            'company_id': self.company.id})
        self.company.sudo().l10n_vn_einvoice_trusted_ca_ids = other_ca
        html = self.html(move)
        self.assertIn('Chữ ký KHÔNG hợp lệ', html)
        self.assertIn('vn-sig-invalid', html)
        self.assertNotIn('Chữ ký hợp lệ', html)

        self.company.sudo().l10n_vn_einvoice_trusted_ca_ids = trusted
        self.assertIn('Chữ ký hợp lệ', self.html(move))

    @mute_logger('odoo.tests.form.onchange')  # Odoo's own cash-basis onchange warns about the VN chart's taxes
    def test_trust_store_in_settings_takes_only_ca_certificates(self):
        settings = Form(self.env['res.config.settings'].with_company(self.company))
        self.assertEqual(len(settings.l10n_vn_einvoice_trusted_ca_ids), 1)
        settings.l10n_vn_einvoice_trusted_ca_ids.clear()
        settings.save().execute()
        self.assertFalse(self.company.sudo().l10n_vn_einvoice_trusted_ca_ids)

        seller_certificate = self.signer.sudo().certificate_id  # a leaf, not a CA
        settings = Form(self.env['res.config.settings'].with_company(self.company))
        settings.l10n_vn_einvoice_trusted_ca_ids.add(seller_certificate)
        with self.assertRaisesRegex(ValidationError, 'not a certification authority'):
            settings.save().execute()

    def test_trust_store_is_for_administrators_only(self):
        accountant = self.env['res.users'].create({
            'name': 'Kế toán', 'login': 'ke.toan.trust', 'company_id': self.company.id,
            'company_ids': [Command.set(self.company.ids)],
            'groups_id': [Command.set([self.env.ref('account.group_account_manager').id,
                                       self.env.ref('l10n_vn_einvoice.group_l10n_vn_einvoice_manager').id])]})
        with self.assertRaises(AccessError):
            self.company.with_user(accountant).read(['l10n_vn_einvoice_trusted_ca_ids'])
        # the PDF of an accountant still judges the signature with the company's trust store
        move = self.issued()
        self.assertIn('Chữ ký hợp lệ', self.html(move.with_user(accountant)))

    def test_bilingual_for_foreign_buyers_only(self):
        vn = self.issued()
        self.assertIn('Đơn giá', self.html(vn))
        self.assertNotIn('Unit price', self.html(vn))
        foreign = self.issued(partner=self.foreign_partner)
        html = self.html(foreign)
        self.assertIn('Đơn giá<br/><span class="vn-en">(Unit price)</span>', html)
        self.assertIn('(VAT INVOICE)', html)
        self.partner_a.l10n_vn_einvoice_bilingual = 'yes'
        self.assertIn('Unit price', self.html(vn))
        self.foreign_partner.l10n_vn_einvoice_bilingual = 'no'
        self.assertNotIn('Unit price', self.html(foreign))

    def test_credit_note_says_what_it_adjusts(self):
        move = self.issued()
        refund = self.credit_note(move)
        html = self.html(refund)
        expected = vn_doc.RelatedInvoice(
            relation=vn_doc.RelationKind.ADJUSTMENT, template='1', symbol=move.l10n_vn_einvoice_series_id.symbol,
            number='1', issue_date=move.invoice_date).reference_text()
        self.assertIn(expected, html)
        self.assertIn('Hóa đơn điều chỉnh', html)
        self.assertIn('-1.500.000', html)
        # words of the decrease without "Âm", said to be a decrease by their label
        words = self.document_of(refund).totals.total_in_words
        self.assertFalse(words.startswith('Âm'), words)
        self.assertIn(f'Số tiền điều chỉnh giảm viết bằng chữ: <strong class="vn-words">{words}</strong>', html)

    def test_authority_code_printed_when_present(self):
        move = self.issued()
        self.assertNotIn('Mã của cơ quan thuế', self.html(move))
        move.with_context(l10n_vn_einvoice_internal=True).l10n_vn_einvoice_authority_code = '00ABCDEF1234567890ABCDEF12'
        html = self.html(move)
        self.assertIn('Mã của cơ quan thuế', html)
        self.assertIn('00ABCDEF1234567890ABCDEF12', html)

    def test_payment_qr_only_with_a_napas_bank_and_vnd(self):
        move = self.issued()
        values = move._l10n_vn_einvoice_report_values()
        payload = values['payment_qr_payload']
        self.assertTrue(payload.startswith('000201'))
        self.assertIn(NAPAS_BIN, payload)
        self.assertIn(BANK_ACCOUNT, payload)
        self.assertIn('54073300000', payload)  # ID 54, 7 characters: the amount to pay
        self.assertEqual(payload[-4:], crc16_ccitt_false(payload[:-4]))
        # No bank account on the invoice: the company's account printed on the e-invoice.
        no_bank = self.issued(partner_bank_id=False)
        self.assertIn(BANK_ACCOUNT, no_bank._l10n_vn_einvoice_report_values()['payment_qr_payload'])
        # A bank without a NAPAS BIN: no payment code.
        self.company_bank.bank_id.bic = 'BFTVVNVX'
        self.assertFalse(move._l10n_vn_einvoice_report_values()['payment_qr_payload'])
        self.company_bank.bank_id.bic = NAPAS_BIN
        usd = self.setup_other_currency('USD', rates=[('2000-01-01', 1 / 25_000)])
        foreign = self.issued([(3, 12.5, self.tax_10)], partner=self.foreign_partner, currency_id=usd.id)
        values = foreign._l10n_vn_einvoice_report_values()
        self.assertFalse(values['payment_qr_payload'])
        self.assertEqual(values['exchange_rate'], '25.000')
        self.assertEqual(values['total'], '41,25')
        self.assertEqual(values['equivalent'], '1.031.250 VND')

    def test_pdf_printed_before_issue_is_set_aside(self):
        move = self.make_invoice()
        old = self.env['ir.attachment'].create({
            'name': 'before.pdf', 'raw': b'%PDF-1.4 draft', 'mimetype': 'application/pdf',
            'res_model': 'account.move', 'res_id': move.id, 'res_field': 'invoice_pdf_report_file'})
        move.invalidate_recordset(['invoice_pdf_report_id'])
        self.assertEqual(move.invoice_pdf_report_id, old)
        self.issue(move)
        move.invalidate_recordset(['invoice_pdf_report_id'])
        self.assertFalse(move.invoice_pdf_report_id)
        self.assertTrue(old.exists())
        self.assertIn('before_issue', old.name)

    # ------------------------------------------------------------------
    # Real PDF, images, QR codes
    # ------------------------------------------------------------------

    def test_pdf_qr_decodes_to_the_stored_payload(self):
        require_tools(self, 'wkhtmltopdf', 'pdftoppm', 'zbarimg', 'pdftotext')
        move = self.issued([(2, 1_500_000, self.tax_10), (1, 20_000_000, self.tax_8)])
        pdf = self.pdf(move)
        with tempfile.TemporaryDirectory() as tmp:
            pages = pdf_to_pngs(pdf, tmp, 'invoice', dpi=150)
            self.assertEqual(len(pages), 1)
            codes = decode_qr(pages[0])
        self.assertIn(move.l10n_vn_einvoice_qr, codes)
        qr = parse_invoice_qr(move.l10n_vn_einvoice_qr)
        self.assertEqual(qr.seller_tax_code, SELLER_MST)
        self.assertEqual(qr.number, move.l10n_vn_einvoice_number)
        payment = move._l10n_vn_einvoice_report_values()['payment_qr_payload']
        self.assertIn(payment, codes, 'the VietQR payment code is printed and readable')
        self.assertEqual(len(codes), 2)
        text = pdf_text(pdf)
        for expected in ('HÓA ĐƠN GIÁ TRỊ GIA TĂNG', 'Ký hiệu', move.l10n_vn_einvoice_series_id.symbol,
                         'Mã số thuế', SELLER_MST, 'CÔNG TY CỔ PHẦN KHÁCH HÀNG', 'Thuế suất 10%',
                         'Thuế suất 8%', '24.900.000', 'Hai mươi bốn triệu chín trăm nghìn đồng chẵn',
                         'Ký bởi', 'Ký ngày', 'Mã tra cứu', move.l10n_vn_einvoice_lookup_code, 'TM/CK'):
            self.assertIn(expected, text)
        signer_cn = self.company.name
        self.assertIn(signer_cn.upper()[:10], text.upper())

    def test_long_invoice_pages_repeat_the_column_headings(self):
        move = self.issued(self._sixty_lines())
        values = move._l10n_vn_einvoice_report_values()
        pages = values['pages']
        self.assertGreaterEqual(len(pages), 2)
        self.assertEqual([line['seq'] for page in pages for line in page], list(range(1, 61)))
        html = self.html(move)
        self.assertEqual(html.count('Tiếp theo trang trước'), len(pages) - 1)
        self.assertEqual(html.count('<table class="vn-lines vn-lines-head">'), len(pages))
        self.assertEqual(html.count('class="vn-row"'), 60)

    def test_pdf_long_invoice_spans_pages(self):
        require_tools(self, 'wkhtmltopdf', 'pdftoppm', 'zbarimg', 'pdftotext')
        move = self.issued(self._sixty_lines())
        pdf = self.pdf(move)
        with tempfile.TemporaryDirectory() as tmp:
            pages = pdf_to_pngs(pdf, tmp, 'long')
            self.assertGreaterEqual(len(pages), 2)
            self.assertIn(move.l10n_vn_einvoice_qr, decode_qr(pages[0]))
        text = pdf_text(pdf)
        for i in (1, 30, 60):
            self.assertIn(f'Hàng hóa số {i:02d}', text)
        last_page = text.split('\f')[len(pages) - 1]
        self.assertIn('Tổng tiền thanh toán', last_page)
        self.assertIn('Ký bởi', last_page)

    def test_pdf_gallery(self):
        """Several kinds of invoices rendered and read back; their page images kept in $L10N_VN_EINVOICE_PNG_DIR."""
        require_tools(self, 'wkhtmltopdf', 'pdftoppm', 'zbarimg')
        self.company.logo = self._logo()
        gallery = self._gallery()
        keep = os.environ.get(PNG_DIR_ENV)
        directory = keep or tempfile.mkdtemp()
        os.makedirs(directory, exist_ok=True)
        try:
            for name, move in gallery.items():
                pages = pdf_to_pngs(self.pdf(move), directory, name)
                self.assertTrue(pages, name)
                self.assertIn(move.l10n_vn_einvoice_qr, decode_qr(pages[0]), name)
                if keep:
                    with open(os.path.join(directory, f'{name}.html'), 'w', encoding='utf-8') as f:
                        f.write(self.html(move))
                    _logger.info('e-invoice %s: %s', name, ', '.join(pages))
        finally:
            if not keep:
                shutil.rmtree(directory, ignore_errors=True)

    @staticmethod
    def _logo():
        image = Image.new('RGB', (360, 140), '#1f3864')
        draw = ImageDraw.Draw(image)
        draw.ellipse((20, 20, 120, 120), fill='#f2c14e')
        draw.rectangle((150, 45, 330, 60), fill='white')
        draw.rectangle((150, 80, 290, 95), fill='#f2c14e')
        buffer = io.BytesIO()
        image.save(buffer, 'PNG')
        return base64.b64encode(buffer.getvalue())

    def _sixty_lines(self):
        taxes = (self.tax_10, self.tax_8, self.tax_0)
        short = 'thiết bị văn phòng loại tiêu chuẩn'
        long = 'dịch vụ lắp đặt và bảo trì định kỳ hàng quý tại văn phòng khách hàng'
        products = self.env['product.product'].create([{
            'name': f'Hàng hóa số {i:02d} - {short if i % 7 else long}',
            'default_code': f'SP{i:03d}', 'lst_price': 10_000 * i,
        } for i in range(1, 61)])
        return [(product, 1 + i % 4, 10_000 * (i + 1), taxes[i % 3]) for i, product in enumerate(products)]

    def make_invoice(self, lines=None, partner=None, invoice_date=None, post=True, move_type='out_invoice', **vals):
        if lines and len(lines[0]) == 4:  # (product, quantity, price, tax)
            vals.setdefault('partner_bank_id', self.company_bank.id)
            move = self.env['account.move'].create({
                'move_type': move_type, 'partner_id': (partner or self.partner_a).id,
                'invoice_date': invoice_date or date.today(),
                'invoice_line_ids': [Command.create({'product_id': product.id, 'quantity': qty, 'price_unit': price,
                                                     'tax_ids': [Command.set(tax.ids)]})
                                     for product, qty, price, tax in lines],
                **vals,
            })
            if post:
                move.action_post()
            return move
        return super().make_invoice(lines, partner, invoice_date, post, move_type, **vals)

    def _gallery(self):
        """Invoices to look at: ordinary VND, 60 lines over pages, USD to a foreign buyer (bilingual), adjustment,
        replacement, 60 lines in USD (bilingual)."""
        gallery = {}
        gallery['01_vnd'] = self.issued([(2, 1_500_000, self.tax_10), (1, 20_000_000, self.tax_8),
                                         (5, 120_000, self.tax_kct)])
        gallery['02_sixty_lines'] = self.issued(self._sixty_lines())
        usd = self.setup_other_currency('USD', rates=[('2000-01-01', 1 / 25_000)])
        gallery['03_usd_foreign'] = self.issued([(3, 12.5, self.tax_10), (10, 99.99, self.tax_0)],
                                                partner=self.foreign_partner, currency_id=usd.id)
        gallery['04_adjustment'] = self.credit_note(gallery['01_vnd'])
        gallery['06_usd_sixty_lines'] = self.issued(
            [(product, qty, price / 25_000, tax) for product, qty, price, tax in self._sixty_lines()],
            partner=self.foreign_partner, currency_id=usd.id)
        gallery['05_replacement'] = self._replacement_of(self.issued([(4, 250_000, self.tax_10)]))
        return gallery

    def _replacement_of(self, origin):
        """An invoice issued as the replacement of ``origin`` (TCHDon 1), through the issue pipeline hooks
        (the correction wizards override the same hooks)."""
        related = vn_doc.RelatedInvoice(
            relation=vn_doc.RelationKind.REPLACEMENT, template=origin.l10n_vn_einvoice_template_id.code,
            symbol=origin.l10n_vn_einvoice_series_id.symbol, number=str(origin.l10n_vn_einvoice_number),
            issue_date=origin.invoice_date, note='Thay thế do sai đơn giá')
        replacement = self.make_invoice([(4, 240_000, self.tax_10)])
        Move = type(self.env['account.move'])
        with patch.object(Move, '_l10n_vn_einvoice_related', lambda m: related if m == replacement else None), \
                patch.object(Move, '_l10n_vn_einvoice_corrected',
                             lambda m: [(origin, lifecycle.Event.REPLACE)] if m == replacement else []):
            self.issue(replacement)
        self.assertEqual(replacement.l10n_vn_einvoice_state, 'USING', replacement.l10n_vn_einvoice_error)
        self.assertIn('Thay thế cho hóa đơn', self.html(replacement))
        return replacement


@tagged('post_install_l10n', 'post_install', '-at_install')
class TestSendMail(EinvoiceReportCommon):
    """Send & Print e-mails the buyer the PDF and the signed XML, with the lookup code."""

    def _send(self, move, **kwargs):
        wizard = self.env['account.move.send.wizard'].with_context(
            active_model='account.move', active_ids=move.ids).create({'sending_methods': ['email'], **kwargs})
        wizard.action_send_and_print()
        return self.env['mail.message'].search([
            ('model', '=', move._name), ('res_id', '=', move.id), ('message_type', '=', 'comment')],
            order='id desc', limit=1)

    def test_send_and_print_issues_and_mails_pdf_and_xml(self):
        move = self.make_invoice()
        wizard = self.env['account.move.send.wizard'].with_context(
            active_model='account.move', active_ids=move.ids).create({'sending_methods': ['email']})
        self.assertEqual(wizard.mail_template_id, self.env.ref('l10n_vn_einvoice.email_template_einvoice'))
        self.assertIn('[[mã tra cứu]]', wizard.mail_body)  # not issued yet
        wizard.action_send_and_print()
        self.assertEqual(move.l10n_vn_einvoice_state, 'USING', move.l10n_vn_einvoice_error)
        message = self.env['mail.message'].search([
            ('model', '=', move._name), ('res_id', '=', move.id), ('message_type', '=', 'comment')],
            order='id desc', limit=1)
        body = str(message.body)
        self.assertIn(move.l10n_vn_einvoice_lookup_code, body)
        symbol, number = move.l10n_vn_einvoice_series_id.symbol, move.l10n_vn_einvoice_number
        self.assertIn(f'{symbol} số {number:08d}', message.subject)
        self.assertIn('/einvoice/lookup', body)
        self.assertIn(SELLER_MST, body)
        self.assertNotIn('[[', body)
        self.assertIn('Kính gửi', body)
        names = message.attachment_ids.mapped('name')
        self.assertIn(move.l10n_vn_einvoice_xml_id.name, names)
        self.assertIn(move._get_invoice_report_filename(), names)
        xml = message.attachment_ids.filtered(lambda a: a.name == move.l10n_vn_einvoice_xml_id.name)
        self.assertEqual(xml.raw, move.l10n_vn_einvoice_xml_id.raw)
        self.assertEqual(message.partner_ids, self.partner_a)
        self.assertTrue(move.invoice_pdf_report_id)
        self.assertIn(b'o_vn_einv', move.invoice_pdf_report_id.raw)  # test mode keeps the HTML of our report

    def test_pdf_printed_before_issue_is_replaced_by_send_and_print(self):
        move = self.make_invoice()
        self.env['ir.attachment'].create({
            'name': 'before.pdf', 'raw': b'%PDF-1.4 draft', 'mimetype': 'application/pdf',
            'res_model': 'account.move', 'res_id': move.id, 'res_field': 'invoice_pdf_report_file'})
        message = self._send(move)
        self.assertEqual(move.l10n_vn_einvoice_state, 'USING', move.l10n_vn_einvoice_error)
        self.assertIn(b'o_vn_einv', move.invoice_pdf_report_id.raw)
        sent_pdf = message.attachment_ids.filtered(lambda a: a.name == move._get_invoice_report_filename())
        self.assertIn(b'o_vn_einv', sent_pdf.raw)

    def test_print_button_gives_the_einvoice(self):
        move = self.issued()
        document = move._get_invoice_legal_documents('pdf', allow_fallback=True)
        self.assertIn(b'o_vn_einv', document['content'])  # test mode: the HTML of our report

    def test_english_mail_for_foreign_buyer(self):
        move = self.issued(partner=self.foreign_partner)
        message = self._send(move)
        self.assertEqual(self.env['account.move.send']._get_default_mail_template_id(move),
                         self.env.ref('l10n_vn_einvoice.email_template_einvoice_en'))
        body = str(message.body)
        self.assertIn('Dear', body)
        self.assertIn('lookup code', body)
        self.assertIn('3,300,000 VND', body)
        self.assertIn(move.l10n_vn_einvoice_lookup_code, body)
        self.assertIn(move.l10n_vn_einvoice_xml_id.name, message.attachment_ids.mapped('name'))

    def test_other_invoices_keep_odoo_template(self):
        self.company.l10n_vn_einvoice_mode = 'none'
        move = self.make_invoice()
        self.assertEqual(move._get_mail_template(), self.env.ref('account.email_template_edi_invoice'))

    def test_provider_pdf_hook_is_sent_too(self):
        move = self.issued()
        provider_pdf = self.env['ir.attachment'].create({
            'name': 'provider.pdf', 'raw': b'%PDF-1.4 provider', 'mimetype': 'application/pdf',
            'res_model': 'account.move', 'res_id': move.id})
        Move = type(self.env['account.move'])
        with patch.object(Move, '_l10n_vn_einvoice_provider_pdf_attachments',
                          lambda m: provider_pdf if m == move else m.env['ir.attachment']):
            message = self._send(move)
        self.assertIn('provider.pdf', message.attachment_ids.mapped('name'))
        self.assertIn(move.l10n_vn_einvoice_xml_id.name, message.attachment_ids.mapped('name'))


@tagged('post_install_l10n', 'post_install', '-at_install')
class TestReportHelpers(BaseCase):

    def test_vietnamese_number_format(self):
        cases = [
            ((Decimal('1234567.5'),), '1.234.567,5'),
            ((Decimal('-1650000'),), '-1.650.000'),
            ((Decimal('41.25'), 2), '41,25'),
            ((Decimal('12.5'), 2), '12,50'),
            ((Decimal('0'),), '0'),
            ((Decimal('1E+3'),), '1.000'),
            ((Decimal('999'),), '999'),
            ((Decimal('0.000100'),), '0,0001'),
            ((Decimal('-0.00'), 2), '0,00'),
        ]
        for args, expected in cases:
            self.assertEqual(format_number(*args), expected, args)

    def test_number_as_printed(self):
        self.assertEqual(number_text(12, '1'), '00000012')
        self.assertEqual(number_text(12, '01GTKT0/001'), '0000012')
        self.assertEqual(number_text(None, '1'), '')

    def test_common_name_of_the_signer(self):
        self.assertEqual(certificate_common_name('CN=Công ty TNHH A,O=A,C=VN'), 'Công ty TNHH A')
        self.assertEqual(certificate_common_name('UID=MST:0312345673,CN=Công ty A\\, chi nhánh 1,C=VN'),
                         'Công ty A, chi nhánh 1')
        self.assertEqual(certificate_common_name('O=No common name'), 'O=No common name')
        self.assertEqual(certificate_common_name(None), '')
