import base64
from unittest import skipUnless

from lxml import etree

from odoo import Command
from odoo.exceptions import UserError
from odoo.tests import Form, HttpCase, tagged

from vn_einvoice.notice import NoticeNature, parse_notice_xml, verify_notice

from .common import SELLER_MST
from .test_corrections import HAS_PDF_TOOLS, CorrectionCommon, pdf_text


@tagged('post_install_l10n', 'post_install', '-at_install')
class TestNoticeOdoo(CorrectionCommon):

    def _notice(self, moves, nature='4', reason='Sai địa chỉ người mua, mã số thuế đúng'):
        """The list/form action, then the notice's lines typed into its form view."""
        action = moves.action_l10n_vn_einvoice_new_notice()
        notice = self.env[action['res_model']].browse(action['res_id'])
        with Form(notice) as form:
            self.fill_lines(form, {i: {'nature': nature, 'reason': reason} for i in range(len(moves))})
        return notice

    def test_notice_signed_verified_and_its_states(self):
        first, second = self.issued(), self.issued([(1, 700_000, self.tax_8)])
        notice = self._notice(first | second)
        self.assertEqual(notice.state, 'draft')
        self.assertEqual((notice.tax_office_code, notice.tax_office_name), ('79100', 'Chi cục Thuế khu vực I'))
        self.assertTrue(notice.name.startswith('04SS/'))
        notice.line_ids[1].nature = '2'
        notice.action_sign()
        self.assertEqual(notice.state, 'signed')
        xml = base64.b64decode(notice.xml)
        report = verify_notice(xml)
        self.assertTrue(report.valid, report.all_problems())
        self.assertEqual(report.signatures[0].subject_tax_code, SELLER_MST)
        self.assertEqual(notice.signer_subject, report.signatures[0].subject)
        root = etree.fromstring(xml)
        self.assertEqual(root.tag, 'TBao')
        self.assertEqual(root.findtext('DLTBao/MSo'), '04/SS-HĐĐT')
        self.assertEqual(root.findtext('DLTBao/MST'), SELLER_MST)
        self.assertEqual(root.findtext('DLTBao/MCQT'), '79100')
        self.assertIsNotNone(root.find('DSCKS/NNT/{http://www.w3.org/2000/09/xmldsig#}Signature'))
        parsed = parse_notice_xml(xml)
        self.assertEqual([(i.symbol, i.number, i.nature) for i in parsed.invoices],
                         [(f'C{self.yy}TAA', '1', NoticeNature.EXPLAIN), (f'C{self.yy}TAA', '2', NoticeNature.ADJUST)])
        self.assertEqual(parsed.invoices[0].issue_date, first.invoice_date)
        self.assertEqual(first.l10n_vn_einvoice_notice_count, 1)
        # locked once signed
        with self.assertRaisesRegex(UserError, 'reset it to draft'):
            notice.place = 'Hà Nội'
        with self.assertRaisesRegex(UserError, 'Only a sent notice'):
            notice.action_accept()
        notice.action_mark_sent()
        with self.assertRaisesRegex(UserError, 'cannot be deleted'):
            notice.unlink()
        notice.action_accept()
        self.assertEqual(notice.state, 'accepted')
        self.assertEqual(first.l10n_vn_einvoice_state, 'USING', 'an explanation changes no invoice')

    def test_rejected_notice_is_fixed_and_signed_again(self):
        notice = self._notice(self.issued())
        notice.action_sign()
        notice.action_mark_sent()
        self.fill(self.wizard_form(notice.action_reject()), {'reason': 'Sai mã CQT'}).save().action_confirm()
        self.assertEqual((notice.state, notice.rejection_reason), ('rejected', 'Sai mã CQT'))
        notice.action_reset_to_draft()
        self.assertFalse(notice.xml)
        with Form(notice) as form:
            form.tax_office_code = '79101'
        notice.action_sign()
        self.assertEqual(parse_notice_xml(base64.b64decode(notice.xml)).tax_office_code, '79101')

    def test_sign_refusals(self):
        move = self.issued()
        notice = self._notice(move, reason='')
        with self.assertRaisesRegex(UserError, 'give the reason'):
            notice.action_sign()
        notice.line_ids.reason = 'Sai tên người mua'
        notice.write({'tax_office_code': '', 'place': 'Hồ Chí Minh'})
        with self.assertRaisesRegex(UserError, 'MCQT'):
            notice.action_sign()
        notice.tax_office_code = '79100'
        notice.kind = '2'
        with self.assertRaisesRegex(UserError, 'So'):
            notice.action_sign()
        notice.write({'kind': '1'})
        # a cancellation line for an invoice already sent to the buyer: refused (Decree 70/2025)
        move.is_move_sent = True
        notice.line_ids.nature = '1'
        with self.assertRaisesRegex(UserError, 'sent to the buyer'):
            notice.action_sign()
        with self.assertRaisesRegex(UserError, 'issued e-invoices'):
            self.make_invoice().action_l10n_vn_einvoice_new_notice()
        with self.assertRaisesRegex(UserError, 'listed twice'):
            notice.line_ids = [Command.create({'move_id': move.id, 'nature': '4', 'reason': 'x'})]

    def test_signing_needs_the_right(self):
        notice = self._notice(self.issued())
        clerk = self.env['res.users'].create({
            'name': 'Kế toán viên', 'login': 'ke-toan-vien', 'company_id': self.company.id,
            'company_ids': [Command.set(self.company.ids)],
            'groups_id': [Command.set(self.env.ref('account.group_account_invoice').ids)],
        })
        with self.assertRaisesRegex(UserError, 'not allowed'):
            notice.with_user(clerk).action_sign()
        self.assertEqual(notice.state, 'draft')


@tagged('post_install_l10n', 'post_install', '-at_install')
class TestNoticePdf(CorrectionCommon, HttpCase):

    @skipUnless(HAS_PDF_TOOLS, 'wkhtmltopdf and pdftotext are needed')
    def test_notice_pdf(self):
        move = self.issued()
        notice = self.env['l10n_vn_einvoice.notice'].browse(move.action_l10n_vn_einvoice_new_notice()['res_id'])
        notice.line_ids.reason = 'Sai địa chỉ người mua, mã số thuế đúng'
        notice.action_sign()
        pdf, kind = self.env['ir.actions.report'].with_context(force_report_rendering=True)._render_qweb_pdf(
            'l10n_vn_einvoice.action_report_einvoice_notice', res_ids=notice.ids)
        self.assertEqual(kind, 'pdf')
        text = pdf_text(pdf)
        for expected in ('THÔNG BÁO HÓA ĐƠN ĐIỆN TỬ CÓ SAI SÓT', 'Mẫu số: 04/SS-HĐĐT', 'Chi cục Thuế khu vực I',
                         SELLER_MST, f'C{self.yy}TAA', move.invoice_date.strftime('%d/%m/%Y'), 'Giải trình',
                         'Sai địa chỉ người mua', 'Ký bởi'):
            self.assertIn(expected, text)
