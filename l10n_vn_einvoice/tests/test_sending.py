"""Sending management: when and how each issued e-invoice went to the buyer, resend, SMS in Vietnamese."""
from odoo.exceptions import UserError
from odoo.tests import Form, tagged
from odoo.tools.safe_eval import safe_eval

from .test_send import SendCommon


@tagged('post_install_l10n', 'post_install', '-at_install')
class TestSending(SendCommon):

    def send(self, move, action=None):
        action = action or move.action_send_and_print()
        wizard = Form(self.env[action['res_model']].with_context(**action['context'])).save()
        wizard.sending_methods = ['email']
        return wizard.action_send_and_print()

    def test_send_and_print_recorded_and_resent(self):
        move = self.make_invoice()
        self.assertFalse(move.l10n_vn_einvoice_send_status, 'not issued: no sending status')
        with self.assertRaisesRegex(UserError, 'Only issued e-invoices'):
            move.action_l10n_vn_einvoice_resend()
        self.send(move)  # issues and mails it
        self.assertEqual(move.l10n_vn_einvoice_state, 'USING', move.l10n_vn_einvoice_error)
        self.assertEqual(move.l10n_vn_einvoice_send_status, 'sent')
        self.assertEqual(move.l10n_vn_einvoice_sent_channels, 'email')
        self.assertEqual(move.l10n_vn_einvoice_send_count, 1)
        first = move.l10n_vn_einvoice_sent_on
        self.assertTrue(first)
        log = self.env['l10n_vn_einvoice.event'].search([('move_id', '=', move.id), ('event', '=', 'sent')])
        self.assertEqual((log.channel, log.message), ('email', self.partner_a.email))
        # sent again from the invoice
        self.send(move, move.action_l10n_vn_einvoice_resend())
        self.assertEqual(move.l10n_vn_einvoice_send_count, 2)
        self.assertEqual(move.l10n_vn_einvoice_sent_on, first)
        self.assertEqual(move.l10n_vn_einvoice_number, 1, 'resending does not issue again')
        self.assertEqual(len(self.env['mail.message'].search([('model', '=', 'account.move'), ('res_id', '=', move.id),
                                                               ('message_type', '=', 'comment')])), 2)
        # the sending list shows it, and what is still unsent
        unsent = self.make_invoice()
        self.issue(unsent)
        action = self.env.ref('l10n_vn_einvoice.action_l10n_vn_einvoice_sending')
        found = self.env['account.move'].search([*safe_eval(action.domain),
                                                 ('l10n_vn_einvoice_send_status', '=', 'not_sent')])
        self.assertIn(unsent, found)
        self.assertNotIn(move, found)

    def test_sms_in_vietnamese(self):
        if 'sms.sms' not in self.env:
            self.skipTest('the sms module is not installed')
        self.partner_a.mobile = '+84 912 345 678'
        move = self.make_invoice()
        self.issue(move)
        self.env.ref('l10n_vn_einvoice.action_l10n_vn_einvoice_send_sms_list').with_context(
            active_model='account.move', active_ids=move.ids).run()
        sms = self.env['sms.sms'].search([('mail_message_id.res_id', '=', move.id)])
        self.assertEqual(len(sms), 1)
        self.assertEqual(sms.state, 'outgoing', 'queued for the SMS scheduled action')
        self.assertEqual(sms.number, '+84912345678')
        self.assertIn(f'hoa don dien tu so {move.l10n_vn_einvoice_name}', sms.body)
        self.assertIn(move.l10n_vn_einvoice_lookup_code, sms.body)
        self.assertIn(self.company.name, sms.body)
        self.assertEqual(move.l10n_vn_einvoice_sent_channels, 'sms')
        # the company's own text
        self.company.l10n_vn_einvoice_sms_template = 'HĐ {number} của {buyer}: {amount}'
        self.assertEqual(move._l10n_vn_einvoice_sms_body()[:3 + len(move.l10n_vn_einvoice_name)],
                         f'HĐ {move.l10n_vn_einvoice_name}')
        self.partner_a.mobile = self.partner_a.phone = False
        with self.assertRaisesRegex(UserError, 'no mobile number'):
            move.action_l10n_vn_einvoice_send_sms()
        draft = self.make_invoice()
        with self.assertRaisesRegex(UserError, 'not issued'):
            draft.action_l10n_vn_einvoice_send_sms()
