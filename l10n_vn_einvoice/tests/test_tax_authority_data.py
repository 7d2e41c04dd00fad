"""Invoices without code: their data to the tax authority (203, same day, scheduled action), the summary table
01/TH-HĐĐT (400), and the user log of every message — over real HTTP against the tax-authority sandbox started
in this process, forms and buttons through their real views."""

import base64
import time
from datetime import date

from odoo.exceptions import UserError, ValidationError
from odoo.tests import Form, tagged

from vn_einvoice.sandbox.taxauthority import ReplyFault
from vn_einvoice.taxauthority import parse_message, verify_summary

from .common import SELLER_MST
from .test_tax_authority import TaxAuthorityConnectedCommon


class TaxAuthorityDataCommon(TaxAuthorityConnectedCommon):
    connection_values = {'without_code': True}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        yy = cls.year % 100
        cls.k_series = cls.env['l10n_vn_einvoice.series'].create({
            'template_id': cls.series.template_id.id, 'symbol': f'K{yy:02d}TBB', 'company_id': cls.company.id,
            'date_start': date(cls.year, 1, 1), 'signer_id': cls.signer.id,
        })

    def issued_without_code(self, count=1, **vals):
        moves = self.env['account.move']
        for _i in range(count):
            moves |= self.make_invoice(l10n_vn_einvoice_series_id=self.k_series.id, **vals)
        self.issue(moves)
        for move in moves:
            self.assertEqual(move.l10n_vn_einvoice_state, 'USING', move.l10n_vn_einvoice_error)
        return moves

    def log(self, moves):
        return [(m.direction, m.message_type, m.result)
                for m in moves.l10n_vn_einvoice_tax_message_ids.sorted('id')]

    def at_sandbox(self, mtype):
        return [r for r in self.sandbox.messages.values() if r.type == mtype]

    def envelopes(self):
        """The messages 203 sent, in order: [(tax.message, [HDon bytes it carried])]."""
        sent = self.env['l10n_vn_einvoice.tax.message'].search([('direction', '=', 'out'), ('message_type', '=', '203')],
                                                              order='id')
        return [(m, parse_message(base64.b64decode(m.with_context(bin_size=False).xml)).item_bytes()) for m in sent]

    def xmls(self, moves):
        return [m.l10n_vn_einvoice_xml_id.raw for m in moves]

    def batch_size(self, size):
        with Form(self.connection) as form:  # the connection's form, as an administrator sets it
            form.data_batch_size = size


