import base64

from odoo import Command
from odoo.tests import Form, TransactionCase, tagged

from vn_einvoice.notice import verify_notice
from vn_einvoice.sandbox.http import SandboxServer
from vn_einvoice.sandbox.taxauthority import TaxAuthoritySandbox
from vn_einvoice.signing import verify_invoice
from vn_einvoice.xml import parse_xml


@tagged('post_install', '-at_install')
class TestDemo(TransactionCase):
    """The demo database: a new user issues a signed e-invoice in the demo company in one click, coded by the
    tax-authority sandbox (scripts/run starts it on port 8460; here one on a free loopback port)."""

    def setUp(self):
        super().setUp()
        self.connection = self.env.ref('l10n_vn_einvoice.demo_tax_connection', raise_if_not_found=False)
        if not self.connection or not self.env.ref('l10n_vn_einvoice.demo_customer_company', raise_if_not_found=False):
            self.skipTest('installed without demo data')
        self.sandbox = TaxAuthoritySandbox()
        server = SandboxServer(self.sandbox).start()
        self.addCleanup(server.stop)
        self.connection.url = server.url
        # what the demo data (and scripts/run at each start of the sandbox) do: trust its CA, register
        self.env['l10n_vn_einvoice.tax.connection']._l10n_vn_einvoice_demo_sandbox(self.connection.ids)
        self.assertEqual(self.connection.registration_state, 'accepted', self.connection.registration_reason)

    def test_demo_install_leaves_the_registration_pending_without_sandbox(self):
        connection = self.connection.copy({'active': False, 'url': 'http://127.0.0.1:9'})  # nothing listens
        self.env['l10n_vn_einvoice.tax.connection']._l10n_vn_einvoice_demo_sandbox(connection.ids)
        self.assertEqual(connection.registration_state, 'none')
        self.assertFalse(connection.message_ids)

    def issue_demo_invoice(self):
        """A new user's first invoice in the demo company, confirmed and issued: (env, move)."""
        company = self.env.ref('base.demo_company_vn')
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
        return env, move

    def test_demo_company_issues_coded_invoice_end_to_end(self):
        env, move = self.issue_demo_invoice()
        company = move.company_id
        self.assertEqual((move.l10n_vn_einvoice_state, move.l10n_vn_einvoice_cqt_state), ('USING', 'coded'),
                         move.l10n_vn_einvoice_error)
        raw = move.l10n_vn_einvoice_xml_id.raw
        self.assertIn(f'>{move.l10n_vn_einvoice_authority_code}</MCCQT>'.encode(), raw)
        self.assertEqual(verify_invoice(raw, trusted_certificates=company._l10n_vn_einvoice_trust_anchors()).verdict,
                         'valid')
        self.assertEqual([i['MCCQT'] for i in self.sandbox.snapshot()['invoices']],
                         [move.l10n_vn_einvoice_authority_code])
        html = env['ir.actions.report']._render_qweb_html('account.account_invoices', move.ids)[0].decode()
        self.assertIn(move.l10n_vn_einvoice_authority_code, html)
        # the signature box: valid (the seller's and the CQT's CAs are trusted by the demo company)
        self.assertIn('class="vn-sig vn-sig-valid', html)
        self.assertNotIn('class="vn-sig vn-sig-invalid', html)
        self.assertNotIn('class="vn-sig vn-sig-unverified', html)

    def test_demo_company_issues_signed_invoice(self):
        env, move = self.issue_demo_invoice()
        self.assertEqual(move.l10n_vn_einvoice_state, 'USING', move.l10n_vn_einvoice_error)
        self.assertTrue(verify_invoice(move.l10n_vn_einvoice_xml_id.raw).valid)
        self.assertEqual(move.l10n_vn_einvoice_cqt_state, 'coded')
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
