"""Approval before issue: each way of issuing refuses an unapproved e-invoice; approvers are asked by
activities; four eyes; the user log of it all."""
from odoo.exceptions import UserError
from odoo.tests import Form, HttpCase, JsonRpcException, new_test_user, tagged
from odoo.tools import mute_logger

from .common import EinvoiceCommon
from .test_send import EDI, SendCommon

APPROVER = 'l10n_vn_einvoice.group_l10n_vn_einvoice_approver'


@tagged('post_install_l10n', 'post_install', '-at_install')
class TestApproval(SendCommon):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        groups = 'account.group_account_invoice,l10n_vn_einvoice.group_l10n_vn_einvoice_user'
        cls.clerk = new_test_user(cls.env, login='vn_clerk', groups=groups, company_id=cls.company.id)
        cls.approver = new_test_user(cls.env, login='vn_approver', groups=f'{groups},{APPROVER}',
                                     company_id=cls.company.id)
        cls.approver2 = new_test_user(cls.env, login='vn_approver2', groups=f'{groups},{APPROVER}',
                                      company_id=cls.company.id)

    def set_approval(self, approval=True, four_eyes=False):
        self.company.write({'l10n_vn_einvoice_approval': approval, 'l10n_vn_einvoice_four_eyes': four_eyes})

    def test_settings_offer_approval(self):
        arch = self.env['res.config.settings'].get_views([(False, 'form')])['views']['form']['arch']
        for fname in ('l10n_vn_einvoice_approval', 'l10n_vn_einvoice_four_eyes'):
            self.assertIn(f'name="{fname}"', arch)

    def prepared_by(self, user, **kw):
        move = self.make_invoice(post=False, **kw)
        move.with_user(user).action_post()
        return move

    def approve(self, move, user):
        return move.with_user(user).action_l10n_vn_einvoice_approve()

    def assert_refused(self, move):
        self.assertEqual(move.l10n_vn_einvoice_state, 'CREATED')
        self.assertFalse(move.l10n_vn_einvoice_number)
        self.assertIn('not approved yet', move.l10n_vn_einvoice_error)
        self.assertEqual(self.series.next_number, 1, 'no number consumed')

    def test_button_refuses_until_approved(self):
        self.set_approval()
        move = self.prepared_by(self.clerk)
        self.assertTrue(move.l10n_vn_einvoice_needs_approval)
        self.assertIn(move, self.env['account.move'].search([('l10n_vn_einvoice_needs_approval', '=', True)]))
        self.assertNotIn(move, self.env['account.move'].search([('l10n_vn_einvoice_needs_approval', '=', False)]))
        result = move.with_user(self.clerk).action_l10n_vn_einvoice_issue()
        self.assertEqual(result['params']['type'], 'danger')
        self.assertIn('not approved yet', result['params']['message'])
        self.assert_refused(move)
        with self.assertRaisesRegex(UserError, 'Approve e-invoices'):
            self.approve(move, self.clerk)
        self.approve(move, self.approver)
        self.assertEqual(move.l10n_vn_einvoice_approved_by_id, self.approver)
        self.assertFalse(move.l10n_vn_einvoice_needs_approval)
        self.assertNotIn(move, self.env['account.move'].search([('l10n_vn_einvoice_needs_approval', '=', True)]))
        self.assertIn(move, self.env['account.move'].search([('l10n_vn_einvoice_needs_approval', '!=', True)]))
        move.with_user(self.clerk).action_l10n_vn_einvoice_issue()
        self.assert_issued(move, [1])
        with self.assertRaisesRegex(UserError, 'not waiting'):
            self.approve(move, self.approver)

    def test_activities_for_each_approver_done_on_approval(self):
        self.set_approval()
        move = self.prepared_by(self.clerk)
        activity_type = self.env.ref('l10n_vn_einvoice.mail_activity_type_einvoice_approval')
        activities = move.activity_ids.filtered(lambda a: a.activity_type_id == activity_type)
        self.assertTrue({self.approver, self.approver2} <= set(activities.user_id))
        self.assertNotIn(self.clerk, activities.user_id)
        self.approve(move, self.approver2)
        self.assertFalse(move.activity_ids.filtered(lambda a: a.activity_type_id == activity_type))
        done = self.env['mail.message'].search([('model', '=', 'account.move'), ('res_id', '=', move.id),
                                                ('mail_activity_type_id', '=', activity_type.id)])
        self.assertEqual(done.author_id, self.approver2.partner_id, 'the approver\'s activity is marked done')

    def test_ask_for_approval_after_the_company_turns_it_on(self):
        move = self.prepared_by(self.clerk)  # no approval asked yet
        self.assertFalse(move.activity_ids)
        self.set_approval()
        self.assertTrue(move.l10n_vn_einvoice_needs_approval)
        move.with_user(self.clerk).action_l10n_vn_einvoice_request_approval()
        asked = move.activity_ids
        self.assertTrue({self.approver, self.approver2} <= set(asked.user_id))
        move.with_user(self.clerk).action_l10n_vn_einvoice_request_approval()
        self.assertEqual(move.activity_ids, asked, 'nobody asked twice')
        self.assertEqual(len(self.env['l10n_vn_einvoice.event'].search([
            ('move_id', '=', move.id), ('event', '=', 'approval_requested')])), 2)
        self.approve(move, self.approver)
        with self.assertRaisesRegex(UserError, 'waiting for approval'):
            move.action_l10n_vn_einvoice_request_approval()

    def test_four_eyes(self):
        self.set_approval(four_eyes=True)
        move = self.prepared_by(self.approver)
        self.assertNotIn(self.approver, move.activity_ids.user_id, 'the preparer is not asked to approve')
        with self.assertRaisesRegex(UserError, 'another approver'):
            self.approve(move, self.approver)
        self.assertFalse(move.l10n_vn_einvoice_approved_on)
        self.approve(move, self.approver2)
        self.issue(move)
        self.assert_issued(move, [1])
        # without four eyes the preparer may approve his own
        self.set_approval(four_eyes=False)
        own = self.prepared_by(self.approver)
        self.approve(own, self.approver)
        self.assertEqual(own.l10n_vn_einvoice_approved_by_id, self.approver)

    def test_approval_cannot_be_written_by_hand(self):
        self.set_approval()
        move = self.prepared_by(self.clerk)
        with self.assertRaisesRegex(UserError, 'not by hand'):
            move.with_user(self.approver).write({'l10n_vn_einvoice_approved_on': '2026-01-01 00:00:00'})

    def test_reset_to_draft_needs_a_new_approval(self):
        self.set_approval()
        move = self.prepared_by(self.clerk)
        self.approve(move, self.approver)
        move.button_draft()
        move.action_post()
        self.assertTrue(move.l10n_vn_einvoice_needs_approval, 'a changed invoice is approved again')

    def test_series_asks_or_waives_whatever_the_company(self):
        with Form(self.series) as series:
            series.approval = 'required'
        move = self.prepared_by(self.clerk)
        self.assertTrue(move.l10n_vn_einvoice_needs_approval)
        self.issue(move)
        self.assert_refused(move)
        self.set_approval()
        with Form(self.series) as series:
            series.approval = 'none'
        free = self.prepared_by(self.clerk)
        self.assertFalse(free.l10n_vn_einvoice_needs_approval)
        self.issue(free)
        self.assert_issued(free, [1])

    def test_list_action_refuses_unapproved(self):
        self.set_approval()
        approved, waiting = self.prepared_by(self.clerk), self.prepared_by(self.clerk)
        self.approve(approved, self.approver)
        result = self.env.ref('l10n_vn_einvoice.action_l10n_vn_einvoice_issue').with_context(
            active_model='account.move', active_ids=(approved | waiting).ids).run()
        self.assertIn('1 issued, 1 not issued', result['params']['message'])
        self.assert_issued(approved, [1])
        self.assertIn('not approved yet', waiting.l10n_vn_einvoice_error)
        # the list action of approvers approves several at once
        self.env.ref('l10n_vn_einvoice.action_l10n_vn_einvoice_approve').with_user(self.approver).with_context(
            active_model='account.move', active_ids=waiting.ids).run()
        self.assertTrue(waiting.l10n_vn_einvoice_approved_on)

    def test_send_and_print_refuses_unapproved(self):
        self.set_approval()
        move = self.prepared_by(self.clerk)
        wizard = self.send_wizard(move, sending_methods=['manual'])
        self.assertIn(EDI, wizard.extra_edis)
        with self.assertRaisesRegex(UserError, 'not approved yet'):
            wizard.action_send_and_print()
        self.assertFalse(move.l10n_vn_einvoice_number)
        self.approve(move, self.approver)
        self.send_wizard(move, sending_methods=['manual']).action_send_and_print()
        self.assert_issued(move, [1])

    def test_cron_leaves_unapproved_waiting(self):
        self.set_approval()
        self.company.l10n_vn_einvoice_auto_issue = True
        waiting, approved = self.prepared_by(self.clerk), self.prepared_by(self.clerk)
        self.approve(approved, self.approver)
        self.env.ref('l10n_vn_einvoice.ir_cron_l10n_vn_einvoice_issue').method_direct_trigger()
        self.assert_issued(approved, [1])
        self.assertEqual(waiting.l10n_vn_einvoice_state, 'CREATED')
        self.assertFalse(waiting.l10n_vn_einvoice_number)
        self.assertFalse(waiting.l10n_vn_einvoice_error, 'waiting for its approver is not an error')
        self.assertTrue(waiting.l10n_vn_einvoice_needs_approval)
        # issuing it anyway, even by the method the cron uses, is refused
        waiting._l10n_vn_einvoice_issue_batch()
        self.assert_refused_once(waiting)

    def assert_refused_once(self, move):
        self.assertFalse(move.l10n_vn_einvoice_number)
        self.assertIn('not approved yet', move.l10n_vn_einvoice_error)


