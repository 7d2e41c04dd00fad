"""Who may see and do what: multi-company isolation, the e-invoice groups, secrets kept from everybody but
administrators (and out of the chatter and the error field)."""
import base64
import re

from odoo.exceptions import AccessError, UserError
from odoo.tests import HttpCase, JsonRpcException, new_test_user, tagged
from odoo.tools import mute_logger

from vn_einvoice.sandbox import testca
from vn_einvoice.signing import verify_invoice

from .common import OTHER_MST, SELLER_MST, EinvoiceCommon

SIGNER_SECRETS = ['pkcs11_pin', 'certificate_id', 'allow_mst_mismatch']


@tagged('post_install_l10n', 'post_install', '-at_install')
class TestMultiCompany(EinvoiceCommon):
    """Two Vietnamese companies, each with its own signer, template and series."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company_a = cls.company
        cls.data_b, cls.signer_b, cls.series_b = cls.setup_other_vn_company()
        cls.company_b = cls.data_b['company']
        cls.template_a, cls.template_b = cls.series.template_id, cls.series_b.template_id
        cls.user_a = new_test_user(
            cls.env, login='einv_company_a',
            groups='base.group_user,account.group_account_invoice,l10n_vn_einvoice.group_l10n_vn_einvoice_manager',
            company_id=cls.company_a.id, company_ids=[cls.company_a.id])

    def test_configuration_of_b_is_invisible_to_a_user_of_a(self):
        for model, mine, theirs in (('l10n_vn_einvoice.series', self.series, self.series_b),
                                    ('l10n_vn_einvoice.template', self.template_a, self.template_b),
                                    ('l10n_vn_einvoice.signer', self.signer, self.signer_b)):
            records = self.env[model].with_user(self.user_a).search([])
            self.assertIn(mine, records, model)
            self.assertNotIn(theirs, records, model)
            with self.assertRaises(AccessError, msg=model):
                theirs.with_user(self.user_a).read(['display_name'])
            with self.assertRaises(AccessError, msg=model):
                theirs.with_user(self.user_a).write({'active': False})

    def test_a_user_of_both_only_sees_the_companies_he_works_in(self):
        env_a = self.env(context={'allowed_company_ids': [self.company_a.id]})
        self.assertEqual(env_a['l10n_vn_einvoice.series'].search([]), self.series)
        env_ab = self.env(context={'allowed_company_ids': [self.company_a.id, self.company_b.id]})
        self.assertEqual(env_ab['l10n_vn_einvoice.series'].search([]), self.series | self.series_b)

    def test_invoices_of_b_use_b_series_and_numbering(self):
        move_a = self.make_invoice()
        moves_b = self.make_company_invoice(self.data_b) | self.make_company_invoice(self.data_b, [2_000_000])
        self.assertEqual(move_a.l10n_vn_einvoice_series_id, self.series)
        self.assertEqual(moves_b.l10n_vn_einvoice_series_id, self.series_b)
        self.issue(move_a | moves_b)
        self.assertEqual(move_a.l10n_vn_einvoice_number, 1)
        self.assertEqual(moves_b.sorted('id').mapped('l10n_vn_einvoice_number'), [1, 2])
        self.assertEqual((self.series.next_number, self.series_b.next_number), (2, 3))
        move_a2 = self.make_invoice()
        self.issue(move_a2)
        self.assertEqual(move_a2.l10n_vn_einvoice_number, 2)
        for move, tax_code in ((move_a, SELLER_MST), (moves_b[0], OTHER_MST), (moves_b[1], OTHER_MST)):
            report = verify_invoice(self.xml_of(move))
            self.assertTrue(report.valid, report.all_problems())
            self.assertEqual(report.seller.subject_tax_code, tax_code, 'signed with its own company\'s certificate')
            self.assertEqual(self.document_of(move).seller.tax_code, tax_code)

    def test_series_and_signer_of_another_company_are_refused(self):
        move = self.make_invoice(post=False)
        with self.assertRaises(UserError):  # check_company
            move.l10n_vn_einvoice_series_id = self.series_b
        with self.assertRaises(UserError):
            self.series.signer_id = self.signer_b

    def test_a_user_of_a_cannot_issue_an_invoice_of_b(self):
        move_b = self.make_company_invoice(self.data_b)
        with self.assertRaises(AccessError):
            move_b.with_user(self.user_a).action_l10n_vn_einvoice_issue()
        self.assertEqual(move_b.l10n_vn_einvoice_state, 'CREATED')
        self.assertEqual(self.series_b.next_number, 1)


@tagged('post_install_l10n', 'post_install', '-at_install')
class TestAccess(EinvoiceCommon):
    """Billing users, e-invoice issuers and administrators."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        common = {'company_id': cls.company.id, 'company_ids': [cls.company.id]}
        cls.billing = new_test_user(cls.env, login='einv_billing',
                                    groups='base.group_user,account.group_account_invoice', **common)
        cls.issuer = new_test_user(
            cls.env, login='einv_issuer',
            groups='base.group_user,account.group_account_invoice,l10n_vn_einvoice.group_l10n_vn_einvoice_user',
            **common)
        cls.auditor = new_test_user(cls.env, login='einv_auditor',
                                    groups='base.group_user,account.group_account_readonly', **common)
        cls.issue_action = cls.env.ref('l10n_vn_einvoice.action_l10n_vn_einvoice_issue')

    def _assert_secrets_hidden(self, user):
        signer = self.signer.with_user(user)
        for fname in SIGNER_SECRETS:
            with self.assertRaises(AccessError, msg=f'{user.login} read {fname}'):
                signer.read([fname])
        with self.assertRaises(AccessError, msg=f'{user.login} read the PKCS#12 password'):
            self.signer.certificate_id.with_user(user).read(['pkcs12_password'])
        with self.assertRaises(AccessError):
            self.env['certificate.certificate'].with_user(user).search([])

    def test_billing_user_posts_but_cannot_issue(self):
        move = self.make_invoice(post=False).with_user(self.billing)
        move.action_post()  # everyday work is not hindered by the e-invoice module
        self.assertEqual(move.l10n_vn_einvoice_state, 'CREATED')
        with self.assertRaises(UserError):  # or AccessError, a UserError
            move.action_l10n_vn_einvoice_issue()
        with self.assertRaises(AccessError):  # the list action is for the group too
            self.issue_action.with_user(self.billing).with_context(
                active_model='account.move', active_ids=move.ids, active_id=move.id).run()
        self.assertEqual(move.l10n_vn_einvoice_state, 'CREATED')
        self.assertFalse(move.l10n_vn_einvoice_number)
        self.assertEqual(self.series.next_number, 1)
        # the configuration is readable, the signers are not
        self.assertTrue(self.series.with_user(self.billing).read(['name', 'next_number']))
        with self.assertRaises(AccessError):
            self.signer.with_user(self.billing).read(['name'])
        self._assert_secrets_hidden(self.billing)
        with self.assertRaises(AccessError):
            self.series.with_user(self.billing).write({'sequence': 5})

    def test_issuer_issues_but_cannot_read_secrets(self):
        move = self.make_invoice()
        move.with_user(self.issuer).action_l10n_vn_einvoice_issue()
        self.assertEqual(move.l10n_vn_einvoice_state, 'USING', move.l10n_vn_einvoice_error)
        self.assertEqual(move.l10n_vn_einvoice_number, 1)
        self.assertTrue(verify_invoice(self.xml_of(move)).valid)
        # and through the list action
        move2 = self.make_invoice()
        self.issue_action.with_user(self.issuer).with_context(
            active_model='account.move', active_ids=move2.ids, active_id=move2.id).run()
        self.assertEqual(move2.l10n_vn_einvoice_number, 2)
        self.assertTrue(self.signer.with_user(self.issuer).read(['name', 'kind', 'subject']))
        self._assert_secrets_hidden(self.issuer)
        with self.assertRaises(AccessError):
            self.signer.with_user(self.issuer).write({'name': 'mine'})
        with self.assertRaises(UserError):
            self.series.with_user(self.issuer).write({'next_number': 1})
        # the signer form opens for him without the secret fields
        arch = self.env['l10n_vn_einvoice.signer'].with_user(self.issuer).get_views([(False, 'form')])
        form = arch['views']['form']['arch']
        for fname in SIGNER_SECRETS + ['pkcs11_module']:
            self.assertNotIn(f'name="{fname}"', form)

    def test_lookup_code_needs_the_invoicing_group(self):
        move = self.make_invoice()
        self.issue(move)
        self.assertTrue(move.with_user(self.billing).l10n_vn_einvoice_lookup_code)
        as_auditor = move.with_user(self.auditor)
        self.assertEqual(as_auditor.read(['l10n_vn_einvoice_number'])[0]['l10n_vn_einvoice_number'], 1)
        with self.assertRaises(AccessError):
            as_auditor.read(['l10n_vn_einvoice_lookup_code'])
        self.assertNotIn('l10n_vn_einvoice_lookup_code', as_auditor.fields_get())

    def test_wrong_p12_password_is_not_shown(self):
        secret, wrong = 'Mật-khẩu-Đúng-7319', 'Sai-Mật-khẩu-8426'
        ca = testca.make_test_ca()
        key, cert = testca.make_seller_certificate(ca, SELLER_MST, self.company.name)
        self.signer.certificate_id.write({
            'content': base64.b64encode(testca.p12_bytes(key, cert, [ca.certificate], secret)),
            'pkcs12_password': wrong,
        })
        move = self.make_invoice()
        move.with_user(self.issuer).action_l10n_vn_einvoice_issue()
        self.assertEqual(move.l10n_vn_einvoice_state, 'CREATED')
        self.assertFalse(move.l10n_vn_einvoice_number)
        self.assertFalse(move.l10n_vn_einvoice_xml_id)
        self.assertEqual(self.series.next_number, 1)
        error = move.l10n_vn_einvoice_error
        self.assertTrue(error)
        texts = [error] + [m.body or '' for m in move.message_ids] + \
            [str(v.old_value_char) + str(v.new_value_char) for v in move.message_ids.tracking_value_ids]
        for text in texts:
            for value in (secret, wrong):
                self.assertNotIn(value, text)
                self.assertNotIn(re.escape(value), text)
        # the right password: issued, and still nothing of it anywhere
        self.signer.certificate_id.pkcs12_password = secret
        move.with_user(self.issuer).action_l10n_vn_einvoice_issue()
        self.assertEqual(move.l10n_vn_einvoice_state, 'USING', move.l10n_vn_einvoice_error)
        for message in move.message_ids:
            self.assertNotIn(secret, message.body or '')
        self.assertNotIn(secret.encode(), self.xml_of(move))


