"""The other ways to issue: Odoo 18's Send & Print, the list action, the scheduled action; batches with one bad
invoice; the invoice form beside Odoo's own ``l10n_vn_edi_viettel``."""
from datetime import date, timedelta

from odoo.exceptions import UserError
from odoo.tests import Form, tagged

from vn_einvoice.signing import verify_invoice

from .common import EinvoiceCommon

EDI = 'vn_einvoice_issue'
ANY_FIELD = ['|', ('res_field', '=', False), ('res_field', '!=', False)]  # ir.attachment hides field attachments


class SendCommon(EinvoiceCommon):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.bad_partner = cls.env['res.partner'].create({
            'name': 'Công ty Sai Mã số', 'is_company': True, 'vat': '0101234566',  # wrong check digit
            'street': '9 Hàng Bài', 'city': 'Hà Nội', 'country_id': cls.env.ref('base.vn').id,
            'email': 'sai@buyer.example.vn',
        })

    def send_wizard(self, move, **vals):
        return self.env['account.move.send.wizard'].with_context(
            active_model='account.move', active_ids=move.ids).create(vals)

    def assert_nothing_written(self, move):
        """An invoice that failed to issue: CREATED, its reason recorded, no number, no XML, no attachment."""
        self.assertEqual(move.l10n_vn_einvoice_state, 'CREATED')
        self.assertEqual(move.l10n_vn_einvoice_sign_status, 'NOSIGN')
        self.assertTrue(move.l10n_vn_einvoice_error)
        self.assertFalse(move.l10n_vn_einvoice_number)
        self.assertFalse(move.l10n_vn_einvoice_issue_datetime)
        self.assertFalse(move.l10n_vn_einvoice_qr)
        self.assertFalse(move.l10n_vn_einvoice_xml_id)
        self.assertFalse(self.env['ir.attachment'].search([
            ('res_model', '=', 'account.move'), ('res_id', '=', move.id), *ANY_FIELD]))

    def assert_issued(self, moves, numbers):
        self.assertEqual(moves.mapped('l10n_vn_einvoice_state'), ['USING'] * len(moves),
                         moves.mapped('l10n_vn_einvoice_error'))
        self.assertEqual(moves.mapped('l10n_vn_einvoice_number'), numbers)
        for move in moves:
            self.assertTrue(verify_invoice(self.xml_of(move)).valid)


@tagged('post_install_l10n', 'post_install', '-at_install')
class TestSendAndPrint(SendCommon):

    def test_send_and_print_issues_and_mails_the_signed_xml(self):
        move = self.make_invoice()
        wizard = self.send_wizard(move, sending_methods=['email'])
        self.assertIn(EDI, wizard.extra_edis, 'issuing is proposed and ticked for a prepared e-invoice')
        self.assertIn('Issue the e-invoice', wizard.extra_edi_checkboxes[EDI]['label'])
        wizard.action_send_and_print()
        self.assert_issued(move, [1])
        xml = self.xml_of(move)
        mail = self.env['mail.message'].search([
            ('model', '=', 'account.move'), ('res_id', '=', move.id), ('message_type', '=', 'comment')])
        self.assertEqual(len(mail), 1, 'one e-mail to the customer, and no "not a draft" note about the XML')
        self.assertIn(self.partner_a.commercial_partner_id, mail.partner_ids)
        xml_attachments = mail.attachment_ids.filtered(lambda a: a.name.endswith('.xml'))
        self.assertEqual(xml_attachments.mapped('name'), [move.l10n_vn_einvoice_xml_id.name])
        self.assertEqual(xml_attachments.raw, xml)
        self.assertTrue(mail.attachment_ids.filtered(lambda a: a.mimetype == 'application/pdf' or
                                                     a.name.endswith('.pdf')), 'and the PDF')
        # once issued, Send & Print no longer proposes to issue
        again = self.send_wizard(move, sending_methods=['manual'])
        self.assertNotIn(EDI, again.extra_edis or [])

    def test_send_and_print_unticked_does_not_issue(self):
        move = self.make_invoice()
        wizard = self.send_wizard(move, sending_methods=['manual'])
        wizard.extra_edis = []
        wizard.action_send_and_print()
        self.assertEqual(move.l10n_vn_einvoice_state, 'CREATED')
        self.assertFalse(move.l10n_vn_einvoice_number)

    def test_send_and_print_error_raises_and_writes_nothing(self):
        move = self.make_invoice(partner=self.bad_partner)
        wizard = self.send_wizard(move, sending_methods=['manual'])
        self.assertIn(EDI, wizard.extra_edis)
        with self.assertRaisesRegex(UserError, 'check digit'):
            wizard.action_send_and_print()
        self.assert_nothing_written(move)
        self.assertEqual(self.series.next_number, 1)

    def test_batch_send_in_background_one_bad_invoice(self):
        """Send & Print of several invoices runs in the background (cron): the bad one is reported, the others
        are issued with consecutive numbers, oldest first (the sending order is newest first)."""
        today = date.today()
        older = today - timedelta(days=1) if (today.month, today.day) != (1, 1) else today
        good1 = self.make_invoice(invoice_date=older)
        bad = self.make_invoice(partner=self.bad_partner)
        good2 = self.make_invoice()
        moves = good1 | bad | good2
        wizard = self.env['account.move.send.batch.wizard'].with_context(
            active_model='account.move', active_ids=moves.ids).create({})
        wizard.action_send_and_print()
        self.assertTrue(all(moves.mapped('sending_data')))
        self.env['account.move']._cron_account_move_send(job_count=10)
        self.assert_issued(good1 | good2, [1, 2])
        self.assert_nothing_written(bad)
        self.assertIn('check digit', bad.l10n_vn_einvoice_error)
        self.assertEqual(self.series.next_number, 3)
        self.assertTrue(good1.invoice_pdf_report_id and good2.invoice_pdf_report_id)
        self.assertFalse(bad.invoice_pdf_report_id, 'no PDF without the e-invoice number')

    def test_not_applicable_without_local_mode(self):
        self.company.l10n_vn_einvoice_mode = 'none'
        move = self.make_invoice()
        self.assertFalse(move.l10n_vn_einvoice_state)
        wizard = self.send_wizard(move, sending_methods=['manual'])
        self.assertNotIn(EDI, wizard.extra_edis or [])


