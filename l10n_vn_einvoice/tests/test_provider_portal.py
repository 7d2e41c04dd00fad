"""Issuing through the e-invoice portal API of seed 002 from Odoo, over real HTTP against its sandbox.

Only the account's provider (a selection value) differs from Viettel: same model, wizards and rules. The
portal has no transaction key: an invoice that may have reached it is found by its day, form, serial,
customer and amounts (``vn_einvoice.providers.portal``)."""

from datetime import date

from odoo.tests import tagged

from vn_einvoice.providers import get_provider
from vn_einvoice.sandbox.http import SandboxServer
from vn_einvoice.sandbox.portal import PortalSandbox

from .common import SELLER_MST, EinvoiceCommon


@tagged('post_install_l10n', 'post_install', '-at_install')
class TestProviderPortal(EinvoiceCommon):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.yy = f'{cls.year % 100:02d}'
        cls.sandbox = PortalSandbox({'accounts': [{
            'apikey': 'api-KEY-123', 'sessionkey': 'Sess-KEY-456', 'tax_code': SELLER_MST, 'name': 'Người bán',
            'forms': {'1': [f'C{cls.yy}TAA', f'K{cls.yy}TAA']}}]})
        cls.server = SandboxServer(cls.sandbox).start()
        cls.addClassCleanup(cls.server.stop)
        cls.account = cls.env['l10n_vn_einvoice.provider'].create({
            'name': 'Portal sandbox', 'provider': 'portal', 'company_id': cls.company.id,
            'service_url': cls.server.url, 'username': 'api-KEY-123', 'password': 'Sess-KEY-456',
            'connect_timeout': 2, 'read_timeout': 3, 'retry_attempts': 3, 'retry_backoff': 0.01,
            'is_default': True, 'download_files': False,
        })
        cls.company.l10n_vn_einvoice_mode = 'provider'
        cls.series.is_default = False
        cls.p_series = cls.env['l10n_vn_einvoice.series'].create({
            'template_id': cls.series.template_id.id, 'symbol': f'K{cls.yy}TAA', 'company_id': cls.company.id,
            'date_start': date(cls.year, 1, 1), 'is_default': True, 'issuing_mode': 'provider',
            'provider_template_code': '1',
        })

    def setUp(self):
        super().setUp()
        self.sandbox.reset()  # Odoo rolls each test back: so does the portal

    def records(self, move):
        return [r for r in self.sandbox.invoices()
                if (r['serial'], r['number']) == (move.l10n_vn_einvoice_series_id.symbol, move.l10n_vn_einvoice_number)]

    def test_connection_and_import_of_the_forms(self):
        self.assertEqual(self.account.action_test_connection()['params']['type'], 'success')
        self.assertIn('2 series', self.account.last_check_message)
        self.account.action_import()
        imported = self.env['l10n_vn_einvoice.series'].search([('provider_id', '=', self.account.id)])
        self.assertEqual(sorted(imported.mapped('symbol')), [f'C{self.yy}TAA', f'K{self.yy}TAA'])
        self.assertEqual(set(imported.mapped('provider_template_code')), {'1'})
        bad = self.account.copy({'name': 'wrong', 'is_default': False, 'password': 'Wr0ng-Sess-789'})
        action = bad.action_test_connection()
        self.assertEqual(action['params']['type'], 'danger')
        self.assertIn('refused the apikey or the sessionkey', action['params']['message'])
        self.assertNotIn('Wr0ng-Sess-789', bad.last_check_message)

    def test_issue_stores_the_portals_answer(self):
        move = self.make_invoice()
        self.issue(move)
        self.assertEqual(move.l10n_vn_einvoice_state, 'USING', move.l10n_vn_einvoice_error)
        [rec] = self.records(move)
        self.assertEqual(move.l10n_vn_einvoice_provider_invoice_no, f'K{self.yy}TAA{rec["number"]}')
        self.assertEqual(rec['body']['TotalAfterTax'], move.amount_total)
        self.assertEqual(rec['body']['CustomerEmail'], 'ap@buyer.example.vn')
        self.assertEqual(self.p_series.next_number, rec['number'] + 1)

    def test_refusal_is_explained(self):
        wrong = self.p_series.copy({'symbol': f'K{self.yy}TAB', 'is_default': False})
        move = self.make_invoice(post=False)
        move.l10n_vn_einvoice_series_id = wrong
        move.action_post()
        self.issue(move)
        self.assertEqual(move.l10n_vn_einvoice_state, 'CREATED')
        self.assertIn('are not registered for the company at the portal', move.l10n_vn_einvoice_error)
        self.assertFalse(move.l10n_vn_einvoice_provider_maybe_sent)

    def test_unknown_outcome_is_found_by_its_content_never_created_twice(self):
        move = self.make_invoice(lines=[(3, 1_234_000, self.tax_10)])  # unlike the other invoices of the day
        creates = self.sandbox.creates
        self.sandbox.faults.add(kind='commit_drop', op='create', times=1)
        self.sandbox.faults.add(kind='error500', op='getBillsByDate', after=1)  # the watermark, then no look-up
        with self.assertLogs('vn_einvoice.providers.http', 'WARNING'):
            self.issue(move)
        self.assertEqual(move.l10n_vn_einvoice_state, 'CREATED')
        self.assertTrue(move.l10n_vn_einvoice_provider_maybe_sent)
        self.assertEqual(self.sandbox.creates, creates + 1)
        self.sandbox.faults.clear()
        self.issue(move)
        self.assertEqual(move.l10n_vn_einvoice_state, 'USING', move.l10n_vn_einvoice_error)
        self.assertEqual(self.sandbox.creates, creates + 1, 'found at the portal, not created again')
        self.assertEqual(len(self.records(move)), 1)
        self.assertIn('not issued again', ''.join(move.message_ids[:3].mapped('body')))

    def test_identical_invoice_issued_earlier_is_told_apart_by_the_series_number(self):
        first = self.make_invoice(lines=[(7, 700_000, self.tax_10)])
        self.issue(first)
        self.assertEqual(first.l10n_vn_einvoice_state, 'USING', first.l10n_vn_einvoice_error)
        twin = self.make_invoice(lines=[(7, 700_000, self.tax_10)])
        self.sandbox.faults.add(kind='commit_drop', op='create', times=1)
        self.sandbox.faults.add(kind='error500', op='getBillsByDate', after=1)
        with self.assertLogs('vn_einvoice.providers.http', 'WARNING'):
            self.issue(twin)
        self.assertEqual(twin.l10n_vn_einvoice_state, 'CREATED')
        # kept with the key before the first send: the highest number recorded here in the series
        self.assertEqual(twin.l10n_vn_einvoice_provider_watermark, first.l10n_vn_einvoice_number)
        self.sandbox.faults.clear()
        creates = self.sandbox.creates
        # "Look up at the provider" (a new client, nothing in memory): found by its content above that number
        twin.action_l10n_vn_einvoice_provider_lookup()
        self.assertEqual(twin.l10n_vn_einvoice_state, 'USING', twin.l10n_vn_einvoice_error)
        self.assertEqual(twin.l10n_vn_einvoice_number, first.l10n_vn_einvoice_number + 1)
        self.assertEqual(self.sandbox.creates, creates, 'found, not created again')
        self.assertEqual(len(self.records(twin)), 1)

    def test_identical_invoices_above_the_series_number_are_never_guessed(self):
        twin = self.make_invoice(lines=[(9, 900_000, self.tax_10)])
        self.sandbox.faults.add(kind='commit_drop', op='create', times=1)
        self.sandbox.faults.add(kind='error500', op='getBillsByDate', after=1)
        with self.assertLogs('vn_einvoice.providers.http', 'WARNING'):
            self.issue(twin)
        self.sandbox.faults.clear()
        with get_provider('portal', base_url=self.server.url, username='api-KEY-123', password='Sess-KEY-456',
                          supplier_tax_code=SELLER_MST) as outside:  # the same invoice, typed in elsewhere
            outside.issue(twin._l10n_vn_einvoice_document(), transaction_uuid='outside-odoo-2')
        creates = self.sandbox.creates
        self.issue(twin)  # two identical invoices above the number: it cannot tell which is this one
        self.assertEqual(twin.l10n_vn_einvoice_state, 'CREATED')
        self.assertTrue(twin.l10n_vn_einvoice_provider_maybe_sent, 'still to be checked: never sent again')
        self.assertEqual(self.sandbox.creates, creates)

    def test_compare_with_the_provider_lists_the_differences(self):
        kept, changed, lost = (self.make_invoice(lines=[(n, 100_000 * n, self.tax_10)]) for n in (1, 2, 3))
        self.issue(kept | changed | lost)
        self.assertEqual(set((kept | changed | lost).mapped('l10n_vn_einvoice_state')), {'USING'})
        with get_provider('portal', base_url=self.server.url, username='api-KEY-123', password='Sess-KEY-456',
                          supplier_tax_code=SELLER_MST) as outside:  # issued in the portal's own screens
            other = outside.issue(self.make_invoice(post=False)._l10n_vn_einvoice_document(),
                                  transaction_uuid='outside-odoo-1')
        records = self.sandbox.records
        next(r for r in records if r['number'] == changed.l10n_vn_einvoice_number)['body']['TotalAfterTax'] = 1
        records.remove(next(r for r in records if r['number'] == lost.l10n_vn_einvoice_number))
        action = self.account.action_reconcile()
        self.assertEqual(action['res_model'], 'l10n_vn_einvoice.provider.difference')
        differences = {d.kind: d for d in self.account.difference_ids}
        self.assertEqual(len(self.account.difference_ids), 3)
        self.assertEqual(differences['unknown_here'].provider_invoice_no, other.invoice_no)
        self.assertIn('issued at the provider but is not recorded here', differences['unknown_here'].message)
        self.assertEqual(differences['amount'].move_id, changed)
        self.assertEqual((differences['amount'].provider_total, differences['amount'].odoo_total),
                         (1.0, changed.amount_total))
        self.assertEqual(differences['missing_there'].move_id, lost)
        self.env['l10n_vn_einvoice.provider']._cron_l10n_vn_einvoice_reconcile()
        self.assertEqual(len(self.account.difference_ids), 3, 'the same differences, not twice')
