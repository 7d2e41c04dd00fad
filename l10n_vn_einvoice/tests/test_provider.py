"""Issuing through a provider, over real HTTP against the SInvoice sandbox started in this process."""

from contextlib import contextmanager
from datetime import date, datetime, timezone
from unittest.mock import patch

from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import new_test_user, tagged

from vn_einvoice.sandbox.viettel import V2_PREFIX, start

from .common import SELLER_MST, EinvoiceCommon


@tagged('post_install_l10n', 'post_install', '-at_install')
class TestProvider(EinvoiceCommon):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.server = start()
        cls.addClassCleanup(cls.server.stop)
        cls.sandbox = cls.server.app
        cls.yy = f'{cls.year % 100:02d}'
        cls.account = cls.env['l10n_vn_einvoice.provider'].create({
            'name': 'SInvoice sandbox', 'provider': 'viettel', 'company_id': cls.company.id,
            'service_url': cls.server.url + V2_PREFIX + '/', 'auth_style': 'token',
            'account': 'demo', 'acpassword': 'demo', 'username': 'demo', 'password': 'demo',
            'connect_timeout': 2, 'read_timeout': 3, 'retry_attempts': 3, 'retry_backoff': 0.01,
            'is_default': True,
        })
        cls.company.l10n_vn_einvoice_mode = 'provider'
        cls.series.is_default = False  # the locally signed series of the common set-up
        cls.p_series = cls.env['l10n_vn_einvoice.series'].create({
            'template_id': cls.series.template_id.id, 'symbol': f'K{cls.yy}TAA', 'company_id': cls.company.id,
            'date_start': date(cls.year, 1, 1), 'is_default': True, 'issuing_mode': 'provider',
            'provider_template_code': '1/001',
        })

    def setUp(self):
        super().setUp()
        self.sandbox.faults.clear()

    # helpers -----------------------------------------------------------

    def records(self, move):
        key = move.l10n_vn_einvoice_transaction_uuid
        self.assertTrue(key)
        return [r for r in self.sandbox.invoices() if r['transactionUuid'] == key]

    def record(self, move):
        """The sandbox's invoice of ``move``: there must be exactly one."""
        records = self.records(move)
        self.assertEqual(len(records), 1, 'exactly one invoice at the provider per transaction key')
        return records[0]

    def received(self, move):
        return sum(1 for _op, key in self.sandbox.received if key == move.l10n_vn_einvoice_transaction_uuid)

    def issued(self, **kw):
        move = self.make_invoice(**kw)
        self.issue(move)
        self.assertEqual(move.l10n_vn_einvoice_state, 'USING', move.l10n_vn_einvoice_error)
        return move

    def stat(self, op):
        return self.sandbox.stats.get(op, 0)

    @contextmanager
    def assert_connection_lost(self, operation):
        """The connection dropped on purpose by the sandbox is logged as a warning, without secrets."""
        with self.assertLogs('vn_einvoice.providers.http', 'WARNING') as logs:
            yield
        self.assertTrue(any(f'{operation}/{SELLER_MST} -> ConnectionError' in line for line in logs.output), logs.output)
        self.assertFalse([line for line in logs.output if 'demo' in line], 'no password in the log')

    def wizard(self, model, moves, lines=None, action=None, **vals):
        return super().wizard(model, moves, lines=lines, action=action, **{'agreement_name': 'BB-01/2026', **vals})

    # account -----------------------------------------------------------

    def test_connection(self):
        action = self.account.action_test_connection()
        self.assertEqual(action['params']['type'], 'success')
        self.assertTrue(self.account.last_check_ok)
        bad = self.account.copy({'name': 'wrong', 'is_default': False, 'password': 'wrong-Secret-987'})
        action = bad.action_test_connection()
        self.assertEqual(action['params']['type'], 'danger')
        self.assertIn('refused the account', action['params']['message'])
        self.assertNotIn('wrong-Secret-987', action['params']['message'])
        self.assertNotIn('wrong-Secret-987', bad.last_check_message)
        self.assertFalse(bad.last_check_ok)

    def test_basic_auth_and_token_cache(self):
        basic = self.account.copy({'name': 'basic', 'is_default': False, 'auth_style': 'basic',
                                   'service_url': self.server.url, 'password': 'demo'})
        self.assertEqual(basic.action_test_connection()['params']['type'], 'success')
        self.account.action_test_connection()
        token = self.env['l10n_vn_einvoice.provider.token'].sudo().search([('provider_id', '=', self.account.id)])
        self.assertTrue(token.token, 'the session token is kept for the other workers')

    def test_import_templates_series_custom_fields(self):
        Series = self.env['l10n_vn_einvoice.series']
        self.account.action_import()
        series = Series.search([('provider_id', '=', self.account.id)])
        coded = series.filtered(lambda s: s.symbol == f'C{self.yy}TAA')
        self.assertEqual((coded.provider_template_code, coded.template_id.code, coded.issuing_mode),
                         ('1/001', '1', 'provider'))
        self.assertIn(self.p_series, series, 'the existing series is linked, not duplicated')
        legacy = series.filtered(lambda s: s.provider_template_code == '01GTKT0/085')
        self.assertEqual((legacy.symbol, legacy.template_id.code), ('AA/17E', '01GTKT0/085'))
        fields_085 = self.account.field_ids.filtered(lambda f: f.template_code == '01GTKT0/085')
        self.assertEqual(sorted(fields_085.mapped('key')),
                         ['buyerCode', 'buyerDateOfBirth', 'buyerDepartments', 'invoiceReason'])
        self.assertEqual(fields_085.filtered(lambda f: f.key == 'buyerCode').field_id, 190)
        count = Series.search_count([('provider_id', '=', self.account.id)])
        self.account.action_import()
        self.assertEqual(Series.search_count([('provider_id', '=', self.account.id)]), count, 'import twice: same')

    def test_passwords_readable_by_administrators_only(self):
        issuer = new_test_user(self.env, login='vn_issuer', company_id=self.company.id,
                               groups='account.group_account_invoice,l10n_vn_einvoice.group_l10n_vn_einvoice_user')
        manager = new_test_user(self.env, login='vn_einvoice_manager', company_id=self.company.id,
                                groups='account.group_account_invoice,l10n_vn_einvoice.group_l10n_vn_einvoice_manager')
        for user in (issuer, manager):
            account = self.account.with_user(user)
            self.assertEqual(account.name, 'SInvoice sandbox')
            for fname in ('password', 'acpassword'):
                with self.assertRaises(AccessError):
                    account.read([fname])
            with self.assertRaises(AccessError):
                self.env['l10n_vn_einvoice.provider.token'].with_user(user).search([])
        # the issuer issues all the same (the credentials are read by the issuing code, not by the user)
        move = self.make_invoice()
        move.with_user(issuer).action_l10n_vn_einvoice_issue()
        self.assertEqual(move.l10n_vn_einvoice_state, 'USING', move.l10n_vn_einvoice_error)
        other = self.env['res.company'].create({'name': 'Other company'})
        hidden = self.env['l10n_vn_einvoice.provider'].create({
            'name': 'Other', 'company_id': other.id, 'service_url': self.server.url, 'username': 'x'})
        self.assertFalse(self.env['l10n_vn_einvoice.provider'].with_user(manager).search([('id', '=', hidden.id)]))

    # issue -------------------------------------------------------------

    def test_issue_stores_the_providers_answer_and_files(self):
        move = self.issued()
        rec = self.record(move)
        self.assertEqual(move.l10n_vn_einvoice_sign_status, 'SIGNED')
        self.assertEqual(move.l10n_vn_einvoice_number, rec['number'])
        self.assertEqual(move.l10n_vn_einvoice_provider_invoice_no, rec['invoiceNo'])
        self.assertEqual(move.l10n_vn_einvoice_name, f'1K{self.yy}TAA-{rec["number"]:08d}')
        self.assertEqual(move.l10n_vn_einvoice_lookup_code, rec['reservationCode'])
        self.assertEqual(move.l10n_vn_einvoice_provider_template, '1/001')
        self.assertEqual(move.l10n_vn_einvoice_provider_id, self.account)
        issued = datetime.fromtimestamp(rec['issueDate'] / 1000, timezone.utc).replace(tzinfo=None, microsecond=0)
        self.assertEqual(move.l10n_vn_einvoice_issue_datetime, issued)
        self.assertFalse(move.l10n_vn_einvoice_provider_maybe_sent)
        self.assertFalse(move.l10n_vn_einvoice_authority_code, 'K series: no tax-authority code')
        self.assertIn(f'K{self.yy}TAA', move.l10n_vn_einvoice_qr or '', 'the e-invoice QR payload of the issued number')
        self.assertEqual(rec['body']['summarizeInfo']['totalAmountWithTax'], move.amount_total)
        self.assertTrue(move.l10n_vn_einvoice_provider_pdf_id.raw.startswith(b'%PDF'))
        self.assertEqual(move.l10n_vn_einvoice_provider_zip_id.mimetype, 'application/zip')
        self.assertIn(move.l10n_vn_einvoice_provider_pdf_id,
                      self.env['account.move.send']._get_invoice_extra_attachments(move), 'mailed with the invoice')
        self.assertIn(f'<SHDon>{rec["number"]}</SHDon>'.encode(), move.l10n_vn_einvoice_xml_id.raw)
        self.assertEqual(self.p_series.next_number, rec['number'] + 1)
        self.assertEqual(self.p_series.last_issue_date, move.invoice_date)
        self.assertEqual(self.received(move), 1)
        # issued: never sent again
        with self.assertRaises(UserError):
            self.issue(move)
        self.assertEqual(self.received(move), 1)

    def test_coded_series_stores_the_tax_authority_code(self):
        coded = self.series  # C<yy>TAA of the common set-up, unused: now issuing through the provider
        coded.write({'issuing_mode': 'provider', 'provider_template_code': '1/001'})
        move = self.make_invoice(post=False)
        move.l10n_vn_einvoice_series_id = coded
        move.action_post()
        self.issue(move)
        self.assertEqual(move.l10n_vn_einvoice_state, 'USING', move.l10n_vn_einvoice_error)
        rec = self.record(move)
        self.assertEqual(len(move.l10n_vn_einvoice_authority_code), 34)
        self.assertEqual(move.l10n_vn_einvoice_authority_code, rec['codeOfTax'])

    def test_send_and_print_applies_to_provider_series(self):
        move = self.make_invoice()
        self.assertTrue(self.env['account.move.send']._is_l10n_vn_einvoice_applicable(move))

    def test_refusal_is_explained_and_nothing_is_written(self):
        wrong = self.p_series.copy({'symbol': f'K{self.yy}TAB', 'is_default': False})
        move = self.make_invoice(post=False)
        move.l10n_vn_einvoice_series_id = wrong
        move.action_post()
        self.issue(move)
        self.assertEqual(move.l10n_vn_einvoice_state, 'CREATED')
        self.assertFalse(move.l10n_vn_einvoice_number or move.l10n_vn_einvoice_provider_invoice_no)
        self.assertIn('OUT_OF_INVOICE_NO', move.l10n_vn_einvoice_error)
        self.assertIn('No number is left in this series, or the series does not belong to this template',
                      move.l10n_vn_einvoice_error)
        self.assertFalse(move.l10n_vn_einvoice_provider_maybe_sent, 'refused: nothing to look up')
        self.assertFalse(self.records(move))
        self.assertEqual(wrong.next_number, 1)
        # a Vietnamese-speaking user reads the provider's explanation in Vietnamese
        self.env['res.lang']._activate_lang('vi_VN')
        move.with_context(lang='vi_VN').action_l10n_vn_einvoice_issue()
        self.assertIn('Dải hóa đơn đã hết số hoặc ký hiệu không thuộc mẫu này', move.l10n_vn_einvoice_error)

    def test_provider_messages_in_the_user_log_masked(self):
        move = self.issued()
        row = self.env['l10n_vn_einvoice.event'].search([('move_id', '=', move.id), ('event', '=', 'provider')])
        self.assertEqual(len(row), 1)
        self.assertEqual(row.provider_id, self.account)
        self.assertIn(move.l10n_vn_einvoice_transaction_uuid, row.request)
        self.assertIn('"total": "3300000"', row.request)
        self.assertIn(self.partner_a.vat, row.request)
        self.assertTrue(row.response)
        self.assertIn(move.l10n_vn_einvoice_provider_invoice_no, row.response)
        self.assertNotIn(move.l10n_vn_einvoice_lookup_code, row.response, 'the lookup code is masked')
        self.assertIn('***', row.response)
        # a refusal: its reason and the provider's answer
        wrong = self.p_series.copy({'symbol': f'K{self.yy}TAB', 'is_default': False})
        refused = self.make_invoice(post=False)
        refused.l10n_vn_einvoice_series_id = wrong
        refused.action_post()
        self.issue(refused)
        row = self.env['l10n_vn_einvoice.event'].search([('move_id', '=', refused.id), ('event', '=', 'provider')])
        self.assertEqual(row.outcome, 'failed')
        self.assertIn('OUT_OF_INVOICE_NO', row.message)

    def test_unknown_outcome_is_looked_up_never_issued_twice(self):
        move = self.make_invoice()
        # the invoice is issued but the answer is lost, and the look-ups fail too
        self.sandbox.faults.add(kind='commit_drop', op='createInvoice', times=1)
        self.sandbox.faults.add(kind='error500', op='searchInvoiceByTransactionUuid')
        with self.assert_connection_lost('createInvoice'):
            self.issue(move)
        self.assertEqual(move.l10n_vn_einvoice_state, 'CREATED')
        self.assertTrue(move.l10n_vn_einvoice_provider_maybe_sent)
        self.assertIn('unknown whether the invoice reached', move.l10n_vn_einvoice_error)
        self.assertIn('looked up by its transaction key', move.l10n_vn_einvoice_error)
        self.assertFalse(move.l10n_vn_einvoice_number)
        rec = self.record(move)  # it did go through, once
        with self.assertRaises(UserError):
            move.button_draft()  # not while it may have been issued
        key = move.l10n_vn_einvoice_transaction_uuid
        self.sandbox.faults.clear()
        self.issue(move)
        self.assertEqual(move.l10n_vn_einvoice_state, 'USING', move.l10n_vn_einvoice_error)
        self.assertEqual(move.l10n_vn_einvoice_transaction_uuid, key, 'the key never changes')
        self.assertEqual((move.l10n_vn_einvoice_number, move.l10n_vn_einvoice_lookup_code),
                         (rec['number'], rec['reservationCode']))
        self.assertEqual(self.record(move)['id'], rec['id'])
        self.assertEqual(self.received(move), 1, 'looked up, not sent again')
        self.assertIn('not issued again', ''.join(move.message_ids[:3].mapped('body')))

    def test_local_failure_after_the_provider_issued_keeps_the_flag(self):
        move = self.make_invoice()
        with patch.object(type(self.env['account.move']), '_l10n_vn_einvoice_provider_mark',
                          side_effect=UserError('disk full')):
            self.issue(move)
        self.assertEqual(move.l10n_vn_einvoice_state, 'CREATED')
        self.assertTrue(move.l10n_vn_einvoice_provider_maybe_sent, 'issued at the provider: look it up next time')
        rec = self.record(move)
        self.issue(move)
        self.assertEqual(move.l10n_vn_einvoice_state, 'USING', move.l10n_vn_einvoice_error)
        self.assertEqual(move.l10n_vn_einvoice_number, rec['number'])
        self.assertEqual(self.received(move), 1)

    def test_lookup_button_clears_an_invoice_that_never_arrived(self):
        move = self.make_invoice()
        self.sandbox.faults.add(kind='drop', op='createInvoice', times=1)  # lost before processing
        self.sandbox.faults.add(kind='error500', op='searchInvoiceByTransactionUuid', times=20)
        with self.assert_connection_lost('createInvoice'):
            self.issue(move)
        self.assertTrue(move.l10n_vn_einvoice_provider_maybe_sent)
        self.sandbox.faults.clear()
        move.action_l10n_vn_einvoice_provider_lookup()
        self.assertFalse(move.l10n_vn_einvoice_provider_maybe_sent)
        self.assertEqual(move.l10n_vn_einvoice_state, 'CREATED')
        self.assertFalse(self.records(move))
        self.issue(move)
        self.assertEqual(move.l10n_vn_einvoice_state, 'USING', move.l10n_vn_einvoice_error)
        self.record(move)

    def test_lookup_button_records_an_invoice_that_went_through(self):
        move = self.make_invoice()
        self.sandbox.faults.add(kind='commit_drop', op='createInvoice', times=1)
        self.sandbox.faults.add(kind='error500', op='searchInvoiceByTransactionUuid', times=20)
        with self.assert_connection_lost('createInvoice'):
            self.issue(move)
        self.sandbox.faults.clear()
        move.action_l10n_vn_einvoice_provider_lookup()
        self.assertEqual(move.l10n_vn_einvoice_state, 'USING', move.l10n_vn_einvoice_error)
        self.assertEqual(move.l10n_vn_einvoice_number, self.record(move)['number'])

    def test_files_failure_does_not_undo_the_issue(self):
        self.sandbox.faults.add(kind='error500', op='getInvoiceRepresentationFile')
        move = self.issued()
        self.assertFalse(move.l10n_vn_einvoice_provider_pdf_id)
        self.assertIn('could not be fetched', move.message_ids[0].body)
        self.sandbox.faults.clear()
        move.action_l10n_vn_einvoice_provider_files()
        self.assertTrue(move.l10n_vn_einvoice_provider_pdf_id.raw.startswith(b'%PDF'))
        self.assertTrue(move.l10n_vn_einvoice_xml_id)

    # batches -----------------------------------------------------------

    def test_batch_by_scheduled_action(self):
        self.company.l10n_vn_einvoice_auto_issue = True
        self.account.download_files = False
        moves = self.env['account.move'].union(*(self.make_invoice() for _i in range(12)))
        batches, singles = self.stat('createBatchInvoice'), self.stat('createInvoice')
        self.env['account.move']._cron_l10n_vn_einvoice_provider_issue()
        self.assertEqual(set(moves.mapped('l10n_vn_einvoice_state')), {'USING'}, moves.mapped('l10n_vn_einvoice_error'))
        self.assertEqual(self.stat('createBatchInvoice') - batches, 1, 'one request for the 12 invoices')
        self.assertEqual(self.stat('createInvoice') - singles, 0)
        numbers = moves.sorted('id').mapped('l10n_vn_einvoice_number')
        self.assertEqual(numbers, list(range(numbers[0], numbers[0] + 12)))
        for move in moves:
            self.assertEqual(self.record(move)['number'], move.l10n_vn_einvoice_number)
            self.assert_recorded_once(move)  # recorded together: as one by one, the state change in the note
            note = move.message_ids.filtered(lambda m: 'issued.' in (m.body or ''))
            self.assertEqual(note.tracking_value_ids.mapped('new_value_char'), ['Issued'])
            self.assertFalse(move.l10n_vn_einvoice_provider_maybe_sent)
            self.assertEqual(move.l10n_vn_einvoice_provider_invoice_no, self.record(move)['invoiceNo'])
        self.assertEqual(self.p_series.next_number, numbers[-1] + 1, "the series' counter follows the provider")

    def test_batch_with_a_number_already_used_records_the_others(self):
        """A batch whose answer reuses a number Odoo already recorded: recorded together fails, so one by one;
        that invoice stays prepared with the reason, every other is recorded with its own number, one note and
        one user-log row each, its state change tracked."""
        self.company.l10n_vn_einvoice_auto_issue = True
        self.account.download_files = False
        first = self.issued()
        for series in self.sandbox.series.values():
            series['next'] -= 1  # the provider's counter restored from a backup
        moves = self.env['account.move'].union(*(self.make_invoice() for _i in range(4)))
        self.env['account.move']._cron_l10n_vn_einvoice_provider_issue()
        reused = moves.sorted('id')[0]
        self.assertEqual(reused.l10n_vn_einvoice_state, 'CREATED')
        self.assertIn(f'Number {first.l10n_vn_einvoice_number} of series {self.p_series.name} is already used',
                      reused.l10n_vn_einvoice_error)
        others = moves - reused
        self.assertEqual(set(others.mapped('l10n_vn_einvoice_state')), {'USING'})
        self.assertEqual(sorted(others.mapped('l10n_vn_einvoice_number')),
                         list(range(first.l10n_vn_einvoice_number + 1, first.l10n_vn_einvoice_number + 4)))
        for move in others:
            self.assertEqual(self.record(move)['number'], move.l10n_vn_einvoice_number)
            self.assert_recorded_once(move)

    def assert_recorded_once(self, move):
        notes = move.message_ids.filtered(lambda m: f'E-invoice {move.l10n_vn_einvoice_name} issued.' in (m.body or ''))
        self.assertEqual(len(notes), 1)
        self.assertEqual(self.env['l10n_vn_einvoice.event'].search_count(
            [('move_id', '=', move.id), ('event', '=', 'issued')]), 1)
        self.assertEqual(self.env['l10n_vn_einvoice.event'].search_count(
            [('move_id', '=', move.id), ('event', '=', 'provider'), ('outcome', '=', 'done')]), 1)

    def test_batch_refusal_of_one_invoice_and_account_without_password(self):
        self.company.l10n_vn_einvoice_auto_issue = True
        self.account.download_files = False
        wrong = self.p_series.copy({'symbol': f'K{self.yy}TAB', 'is_default': False})
        good = self.make_invoice()
        bad = self.make_invoice(post=False)
        bad.l10n_vn_einvoice_series_id = wrong
        bad.action_post()
        self.env['account.move']._cron_l10n_vn_einvoice_provider_issue()
        self.assertEqual(good.l10n_vn_einvoice_state, 'USING', good.l10n_vn_einvoice_error)
        self.assertEqual(bad.l10n_vn_einvoice_state, 'CREATED')
        self.assertIn('does not belong to this template', bad.l10n_vn_einvoice_error)
        self.assertFalse(bad.l10n_vn_einvoice_provider_maybe_sent)
        self.record(good)
        self.assertFalse(self.records(bad))
        # an account without password: a clear error, nothing sent, nothing flagged
        self.account.sudo().password = False
        self.account.acpassword = False
        third = self.make_invoice()
        received = len(self.sandbox.received)
        self.env['account.move']._cron_l10n_vn_einvoice_provider_issue()
        self.assertEqual(third.l10n_vn_einvoice_state, 'CREATED')
        self.assertIn('has no user name or password', third.l10n_vn_einvoice_error)
        self.assertFalse(third.l10n_vn_einvoice_provider_maybe_sent)
        self.assertEqual(len(self.sandbox.received), received)

    def test_batch_resumes_after_a_crash_without_issuing_twice(self):
        self.company.l10n_vn_einvoice_auto_issue = True
        self.account.download_files = False
        moves = self.env['account.move'].union(*(self.make_invoice() for _i in range(6)))
        # a crash: keys committed, three of the invoices reached the provider, nothing recorded in Odoo
        moves._l10n_vn_einvoice_provider_prepare()
        sent_before = moves.sorted('id')[:3]
        with self.account._client() as client:
            before = {m.id: client.issue(m._l10n_vn_einvoice_document(), template_code='1/001',
                                         transaction_uuid=m.l10n_vn_einvoice_transaction_uuid) for m in sent_before}
        # and the batch request drops after committing its first invoice
        self.sandbox.faults.add(kind='commit_drop', op='createBatchInvoice', commit_items=1, times=1)
        with self.assert_connection_lost('createBatchInvoice'):
            self.env['account.move']._cron_l10n_vn_einvoice_provider_issue()
        self.assertEqual(set(moves.mapped('l10n_vn_einvoice_state')), {'USING'}, moves.mapped('l10n_vn_einvoice_error'))
        for move in moves:
            self.record(move)
        for move in sent_before:
            self.assertEqual(move.l10n_vn_einvoice_number, before[move.id].number)
            self.assertEqual(self.received(move), 1, 'found by its key, not sent again')
        self.assertEqual(len(set(moves.mapped('l10n_vn_einvoice_number'))), 6)

    def test_number_already_used_by_the_provider_is_refused(self):
        """A provider that gives a number twice (its counter restored from a backup, say): the second invoice is
        not recorded with it; it stays prepared with the reason, and is not sent again by a retry."""
        first = self.issued()
        for series in self.sandbox.series.values():
            series['next'] -= 1
        second = self.make_invoice()
        self.issue(second)
        self.assertEqual(second.l10n_vn_einvoice_state, 'CREATED')
        self.assertFalse(second.l10n_vn_einvoice_number)
        self.assertIn(f'Number {first.l10n_vn_einvoice_number} of series {self.p_series.name} is already used in '
                      f'{self.year} by invoice {first.name}', second.l10n_vn_einvoice_error)
        self.assertEqual(self.env['account.move'].search_count([
            ('l10n_vn_einvoice_series_id', '=', self.p_series.id),
            ('l10n_vn_einvoice_number', '=', first.l10n_vn_einvoice_number)]), 1)
        self.issue(second)  # retried: found at the provider by its key, refused again, never sent twice
        self.assertEqual(second.l10n_vn_einvoice_state, 'CREATED')
        self.assertEqual(len(self.records(second)), 1)

    # corrections -------------------------------------------------------

    def test_adjustment_goes_through_provider_adjust(self):
        origin = self.issued()
        wizard = self.wizard('l10n_vn_einvoice.adjustment.wizard', origin,
                             lines={0: {'what': 'price', 'direction': 'decrease', 'delta_price': 100_000}})
        adj = self.env['account.move'].browse(wizard.action_create_and_issue()['res_id'])
        self.assertEqual(adj.l10n_vn_einvoice_state, 'USING', adj.l10n_vn_einvoice_error)
        self.assertEqual(origin.l10n_vn_einvoice_state, 'ADJUSTED')
        general = self.record(adj)['body']['generalInvoiceInfo']
        self.assertEqual(general['adjustmentType'], '5')
        self.assertEqual(general['adjustmentInvoiceType'], '1')
        self.assertEqual(general['originalInvoiceId'], origin.l10n_vn_einvoice_provider_invoice_no)
        self.assertEqual(general['originalTemplateCode'], '1/001')
        self.assertEqual(general['additionalReferenceDesc'], 'BB-01/2026')
        self.assertEqual(self.record(origin).get('adjustedBy'), adj.l10n_vn_einvoice_provider_invoice_no)

    def test_information_adjustment(self):
        origin = self.issued()
        wizard = self.wizard('l10n_vn_einvoice.adjustment.wizard', origin, kind='info',
                             buyer_address='2 Tràng Tiền, Hà Nội')
        adj = self.env['account.move'].browse(wizard.action_create_and_issue()['res_id'])
        self.assertEqual(adj.l10n_vn_einvoice_state, 'USING', adj.l10n_vn_einvoice_error)
        general = self.record(adj)['body']['generalInvoiceInfo']
        self.assertEqual((general['adjustmentType'], general['adjustmentInvoiceType']), ('5', '2'))

    def test_replacement_goes_through_provider_replace(self):
        origin = self.issued()
        wizard = self.wizard('l10n_vn_einvoice.replacement.wizard', origin)
        new = self.env['account.move'].browse(wizard.action_create()['res_id'])
        new.invoice_line_ids[0].price_unit = 1_400_000
        new.action_post()
        self.issue(new)
        self.assertEqual(new.l10n_vn_einvoice_state, 'USING', new.l10n_vn_einvoice_error)
        self.assertEqual(origin.l10n_vn_einvoice_state, 'CHANGE')
        general = self.record(new)['body']['generalInvoiceInfo']
        self.assertEqual(general['adjustmentType'], '3')
        self.assertEqual(general['originalInvoiceId'], origin.l10n_vn_einvoice_provider_invoice_no)
        self.assertTrue(origin.l10n_vn_einvoice_reversal_id, 'the replaced invoice\'s accounting is reversed')

    # payment status ----------------------------------------------------

    def test_payment_status_follows_the_payment_state(self):
        move = self.issued()
        self.assertFalse(self.record(move)['paid'])
        self.env['account.payment.register'].with_context(active_model='account.move', active_ids=move.ids).create(
            {})._create_payments()
        self.assertIn(move.payment_state, ('paid', 'in_payment'))
        self.assertTrue(move.l10n_vn_einvoice_payment_to_sync)
        self.env['account.move']._cron_l10n_vn_einvoice_provider_payment()
        self.assertTrue(self.record(move)['paid'])
        self.assertTrue(move.l10n_vn_einvoice_provider_paid)
        self.assertFalse(move.l10n_vn_einvoice_payment_to_sync)
        move.line_ids.remove_move_reconcile()
        self.assertEqual(move.payment_state, 'not_paid')
        self.assertTrue(move.l10n_vn_einvoice_payment_to_sync)
        move.action_l10n_vn_einvoice_provider_payment()
        self.assertFalse(self.record(move)['paid'])
        self.assertFalse(move.l10n_vn_einvoice_payment_to_sync)

    def test_company_default_account_and_settings(self):
        self.assertEqual(self.company.l10n_vn_einvoice_provider_id, self.account)
        second = self.account.copy({'name': 'second', 'is_default': False, 'password': 'demo'})
        self.company.l10n_vn_einvoice_provider_id = second
        self.assertTrue(second.is_default)
        self.assertFalse(self.account.is_default)
        self.assertEqual(self.p_series._l10n_vn_einvoice_provider(), second)
        with self.assertRaisesRegex(ValidationError, 'default provider account must be active'):
            second.active = False
        self.assertEqual(self.env['account.move'].search_count([('l10n_vn_einvoice_transaction_uuid', '=', False),
                                                               ('l10n_vn_einvoice_state', '=', 'CREATED'),
                                                               ('company_id', '=', self.company.id)]), 0)
        self.assertEqual(SELLER_MST, self.account._supplier_tax_code())
        self.assertIn(('viettel', 'Viettel SInvoice'), self.env['l10n_vn_einvoice.provider']._selection_provider())
