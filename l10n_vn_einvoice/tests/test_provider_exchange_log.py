"""Every request to a provider and its answer in the user log: masked, with user, time and outcome, searchable,
read-only, kept. Over real SOAP (VNPT) and HTTP (seed 002 portal) against the sandboxes."""

from datetime import date

from odoo.exceptions import UserError
from odoo.tests import new_test_user, tagged

from vn_einvoice.sandbox.http import SandboxServer
from vn_einvoice.sandbox.portal import PortalSandbox, default_accounts
from vn_einvoice.sandbox.vnpt import VnptSandbox, default_companies

from .common import SELLER_MST, EinvoiceCommon

ADMIN_PW, SERVICE_PW = 'Adm1n-VNPT-Secret', 'Svc-VNPT-Secret-7'
APIKEY, SESSIONKEY = 'apikey-5c1e77aa', 'sessionkey-0d93be'
SECRETS = (ADMIN_PW, SERVICE_PW, APIKEY, SESSIONKEY)


@tagged('post_install_l10n', 'post_install', '-at_install')
class TestProviderExchangeLog(EinvoiceCommon):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        yy = f'{cls.year % 100:02d}'
        cls.vnpt = VnptSandbox({'companies': [{**default_companies()[0], 'acpass': ADMIN_PW, 'password': SERVICE_PW,
                                               'patterns': {'1/001': [f'K{yy}TBB']}}]})
        cls.portal = PortalSandbox({'accounts': [{**default_accounts()[0], 'apikey': APIKEY, 'sessionkey': SESSIONKEY,
                                                  'tax_code': SELLER_MST}]})
        urls = {}
        for name, app in (('vnpt', cls.vnpt), ('portal', cls.portal)):
            server = SandboxServer(app).start()
            cls.addClassCleanup(server.stop)
            urls[name] = server.url
        Provider = cls.env['l10n_vn_einvoice.provider']
        common = {'company_id': cls.company.id, 'connect_timeout': 2, 'read_timeout': 3, 'retry_attempts': 3,
                  'retry_backoff': 0.01}
        cls.vnpt_account = Provider.create({
            'name': 'VNPT sandbox', 'provider': 'vnpt', 'service_url': urls['vnpt'], 'account': 'demoadmin',
            'acpassword': ADMIN_PW, 'username': 'demoservice', 'password': SERVICE_PW, **common})
        cls.portal_account = Provider.create({
            'name': 'Portal sandbox', 'provider': 'portal', 'service_url': urls['portal'], 'username': APIKEY,
            'password': SESSIONKEY, **common})
        cls.company.l10n_vn_einvoice_mode = 'provider'
        cls.series.is_default = False
        Series = cls.env['l10n_vn_einvoice.series']
        cls.vnpt_series = Series.create({
            'template_id': cls.series.template_id.id, 'symbol': f'K{yy}TBB', 'company_id': cls.company.id,
            'date_start': date(cls.year, 1, 1), 'is_default': True, 'issuing_mode': 'provider',
            'provider_id': cls.vnpt_account.id, 'provider_template_code': '1/001'})
        cls.portal_series = Series.create({
            'template_id': cls.series.template_id.id, 'symbol': f'K{yy}TAA', 'company_id': cls.company.id,
            'date_start': date(cls.year, 1, 1), 'issuing_mode': 'provider', 'provider_id': cls.portal_account.id,
            'provider_template_code': '1'})
        cls.clerk = new_test_user(cls.env, login='vn_exchange_clerk', company_id=cls.company.id,
                                  groups='account.group_account_invoice,l10n_vn_einvoice.group_l10n_vn_einvoice_user')

    def exchanges(self, **domain):
        return self.env['l10n_vn_einvoice.event'].search(
            [('event', '=', 'provider_exchange')] + [(k, '=', v) for k, v in domain.items()], order='id')

    def assert_no_secret(self):
        rows = self.env['l10n_vn_einvoice.event'].search([])
        for secret in SECRETS:
            for row in rows:
                self.assertNotIn(secret, f'{row.request} {row.response} {row.message}', row.channel)

    def test_every_vnpt_request_and_answer_logged_masked(self):
        move = self.make_invoice()
        move.with_user(self.clerk).action_l10n_vn_einvoice_issue()
        self.assertEqual(move.l10n_vn_einvoice_state, 'USING', move.l10n_vn_einvoice_error)
        rows = self.exchanges(move_id=move.id)
        self.assertEqual(rows.mapped('channel')[:1], ['ImportAndPublishInv'])
        issue = rows[0]
        self.assertEqual((issue.user_id, issue.outcome, issue.provider_id), (self.clerk, 'done', self.vnpt_account))
        self.assertIn('<ns0:ACpass>***</ns0:ACpass>', issue.request)
        self.assertIn('<ns0:password>***</ns0:password>', issue.request)
        self.assertIn(move.l10n_vn_einvoice_transaction_uuid.replace('-', ''), issue.request)  # the fkey
        self.assertIn(self.partner_a.name, issue.request)  # the invoice XML, escaped in the SOAP body
        self.assertIn(f'OK:1/001;{self.vnpt_series.symbol}-', issue.response)
        self.assertTrue(issue.date)
        # the files fetched after issue are logged as well (their answers bounded)
        self.assertIn('downloadInvPDFFkeyNoPay', self.exchanges().mapped('channel'))
        self.assertTrue(all(len(r.response or '') <= 20_002 for r in self.exchanges()))
        # a wrong password: the failed attempt is logged, the password is not
        self.vnpt_account.password = 'Wr0ng-Pass-123'
        SECRETS_PLUS = 'Wr0ng-Pass-123'
        self.vnpt_account.action_test_connection()
        failed = self.exchanges(provider_id=self.vnpt_account.id)[-1]
        self.assertEqual((failed.channel, failed.outcome), ('listInvByCusFkey', 'done'))
        self.assertIn('ERR:1', failed.response)
        self.assertNotIn(SECRETS_PLUS, f'{failed.request}{failed.response}')
        self.assert_no_secret()
        # searchable, read-only, kept
        found = self.env['l10n_vn_einvoice.event'].search([('request', 'ilike', 'ImportAndPublishInv')])
        self.assertIn(issue, found)
        with self.assertRaises(UserError):
            issue.write({'response': 'changed'})
        with self.assertRaises(UserError):
            issue.unlink()

    def test_failed_attempts_stay_in_the_log_after_the_rollback(self):
        move = self.make_invoice()
        self.vnpt.faults.add(kind='error500', op='ImportAndPublishInv', times=1)
        self.vnpt.faults.add(kind='error500', op='listInvByCusFkey')
        try:
            self.issue(move)
        finally:
            self.vnpt.faults.clear()
        self.assertEqual(move.l10n_vn_einvoice_state, 'CREATED')
        rows = self.exchanges(move_id=move.id)
        self.assertEqual(rows[0].channel, 'ImportAndPublishInv')
        self.assertEqual(rows[0].outcome, 'failed')
        self.assertIn('HTTP 500', rows[0].message)
        self.assertIn('listInvByCusFkey', rows.mapped('channel'), 'the look-up before any resend is logged')
        self.assert_no_secret()

    def test_every_portal_request_logged_with_its_headers_masked(self):
        move = self.make_invoice(post=False)
        move.l10n_vn_einvoice_series_id = self.portal_series
        move.action_post()
        self.issue(move)
        self.assertEqual(move.l10n_vn_einvoice_state, 'USING', move.l10n_vn_einvoice_error)
        rows = self.exchanges(move_id=move.id)
        self.assertEqual(rows.mapped('channel')[:2], ['getBillsByDate', 'create'])  # watermark, then create
        create = rows[1]
        self.assertIn('apikey: ***', create.request)
        self.assertIn('sessionkey: ***', create.request)
        self.assertIn('"CustomerTaxCode"', create.request)
        self.assertIn('"responsecode"', create.response)
        self.assert_no_secret()
