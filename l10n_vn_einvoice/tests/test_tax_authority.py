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
from vn_einvoice.signing import verify_invoice

from .common import SELLER_MST, EinvoiceCommon


class TaxAuthorityCommon(EinvoiceCommon):
    """The tax-authority sandbox on a loopback port for the class, emptied before each test."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.sandbox = TaxAuthoritySandbox()
        cls.server = SandboxServer(cls.sandbox).start()
        cls.addClassCleanup(cls.server.stop)
        cls.company.write({'l10n_vn_einvoice_tax_office_code': '79100',
                           'l10n_vn_einvoice_tax_office_name': 'Thuế cơ sở 1 Thành phố Hồ Chí Minh'})

    def setUp(self):
        super().setUp()
        self.sandbox.reset()
        self.sandbox.faults.clear()
        self.sandbox.reply_faults.clear()


class TaxAuthorityConnectedCommon(TaxAuthorityCommon):
    """…and the company's connection to it (``connection_values`` added), registered before each test."""

    connection_values = {}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.connection = cls.env['l10n_vn_einvoice.tax.connection'].sudo().create({
            'name': 'T-VAN sandbox', 'company_id': cls.company.id, 'url': cls.server.url, 'username': 'demo',
            'password': 'demo', 'contact_name': 'Nguyễn Văn An', 'place': 'Thành phố Hồ Chí Minh',
            'authority_ca': cls.sandbox.identity.ca_pem.decode(), 'wait_seconds': 5, 'poll_interval': 0.05,
            'read_timeout': 3, **cls.connection_values,
        })

    def setUp(self):
        super().setUp()
        self.connection.action_register()  # the sandbox forgot it: registered again (a change, 103 accepted)
        self.assertEqual(self.connection.registration_state, 'accepted')


@tagged('post_install_l10n', 'post_install', '-at_install')
class TestTaxAuthority(TaxAuthorityCommon):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        groups = 'base.group_user,account.group_account_manager,l10n_vn_einvoice.group_l10n_vn_einvoice_manager'
        cls.admin = new_test_user(cls.env, login='einv_ta_admin', groups=groups + ',base.group_system',
                                  company_id=cls.company.id, company_ids=[cls.company.id])
        cls.manager = new_test_user(cls.env, login='einv_ta_manager', groups=groups,
                                    company_id=cls.company.id, company_ids=[cls.company.id])

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