@tagged('post_install_l10n', 'post_install', '-at_install')
class TestDataWithoutCode(TaxAuthorityDataCommon):

    def run_daily(self):
        self.env.ref('l10n_vn_einvoice.ir_cron_l10n_vn_einvoice_cqt_data').method_direct_trigger()

    def run_follow(self):
        self.env.ref('l10n_vn_einvoice.ir_cron_l10n_vn_einvoice_cqt').method_direct_trigger()

    def test_issued_at_once_data_sent_the_same_day(self):
        moves = self.issued_without_code(2)
        # issued without waiting; nothing left yet: the daily scheduled action sends the data
        self.assertEqual(set(moves.mapped('l10n_vn_einvoice_cqt_state')), {'data_pending'})
        self.assertEqual(self.at_sandbox(203), [])
        self.run_daily()
        self.assertEqual(set(moves.mapped('l10n_vn_einvoice_cqt_state')), {'data_ok'})
        for move in moves:
            self.assertEqual(self.log(move), [('out', '203', 'info'), ('in', '999', 'ok'), ('in', '204', 'ok')])
        # the very invoices issued, as signed, in one message
        [(sent, items)] = self.envelopes()
        self.assertEqual(items, self.xmls(moves))
        self.assertEqual(sent.move_ids, moves)
        self.assertEqual(set(moves.mapped('l10n_vn_einvoice_cqt_message')), {sent.message_id})
        received = {(i['KHHDon'], i['SHDon']): i['state'] for i in self.sandbox.snapshot()['invoices']}
        self.assertEqual(received, {(self.k_series.symbol, str(m.l10n_vn_einvoice_number)): 'received' for m in moves})
        self.assertEqual(len(self.at_sandbox(203)), 1)
        self.run_daily()  # nothing twice
        self.assertEqual(len(self.at_sandbox(203)), 1)

    def test_messages_of_one_invoice_recorded_before_batches_linked_at_update(self):
        # recorded by an earlier version: the invoice in move_id only; the module's update links them
        moves = self.issued_without_code(2)
        self.run_daily()
        self.run_follow()
        messages = self.env['l10n_vn_einvoice.tax.message'].search([('move_ids', 'in', moves.ids)])
        self.assertTrue(messages)
        messages.sudo().write({'move_id': moves[0].id})  # pylint: disable=no-member
        self.env.flush_all()
        self.env.cr.execute('DELETE FROM l10n_vn_einvoice_tax_message_move_rel WHERE message_id IN %s',
                            [tuple(messages.ids)])
        self.env.invalidate_all()
        self.assertFalse(messages.move_ids)
        self.env['l10n_vn_einvoice.tax.message'].init()  # what -u l10n_vn_einvoice runs
        self.env.invalidate_all()
        self.assertEqual(messages.mapped('move_ids'), moves[0])
        self.env['l10n_vn_einvoice.tax.message'].init()  # and again: nothing twice
        self.env.cr.execute('SELECT count(*) FROM l10n_vn_einvoice_tax_message_move_rel WHERE message_id IN %s',
                            [tuple(messages.ids)])
        self.assertEqual(self.env.cr.fetchone()[0], len(messages))

    def test_batches_of_the_connection_size(self):
        self.batch_size(2)
        moves = self.issued_without_code(5)
        self.run_daily()
        self.assertEqual(set(moves.mapped('l10n_vn_einvoice_cqt_state')), {'data_ok'})
        envelopes = self.envelopes()
        # ceil(5 / 2) messages, in the order issued, each linked to its invoices and naming them
        self.assertEqual([items for _m, items in envelopes],
                         [self.xmls(moves[0:2]), self.xmls(moves[2:4]), self.xmls(moves[4:])])
        self.assertEqual([m.move_ids for m, _i in envelopes], [moves[0:2], moves[2:4], moves[4:]])
        for message, _items in envelopes:
            self.assertEqual(set(message.move_ids.mapped('l10n_vn_einvoice_cqt_message')), {message.message_id})
            replies = self.env['l10n_vn_einvoice.tax.message'].search([('reply_to', '=', message.message_id)])
            self.assertEqual(sorted(replies.mapped('message_type')), ['204', '999'])
            self.assertEqual(replies.move_ids, message.move_ids)
        self.assertEqual(sorted(r.message_id for r in self.at_sandbox(203)), sorted(m.message_id for m, _i in envelopes))
        self.assertEqual(len(self.sandbox.invoices), 5)
        self.assertIn('received the data', moves[3].message_ids[0].body)
        # each invoice's user log: sent in its message, received
        events = self.env['l10n_vn_einvoice.event'].search([('move_id', '=', moves[0].id)], order='id')
        self.assertIn(envelopes[0][0].message_id, events.filtered(lambda e: e.event == 'tax_authority')[-2].message)
        self.assertEqual(events[-1].outcome, 'done')
        self.run_daily()
        self.assertEqual(len(self.at_sandbox(203)), 3)
        # the limit: from 1 to SLuong's 7 digits
        with self.assertRaises(ValidationError), self.cr.savepoint():
            self.batch_size(0)

    def test_one_refused_invoice_of_a_batch(self):
        moves = self.issued_without_code(3)
        bad = moves[1]
        self.sandbox.reply_faults.append(ReplyFault('refuse', message='203', times=1, reason='Sai mã số thuế người mua',
                                                    invoice=str(bad.l10n_vn_einvoice_number)))
        self.run_daily()
        self.assertEqual(len(self.at_sandbox(203)), 1)
        self.assertEqual(bad.l10n_vn_einvoice_cqt_state, 'data_refused')
        self.assertIn('Sai mã số thuế người mua', bad.l10n_vn_einvoice_error)
        self.assertIn('Sai mã số thuế người mua', bad.message_ids[0].body)
        self.assertEqual(set((moves - bad).mapped('l10n_vn_einvoice_cqt_state')), {'data_ok'})
        self.assertFalse(any((moves - bad).mapped('l10n_vn_einvoice_error')))
        self.assertEqual(sorted(k[3] for k in self.sandbox.invoices),
                         sorted(str(m.l10n_vn_einvoice_number) for m in moves - bad))
        event = self.env['l10n_vn_einvoice.event'].search([('move_id', '=', bad.id)], order='id desc', limit=1)
        self.assertEqual(event.outcome, 'failed')
        # corrected: "Send the data" sends it again, alone, in a new message; the others are not sent again
        action = bad.action_l10n_vn_einvoice_cqt_send_data()
        self.assertEqual(action['params']['type'], 'success')
        self.assertEqual(bad.l10n_vn_einvoice_cqt_state, 'data_ok')
        envelopes = self.envelopes()
        self.assertEqual(len(envelopes), 2)
        self.assertEqual(envelopes[1][1], self.xmls(bad))
        self.assertNotEqual(envelopes[0][0].message_id, envelopes[1][0].message_id)
        self.assertEqual(len(self.sandbox.invoices), 3)

    def test_an_invoice_the_tax_authority_has_already_in_a_batch(self):
        first = self.issued_without_code()
        self.run_daily()
        first.sudo().with_context(l10n_vn_einvoice_internal=True).l10n_vn_einvoice_cqt_state = 'data_pending'
        later = self.issued_without_code(2)
        self.run_daily()  # the tax authority's own check refuses the one it has, receives the others
        self.assertEqual(self.envelopes()[-1][1], self.xmls(first | later))
        self.assertEqual(first.l10n_vn_einvoice_cqt_state, 'data_refused')
        self.assertIn('đã được gửi đến cơ quan thuế', first.l10n_vn_einvoice_error)
        self.assertEqual(set(later.mapped('l10n_vn_einvoice_cqt_state')), {'data_ok'})

    def test_refusal_of_the_whole_message(self):
        moves = self.issued_without_code(3)
        self.sandbox.reply_faults.append(ReplyFault('refuse', message='203', times=1, reason='Hệ thống tạm dừng'))
        self.run_daily()  # every invoice listed, refused
        self.assertEqual(set(moves.mapped('l10n_vn_einvoice_cqt_state')), {'data_refused'})
        for move in moves:
            self.assertIn('Hệ thống tạm dừng', move.l10n_vn_einvoice_error)
        self.assertEqual(self.sandbox.invoices, {})
        # the message itself refused by the technical check (999): every invoice
        self.connection.receiver_code = 'V0100109107'
        moves.action_l10n_vn_einvoice_cqt_send_data()
        self.assertEqual(set(moves.mapped('l10n_vn_einvoice_cqt_state')), {'data_refused'})
        for move in moves:
            self.assertIn('không phải Cơ quan thuế', move.l10n_vn_einvoice_error)
        self.assertEqual(self.log(moves[0])[-2:], [('out', '203', 'info'), ('in', '999', 'refused')])
        self.connection.receiver_code = 'TCT'
        # corrected: sent again from the invoice list, the selected invoices in one message
        action = self.env.ref('l10n_vn_einvoice.action_l10n_vn_einvoice_cqt_send_data_list').with_context(
            active_model='account.move', active_ids=moves.ids).run()
        self.assertEqual(action['params']['message'], '3 received, 0 refused, 0 waiting, 0 not sent.')
        self.assertEqual(set(moves.mapped('l10n_vn_einvoice_cqt_state')), {'data_ok'})
        self.assertEqual([len(items) for _m, items in self.envelopes()], [3, 3, 3])

    def test_refusal_in_vietnamese_then_corrected(self):
        move = self.issued_without_code()
        self.sandbox.reset()  # the tax authority no longer knows the registration: it refuses the data
        self.run_daily()
        self.assertEqual(move.l10n_vn_einvoice_cqt_state, 'data_refused')
        self.assertIn('chưa được chấp nhận đăng ký sử dụng hóa đơn điện tử', move.l10n_vn_einvoice_error)
        self.assertEqual(move.l10n_vn_einvoice_state, 'USING')
        self.assertEqual(self.log(move)[-1], ('in', '204', 'refused'))
        # corrected: registered again, the data sent again by the button of the invoice form
        self.connection.action_register()
        with Form(move) as form:
            self.assertIn('data_refused', form.l10n_vn_einvoice_cqt_state)
        action = move.action_l10n_vn_einvoice_cqt_send_data()
        self.assertEqual(action['params']['type'], 'success')
        self.assertEqual(move.l10n_vn_einvoice_cqt_state, 'data_ok')
        self.assertFalse(move.l10n_vn_einvoice_error)
        self.assertEqual([m.message_type for m in move.l10n_vn_einvoice_tax_message_ids.sorted('id')
                          if m.direction == 'out'], ['203', '203'])
        with self.assertRaises(UserError):
            move.action_l10n_vn_einvoice_cqt_send_data()  # nothing left to send

    def test_sandbox_refuses_the_same_invoice_twice(self):
        move = self.issued_without_code()
        self.run_daily()
        self.assertEqual(move.l10n_vn_einvoice_cqt_state, 'data_ok')
        move.sudo().with_context(l10n_vn_einvoice_internal=True).l10n_vn_einvoice_cqt_state = 'data_pending'
        self.run_daily()  # a new message with the same invoice: the tax authority has it already
        self.assertEqual(move.l10n_vn_einvoice_cqt_state, 'data_refused')
        self.assertIn('đã được gửi đến cơ quan thuế', move.l10n_vn_einvoice_error)
        self.assertEqual(len(self.sandbox.invoices), 1)

    def test_refusal_fault_then_resend(self):
        self.sandbox.reply_faults.append(ReplyFault('refuse', message='203', times=1,
                                                    reason='Sai thông tin người mua'))
        move = self.issued_without_code()
        self.run_daily()
        self.assertEqual(move.l10n_vn_einvoice_cqt_state, 'data_refused')
        self.assertIn('Sai thông tin người mua', move.l10n_vn_einvoice_error)
        self.assertEqual(self.sandbox.invoices, {})
        move.action_l10n_vn_einvoice_cqt_send_data()
        self.assertEqual(move.l10n_vn_einvoice_cqt_state, 'data_ok')

    def test_crash_between_send_and_reply_sends_once(self):
        self.batch_size(2)
        self.sandbox.faults.add(kind='commit_drop', op='send', times=1)  # processed, the answer lost
        moves = self.issued_without_code(3)
        with self.assertLogs('vn_einvoice.taxauthority', 'WARNING') as logs:
            self.run_daily()
        self.assertIn('looking it up', '\n'.join(logs.output))
        self.assertEqual(set(moves.mapped('l10n_vn_einvoice_cqt_state')), {'data_ok'})
        # the very same two messages (MTDiep) as stored, one record each at the tax authority
        self.assertEqual(sorted(r.message_id for r in self.at_sandbox(203)),
                         sorted(m.message_id for m, _i in self.envelopes()))
        self.assertEqual(len(self.at_sandbox(203)), 2)
        self.assertEqual(len(self.sandbox.invoices), 3)

    def test_message_that_never_left_goes_with_the_same_code(self):
        self.connection.retry_attempts = 1
        self.batch_size(2)
        self.sandbox.faults.add(kind='drop', op='*', times=50)  # the T-VAN unreachable: kept, not lost
        moves = self.issued_without_code(3)
        with self.assertLogs('vn_einvoice.taxauthority', 'WARNING'):
            self.run_daily()
        self.assertEqual(set(moves.mapped('l10n_vn_einvoice_cqt_state')), {'data_sent'})
        codes = [m.message_id for m, _i in self.envelopes()]
        self.assertEqual(moves.mapped('l10n_vn_einvoice_cqt_message'), [codes[0], codes[0], codes[1]])
        self.assertEqual(self.at_sandbox(203), [])
        # an invoice in a message waiting is not put in another one
        with self.assertRaises(UserError):
            moves[0].action_l10n_vn_einvoice_cqt_send_data()
        self.run_daily()
        self.assertEqual(len(self.envelopes()), 2)
        self.sandbox.faults.clear()
        self.run_follow()  # the 5-minute scheduled action: the same bytes, the same MTDiep, every message
        self.assertEqual(set(moves.mapped('l10n_vn_einvoice_cqt_state')), {'data_ok'})
        self.assertEqual(sorted(r.message_id for r in self.at_sandbox(203)), sorted(codes))
        self.run_daily()
        self.assertEqual(sorted(r.message_id for r in self.at_sandbox(203)), sorted(codes))

    def test_late_and_duplicate_replies(self):
        self.sandbox.reply_faults.append(ReplyFault('late', message='203', reply='204', seconds=0.6))
        self.sandbox.reply_faults.append(ReplyFault('duplicate', message='203', reply='204'))
        move = self.issued_without_code()
        self.run_daily()
        self.assertEqual(move.l10n_vn_einvoice_cqt_state, 'data_sent')
        with Form(move) as form:
            self.assertEqual(form.l10n_vn_einvoice_cqt_state, 'data_sent')
        time.sleep(0.7)
        action = move.action_l10n_vn_einvoice_cqt_check()
        self.assertEqual(action['params']['type'], 'success')
        self.assertEqual(move.l10n_vn_einvoice_cqt_state, 'data_ok')
        self.run_follow()
        # the second copy of the 204 (another MTDiep) is not a second answer
        self.assertEqual(self.log(move), [('out', '203', 'info'), ('in', '999', 'ok'), ('in', '204', 'ok')])
        self.assertEqual(len(self.sandbox.messages[move.l10n_vn_einvoice_cqt_message].replies), 3)

    def test_every_message_in_the_user_log(self):
        move = self.issued_without_code()
        self.run_daily()
        events = self.env['l10n_vn_einvoice.event'].search([('event', '=', 'tax_authority'),
                                                            ('move_id', '=', move.id)], order='id')
        self.assertEqual(len(events), 3)
        sent, receipt, check = events
        self.assertIn('<MLTDiep>203</MLTDiep>', sent.request)
        self.assertIn(move.l10n_vn_einvoice_cqt_message, sent.message)
        self.assertIn('<MLTDiep>999</MLTDiep>', receipt.response)
        self.assertIn('<MLTDiep>204</MLTDiep>', check.response)
        self.assertEqual(set(events.mapped('outcome')), {'done'})
        self.assertTrue(all(e.user_id and e.date for e in events))
        with self.assertRaises(UserError):
            sent.write({'outcome': 'failed'})
        # found by the log's search filter
        arch = self.env['l10n_vn_einvoice.event'].get_views([(False, 'search')])['views']['search']['arch']
        self.assertIn('name="tax_authority"', arch)
        # the registration's messages too, without invoice
        self.assertTrue(self.env['l10n_vn_einvoice.event'].search_count([
            ('event', '=', 'tax_authority'), ('message', 'ilike', '100 Registration')]))
        # a refusal by the T-VAN is logged as failed, the password never written
        self.connection.password = 'wrong-Pa55'
        move.sudo().with_context(l10n_vn_einvoice_internal=True).l10n_vn_einvoice_cqt_state = 'data_pending'
        self.run_daily()
        failed = self.env['l10n_vn_einvoice.event'].search([('event', '=', 'tax_authority'),
                                                            ('outcome', '=', 'failed')])
        self.assertTrue(failed)
        self.assertIn('refused the account', failed[0].message)
        for event in self.env['l10n_vn_einvoice.event'].search([('event', '=', 'tax_authority')]):
            self.assertNotIn('wrong-Pa55', f'{event.message} {event.request} {event.response}')

    def test_registration_must_cover_invoices_without_code(self):
        self.connection.without_code = False
        move = self.make_invoice(l10n_vn_einvoice_series_id=self.k_series.id)
        self.issue(move)
        self.assertEqual(move.l10n_vn_einvoice_state, 'CREATED')
        self.assertIn('does not cover invoices without code', move.l10n_vn_einvoice_error)