@tagged('post_install_l10n', 'post_install', '-at_install')
class TestIssuedOverRpc(EinvoiceCommon, HttpCase):
    """What the web client and external programs call (JSON-RPC through the real server) cannot change an
    issued e-invoice's lines either."""

    def test_line_write_over_json_rpc_is_refused(self):
        move = self.make_invoice([(2, 1_500_000, self.tax_10)])
        self.issue(move)
        line = move.invoice_line_ids
        new_test_user(
            self.env, login='einv_rpc', company_id=self.company.id, company_ids=[self.company.id],
            groups='base.group_user,account.group_account_manager,l10n_vn_einvoice.group_l10n_vn_einvoice_user')
        self.authenticate('einv_rpc', 'einv_rpc')
        context = {'allowed_company_ids': [self.company.id]}
        for model, record, vals in (
                ('account.move.line', line, {'price_unit': 1}),
                ('account.move.line', line, {'name': 'Hàng khác'}),
                ('account.move', move, {'invoice_line_ids': [[1, line.id, {'quantity': 5}]]})):
            with self.subTest(model=model, vals=vals), self.assertRaises(JsonRpcException) as caught, \
                    mute_logger('odoo.http'):  # the server logs the refusal it answers
                self.make_jsonrpc_request(f'/web/dataset/call_kw/{model}/write', {
                    'model': model, 'method': 'write', 'args': [record.ids, vals], 'kwargs': {'context': context}})
            self.assertEqual(caught.exception.args[0], 'odoo.exceptions.UserError')
        line.invalidate_recordset()
        self.assertEqual((line.quantity, line.price_unit), (2, 1_500_000))
