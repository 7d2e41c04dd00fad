import base64

from odoo import Command
from odoo.tests import Form, TransactionCase, tagged

from vn_einvoice.notice import verify_notice
from vn_einvoice.signing import verify_invoice
from vn_einvoice.xml import parse_xml


@tagged('post_install', '-at_install')
class TestDemo(TransactionCase):
    """The demo database: a new user issues a signed e-invoice in the demo company in one click."""

    def test_demo_company_issues_signed_invoice(self):
        company = self.env.ref('base.demo_company_vn', raise_if_not_found=False)
        if not company or not self.env.ref('l10n_vn_einvoice.demo_customer_company', raise_if_not_found=False):
            self.skipTest('installed without demo data')
        env = self.env(context={'allowed_company_ids': [company.id]})
        tax = env['account.tax'].search([('company_id', '=', company.id), ('type_tax_use', '=', 'sale'),
                                         ('l10n_vn_einvoice_rate', '=', '10%')], limit=1)
        move = env['account.move'].create({
            'move_type': 'out_invoice', 'partner_id': env.ref('l10n_vn_einvoice.demo_customer_company').id,
            'invoice_line_ids': [Command.create({'name': 'Tư vấn', 'quantity': 1, 'price_unit': 5_000_000,
                                                 'tax_ids': [Command.set(tax.ids)]})],
        })
        move.action_post()
        move.action_l10n_vn_einvoice_issue()
        self.assertEqual(move.l10n_vn_einvoice_state, 'USING', move.l10n_vn_einvoice_error)
        self.assertTrue(verify_invoice(move.l10n_vn_einvoice_xml_id.raw).valid)
        self.assertEqual(parse_xml(move.l10n_vn_einvoice_xml_id.raw).seller.address,
                         '12 Nguyễn Huệ, Phường Sài Gòn, TP Hồ Chí Minh')
        # the 04/SS notice of the README: its tax office comes from the company, it is signed as is
        action = move.action_l10n_vn_einvoice_new_notice()
        notice = env[action['res_model']].browse(action['res_id'])
        self.assertEqual((notice.tax_office_code, notice.tax_office_name), ('79100', 'Thuế Thành phố Hồ Chí Minh'))
        with Form(notice) as form, form.line_ids.edit(0) as line:
            line.reason = 'Sai địa chỉ người mua, mã số thuế đúng'
        notice.action_sign()
        self.assertEqual(notice.state, 'signed')
        self.assertTrue(verify_notice(base64.b64decode(notice.xml)).valid)