@tagged('post_install_l10n', 'post_install', '-at_install')
class TestSummaryTable(TaxAuthorityDataCommon):
    connection_values = {'without_code': True, 'summary_table': True}

    def new_table(self, day):
        with Form(self.env['l10n_vn_einvoice.summary']) as form:
            form.period = 'T'
            form.date = day
        return form.record

    def test_summary_table_sent_and_accepted(self):
        moves = self.issued_without_code(2)
        self.assertEqual(set(moves.mapped('l10n_vn_einvoice_cqt_state')), {'summary_pending'})
        self.env.ref('l10n_vn_einvoice.ir_cron_l10n_vn_einvoice_cqt_data').method_direct_trigger()
        self.assertEqual(self.at_sandbox(203), [], 'reported by summary table, not invoice by invoice')
        table = self.new_table(moves[0].invoice_date)
        self.assertEqual(table.period_value, moves[0].invoice_date.strftime('%m/%Y'))
        action = table.action_send()
        self.assertEqual(action['params']['type'], 'success', table.reasons)
        self.assertEqual((table.state, table.number, table.supplement), ('accepted', 1, 0))
        self.assertEqual(table.move_ids, moves)
        self.assertEqual(set(moves.mapped('l10n_vn_einvoice_cqt_state')), {'data_ok'})
        self.assertTrue(verify_summary(base64.b64decode(table.xml)).valid)
        self.assertEqual(list(self.sandbox.summaries), [(SELLER_MST, 'T', table.period_value, 0)])
        messages = self.env['l10n_vn_einvoice.tax.message'].search([('reply_to', '=', table.message_id)])
        self.assertEqual(sorted(messages.mapped('message_type')), ['204', '999'])
        # an invoice issued later in the period: a supplement
        later = self.issued_without_code()
        second = self.new_table(later.invoice_date)
        second.action_send()
        self.assertEqual((second.state, second.number, second.supplement), ('accepted', 2, 1))
        self.assertEqual(second.move_ids, later)
        # nothing left to report
        with self.assertRaises(UserError):
            self.new_table(later.invoice_date).action_send()

    def test_refused_table_corrected_and_sent_again(self):
        self.sandbox.reply_faults.append(ReplyFault('refuse', message='400', times=1,
                                                    reason='Bảng tổng hợp sai kỳ dữ liệu'))
        moves = self.issued_without_code()
        table = self.new_table(moves.invoice_date)
        action = table.action_send()
        self.assertEqual(action['params']['type'], 'danger')
        self.assertEqual(table.state, 'refused')
        self.assertIn('Bảng tổng hợp sai kỳ dữ liệu', table.reasons)
        self.assertEqual(moves.l10n_vn_einvoice_cqt_state, 'summary_pending')
        self.assertEqual(self.sandbox.summaries, {})
        table.action_send()
        self.assertEqual((table.state, table.number, table.supplement), ('accepted', 1, 0))
        self.assertEqual(moves.l10n_vn_einvoice_cqt_state, 'data_ok')

    def test_crash_between_send_and_reply_one_table(self):
        self.sandbox.faults.add(kind='commit_drop', op='send', times=1)
        moves = self.issued_without_code()
        table = self.new_table(moves.invoice_date)
        with self.assertLogs('vn_einvoice.taxauthority', 'WARNING'):
            table.action_send()
        self.assertEqual(table.state, 'accepted')
        self.assertEqual(len(self.at_sandbox(400)), 1)

    def test_late_reply_followed_by_the_scheduled_action(self):
        self.sandbox.reply_faults.append(ReplyFault('late', message='400', reply='204', seconds=0.5))
        self.sandbox.reply_faults.append(ReplyFault('duplicate', message='400', reply='204'))
        self.connection.wait_seconds = 0.1
        moves = self.issued_without_code()
        table = self.new_table(moves.invoice_date)
        table.action_send()
        self.assertEqual(table.state, 'sent')
        self.assertEqual(moves.l10n_vn_einvoice_cqt_state, 'summary_sent')
        with self.assertRaises(UserError):
            table.action_send()  # not a second table while one waits
        time.sleep(0.6)
        self.env.ref('l10n_vn_einvoice.ir_cron_l10n_vn_einvoice_cqt').method_direct_trigger()
        self.assertEqual(table.state, 'accepted')
        replies = self.env['l10n_vn_einvoice.tax.message'].search([('reply_to', '=', table.message_id)])
        self.assertEqual(sorted(replies.mapped('message_type')), ['204', '999'])
        self.assertEqual(len(self.at_sandbox(400)), 1)

    def test_sandbox_refuses_a_table_without_summary_registration(self):
        self.connection.summary_table = False
        self.connection.action_register()  # now registered to send each invoice (203)
        self.connection.summary_table = True  # …but Odoo still believes in summary tables
        moves = self.issued_without_code()
        table = self.new_table(moves.invoice_date)
        table.action_send()
        self.assertEqual(table.state, 'refused')
        self.assertIn('bảng tổng hợp', table.reasons)