@tagged('post_install_l10n', 'post_install', '-at_install')
class TestListActionAndCron(SendCommon):

    def test_list_action_issues_several_in_date_order(self):
        moves = self.make_invoice() | self.make_invoice() | self.make_invoice()
        action = self.env.ref('l10n_vn_einvoice.action_l10n_vn_einvoice_issue')
        result = action.with_context(active_model='account.move', active_ids=moves.ids,
                                     active_id=moves[0].id).run()
        self.assertEqual(result['params']['type'], 'success')
        self.assert_issued(moves.sorted('id'), [1, 2, 3])

    def test_list_action_bad_invoice_in_the_middle(self):
        good1 = self.make_invoice()
        bad = self.make_invoice(partner=self.bad_partner)
        good2 = self.make_invoice()
        attachments_before = self.env['ir.attachment'].search_count([('res_model', '=', 'account.move'), *ANY_FIELD])
        result = self.env.ref('l10n_vn_einvoice.action_l10n_vn_einvoice_issue').with_context(
            active_model='account.move', active_ids=(good1 | bad | good2).ids).run()
        self.assertEqual(result['params']['type'], 'warning')
        self.assertIn('2 issued, 1 not issued', result['params']['message'])
        self.assert_issued(good1 | good2, [1, 2])  # no gap where the bad one failed
        self.assert_nothing_written(bad)
        self.assertIn('check digit', bad.message_ids[0].body)
        # two signed XML per issued invoice (the field's and the chatter's copy), none for the bad one
        self.assertEqual(self.env['ir.attachment'].search_count([('res_model', '=', 'account.move'), *ANY_FIELD]),
                         attachments_before + 4)
        self.assertEqual(self.series.next_number, 3)
        # corrected, the bad one gets the next number
        bad.partner_id.vat = '0101234565'
        bad.action_l10n_vn_einvoice_issue()
        self.assert_issued(bad, [3])

    def test_cron_issues_only_companies_with_auto_issue(self):
        data_b, _signer_b, series_b = self.setup_other_vn_company()
        self.company.l10n_vn_einvoice_auto_issue = True
        self.assertFalse(data_b['company'].l10n_vn_einvoice_auto_issue)
        move_a1, bad_a, move_a2 = self.make_invoice(), self.make_invoice(partner=self.bad_partner), self.make_invoice()
        move_b = self.make_company_invoice(data_b)
        draft_a = self.make_invoice(post=False)
        self.env.ref('l10n_vn_einvoice.ir_cron_l10n_vn_einvoice_issue').method_direct_trigger()
        self.assert_issued(move_a1 | move_a2, [1, 2])
        self.assert_nothing_written(bad_a)
        self.assertEqual(move_b.l10n_vn_einvoice_state, 'CREATED')
        self.assertFalse(move_b.l10n_vn_einvoice_number)
        self.assertFalse(move_b.l10n_vn_einvoice_error)
        self.assertEqual(series_b.next_number, 1)
        self.assertFalse(draft_a.l10n_vn_einvoice_state)
        # company B turns it on: the next run issues B's invoice (and retries A's bad one, still bad)
        data_b['company'].l10n_vn_einvoice_auto_issue = True
        self.env['account.move']._cron_l10n_vn_einvoice_issue()
        self.assert_issued(move_b, [1])
        self.assert_nothing_written(bad_a)
        self.assertEqual(self.series.next_number, 3)


@tagged('post_install_l10n', 'post_install', '-at_install')
class TestCoexistence(EinvoiceCommon):
    """Installed beside Odoo's own Vietnamese e-invoicing module (scripts/odoo-tests installs both)."""

    def test_invoice_form_renders_with_both_modules(self):
        viettel = self.env['ir.module.module'].search([('name', '=', 'l10n_vn_edi_viettel')])
        if viettel.state != 'installed':
            self.skipTest('l10n_vn_edi_viettel is not installed in this database')
        views = self.env['account.move'].get_views([(False, 'form'), (False, 'list'), (False, 'search')])
        form = views['views']['form']['arch']
        for fname in ('l10n_vn_einvoice_state', 'l10n_vn_einvoice_series_id', 'l10n_vn_edi_invoice_state'):
            self.assertIn(f'name="{fname}"', form)
        self.assertIn('l10n_vn_einvoice_state', views['views']['list']['arch'])
        with Form(self.env['account.move'].with_context(default_move_type='out_invoice')) as form:
            form.partner_id = self.partner_a
            with form.invoice_line_ids.new() as line:
                line.product_id = self.product_a
                line.price_unit = 1_000_000
                line.tax_ids.clear()
                line.tax_ids.add(self.tax_10)
            self.assertEqual(form.l10n_vn_einvoice_series_id, self.series)
        move = form.save()
        move.action_post()
        self.assertEqual(move.l10n_vn_einvoice_state, 'CREATED')
        self.issue(move)
        self.assertEqual(move.l10n_vn_einvoice_state, 'USING', move.l10n_vn_einvoice_error)
        Form(move)  # the issued invoice opens too