@tagged('post_install_l10n', 'post_install', '-at_install')
class TestIssueWithCode(TaxAuthorityConnectedCommon):
    """A locally signed invoice of a C… series goes to the tax authority (200) and is issued when coded (202)."""

    def test_issued_only_when_coded(self):
        move = self.make_invoice()
        self.issue(move)
        self.assertEqual((move.l10n_vn_einvoice_state, move.l10n_vn_einvoice_cqt_state), ('USING', 'coded'))
        code = move.l10n_vn_einvoice_authority_code
        self.assertRegex(code, r'^[0-9A-F]{34}$')
        xml = self.xml_of(move)
        self.assertIn(f'>{code}</MCCQT>'.encode(), xml)
        with self.signer.sudo()._open_signer() as signer:
            anchors = [self.sandbox.identity.ca.certificate, *signer.chain]
        self.assertEqual(verify_invoice(xml, trusted_certificates=anchors).verdict, 'valid')
        self.assertEqual(verify_invoice(xml, trusted_certificates=signer.chain).trust, 'untrusted')
        self.assertEqual([(m.direction, m.message_type) for m in move.l10n_vn_einvoice_tax_message_ids.sorted('id')],
                         [('out', '200'), ('in', '999'), ('in', '202')])
        [record] = self.sandbox.snapshot()['invoices']
        self.assertEqual((record['SHDon'], record['MCCQT']), (str(move.l10n_vn_einvoice_number), code))

    def test_refused_then_corrected_keeps_its_number(self):
        self.sandbox.reply_faults.append(ReplyFault('refuse', message='200', times=1, reason='Sai thông tin người mua'))
        move = self.make_invoice()
        self.issue(move)
        number = move.l10n_vn_einvoice_number
        self.assertTrue(number)
        self.assertEqual((move.l10n_vn_einvoice_state, move.l10n_vn_einvoice_cqt_state), ('CREATED', 'refused'))
        self.assertIn('Sai thông tin người mua', move.l10n_vn_einvoice_error)
        self.assertFalse(move.l10n_vn_einvoice_xml_id)
        self.assertEqual(self.sandbox.invoices, {})
        # corrected (reset to draft, changed, posted) and issued again: the same number, coded
        move.button_draft()
        move.invoice_line_ids[0].price_unit = 1_600_000
        move.action_post()
        self.issue(move)
        self.assertEqual((move.l10n_vn_einvoice_state, move.l10n_vn_einvoice_cqt_state), ('USING', 'coded'))
        self.assertEqual(move.l10n_vn_einvoice_number, number)
        self.assertEqual(self.series.next_number, number + 1)
        self.assertEqual(len(move.l10n_vn_einvoice_tax_message_ids.filtered(lambda m: m.message_type == '200')), 2)

    def test_waiting_invoice_is_frozen_then_fetched(self):
        self.sandbox.reply_faults.append(ReplyFault('late', message='200', reply='202', seconds=1.0))
        self.connection.wait_seconds = 0.2
        move = self.make_invoice()
        action = self.issue(move)
        self.assertIn('waiting for the tax authority', action['params']['message'])
        self.assertEqual((move.l10n_vn_einvoice_state, move.l10n_vn_einvoice_cqt_state), ('CREATED', 'waiting'))
        with self.assertRaises(UserError):
            move.button_draft()
        with self.assertRaises(UserError):
            self.issue(move)  # not sent a second time
        self.assertIn('waits for its code', '\n'.join(move._l10n_vn_einvoice_check()))
        with self.assertRaises(UserError):
            move.invoice_line_ids[0].price_unit = 1
        time.sleep(1.1)
        move.action_l10n_vn_einvoice_cqt_check()
        self.assertEqual((move.l10n_vn_einvoice_state, move.l10n_vn_einvoice_cqt_state), ('USING', 'coded'))
        self.assertEqual(self.sandbox.transactions, 1)

    def test_scheduled_action_follows_waiting_invoices(self):
        self.sandbox.reply_faults.append(ReplyFault('late', message='200', reply='202', seconds=0.5))
        self.connection.wait_seconds = 0.1
        move = self.make_invoice()
        self.issue(move)
        self.assertEqual(move.l10n_vn_einvoice_cqt_state, 'waiting')
        time.sleep(0.6)
        self.env['account.move']._cron_l10n_vn_einvoice_cqt()
        self.assertEqual(move.l10n_vn_einvoice_cqt_state, 'coded')

    def test_crash_between_send_and_answer_codes_once(self):
        self.sandbox.faults.add(kind='commit_drop', op='send', times=1)
        move = self.make_invoice()
        with self.assertLogs('vn_einvoice.taxauthority', 'WARNING'):
            self.issue(move)
        self.assertEqual(move.l10n_vn_einvoice_cqt_state, 'coded')
        self.assertEqual(self.sandbox.transactions, 1)
        self.assertEqual(len([m for m in self.sandbox.messages.values() if m.type == 200]), 1)

    def test_registration_must_be_accepted_first(self):
        self.connection.sudo().registration_state = 'refused'
        move = self.make_invoice()
        next_number = self.series.next_number
        self.issue(move)
        self.assertIn('registration 01/ĐKTĐ-HĐĐT of the company must be accepted first', move.l10n_vn_einvoice_error)
        self.assertFalse(move.l10n_vn_einvoice_number)
        self.assertEqual(self.series.next_number, next_number)
        self.assertFalse([m for m in self.sandbox.messages.values() if m.type == 200])

    def test_printed_invoice_shows_the_code(self):
        move = self.make_invoice()
        self.issue(move)
        content, _kind = self.env['ir.actions.report']._render_qweb_html('account.account_invoices', move.ids)
        self.assertIn(move.l10n_vn_einvoice_authority_code, content.decode())
        self.assertIn('Mã của cơ quan thuế', content.decode())

    def test_no_mail_before_the_code(self):
        self.sandbox.reply_faults.append(ReplyFault('late', message='200', reply='202', seconds=30))
        self.connection.wait_seconds = 0.1
        move = self.make_invoice()
        wizard = self.env['account.move.send.wizard'].with_context(
            active_model='account.move', active_ids=move.ids).create({'sending_methods': ['email']})
        with self.assertRaisesRegex(UserError, 'it is mailed once coded'):
            wizard.action_send_and_print()
        self.assertFalse(self.env['mail.message'].search([
            ('model', '=', 'account.move'), ('res_id', '=', move.id), ('message_type', '=', 'comment')]))

    def _signed_notice(self, moves, nature='1', reason='Lập sai đơn giá, chưa gửi người mua'):
        action = moves.action_l10n_vn_einvoice_new_notice()
        notice = self.env[action['res_model']].browse(action['res_id'])
        with Form(notice) as form:
            for i in range(len(moves)):
                with form.line_ids.edit(i) as line:
                    line.nature = nature
                    line.reason = reason
        notice.action_sign()
        return notice

    def test_error_notice_sent_as_300_and_answered_by_301(self):
        move = self.make_invoice()
        self.issue(move)
        notice = self._signed_notice(move)
        notice.action_send_to_tax_authority()
        self.assertEqual(notice.state, 'accepted')
        self.assertEqual(move.l10n_vn_einvoice_state, 'CANCEL', 'the 301 moved the invoice, not a person')
        self.assertEqual(self.sandbox.snapshot()['invoices'][0]['state'], 'cancelled')
        messages = self.env['l10n_vn_einvoice.tax.message'].search([('reply_to', '=', notice.tax_message)])
        self.assertEqual(sorted(messages.mapped('message_type')), ['301', '999'])

    def test_error_notice_refused_line_keeps_the_invoice(self):
        move = self.make_invoice()
        self.issue(move)
        self.sandbox.reply_faults.append(ReplyFault('refuse', message='300', reason='Hóa đơn đã gửi cho người mua'))
        notice = self._signed_notice(move)
        notice.action_send_to_tax_authority()
        self.assertEqual(notice.state, 'rejected')
        self.assertIn('Hóa đơn đã gửi cho người mua', notice.rejection_reason)
        self.assertEqual(move.l10n_vn_einvoice_state, 'USING')
