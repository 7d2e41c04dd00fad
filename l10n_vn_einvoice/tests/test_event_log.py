"""The user log: what happened to each e-invoice, by whom, when, with what outcome; read-only and kept."""
from odoo.exceptions import AccessError, UserError
from odoo.tests import new_test_user, tagged

from .common import EinvoiceCommon


def events(move, event=None):
    domain = [('move_id', '=', move.id)] + ([('event', '=', event)] if event else [])
    return move.env['l10n_vn_einvoice.event'].search(domain, order='id')


@tagged('post_install_l10n', 'post_install', '-at_install')
class TestEventLog(EinvoiceCommon):

    def test_prepare_issue_fail_adjust_logged_with_user_and_outcome(self):
        clerk = new_test_user(self.env, login='vn_log_clerk', company_id=self.company.id,
                              groups='account.group_account_invoice,l10n_vn_einvoice.group_l10n_vn_einvoice_user')
        move = self.make_invoice(post=False)
        move.with_user(clerk).action_post()
        self.partner_a.vat = '0101234566'  # wrong check digit: the first attempt fails
        move.with_user(clerk).action_l10n_vn_einvoice_issue()
        self.partner_a.vat = '0101234565'
        move.with_user(clerk).action_l10n_vn_einvoice_issue()
        log = events(move)
        self.assertEqual([(e.event, e.outcome) for e in log],
                         [('prepared', 'done'), ('issued', 'failed'), ('issued', 'done')])
        self.assertEqual(set(log.user_id), {clerk})
        self.assertIn('check digit', log[1].message)
        self.assertEqual(log[2].einvoice_name, move.l10n_vn_einvoice_name)
        self.assertEqual(log[2].partner_name, self.partner_a.name)
        self.assertEqual(log[2].series_id, self.series)
        # a credit note adjusts it: "adjusted" on the original
        refund = move._reverse_moves([{'invoice_date': move.invoice_date}])
        refund.action_post()
        self.issue(refund)
        self.assertEqual(move.l10n_vn_einvoice_state, 'ADJUSTED', refund.l10n_vn_einvoice_error)
        adjusted = events(move, 'adjusted')
        self.assertEqual(len(adjusted), 1)
        self.assertIn(refund.l10n_vn_einvoice_name, adjusted.message)
        # searchable as in the log's search view
        found = self.env['l10n_vn_einvoice.event'].search([('einvoice_name', 'ilike', move.l10n_vn_einvoice_name),
                                                           ('invoice_ref', '=', move.name),
                                                           ('event', '=', 'issued'), ('outcome', '=', 'done')])
        self.assertEqual(found, log[2])

    def test_read_only_for_everyone_and_readable_by_managers_only(self):
        move = self.make_invoice()
        row = events(move, 'prepared')
        for env in (self.env, self.env(su=True)):
            with self.assertRaisesRegex(UserError, 'cannot be changed'):
                row.with_env(env).write({'message': 'edited'})
        with self.assertRaises(AccessError):
            row.unlink()
        with self.assertRaisesRegex(UserError, 'cannot be deleted'):
            row.sudo().unlink()
        with self.assertRaises(AccessError):
            self.env['l10n_vn_einvoice.event'].create({'event': 'issued'})
        clerk = new_test_user(self.env, login='vn_log_reader', company_id=self.company.id,
                              groups='account.group_account_invoice,l10n_vn_einvoice.group_l10n_vn_einvoice_user')
        with self.assertRaises(AccessError):
            row.with_user(clerk).read(['event'])
        self.assertEqual(row.read(['event'])[0]['event'], 'prepared')

    def test_kept_when_the_invoice_is_deleted(self):
        move = self.make_invoice()
        name = move.name
        move.button_draft()  # the prepared e-invoice is deleted (never issued)
        self.assertEqual(move.l10n_vn_einvoice_state, 'DELETE')
        move_id = move.id
        move.unlink()
        log = self.env['l10n_vn_einvoice.event'].search([('invoice_ref', '=', name)], order='id')
        self.assertEqual(log.mapped('event'), ['prepared', 'deleted', 'deleted'])
        self.assertFalse(log.move_id, 'the link is emptied, the row stays')
        self.assertFalse(self.env['account.move'].browse(move_id).exists())

    def test_log_view_opens(self):
        action = self.env.ref('l10n_vn_einvoice.l10n_vn_einvoice_event_action')
        self.assertEqual(action.res_model, 'l10n_vn_einvoice.event')
        views = self.env['l10n_vn_einvoice.event'].get_views([(False, 'list'), (False, 'form'), (False, 'search')])
        self.assertIn('create="0"', views['views']['list']['arch'])