@tagged('post_install_l10n', 'post_install', '-at_install')
class TestApprovalOverRpc(EinvoiceCommon, HttpCase):
    """External programs (JSON-RPC through the real server) meet the same approval as the web client."""

    def call(self, login, method, move, args=(), model='account.move'):
        self.authenticate(login, login)
        return self.make_jsonrpc_request(f'/web/dataset/call_kw/{model}/{method}', {
            'model': model, 'method': method, 'args': [move.ids, *args],
            'kwargs': {'context': {'allowed_company_ids': [self.company.id]}}})

    def test_issue_and_approve_over_json_rpc(self):
        groups = 'base.group_user,account.group_account_invoice,l10n_vn_einvoice.group_l10n_vn_einvoice_user'
        for login, extra in (('rpc_clerk', ''), ('rpc_approver', f',{APPROVER}')):
            new_test_user(self.env, login=login, company_id=self.company.id, company_ids=[self.company.id],
                          groups=groups + extra)
        self.company.l10n_vn_einvoice_approval = True
        move = self.make_invoice()
        result = self.call('rpc_clerk', 'action_l10n_vn_einvoice_issue', move)
        self.assertIn('not approved yet', result['params']['message'])
        move.invalidate_recordset()
        self.assertFalse(move.l10n_vn_einvoice_number)
        with self.assertRaises(JsonRpcException) as caught, mute_logger('odoo.http'):
            self.call('rpc_clerk', 'write', move, [{'l10n_vn_einvoice_approved_on': '2030-01-01 00:00:00'}])
        self.assertEqual(caught.exception.args[0], 'odoo.exceptions.UserError')
        with self.assertRaises(JsonRpcException), mute_logger('odoo.http'):
            self.call('rpc_clerk', 'action_l10n_vn_einvoice_approve', move)
        self.call('rpc_approver', 'action_l10n_vn_einvoice_approve', move)
        self.call('rpc_clerk', 'action_l10n_vn_einvoice_issue', move)
        move.invalidate_recordset()
        self.assertEqual((move.l10n_vn_einvoice_state, move.l10n_vn_einvoice_number), ('USING', 1))
