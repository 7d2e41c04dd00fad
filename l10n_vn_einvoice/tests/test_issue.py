import base64
from datetime import date, timedelta
from decimal import Decimal

import psycopg2

from odoo import Command
from odoo.exceptions import UserError
from odoo.tests import tagged
from odoo.tools import mute_logger

from vn_einvoice.sandbox import testca
from vn_einvoice.signing import certs, verify_invoice

from ..models import einvoice_signer as signer_module
from .common import BUYER_MST, SELLER_MST, EinvoiceCommon


@tagged('post_install_l10n', 'post_install', '-at_install')
class TestIssue(EinvoiceCommon):

    def test_post_prepares_created_nosign(self):
        move = self.make_invoice()
        self.assertEqual(move.l10n_vn_einvoice_state, 'CREATED')
        self.assertEqual(move.l10n_vn_einvoice_sign_status, 'NOSIGN')
        self.assertEqual(move.l10n_vn_einvoice_series_id, self.series)
        self.assertFalse(move.l10n_vn_einvoice_number)

    def test_issue_signs_numbers_and_attaches(self):
        move = self.make_invoice([(2, 1_500_000, self.tax_10), (1, 20_000_000, self.tax_8)])
        self.issue(move)
        self.assertEqual(move.l10n_vn_einvoice_state, 'USING')
        self.assertEqual(move.l10n_vn_einvoice_sign_status, 'SIGNED')
        self.assertEqual(move.l10n_vn_einvoice_number, 1)
        self.assertEqual(move.l10n_vn_einvoice_name, f'1C{self.year % 100:02d}TAA-00000001')
        self.assertFalse(move.l10n_vn_einvoice_error)
        self.assertEqual(len(move.l10n_vn_einvoice_lookup_code), 12)
        report = verify_invoice(self.xml_of(move))
        self.assertTrue(report.valid, report.all_problems())
        self.assertEqual(report.seller.subject_tax_code, SELLER_MST)
        doc = self.document_of(move)
        self.assertEqual(doc.number, 1)
        self.assertEqual(doc.seller.tax_code, SELLER_MST)
        self.assertEqual(doc.buyer.tax_code, BUYER_MST)
        self.assertEqual(doc.totals.total_before_tax, Decimal(23_000_000))
        self.assertEqual(doc.totals.total_tax, Decimal(300_000 + 1_600_000))
        self.assertEqual(doc.totals.total, Decimal(24_900_000))
        self.assertEqual(doc.totals.total, Decimal(str(move.amount_total)))
        self.assertEqual(doc.totals.total_in_words, 'Hai mươi bốn triệu chín trăm nghìn đồng chẵn')
        self.assertEqual(sorted(b.rate.code for b in doc.tax_breakdown), ['10%', '8%'])
        self.assertEqual(move.l10n_vn_einvoice_qr, doc.qr_payload)
        self.assertIn('99', doc.qr_payload[:200] and doc.qr_payload)
        self.assertEqual(self.series.next_number, 2)

    def test_zero_rate_and_kct_stay_apart(self):
        move = self.make_invoice([(1, 1_000_000, self.tax_0), (1, 500_000, self.tax_kct)])
        self.issue(move)
        rates = {b.rate.code: b for b in self.document_of(move).tax_breakdown}
        self.assertEqual(set(rates), {'0%', 'KCT'})
        self.assertEqual(rates['0%'].tax_amount, Decimal(0))
        self.assertIsNone(rates['KCT'].tax_amount)

    def test_numbering_consecutive_over_50(self):
        moves = self.env['account.move']
        for i in range(50):
            moves |= self.make_invoice([(1, 100_000 + i, self.tax_10)])
        self.issue(moves)
        numbers = moves.sorted('id').mapped('l10n_vn_einvoice_number')
        self.assertEqual(numbers, list(range(1, 51)))
        self.assertEqual(self.series.next_number, 51)
        self.assertEqual(set(moves.mapped('l10n_vn_einvoice_state')), {'USING'})

    def test_batch_isolates_a_failure_the_checks_cannot_foresee(self):
        """Issued together, a failure at build time sends the batch one by one: the others are issued with
        consecutive numbers, the bad one stays CREATED with the reason, no number is skipped."""
        first, bad, third = (self.make_invoice([(1, 100_000 + i, self.tax_10)]) for i in range(3))
        bad.invoice_line_ids[:1].with_context(check_move_validity=False).name = 'Hàng\x01lỗi'
        moves = first | bad | third
        self.assertFalse(bad._l10n_vn_einvoice_check(), 'the checks do not see it')
        self.issue(moves)
        self.assertEqual(bad.l10n_vn_einvoice_state, 'CREATED')
        self.assertIn('cannot carry (U+0001)', bad.l10n_vn_einvoice_error)
        self.assertEqual((first.l10n_vn_einvoice_number, third.l10n_vn_einvoice_number), (1, 2))
        self.assertEqual(self.series.next_number, 3)

    def test_batch_note_tracks_the_state_and_is_no_manual_edit(self):
        moves = self.make_invoice() | self.make_invoice()
        before = {move.id: set(move.message_ids.ids) for move in moves}
        self.issue(moves)
        for move in moves:
            new = move.message_ids.filtered(lambda m, move=move: m.id not in before[move.id])
            self.assertEqual(len(new), 1, 'one note per invoice, the state change in it')
            self.assertIn(f'E-invoice {move.l10n_vn_einvoice_name} issued and signed by', new.body)
            self.assertEqual(new.attachment_ids.raw, move.l10n_vn_einvoice_xml_id.raw)
            self.assertEqual(new.tracking_value_ids.field_id.name, 'l10n_vn_einvoice_state')
            self.assertEqual((new.tracking_value_ids.old_value_char, new.tracking_value_ids.new_value_char),
                             ('Created', 'Issued'))
            self.assertFalse(move.is_manually_modified, 'issuing is not a manual change of the invoice')

    def test_cron_issues_its_batch_and_reports_what_remains(self):
        self.company.l10n_vn_einvoice_auto_issue = True
        moves = self.make_invoice() | self.make_invoice() | self.make_invoice()
        cron = self.env.ref('l10n_vn_einvoice.ir_cron_l10n_vn_einvoice_issue')
        progress = self.env['ir.cron.progress'].create({'cron_id': cron.id, 'done': 0, 'remaining': 0})
        Move = self.env['account.move'].with_context(ir_cron_progress_id=progress.id)
        Move._cron_l10n_vn_einvoice_issue(batch_size=2)
        self.assertEqual((progress.done, progress.remaining), (2, 1))
        Move._cron_l10n_vn_einvoice_issue(batch_size=2)
        self.assertEqual((progress.done, progress.remaining), (1, 0))
        self.assertEqual(sorted(moves.mapped('l10n_vn_einvoice_number')), [1, 2, 3])

    def test_error_keeps_created_and_consumes_no_number(self):
        self.partner_a.vat = '0101234566'  # wrong check digit
        bad = self.make_invoice()
        self.issue(bad)
        self.assertEqual(bad.l10n_vn_einvoice_state, 'CREATED')
        self.assertEqual(bad.l10n_vn_einvoice_sign_status, 'NOSIGN')
        self.assertFalse(bad.l10n_vn_einvoice_number)
        self.assertFalse(bad.l10n_vn_einvoice_xml_id)
        self.assertIn('check digit', bad.l10n_vn_einvoice_error)
        self.assertIn('check digit', bad.message_ids[0].body)
        self.assertEqual(self.series.next_number, 1)
        self.partner_a.vat = BUYER_MST
        self.issue(bad)
        self.assertEqual(bad.l10n_vn_einvoice_number, 1)
        self.assertFalse(bad.l10n_vn_einvoice_error)

    def test_signing_failure_rolls_back_number(self):
        self.signer.certificate_id.pkcs12_password = 'wrong'
        move = self.make_invoice()
        self.issue(move)
        self.assertEqual(move.l10n_vn_einvoice_state, 'CREATED')
        self.assertEqual(self.series.next_number, 1)
        self.assertIn('password', move.l10n_vn_einvoice_error)
        self.assertNotIn('wrong', move.l10n_vn_einvoice_error.replace('wrong password', ''))

    def test_opened_key_is_kept_only_for_the_same_file_and_password(self):
        # a PKCS#12 key opened by a batch is kept by the process for the next ones: a new file (or password)
        # is opened anew, and a wrong password still refuses even right after the right one was used
        first = self.make_invoice()
        self.issue(first)
        ca = testca.make_test_ca()
        key, cert = testca.make_seller_certificate(ca, SELLER_MST, self.company.name)
        self.signer.certificate_id = self.env['certificate.certificate'].sudo().create({
            'name': 'TEST certificate 2', 'content': base64.b64encode(testca.p12_bytes(key, cert, [ca.certificate], 'demo')),
            'pkcs12_password': 'demo', 'scope': 'l10n_vn_einvoice', 'company_id': self.company.id})
        second = self.make_invoice()
        self.issue(second)
        serials = [verify_invoice(self.xml_of(move)).seller.serial for move in (first, second)]
        self.assertEqual(serials[1], certs.serial_hex(cert))
        self.assertNotEqual(serials[0], serials[1])
        self.signer.certificate_id.pkcs12_password = 'wrong'
        third = self.make_invoice()
        self.issue(third)
        self.assertEqual(third.l10n_vn_einvoice_state, 'CREATED')
        self.assertIn('password', third.l10n_vn_einvoice_error)

    def test_opened_key_not_kept_when_the_administrator_says_so(self):
        # system parameter 0: a decrypted PKCS#12 key lives only as long as the batch that opened it
        self.env['ir.config_parameter'].sudo().set_param('l10n_vn_einvoice.pkcs12_keep_seconds', '0')
        signer_module._PKCS12_OPENED.clear()
        moves = self.make_invoice() | self.make_invoice()
        self.issue(moves)
        self.assertEqual(moves.mapped('l10n_vn_einvoice_state'), ['USING', 'USING'])
        self.assertFalse(signer_module._PKCS12_OPENED, 'a decrypted key was kept after the batch')
        self.env['ir.config_parameter'].sudo().set_param('l10n_vn_einvoice.pkcs12_keep_seconds', '300')
        self.issue(self.make_invoice())
        self.assertEqual(len(signer_module._PKCS12_OPENED), 1, 'kept for the next batches')

    def test_issue_date_cannot_go_backwards(self):
        today = date.today()
        first = self.make_invoice(invoice_date=today)
        self.issue(first)
        if today.month == 1 and today.day == 1:
            return
        earlier = self.make_invoice(invoice_date=today - timedelta(days=1))
        self.issue(earlier)
        self.assertEqual(earlier.l10n_vn_einvoice_state, 'CREATED')
        self.assertIn('cannot be issued after it', earlier.l10n_vn_einvoice_error)
        self.assertEqual(self.series.next_number, 2)

    def test_symbol_year_must_match_issue_year(self):
        move = self.make_invoice(invoice_date=date(self.year - 1, 12, 31))
        move.l10n_vn_einvoice_series_id = self.series
        self.issue(move)
        self.assertEqual(move.l10n_vn_einvoice_state, 'CREATED')
        self.assertIn(f'use a series of {self.year - 1}', move.l10n_vn_einvoice_error)

    def test_issued_invoice_guards(self):
        move = self.make_invoice()
        self.issue(move)
        with self.assertRaisesRegex(UserError, 'cannot be reset to draft'):
            move.button_draft()
        with self.assertRaisesRegex(UserError, 'adjustment or replacement'):
            move.button_cancel()
        with self.assertRaisesRegex(UserError, 'set by issuing'):
            move.l10n_vn_einvoice_number = 7
        with self.assertRaisesRegex(UserError, 'legal content cannot be changed'):
            move.l10n_vn_einvoice_payment_method = 'Tiền mặt'
        with self.assertRaises(UserError):
            move.unlink()
        self.assertFalse(move.show_reset_to_draft_button)
        with self.assertRaisesRegex(UserError, 'not waiting to be issued|None of the selected'):
            self.issue(move)
        self.assertEqual(self.series.next_number, 2)

    def test_issued_lines_are_frozen(self):
        """What the signed XML shows cannot change under it: not by a line write, not through the invoice."""
        move = self.make_invoice([(2, 1_500_000, self.tax_10)])
        self.issue(move)
        line = move.invoice_line_ids
        for vals in ({'price_unit': 1_400_000}, {'quantity': 3}, {'name': 'Khác'}, {'discount': 10},
                     {'tax_ids': [Command.set(self.tax_8.ids)]}, {'product_id': self.product_b.id}):
            with self.subTest(vals=vals), self.assertRaisesRegex(UserError, 'its lines .* must stay what was signed'):
                line.write(vals)
        # through the invoice: Odoo itself refuses it on a posted invoice
        posted = 'must stay what was signed|readonly fields on a posted move'
        with self.assertRaisesRegex(UserError, posted):
            move.write({'invoice_line_ids': [Command.update(line.id, {'price_unit': 1})]})
        with self.assertRaisesRegex(UserError, posted):
            move.write({'invoice_line_ids': [Command.create({'name': 'Thêm', 'quantity': 1, 'price_unit': 0})]})
        with self.assertRaisesRegex(UserError, 'must stay what was signed'):
            self.env['account.move.line'].create({'move_id': move.id, 'name': 'Thêm', 'quantity': 1,
                                                  'price_unit': 0, 'account_id': line.account_id.id})
        with self.assertRaisesRegex(UserError, 'must stay what was signed'):
            line.sudo().write({'price_unit': 1})
        with self.assertRaisesRegex(UserError, f'must stay what was signed|{posted}|posted entry|tax report'):
            move.line_ids.filtered(lambda l: l.display_type == 'tax').unlink()
        with self.assertRaisesRegex(UserError, f'must stay what was signed|{posted}|posted entry'):
            line.unlink()
        self.assertEqual((line.quantity, line.price_unit, line.name), (2, 1_500_000, self.product_a.display_name))
        self.assertEqual(self.document_of(move).totals.total, Decimal(str(move.amount_total)))
        # what is not on the e-invoice stays editable; an unchanged value is no change
        line.write({'price_unit': 1_500_000, 'analytic_distribution': False})
        # a prepared (not yet issued) e-invoice is still an ordinary invoice
        draft = self.make_invoice()
        draft.button_draft()
        draft.invoice_line_ids.price_unit = 10
        self.assertEqual(draft.amount_untaxed, 2 * 10)

    def test_number_unique_in_series_and_year_in_the_database(self):
        first, second = self.make_invoice(), self.make_invoice()
        self.issue(first | second)
        self.assertEqual((first.l10n_vn_einvoice_number, second.l10n_vn_einvoice_number), (1, 2))
        with mute_logger('odoo.sql_db'), self.assertRaises(psycopg2.errors.UniqueViolation), self.env.cr.savepoint():
            self.env.cr.execute('UPDATE account_move SET l10n_vn_einvoice_number = 1 WHERE id = %s', [second.id])
        # the code refuses it in words before the database does
        with self.assertRaisesRegex(UserError, 'Number 1 of series .* is already used'):
            second._l10n_vn_einvoice_mark_issued({'l10n_vn_einvoice_number': 1}, None, None)

    def test_series_locked_once_used(self):
        self.issue(self.make_invoice())
        with self.assertRaisesRegex(UserError, 'can no longer be changed'):
            self.series.symbol = f'C{self.year % 100:02d}TAB'
        with self.assertRaisesRegex(UserError, 'only moves when e-invoices are issued'):
            self.series.next_number = 1
        with self.assertRaisesRegex(UserError, 'cannot be deleted'):
            self.series.unlink()
        self.series.journal_ids = self.company_data['default_journal_sale']  # allowed

    def test_credit_note_is_decrease_adjustment(self):
        move = self.make_invoice([(2, 1_500_000, self.tax_10)])
        self.issue(move)
        reversal = self.env['account.move.reversal'].with_context(
            active_model='account.move', active_ids=move.ids).create({
                'reason': 'Trả lại 1 sản phẩm', 'journal_id': move.journal_id.id})
        refund = self.env['account.move'].browse(reversal.refund_moves()['res_id'])
        refund.invoice_line_ids.quantity = 1
        refund.action_post()
        self.issue(refund)
        self.assertEqual(refund.l10n_vn_einvoice_state, 'USING', refund.l10n_vn_einvoice_error)
        self.assertEqual(move.l10n_vn_einvoice_state, 'ADJUSTED')
        doc = self.document_of(refund)
        self.assertEqual(doc.related.relation.name, 'ADJUSTMENT')
        self.assertEqual(doc.related.number, '1')
        self.assertEqual(doc.totals.total, Decimal(-1_650_000))
        self.assertTrue(doc.totals.total_in_words.startswith('Một triệu sáu trăm năm mươi nghìn'))

    def test_foreign_currency_has_exchange_rate(self):
        usd = self.setup_other_currency('USD', rates=[('2000-01-01', 1 / 25_000)])
        move = self.make_invoice([(3, 12.5, self.tax_10)], currency_id=usd.id)
        self.issue(move)
        self.assertEqual(move.l10n_vn_einvoice_state, 'USING', move.l10n_vn_einvoice_error)
        doc = self.document_of(move)
        self.assertEqual(doc.currency, 'USD')
        self.assertEqual(doc.exchange_rate, Decimal(25_000))
        self.assertEqual(doc.totals.total, Decimal('41.25'))
        self.assertIn('đô la Mỹ', doc.totals.total_in_words)
