"""The e-invoice web service (/einvoice/api/v1/), over real HTTP against the test server: seed 002's portal
API and seed 000's operations, authentication, idempotency, rate limit, and our own seed-002 client issuing
an invoice of one company through the Odoo of another."""

import json
import time
from datetime import date, timedelta
from types import SimpleNamespace
from unittest.mock import patch

import requests

from odoo import fields
from odoo.tests import HttpCase, tagged

from vn_einvoice import notice as lib_notice, signing
from vn_einvoice.providers.portal import to_portal
from vn_einvoice.sandbox.http import SandboxServer
from vn_einvoice.sandbox.portal import PortalSandbox

from ..models import einvoice_api_rate
from .common import BUYER_MST, OTHER_MST, SELLER_MST, EinvoiceCommon
from .test_pkcs11 import PIN, TOKEN, softhsm_token

API = '/einvoice/api/v1'


@tagged('post_install_l10n', 'post_install', '-at_install')
class TestApi(EinvoiceCommon, HttpCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.user = cls.env['res.users'].create({
            'name': 'ERP connector', 'login': 'erp-connector', 'email': 'erp@seller.example.vn',
            'company_id': cls.company.id,
            'company_ids': [fields.Command.set(cls.company.ids)],
            'groups_id': [fields.Command.set([cls.env.ref('account.group_account_invoice').id,
                                              cls.env.ref('l10n_vn_einvoice.group_l10n_vn_einvoice_user').id])],
        })
        cls.apikey = cls.env['res.users.apikeys'].with_user(cls.user).sudo()._generate(None, 'ERP', None)
        cls.other_data, cls.other_signer, cls.other_series = cls.setup_other_vn_company()
        cls.day = date.today()

    # ------------------------------------------------------------------
    # helpers
    # ------------------------------------------------------------------

    def call(self, method, path, body=None, *, apikey=None, session=None, headers=None, raw=None):
        apikey = self.apikey if apikey is None else apikey
        session = self.session_key() if session is None else session
        heads = {'apikey': apikey, 'sessionkey': session, 'Content-Type': 'application/json', **(headers or {})}
        heads = {k: v for k, v in heads.items() if v is not False}
        self.env.flush_all()  # the server reads the database, not this test's cache
        response = requests.request(method, self.base_url() + API + path, headers=heads, timeout=30,
                                    data=raw if raw is not None else (json.dumps(body) if body is not None else None))
        self.env.invalidate_all()
        self.assertLess(response.status_code, 500, response.text)
        data = response.json()
        self.assertIn('responsecode', data)
        self.assertIsInstance(data['responsemessage'], str)
        return response.status_code, data

    def session_key(self, apikey=None):
        if not getattr(self, '_session', None) or apikey:
            status, data = self.call('POST', '/login', apikey=apikey or self.apikey, session=False)
            self.assertEqual((status, data['responsecode']), (200, 0), data)
            if apikey:
                return data['sessionkey']
            self._session = data['sessionkey']
        return self._session

    def body(self, lines=((2, 1_500_000),), tax=10, **changes):
        before = sum(q * p for q, p in lines)
        vat = before * tax // 100 if tax > 0 else 0
        body = {
            'CompanyName': self.company.name, 'CompanyAddress': '12 Nguyễn Huệ', 'CompanyTaxCode': SELLER_MST,
            'InvoiceForm': '1', 'SerialNo': self.series.symbol, 'InvoiceDate': self.day.strftime('%Y%m%d'),
            'PaymentDate': self.day.strftime('%Y%m%d'), 'Tax': tax, 'TotalTax': vat, 'TotalBeforTax': before,
            'TotalAfterTax': before + vat, 'AmountWords': 'Ba triệu ba trăm nghìn đồng', 'CurrencyCode': 'VND',
            'ExchangeRates': 1, 'CustomerName': 'Kế toán', 'CustomerTaxCode': BUYER_MST,
            'CustomerCompanyName': 'Công ty Cổ phần Khách hàng', 'CustomerAddress': '1 Tràng Tiền, Hà Nội',
            'CustomerEmail': 'ap@buyer.example.vn', 'CustomerPaymentMethodID': 'TM/CK', 'Remark': 'API',
            'InvoiceProducts': [{'Id': '', 'Name': f'Dịch vụ {i}', 'Unit': 'lần', 'Quantity': q, 'Cost': p,
                                 'Amount': q * p} for i, (q, p) in enumerate(lines)],
        }
        body.update(changes)
        return body

    def moves(self):
        return self.env['account.move'].search([('company_id', '=', self.company.id),
                                                ('move_type', '=', 'out_invoice')])

    # ------------------------------------------------------------------
    # seed 002
    # ------------------------------------------------------------------

    def test_create_issues_through_the_invoice_code_and_reads_back(self):
        status, data = self.call('POST', '/invoice/create', self.body())
        self.assertEqual((status, data['responsecode']), (200, 0), data)
        self.assertEqual((data['InvoiceNo'], data['InvoiceStatus'], data['SignStatus']), ('00000001', 'USING', 'SIGNED'))
        move = self.env['account.move'].browse(data['InvoiceId'])
        self.assertEqual((move.l10n_vn_einvoice_number, move.l10n_vn_einvoice_state), (1, 'USING'))
        self.assertEqual((move.company_id, move.partner_id, move.amount_total), (self.company, self.partner_a, 3_300_000))
        self.assertEqual(move.create_uid, self.user, 'created as the key\'s user')
        self.assertEqual(move.l10n_vn_einvoice_prepared_by_id, self.user)
        self.assertTrue(signing.verify_invoice(self.xml_of(move)).valid)
        self.assertEqual(self.series.next_number, 2)

        find = {'CompanyTaxCode': SELLER_MST, 'InvoiceForm': '1', 'SerialNo': self.series.symbol,
                'InvoiceDate': self.day.strftime('%Y%m%d')}
        _status, data = self.call('POST', '/invoice/getStatus', {**find, 'InvoiceNo': '00000001'})
        self.assertEqual((data['responsecode'], data['InvoiceStatus'], data['SignStatus']), (0, 'USING', 'SIGNED'))
        _status, data = self.call('POST', '/invoice/getStatus', {**find, 'InvoiceNo': '2'})
        self.assertEqual(data['responsecode'], 3)
        _status, data = self.call('POST', '/invoice/getBillsByDate', {'FromDate': find['InvoiceDate'],
                                                                     'ToDate': find['InvoiceDate']})
        [bill] = data['bills']
        self.assertEqual((bill['EinvoiceNumber'], bill['SignsInvoice'], bill['SumAmount'], bill['CustomerTaxCode']),
                         ('00000001', self.series.symbol, 3_300_000, BUYER_MST))
        _status, data = self.call('GET', '/invoice/getIssuerFormInvoice')
        self.assertEqual((data['IssuerTaxCode'], data['IsssuerName']), (SELLER_MST, self.company.name))
        self.assertIn({'InvoiceFormCode': '1', 'SignsInvoice': self.series.symbol}, data['FormInvoices'])
        # an issued invoice is never changed nor deleted through the API
        _status, data = self.call('PUT', '/invoice/update/00000001', self.body())
        self.assertEqual(data['responsecode'], 4)
        self.assertIn('adjustment or a replacement', data['responsemessage'])
        _status, data = self.call('DELETE', '/invoice/deleteLastInvoiceNoSign/00000001', find)
        self.assertEqual(data['responsecode'], 4)
        _status, data = self.call('DELETE', '/invoice/deleteLastInvoiceNoSign/00000009', find)
        self.assertEqual(data['responsecode'], 3)
        self.assertEqual(move.l10n_vn_einvoice_state, 'USING')

    def test_refusals_leave_nothing_written(self):
        before = self.moves()
        cases = [
            (self.body(TotalAfterTax=1), 1, 'TotalAfterTax'),
            (self.body(SerialNo='C99TZZ'), 2, 'C99TZZ'),
            (self.body(CompanyTaxCode=OTHER_MST), 7, OTHER_MST),
            (self.body(CustomerTaxCode='0101234560'), 1, 'CustomerTaxCode'),
            (self.body(Tax=7), 1, '7%'),
            (self.body(InvoiceDate='20261340'), 1, 'InvoiceDate'),
            (self.body(Quantity=None, InvoiceProducts=[{'Name': 'x', 'Unit': 'c', 'Quantity': '2', 'Cost': 1,
                                                        'Amount': 2}]), 1, 'InvoiceProducts[0].Quantity: must be a number'),
            ({**self.body(), 'CustomerEmail': None, 'Tax': True}, 1, 'CustomerEmail: required'),
            ([1, 2], 1, 'JSON object'),
        ]
        for body, code, words in cases:
            with self.subTest(words=words):
                status, data = self.call('POST', '/invoice/create', body)
                self.assertEqual(data['responsecode'], code, data)
                self.assertIn(words, data['responsemessage'])
        status, data = self.call('POST', '/invoice/create', raw='{"CompanyName": ')
        self.assertEqual((status, data['responsecode']), (400, 1))
        status, data = self.call('POST', '/invoice/create', raw='[' * 100_000)
        self.assertEqual((status, data['responsecode']), (400, 1))
        for wrong in (10 ** 20, -1, '7', True):
            _status, data = self.call('POST', '/getInvoice', {'InvoiceId': wrong})
            self.assertEqual(data['responsecode'], 1, wrong)
        status, data = self.call('POST', '/invoice/create', raw='x=1', headers={'Content-Type': 'text/plain'})
        self.assertEqual((status, data['responsecode']), (415, 1))
        self.assertEqual(self.moves(), before, 'nothing half-written')
        self.assertEqual(self.series.next_number, 1, 'no number consumed')

    def test_approval_is_required_as_in_the_screens(self):
        self.company.l10n_vn_einvoice_approval = True
        _status, data = self.call('POST', '/invoice/create', self.body())
        self.assertEqual(data['responsecode'], 4)
        self.assertIn('not approved yet', data['responsemessage'])
        self.assertFalse(self.moves())
        self.assertEqual(self.series.next_number, 1)
        # saved as a draft (seed 000 newInvoice) it waits for the accountant, who posts, approves and issues
        _status, data = self.call('POST', '/newInvoice', self.body())
        self.assertEqual((data['responsecode'], data['InvoiceNo'], data['InvoiceStatus']), (0, '', 'CREATED'))
        move = self.env['account.move'].browse(data['InvoiceId'])
        self.assertEqual(move.state, 'draft')

    def test_idempotency_key_returns_the_same_invoice(self):
        headers = {'Idempotency-Key': 'order-4711'}
        _status, first = self.call('POST', '/invoice/create', self.body(), headers=headers)
        _status, again = self.call('POST', '/invoice/create', self.body(), headers=headers)
        self.assertEqual(first['responsecode'], 0, first)
        self.assertEqual(again, first)
        self.assertEqual(len(self.moves()), 1)
        self.assertEqual(self.series.next_number, 2)
        status, other = self.call('POST', '/invoice/create', self.body(lines=((1, 5_000),)), headers=headers)
        self.assertEqual((status, other['responsecode']), (422, 1))
        self.assertEqual(len(self.moves()), 1)
        # a refused create does not take the key: corrected and sent again, it is created
        _status, refused = self.call('POST', '/invoice/create', self.body(TotalTax=1), headers={'Idempotency-Key': 'k2'})
        self.assertEqual(refused['responsecode'], 1)
        _status, done = self.call('POST', '/invoice/create', self.body(TotalTax=1), headers={'Idempotency-Key': 'k2'})
        self.assertEqual(done['responsecode'], 1)
        _status, done = self.call('POST', '/invoice/create', self.body(), headers={'Idempotency-Key': 'k3'})
        self.assertEqual((done['responsecode'], done['InvoiceNo']), (0, '00000002'))
        self.assertEqual(self.env['l10n_vn_einvoice.api.request'].search_count([('user_id', '=', self.user.id)]), 2)

    # ------------------------------------------------------------------
    # authentication, companies, rate limit
    # ------------------------------------------------------------------

    def test_authentication_failures(self):
        for kwargs, words in [({'apikey': False, 'session': False}, 'apikey header is missing'),
                              ({'apikey': 'not-a-key', 'session': False}, 'apikey is not valid'),
                              ({'session': False}, 'sessionkey is missing'),
                              ({'session': 'forged'}, 'sessionkey is missing, not valid or expired')]:
            with self.subTest(words=words):
                status, data = self.call('GET', '/invoice/getIssuerFormInvoice', **kwargs)
                self.assertEqual((status, data['responsecode']), (401, 401))
                self.assertIn(words, data['responsemessage'])
        status, data = self.call('POST', '/login', apikey='not-a-key', session=False)
        self.assertEqual(status, 401)
        # a session expires; it is stored hashed
        key = self.session_key(self.apikey)
        session = self.env['l10n_vn_einvoice.api.session'].sudo().search([('user_id', '=', self.user.id)], limit=1)
        self.assertNotIn(key, session.key_hash)
        self.assertEqual(self.call('GET', '/invoice/getIssuerFormInvoice', session=key)[1]['responsecode'], 0)
        session.write({'expires': fields.Datetime.now() - timedelta(seconds=1)})
        status, data = self.call('GET', '/invoice/getIssuerFormInvoice', session=key)
        self.assertEqual((status, data['responsecode']), (401, 401))
        # a session of another key is not this key's
        other = self.env['res.users.apikeys'].with_user(self.env.ref('base.user_admin')).sudo()._generate(None, 'x', None)
        status, data = self.call('GET', '/invoice/getIssuerFormInvoice', apikey=other)
        self.assertEqual(status, 401)

    def test_other_company_is_not_the_users(self):
        theirs = self.make_company_invoice(self.other_data)
        self.issue(theirs)
        self.assertEqual(theirs.l10n_vn_einvoice_state, 'USING', theirs.l10n_vn_einvoice_error)
        find = {'CompanyTaxCode': OTHER_MST, 'InvoiceForm': '1', 'SerialNo': self.other_series.symbol,
                'InvoiceDate': theirs.invoice_date.strftime('%Y%m%d'), 'InvoiceNo': '1'}
        _status, data = self.call('POST', '/invoice/getStatus', find)
        self.assertEqual(data['responsecode'], 7)
        _status, data = self.call('POST', '/getInvoice', {'InvoiceId': theirs.id})
        self.assertEqual(data['responsecode'], 3)
        _status, data = self.call('POST', '/xmldelete', {'InvoiceId': theirs.id})
        self.assertEqual(data['responsecode'], 3)
        sample = self.env['account.move']._l10n_vn_einvoice_sample_xml(self.other_data['company'])
        _status, data = self.call('POST', '/signxml', {'Xml': sample.decode()})
        self.assertEqual(data['responsecode'], 7, 'never signs for a company not the user\'s')
        self.assertNotIn('Xml', data)

    def test_rate_limit_per_key(self):
        self.env['ir.config_parameter'].sudo().set_param('l10n_vn_einvoice.api_rate_per_minute', '3')
        codes = [self.call('GET', '/invoice/getIssuerFormInvoice') for _i in range(8)]
        refused = [(s, d) for s, d in codes if s == 429]
        self.assertTrue(refused, 'the limit answers 429')
        self.assertEqual(refused[0][1]['responsecode'], 429)
        self.assertIn('Too many requests', refused[0][1]['responsemessage'])
        self.assertLessEqual(len(codes) - len(refused), 7)
        # another key has its own counter
        admin_key = self.env['res.users.apikeys'].with_user(self.env.ref('base.user_admin')).sudo()._generate(
            None, 'admin', None)
        status, data = self.call('POST', '/login', apikey=admin_key, session=False)
        self.assertEqual((status, data['responsecode']), (200, 0))

    def test_failed_authentications_are_limited_per_address(self):
        self.env['ir.config_parameter'].sudo().set_param('l10n_vn_einvoice.api_auth_failures_per_minute', '3')
        # the counters' clock stays in the middle of this minute, however long the test takes
        now = (time.time() // 60) * 60 + 30
        clock = SimpleNamespace(time=lambda: now)
        self.startPatcher(patch.object(einvoice_api_rate, 'time', clock))
        session = self.session_key()
        for _i in range(3):  # a missing key is no guess: not counted
            self.assertEqual(self.call('GET', '/invoice/getIssuerFormInvoice', apikey=False, session=False)[0], 401)
        self.assertEqual(self.call('GET', '/invoice/getIssuerFormInvoice')[1]['responsecode'], 0)
        for kwargs in ({'apikey': 'guess-1', 'session': False}, {'session': 'guess-2'},
                       {'apikey': 'guess-3', 'session': False}):
            status, data = self.call('GET', '/invoice/getIssuerFormInvoice', **kwargs)
            self.assertEqual((status, data['responsecode']), (401, 401))
        # blocked: a fourth guess, and even the right keys, wait (every worker reads the same counter)
        for kwargs in ({'apikey': 'guess-4', 'session': False}, {}):
            response = requests.get(self.base_url() + API + '/invoice/getIssuerFormInvoice', timeout=30, headers={
                'apikey': kwargs.get('apikey', self.apikey), 'sessionkey': session})
            self.assertEqual((response.status_code, response.json()['responsecode']), (429, 429))
            self.assertIn('Too many failed authentications', response.json()['responsemessage'])
            self.assertEqual(response.headers['Retry-After'], '31')
        self.env.cr.execute("SELECT count FROM l10n_vn_einvoice_api_rate WHERE key = 'address:127.0.0.1'")
        self.assertEqual(self.env.cr.fetchone()[0], 3, 'counted in PostgreSQL; a refused request adds nothing')
        # the next minute, the counter starts again
        self.env.cr.execute("UPDATE l10n_vn_einvoice_api_rate SET minute = minute - 1 WHERE key LIKE 'address:%'")
        self.assertEqual(self.call('GET', '/invoice/getIssuerFormInvoice')[1]['responsecode'], 0)

    def test_provider_series_is_sent_once_across_retries_of_one_key(self):
        """A create whose send times out after the provider created the invoice: the invoice and its "may have
        been sent" mark stay (as from the Issue button); the same Idempotency-Key again finds it at the
        provider: one invoice there, the same number answered."""
        yy = f'{self.day.year % 100:02d}'
        sandbox = PortalSandbox({'accounts': [{
            'apikey': 'api-KEY-123', 'sessionkey': 'Sess-KEY-456', 'tax_code': SELLER_MST, 'name': 'Người bán',
            'forms': {'1': [f'K{yy}TAA']}}]})
        server = SandboxServer(sandbox).start()
        self.addCleanup(server.stop)
        self.env['l10n_vn_einvoice.provider'].create({
            'name': 'Portal sandbox', 'provider': 'portal', 'company_id': self.company.id,
            'service_url': server.url, 'username': 'api-KEY-123', 'password': 'Sess-KEY-456',
            'connect_timeout': 2, 'read_timeout': 1, 'retry_attempts': 1, 'retry_backoff': 0.01,
            'is_default': True, 'download_files': False,
        })
        self.company.l10n_vn_einvoice_mode = 'provider'
        series = self.env['l10n_vn_einvoice.series'].create({
            'template_id': self.series.template_id.id, 'symbol': f'K{yy}TAA', 'company_id': self.company.id,
            'date_start': date(self.day.year, 1, 1), 'issuing_mode': 'provider', 'provider_template_code': '1',
        })
        self.env['product.product'].create({'name': 'Dịch vụ', 'default_code': 'SVC', 'type': 'service',
                                            'uom_id': self.env.ref('uom.product_uom_unit').id})
        body = self.body(lines=((3, 1_234_000),), SerialNo=series.symbol)
        body['InvoiceProducts'][0]['Id'] = 'SVC'  # the provider wants a unit on every line: the product's
        sandbox.faults.add(kind='commit_delay', op='create', times=1, seconds=2)  # created, answered too late
        sandbox.faults.add(kind='error500', op='getBillsByDate', after=1)  # the watermark, then no look-up
        with self.assertLogs('vn_einvoice.providers.http', 'WARNING'):
            status, data = self.call('POST', '/invoice/create', body, headers={'Idempotency-Key': 'p-1'})
        self.assertEqual((status, data['responsecode']), (200, 4), data)
        self.assertEqual(sandbox.creates, 1, data)
        move = self.moves().filtered(lambda m: m.l10n_vn_einvoice_series_id == series)
        self.assertEqual(len(move), 1, 'the invoice stays, as after the Issue button')
        self.assertEqual((move.state, move.l10n_vn_einvoice_state), ('posted', 'CREATED'))
        self.assertTrue(move.l10n_vn_einvoice_provider_maybe_sent, 'the mark is kept, not rolled back')
        sandbox.faults.clear()
        status, data = self.call('POST', '/invoice/create', body, headers={'Idempotency-Key': 'p-1'})
        self.assertEqual((status, data['responsecode'], data['InvoiceStatus']), (200, 0, 'USING'), data)
        self.assertEqual(sandbox.creates, 1, 'found at the provider, not sent again')
        [record] = [r for r in sandbox.invoices() if r['serial'] == series.symbol]
        self.assertEqual((data['InvoiceId'], data['InvoiceNo']), (move.id, f'{record["number"]:08d}'))
        again = self.call('POST', '/invoice/create', body, headers={'Idempotency-Key': 'p-1'})[1]
        self.assertEqual(again, data)
        self.assertEqual((sandbox.creates, len(self.moves().filtered(lambda m: m.l10n_vn_einvoice_series_id == series))),
                         (1, 1))

    # ------------------------------------------------------------------
    # seed 000
    # ------------------------------------------------------------------

    def test_new_invoice_sign_get_check_and_delete(self):
        _status, draft = self.call('POST', '/newInvoice', self.body())
        self.assertEqual(draft['responsecode'], 0, draft)
        _status, data = self.call('POST', '/xmldelete', {'InvoiceId': draft['InvoiceId']})
        self.assertEqual(data['responsecode'], 0, data)
        self.assertFalse(self.env['account.move'].browse(draft['InvoiceId']).exists())
        self.assertEqual(self.series.next_number, 1)

        _status, signed = self.call('POST', '/newInvoiceSign', self.body())
        self.assertEqual((signed['responsecode'], signed['InvoiceNo'], signed['SignStatus']), (0, '00000001', 'SIGNED'))
        _status, data = self.call('POST', '/xmldelete', {'InvoiceId': signed['InvoiceId']})
        self.assertEqual(data['responsecode'], 4)
        _status, got = self.call('POST', '/getInvoice', {'CompanyTaxCode': SELLER_MST, 'InvoiceForm': '1',
                                                          'SerialNo': self.series.symbol, 'InvoiceNo': '1'})
        self.assertEqual((got['Invoice']['InvoiceId'], got['Invoice']['TotalAfterTax']), (signed['InvoiceId'], 3_300_000))
        self.assertTrue(signing.verify_invoice(got['Xml'].encode()).valid)

        _status, check = self.call('POST', '/checkInvoice', {'Xml': got['Xml']})
        self.assertEqual((check['responsecode'], check['Valid'], check['InvoiceStatus']), (0, True, 'USING'), check)
        forged = got['Xml'].replace('3300000', '3300001')
        _status, check = self.call('POST', '/checkInvoice', {'Xml': forged})
        self.assertFalse(check['Valid'])
        self.assertTrue(check['Problems'])
        _status, data = self.call('POST', '/checkInvoice', {'Xml': '<HDon><unclosed>'})
        self.assertEqual(data['responsecode'], 1)

    def test_signxml_signs_only_the_companys_documents(self):
        sample = self.env['account.move']._l10n_vn_einvoice_sample_xml(self.company)
        _status, data = self.call('POST', '/signxml', {'Xml': sample.decode()})
        self.assertEqual(data['responsecode'], 0, data)
        report = signing.verify_invoice(data['Xml'].encode())
        self.assertTrue(report.valid, report.all_problems())
        self.assertEqual(report.seller_tax_code, SELLER_MST)
        for xml, words in [('<Invoice><x/></Invoice>', 'only an e-invoice'), ('not xml', 'well-formed'),
                           (sample.decode().replace('<TTChung>', '<TTChung><Bogus/>', 1), 'not valid')]:
            with self.subTest(words=words):
                _status, data = self.call('POST', '/signxml', {'Xml': xml})
                self.assertEqual(data['responsecode'], 1)
                self.assertIn(words, data['responsemessage'])
        notice = lib_notice.build_notice_xml(lib_notice.ErrorNotice(
            taxpayer_name=self.company.name, tax_code=SELLER_MST, tax_office_code='79100',
            tax_office_name='Chi cục Thuế khu vực II', place='TP. Hồ Chí Minh', notice_date=date(2026, 3, 10),
            invoices=(lib_notice.NoticeInvoice('1', 'C26TAA', '12', date(2026, 3, 2), lib_notice.NoticeNature.EXPLAIN,
                                               'Sai địa chỉ người mua'),)))
        _status, data = self.call('POST', '/signxml', {'Xml': notice.decode()})
        self.assertEqual(data['responsecode'], 0, data)
        report = lib_notice.verify_notice(data['Xml'].encode())
        self.assertTrue(report.valid, report.all_problems())
        other = notice.decode().replace(SELLER_MST, OTHER_MST)
        _status, data = self.call('POST', '/signxml', {'Xml': other})
        self.assertEqual(data['responsecode'], 7, 'a notice of another taxpayer is never signed')
        _status, data = self.call('POST', '/signxmlhsm', {'Xml': sample.decode()})
        self.assertEqual(data['responsecode'], 4)
        self.assertIn('no PKCS#11 signer', data['responsemessage'])

    def test_signxmlhsm_and_signxmltoken_sign_with_the_pkcs11_key(self):
        hsm = softhsm_token()
        self.env['l10n_vn_einvoice.signer'].create({
            'name': 'SoftHSM token', 'company_id': self.company.id, 'kind': 'pkcs11',
            'pkcs11_module': hsm['module'], 'pkcs11_token_label': TOKEN, 'pkcs11_key_label': 'seller',
            'pkcs11_pin': PIN,
        })
        sample = self.env['account.move']._l10n_vn_einvoice_sample_xml(self.company).decode()
        for operation in ('/signxmlhsm', '/signxmltoken'):
            with self.subTest(operation=operation):
                _status, data = self.call('POST', operation, {'Xml': sample})
                self.assertEqual(data['responsecode'], 0, data)
                report = signing.verify_invoice(data['Xml'].encode())
                self.assertTrue(report.valid, report.all_problems())
                self.assertEqual(report.signatures[0].subject, data['Signer'])
                self.assertIn('token', data['Signer'])
                self.assertNotIn(PIN, json.dumps(data))

    def test_openapi_document_lists_every_operation(self):
        response = requests.get(self.base_url() + API + '/openapi.json', timeout=30)
        doc = response.json()
        self.assertEqual(doc['openapi'][:2], '3.')
        for path in ('/login', '/invoice/create', '/invoice/update/{invoiceNumber}',
                     '/invoice/deleteLastInvoiceNoSign/{invoiceNumber}', '/invoice/getStatus',
                     '/invoice/getIssuerFormInvoice', '/invoice/getBillsByDate', '/newInvoice', '/newInvoiceSign',
                     '/checkInvoice', '/getInvoice', '/signxml', '/signxmlhsm', '/signxmltoken', '/xmldelete'):
            self.assertIn(path, doc['paths'])

    # ------------------------------------------------------------------
    # one Odoo issues through another, with our own seed-002 client
    # ------------------------------------------------------------------

    def test_our_portal_client_issues_through_this_server(self):
        """Company B (another system of the same seller) issues through company A's Odoo: B's provider
        account of type portal points at this server with A's user's apikey and a sessionkey from /login."""
        b_data, _signer, b_series = self.setup_other_vn_company(tax_code=SELLER_MST, name='Chi nhánh POS')
        b = b_data['company']
        account = self.env['l10n_vn_einvoice.provider'].create({
            'name': 'Odoo of company A', 'provider': 'portal', 'company_id': b.id,
            'service_url': self.base_url() + API + '/', 'username': self.apikey, 'password': self.session_key(),
            'connect_timeout': 5, 'read_timeout': 30, 'retry_attempts': 1, 'is_default': True, 'download_files': False,
        })
        b.l10n_vn_einvoice_mode = 'provider'
        b_series.write({'issuing_mode': 'provider', 'provider_id': account.id, 'provider_template_code': '1'})
        self.assertEqual(account.action_test_connection()['params']['type'], 'success')
        move = self.env['account.move'].with_context(allowed_company_ids=[b.id]).create({
            'move_type': 'out_invoice', 'partner_id': self.partner_a.id, 'invoice_date': self.day,
            'journal_id': b_data['default_journal_sale'].id, 'invoice_line_ids': [fields.Command.create({
                'product_id': self.product_a.id, 'quantity': 2, 'price_unit': 1_000_000,
                'tax_ids': [fields.Command.set(b_data['tax_10'].ids)]})],
        })
        move.action_post()
        self.issue(move.with_context(allowed_company_ids=[b.id]))
        self.assertEqual(move.l10n_vn_einvoice_state, 'USING', move.l10n_vn_einvoice_error)
        self.assertEqual(move.l10n_vn_einvoice_number, 1)
        [there] = self.moves()
        self.assertEqual((there.l10n_vn_einvoice_number, there.amount_total, there.create_uid),
                         (1, move.amount_total, self.user))
        self.assertTrue(signing.verify_invoice(self.xml_of(there)).valid, 'signed by company A')
        keys = self.env['l10n_vn_einvoice.api.request'].sudo().search([('user_id', '=', self.user.id)])
        self.assertEqual(keys.move_id, there, 'the client sent its transaction key: a retry returns this invoice')
        self.assertEqual(to_portal(move._l10n_vn_einvoice_document(1))['TotalAfterTax'], there.amount_total)
