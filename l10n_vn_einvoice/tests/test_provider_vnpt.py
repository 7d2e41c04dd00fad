"""Issuing through VNPT (SOAP, zeep) from Odoo, over real HTTP against the VNPT sandbox started in this process.

The provider account, the wizards and the exactly-once rules are those of Viettel: only the account's
provider (a selection value) differs."""

import zipfile
from datetime import date
from io import BytesIO

from odoo.tests import tagged

from vn_einvoice.providers.vnpt import fkey_of
from vn_einvoice.sandbox.http import SandboxServer
from vn_einvoice.sandbox.vnpt import VnptSandbox

from .common import EinvoiceCommon


@tagged('post_install_l10n', 'post_install', '-at_install')
class TestProviderVnpt(EinvoiceCommon):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.sandbox = VnptSandbox()
        cls.server = SandboxServer(cls.sandbox).start()
        cls.addClassCleanup(cls.server.stop)
        cls.yy = f'{cls.year % 100:02d}'
        cls.account = cls.env['l10n_vn_einvoice.provider'].create({
            'name': 'VNPT sandbox', 'provider': 'vnpt', 'company_id': cls.company.id,
            'service_url': cls.server.url, 'account': 'demoadmin', 'acpassword': 'demo',
            'username': 'demoservice', 'password': 'demo', 'connect_timeout': 2, 'read_timeout': 3,
            'retry_attempts': 3, 'retry_backoff': 0.01, 'is_default': True,
        })
        cls.company.l10n_vn_einvoice_mode = 'provider'
        cls.series.is_default = False
        cls.p_series = cls.env['l10n_vn_einvoice.series'].create({
            'template_id': cls.series.template_id.id, 'symbol': f'K{cls.yy}TAA', 'company_id': cls.company.id,
            'date_start': date(cls.year, 1, 1), 'is_default': True, 'issuing_mode': 'provider',
            'provider_template_code': '1/001',
        })

    def setUp(self):
        super().setUp()
        self.sandbox.faults.clear()

    def record(self, move):
        """VNPT's invoice of ``move`` (by its fkey): there is exactly one per key, VNPT refuses a second."""
        return self.sandbox.records[f'0100109106|{fkey_of(move.l10n_vn_einvoice_transaction_uuid)}']

    def issued(self, **kw):
        move = self.make_invoice(**kw)
        self.issue(move)
        self.assertEqual(move.l10n_vn_einvoice_state, 'USING', move.l10n_vn_einvoice_error)
        return move

    def wizard(self, model, moves, lines=None, action=None, **vals):
        return super().wizard(model, moves, lines=lines, action=action, **{'agreement_name': 'BB-02/2026', **vals})

    def test_vnpt_is_a_choice_and_the_connection_is_tested(self):
        choices = dict(self.env['l10n_vn_einvoice.provider']._selection_provider())
        self.assertEqual((choices['vnpt'], choices['portal']), ('VNPT Invoice', 'E-invoice portal API (seed 002)'))
        self.assertEqual(self.account.action_test_connection()['params']['type'], 'success')
        bad = self.account.copy({'name': 'wrong', 'is_default': False, 'password': 'Wr0ng-VNPT-99'})
        action = bad.action_test_connection()
        self.assertEqual(action['params']['type'], 'danger')
        self.assertIn('VNPT refused the account', action['params']['message'])
        self.assertNotIn('Wr0ng-VNPT-99', bad.last_check_message)

    def test_issue_stores_vnpts_answer_and_files(self):
        move = self.issued()
        rec = self.record(move)
        self.assertEqual(move.l10n_vn_einvoice_number, rec['number'])
        self.assertEqual(move.l10n_vn_einvoice_provider_invoice_no, f'K{self.yy}TAA{rec["number"]}')
        self.assertEqual(move.l10n_vn_einvoice_provider_template, '1/001')
        self.assertEqual(move.l10n_vn_einvoice_provider_transaction_id, rec['fkey'])
        self.assertEqual(rec['data']['Amount'], str(int(move.amount_total)))
        self.assertTrue(move.l10n_vn_einvoice_provider_pdf_id.raw.startswith(b'%PDF'))
        with zipfile.ZipFile(BytesIO(move.l10n_vn_einvoice_provider_zip_id.raw)) as archive:
            self.assertEqual(len(archive.namelist()), 1)
        self.assertIn(f'<InvoiceNo>{rec["number"]}</InvoiceNo>'.encode(), move.l10n_vn_einvoice_xml_id.raw)
        self.assertEqual(self.p_series.next_number, rec['number'] + 1)

    def test_unknown_outcome_is_looked_up_by_fkey_never_issued_twice(self):
        move = self.make_invoice()
        self.sandbox.faults.add(kind='commit_drop', op='ImportAndPublishInv', times=1)
        self.sandbox.faults.add(kind='error500', op='listInvByCusFkey')
        with self.assertLogs('vn_einvoice.providers.http', 'WARNING'):
            self.issue(move)
        self.assertEqual(move.l10n_vn_einvoice_state, 'CREATED')
        self.assertTrue(move.l10n_vn_einvoice_provider_maybe_sent)
        self.assertIn('looked up by its transaction key', move.l10n_vn_einvoice_error)
        rec = self.record(move)  # it went through, once
        issued = self.sandbox.issued
        self.sandbox.faults.clear()
        self.issue(move)
        self.assertEqual(move.l10n_vn_einvoice_state, 'USING', move.l10n_vn_einvoice_error)
        self.assertEqual(move.l10n_vn_einvoice_number, rec['number'])
        self.assertEqual(self.sandbox.issued, issued, 'looked up, not issued again')
        self.assertIn('not issued again', ''.join(move.message_ids[:3].mapped('body')))

    def test_adjustment_goes_through_adjust_invoice_action(self):
        origin = self.issued()
        wizard = self.wizard('l10n_vn_einvoice.adjustment.wizard', origin,
                             lines={0: {'what': 'price', 'direction': 'decrease', 'delta_price': 100_000}})
        adj = self.env['account.move'].browse(wizard.action_create_and_issue()['res_id'])
        self.assertEqual(adj.l10n_vn_einvoice_state, 'USING', adj.l10n_vn_einvoice_error)
        self.assertEqual(origin.l10n_vn_einvoice_state, 'ADJUSTED')
        rec = self.record(adj)
        self.assertEqual((rec['kind'], rec['original']), ('adjustment', self.record(origin)['fkey']))
        self.assertEqual(rec['data']['Type'], '3', 'a decrease')
        self.assertEqual(self.record(origin)['status'], '4')

    def test_replacement_goes_through_replace_invoice_action(self):
        origin = self.issued()
        wizard = self.wizard('l10n_vn_einvoice.replacement.wizard', origin)
        new = self.env['account.move'].browse(wizard.action_create()['res_id'])
        new.invoice_line_ids[0].price_unit = 1_400_000
        new.action_post()
        self.issue(new)
        self.assertEqual(new.l10n_vn_einvoice_state, 'USING', new.l10n_vn_einvoice_error)
        self.assertEqual(origin.l10n_vn_einvoice_state, 'CHANGE')
        rec = self.record(new)
        self.assertEqual((rec['kind'], rec['original']), ('replacement', self.record(origin)['fkey']))
        self.assertEqual(self.record(origin)['status'], '3')

    def test_payment_status_is_sent_by_fkey(self):
        move = self.issued()
        self.assertEqual(self.record(move)['data']['PaymentStatus'], '0')
        self.env['account.payment.register'].with_context(active_model='account.move', active_ids=move.ids).create(
            {})._create_payments()
        self.assertTrue(move.l10n_vn_einvoice_payment_to_sync)
        self.env['account.move']._cron_l10n_vn_einvoice_provider_payment()
        self.assertEqual(self.record(move)['data']['PaymentStatus'], '1')
        self.assertTrue(move.l10n_vn_einvoice_provider_paid)
        self.assertFalse(move.l10n_vn_einvoice_payment_to_sync)

    def test_import_templates_and_series_from_get_serial_by_pattern(self):
        self.sandbox.config.companies[0]['patterns']['2/001'] = [f'C{self.yy}TBB']
        self.addCleanup(self.sandbox.config.companies[0]['patterns'].pop, '2/001')
        action = self.account.action_import()
        self.assertEqual(action['params']['type'], 'success')
        imported = self.env['l10n_vn_einvoice.series'].search([('provider_id', '=', self.account.id)])
        self.assertEqual(sorted((s.template_id.code, s.symbol, s.provider_template_code) for s in imported),
                         [('1', f'C{self.yy}TAA', '1/001'), ('1', f'K{self.yy}TAA', '1/001'),
                          ('2', f'C{self.yy}TBB', '2/001')])
        self.assertEqual(self.account.series_count, 3)
        # asked again: nothing new
        self.account.action_import()
        self.assertEqual(self.env['l10n_vn_einvoice.series'].search_count([('provider_id', '=', self.account.id)]), 3)

    def test_import_back_lists_by_number_range_attaches_and_lists_differences(self):
        self.sandbox.reset()  # the invoices of the other tests are not in this test's database
        first, second = self.issued(), self.issued()
        # issued at VNPT by another program: unknown here
        outside = self.make_invoice()
        with self.account._client() as client:
            other = client.issue(outside._l10n_vn_einvoice_document(), transaction_uuid='outside-program-1',
                                 pattern='1/001', serial=f'K{self.yy}TAA')
        # the files of the first are missing here; VNPT holds another total for the second
        first.l10n_vn_einvoice_provider_pdf_id.unlink()
        first.l10n_vn_einvoice_provider_zip_id.unlink()
        first.invalidate_recordset()
        self.assertFalse(first.l10n_vn_einvoice_provider_pdf_id)
        self.record(second)['data']['Amount'] = '1000'
        trips = self.env['l10n_vn_einvoice.event'].search_count([('event', '=', 'provider_exchange')])
        action = self.account.action_reconcile()
        self.assertEqual(action['res_model'], 'l10n_vn_einvoice.provider.difference')
        differences = self.account.difference_ids
        self.assertEqual(sorted((d.kind, d.provider_invoice_no) for d in differences),
                         [('amount', second.l10n_vn_einvoice_provider_invoice_no),
                          ('unknown_here', other.invoice_no)])
        self.assertEqual(differences.filtered(lambda d: d.kind == 'amount').move_id, second)
        self.assertTrue(first.l10n_vn_einvoice_provider_pdf_id.raw.startswith(b'%PDF'), 'attached again')
        self.assertTrue(first.l10n_vn_einvoice_provider_zip_id)
        channels = self.env['l10n_vn_einvoice.event'].search(
            [('event', '=', 'provider_exchange')], order='id')[-(self.env['l10n_vn_einvoice.event'].search_count(
                [('event', '=', 'provider_exchange')]) - trips):].mapped('channel')
        self.assertIn('getSerialByPattern', channels)
        self.assertIn('listInvFromNoToNo', channels)
        # the scheduled action compares the same way
        self.record(second)['data']['Amount'] = str(int(second.amount_total))
        self.env['l10n_vn_einvoice.provider']._cron_l10n_vn_einvoice_reconcile()
        self.assertEqual(self.account.difference_ids.mapped('kind'), ['unknown_here'])
