"""The company's connection to the tax authority and its registration 01/ĐKTĐ-HĐĐT, over real HTTP against
the tax-authority sandbox started in this process (forms filled through their real views)."""

import base64
import hashlib
import time

from odoo.exceptions import AccessError, UserError
from odoo.tests import Form, new_test_user, tagged

from vn_einvoice.sandbox.http import SandboxServer
from vn_einvoice.sandbox.taxauthority import ReplyFault, TaxAuthoritySandbox
from vn_einvoice.sandbox.testca import make_test_ca

from .common import SELLER_MST, EinvoiceCommon


@tagged('post_install_l10n', 'post_install', '-at_install')
class TestTaxAuthority(EinvoiceCommon):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.sandbox = TaxAuthoritySandbox()
        cls.server = SandboxServer(cls.sandbox).start()
        cls.addClassCleanup(cls.server.stop)
        cls.company.write({'l10n_vn_einvoice_tax_office_code': '79100',
                           'l10n_vn_einvoice_tax_office_name': 'Thuế cơ sở 1 Thành phố Hồ Chí Minh'})
        groups = 'base.group_user,account.group_account_manager,l10n_vn_einvoice.group_l10n_vn_einvoice_manager'
        cls.admin = new_test_user(cls.env, login='einv_ta_admin', groups=groups + ',base.group_system',
                                  company_id=cls.company.id, company_ids=[cls.company.id])
        cls.manager = new_test_user(cls.env, login='einv_ta_manager', groups=groups,
                                    company_id=cls.company.id, company_ids=[cls.company.id])

    def setUp(self):
        super().setUp()
        self.sandbox.reset()
        self.sandbox.faults.clear()
        self.sandbox.reply_faults.clear()

    def connection(self, ca=None, **values):
        """A connection created by an administrator through the form."""
        model = self.env['l10n_vn_einvoice.tax.connection'].with_user(self.admin)
        with Form(model) as form:
            form.name = 'T-VAN sandbox'
            form.url = self.server.url
            form.username = 'demo'
            form.password = values.pop('password', 'demo')
            form.contact_name = 'Nguyễn Văn An'
            form.place = 'Thành phố Hồ Chí Minh'
            form.without_code = True
            form.authority_ca = (ca or self.sandbox.identity.ca_pem).decode()
            form.wait_seconds = values.pop('wait_seconds', 5)
            form.poll_interval = 0.05
            form.read_timeout = 3
            for name, value in values.items():
                setattr(form, name, value)
        return form.record.with_user(self.manager)

    def messages(self, connection):
        return [(m.direction, m.message_type, m.result) for m in connection.message_ids.sorted('id')]

    def test_registration_is_accepted_and_every_message_kept(self):
        connection = self.connection()
        action = connection.action_register()
        self.assertEqual(action['params']['type'], 'success')
        self.assertEqual(connection.registration_state, 'accepted')
        self.assertEqual(self.messages(connection), [('out', '100', 'info'), ('in', '999', 'ok'), ('in', '102', 'ok'),
                                                     ('in', '103', 'ok')])
        sent = connection.message_ids.filtered(lambda m: m.direction == 'out')
        # the XML kept is the very message the tax authority received
        record = self.sandbox.messages[sent.message_id]
        self.assertEqual(record.sha256, hashlib.sha256(base64.b64decode(sent.with_context(bin_size=False).xml)).hexdigest())
        self.assertTrue(sent.message_id.startswith(SELLER_MST))
        registered = self.sandbox.snapshot()['registrations'][SELLER_MST]
        self.assertEqual(registered['uses'], ['HDGTGT'])
        self.assertTrue(registered['with_code'] and registered['without_code'])
        with self.signer.sudo()._open_signer() as signer:
            self.assertEqual(registered['certificates'], [format(signer.certificate.serial_number, 'X')])
        replies = connection.message_ids.filtered(lambda m: m.direction == 'in')
        self.assertEqual(set(replies.mapped('reply_to')), {sent.message_id})
        # a manager reads the log, downloads the XML, cannot change it
        self.assertIn(b'<MLTDiep>103</MLTDiep>', base64.b64decode(
            replies.filtered(lambda m: m.message_type == '103').with_context(bin_size=False).xml))
        with self.assertRaises(AccessError):
            replies.with_user(self.manager).write({'result': 'refused'})

    def test_refusal_keeps_the_reason_in_vietnamese(self):
        self.sandbox.reply_faults.append(ReplyFault('refuse', message='100', reason='Chứng thư số đã hết hạn'))
        connection = self.connection()
        action = connection.action_register()
        self.assertEqual(action['params']['type'], 'danger')
        self.assertEqual(connection.registration_state, 'refused')
        self.assertIn('Chứng thư số đã hết hạn', connection.registration_reason)
        self.assertEqual(self.messages(connection)[-1], ('in', '103', 'refused'))
        self.assertNotIn(SELLER_MST, self.sandbox.registrations)
        # corrected and sent again: a new message, accepted
        self.sandbox.reply_faults.clear()
        connection.action_register()
        self.assertEqual(connection.registration_state, 'accepted')
        self.assertEqual(len(connection.message_ids.filtered(lambda m: m.message_type == '100')), 2)

    def test_replies_signed_by_an_untrusted_ca_are_not_believed(self):
        connection = self.connection(ca=make_test_ca('another CA').pem)
        connection.action_register()
        self.assertEqual(connection.registration_state, 'refused')
        self.assertIn('does not chain to a trusted CA', connection.registration_reason)

    def test_late_answer_is_fetched_later_and_the_form_sent_once(self):
        self.sandbox.reply_faults.append(ReplyFault('late', message='100', reply='103', seconds=1.0))
        connection = self.connection(wait_seconds=0.2)
        action = connection.action_register()
        self.assertEqual(action['params']['type'], 'warning')
        self.assertEqual(connection.registration_state, 'waiting')
        with self.assertRaises(UserError):
            connection.action_register()  # not a second form while one waits
        time.sleep(1.1)
        connection.action_check_registration()
        self.assertEqual(connection.registration_state, 'accepted')
        self.assertEqual(self.sandbox.stats['send'], 1)

    def test_crash_between_send_and_answer(self):
        self.sandbox.faults.add(kind='commit_drop', op='send', times=1)
        connection = self.connection()
        with self.assertLogs('vn_einvoice.taxauthority', 'WARNING') as logs:
            connection.action_register()
        self.assertIn('looking it up', '\n'.join(logs.output))
        self.assertEqual(connection.registration_state, 'accepted')
        self.assertEqual(len(self.sandbox.messages), 1)  # looked up, not sent twice

    def test_form_that_never_arrived_is_sent_again_with_the_same_code(self):
        self.sandbox.faults.add(kind='drop', op='*', times=20)
        connection = self.connection(retry_attempts=1, wait_seconds=0.1)
        with self.assertLogs('vn_einvoice.taxauthority', 'WARNING'):
            action = connection.action_register()
        self.assertIn('unknown whether the T-VAN received the form', action['params']['message'])
        self.assertEqual(connection.registration_state, 'waiting')
        self.assertEqual(self.sandbox.messages, {})
        self.sandbox.faults.clear()
        connection.action_check_registration()
        self.assertEqual(connection.registration_state, 'accepted')
        self.assertEqual(list(self.sandbox.messages), [connection.registration_message])

    def test_password_is_for_administrators_only(self):
        connection = self.connection(password='s3cret-T-VAN')
        with self.assertRaises(AccessError):
            connection.with_user(self.manager).read(['password'])
        with Form(connection.with_user(self.manager)) as form:
            self.assertNotIn('password', form._view['fields'])
        connection.with_user(self.admin).action_archive()
        wrong = self.connection(password='wrong-Pa55')
        wrong.action_register()
        self.assertEqual(wrong.registration_state, 'refused')
        self.assertIn('refused the account', wrong.registration_reason)
        self.assertNotIn('wrong-Pa55', wrong.registration_reason)

    def test_missing_company_data_is_named(self):
        self.company.l10n_vn_einvoice_tax_office_code = False
        connection = self.connection(contact_name='')
        with self.assertRaisesRegex(UserError, 'tax office code, contact person'):
            connection.action_register()
        self.assertEqual(connection.registration_state, 'none')
        self.assertFalse(connection.message_ids)

    def test_only_managers_register(self):
        connection = self.connection()
        user = new_test_user(self.env, login='einv_ta_user', groups='base.group_user,account.group_account_invoice,'
                             'l10n_vn_einvoice.group_l10n_vn_einvoice_user', company_id=self.company.id)
        with self.assertRaises(UserError):
            connection.with_user(user).action_register()
